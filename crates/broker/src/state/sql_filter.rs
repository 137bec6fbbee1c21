//! SQL92 property filters (`MessageSelector.bySql`): an expression compiled once into an
//! [`Expression`] tree and evaluated over a message's properties, with Java 5.3.3's rules
//! (`org.apache.rocketmq.filter`: `SelectorParser.jj`, `ComparisonExpression`,
//! `LogicExpression`, `UnaryExpression`, `ExpressionMessageFilter`).
//!
//! Evaluation is SQL's three-valued logic: a missing property is null, a comparison with null is
//! null, and only a `true` result lets a message through. Properties are text; a comparison with a
//! number converts the text (`Long.valueOf` / `Double.valueOf`), and a text that does not convert
//! makes the whole evaluation fail, which Java's filter reads as "no match". Ordering operators
//! refuse two texts at run time and text or boolean constants at compile time.
//!
//! The grammar is a dozen productions, so the parser ([`parse`]) is hand-written recursive
//! descent: a parser-generator crate would not reproduce JavaCC's quirks (a lazy lexer that stops
//! at the first complete expression, keywords case-insensitive but property names not) any more
//! simply, and would add a dependency for forty lines of grammar. Bounded: the text by
//! [`SQL_EXPRESSION_BYTES_MAX`], nesting by [`SQL_NESTING_DEPTH_MAX`], the tree by
//! [`SQL_TREE_DEPTH_MAX`].

mod parse;

use std::cmp::Ordering;

pub use parse::{SQL_EXPRESSION_BYTES_MAX, SQL_NESTING_DEPTH_MAX, SQL_TREE_DEPTH_MAX, SqlParseError, parse};

/// A constant or a value met during evaluation (`null` is [`Value::Null`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Text(String),
}

/// `=`, `<>`, `>`, `>=`, `<`, `<=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

/// 5.x's `CONTAINS`, `STARTSWITH`, `ENDSWITH` (each with `NOT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// A compiled selector. `BETWEEN` is kept as Java builds it: two comparisons joined by AND/OR.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    Constant(Value),
    Property(String),
    /// Unary minus: numbers only; anything else is null.
    Negate(Box<Expression>),
    Not(Box<Expression>),
    /// A bare property used as a condition: its value if boolean, null if missing, else false.
    BooleanCast(Box<Expression>),
    And(Box<Expression>, Box<Expression>),
    Or(Box<Expression>, Box<Expression>),
    Compare(CompareOp, Box<Expression>, Box<Expression>),
    IsNull {
        operand: Box<Expression>,
        negated: bool,
    },
    In {
        operand: Box<Expression>,
        list: Vec<String>,
        negated: bool,
    },
    Text {
        op: TextOp,
        operand: Box<Expression>,
        literal: String,
        negated: bool,
    },
}

/// Why an evaluation failed; Java's filter catches it and does not deliver the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlEvalError {
    #[error("For input string: \"{text}\"")]
    NotANumber { text: String },
    #[error("It's illegal to compare string by '>=', '>', '<', '<='. lv={left}, rv={right}")]
    OrderedTexts { left: String, right: String },
    #[error("a logical operator met a non-boolean value")]
    NotBoolean,
    #[error("a boolean compared with a text")]
    BooleanWithText,
}

impl Expression {
    /// Whether a message with these properties passes: only a `true` result does.
    pub fn matches<'a>(&self, property: &impl Fn(&str) -> Option<&'a str>) -> bool {
        matches!(self.evaluate(property), Ok(Value::Bool(true)))
    }

    /// Java's `evaluate`, null and errors included.
    pub fn evaluate<'a>(&self, property: &impl Fn(&str) -> Option<&'a str>) -> Result<Value, SqlEvalError> {
        Ok(match self {
            Expression::Constant(value) => value.clone(),
            Expression::Property(name) => property(name).map_or(Value::Null, |text| Value::Text(text.to_owned())),
            Expression::Negate(operand) => match operand.evaluate(property)? {
                Value::Long(n) => Value::Long(n.wrapping_neg()),
                Value::Double(x) => Value::Double(-x),
                _ => Value::Null,
            },
            Expression::Not(operand) => match truth(operand.evaluate(property)?)? {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            Expression::BooleanCast(operand) => match operand.evaluate(property)? {
                Value::Null => Value::Null,
                Value::Bool(b) => Value::Bool(b),
                _ => Value::Bool(false),
            },
            Expression::And(left, right) => {
                let left = truth(left.evaluate(property)?)?;
                if left == Some(false) {
                    return Ok(Value::Bool(false));
                }
                match (left, truth(right.evaluate(property)?)?) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            Expression::Or(left, right) => {
                let left = truth(left.evaluate(property)?)?;
                if left == Some(true) {
                    return Ok(Value::Bool(true));
                }
                match (left, truth(right.evaluate(property)?)?) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            Expression::Compare(op, left, right) => compare(*op, left.evaluate(property)?, right.evaluate(property)?)?,
            Expression::IsNull { operand, negated } => {
                Value::Bool((operand.evaluate(property)? == Value::Null) != *negated)
            }
            Expression::In { operand, list, negated } => match operand.evaluate(property)? {
                Value::Text(text) => Value::Bool(list.contains(&text) != *negated),
                _ => Value::Null,
            },
            Expression::Text {
                op,
                operand,
                literal,
                negated,
            } => match operand.evaluate(property)? {
                // Java answers false (not null) for a missing property and for an empty literal,
                // with or without NOT.
                Value::Text(text) if !literal.is_empty() => {
                    let found = match op {
                        TextOp::Contains => text.contains(literal.as_str()),
                        TextOp::StartsWith => text.starts_with(literal.as_str()),
                        TextOp::EndsWith => text.ends_with(literal.as_str()),
                    };
                    Value::Bool(found != *negated)
                }
                _ => Value::Bool(false),
            },
        })
    }
}

/// A logical operand: a boolean or null.
fn truth(value: Value) -> Result<Option<bool>, SqlEvalError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        _ => Err(SqlEvalError::NotBoolean),
    }
}

/// `ComparisonExpression`: equality first (null-aware), then ordering after Java's conversions.
fn compare(op: CompareOp, left: Value, right: Value) -> Result<Value, SqlEvalError> {
    let equality = matches!(op, CompareOp::Equal | CompareOp::NotEqual);
    if equality {
        let equal = match (&left, &right) {
            (Value::Null, Value::Null) => Value::Bool(true),
            (Value::Null, _) => Value::Null,
            (_, Value::Null) => Value::Bool(false),
            _ => match ordering(&left, &right, false)? {
                Some(order) => Value::Bool(order == Ordering::Equal),
                None => Value::Bool(false),
            },
        };
        return Ok(match (op, equal) {
            (CompareOp::NotEqual, Value::Bool(b)) => Value::Bool(!b),
            (_, equal) => equal,
        });
    }
    if left == Value::Null || right == Value::Null {
        return Ok(Value::Null);
    }
    let Some(order) = ordering(&left, &right, true)? else {
        return Ok(Value::Bool(false));
    };
    Ok(Value::Bool(match op {
        CompareOp::Greater => order == Ordering::Greater,
        CompareOp::GreaterOrEqual => order != Ordering::Less,
        CompareOp::Less => order == Ordering::Less,
        _ => order != Ordering::Greater,
    }))
}

/// Java's `compare`: `None` where Java answers false without comparing (unrelated types).
fn ordering(left: &Value, right: &Value, ordered: bool) -> Result<Option<Ordering>, SqlEvalError> {
    use Value::*;
    Ok(Some(match (left, right) {
        (Long(a), Long(b)) => a.cmp(b),
        (Double(a), Double(b)) => java_double_cmp(*a, *b),
        (Long(a), Double(b)) => java_double_cmp(*a as f64, *b),
        (Double(a), Long(b)) => java_double_cmp(*a, *b as f64),
        (Text(a), Long(b)) => java_integer(a, *b)?.cmp(b),
        (Long(a), Text(b)) => a.cmp(&java_integer(b, *a)?),
        (Text(a), Double(b)) => java_double_cmp(java_double(a)?, *b),
        (Double(a), Text(b)) => java_double_cmp(*a, java_double(b)?),
        (Text(a), Text(b)) if ordered => {
            return Err(SqlEvalError::OrderedTexts {
                left: a.clone(),
                right: b.clone(),
            });
        }
        (Text(a), Text(b)) => a.encode_utf16().cmp(b.encode_utf16()),
        (Bool(a), Bool(b)) => a.cmp(b),
        (Text(a), Bool(b)) => a.eq_ignore_ascii_case("true").cmp(b),
        // Java casts the right side to `String` here and fails.
        (Bool(_), Text(_)) => return Err(SqlEvalError::BooleanWithText),
        _ => return Ok(None),
    }))
}

/// `Double.compareTo`: -0.0 below 0.0, NaN above everything and equal to itself.
fn java_double_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.total_cmp(&b),
    }
}

/// `Integer.valueOf` or `Long.valueOf`, as the constant is: Java keeps a literal that fits 32
/// bits as an `Integer` and converts the property to that type. An optional sign and ASCII
/// digits, nothing else (no spaces).
fn java_integer(text: &str, constant: i64) -> Result<i64, SqlEvalError> {
    let not_a_number = || SqlEvalError::NotANumber { text: text.to_owned() };
    if i32::try_from(constant).is_ok() {
        text.parse::<i32>().map(i64::from).map_err(|_| not_a_number())
    } else {
        text.parse::<i64>().map_err(|_| not_a_number())
    }
}

/// `Double.valueOf`: surrounding control characters and spaces trimmed, an optional `d`/`f`
/// suffix, `NaN` and `Infinity` spelled as Java spells them (hexadecimal floats are not taken).
fn java_double(text: &str) -> Result<f64, SqlEvalError> {
    let not_a_number = || SqlEvalError::NotANumber { text: text.to_owned() };
    let trimmed = text.trim_matches(|c: char| c <= ' ');
    let unsigned = trimmed.trim_start_matches(['+', '-']);
    if unsigned.len() + 1 < trimmed.len() {
        return Err(not_a_number());
    }
    match unsigned {
        "NaN" if unsigned.len() == trimmed.len() => return Ok(f64::NAN),
        "Infinity" => {
            return Ok(if trimmed.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        _ => {}
    }
    let number = trimmed.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(trimmed);
    let plain = number
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !plain || !number.bytes().any(|b| b.is_ascii_digit()) {
        return Err(not_a_number());
    }
    number.parse::<f64>().map_err(|_| not_a_number())
}

#[cfg(test)]
mod tests;
