//! Environment overrides: `CAIRN_<SECTION>__<KEY>=value` sets `key` in `[section]`;
//! `CAIRN_<KEY>` sets a top-level key (only keys that exist at the top level, so
//! unrelated variables such as `CAIRN_LOG` are left alone).
//!
//! Values are read as the type of the key's default (string, integer, boolean); keys
//! without a default (optional ones) take a TOML literal if the value is one (`30`,
//! `true`, `["a"]`) and a string otherwise.

use toml::{Table, Value};

use super::Config;
use crate::error::Error;

/// The variable prefix.
pub const PREFIX: &str = "CAIRN_";

/// Top-level keys that are not tables and can be set as `CAIRN_<KEY>`.
const TOP_LEVEL_KEYS: [&str; 1] = ["data_dir"];

/// Applies the `CAIRN_*` variables among `env` to `table` (the parsed file).
pub(super) fn apply(
    mut table: Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Table, Error> {
    let defaults = Value::try_from(Config::default())
        .map_err(|e| Error::Config(format!("cannot describe the defaults: {e}")))?;
    let mut variables: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(PREFIX))
        .collect();
    // Deterministic order, so a conflict always resolves the same way.
    variables.sort();
    for (name, raw) in variables {
        let rest = &name[PREFIX.len()..];
        let path: Vec<String> = if rest.contains("__") {
            rest.split("__").map(str::to_lowercase).collect()
        } else if TOP_LEVEL_KEYS.contains(&rest.to_lowercase().as_str()) {
            vec![rest.to_lowercase()]
        } else {
            continue;
        };
        if path.iter().any(String::is_empty) {
            return Err(Error::Config(format!("{name}: malformed variable name")));
        }
        let default = lookup(&defaults, &path);
        let value = typed_value(&name, &raw, default)?;
        set(&mut table, &path, value)
            .map_err(|reason| Error::Config(format!("{name}: {reason}")))?;
    }
    Ok(table)
}

fn lookup<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter()
        .try_fold(value, |current, key| current.as_table()?.get(key))
}

fn typed_value(name: &str, raw: &str, default: Option<&Value>) -> Result<Value, Error> {
    let expected = |what: &str| Error::Config(format!("{name}: expected {what}, got `{raw}`"));
    Ok(match default {
        Some(Value::String(_)) => Value::String(raw.to_owned()),
        Some(Value::Integer(_)) => {
            Value::Integer(raw.trim().parse().map_err(|_| expected("a whole number"))?)
        }
        Some(Value::Boolean(_)) => Value::Boolean(match raw.trim().to_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(expected("true or false")),
        }),
        Some(Value::Float(_)) => {
            Value::Float(raw.trim().parse().map_err(|_| expected("a number"))?)
        }
        Some(Value::Array(_) | Value::Table(_)) => {
            literal(raw).ok_or_else(|| expected("a TOML array or table"))?
        }
        Some(Value::Datetime(_)) | None => {
            literal(raw).unwrap_or_else(|| Value::String(raw.to_owned()))
        }
    })
}

/// `raw` as a TOML value, if it is one.
fn literal(raw: &str) -> Option<Value> {
    let table: Table = toml::from_str(&format!("value = {raw}")).ok()?;
    table.get("value").cloned()
}

fn set(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{key}` is not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}
