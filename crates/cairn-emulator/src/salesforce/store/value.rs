//! Value representations: compact `Cell`s as stored in columns, owned `Value`s as parsed
//! from requests, and `FieldVal`s as read back (borrowing strings from the table arena).

use std::sync::Arc;

/// A reference to a record: object (table) index and row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecRef {
    /// Table index.
    pub obj: u32,
    /// Row in that table.
    pub row: u32,
}

impl RecRef {
    /// Packs into the `u64` a reference column stores.
    pub fn pack(self) -> u64 {
        (u64::from(self.obj) << 32) | u64::from(self.row)
    }
    /// Unpacks a stored reference.
    pub fn unpack(v: u64) -> Self {
        Self {
            obj: (v >> 32) as u32,
            row: v as u32,
        }
    }
}

/// A string in a table's arena. `len == u32::MAX` means null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrSpan {
    /// Byte offset.
    pub off: u32,
    /// Byte length.
    pub len: u32,
}

impl StrSpan {
    /// The null marker.
    pub const NULL: StrSpan = StrSpan {
        off: 0,
        len: u32::MAX,
    };
    /// Whether this is the null marker.
    pub fn is_null(self) -> bool {
        self.len == u32::MAX
    }
}

/// What a binary file body is made of. Generated bodies are rebuilt from their seed on
/// demand, so large orgs don't hold their files in memory.
#[derive(Debug, Clone)]
pub enum BlobBody {
    /// Deterministically generated content.
    Generated {
        /// Content seed.
        seed: u64,
        /// Byte length.
        len: u32,
        /// File kind (decides the content shape).
        kind: BlobKind,
    },
    /// Uploaded bytes.
    Stored(Arc<Vec<u8>>),
}

impl BlobBody {
    /// Byte length.
    pub fn len(&self) -> usize {
        match self {
            BlobBody::Generated { len, .. } => *len as usize,
            BlobBody::Stored(b) => b.len(),
        }
    }
    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Kinds of generated file content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// Plain text prose.
    Text,
    /// Comma-separated values.
    Csv,
    /// Binary content with a PDF header.
    Pdf,
    /// Binary content with a PNG header.
    Png,
}

impl BlobKind {
    /// A stable code for persistence.
    pub fn code(self) -> u8 {
        match self {
            BlobKind::Text => 0,
            BlobKind::Csv => 1,
            BlobKind::Pdf => 2,
            BlobKind::Png => 3,
        }
    }
    /// Inverse of [`BlobKind::code`].
    pub fn from_code(c: u8) -> Self {
        match c {
            1 => BlobKind::Csv,
            2 => BlobKind::Pdf,
            3 => BlobKind::Png,
            _ => BlobKind::Text,
        }
    }
}

/// A stored cell: small and `Copy`, so undo images are cheap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// Null.
    Null,
    /// Arena string.
    Text(StrSpan),
    /// Number.
    Num(f64),
    /// Checkbox.
    Bool(bool),
    /// Days since the epoch.
    Date(i32),
    /// Milliseconds since the epoch.
    DateTime(i64),
    /// A record reference.
    Ref(RecRef),
    /// Index into the table's blob list.
    Blob(u32),
}

/// An owned value parsed from a request (or produced by automation).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null.
    Null,
    /// Checkbox.
    Bool(bool),
    /// Number.
    Num(f64),
    /// Text.
    Text(String),
    /// Days since the epoch.
    Date(i32),
    /// Milliseconds since the epoch.
    DateTime(i64),
    /// A record reference.
    Ref(RecRef),
    /// A file body.
    Blob(BlobBody),
}

impl PartialEq for BlobBody {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                BlobBody::Generated { seed, len, kind },
                BlobBody::Generated {
                    seed: s2,
                    len: l2,
                    kind: k2,
                },
            ) => seed == s2 && len == l2 && kind == k2,
            (BlobBody::Stored(a), BlobBody::Stored(b)) => a == b,
            _ => false,
        }
    }
}

/// A value read from a record.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldVal<'a> {
    /// Null.
    Null,
    /// Checkbox.
    Bool(bool),
    /// Number.
    Num(f64),
    /// Borrowed text.
    Str(&'a str),
    /// Computed text.
    Owned(String),
    /// Days since the epoch.
    Date(i32),
    /// Milliseconds since the epoch.
    DateTime(i64),
    /// A record reference.
    Ref(RecRef),
    /// A file body (index into the table's blob list).
    Blob(u32),
    /// A compound address: street, city, state, postal code, country.
    Address(Box<[FieldVal<'a>; 5]>),
}

impl FieldVal<'_> {
    /// Whether the value is null (or empty text, which Salesforce treats as null).
    pub fn is_null(&self) -> bool {
        match self {
            FieldVal::Null => true,
            FieldVal::Str(s) => s.is_empty(),
            FieldVal::Owned(s) => s.is_empty(),
            _ => false,
        }
    }
    /// The text, if textual.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldVal::Str(s) => Some(s),
            FieldVal::Owned(s) => Some(s),
            _ => None,
        }
    }
}
