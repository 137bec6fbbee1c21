//! What a subscription lets through: a tag expression, or an SQL92 expression over the
//! message's properties (evaluated by the broker, which must run with `enablePropertyFilter=true`).
//!
//! Java's `FilterAPI.build`: a tag subscription carries its tags and their `String.hashCode`s
//! (the broker filters by hash, the client re-checks the tag itself); an SQL92 one carries only
//! its expression.

use ferrocket_wire::body::SubscriptionData;
use ferrocket_wire::message::tag_hash::TagExpression;

use crate::clock;

/// A subscription's filter.
///
/// ```
/// use ferrocket_client::Filter;
///
/// assert_eq!(Filter::tags("paid || refunded").expression_type(), "TAG");
/// assert_eq!(Filter::sql92("amount > 100 AND region = 'eu'").expression_type(), "SQL92");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `"*"` for everything, else tags joined by `"||"`.
    Tag(String),
    /// An SQL92 condition on user properties (and `TAGS`).
    Sql92(String),
}

impl Filter {
    /// Every message.
    pub fn all() -> Filter {
        Filter::Tag("*".into())
    }

    /// A tag expression.
    pub fn tags(expression: impl Into<String>) -> Filter {
        Filter::Tag(expression.into())
    }

    /// An SQL92 expression.
    pub fn sql92(expression: impl Into<String>) -> Filter {
        Filter::Sql92(expression.into())
    }

    /// The expression as sent.
    pub fn expression(&self) -> &str {
        match self {
            Filter::Tag(expression) | Filter::Sql92(expression) => expression,
        }
    }

    /// `TAG` or `SQL92`, Java's `ExpressionType` names.
    pub fn expression_type(&self) -> &'static str {
        match self {
            Filter::Tag(_) => "TAG",
            Filter::Sql92(_) => "SQL92",
        }
    }

    /// Whether a message with `tags` passes the client's own check (SQL92 is the broker's alone).
    pub(crate) fn admits(&self, tags: Option<&str>) -> bool {
        match self {
            Filter::Sql92(_) => true,
            Filter::Tag(expression) => match TagExpression::parse(expression) {
                TagExpression::All => true,
                TagExpression::Tags(wanted) => tags.is_some_and(|tag| wanted.iter().any(|w| w == tag)),
            },
        }
    }

    /// The heartbeat's `SubscriptionData` for `topic`.
    pub(crate) fn subscription_data(&self, topic: &str) -> SubscriptionData {
        let base = SubscriptionData {
            expression_type: self.expression_type().into(),
            sub_version: clock::now_ms(),
            topic: topic.to_owned(),
            ..SubscriptionData::default()
        };
        match self {
            Filter::Sql92(expression) => SubscriptionData {
                sub_string: expression.clone(),
                ..base
            },
            Filter::Tag(expression) => {
                let parsed = TagExpression::parse(expression);
                let (sub_string, tags_set) = match &parsed {
                    TagExpression::All => ("*".to_owned(), Vec::new()),
                    TagExpression::Tags(tags) => (expression.clone(), tags.clone()),
                };
                SubscriptionData {
                    code_set: parsed.codes(),
                    sub_string,
                    tags_set,
                    ..base
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_side_check_matches_javas() {
        assert!(Filter::all().admits(None));
        assert!(Filter::tags("a || b").admits(Some("b")));
        assert!(!Filter::tags("a || b").admits(Some("c")));
        assert!(!Filter::tags("a").admits(None));
        assert!(Filter::sql92("x > 1").admits(None));
    }

    #[test]
    fn subscription_data_is_javas_filter_api_build() {
        let tags = Filter::tags("a || b").subscription_data("T");
        assert_eq!((tags.tags_set.len(), tags.code_set.len()), (2, 2));
        assert_eq!(tags.expression_type, "TAG");
        let sql = Filter::sql92("x > 1").subscription_data("T");
        assert_eq!(
            (sql.sub_string.as_str(), sql.expression_type.as_str()),
            ("x > 1", "SQL92")
        );
        assert!(sql.code_set.is_empty());
        assert_eq!(Filter::all().subscription_data("T").sub_string, "*");
    }
}
