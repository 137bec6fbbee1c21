//! Pieces of Java's remarks that take more than a format string: the store's cause, and
//! `TopicConfig.toString()`.

use ferrocket_store::StoreError;
use ferrocket_wire::body::{TopicConfig, TopicFilterType};
use ferrocket_wire::permissions::perm_text;

/// What the SERVICE_NOT_AVAILABLE remark says about the store's error.
pub(super) fn cause_text(cause: &Option<StoreError>) -> String {
    cause.as_ref().map_or_else(|| "unknown".to_owned(), ToString::to_string)
}

/// Java's `TopicConfig.toString()`, as the send queue-id remark embeds it.
pub(super) fn topic_config_text(config: &TopicConfig) -> String {
    let attributes = config
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}, attributes={{{attributes}}}]",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        perm_text(config.perm),
        filter_type_name(&config.topic_filter_type),
        config.topic_sys_flag,
        config.order
    )
}

fn filter_type_name(filter_type: &TopicFilterType) -> &str {
    match filter_type {
        TopicFilterType::SingleTag => "SINGLE_TAG",
        TopicFilterType::MultiTag => "MULTI_TAG",
        TopicFilterType::Unknown(name) => name,
    }
}
