//! How one header value is written and read: Java's `toString()` out, Java's parsers in.
//!
//! Reading follows `RemotingCommand.decodeCommandCustomHeaderDirectly`: `Integer.parseInt` and
//! `Long.parseLong` (decimal, an optional `+` or `-`, nothing else; out of range fails),
//! `Boolean.parseBoolean` (case-insensitive `"true"` is true, *anything* else is false, never an
//! error), enums by their own lookup. Where Java only logs a parse failure and leaves the field
//! null, we report [`WireError::BadField`]: the request is malformed either way.
//! One known difference: Java's integer parsers also accept non-ASCII Unicode digits; we do not.

use crate::error::{WireError, WireResult};

/// A type a header field can have.
pub trait FieldValue: Sized {
    /// Parses the text of header key `field` as Java would.
    fn parse_field(field: &'static str, text: &str) -> WireResult<Self>;

    /// The text Java's `toString()` writes.
    fn render(&self) -> String;
}

impl FieldValue for String {
    fn parse_field(_field: &'static str, text: &str) -> WireResult<String> {
        Ok(text.to_owned())
    }

    fn render(&self) -> String {
        self.clone()
    }
}

impl FieldValue for i32 {
    fn parse_field(field: &'static str, text: &str) -> WireResult<i32> {
        text.parse().map_err(|_| bad_field(field, text))
    }

    fn render(&self) -> String {
        self.to_string()
    }
}

impl FieldValue for i64 {
    fn parse_field(field: &'static str, text: &str) -> WireResult<i64> {
        text.parse().map_err(|_| bad_field(field, text))
    }

    fn render(&self) -> String {
        self.to_string()
    }
}

impl FieldValue for bool {
    fn parse_field(_field: &'static str, text: &str) -> WireResult<bool> {
        Ok(text.eq_ignore_ascii_case("true"))
    }

    fn render(&self) -> String {
        self.to_string()
    }
}

/// Which end of a run of equal store times SEARCH_OFFSET_BY_TIMESTAMP returns (Java's
/// `org.apache.rocketmq.common.BoundaryType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundaryType {
    #[default]
    Lower,
    Upper,
}

impl FieldValue for BoundaryType {
    /// Java's `BoundaryType.getType`: case-insensitive "upper" is UPPER, anything else LOWER.
    fn parse_field(_field: &'static str, text: &str) -> WireResult<BoundaryType> {
        Ok(match text.eq_ignore_ascii_case("upper") {
            true => BoundaryType::Upper,
            false => BoundaryType::Lower,
        })
    }

    /// The enum constant's name, as `Enum.toString()` gives it.
    fn render(&self) -> String {
        match self {
            BoundaryType::Lower => "LOWER".into(),
            BoundaryType::Upper => "UPPER".into(),
        }
    }
}

fn bad_field(field: &'static str, text: &str) -> WireError {
    WireError::BadField {
        field,
        value: text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_java() {
        assert_eq!(i32::parse_field("f", "42"), Ok(42));
        assert_eq!(i32::parse_field("f", "+42"), Ok(42));
        assert_eq!(i32::parse_field("f", "-0"), Ok(0));
        assert_eq!(i32::parse_field("f", "007"), Ok(7));
        assert_eq!(i32::parse_field("f", "-2147483648"), Ok(i32::MIN));
        assert_eq!(i64::parse_field("f", "2147483648"), Ok(2_147_483_648));
        assert_eq!(i64::parse_field("f", "-9223372036854775808"), Ok(i64::MIN));
        for bad in [
            "",
            "+",
            "-",
            " 1",
            "1 ",
            "1.0",
            "0x10",
            "1e3",
            "2147483648",
            "--1",
            "+-1",
            "١",
        ] {
            assert_eq!(
                i32::parse_field("queueId", bad),
                Err(WireError::BadField {
                    field: "queueId",
                    value: bad.into()
                }),
                "{bad:?}"
            );
        }
        assert!(i64::parse_field("f", "9223372036854775808").is_err());
        assert_eq!((-5i32).render(), "-5");
        assert_eq!(i64::MAX.render(), "9223372036854775807");
    }

    #[test]
    fn booleans_parse_like_java_and_never_fail() {
        for truthy in ["true", "TRUE", "True", "tRuE"] {
            assert_eq!(bool::parse_field("f", truthy), Ok(true), "{truthy:?}");
        }
        for falsy in ["false", "", "1", "yes", " true", "true ", "t", "truee"] {
            assert_eq!(bool::parse_field("f", falsy), Ok(false), "{falsy:?}");
        }
        assert_eq!((true.render(), false.render()), ("true".into(), "false".into()));
    }

    #[test]
    fn boundary_type_reads_like_get_type_and_writes_the_constant_name() {
        assert_eq!(BoundaryType::parse_field("b", "UPPER"), Ok(BoundaryType::Upper));
        assert_eq!(BoundaryType::parse_field("b", "upper"), Ok(BoundaryType::Upper));
        assert_eq!(BoundaryType::parse_field("b", "LOWER"), Ok(BoundaryType::Lower));
        assert_eq!(BoundaryType::parse_field("b", "sideways"), Ok(BoundaryType::Lower));
        assert_eq!(BoundaryType::Upper.render(), "UPPER");
        assert_eq!(BoundaryType::Lower.render(), "LOWER");
    }

    #[test]
    fn strings_are_taken_verbatim() {
        assert_eq!(String::parse_field("f", " a\u{1}b "), Ok(" a\u{1}b ".to_owned()));
        assert_eq!(String::parse_field("f", ""), Ok(String::new()));
    }
}
