//! Typed identifiers.
//!
//! Every id is a UUID newtype made by [`typed_id!`]. The string form carries a short
//! prefix (`acc_…`, `tsk_…`) so ids in URLs, logs and support tickets say what they name,
//! and an id of one kind can never be passed where another is expected. Parsing accepts
//! the prefixed form and, for interoperability, the bare UUID.

use std::fmt;
use std::str::FromStr;

/// Why a string is not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid {kind} id")]
pub struct IdParseError {
    /// Which kind of id was expected (e.g. "task").
    pub kind: &'static str,
    /// The rejected input, truncated to keep error messages short.
    pub input: String,
}

/// Behaviour shared by all typed ids.
pub trait TypedId: Copy + Eq + fmt::Display + FromStr<Err = IdParseError> {
    /// The prefix of the string form, without the underscore (e.g. `"tsk"`).
    const PREFIX: &'static str;
    /// A human name for the kind, used in error messages (e.g. `"task"`).
    const KIND: &'static str;
    /// Wraps an existing UUID.
    fn from_uuid(uuid: uuid::Uuid) -> Self;
    /// The underlying UUID.
    fn as_uuid(&self) -> uuid::Uuid;
}

/// Parses `prefix_<uuid>` or a bare UUID. Shared by every id type.
#[doc(hidden)]
pub fn parse_prefixed(
    prefix: &str,
    kind: &'static str,
    s: &str,
) -> Result<uuid::Uuid, IdParseError> {
    let body = s
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .unwrap_or(s);
    // Only the simple (32 hex digits) and hyphenated forms; no braces or URNs.
    if body.len() != 32 && body.len() != 36 {
        return Err(id_error(kind, s));
    }
    uuid::Uuid::try_parse(body).map_err(|_| id_error(kind, s))
}

fn id_error(kind: &'static str, s: &str) -> IdParseError {
    IdParseError {
        kind,
        input: s.chars().take(64).collect(),
    }
}

/// Defines a UUID-backed id type with a prefixed string form.
///
/// The generated type is `Copy`, ordered, hashable, serialises as its prefixed string,
/// and is created fresh with `new()` (UUIDv7: time-ordered, so ids sort by creation).
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            /// A new, unique, time-ordered id.
            #[must_use]
            pub fn new() -> Self {
                Self(::uuid::Uuid::now_v7())
            }
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $crate::ids::TypedId for $name {
            const PREFIX: &'static str = $prefix;
            const KIND: &'static str = $kind;
            fn from_uuid(uuid: ::uuid::Uuid) -> Self {
                Self(uuid)
            }
            fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.simple())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ids::IdParseError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $crate::ids::parse_prefixed($prefix, $kind, s).map(Self)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// A tenant: one customer organisation and everything it owns.
    AccountId, "acc", "account"
);
typed_id!(
    /// A person who signs in to an account.
    UserId, "usr", "user"
);
typed_id!(
    /// A signed-in browser or API session.
    SessionId, "ses", "session"
);
typed_id!(
    /// A backup task: one protected Salesforce org or Dropbox team.
    TaskId, "tsk", "task"
);
typed_id!(
    /// What a task backs up: a Salesforce object or metadata type, a Dropbox member or team folder.
    EntityId, "ent", "entity"
);
typed_id!(
    /// One completed backup run of one task.
    SnapshotId, "snp", "snapshot"
);
typed_id!(
    /// A unit of background work: backup, restore, export, maintenance…
    JobId, "job", "job"
);
typed_id!(
    /// An activity or security-audit event.
    EventId, "evt", "event"
);
typed_id!(
    /// A tag that can be applied to entities.
    TagId, "tag", "tag"
);
typed_id!(
    /// A REST API client (client id + secret).
    ApiClientId, "cli", "API client"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let id = TaskId::new();
        let s = id.to_string();
        assert!(s.starts_with("tsk_"), "{s}");
        assert_eq!(s.len(), 4 + 32);
        assert_eq!(s.parse::<TaskId>().unwrap(), id);
    }

    #[test]
    fn bare_uuid_is_accepted() {
        let id = AccountId::new();
        let bare = id.as_uuid().hyphenated().to_string();
        assert_eq!(bare.parse::<AccountId>().unwrap(), id);
    }

    #[test]
    fn wrong_prefix_and_garbage_are_rejected() {
        let task = TaskId::new().to_string();
        let err = task.parse::<AccountId>().unwrap_err();
        assert_eq!(err.kind, "account");
        assert!("acc_nothex".parse::<AccountId>().is_err());
        assert!("".parse::<AccountId>().is_err());
        assert!(
            format!("{{{}}}", uuid::Uuid::nil())
                .parse::<AccountId>()
                .is_err()
        );
    }

    #[test]
    fn serde_uses_the_prefixed_string() {
        let id = JobId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: JobId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<JobId>("\"tsk_00000000000000000000000000000000\"").is_err());
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let a = EventId::new();
        let b = EventId::new();
        assert!(a < b);
    }
}
