//! Java's validation of a pull (`PullMessageProcessor.processRequest` up to the store read), in
//! Java's order, each refusal a [`BrokerError`] (which knows its code, remark and
//! `forbiddenType`); the tag filter the read applies
//! (`ExpressionMessageFilter.isMatchedByConsumeQueue`); and the SQL92 filter applied to the
//! records read (`isMatchedByCommitLog`).

use std::sync::Arc;

use ferrocket_store::{CommitLogOffset, MessageStore, QueueId, QueueOffset};
use ferrocket_wire::message::record::StoredMessage;

use ferrocket_wire::body::{MessageModel, SubscriptionData, SubscriptionGroupConfig};
use ferrocket_wire::header::PullMessageRequestHeader;
use ferrocket_wire::message::TagExpression;
use ferrocket_wire::permissions::PERM_READ;

use super::FLAG_SUBSCRIPTION;
use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::state::clients::ClientRegistry;
use crate::state::sql_filter::{self, Expression};
use crate::state::subscription_groups::SubscriptionGroupTable;
use crate::state::topics::TopicTable;

/// Which tags a pull lets through: Java's `ExpressionMessageFilter.isMatchedByConsumeQueue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    /// `subString` is `*`.
    pub all: bool,
    pub codes: Vec<i32>,
}

impl TagFilter {
    /// From a subscription a consumer registered by heartbeat.
    pub fn from_subscription(subscription: &SubscriptionData) -> TagFilter {
        TagFilter {
            all: subscription.class_filter_mode || subscription.sub_string == "*",
            codes: subscription.code_set.clone(),
        }
    }

    /// From the request's own expression (`FilterAPI.buildSubscriptionData`).
    pub fn from_expression(expression: Option<&str>) -> TagFilter {
        match TagExpression::parse(expression.unwrap_or("")) {
            TagExpression::All => TagFilter {
                all: true,
                codes: Vec::new(),
            },
            tags => TagFilter {
                all: false,
                codes: tags.codes(),
            },
        }
    }

    /// Whether a consume-queue entry's tags code passes.
    pub fn matches(&self, tags_code: i64) -> bool {
        // Java compares `tagsCode.intValue()`: the low 32 bits.
        self.all || self.codes.contains(&(tags_code as i32))
    }
}

/// What [`check`] hands to the read: the filters and the flags the response carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub filter: TagFilter,
    /// An SQL92 subscription's compiled expression; the tag filter then lets everything through.
    pub sql: Option<Arc<Expression>>,
    pub topic_sys_flag: i32,
    pub group_sys_flag: i32,
    /// The group's `brokerId`: where it reads when it keeps up (with `slaveReadEnable`).
    pub group_broker_id: i64,
    /// The group's `whichBrokerWhenConsumeSlowly`: where it reads when it lags.
    pub which_broker_when_consume_slowly: i64,
}

/// `ExpressionType.isTagType`: absent, empty or `TAG`.
fn is_tag_type(expression_type: Option<&str>) -> bool {
    expression_type.is_none_or(|t| t.is_empty() || t == "TAG")
}

/// Java's validation of a pull, in Java's order.
pub fn check<C: Clone + Eq + std::hash::Hash>(
    config: &BrokerConfig,
    tables: (&TopicTable, &mut SubscriptionGroupTable, &ClientRegistry<C>),
    header: &PullMessageRequestHeader,
    peer: &str,
    now_ms: i64,
) -> Result<Checked, BrokerError> {
    let (topics, groups, clients) = tables;
    let group = header.consumer_group.as_str();
    let topic = header.topic.as_str();
    if config.broker_permission & PERM_READ == 0 {
        return Err(BrokerError::PullBrokerForbidden {
            broker_ip: config.broker_ip1.clone(),
        });
    }
    let Some(group_config) = groups.find_or_auto_create(group, config.auto_create_subscription_group, now_ms) else {
        return Err(BrokerError::PullGroupNotExist {
            group: group.to_owned(),
        });
    };
    if !group_config.consume_enable {
        return Err(BrokerError::PullGroupForbidden {
            group: group.to_owned(),
        });
    }
    let Some(topic_config) = topics.get(topic) else {
        return Err(BrokerError::PullTopicNotExist {
            topic: topic.to_owned(),
        });
    };
    if topic_config.perm & PERM_READ == 0 {
        return Err(BrokerError::PullTopicForbidden {
            topic: topic.to_owned(),
        });
    }
    if header.queue_id < 0 || header.queue_id >= topic_config.read_queue_nums {
        return Err(BrokerError::PullQueueIdIllegal {
            topic: topic.to_owned(),
            queue_id: header.queue_id,
            read_queue_nums: topic_config.read_queue_nums,
            consumer: peer.to_owned(),
        });
    }
    let from_request = header.sys_flag & FLAG_SUBSCRIPTION != 0;
    let (filter, expression_type, expression) = if from_request {
        let expression_type = header.expression_type.as_deref();
        if let Some(kind) = expression_type.filter(|t| *t != "TAG")
            && header.subscription.as_deref().is_none_or(str::is_empty)
        {
            return Err(BrokerError::SubscriptionParseFailed {
                expression_type: kind.to_owned(),
            });
        }
        (
            TagFilter::from_expression(header.subscription.as_deref()),
            expression_type.map(str::to_owned),
            header.subscription.clone().unwrap_or_default(),
        )
    } else {
        registered_filter(&group_config, clients, header)?
    };
    let sql = if is_tag_type(expression_type.as_deref()) {
        None
    } else {
        let expression_type = expression_type.unwrap_or_default();
        Some(sql_expression(
            config,
            header,
            from_request,
            &expression_type,
            &expression,
        )?)
    };
    Ok(Checked {
        filter: if sql.is_some() {
            TagFilter::from_expression(None)
        } else {
            filter
        },
        sql,
        topic_sys_flag: topic_config.topic_sys_flag,
        group_sys_flag: group_config.group_sys_flag,
        group_broker_id: group_config.broker_id,
        which_broker_when_consume_slowly: group_config.which_broker_when_consume_slowly,
    })
}

/// A non-tag subscription: SQL92 compiled (a registered expression that does not compile has
/// no filter data in Java), refused while `enablePropertyFilter` is off.
fn sql_expression(
    config: &BrokerConfig,
    header: &PullMessageRequestHeader,
    from_request: bool,
    expression_type: &str,
    expression: &str,
) -> Result<Arc<Expression>, BrokerError> {
    let not_supported = || BrokerError::FilterTypeNotSupported {
        expression_type: expression_type.to_owned(),
    };
    if expression_type != "SQL92" {
        return Err(not_supported());
    }
    let compiled = sql_filter::parse(expression).map_err(|_| {
        if from_request {
            BrokerError::SubscriptionParseFailed {
                expression_type: expression_type.to_owned(),
            }
        } else {
            BrokerError::FilterDataNotExist {
                group: header.consumer_group.clone(),
                topic: header.topic.clone(),
            }
        }
    })?;
    if !config.enable_property_filter {
        return Err(not_supported());
    }
    Ok(Arc::new(compiled))
}

/// New entries a woken SQL92 hold reads before it decides to park again; beyond this it lets
/// the pull's own read decide (which answers PULL_RETRY_IMMEDIATELY past non-matching ones).
pub const ARRIVALS_CHECKED_MAX: u64 = 1_024;

/// Java's `notifyMessageArriving` for a property filter: whether a message that arrived in
/// `topic`/`queue_id` at offsets `[from, to)` passes `sql` (an unreadable one counts as passing:
/// the pull's read then decides). More than [`ARRIVALS_CHECKED_MAX`] arrivals count as a match.
pub fn arrived_matching(
    store: &MessageStore,
    topic: &str,
    queue_id: QueueId,
    (from, to): (QueueOffset, QueueOffset),
    sql: &Expression,
) -> bool {
    if to.0.saturating_sub(from.0) > ARRIVALS_CHECKED_MAX {
        return true;
    }
    (from.0..to.0).any(|offset| {
        let message = store
            .queue_entry_at(topic, queue_id, QueueOffset(offset))
            .and_then(|entry| u64::try_from(entry.physical_offset).ok())
            .and_then(|physical| store.message_at(CommitLogOffset(physical)).ok());
        match message {
            Some(record) => {
                let properties = &record.message.properties;
                sql.matches(&|name| properties.get(name))
            }
            None => true,
        }
    })
}

/// `isMatchedByCommitLog`: whether a stored record's properties pass `sql` (a record that does
/// not decode does not pass, as Java's filter catches and answers false). The store applies it
/// while it reads a pull's batch, so a batch holds up to `maxMsgNums` matching records.
pub fn record_matches(record: &[u8], sql: &Expression) -> bool {
    StoredMessage::decode(record).is_ok_and(|(message, _)| {
        let properties = &message.properties;
        sql.matches(&|name| properties.get(name))
    })
}

/// The subscription a consumer registered by heartbeat, checked as Java does.
fn registered_filter<C: Clone + Eq + std::hash::Hash>(
    group_config: &SubscriptionGroupConfig,
    clients: &ClientRegistry<C>,
    header: &PullMessageRequestHeader,
) -> Result<(TagFilter, Option<String>, String), BrokerError> {
    let group = header.consumer_group.as_str();
    // Java 5.x registers a bare group for every pull first, so a missing group reads like a
    // missing subscription.
    let not_subscribed = || BrokerError::SubscriptionNotExist {
        group: group.to_owned(),
        topic: header.topic.clone(),
    };
    let info = clients.consumer_group(group).ok_or_else(not_subscribed)?;
    if !group_config.consume_broadcast_enable && info.message_model == MessageModel::Broadcasting {
        return Err(BrokerError::BroadcastForbidden {
            group: group.to_owned(),
        });
    }
    let subscription = info.subscriptions.get(&header.topic).ok_or_else(not_subscribed)?;
    if subscription.sub_version < header.sub_version {
        return Err(BrokerError::SubscriptionNotLatest {
            group: group.to_owned(),
            topic: header.topic.clone(),
            registered_version: subscription.sub_version,
            pulled_version: header.sub_version,
        });
    }
    Ok((
        TagFilter::from_subscription(subscription),
        Some(subscription.expression_type.clone()),
        subscription.sub_string.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::ResponseCode;
    use ferrocket_wire::body::{ConsumeFromWhere, ConsumeType};
    use ferrocket_wire::message::tag_hash::tags_code;

    use super::*;
    use crate::config::SystemTopicSettings;
    use crate::state::clients::{ClientChannel, ConsumerRegistration};

    fn topics() -> TopicTable {
        let mut table = TopicTable::new(
            &SystemTopicSettings {
                cluster_name: "DefaultCluster".into(),
                broker_name: "broker-a".into(),
                auto_create_topic_enable: true,
                default_topic_queue_nums: 8,
                cluster_topic_enable: true,
                broker_topic_enable: true,
                trace_topic: None,
                timer_wheel_enable: true,
            },
            0,
        );
        table.update(crate::state::topics::new_topic("T", 4, 6), "", 0).unwrap();
        table
            .update(crate::state::topics::new_topic("WriteOnly", 4, 2), "", 0)
            .unwrap();
        table
    }

    fn config() -> BrokerConfig {
        crate::config::BrokerConfig::standalone(std::path::Path::new("/tmp/x"), "127.0.0.1", 0, "127.0.0.1:9876")
    }

    fn header(topic: &str, queue_id: i32, sys_flag: i32) -> PullMessageRequestHeader {
        PullMessageRequestHeader {
            consumer_group: "cg".into(),
            topic: topic.into(),
            queue_id,
            max_msg_nums: 32,
            sys_flag,
            suspend_timeout_millis: 15_000,
            ..PullMessageRequestHeader::default()
        }
    }

    fn registered(sub_string: &str, version: i64, model: MessageModel) -> ClientRegistry<u32> {
        let mut clients = ClientRegistry::<u32>::default();
        let expression = TagExpression::parse(sub_string);
        let subscription = SubscriptionData {
            topic: "T".into(),
            sub_string: sub_string.into(),
            sub_version: version,
            code_set: expression.codes(),
            ..SubscriptionData::default()
        };
        clients.register_consumer(
            "cg",
            ClientChannel {
                channel: 1,
                client_id: "c1".into(),
                client_addr: "10.0.0.9:1".into(),
                language: ferrocket_wire::LanguageCode::JAVA,
                version: 479,
                last_update_ms: 0,
            },
            ConsumerRegistration {
                consume_type: ConsumeType::ConsumePassively,
                message_model: model,
                consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
                subscriptions: vec![subscription],
                update_subscriptions: true,
                notify_enabled: true,
            },
        );
        clients
    }

    fn run(header: &PullMessageRequestHeader, clients: &ClientRegistry<u32>) -> Result<Checked, BrokerError> {
        let mut groups = SubscriptionGroupTable::new(0);
        check(&config(), (&topics(), &mut groups, clients), header, "10.0.0.9:1", 0)
    }

    #[test]
    fn refusals_follow_javas_order_codes_and_remarks() {
        let none = ClientRegistry::<u32>::default();
        let refusal = run(&header("Nope", 0, FLAG_SUBSCRIPTION), &none).unwrap_err();
        assert_eq!(refusal.response_code(), ResponseCode::TOPIC_NOT_EXIST);
        assert_eq!(
            refusal.to_string(),
            "topic[Nope] not exist, apply first please! \nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
        );
        let refusal = run(&header("WriteOnly", 0, FLAG_SUBSCRIPTION), &none).unwrap_err();
        assert_eq!(
            (refusal.response_code(), refusal.forbidden_type()),
            (ResponseCode::NO_PERMISSION, Some(3))
        );
        for queue_id in [-1, 4] {
            let refusal = run(&header("T", queue_id, FLAG_SUBSCRIPTION), &none).unwrap_err();
            assert_eq!(refusal.response_code(), ResponseCode::INVALID_PARAMETER);
            assert_eq!(
                refusal.to_string(),
                format!(
                    "queueId[{queue_id}] is illegal, topic:[T] topicConfig.readQueueNums:[4] consumer:[/10.0.0.9:1]"
                )
            );
        }
        let refusal = run(&header("T", 0, 0), &none).unwrap_err();
        assert_eq!(refusal.response_code(), ResponseCode::SUBSCRIPTION_NOT_EXIST);
        assert!(
            refusal
                .to_string()
                .starts_with("the consumer's subscription not exist\nSee ")
        );
        let mut sql = header("T", 0, FLAG_SUBSCRIPTION);
        sql.expression_type = Some("SQL92".into());
        sql.subscription = Some("a > 1".into());
        let refusal = run(&sql, &none).unwrap_err();
        assert_eq!(
            (refusal.response_code(), refusal.to_string().as_str()),
            (
                ResponseCode::SYSTEM_ERROR,
                "The broker does not support consumer to filter message by SQL92"
            )
        );
        sql.subscription = None;
        assert_eq!(
            run(&sql, &none).unwrap_err().response_code(),
            ResponseCode::SUBSCRIPTION_PARSE_FAILED
        );
    }

    #[test]
    fn sql92_compiles_when_property_filtering_is_on() {
        let none = ClientRegistry::<u32>::default();
        let mut groups = SubscriptionGroupTable::new(0);
        let mut on = config();
        on.enable_property_filter = true;
        let mut sql = header("T", 0, FLAG_SUBSCRIPTION);
        sql.expression_type = Some("SQL92".into());
        sql.subscription = Some("a > 5 AND b = 'x'".into());
        let checked = check(&on, (&topics(), &mut groups, &none), &sql, "p:1", 0).unwrap();
        assert!(checked.filter.all);
        let expression = checked.sql.unwrap();
        assert!(expression.matches(&|name| {
            [("a", "6"), ("b", "x")]
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
        }));
        sql.subscription = Some("a > 'x'".into());
        let refusal = check(&on, (&topics(), &mut groups, &none), &sql, "p:1", 0).unwrap_err();
        assert_eq!(refusal.response_code(), ResponseCode::SUBSCRIPTION_PARSE_FAILED);
    }

    #[test]
    fn a_read_only_group_or_broker_is_forbidden() {
        let none = ClientRegistry::<u32>::default();
        let mut groups = SubscriptionGroupTable::new(0);
        let mut closed = config();
        closed.broker_permission = 2;
        let refusal = check(
            &closed,
            (&topics(), &mut groups, &none),
            &header("T", 0, FLAG_SUBSCRIPTION),
            "p:1",
            0,
        );
        assert_eq!(refusal.unwrap_err().forbidden_type(), Some(1));
        let mut disabled = ferrocket_wire::body::SubscriptionGroupConfig {
            group_name: "cg".into(),
            ..Default::default()
        };
        disabled.consume_enable = false;
        groups.update(disabled, 0).unwrap();
        let refusal = check(
            &config(),
            (&topics(), &mut groups, &none),
            &header("T", 0, FLAG_SUBSCRIPTION),
            "p:1",
            0,
        );
        let refusal = refusal.unwrap_err();
        assert_eq!(
            (refusal.forbidden_type(), refusal.to_string().as_str()),
            (Some(2), "subscription group no permission, cg")
        );
    }

    #[test]
    fn registered_subscriptions_are_used_and_must_be_latest() {
        let clients = registered("TagA || TagB", 100, MessageModel::Clustering);
        let checked = run(&header("T", 0, 0), &clients).unwrap();
        assert!(checked.filter.matches(tags_code("TagA")));
        assert!(!checked.filter.matches(tags_code("TagC")));
        let mut newer = header("T", 0, 0);
        newer.sub_version = 101;
        let refusal = run(&newer, &clients).unwrap_err();
        assert_eq!(refusal.response_code(), ResponseCode::SUBSCRIPTION_NOT_LATEST);
        let broadcast = registered("*", 1, MessageModel::Broadcasting);
        assert!(run(&header("T", 0, 0), &broadcast).unwrap().filter.all);
    }

    #[test]
    fn request_expressions_build_javas_filter() {
        let mut request = header("T", 0, FLAG_SUBSCRIPTION);
        assert!(run(&request, &ClientRegistry::default()).unwrap().filter.all);
        request.subscription = Some(" TagA ||TagB".into());
        let filter = run(&request, &ClientRegistry::default()).unwrap().filter;
        assert_eq!(
            filter.codes,
            vec![2598919, ferrocket_wire::message::tag_hash::java_string_hash("TagB")]
        );
        // Java compares the low 32 bits of the consume queue's long.
        assert!(filter.matches(tags_code("TagA") + (1 << 32)));
        assert!(!filter.matches(0));
    }
}
