//! The `cairn` library: the configuration tree and the wiring that turns a
//! configuration into a running application. The `cairn` binary is the command line
//! around it; `cairn-testkit` boots exactly the same application in tests.

#![warn(missing_docs)]

pub mod app;
pub mod background;
pub mod config;
pub mod error;

pub use app::{Role, RunningApp, StartOptions};
pub use config::Config;
pub use error::Error;
