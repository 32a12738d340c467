//! Data-center regions an account can be created in.
//!
//! The operator configures the list (`[[regions]]` in `cairn.toml`); sign-up offers it,
//! and the chosen [`RegionCode`] stays with the account for good, because its backups are
//! stored there.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A region's stable code (`eu-west`, `local`): lowercase letters, digits and hyphens,
/// at most 32 characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(String);

/// Why a string is not a region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid region code (use 1 to 32 lowercase letters, digits and hyphens)")]
pub struct InvalidRegionCode(pub String);

impl RegionCode {
    /// Validates a region code.
    ///
    /// # Errors
    /// [`InvalidRegionCode`] for empty, too long or badly formed codes.
    pub fn parse(input: &str) -> Result<Self, InvalidRegionCode> {
        let ok = !input.is_empty()
            && input.len() <= 32
            && !input.starts_with('-')
            && input
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidRegionCode(input.chars().take(64).collect()))
        }
    }

    /// The code.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.0)
    }
}

impl FromStr for RegionCode {
    type Err = InvalidRegionCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as Deserialize>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A region offered at sign-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Stable code stored with each account.
    pub code: RegionCode,
    /// The name people see, e.g. "Europe (Frankfurt)".
    pub name: String,
}

impl Region {
    /// The region every installation starts with: the server's own storage.
    #[must_use]
    pub fn local() -> Self {
        Self {
            code: RegionCode("local".to_owned()),
            name: "Local (this server)".to_owned(),
        }
    }
}

/// Finds the region with `code` in a configured list.
#[must_use]
pub fn find_region<'a>(regions: &'a [Region], code: &str) -> Option<&'a Region> {
    regions.iter().find(|r| r.code.as_str() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_validated() {
        assert!(RegionCode::parse("eu-west-1").is_ok());
        assert!(RegionCode::parse("local").is_ok());
        for bad in ["", "EU", "eu west", "-eu", &"a".repeat(33), "eu_west"] {
            assert!(RegionCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn regions_deserialize_from_toml_and_reject_unknown_keys() {
        #[derive(Deserialize)]
        struct File {
            regions: Vec<Region>,
        }
        let file: File =
            toml::from_str("[[regions]]\ncode = \"eu-central\"\nname = \"Europe (Frankfurt)\"\n")
                .unwrap();
        assert_eq!(file.regions[0].code.as_str(), "eu-central");
        assert!(find_region(&file.regions, "eu-central").is_some());
        assert!(find_region(&file.regions, "us-east").is_none());

        let err = toml::from_str::<File>("[[regions]]\ncode = \"x\"\nname = \"X\"\nzone = 1\n")
            .err()
            .unwrap();
        assert!(err.to_string().contains("zone"), "{err}");
        assert!(
            toml::from_str::<File>("[[regions]]\ncode = \"Bad Code\"\nname = \"X\"\n").is_err()
        );
    }
}
