//! Tag hash codes and tag subscription expressions.
//!
//! The consume queue stores `TAGS.hashCode()` per message and the broker filters a tag
//! subscription by membership of that code in `SubscriptionData.codeSet`, so both must be Java's
//! `String.hashCode`: `h = 31*h + unit` over UTF-16 code units, wrapping `i32`, starting at 0. The
//! consume-queue field is a `long`, the sign-extended hash. A subscription expression is
//! `"*"` (or empty) for everything, else tags joined by `"||"` (`FilterAPI.buildSubscriptionData`).

/// The expression that subscribes to every tag (`SubscriptionData.SUB_ALL`).
pub const SUBSCRIBE_ALL: &str = "*";
/// Separates tags in a subscription expression.
pub const TAG_EXPRESSION_SEPARATOR: &str = "||";

/// Java's `String.hashCode()`.
pub fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16()
        .fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The consume-queue tags code of a message's `TAGS` value; an empty tag gives 0
/// (`MessageExtBrokerInner.tagsString2tagsCode`).
pub fn tags_code(tags: &str) -> i64 {
    i64::from(java_string_hash(tags))
}

/// A parsed tag subscription expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagExpression {
    /// `"*"` or empty: every message matches.
    All,
    /// These tags only, trimmed, without empties or duplicates, in first-seen order. May be empty
    /// (e.g. `"||"`), in which case nothing matches, as in Java.
    Tags(Vec<String>),
}

impl TagExpression {
    /// Parses an expression with Java's rules: split on `"||"`, trim each part the way Java's
    /// `String.trim` does (every char up to U+0020), drop empty parts.
    pub fn parse(expression: &str) -> TagExpression {
        if expression.is_empty() || expression == SUBSCRIBE_ALL {
            return TagExpression::All;
        }
        let mut tags: Vec<String> = Vec::new();
        for part in expression.split(TAG_EXPRESSION_SEPARATOR) {
            let tag = part.trim_matches(|c: char| c <= ' ');
            if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        TagExpression::Tags(tags)
    }

    /// `SubscriptionData.codeSet`: the distinct hash codes of the tags. Empty for [`TagExpression::All`].
    pub fn codes(&self) -> Vec<i32> {
        let mut codes = Vec::new();
        if let TagExpression::Tags(tags) = self {
            for code in tags.iter().map(|tag| java_string_hash(tag)) {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
        }
        codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_examples() {
        assert_eq!(java_string_hash("TagA"), 2598919);
        assert_eq!(tags_code("TagA"), 2598919);
        assert_eq!(tags_code(""), 0);
        // Values below checked against Java's String.hashCode.
        assert_eq!(java_string_hash("hello"), 99162322);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(tags_code("polygenelubricants"), -2147483648);
        // A non-BMP char is two UTF-16 units: 0xD83D, 0xDE00.
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
        assert_eq!(java_string_hash("é"), 0xE9);
    }

    #[test]
    fn parses_subscription_expressions() {
        assert_eq!(TagExpression::parse(""), TagExpression::All);
        assert_eq!(TagExpression::parse("*"), TagExpression::All);
        assert_eq!(TagExpression::parse(" * "), TagExpression::Tags(vec!["*".to_owned()]));
        let expression = TagExpression::parse(" TagA || TagB||||TagA|||c\t");
        assert_eq!(
            expression,
            TagExpression::Tags(vec!["TagA".to_owned(), "TagB".to_owned(), "|c".to_owned()])
        );
        assert_eq!(expression.codes()[0], 2598919);
        assert_eq!(TagExpression::parse("||"), TagExpression::Tags(vec![]));
        assert!(TagExpression::All.codes().is_empty());
    }
}
