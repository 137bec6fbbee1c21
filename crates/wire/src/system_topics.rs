//! Topic names with a meaning in RocketMQ (Java's `TopicValidator` and `MixAll`): the system
//! topics a broker creates at start-up, the topics a client may never send to, and the prefixes
//! that derive a topic from a consumer group (`%RETRY%group`, `%DLQ%group`) or mark a system
//! topic (`rmq_sys_…`). Clients, the name server, the broker and the store all recognise these by
//! name, so each is spelled once, here.

/// `TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`: the template a topic created on send copies.
pub const AUTO_CREATE_TOPIC: &str = "TBW102";
/// `TopicValidator.RMQ_SYS_SELF_TEST_TOPIC`.
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// `TopicValidator.RMQ_SYS_BENCHMARK_TOPIC`.
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// `TopicValidator.RMQ_SYS_OFFSET_MOVED_EVENT`.
pub const OFFSET_MOVED_EVENT_TOPIC: &str = "OFFSET_MOVED_EVENT";
/// `TopicValidator.RMQ_SYS_SCHEDULE_TOPIC`: delayed messages wait here, one queue per level.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Reserved as a system topic beside [`SCHEDULE_TOPIC`]; never created.
pub const SCHEDULE_TOPIC_V2: &str = "SCHEDULE_TOPIC_XXXX_V2";
/// `TopicValidator.RMQ_SYS_TRACE_TOPIC`: the default `msgTraceTopicName`.
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// `TopicValidator.RMQ_SYS_TRANS_HALF_TOPIC`: prepared transactional messages.
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// `TopicValidator.RMQ_SYS_TRANS_OP_HALF_TOPIC`: commit and rollback marks of half messages.
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// `TopicValidator.RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC`: half messages checked too often.
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";

/// `TimerMessageStore.TIMER_TOPIC`: timer messages (5.x arbitrary delivery time) wait here, one
/// queue, created at start-up while `timerWheelEnable` is on.
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";

/// `TopicValidator.SYSTEM_TOPIC_PREFIX`: a topic named `rmq_sys_…` is a system topic.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
/// `TopicValidator.SYNC_BROKER_MEMBER_GROUP_PREFIX` + broker name: a 5.x broker set's internal
/// topic, whose route the name server never rewrites for an acting master.
pub const SYNC_BROKER_MEMBER_TOPIC_PREFIX: &str = "rmq_sys_SYNC_BROKER_MEMBER_";
/// `PopAckConstants.REVIVE_TOPIC` + cluster name: the 5.x pop revive log.
pub const REVIVE_TOPIC_PREFIX: &str = "rmq_sys_REVIVE_LOG_";
/// Cluster name + `_` + `MixAll.REPLY_TOPIC_POSTFIX`: request-reply answers.
pub const REPLY_TOPIC_POSTFIX: &str = "REPLY_TOPIC";
/// `MixAll.RETRY_GROUP_TOPIC_PREFIX` + group: messages a consumer group handed back.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// `MixAll.DLQ_GROUP_TOPIC_PREFIX` + group: messages a group gave up on.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";

/// `MixAll.getRetryTopic`: `%RETRY%group`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// `MixAll.getDLQTopic`: `%DLQ%group`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_topics_are_prefixed_with_javas_markers() {
        assert_eq!(retry_topic("cg"), "%RETRY%cg");
        assert_eq!(dlq_topic("cg"), "%DLQ%cg");
        assert_eq!(retry_topic(""), RETRY_GROUP_TOPIC_PREFIX);
    }

    #[test]
    fn internal_prefixes_are_system_topic_names() {
        for prefix in [SYNC_BROKER_MEMBER_TOPIC_PREFIX, REVIVE_TOPIC_PREFIX] {
            assert!(prefix.starts_with(SYSTEM_TOPIC_PREFIX), "{prefix}");
        }
    }
}
