//! Stateful, wire-faithful emulators of the Salesforce and Dropbox APIs.
//!
//! They let tests, benchmarks and `cairn demo` exercise the real connector code without a
//! real org or team: deterministic data generators, a mutation and fault-injection control
//! API under `/__emulator/`, OAuth consent pages, and HTTPS with a generated CA. Their
//! behaviour follows `research/salesforce-api.md` and `research/dropbox-api.md`; the
//! official SDKs of both services must work against them unchanged (hosts and CA aside).

#![warn(missing_docs)]
// The describe resources build large `serde_json::json!` literals.
#![recursion_limit = "512"]

pub mod error;
pub mod http;
pub mod salesforce;
pub mod tls;

pub use error::EmulatorError;
pub mod dropbox;
