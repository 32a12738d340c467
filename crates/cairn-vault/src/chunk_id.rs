//! Content identifiers of chunks.
//!
//! A chunk id is the keyed BLAKE3 hash of the chunk's plaintext, keyed per account (derived
//! from the account's data key), so equal content dedups within an account while ids reveal
//! nothing across accounts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The id of one chunk of content: 32 bytes, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkId(pub [u8; 32]);

impl ChunkId {
    /// Computes the id of `data` under the account's chunk-id key.
    #[must_use]
    pub fn of(id_key: &[u8; 32], data: &[u8]) -> Self {
        Self(*blake3::keyed_hash(id_key, data).as_bytes())
    }

    /// The raw bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkId({})", &hex::encode(&self.0[..8]))
    }
}

/// Why a string is not a chunk id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a chunk id (64 hex digits expected)")]
pub struct ChunkIdParseError;

impl FromStr for ChunkId {
    type Err = ChunkIdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| ChunkIdParseError)?;
        Ok(Self(out))
    }
}

impl Serialize for ChunkId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChunkId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_key_and_round_trip_as_hex() {
        let a = ChunkId::of(&[1; 32], b"data");
        let b = ChunkId::of(&[2; 32], b"data");
        assert_ne!(a, b);
        assert_eq!(a, ChunkId::of(&[1; 32], b"data"));
        let s = a.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<ChunkId>().unwrap(), a);
        assert!("xyz".parse::<ChunkId>().is_err());
    }
}
