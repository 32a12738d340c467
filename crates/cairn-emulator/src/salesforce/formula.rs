//! A subset of the Salesforce formula language, used for formula fields, validation rules
//! (`errorConditionFormula`) and workflow-rule criteria.
//!
//! Formulas are parsed once (at schema build or metadata deploy, where a bad formula is a
//! deploy error) into an [`Expr`] whose field references are already resolved to field
//! indexes, then evaluated per record against a [`FormulaContext`]. Supported: literals,
//! field references, `+ - * / &`, comparisons (`= == != <> < <= > >=`), `&& ||`, and the
//! functions AND, OR, NOT, IF, CASE, ISBLANK, ISNULL, BLANKVALUE, NULLVALUE, ISPICKVAL, TEXT,
//! LEN, TRIM, UPPER, LOWER, BEGINS, CONTAINS, TODAY, NOW, ISNEW, ISCHANGED, PRIORVALUE,
//! ROUND, ABS, MAX, MIN.

use std::cmp::Ordering;

use super::clock::DAY_MS;

/// A formula value.
#[derive(Debug, Clone, PartialEq)]
pub enum FVal {
    /// Blank.
    Null,
    /// Checkbox.
    Bool(bool),
    /// Number, currency or percent.
    Num(f64),
    /// Text (picklists evaluate to their value).
    Text(String),
    /// Days since the epoch.
    Date(i32),
    /// Milliseconds since the epoch.
    DateTime(i64),
}

impl FVal {
    fn is_blank(&self) -> bool {
        matches!(self, FVal::Null) || matches!(self, FVal::Text(s) if s.is_empty())
    }
    fn truthy(&self) -> bool {
        matches!(self, FVal::Bool(true))
    }
    fn text(&self) -> String {
        match self {
            FVal::Null => String::new(),
            FVal::Bool(b) => b.to_string(),
            FVal::Num(n) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    format!("{}", *n as i64)
                } else {
                    n.to_string()
                }
            }
            FVal::Text(s) => s.clone(),
            FVal::Date(d) => super::clock::format_date(*d),
            FVal::DateTime(t) => super::clock::format_datetime_z(*t),
        }
    }
}

/// What a formula reads while being evaluated.
pub trait FormulaContext {
    /// The current value of the field at `index`.
    fn field(&self, index: usize) -> FVal;
    /// The value before the current change (the current value on insert).
    fn prior(&self, index: usize) -> FVal;
    /// Whether the record is being inserted.
    fn is_new(&self) -> bool;
    /// The emulated time in milliseconds.
    fn now_ms(&self) -> i64;
}

/// A parsed formula.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A literal.
    Lit(FVal),
    /// A field of the record.
    Field(usize),
    /// A function call (name upper-cased).
    Call(String, Vec<Expr>),
    /// A binary operator.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// Unary minus.
    Neg(Box<Expr>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `&`
    Concat,
    /// `=` / `==`
    Eq,
    /// `!=` / `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
}

const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("AND", 1, 64),
    ("OR", 1, 64),
    ("NOT", 1, 1),
    ("IF", 3, 3),
    ("CASE", 4, 128),
    ("ISBLANK", 1, 1),
    ("ISNULL", 1, 1),
    ("BLANKVALUE", 2, 2),
    ("NULLVALUE", 2, 2),
    ("ISPICKVAL", 2, 2),
    ("TEXT", 1, 1),
    ("LEN", 1, 1),
    ("TRIM", 1, 1),
    ("UPPER", 1, 1),
    ("LOWER", 1, 1),
    ("BEGINS", 2, 2),
    ("CONTAINS", 2, 2),
    ("TODAY", 0, 0),
    ("NOW", 0, 0),
    ("ISNEW", 0, 0),
    ("ISCHANGED", 1, 1),
    ("PRIORVALUE", 1, 1),
    ("ROUND", 2, 2),
    ("ABS", 1, 1),
    ("MAX", 1, 64),
    ("MIN", 1, 64),
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    const OPS: &[&str] = &[
        "&&", "||", "==", "!=", "<>", "<=", ">=", "+", "-", "*", "/", "&", "=", "<", ">",
    ];
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = src[i + 2..]
                .find("*/")
                .ok_or_else(|| "unterminated comment".to_owned())?;
            i += end + 4;
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let n = src[start..i]
                .parse()
                .map_err(|_| format!("bad number '{}'", &src[start..i]))?;
            out.push(Tok::Num(n));
        } else if c == b'"' || c == b'\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err("unterminated string".into()),
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let n = *b.get(i + 1).ok_or("unterminated string")?;
                        s.push(match n {
                            b'n' => '\n',
                            b't' => '\t',
                            other => other as char,
                        });
                        i += 2;
                    }
                    Some(_) => {
                        let ch = src[i..].chars().next().unwrap_or(' ');
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_owned()));
        } else if c == b'(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == b')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == b',' {
            out.push(Tok::Comma);
            i += 1;
        } else if let Some(op) = OPS.iter().find(|op| src[i..].starts_with(**op)) {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            return Err(format!("unexpected character '{}'", c as char));
        }
    }
    Ok(out)
}

struct Parser<'a, R> {
    toks: Vec<Tok>,
    pos: usize,
    resolve: &'a R,
}

impl<R: Fn(&str) -> Option<usize>> Parser<'_, R> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[
                ("==", BinOp::Eq),
                ("=", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<>", BinOp::Ne),
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            &[("+", BinOp::Add), ("-", BinOp::Sub), ("&", BinOp::Concat)],
            &[("*", BinOp::Mul), ("/", BinOp::Div)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(Tok::Op(op)) = self.peek() {
            let Some((_, bop)) = LEVELS[level].iter().find(|(s, _)| s == op) else {
                break;
            };
            let bop = *bop;
            self.pos += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Bin(bop, Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(&Tok::Op("-")) {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Lit(FVal::Num(n))),
            Some(Tok::Str(s)) => Ok(Expr::Lit(FVal::Text(s))),
            Some(Tok::LParen) => {
                let e = self.binary(0)?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Tok::Ident(name)) => {
                let upper = name.to_ascii_uppercase();
                if self.peek() == Some(&Tok::LParen) {
                    self.pos += 1;
                    let (_, min, max) = FUNCTIONS
                        .iter()
                        .find(|(f, _, _)| *f == upper)
                        .ok_or_else(|| format!("Unknown function {upper}. Check spelling."))?;
                    let mut args = Vec::new();
                    if self.peek() == Some(&Tok::RParen) {
                        self.pos += 1;
                    } else {
                        loop {
                            args.push(self.binary(0)?);
                            match self.next() {
                                Some(Tok::Comma) => continue,
                                Some(Tok::RParen) => break,
                                _ => return Err(format!("Syntax error in {upper}(): missing ')'")),
                            }
                        }
                    }
                    if args.len() < *min || args.len() > *max {
                        return Err(format!(
                            "Incorrect number of parameters for function '{upper}()'"
                        ));
                    }
                    return Ok(Expr::Call(upper, args));
                }
                match upper.as_str() {
                    "TRUE" => Ok(Expr::Lit(FVal::Bool(true))),
                    "FALSE" => Ok(Expr::Lit(FVal::Bool(false))),
                    "NULL" => Ok(Expr::Lit(FVal::Null)),
                    _ => (self.resolve)(&name)
                        .map(Expr::Field)
                        .ok_or_else(|| format!("Field {name} does not exist. Check spelling.")),
                }
            }
            Some(other) => Err(format!("Syntax error. Found '{other:?}'")),
            None => Err("Syntax error. Unexpected end of formula".into()),
        }
    }
}

/// Parses `src`, resolving field names through `resolve`.
///
/// # Errors
/// A message in Salesforce's formula-compiler style, e.g. `Field Foo does not exist.`
pub fn parse(src: &str, resolve: &impl Fn(&str) -> Option<usize>) -> Result<Expr, String> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        resolve,
    };
    let e = p.binary(0)?;
    if p.pos < p.toks.len() {
        return Err(format!("Syntax error. Extra {:?}", p.toks[p.pos]));
    }
    Ok(e)
}

fn num(v: &FVal) -> Option<f64> {
    match v {
        FVal::Num(n) => Some(*n),
        FVal::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn compare(a: &FVal, b: &FVal) -> Option<Ordering> {
    match (a, b) {
        (FVal::Num(x), FVal::Num(y)) => x.partial_cmp(y),
        (FVal::Date(x), FVal::Date(y)) => Some(x.cmp(y)),
        (FVal::DateTime(x), FVal::DateTime(y)) => Some(x.cmp(y)),
        (FVal::Date(x), FVal::DateTime(y)) => Some((i64::from(*x) * DAY_MS).cmp(y)),
        (FVal::DateTime(x), FVal::Date(y)) => Some(x.cmp(&(i64::from(*y) * DAY_MS))),
        (FVal::Bool(x), FVal::Bool(y)) => Some(x.cmp(y)),
        (FVal::Text(x), FVal::Text(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Evaluates `expr` for one record.
pub fn eval(expr: &Expr, ctx: &dyn FormulaContext) -> FVal {
    match expr {
        Expr::Lit(v) => v.clone(),
        Expr::Field(i) => ctx.field(*i),
        Expr::Neg(e) => match num(&eval(e, ctx)) {
            Some(n) => FVal::Num(-n),
            None => FVal::Null,
        },
        Expr::Bin(op, a, b) => {
            let (x, y) = (eval(a, ctx), eval(b, ctx));
            binop(*op, x, y)
        }
        Expr::Call(name, args) => call(name, args, ctx),
    }
}

fn binop(op: BinOp, x: FVal, y: FVal) -> FVal {
    match op {
        BinOp::And => FVal::Bool(x.truthy() && y.truthy()),
        BinOp::Or => FVal::Bool(x.truthy() || y.truthy()),
        BinOp::Concat => FVal::Text(x.text() + &y.text()),
        BinOp::Eq | BinOp::Ne => {
            let eq = if x.is_blank() || y.is_blank() {
                x.is_blank() && y.is_blank()
            } else {
                compare(&x, &y) == Some(Ordering::Equal)
            };
            FVal::Bool(if op == BinOp::Eq { eq } else { !eq })
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ord = compare(&x, &y);
            FVal::Bool(match (op, ord) {
                (_, None) => false,
                (BinOp::Lt, Some(o)) => o == Ordering::Less,
                (BinOp::Le, Some(o)) => o != Ordering::Greater,
                (BinOp::Gt, Some(o)) => o == Ordering::Greater,
                (_, Some(o)) => o != Ordering::Less,
            })
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => match (&x, &y) {
            (FVal::Date(d), _) if matches!(op, BinOp::Add | BinOp::Sub) => match (op, &y) {
                (BinOp::Sub, FVal::Date(e)) => FVal::Num(f64::from(*d - *e)),
                (_, FVal::Num(n)) => {
                    let delta = if op == BinOp::Add { *n } else { -*n };
                    FVal::Date(*d + delta as i32)
                }
                _ => FVal::Null,
            },
            (FVal::DateTime(t), _) if matches!(op, BinOp::Add | BinOp::Sub) => match (op, &y) {
                (BinOp::Sub, FVal::DateTime(u)) => FVal::Num((t - u) as f64 / DAY_MS as f64),
                (_, FVal::Num(n)) => {
                    let delta = (n * DAY_MS as f64) as i64;
                    FVal::DateTime(if op == BinOp::Add {
                        t + delta
                    } else {
                        t - delta
                    })
                }
                _ => FVal::Null,
            },
            _ => match (num(&x), num(&y)) {
                (Some(a), Some(b)) => match op {
                    BinOp::Add => FVal::Num(a + b),
                    BinOp::Sub => FVal::Num(a - b),
                    BinOp::Mul => FVal::Num(a * b),
                    _ if b == 0.0 => FVal::Null,
                    _ => FVal::Num(a / b),
                },
                _ => FVal::Null,
            },
        },
    }
}

fn call(name: &str, args: &[Expr], ctx: &dyn FormulaContext) -> FVal {
    let arg = |i: usize| eval(&args[i], ctx);
    match name {
        "AND" => FVal::Bool(args.iter().all(|a| eval(a, ctx).truthy())),
        "OR" => FVal::Bool(args.iter().any(|a| eval(a, ctx).truthy())),
        "NOT" => FVal::Bool(!arg(0).truthy()),
        "IF" => {
            if arg(0).truthy() {
                arg(1)
            } else {
                arg(2)
            }
        }
        "CASE" => {
            let subject = arg(0);
            let mut i = 1;
            while i + 1 < args.len() {
                if binop(BinOp::Eq, subject.clone(), eval(&args[i], ctx)).truthy() {
                    return eval(&args[i + 1], ctx);
                }
                i += 2;
            }
            eval(&args[args.len() - 1], ctx)
        }
        "ISBLANK" | "ISNULL" => FVal::Bool(arg(0).is_blank()),
        "BLANKVALUE" | "NULLVALUE" => {
            let v = arg(0);
            if v.is_blank() { arg(1) } else { v }
        }
        "ISPICKVAL" => FVal::Bool(arg(0).text() == arg(1).text()),
        "TEXT" => match arg(0) {
            FVal::Null => FVal::Null,
            v => FVal::Text(v.text()),
        },
        "LEN" => FVal::Num(arg(0).text().chars().count() as f64),
        "TRIM" => FVal::Text(arg(0).text().trim().to_owned()),
        "UPPER" => FVal::Text(arg(0).text().to_uppercase()),
        "LOWER" => FVal::Text(arg(0).text().to_lowercase()),
        "BEGINS" => FVal::Bool(arg(0).text().starts_with(&arg(1).text())),
        "CONTAINS" => FVal::Bool(arg(0).text().contains(&arg(1).text())),
        "TODAY" => FVal::Date(ctx.now_ms().div_euclid(DAY_MS) as i32),
        "NOW" => FVal::DateTime(ctx.now_ms()),
        "ISNEW" => FVal::Bool(ctx.is_new()),
        "ISCHANGED" => match &args[0] {
            Expr::Field(i) => FVal::Bool(!ctx.is_new() && ctx.field(*i) != ctx.prior(*i)),
            _ => FVal::Bool(false),
        },
        "PRIORVALUE" => match &args[0] {
            Expr::Field(i) => ctx.prior(*i),
            _ => FVal::Null,
        },
        "ROUND" => match (num(&arg(0)), num(&arg(1))) {
            (Some(v), Some(d)) => {
                let f = 10f64.powi(d as i32);
                FVal::Num((v * f).round() / f)
            }
            _ => FVal::Null,
        },
        "ABS" => num(&arg(0)).map_or(FVal::Null, |v| FVal::Num(v.abs())),
        "MAX" | "MIN" => {
            let vals: Vec<f64> = args.iter().filter_map(|a| num(&eval(a, ctx))).collect();
            if vals.len() != args.len() {
                return FVal::Null;
            }
            let init = if name == "MAX" { f64::MIN } else { f64::MAX };
            FVal::Num(vals.into_iter().fold(
                init,
                |a, b| {
                    if name == "MAX" { a.max(b) } else { a.min(b) }
                },
            ))
        }
        _ => FVal::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx(Vec<FVal>, Vec<FVal>, bool);
    impl FormulaContext for Ctx {
        fn field(&self, i: usize) -> FVal {
            self.0[i].clone()
        }
        fn prior(&self, i: usize) -> FVal {
            self.1[i].clone()
        }
        fn is_new(&self) -> bool {
            self.2
        }
        fn now_ms(&self) -> i64 {
            10 * DAY_MS
        }
    }

    fn resolver(name: &str) -> Option<usize> {
        ["Amount", "StageName", "Email", "Phone", "CloseDate"]
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name))
    }

    fn run(src: &str, vals: Vec<FVal>) -> FVal {
        let e = parse(src, &resolver).unwrap();
        eval(&e, &Ctx(vals.clone(), vals, false))
    }

    #[test]
    fn validation_rule_style_formulas() {
        let won_no_amount = vec![
            FVal::Null,
            FVal::Text("Closed Won".into()),
            FVal::Null,
            FVal::Null,
            FVal::Date(12),
        ];
        let f = r#"AND(ISPICKVAL(StageName, "Closed Won"), ISBLANK(Amount))"#;
        assert_eq!(run(f, won_no_amount.clone()), FVal::Bool(true));
        let mut with_amount = won_no_amount;
        with_amount[0] = FVal::Num(5.0);
        assert_eq!(run(f, with_amount.clone()), FVal::Bool(false));
        assert_eq!(run("Amount * 2 + 1", with_amount.clone()), FVal::Num(11.0));
        assert_eq!(
            run("CloseDate - TODAY()", with_amount.clone()),
            FVal::Num(2.0)
        );
        assert_eq!(
            run("Amount < 0 || Amount > 4", with_amount.clone()),
            FVal::Bool(true)
        );
        assert_eq!(
            run(r#"IF(Amount >= 5, "big", "small") & "!""#, with_amount),
            FVal::Text("big!".into())
        );
    }

    #[test]
    fn bad_formulas_are_rejected_with_a_reason() {
        assert!(
            parse("Nope__c > 1", &resolver)
                .unwrap_err()
                .contains("Nope__c")
        );
        assert!(
            parse("FROB(Amount)", &resolver)
                .unwrap_err()
                .contains("FROB")
        );
        assert!(parse("AND(Amount > 1", &resolver).is_err());
        assert!(parse("NOT(Amount, Amount)", &resolver).is_err());
    }

    #[test]
    fn is_changed_sees_prior_values() {
        let e = parse("ISCHANGED(Amount)", &resolver).unwrap();
        let now = vec![FVal::Num(2.0); 5];
        let before = vec![FVal::Num(1.0); 5];
        assert_eq!(eval(&e, &Ctx(now.clone(), before, false)), FVal::Bool(true));
        assert_eq!(eval(&e, &Ctx(now.clone(), now, false)), FVal::Bool(false));
    }
}
