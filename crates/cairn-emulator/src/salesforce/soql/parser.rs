//! SOQL syntax: the AST and a recursive-descent parser over the tokens.
//!
//! Grammar (the subset the emulator serves):
//! ```text
//! query    := SELECT items FROM name [alias] [WHERE cond] [ORDER BY order {, order}]
//!             [LIMIT n] [OFFSET n] [ALL ROWS] [FOR (VIEW|REFERENCE|UPDATE)]
//! items    := COUNT() | item {, item}
//! item     := path | '(' query ')' | FIELDS '(' (ALL|STANDARD|CUSTOM) ')'
//! cond     := unary {AND unary} | unary {OR unary}     -- mixing needs parentheses
//! unary    := NOT unary | '(' cond ')' | path op value | path [NOT] IN '(' values|query ')'
//!           | path [NOT] LIKE string | path (INCLUDES|EXCLUDES) '(' strings ')'
//! value    := string | number | TRUE | FALSE | NULL | date | datetime | DATE_LITERAL[:n]
//! ```

use super::SoqlError;
use super::lexer::{Tok, Token, tokenize};

pub use super::ast::{Cond, Literal, OrderItem, Path, Query, SelectItem};

const DATE_KEYWORDS: &[&str] = &[
    "YESTERDAY",
    "TODAY",
    "TOMORROW",
    "LAST_WEEK",
    "THIS_WEEK",
    "NEXT_WEEK",
    "LAST_MONTH",
    "THIS_MONTH",
    "NEXT_MONTH",
    "LAST_90_DAYS",
    "NEXT_90_DAYS",
    "THIS_QUARTER",
    "LAST_QUARTER",
    "NEXT_QUARTER",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
];
const DATE_N_KEYWORDS: &[&str] = &[
    "LAST_N_DAYS",
    "NEXT_N_DAYS",
    "N_DAYS_AGO",
    "LAST_N_WEEKS",
    "NEXT_N_WEEKS",
    "LAST_N_MONTHS",
    "NEXT_N_MONTHS",
    "LAST_N_YEARS",
    "NEXT_N_YEARS",
];

/// Words that end a clause and so can never be an alias or a field.
const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT", "IN", "LIKE",
    "GROUP", "HAVING", "WITH", "FOR", "ALL", "USING", "NULL", "TRUE", "FALSE", "INCLUDES",
    "EXCLUDES", "ASC", "DESC", "NULLS", "FIRST", "LAST", "TYPEOF",
];

struct Parser {
    toks: Vec<Token>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }
    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.i + k).min(self.toks.len() - 1)].tok
    }
    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        SoqlError::malformed(t.pos, format!("unexpected token: {}", quoted(&t.tok)))
    }
    fn expect_kw(&mut self, kw: &str) -> Result<usize, SoqlError> {
        if self.peek().tok.is_kw(kw) {
            Ok(self.bump().pos)
        } else {
            Err(self.unexpected())
        }
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().tok.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn expect(&mut self, tok: &Tok) -> Result<usize, SoqlError> {
        if &self.peek().tok == tok {
            Ok(self.bump().pos)
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<(String, usize), SoqlError> {
        match &self.peek().tok {
            Tok::Ident(s) if !is_reserved(s) => {
                let s = s.clone();
                Ok((s, self.bump().pos))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<Path, SoqlError> {
        let (first, pos) = self.ident()?;
        let mut p = Path {
            parts: vec![first],
            pos: vec![pos],
        };
        while self.peek().tok == Tok::Dot {
            self.bump();
            let t = self.bump();
            match t.tok {
                Tok::Ident(s) => {
                    p.parts.push(s);
                    p.pos.push(t.pos);
                }
                other => {
                    return Err(SoqlError::malformed(
                        t.pos,
                        format!("unexpected token: {}", quoted(&other)),
                    ));
                }
            }
        }
        Ok(p)
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("SELECT")?;
        let mut select = Vec::new();
        let mut count = false;
        if self.peek().tok.is_kw("COUNT")
            && *self.peek_at(1) == Tok::LParen
            && *self.peek_at(2) == Tok::RParen
        {
            self.bump();
            self.bump();
            self.bump();
            count = true;
        } else {
            loop {
                if self.peek().tok == Tok::LParen {
                    let pos = self.bump().pos;
                    let sub = self.query()?;
                    self.expect(&Tok::RParen)?;
                    select.push(SelectItem::SubQuery(Box::new(sub), pos));
                } else if self.peek().tok.is_kw("FIELDS") && *self.peek_at(1) == Tok::LParen {
                    let pos = self.bump().pos;
                    self.bump();
                    let (which, wpos) = match self.bump() {
                        Token {
                            tok: Tok::Ident(s),
                            pos,
                        } => (s.to_ascii_uppercase(), pos),
                        t => {
                            return Err(SoqlError::malformed(
                                t.pos,
                                format!("unexpected token: {}", quoted(&t.tok)),
                            ));
                        }
                    };
                    if !["ALL", "STANDARD", "CUSTOM"].contains(&which.as_str()) {
                        return Err(SoqlError::malformed(
                            wpos,
                            format!("unexpected token: '{which}'"),
                        ));
                    }
                    self.expect(&Tok::RParen)?;
                    select.push(SelectItem::Fields(which, pos));
                } else {
                    select.push(SelectItem::Field(self.path()?));
                }
                if self.peek().tok == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        self.expect_kw("FROM")?;
        let (from, from_pos) = self.ident()?;
        let mut alias = None;
        if let Tok::Ident(s) = &self.peek().tok
            && !is_reserved(s)
        {
            alias = Some(s.clone());
            self.bump();
        }
        let mut q = Query {
            select,
            count,
            from,
            from_pos,
            alias,
            where_: None,
            order: Vec::new(),
            limit: None,
            offset: None,
            all_rows: false,
        };
        if self.eat_kw("WHERE") {
            q.where_ = Some(self.cond()?);
        }
        if self.peek().tok.is_kw("GROUP")
            || self.peek().tok.is_kw("HAVING")
            || self.peek().tok.is_kw("WITH")
        {
            let t = self.peek();
            return Err(SoqlError::malformed(
                t.pos,
                format!(
                    "{} is not supported by this emulator",
                    t.tok.describe().to_ascii_uppercase()
                ),
            ));
        }
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let path = self.path()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                let mut nulls_last = None;
                if self.eat_kw("NULLS") {
                    if self.eat_kw("LAST") {
                        nulls_last = Some(true);
                    } else {
                        self.expect_kw("FIRST")?;
                        nulls_last = Some(false);
                    }
                }
                q.order.push(OrderItem {
                    path,
                    desc,
                    nulls_last,
                });
                if self.peek().tok == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        if self.eat_kw("LIMIT") {
            q.limit = Some(self.unsigned()?.0);
        }
        if self.eat_kw("OFFSET") {
            q.offset = Some(self.unsigned()?);
        }
        if self.eat_kw("ALL") {
            self.expect_kw("ROWS")?;
            q.all_rows = true;
        }
        if self.eat_kw("FOR")
            && !(self.eat_kw("VIEW") || self.eat_kw("REFERENCE") || self.eat_kw("UPDATE"))
        {
            return Err(self.unexpected());
        }
        Ok(q)
    }

    fn unsigned(&mut self) -> Result<(u64, usize), SoqlError> {
        let t = self.bump();
        match &t.tok {
            Tok::Num(n) => n
                .parse::<u64>()
                .map(|v| (v, t.pos))
                .map_err(|_| SoqlError::malformed(t.pos, format!("unexpected token: {n}"))),
            other => Err(SoqlError::malformed(
                t.pos,
                format!("unexpected token: {}", quoted(other)),
            )),
        }
    }

    fn cond(&mut self) -> Result<Cond, SoqlError> {
        let first = self.unary()?;
        let mut joiner: Option<bool> = None; // Some(true) = AND, Some(false) = OR
        let mut items = vec![first];
        loop {
            let and = self.peek().tok.is_kw("AND");
            let or = self.peek().tok.is_kw("OR");
            if !and && !or {
                break;
            }
            if joiner.is_some_and(|j| j != and) {
                // SOQL requires parentheses when AND and OR are mixed.
                return Err(self.unexpected());
            }
            joiner = Some(and);
            self.bump();
            items.push(self.unary()?);
        }
        Ok(match (joiner, items.len()) {
            (_, 1) => items.pop().unwrap_or(Cond::And(Vec::new())),
            (Some(true), _) => Cond::And(items),
            _ => Cond::Or(items),
        })
    }

    fn unary(&mut self) -> Result<Cond, SoqlError> {
        if self.eat_kw("NOT") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.bump();
            let c = self.cond()?;
            self.expect(&Tok::RParen)?;
            return Ok(c);
        }
        let path = self.path()?;
        let t = self.peek().clone();
        match &t.tok {
            Tok::Op(op) => {
                self.bump();
                let (value, pos) = self.literal()?;
                Ok(Cond::Cmp {
                    path,
                    op,
                    value,
                    pos,
                })
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("LIKE") => {
                self.bump();
                let v = self.bump();
                match v.tok {
                    Tok::Str(pattern) => Ok(Cond::Like {
                        path,
                        negated: false,
                        pattern,
                        pos: v.pos,
                    }),
                    other => Err(SoqlError::malformed(
                        v.pos,
                        format!("unexpected token: {}", quoted(&other)),
                    )),
                }
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("NOT") => {
                self.bump();
                if self.eat_kw("IN") {
                    self.in_list(path, true)
                } else if self.eat_kw("LIKE") {
                    let v = self.bump();
                    match v.tok {
                        Tok::Str(pattern) => Ok(Cond::Like {
                            path,
                            negated: true,
                            pattern,
                            pos: v.pos,
                        }),
                        other => Err(SoqlError::malformed(
                            v.pos,
                            format!("unexpected token: {}", quoted(&other)),
                        )),
                    }
                } else {
                    Err(self.unexpected())
                }
            }
            Tok::Ident(w) if w.eq_ignore_ascii_case("IN") => {
                self.bump();
                self.in_list(path, false)
            }
            Tok::Ident(w)
                if w.eq_ignore_ascii_case("INCLUDES") || w.eq_ignore_ascii_case("EXCLUDES") =>
            {
                let excludes = w.eq_ignore_ascii_case("EXCLUDES");
                self.bump();
                self.expect(&Tok::LParen)?;
                let mut values = Vec::new();
                loop {
                    let v = self.bump();
                    match v.tok {
                        Tok::Str(s) => values.push(s),
                        other => {
                            return Err(SoqlError::malformed(
                                v.pos,
                                format!("unexpected token: {}", quoted(&other)),
                            ));
                        }
                    }
                    if self.peek().tok == Tok::Comma {
                        self.bump();
                    } else {
                        break;
                    }
                }
                self.expect(&Tok::RParen)?;
                Ok(Cond::Includes {
                    path,
                    excludes,
                    values,
                })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn in_list(&mut self, path: Path, negated: bool) -> Result<Cond, SoqlError> {
        self.expect(&Tok::LParen)?;
        if self.peek().tok.is_kw("SELECT") {
            let sub = self.query()?;
            self.expect(&Tok::RParen)?;
            return Ok(Cond::In {
                path,
                negated,
                values: Vec::new(),
                sub: Some(Box::new(sub)),
            });
        }
        let mut values = Vec::new();
        loop {
            values.push(self.literal()?);
            if self.peek().tok == Tok::Comma {
                self.bump();
            } else {
                break;
            }
        }
        self.expect(&Tok::RParen)?;
        Ok(Cond::In {
            path,
            negated,
            values,
            sub: None,
        })
    }

    fn literal(&mut self) -> Result<(Literal, usize), SoqlError> {
        let t = self.bump();
        let lit = match t.tok {
            Tok::Str(s) => Literal::Str(s),
            Tok::Num(n) => Literal::Num(n),
            Tok::Date(d) => Literal::Date(d),
            Tok::DateTime(d) => Literal::DateTime(d),
            Tok::Ident(w) => {
                let up = w.to_ascii_uppercase();
                match up.as_str() {
                    "NULL" => Literal::Null,
                    "TRUE" => Literal::Bool(true),
                    "FALSE" => Literal::Bool(false),
                    _ if DATE_KEYWORDS.contains(&up.as_str()) => Literal::DateKeyword(up, None),
                    _ if DATE_N_KEYWORDS.contains(&up.as_str()) => {
                        self.expect(&Tok::Colon)?;
                        let (n, _) = self.unsigned()?;
                        Literal::DateKeyword(up, Some(n as i64))
                    }
                    _ => {
                        return Err(SoqlError::malformed(
                            t.pos,
                            format!("unexpected token: {w}"),
                        ));
                    }
                }
            }
            other => {
                return Err(SoqlError::malformed(
                    t.pos,
                    format!("unexpected token: {}", quoted(&other)),
                ));
            }
        };
        Ok((lit, t.pos))
    }
}

fn is_reserved(s: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
}

fn quoted(t: &Tok) -> String {
    match t {
        Tok::Eof => "<EOF>".into(),
        other => format!("'{}'", other.describe().trim_matches('\'')),
    }
}

/// Parses a SOQL statement.
///
/// # Errors
/// `MALFORMED_QUERY` naming the position and the unexpected token.
pub fn parse(src: &str) -> Result<Query, SoqlError> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, i: 0 };
    let q = p.query()?;
    if p.peek().tok != Tok::Eof {
        return Err(p.unexpected());
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_query() {
        let q = parse(
            "SELECT Id, Name, Owner.Name, (SELECT Id FROM Contacts) FROM Account a \
             WHERE (Name LIKE 'Acme%' OR Industry IN ('Banking', 'Energy')) AND NOT IsDeleted = true \
             AND SystemModstamp > 2026-01-01T00:00:00Z AND CreatedDate = LAST_N_DAYS:30 \
             ORDER BY Name DESC NULLS LAST, Id LIMIT 10 OFFSET 5",
        )
        .unwrap();
        assert_eq!(q.from, "Account");
        assert_eq!(q.alias.as_deref(), Some("a"));
        assert_eq!(q.select.len(), 4);
        assert!(matches!(&q.select[3], SelectItem::SubQuery(s, _) if s.from == "Contacts"));
        let Some(Cond::And(items)) = &q.where_ else {
            panic!("{:?}", q.where_)
        };
        assert_eq!(items.len(), 4);
        assert!(matches!(&items[0], Cond::Or(v) if v.len() == 2));
        assert!(
            matches!(&items[3], Cond::Cmp { value: Literal::DateKeyword(k, Some(30)), .. } if k == "LAST_N_DAYS")
        );
        assert_eq!(q.order.len(), 2);
        assert!(q.order[0].desc && q.order[0].nulls_last == Some(true));
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.offset.map(|o| o.0), Some(5));
        assert!(parse("SELECT COUNT() FROM Contact").unwrap().count);
    }

    #[test]
    fn errors_name_the_token_and_position() {
        let e = parse("SELECT Id FRM Account").unwrap_err();
        assert_eq!((e.pos, e.message.as_str()), (10, "unexpected token: 'FRM'"));
        let e = parse("SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3").unwrap_err();
        assert_eq!(e.message, "unexpected token: 'OR'");
        let e = parse("SELECT Id FROM Account WHERE").unwrap_err();
        assert_eq!(e.message, "unexpected token: <EOF>");
        let e = parse("SELECT , FROM Account").unwrap_err();
        assert_eq!((e.pos, e.message.as_str()), (7, "unexpected token: ','"));
    }
}
