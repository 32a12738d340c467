//! The vault: everything Cairn backs up lands here.
//!
//! One vault per account, under its own prefix of an object store. It is
//! self-describing: with the vault and the operator's master key alone, a fresh
//! installation can list every snapshot and read every item. Everything written is
//! encrypted and authenticated; nothing is ever overwritten.
//!
//! The layout and format decisions are in `ARCHITECTURE.md` §4.

#![warn(missing_docs)]

pub mod chunk_id;
pub mod crypto;
pub mod error;
pub mod segments;

pub use chunk_id::ChunkId;
pub use error::VaultError;
