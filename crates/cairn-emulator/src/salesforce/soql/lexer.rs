//! SOQL tokeniser. Every token carries its byte offset so errors can point at it the way
//! Salesforce does (`ERROR at Row:1:Column:15`).

use super::SoqlError;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word: keyword, object, field or relationship name.
    Ident(String),
    /// A quoted string (unescaped).
    Str(String),
    /// A number as written.
    Num(String),
    /// `2026-01-01`.
    Date(String),
    /// `2026-01-01T10:00:00Z` and friends.
    DateTime(String),
    /// `,`
    Comma,
    /// `.`
    Dot,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `:`
    Colon,
    /// A comparison operator: `= != <> < <= > >=`.
    Op(&'static str),
    /// End of input.
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Num(s) | Tok::Date(s) | Tok::DateTime(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Comma => ",".into(),
            Tok::Dot => ".".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Colon => ":".into(),
            Tok::Op(o) => (*o).into(),
            Tok::Eof => "<EOF>".into(),
        }
    }

    /// Whether this is the keyword `kw` (case-insensitive).
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Kind and text.
    pub tok: Tok,
    /// Byte offset in the query.
    pub pos: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Splits `src` into tokens.
///
/// # Errors
/// `MALFORMED_QUERY` at the offending character for unterminated strings, bad escapes and
/// characters SOQL does not use.
pub fn tokenize(src: &str) -> Result<Vec<Token>, SoqlError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                Tok::Dot
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b':' => {
                i += 1;
                Tok::Colon
            }
            b'=' => {
                i += 1;
                Tok::Op("=")
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op("!=")
            }
            b'<' => match b.get(i + 1) {
                Some(b'=') => {
                    i += 2;
                    Tok::Op("<=")
                }
                Some(b'>') => {
                    i += 2;
                    Tok::Op("!=")
                }
                _ => {
                    i += 1;
                    Tok::Op("<")
                }
            },
            b'>' => {
                if b.get(i + 1) == Some(&b'=') {
                    i += 2;
                    Tok::Op(">=")
                } else {
                    i += 1;
                    Tok::Op(">")
                }
            }
            b'\'' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match b.get(i) {
                        None => {
                            return Err(SoqlError::malformed(
                                start,
                                "unexpected token: <EOF>".into(),
                            ));
                        }
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let esc = *b.get(i + 1).ok_or_else(|| {
                                SoqlError::malformed(i, "unexpected token: <EOF>".into())
                            })?;
                            let ch = match esc {
                                b'n' => '\n',
                                b'r' => '\r',
                                b't' => '\t',
                                b'b' => '\u{8}',
                                b'f' => '\u{c}',
                                b'"' | b'\'' | b'\\' => esc as char,
                                b'%' | b'_' => {
                                    // Kept escaped: only LIKE patterns give them meaning.
                                    s.push('\\');
                                    esc as char
                                }
                                _ => {
                                    return Err(SoqlError::malformed(
                                        i,
                                        format!(
                                            "Invalid string literal '{}'. Illegal character sequence '\\{}' in string literal.",
                                            &src[start..src.len().min(i + 2)],
                                            esc as char
                                        ),
                                    ));
                                }
                            };
                            s.push(ch);
                            i += 2;
                        }
                        Some(_) => {
                            let ch = src[i..].chars().next().unwrap_or(' ');
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                Tok::Str(s)
            }
            c if c.is_ascii_digit()
                || ((c == b'-' || c == b'+' || c == b'.')
                    && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'-' | b':' | b'+'))
                {
                    // A '-' or '+' only continues a date-time (`…:00+01:00`, `2026-01-01`).
                    if matches!(b[i], b'-' | b'+') && !src[start..i].contains(['-', 'T']) {
                        let next_digit = b.get(i + 1).is_some_and(u8::is_ascii_digit);
                        if !(b[i] == b'-' && next_digit && src[start..i].len() == 4) {
                            break;
                        }
                    }
                    i += 1;
                }
                let text = src[start..i].to_owned();
                if text.contains('T') || text.contains('t') {
                    Tok::DateTime(text)
                } else if text.len() == 10 && text.as_bytes()[4] == b'-' {
                    Tok::Date(text)
                } else {
                    Tok::Num(text)
                }
            }
            c if is_ident_start(c) => {
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                Tok::Ident(src[start..i].to_owned())
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(SoqlError::malformed(
                    start,
                    format!("line 1:{start} no viable alternative at character '{ch}'"),
                ));
            }
        };
        out.push(Token { tok, pos: start });
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: src.len(),
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokenizes_literals() {
        assert_eq!(
            kinds(
                "Name='O\\'Brien' AND X>=2026-01-02T03:04:05.000+0000 AND d<2026-01-02 AND n=-1.5"
            ),
            vec![
                Tok::Ident("Name".into()),
                Tok::Op("="),
                Tok::Str("O'Brien".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("X".into()),
                Tok::Op(">="),
                Tok::DateTime("2026-01-02T03:04:05.000+0000".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("d".into()),
                Tok::Op("<"),
                Tok::Date("2026-01-02".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("n".into()),
                Tok::Op("="),
                Tok::Num("-1.5".into()),
                Tok::Eof,
            ]
        );
        assert_eq!(kinds("a<>b")[1], Tok::Op("!="));
        assert_eq!(kinds("LAST_N_DAYS:30")[2], Tok::Num("30".into()));
        assert_eq!(kinds("Owner.Name")[1], Tok::Dot);
    }

    #[test]
    fn reports_positions_of_bad_input() {
        let e = tokenize("SELECT Id FROM Account WHERE Name = 'abc").unwrap_err();
        assert_eq!(e.pos, 36);
        let e = tokenize("SELECT Id FROM Account WHERE Id = $x").unwrap_err();
        assert_eq!(e.pos, 34);
    }
}
