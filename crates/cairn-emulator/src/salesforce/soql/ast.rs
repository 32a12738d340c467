//! The SOQL syntax tree the parser produces and the binder consumes.

/// A dotted field path (`Owner.Name`) and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Segments as written.
    pub parts: Vec<String>,
    /// Byte offset of each segment.
    pub pos: Vec<usize>,
}

/// A SELECT-list item.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// A field path.
    Field(Path),
    /// A parent-to-child subquery.
    SubQuery(Box<Query>, usize),
    /// `FIELDS(ALL|STANDARD|CUSTOM)`.
    Fields(String, usize),
}

/// A literal in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number as written.
    Num(String),
    /// A quoted string.
    Str(String),
    /// `2026-01-01`
    Date(String),
    /// `2026-01-01T00:00:00Z`
    DateTime(String),
    /// `TODAY`, `LAST_N_DAYS:30`, … (upper-cased name, optional N).
    DateKeyword(String, Option<i64>),
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// All must hold.
    And(Vec<Cond>),
    /// One must hold.
    Or(Vec<Cond>),
    /// Negation.
    Not(Box<Cond>),
    /// `path op value`.
    Cmp {
        /// Field.
        path: Path,
        /// `= != < <= > >=`.
        op: &'static str,
        /// Value.
        value: Literal,
        /// Position of the value.
        pos: usize,
    },
    /// `path [NOT] IN (…)`.
    In {
        /// Field.
        path: Path,
        /// `NOT IN`.
        negated: bool,
        /// Literal list.
        values: Vec<(Literal, usize)>,
        /// Semi-join subquery.
        sub: Option<Box<Query>>,
    },
    /// `path [NOT] LIKE pattern`.
    Like {
        /// Field.
        path: Path,
        /// `NOT LIKE`.
        negated: bool,
        /// Pattern.
        pattern: String,
        /// Position of the pattern.
        pos: usize,
    },
    /// `path INCLUDES|EXCLUDES (…)` on multi-select picklists.
    Includes {
        /// Field.
        path: Path,
        /// EXCLUDES.
        excludes: bool,
        /// Values (each may be `a;b` meaning both).
        values: Vec<String>,
    },
}

/// ORDER BY item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// Field.
    pub path: Path,
    /// DESC.
    pub desc: bool,
    /// NULLS LAST (None = default for the direction).
    pub nulls_last: Option<bool>,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// SELECT list; empty means `COUNT()`.
    pub select: Vec<SelectItem>,
    /// `COUNT()`.
    pub count: bool,
    /// FROM object as written.
    pub from: String,
    /// Position of the FROM object.
    pub from_pos: usize,
    /// Alias.
    pub alias: Option<String>,
    /// WHERE.
    pub where_: Option<Cond>,
    /// ORDER BY.
    pub order: Vec<OrderItem>,
    /// LIMIT.
    pub limit: Option<u64>,
    /// OFFSET and its position.
    pub offset: Option<(u64, usize)>,
    /// ALL ROWS.
    pub all_rows: bool,
}
