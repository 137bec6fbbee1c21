//! The name server's error: every way a request can fail, and the one function that turns a
//! failure into the response code and remark a Java peer expects.
//!
//! Java's name server mostly fails by throwing (a missing `@CFNotNull` header field surfaces as a
//! `NullPointerException`), which its transport answers with `SYSTEM_ERROR`. We name the cause in
//! the remark instead. Where Java answers with a specific code and text (`TOPIC_NOT_EXIST`,
//! `QUERY_NOT_FOUND`, "crc32 not match", "disable", ...), the variant reproduces it exactly.

use std::fmt;

use ferrocket_wire::{RemotingCommand, ResponseCode, WireError};
use thiserror::Error;

/// Java's FAQ hint, appended to "no route" remarks (`FAQUrl.suggestTodo(APPLY_TOPIC_URL)`).
const FAQ_SUGGESTION: &str = "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

/// A topic longer than this is cut in a remark: the remark of a 16 MiB topic name would not fit
/// in a response frame, and the prefix identifies it well enough.
const REMARK_TOPIC_CHARS_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NamesrvError {
    /// A header field is missing or malformed, a body does not decode, or properties text
    /// (UPDATE_NAMESRV_CONFIG) is malformed.
    #[error(transparent)]
    Wire(#[from] WireError),

    /// REGISTER_BROKER's `bodyCrc32` differs from the body's CRC.
    #[error("crc32 not match")]
    CrcMismatch { declared: i32, actual: i32 },

    /// A one-topic REGISTER_BROKER from a broker id not yet registered: Java insists that
    /// single-topic registrations follow a full one.
    #[error("register broker failed")]
    RegisterBeforeFullRegistration { broker_name: String, broker_id: i64 },

    #[error("No topic route info in name server for the topic: {topic}")]
    TopicNotExist { topic: String },

    #[error("No config item, Namespace: {namespace} Key: {key}")]
    KvNotFound { namespace: String, key: String },

    #[error("No config item, Namespace: {namespace}")]
    KvNamespaceNotFound { namespace: String },

    /// PUT_KV_CONFIG without a namespace or key.
    #[error("namespace or key is null")]
    KvNamespaceOrKeyMissing,

    /// A topic-list request while `enableAllTopicList` / `enableTopicList` is off.
    #[error("disable")]
    Disabled,

    /// GET_ROUTEINFO_BY_TOPIC during the start-up grace period of `needWaitForService`.
    #[error("name server not ready")]
    NotReady,

    /// UPDATE_NAMESRV_CONFIG naming a key outside the runtime allowlist.
    #[error("Can not update config in black list.")]
    ConfigKeyDenied { key: String },

    /// A config value that does not parse as its setting's type or range.
    #[error("bad value for config {key}: {value:?} ({expected})")]
    ConfigBadValue {
        key: String,
        value: String,
        expected: String,
    },

    /// A name or address longer than the table accepts.
    #[error("{what} is {length} long; the limit is {limit}")]
    TooLong {
        what: &'static str,
        length: usize,
        limit: Limit,
    },

    /// A bounded table is full.
    #[error("too many {what}: the limit is {limit}")]
    TableFull { what: &'static str, limit: Limit },

    /// A registration would have one broker serve more topics than the name server keeps.
    #[error(
        "register broker failed: broker {broker_name} would serve {topics} topics; the name server's limit (TOPICS_PER_BROKER_MAX) is {limit}"
    )]
    TooManyTopicsForBroker {
        broker_name: String,
        topics: usize,
        limit: usize,
    },

    /// A registration would make the route table's queue data cost more than its budget.
    #[error(
        "register broker failed: the route table would hold {bytes} bytes of queue data; the name server's limit (ROUTE_TABLE_BYTES_MAX) is {limit}"
    )]
    RouteTableFull { bytes: usize, limit: usize },

    /// A code the name server does not serve; the text is Java's, leading space included.
    #[error(" request type {code} not supported")]
    RequestCodeNotSupported { code: i32 },

    /// The request queue of the name server is full.
    #[error("[OVERLOAD]system busy, start flow control for a while")]
    Overloaded,

    /// The name server is stopping and no longer takes requests.
    #[error("name server is shutting down")]
    ShuttingDown,
}

pub type NamesrvResult<T> = Result<T, NamesrvError>;

/// A limit as docs/limits.md names it, shown in a remark as `NAME = value` so that whoever reads
/// the remark can look the limit up. Built with [`limit!`](crate::limit), which takes the name
/// from the constant itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub value: usize,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.name, self.value)
    }
}

/// `limit!(TOPICS_MAX)`: the [`Limit`] of a `usize` constant in scope, named by the constant.
#[macro_export]
macro_rules! limit {
    ($constant:ident) => {
        $crate::error::Limit {
            name: stringify!($constant),
            value: $constant,
        }
    };
}

impl NamesrvError {
    /// The response code Java would send for this failure.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            NamesrvError::TopicNotExist { .. } => ResponseCode::TOPIC_NOT_EXIST,
            NamesrvError::KvNotFound { .. } | NamesrvError::KvNamespaceNotFound { .. } => ResponseCode::QUERY_NOT_FOUND,
            NamesrvError::ConfigKeyDenied { .. } => ResponseCode::NO_PERMISSION,
            NamesrvError::Overloaded => ResponseCode::SYSTEM_BUSY,
            NamesrvError::RequestCodeNotSupported { .. } => ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            NamesrvError::Wire(_)
            | NamesrvError::CrcMismatch { .. }
            | NamesrvError::RegisterBeforeFullRegistration { .. }
            | NamesrvError::KvNamespaceOrKeyMissing
            | NamesrvError::Disabled
            | NamesrvError::NotReady
            | NamesrvError::ConfigBadValue { .. }
            | NamesrvError::TooLong { .. }
            | NamesrvError::TableFull { .. }
            | NamesrvError::TooManyTopicsForBroker { .. }
            | NamesrvError::RouteTableFull { .. }
            | NamesrvError::ShuttingDown => ResponseCode::SYSTEM_ERROR,
        }
    }

    /// The remark Java would send, or our description where Java would only have thrown.
    pub fn remark(&self) -> String {
        match self {
            NamesrvError::TopicNotExist { topic } => {
                format!(
                    "No topic route info in name server for the topic: {}{FAQ_SUGGESTION}",
                    cut_for_remark(topic)
                )
            }
            other => other.to_string(),
        }
    }
}

/// The response to `request` for `error`: the one place failures become codes and remarks.
pub fn error_response(request: &RemotingCommand, error: &NamesrvError) -> RemotingCommand {
    RemotingCommand::response_to(request, error.response_code(), Some(error.remark()))
}

fn cut_for_remark(topic: &str) -> String {
    match topic.char_indices().nth(REMARK_TOPIC_CHARS_MAX) {
        Some((cut, _)) => format!("{}...", topic.get(..cut).unwrap_or_default()),
        None => topic.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_wire::RequestCode;

    fn response_for(error: NamesrvError) -> RemotingCommand {
        let mut request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC);
        request.opaque = 9;
        error_response(&request, &error)
    }

    #[test]
    fn javas_codes_and_remarks() {
        let route = response_for(NamesrvError::TopicNotExist { topic: "T".into() });
        assert_eq!((route.code, route.opaque), (17, 9));
        assert_eq!(
            route.remark.as_deref(),
            Some(
                "No topic route info in name server for the topic: T\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
            )
        );
        let kv = response_for(NamesrvError::KvNotFound {
            namespace: "ns".into(),
            key: "k".into(),
        });
        assert_eq!(
            (kv.code, kv.remark.as_deref()),
            (22, Some("No config item, Namespace: ns Key: k"))
        );
        let denied = response_for(NamesrvError::ConfigKeyDenied {
            key: "kvConfigPath".into(),
        });
        assert_eq!(
            (denied.code, denied.remark.as_deref()),
            (16, Some("Can not update config in black list."))
        );
        let crc = response_for(NamesrvError::CrcMismatch { declared: 1, actual: 2 });
        assert_eq!((crc.code, crc.remark.as_deref()), (1, Some("crc32 not match")));
        let busy = response_for(NamesrvError::Overloaded);
        assert_eq!(busy.code, 2);
        assert_eq!(
            busy.remark.as_deref(),
            Some("[OVERLOAD]system busy, start flow control for a while")
        );
        let missing = response_for(NamesrvError::Wire(WireError::MissingField { field: "topic" }));
        assert_eq!(
            (missing.code, missing.remark.as_deref()),
            (1, Some("missing required header field `topic`"))
        );
    }

    #[test]
    fn limit_remarks_name_the_constant_and_its_value() {
        use crate::kv_config::KV_ENTRIES_MAX;
        use crate::route_table::TOPIC_NAME_CHARS_MAX;
        let full = response_for(NamesrvError::TableFull {
            what: "KV config entries",
            limit: crate::limit!(KV_ENTRIES_MAX),
        });
        assert_eq!(
            (full.code, full.remark.as_deref()),
            (
                1,
                Some("too many KV config entries: the limit is KV_ENTRIES_MAX = 100000")
            )
        );
        let long = response_for(NamesrvError::TooLong {
            what: "topic",
            length: 300,
            limit: crate::limit!(TOPIC_NAME_CHARS_MAX),
        });
        assert_eq!(
            (long.code, long.remark.as_deref()),
            (1, Some("topic is 300 long; the limit is TOPIC_NAME_CHARS_MAX = 255"))
        );
    }

    #[test]
    fn huge_topics_are_cut_in_remarks() {
        let topic = "é".repeat(10_000);
        let remark = NamesrvError::TopicNotExist { topic }.remark();
        assert!(remark.contains(&format!("{}...\n", "é".repeat(REMARK_TOPIC_CHARS_MAX))));
        assert!(remark.chars().count() < 500);
    }
}
