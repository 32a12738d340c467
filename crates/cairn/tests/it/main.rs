//! The `cairn` binary as an operator runs it: subprocess tests of the commands that do
//! not serve (those are covered in-process by cairn-testkit and end to end by the CI
//! suites). Each test gets its own data directory through the child's environment.

// Helpers outside `#[test]` functions are test code too.
#![allow(clippy::unwrap_used)]

mod admin;
mod config;
mod vault;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `cairn args…` with `CAIRN_DATA_DIR=data_dir` and quiet logs; feeds `stdin`.
pub fn cairn(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
    command
        .args(args)
        .env("CAIRN_DATA_DIR", data_dir)
        .env("CAIRN_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
