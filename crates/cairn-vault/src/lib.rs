//! The vault: everything Cairn backs up lands here.
//!
//! One vault per account, under its own prefix of an object store. It is
//! self-describing: with the vault and the operator's master key alone, a fresh
//! installation can list every snapshot and read every item. Everything written is
//! encrypted and authenticated; nothing is overwritten, except a snapshot manifest
//! redacted when some of its data must go for good ([`snapshot`]).
//!
//! On-vault layout (names relative to the vault root):
//! - `config`: sealed format version, vault id, chunker parameters ([`keys`]);
//! - `keys/<16 hex>`: the data key wrapped by the master key ([`keys`]);
//! - `packs/<2 hex>/<32 hex>`: packs of sealed chunks and trees ([`pack`]);
//! - `index/<32 hex>`: chunk → pack index objects ([`index`]);
//! - `snapshots/<32 hex>`: sealed snapshot manifests, written last ([`snapshot`]);
//! - `content-keys/<32 hex>`: external content key → chunk list ([`marks`]);
//! - `marks/<32 hex>`: packs marked for deletion by prune ([`maintenance`]);
//! - `segments/…`: record segments ([`segments`]);
//! - `removals/<32 hex>`: journals of interrupted data removals ([`maintenance`]).
//!
//! The layout and format decisions are in `ARCHITECTURE.md` §4.

#![warn(missing_docs)]

pub mod backend;
pub mod chunk_id;
pub mod crypto;
pub mod dirs;
pub mod error;
pub mod index;
pub mod keys;
pub mod maintenance;
pub mod marks;
pub mod pack;
pub mod segments;
pub mod snapshot;
pub mod tree;
pub mod vault;
pub mod writer;

pub use backend::Backend;
pub use chunk_id::ChunkId;
pub use error::VaultError;
pub use snapshot::{EntityCounters, EntityManifest, SnapshotManifest, TreeId};
pub use vault::Vault;
pub use writer::{ChunkWriter, Content, WriteStats};
