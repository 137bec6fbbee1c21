//! Expected values were produced by Java 5.3.3's `FilterFactory.INSTANCE.get("SQL92").compile`
//! and `evaluate` over the same properties (`null` and exceptions included).

use super::*;

fn props(name: &str) -> Option<&'static str> {
    match name {
        "a" => Some("6"),
        "b" => Some("x"),
        "d" => Some("6.5"),
        "t" => Some("true"),
        "s" => Some("abc"),
        "big" => Some("9999999999"),
        "sp" => Some(" 6 "),
        "pl" => Some("+6"),
        _ => None,
    }
}

/// `Some(Some(b))` true/false, `Some(None)` null, `None` an evaluation error.
fn eval(text: &str) -> Option<Option<bool>> {
    let expression = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    match expression.evaluate(&props) {
        Ok(Value::Bool(b)) => Some(Some(b)),
        Ok(Value::Null) => Some(None),
        Ok(other) => panic!("{text}: {other:?}"),
        Err(_) => None,
    }
}

const T: Option<Option<bool>> = Some(Some(true));
const F: Option<Option<bool>> = Some(Some(false));
const NULL: Option<Option<bool>> = Some(None);
const ERR: Option<Option<bool>> = None;

#[test]
fn evaluation_matches_java() {
    let cases = [
        ("a > 5 AND b = 'x'", T),
        ("a > 5.5", T),
        ("d > 5", ERR),
        ("d > 6.4", T),
        ("d = 6.5", T),
        ("a = 6", T),
        ("a = '6'", T),
        ("b", F),
        ("t", F),
        ("t = TRUE", T),
        ("c > 5", NULL),
        ("c IS NULL", T),
        ("x IS NOT NULL", F),
        ("NOT (c > 5)", NULL),
        ("a BETWEEN 1 AND 10", T),
        ("a NOT BETWEEN 7 AND 10", T),
        ("c NOT BETWEEN 7 AND 10", NULL),
        ("b IN ('x','y')", T),
        ("a IN ('6')", T),
        ("c IN ('6')", NULL),
        ("c NOT IN ('6')", NULL),
        ("a NOT IN ('6')", F),
        ("s STARTSWITH 'ab'", T),
        ("s ENDSWITH 'bc'", T),
        ("s CONTAINS 'b'", T),
        ("s NOT CONTAINS 'b'", F),
        ("s NOT CONTAINS 'z'", T),
        ("c STARTSWITH 'a'", F),
        ("c NOT STARTSWITH 'a'", F),
        ("s STARTSWITH ''", F),
        ("s NOT STARTSWITH ''", F),
        ("5 CONTAINS '5'", F),
        ("NOT (c STARTSWITH 'a')", T),
        ("5 > 3", T),
        ("TRUE", T),
        ("NULL", NULL),
        ("a <> 7", T),
        ("c <> 7", NULL),
        ("7 = c", F),
        ("b <> 'y'", T),
        ("b = 5", ERR),
        ("b <> 5", ERR),
        ("a > b", ERR),
        ("TRUE = a", ERR),
        ("a = TRUE", F),
        ("t = 1", ERR),
        ("-a > -7", NULL),
        ("+a > 5", T),
        ("- 5 < 0", T),
        ("1 = --1", T),
        ("a = 6L", T),
        ("1 = 1.0", T),
        ("c > 5 AND a = 6", NULL),
        ("c > 5 OR a = 6", T),
        ("a = 7 AND c > 5", F),
        ("c > 5 OR a = 7", NULL),
        ("c > 5 AND a = 7", F),
        ("a and TRUE", F),
        ("A = 6", NULL),
        ("NOT NOT TRUE", T),
        ("a = 6)", T),
        ("a = 1.5.2", F),
        ("a = 007", F),
        ("a = 6 -- c\n", T),
        ("a = 6 /* x */", T),
        ("big = 9999999999", T),
        ("big > 5", ERR),
        ("sp = 6", ERR),
        ("sp = 6.0", T),
        ("pl = 6", T),
        ("a > 2147483648", F),
        (".5 < 1", T),
        ("5. = 5", T),
        ("5E1 = 50", T),
        ("a IN ('6') = TRUE", T),
        ("x = 'it''s'", NULL),
        ("'it''s' = 'it''s'", T),
        ("a <> 6 AND b", F),
    ];
    for (text, expected) in cases {
        assert_eq!(eval(text), expected, "{text}");
    }
}

#[test]
fn compile_errors_carry_javas_text() {
    let cases = [
        ("b > 'a'", "java.lang.RuntimeException: Value ''a'' cannot be compared."),
        (
            "a BETWEEN 'a' AND 'z'",
            "java.lang.RuntimeException: Value ''a'' cannot be compared.",
        ),
        ("a = NULL", "java.lang.RuntimeException: 'NULL' cannot be compared."),
        (
            "TRUE = 1",
            "java.lang.RuntimeException: 'TRUE' cannot be compared with '1'",
        ),
        (
            "1 > TRUE",
            "java.lang.RuntimeException: Value 'TRUE' cannot be compared.",
        ),
        (
            "a > 5 > 3",
            "java.lang.RuntimeException: Value '(a > 5)' cannot be compared.",
        ),
        (
            "a BETWEEN 7 AND 1",
            "java.lang.RuntimeException: Illegal values of between, left value(7) must less than or equal to right value(1)",
        ),
        (
            "a > 9999999999999999999",
            "java.lang.NumberFormatException: For input string: \"9999999999999999999\"",
        ),
        (
            "e > 1e400",
            "java.lang.RuntimeException: 1e400 is greater than 1.7976931348623157E308",
        ),
        (
            "a > ",
            "org.apache.rocketmq.filter.parser.ParseException: Encountered \"<EOF>\" at line 1, column 4.",
        ),
        (
            "a > 5 OR",
            "org.apache.rocketmq.filter.parser.ParseException: Encountered \"<EOF>\" at line 1, column 8.",
        ),
        (
            "",
            "org.apache.rocketmq.filter.parser.ParseException: Encountered \"<EOF>\" at line 0, column 0.",
        ),
        (
            "a >> 5",
            "org.apache.rocketmq.filter.parser.ParseException: Encountered \" \">\" \"> \"\" at line 1, column 4.",
        ),
        (
            "a NOT 5",
            "org.apache.rocketmq.filter.parser.ParseException: Encountered \" \"NOT\" \"NOT \"\" at line 1, column 3.",
        ),
        (
            "a IN ('6', 5)",
            "org.apache.rocketmq.filter.parser.ParseException: Encountered \" <DECIMAL_LITERAL> \"5 \"\" at line 1, column 12.",
        ),
        (
            "5",
            "org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 5",
        ),
        (
            "1 = 2 OR 'x'",
            "org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 'x'",
        ),
        (
            "-a",
            "org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: (- a)",
        ),
        (
            "a # 1",
            "org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 3.  Encountered: \"#\" (35), after : \"\"",
        ),
        (
            "a.b = 1",
            "org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 3.  Encountered: \"b\" (98), after : \".\"",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text).map(|_| ()).unwrap_err().to_string(), expected, "{text}");
    }
}

#[test]
fn every_prefix_of_a_valid_expression_is_an_answer_not_a_panic() {
    let valid = [
        "(a > 5 AND b = 'x') OR NOT (c BETWEEN 1.5 AND 2E3) OR d NOT IN ('p', 'q''r') OR e IS NOT NULL",
        "s NOT STARTSWITH 'ab' AND s ENDSWITH 'c' AND s CONTAINS 'é' AND -x <= +7L /* c */ -- e\n",
    ];
    for text in valid {
        assert!(parse(text).is_ok(), "{text}");
        for (cut, _) in text.char_indices() {
            let prefix = &text[..cut];
            if let Ok(expression) = parse(prefix) {
                let _ = expression.matches(&props);
            }
        }
    }
}

#[test]
fn bounds_are_enforced() {
    let long = format!("a = '{}'", "x".repeat(SQL_EXPRESSION_BYTES_MAX));
    assert!(matches!(parse(&long), Err(SqlParseError::TooLong { .. })));
    let deep = format!(
        "{}a = 1{}",
        "(".repeat(SQL_NESTING_DEPTH_MAX + 1),
        ")".repeat(SQL_NESTING_DEPTH_MAX + 1)
    );
    assert_eq!(parse(&deep), Err(SqlParseError::TooDeep));
    let nots = format!("{}TRUE", "NOT ".repeat(SQL_NESTING_DEPTH_MAX + 1));
    assert_eq!(parse(&nots), Err(SqlParseError::TooDeep));
    let chain = vec!["a = 1"; SQL_TREE_DEPTH_MAX + 2].join(" AND ");
    assert_eq!(parse(&chain), Err(SqlParseError::TreeTooDeep));
    let fine = vec!["a = 6"; 300].join(" AND ");
    assert!(parse(&fine).unwrap().matches(&props));
}
