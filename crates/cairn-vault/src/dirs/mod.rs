//! Local directories as snapshots (`cairn vault put DIR` / `get SNAPSHOT DEST`).
//!
//! A directory snapshot has one entity, [`FILES_ENTITY`], whose `tree` is the root
//! directory's tree (see [`crate::tree`]).

mod backup;
mod restore;

pub use backup::{PutOptions, PutReport, put_dir};
pub use restore::{RestoreReport, restore};

/// The entity name under which a directory snapshot keeps its tree.
pub const FILES_ENTITY: &str = "files";
