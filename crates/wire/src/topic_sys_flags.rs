//! Java's `TopicSysFlag`: the `topicSysFlag` bits of a topic (`TopicConfig`, `QueueData`), which
//! mark the unit topics of Alibaba's unit deployments. RocketMQ only stores and filters on them:
//! the name server lists topics by them (GET_UNIT_TOPIC_LIST and friends), and a broker sets
//! `UNIT_SUB` on the retry topic of a consumer in unit mode.
//!
//! ```text
//! bit   1          0
//!       UNIT_SUB   UNIT
//! ```

/// The topic is a unit topic.
pub const TOPIC_SYS_FLAG_UNIT: i32 = 1;
/// The topic has a unit subscription.
pub const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 1 << 1;

/// `TopicSysFlag.buildSysFlag`.
pub fn topic_sys_flag(unit: bool, has_unit_sub: bool) -> i32 {
    let unit = if unit { TOPIC_SYS_FLAG_UNIT } else { 0 };
    let unit_sub = if has_unit_sub { TOPIC_SYS_FLAG_UNIT_SUB } else { 0 };
    unit | unit_sub
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_javas() {
        assert_eq!((TOPIC_SYS_FLAG_UNIT, TOPIC_SYS_FLAG_UNIT_SUB), (1, 2));
        assert_eq!(topic_sys_flag(false, false), 0);
        assert_eq!(topic_sys_flag(true, false), 1);
        assert_eq!(topic_sys_flag(false, true), 2);
        assert_eq!(topic_sys_flag(true, true), 3);
    }
}
