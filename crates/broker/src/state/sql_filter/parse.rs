//! The SQL92 selector parser: Java 5.3.3's `SelectorParser.jj` as recursive descent, with its
//! compile-time checks (`checkLessThanOperand`, `checkEqualOperand`, `asBooleanExpression`, the
//! BETWEEN bounds) and its error texts (the remark CHECK_CLIENT_CONFIG answers with).
//!
//! Like JavaCC's generated parser, tokens are read only when the grammar asks for them and
//! parsing stops after the first complete expression: `a = 6) junk` is `a = 6`. Keywords are
//! case-insensitive, property names are not.

use std::fmt;

use super::{CompareOp, Expression, TextOp, Value};

/// Longest selector compiled (bytes). Java has no limit; this bounds the parse work a heartbeat or
/// pull can ask for, and is far above any selector written by hand.
pub const SQL_EXPRESSION_BYTES_MAX: usize = 16 * 1024;
/// Deepest nesting of parentheses, NOT and signs accepted: each level is a handful of parser
/// frames, so this keeps parsing far inside a thread's stack (hand-written selectors nest 2 or 3).
pub const SQL_NESTING_DEPTH_MAX: usize = 64;
/// Deepest expression tree accepted (an AND chain of n terms is n deep): bounds the evaluation's
/// recursion, one frame per level, while a 300-term chain still compiles.
pub const SQL_TREE_DEPTH_MAX: usize = 512;

/// A selector that does not compile; `Display` is Java's `MQFilterException.getMessage()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlParseError {
    #[error(
        "org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line {line}, column {column}.  Encountered: {found} after : \"{after}\""
    )]
    Lexical {
        line: usize,
        column: usize,
        found: String,
        after: String,
    },
    #[error(
        "org.apache.rocketmq.filter.parser.ParseException: Encountered \"{found}\" at line {line}, column {column}."
    )]
    Unexpected { found: String, line: usize, column: usize },
    #[error("org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: {0}")]
    NotBoolean(String),
    #[error("java.lang.RuntimeException: {0}")]
    Invalid(String),
    #[error("java.lang.NumberFormatException: For input string: \"{0}\"")]
    BadNumber(String),
    #[error("the expression is {bytes} bytes, more than {SQL_EXPRESSION_BYTES_MAX}")]
    TooLong { bytes: usize },
    #[error("the expression nests deeper than {SQL_NESTING_DEPTH_MAX}")]
    TooDeep,
    #[error("the expression tree is deeper than {SQL_TREE_DEPTH_MAX}")]
    TreeTooDeep,
}

/// Compiles `text` as Java's `SqlFilter.compile` does.
pub fn parse(text: &str) -> Result<Expression, SqlParseError> {
    if text.len() > SQL_EXPRESSION_BYTES_MAX {
        return Err(SqlParseError::TooLong { bytes: text.len() });
    }
    let mut parser = Parser {
        lexer: Lexer { src: text, pos: 0 },
        ahead: Vec::new(),
        depth: 0,
    };
    let (expression, _) = parser.or_expression()?;
    as_boolean(expression)
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Eof,
    Keyword(&'static str),
    Decimal,
    Float,
    Text(String),
    Id,
    Symbol(&'static str),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    image: String,
    line: usize,
    column: usize,
}

const KEYWORDS: [&str; 12] = [
    "NOT",
    "AND",
    "OR",
    "BETWEEN",
    "IN",
    "TRUE",
    "FALSE",
    "NULL",
    "IS",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
];
const SYMBOLS: [&str; 11] = ["<>", ">=", "<=", "=", ">", "<", "(", ")", ",", "+", "-"];

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    /// 1-based line of byte `at`, and the characters before it on that line.
    fn place(&self, at: usize) -> (usize, usize) {
        let before = self.src.get(..at).unwrap_or("");
        let line = 1 + before.matches('\n').count();
        let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count());
        (line, column)
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn skip_blanks_and_comments(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start_matches([' ', '\t', '\n', '\r', '\u{c}']);
            self.pos += rest.len() - trimmed.len();
            let rest = self.rest();
            // A line comment counts only when a line break ends it, as in Java's grammar.
            if let Some(body) = rest.strip_prefix("--")
                && let Some(end) = body.find(['\n', '\r'])
            {
                self.pos += 2 + end + 1;
                continue;
            }
            if let Some(body) = rest.strip_prefix("/*")
                && let Some(end) = body.find("*/")
            {
                self.pos += 2 + end + 2;
                continue;
            }
            return;
        }
    }

    fn next_token(&mut self) -> Result<Token, SqlParseError> {
        self.skip_blanks_and_comments();
        let start = self.pos;
        let (line, column) = self.place(start);
        let column = column + 1;
        let rest = self.rest();
        let token = |kind, len: usize| Token {
            kind,
            image: rest.get(..len).unwrap_or("").to_owned(),
            line,
            column,
        };
        let Some(first) = rest.chars().next() else {
            let (line, column) = self.place(self.src.len());
            let line = if self.src.is_empty() { 0 } else { line };
            return Ok(Token {
                kind: Kind::Eof,
                image: String::new(),
                line,
                column,
            });
        };
        let found = if first.is_ascii_alphabetic() || first == '_' || first == '$' {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            let word = rest.get(..len).unwrap_or("");
            let kind = KEYWORDS
                .iter()
                .find(|k| k.eq_ignore_ascii_case(word))
                .map_or(Kind::Id, |k| Kind::Keyword(k));
            token(kind, len)
        } else if first.is_ascii_digit()
            || (first == '.' && rest.get(1..).unwrap_or("").starts_with(|c: char| c.is_ascii_digit()))
        {
            let (kind, len) = number(rest);
            token(kind, len)
        } else if first == '\'' {
            self.string(rest, line, column)?
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            token(Kind::Symbol(symbol), symbol.len())
        } else {
            let after = if first == '.' { "." } else { "" };
            let shown = if first == '.' {
                rest.get(1..).unwrap_or("").chars().next()
            } else {
                Some(first)
            };
            let (line, column) = self.place(start + after.len());
            let column = column + 1;
            return Err(SqlParseError::Lexical {
                line,
                column,
                found: shown.map_or("<EOF>".into(), |c| {
                    format!("\"{}\" ({}),", c.escape_default(), u32::from(c))
                }),
                after: after.into(),
            });
        };
        self.pos += found.image.len();
        Ok(found)
    }

    /// `'...'` with `''` for a quote; unterminated is a lexical error at the end.
    fn string(&self, rest: &str, line: usize, column: usize) -> Result<Token, SqlParseError> {
        let mut value = String::new();
        let mut chars = rest.char_indices().skip(1).peekable();
        while let Some((at, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().is_some_and(|(_, next)| *next == '\'') {
                    chars.next();
                    value.push('\'');
                    continue;
                }
                return Ok(Token {
                    kind: Kind::Text(value),
                    image: rest.get(..=at).unwrap_or("").to_owned(),
                    line,
                    column,
                });
            }
            value.push(c);
        }
        let (line, column) = self.place(self.src.len());
        let column = column + 1;
        Err(SqlParseError::Lexical {
            line,
            column,
            found: "<EOF>".into(),
            after: rest.escape_default().to_string(),
        })
    }
}

/// The longest DECIMAL_LITERAL or FLOATING_POINT_LITERAL at the start of `rest`.
fn number(rest: &str) -> (Kind, usize) {
    let bytes = rest.as_bytes();
    let digits_from = |from: usize| {
        bytes
            .get(from..)
            .map_or(0, |tail| tail.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let exponent_at = |at: usize| {
        if !matches!(bytes.get(at), Some(b'e' | b'E')) {
            return 0;
        }
        let sign = usize::from(matches!(bytes.get(at + 1), Some(b'+' | b'-')));
        let digits = digits_from(at + 1 + sign);
        if digits == 0 { 0 } else { 1 + sign + digits }
    };
    let int = digits_from(0);
    if bytes.get(int) == Some(&b'.') {
        let fraction = digits_from(int + 1);
        let end = int + 1 + fraction;
        return (Kind::Float, end + exponent_at(end));
    }
    let exponent = exponent_at(int);
    if exponent > 0 {
        return (Kind::Float, int + exponent);
    }
    if bytes.first() == Some(&b'0') {
        return (Kind::Decimal, 1);
    }
    let suffix = usize::from(matches!(bytes.get(int), Some(b'l' | b'L')));
    (Kind::Decimal, int + suffix)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    ahead: Vec<Token>,
    depth: usize,
}

type Parsed = Result<(Expression, usize), SqlParseError>;

impl Parser<'_> {
    fn peek_nth(&mut self, n: usize) -> Result<&Token, SqlParseError> {
        while self.ahead.len() <= n {
            let token = self.lexer.next_token()?;
            self.ahead.push(token);
        }
        self.ahead.get(n).ok_or(SqlParseError::TooDeep)
    }

    fn peek(&mut self) -> Result<Kind, SqlParseError> {
        Ok(self.peek_nth(0)?.kind.clone())
    }

    fn advance(&mut self) -> Result<Token, SqlParseError> {
        self.peek_nth(0)?;
        Ok(self.ahead.remove(0))
    }

    fn unexpected(&mut self) -> SqlParseError {
        match self.advance() {
            Ok(token) => {
                let found = match &token.kind {
                    Kind::Eof => "<EOF>".to_owned(),
                    kind => format!(" {} \"{} \"", token_image(kind), token.image.escape_default()),
                };
                SqlParseError::Unexpected {
                    found,
                    line: token.line,
                    column: token.column,
                }
            }
            Err(lexical) => lexical,
        }
    }

    fn expect(&mut self, kind: Kind) -> Result<(), SqlParseError> {
        if self.peek()? == kind {
            self.advance()?;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn or_expression(&mut self) -> Parsed {
        let mut left = self.and_expression()?;
        while self.peek()? == Kind::Keyword("OR") {
            self.advance()?;
            let right = self.and_expression()?;
            left = node2(Expression::Or, boolean(left)?, boolean(right)?)?;
        }
        Ok(left)
    }

    fn and_expression(&mut self) -> Parsed {
        let mut left = self.equality_expression()?;
        while self.peek()? == Kind::Keyword("AND") {
            self.advance()?;
            let right = self.equality_expression()?;
            left = node2(Expression::And, boolean(left)?, boolean(right)?)?;
        }
        Ok(left)
    }

    fn equality_expression(&mut self) -> Parsed {
        let mut left = self.comparison_expression()?;
        loop {
            left = match self.peek()? {
                Kind::Symbol(symbol @ ("=" | "<>")) => {
                    self.advance()?;
                    let right = self.comparison_expression()?;
                    check_equal_operands(&left.0, &right.0)?;
                    let op = if symbol == "=" {
                        CompareOp::Equal
                    } else {
                        CompareOp::NotEqual
                    };
                    node2(|l, r| Expression::Compare(op, l, r), left, right)?
                }
                Kind::Keyword("IS") => {
                    self.advance()?;
                    let negated = self.peek()? == Kind::Keyword("NOT");
                    if negated {
                        self.advance()?;
                    }
                    self.expect(Kind::Keyword("NULL"))?;
                    node1(|operand| Expression::IsNull { operand, negated }, left)?
                }
                _ => return Ok(left),
            };
        }
    }

    fn comparison_expression(&mut self) -> Parsed {
        let mut left = self.unary_expression()?;
        loop {
            let mut kind = self.peek()?;
            let negated = kind == Kind::Keyword("NOT");
            if negated {
                kind = self.peek_nth(1)?.kind.clone();
                if !matches!(
                    kind,
                    Kind::Keyword("CONTAINS" | "STARTSWITH" | "ENDSWITH" | "BETWEEN" | "IN")
                ) {
                    return Err(self.unexpected());
                }
                self.advance()?;
            }
            left = match kind {
                Kind::Symbol(symbol @ (">" | ">=" | "<" | "<=")) => {
                    self.advance()?;
                    let right = self.unary_expression()?;
                    let op = match symbol {
                        ">" => CompareOp::Greater,
                        ">=" => CompareOp::GreaterOrEqual,
                        "<" => CompareOp::Less,
                        _ => CompareOp::LessOrEqual,
                    };
                    ordered(op, left, right)?
                }
                Kind::Keyword(word @ ("CONTAINS" | "STARTSWITH" | "ENDSWITH")) => {
                    self.advance()?;
                    let literal = self.string_literal()?;
                    let op = match word {
                        "CONTAINS" => TextOp::Contains,
                        "STARTSWITH" => TextOp::StartsWith,
                        _ => TextOp::EndsWith,
                    };
                    node1(
                        |operand| Expression::Text {
                            op,
                            operand,
                            literal,
                            negated,
                        },
                        left,
                    )?
                }
                Kind::Keyword("BETWEEN") => {
                    self.advance()?;
                    let low = self.unary_expression()?;
                    self.expect(Kind::Keyword("AND"))?;
                    let high = self.unary_expression()?;
                    between(left, low, high, negated)?
                }
                Kind::Keyword("IN") => {
                    self.advance()?;
                    self.expect(Kind::Symbol("("))?;
                    let mut list = vec![self.string_literal()?];
                    while self.peek()? == Kind::Symbol(",") {
                        self.advance()?;
                        list.push(self.string_literal()?);
                    }
                    self.expect(Kind::Symbol(")"))?;
                    node1(|operand| Expression::In { operand, list, negated }, left)?
                }
                _ => return Ok(left),
            };
        }
    }

    fn unary_expression(&mut self) -> Parsed {
        self.depth += 1;
        if self.depth > SQL_NESTING_DEPTH_MAX {
            return Err(SqlParseError::TooDeep);
        }
        let parsed = self.unary_inner();
        self.depth -= 1;
        parsed
    }

    fn unary_inner(&mut self) -> Parsed {
        match self.peek()? {
            Kind::Symbol("+") => {
                self.advance()?;
                self.unary_expression()
            }
            Kind::Symbol("-") => {
                self.advance()?;
                let (operand, depth) = self.unary_expression()?;
                Ok(match operand {
                    Expression::Constant(Value::Long(n)) => {
                        (Expression::Constant(Value::Long(n.wrapping_neg())), depth)
                    }
                    Expression::Constant(Value::Double(x)) => (Expression::Constant(Value::Double(-x)), depth),
                    operand => node1(Expression::Negate, (operand, depth))?,
                })
            }
            Kind::Keyword("NOT") => {
                self.advance()?;
                let operand = self.unary_expression()?;
                node1(Expression::Not, boolean(operand)?)
            }
            _ => self.primary_expression(),
        }
    }

    fn primary_expression(&mut self) -> Parsed {
        let constant = |value| Ok((Expression::Constant(value), 1));
        match self.peek()? {
            Kind::Symbol("(") => {
                self.advance()?;
                let inner = self.or_expression()?;
                self.expect(Kind::Symbol(")"))?;
                Ok(inner)
            }
            Kind::Text(_) => constant(Value::Text(self.string_literal()?)),
            Kind::Decimal => {
                let image = self.advance()?.image;
                let digits = image.trim_end_matches(['l', 'L']);
                digits
                    .parse::<i64>()
                    .map_or(Err(SqlParseError::BadNumber(digits.to_owned())), |n| {
                        constant(Value::Long(n))
                    })
            }
            Kind::Float => {
                let image = self.advance()?.image;
                match image.parse::<f64>() {
                    Ok(x) if x.is_finite() => constant(Value::Double(x)),
                    _ => Err(SqlParseError::Invalid(format!(
                        "{image} is greater than 1.7976931348623157E308"
                    ))),
                }
            }
            Kind::Keyword("TRUE") => self.advance().and(constant(Value::Bool(true))),
            Kind::Keyword("FALSE") => self.advance().and(constant(Value::Bool(false))),
            Kind::Keyword("NULL") => self.advance().and(constant(Value::Null)),
            Kind::Id => Ok((Expression::Property(self.advance()?.image), 1)),
            _ => Err(self.unexpected()),
        }
    }

    fn string_literal(&mut self) -> Result<String, SqlParseError> {
        match self.peek()? {
            Kind::Text(value) => {
                self.advance()?;
                Ok(value)
            }
            _ => Err(self.unexpected()),
        }
    }
}

/// JavaCC's `tokenImage` for a token kind.
fn token_image(kind: &Kind) -> String {
    match kind {
        Kind::Eof => "<EOF>".into(),
        Kind::Keyword(word) => format!("\"{word}\""),
        Kind::Symbol(symbol) => format!("\"{symbol}\""),
        Kind::Decimal => "<DECIMAL_LITERAL>".into(),
        Kind::Float => "<FLOATING_POINT_LITERAL>".into(),
        Kind::Text(_) => "<STRING_LITERAL>".into(),
        Kind::Id => "<ID>".into(),
    }
}

fn checked_depth(depth: usize) -> Result<usize, SqlParseError> {
    if depth > SQL_TREE_DEPTH_MAX {
        Err(SqlParseError::TreeTooDeep)
    } else {
        Ok(depth)
    }
}

fn node1(build: impl FnOnce(Box<Expression>) -> Expression, (operand, depth): (Expression, usize)) -> Parsed {
    Ok((build(Box::new(operand)), checked_depth(depth + 1)?))
}

fn node2(
    build: impl FnOnce(Box<Expression>, Box<Expression>) -> Expression,
    (left, left_depth): (Expression, usize),
    (right, right_depth): (Expression, usize),
) -> Parsed {
    let depth = checked_depth(left_depth.max(right_depth) + 1)?;
    Ok((build(Box::new(left), Box::new(right)), depth))
}

/// Java's `BooleanExpression`: what may stand as a condition without a cast.
fn is_boolean(expression: &Expression) -> bool {
    !matches!(
        expression,
        Expression::Property(_)
            | Expression::Negate(_)
            | Expression::Constant(Value::Long(_) | Value::Double(_) | Value::Text(_))
    )
}

/// `asBooleanExpression`: a property is cast, anything else non-boolean is refused.
fn as_boolean(expression: Expression) -> Result<Expression, SqlParseError> {
    Ok(boolean((expression, 1))?.0)
}

fn boolean((expression, depth): (Expression, usize)) -> Parsed {
    match expression {
        Expression::Property(_) => node1(Expression::BooleanCast, (expression, depth)),
        e if is_boolean(&e) => Ok((e, depth)),
        e => Err(SqlParseError::NotBoolean(e.to_string())),
    }
}

/// `checkLessThanOperand` on both sides, then the comparison.
fn ordered(op: CompareOp, left: (Expression, usize), right: (Expression, usize)) -> Parsed {
    for operand in [&left.0, &right.0] {
        let number = matches!(operand, Expression::Constant(Value::Long(_) | Value::Double(_)));
        if !number && (matches!(operand, Expression::Constant(_)) || is_boolean(operand)) {
            return Err(SqlParseError::Invalid(format!("Value '{operand}' cannot be compared.")));
        }
    }
    node2(|l, r| Expression::Compare(op, l, r), left, right)
}

/// `checkEqualOperand` (no NULL constant) and `checkEqualOperandCompatability`.
fn check_equal_operands(left: &Expression, right: &Expression) -> Result<(), SqlParseError> {
    for operand in [left, right] {
        if *operand == Expression::Constant(Value::Null) {
            return Err(SqlParseError::Invalid(format!("'{operand}' cannot be compared.")));
        }
    }
    if let (Expression::Constant(Value::Bool(_)), Expression::Constant(other)) = (left, right)
        && !matches!(other, Value::Bool(_))
    {
        return Err(SqlParseError::Invalid(format!(
            "'{left}' cannot be compared with '{right}'"
        )));
    }
    Ok(())
}

/// `createBetween` (`x >= low AND x <= high`) and `createNotBetween` (`x < low OR x > high`),
/// refusing constant bounds in the wrong order.
fn between(value: (Expression, usize), low: (Expression, usize), high: (Expression, usize), negated: bool) -> Parsed {
    let as_number = |e: &Expression| match e {
        Expression::Constant(Value::Long(n)) => Some(*n as f64),
        Expression::Constant(Value::Double(x)) => Some(*x),
        _ => None,
    };
    if let (Some(l), Some(h)) = (as_number(&low.0), as_number(&high.0))
        && l > h
    {
        return Err(SqlParseError::Invalid(format!(
            "Illegal values of between, left value({}) must less than or equal to right value({})",
            low.0, high.0
        )));
    }
    let copy = (value.0.clone(), value.1);
    if negated {
        let below = ordered(CompareOp::Less, value, low)?;
        let above = ordered(CompareOp::Greater, copy, high)?;
        node2(Expression::Or, below, above)
    } else {
        let from = ordered(CompareOp::GreaterOrEqual, value, low)?;
        let to = ordered(CompareOp::LessOrEqual, copy, high)?;
        node2(Expression::And, from, to)
    }
}

/// Java's `toString` of an expression, as its error messages show it.
impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expression::Constant(Value::Null) => f.write_str("NULL"),
            Expression::Constant(Value::Bool(b)) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Expression::Constant(Value::Long(n)) => write!(f, "{n}"),
            Expression::Constant(Value::Double(x)) => write!(f, "{x:?}"),
            Expression::Constant(Value::Text(text)) => write!(f, "'{}'", text.replace('\'', "''")),
            Expression::Property(name) => f.write_str(name),
            Expression::Negate(operand) => write!(f, "(- {operand})"),
            Expression::Not(operand) => write!(f, "NOT {operand}"),
            Expression::BooleanCast(operand) => write!(f, "{operand}"),
            Expression::And(l, r) => write!(f, "({l} AND {r})"),
            Expression::Or(l, r) => write!(f, "({l} OR {r})"),
            Expression::Compare(op, l, r) => {
                let symbol = match op {
                    CompareOp::Equal => "==",
                    CompareOp::NotEqual => "<>",
                    CompareOp::Greater => ">",
                    CompareOp::GreaterOrEqual => ">=",
                    CompareOp::Less => "<",
                    CompareOp::LessOrEqual => "<=",
                };
                write!(f, "({l} {symbol} {r})")
            }
            Expression::IsNull { operand, negated } => {
                write!(f, "({operand} IS {}NULL)", if *negated { "NOT " } else { "" })
            }
            Expression::In { operand, list, negated } => {
                let quoted: Vec<String> = list.iter().map(|t| format!("'{}'", t.replace('\'', "''"))).collect();
                write!(
                    f,
                    "{operand} {}IN ({})",
                    if *negated { "NOT " } else { "" },
                    quoted.join(", ")
                )
            }
            Expression::Text {
                op,
                operand,
                literal,
                negated,
            } => {
                let word = match op {
                    TextOp::Contains => "CONTAINS",
                    TextOp::StartsWith => "STARTSWITH",
                    TextOp::EndsWith => "ENDSWITH",
                };
                let not = if *negated { "NOT " } else { "" };
                write!(f, "({operand} {not}{word} '{}')", literal.replace('\'', "''"))
            }
        }
    }
}
