//! `list_folder` cursors: opaque to clients, a small JSON record inside.
//!
//! A cursor pins what was listed (namespace, path, flags, the caller's view) and where the
//! client is: still paging through the initial listing (`stage`, last key), or caught up at
//! change sequence number `seq`. Since sequence numbers are deterministic and journaled, a
//! cursor stays valid across restarts of a persisted emulator. Team-wide control resets bump
//! `epoch`, which turns old cursors into `reset`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::view::View;

/// Where an initial listing is up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// 0: the listed namespace's own entries; k ≥ 1: the k-th mount below the path.
    pub stage: u32,
    /// Last key emitted in this stage; `None` when the stage has not started.
    pub after: Option<String>,
}

/// The decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCursor {
    /// Team salt: cursors of another team are refused.
    pub salt: u64,
    /// Team reset epoch.
    pub epoch: u64,
    /// View root namespace.
    pub root: u64,
    /// Acting member.
    pub actor: usize,
    /// Select-Admin read access.
    pub whole_team: bool,
    /// Listed namespace.
    pub ns: u64,
    /// Listed path in it, lower-cased (`""` for its root).
    pub path: String,
    /// How the listed namespace appears in the view (display casing).
    pub prefix: String,
    /// Recursive listing.
    pub recursive: bool,
    /// Include deleted entries in the initial listing.
    pub include_deleted: bool,
    /// Include mounted shared and team folders.
    pub include_mounted: bool,
    /// Page size.
    pub limit: u32,
    /// Changes after this sequence number are still to be reported.
    pub seq: u64,
    /// Set while the initial listing is still being paged.
    pub listing: Option<Position>,
}

impl ListCursor {
    /// The view the cursor was taken in.
    #[must_use]
    pub fn view(&self) -> View {
        View {
            root: self.root,
            actor: self.actor,
            whole_team: self.whole_team,
        }
    }

    /// The opaque string form.
    #[must_use]
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("AA{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// Parses the opaque string form.
    #[must_use]
    pub fn decode(text: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(text.strip_prefix("AA")?).ok()?;
        serde_json::from_slice(&raw).ok()
    }
}

/// Cursor for paged team listings (members, team folders, namespaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    /// Which listing.
    pub kind: String,
    /// Team salt.
    pub salt: u64,
    /// Next offset.
    pub offset: usize,
    /// Page size.
    pub limit: usize,
    /// Listing option (members: include removed).
    #[serde(default)]
    pub flag: bool,
}

impl PageCursor {
    /// The opaque string form.
    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses a cursor of `kind` for the team with `salt`.
    #[must_use]
    pub fn decode(kind: &str, salt: u64, text: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
        let cursor: Self = serde_json::from_slice(&raw).ok()?;
        (cursor.kind == kind && cursor.salt == salt && cursor.limit > 0).then_some(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = ListCursor {
            salt: 1,
            epoch: 0,
            root: 5,
            actor: 2,
            whole_team: false,
            ns: 5,
            path: "/a".into(),
            prefix: String::new(),
            recursive: true,
            include_deleted: false,
            include_mounted: true,
            limit: 2000,
            seq: 99,
            listing: Some(Position {
                stage: 1,
                after: Some("/a/b".into()),
            }),
        };
        assert_eq!(ListCursor::decode(&c.encode()), Some(c));
        assert_eq!(ListCursor::decode("AAnotbase64!"), None);
        assert_eq!(ListCursor::decode("xyz"), None);
    }

    #[test]
    fn page_cursors_are_bound_to_their_kind_and_team() {
        let c = PageCursor {
            kind: "members".into(),
            salt: 7,
            offset: 40,
            limit: 10,
            flag: true,
        };
        let text = c.encode();
        assert_eq!(PageCursor::decode("members", 7, &text), Some(c));
        assert_eq!(PageCursor::decode("namespaces", 7, &text), None);
        assert_eq!(PageCursor::decode("members", 8, &text), None);
        assert_eq!(PageCursor::decode("members", 7, "garbage"), None);
    }
}
