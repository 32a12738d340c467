//! SOQL: tokeniser, recursive-descent parser, binding against the org schema, and
//! evaluation over the columnar store.
//!
//! Errors carry the byte position of the offending token and render like Salesforce's:
//! the query line, a caret under the token, `ERROR at Row:R:Column:C` and the message,
//! with the same error codes (`MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`,
//! `INVALID_QUERY_FILTER_OPERATOR`, …).

pub mod ast;
pub mod bind;
mod dates;
pub mod eval;
pub mod filter;
pub mod lexer;
pub mod parser;

pub use bind::{Bound, Proj, bind};
pub use parser::parse;

/// A SOQL error with the position it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    /// Salesforce error code.
    pub code: &'static str,
    /// Byte offset in the query.
    pub pos: usize,
    /// The message line.
    pub message: String,
}

impl SoqlError {
    /// `MALFORMED_QUERY`.
    pub fn malformed(pos: usize, message: String) -> Self {
        Self {
            code: "MALFORMED_QUERY",
            pos,
            message,
        }
    }
    /// `INVALID_FIELD`.
    pub fn invalid_field(pos: usize, message: String) -> Self {
        Self {
            code: "INVALID_FIELD",
            pos,
            message,
        }
    }
    /// `INVALID_TYPE`.
    pub fn invalid_type(pos: usize, message: String) -> Self {
        Self {
            code: "INVALID_TYPE",
            pos,
            message,
        }
    }
    /// `INVALID_QUERY_FILTER_OPERATOR`.
    pub fn filter(pos: usize, message: String) -> Self {
        Self {
            code: "INVALID_QUERY_FILTER_OPERATOR",
            pos,
            message,
        }
    }

    /// The full message as the API returns it: the query line (or a window of it around
    /// the error when the line is long), a caret, the row/column and the message.
    pub fn render(&self, query: &str) -> String {
        let pos = self.pos.min(query.len());
        let before = &query[..pos];
        let row = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = query[pos..].find('\n').map_or(query.len(), |i| pos + i);
        let line = &query[line_start..line_end];
        let col_bytes = pos - line_start;
        let column = query[line_start..pos].chars().count() + 1;
        // Long lines are shown as a window around the error, as the API does.
        let (snippet, caret_at) = if line.chars().count() <= 120 {
            (line.to_owned(), column - 1)
        } else {
            let mut start = col_bytes.saturating_sub(40);
            while !line.is_char_boundary(start) {
                start -= 1;
            }
            if let Some(sp) = line[start..col_bytes].find(' ') {
                start += sp + 1;
            }
            let mut end = (col_bytes + 40).min(line.len());
            while !line.is_char_boundary(end) {
                end += 1;
            }
            if let Some(sp) = line[col_bytes..end].rfind(' ').filter(|&s| s > 0) {
                end = col_bytes + sp;
            }
            let snippet = line[start..end].to_owned();
            (snippet, line[start..col_bytes].chars().count())
        };
        format!(
            "\n{snippet}\n{}^\nERROR at Row:{row}:Column:{column}\n{}",
            " ".repeat(caret_at),
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_salesforce() {
        let q = "SELECT Id, Name, AccountNumber FROM AccountOpps WHERE Name like 'okToDelete%'";
        let e = SoqlError::invalid_type(36, "sObject type 'AccountOpps' is not supported.".into());
        assert_eq!(
            e.render(q),
            "\nSELECT Id, Name, AccountNumber FROM AccountOpps WHERE Name like 'okToDelete%'\n                                    ^\nERROR at Row:1:Column:37\nsObject type 'AccountOpps' is not supported."
        );
        let long = format!("SELECT {} Bad__c FROM Account", "Name, ".repeat(40));
        let pos = long.find("Bad__c").unwrap();
        let r = SoqlError::invalid_field(pos, "x".into()).render(&long);
        let lines: Vec<&str> = r.split('\n').collect();
        assert!(lines[1].len() < 100);
        assert_eq!(&lines[1][lines[2].len() - 1..lines[2].len() + 5], "Bad__c");
        assert_eq!(lines[3], format!("ERROR at Row:1:Column:{}", pos + 1));
    }
}
