//! Every failure's code and remark, one example each, written out as the Java broker sends them.

use std::path::PathBuf;

use ferrocket_wire::body::TopicConfig;

use super::*;

const FAQ: &str = "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

fn timeout() -> NetError {
    NetError::Timeout {
        addr: "10.0.0.9:5".into(),
        opaque: 7,
        after_ms: 3000,
    }
}

fn closed() -> NetError {
    NetError::ConnectionClosed {
        addr: "10.0.0.9:5".into(),
    }
}

fn disk_full() -> Option<StoreError> {
    Some(StoreError::DiskFull {
        path: PathBuf::from("/s/commitlog"),
    })
}

fn bad_address() -> AddrParseError {
    "nowhere".parse::<SocketAddr>().unwrap_err()
}

fn address() -> SocketAddr {
    "127.0.0.1:10911".parse().unwrap()
}

fn s(text: &str) -> String {
    text.to_owned()
}

fn illegal(why: IllegalMessage) -> BrokerError {
    BrokerError::MessageIllegal {
        why,
        body_bytes_max: 4096,
    }
}

/// `(failure, code, remark)` for every variant but the wrapped lower layers.
fn table() -> Vec<(BrokerError, ResponseCode, String)> {
    use BrokerError as E;
    use ResponseCode as C;
    let illegal_remark = s(
        "the message is illegal, maybe msg body or properties length not matched. msg body length limit 4096B, msg properties length limit 32KB.",
    );
    let mut config = TopicConfig {
        topic_name: s("T"),
        read_queue_nums: 4,
        write_queue_nums: 4,
        perm: 6,
        ..TopicConfig::default()
    };
    config.attributes.insert(s("+message.type"), s("NORMAL"));
    vec![
        (
            E::RecallForbidden,
            C::NO_PERMISSION,
            s("recall failed, operation is forbidden"),
        ),
        (
            E::RecallUnavailable { on_slave: true },
            C::SLAVE_NOT_AVAILABLE,
            s("recall failed, broker service not available"),
        ),
        (
            E::RecallUnavailable { on_slave: false },
            C::SERVICE_NOT_AVAILABLE,
            s("recall failed, broker service not available"),
        ),
        (
            E::RecallTopicNotExist { topic: s("T") },
            C::TOPIC_NOT_EXIST,
            s("recall failed, the topic[T] not exist"),
        ),
        (
            E::RecallHandleInvalid,
            C::ILLEGAL_OPERATION,
            s("recall handle is invalid"),
        ),
        (
            E::RecallTopicMismatch,
            C::ILLEGAL_OPERATION,
            s("recall failed, topic not match"),
        ),
        (
            E::RecallBrokerMismatch,
            C::ILLEGAL_OPERATION,
            s("recall failed, broker service not available"),
        ),
        (
            E::RecallTimestampInvalid,
            C::ILLEGAL_OPERATION,
            s("recall failed, timestamp invalid"),
        ),
        (E::RecallPutFailed, C::SYSTEM_ERROR, s("recall failed, execute error")),
        (
            E::TimerMessageIllegal {
                max_delay_ms: 259_200_000,
            },
            C::MESSAGE_ILLEGAL,
            s(
                "timer message illegal, the delay time should not be bigger than the max delay 259200000ms; or if set del msg, the delay time should be bigger than the current time",
            ),
        ),
        (
            E::TimerFlowControl { limit: 5_000_000 },
            C::SYSTEM_ERROR,
            s("timer message is under flow control, max num limit is 5000000"),
        ),
        (
            E::TimerNotEnabled,
            C::SYSTEM_ERROR,
            s("accurate timer message is not enabled, timerWheelEnable is false"),
        ),
        (
            E::RejectedBySlave,
            C::SYSTEM_BUSY,
            s("[REJECTREQUEST]system busy, start flow control for a while"),
        ),
        (
            E::BrokerSendForbidden {
                broker_ip: s("10.0.0.1"),
            },
            C::NO_PERMISSION,
            s("the broker[10.0.0.1] sending message is forbidden"),
        ),
        (E::TopicBlank, C::INVALID_PARAMETER, s("The specified topic is blank.")),
        (
            E::TopicIllegalCharacters { topic: s("a.b") },
            C::INVALID_PARAMETER,
            s("The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"),
        ),
        (
            E::TopicTooLong {
                topic_chars: 128,
                limit: 127,
            },
            C::INVALID_PARAMETER,
            s("The specified topic is longer than topic max length."),
        ),
        (
            E::SendToSystemTopicForbidden {
                topic: s("SCHEDULE_TOPIC_XXXX"),
            },
            C::NO_PERMISSION,
            s("Sending message to topic[SCHEDULE_TOPIC_XXXX] is forbidden."),
        ),
        (
            E::SendTopicNotExist { topic: s("Fresh") },
            C::TOPIC_NOT_EXIST,
            format!("topic[Fresh] not exist, apply first please!{FAQ}"),
        ),
        (
            E::SendQueueIdIllegal {
                queue_id: 4,
                topic_config: Box::new(config),
                producer: s("10.0.0.9:7"),
            },
            C::INVALID_PARAMETER,
            s(
                "request queueId[4] is illegal, TopicConfig [topicName=T, readQueueNums=4, writeQueueNums=4, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={+message.type=NORMAL}] Producer: 10.0.0.9:7",
            ),
        ),
        (
            E::NoWritableQueue { topic: s("T") },
            C::SYSTEM_ERROR,
            s("topic[T] has no writable queue"),
        ),
        (
            E::RetryGroupNotExist { group: s("cg") },
            C::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, cg {FAQ}"),
        ),
        (
            E::RetryTopicNotCreated { topic: s("%DLQ%cg") },
            C::SYSTEM_ERROR,
            s("topic[%DLQ%cg] not exist"),
        ),
        (
            E::TopicSendForbidden { topic: s("%RETRY%cg") },
            C::NO_PERMISSION,
            s("the topic[%RETRY%cg] sending message is forbidden"),
        ),
        (
            illegal(IllegalMessage::NoBody),
            C::MESSAGE_ILLEGAL,
            illegal_remark.clone(),
        ),
        (
            illegal(IllegalMessage::BodyTooLarge { body_bytes: 5000 }),
            C::MESSAGE_ILLEGAL,
            illegal_remark.clone(),
        ),
        (
            illegal(IllegalMessage::RefusedByStore { cause: None }),
            C::MESSAGE_ILLEGAL,
            illegal_remark,
        ),
        (
            E::BatchTopicTooLong { topic_chars: 128 },
            C::MESSAGE_ILLEGAL,
            s("message topic length too long 128"),
        ),
        (
            E::BatchToRetryTopic { topic: s("%RETRY%cg") },
            C::MESSAGE_ILLEGAL,
            s("batch request does not support retry group %RETRY%cg"),
        ),
        (
            E::ServiceNotAvailable { cause: disk_full() },
            C::SERVICE_NOT_AVAILABLE,
            s(
                "service not available now. It may be caused by one of the following reasons: the broker's disk is full [disk full writing /s/commitlog], messages are put to the slave, message store has been shut down, etc.",
            ),
        ),
        (
            // Java's exact remark when the disk-usage check refuses puts (issue 18's disk-full
            // test with the official client caught it wrapped twice).
            E::ServiceNotAvailable {
                cause: Some(StoreError::DiskUsageOverLimit {
                    disk_util: s("CL:  0.93 CQ:  0.93 INDEX:  0.93"),
                }),
            },
            C::SERVICE_NOT_AVAILABLE,
            s(
                "service not available now. It may be caused by one of the following reasons: the broker's disk is full [CL:  0.93 CQ:  0.93 INDEX:  0.93], messages are put to the slave, message store has been shut down, etc.",
            ),
        ),
        (
            E::ServiceNotAvailable { cause: None },
            C::SERVICE_NOT_AVAILABLE,
            s(
                "service not available now. It may be caused by one of the following reasons: the broker's disk is full [unknown], messages are put to the slave, message store has been shut down, etc.",
            ),
        ),
        (
            E::PageCacheBusy,
            C::SYSTEM_BUSY,
            s("[PC_SYNCHRONIZED]broker busy, start flow control for a while"),
        ),
        (E::PutUnknownError { cause: None }, C::SYSTEM_ERROR, s("UNKNOWN_ERROR")),
        (E::PutResultMissing, C::SYSTEM_ERROR, s("store putMessage return null")),
        (
            E::SendBackMessageNotFound { offset: 42 },
            C::SYSTEM_ERROR,
            s("look message by offset failed, 42"),
        ),
        (
            E::SendBackPutFailed {
                status: PutMessageStatus::SlaveNotAvailable,
            },
            C::SYSTEM_ERROR,
            s("SLAVE_NOT_AVAILABLE"),
        ),
        (
            E::PullBrokerForbidden {
                broker_ip: s("10.0.0.1"),
            },
            C::NO_PERMISSION,
            s("the broker[10.0.0.1] pulling message is forbidden"),
        ),
        (
            E::PullGroupNotExist { group: s("cg") },
            C::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [cg] does not exist, {FAQ}"),
        ),
        (
            E::PullGroupForbidden { group: s("cg") },
            C::NO_PERMISSION,
            s("subscription group no permission, cg"),
        ),
        (
            E::PullTopicNotExist { topic: s("Nope") },
            C::TOPIC_NOT_EXIST,
            format!("topic[Nope] not exist, apply first please! {FAQ}"),
        ),
        (
            E::PullTopicForbidden { topic: s("T") },
            C::NO_PERMISSION,
            s("the topic[T] pulling message is forbidden"),
        ),
        (
            E::PullQueueIdIllegal {
                topic: s("T"),
                queue_id: 4,
                read_queue_nums: 4,
                consumer: s("10.0.0.9:1"),
            },
            C::INVALID_PARAMETER,
            s("queueId[4] is illegal, topic:[T] topicConfig.readQueueNums:[4] consumer:[/10.0.0.9:1]"),
        ),
        (
            E::SubscriptionParseFailed {
                expression_type: s("SQL92"),
            },
            C::SUBSCRIPTION_PARSE_FAILED,
            s("parse the consumer's subscription failed"),
        ),
        (
            E::FilterTypeNotSupported {
                expression_type: s("SQL92"),
            },
            C::SYSTEM_ERROR,
            s("The broker does not support consumer to filter message by SQL92"),
        ),
        (
            E::SqlExpressionInvalid {
                message: s("java.lang.RuntimeException: Value ''x'' cannot be compared."),
            },
            C::SUBSCRIPTION_PARSE_FAILED,
            s("java.lang.RuntimeException: Value ''x'' cannot be compared."),
        ),
        (
            E::FilterDataNotExist {
                group: s("cg"),
                topic: s("T"),
            },
            C::FILTER_DATA_NOT_EXIST,
            s("The broker's consumer filter data is not exist!Your expression may be wrong!"),
        ),
        (
            E::SubscriptionNotExist {
                group: s("cg"),
                topic: s("T"),
            },
            C::SUBSCRIPTION_NOT_EXIST,
            format!("the consumer's subscription not exist{FAQ}"),
        ),
        (
            E::BroadcastForbidden { group: s("cg") },
            C::NO_PERMISSION,
            s("the consumer group[cg] can not consume by broadcast way"),
        ),
        (
            E::SubscriptionNotLatest {
                group: s("cg"),
                topic: s("T"),
                registered_version: 100,
                pulled_version: 101,
            },
            C::SUBSCRIPTION_NOT_LATEST,
            s("the consumer's subscription not latest"),
        ),
        (
            E::NoConsumerInGroup { group: s("cg") },
            C::SYSTEM_ERROR,
            s("no consumer for this group, cg"),
        ),
        (
            E::ConsumerGroupNotOnline { group: s("cg") },
            C::CONSUMER_NOT_ONLINE,
            s("the consumer group[cg] not online"),
        ),
        (
            E::ProducerGroupNotExist { group: s("pg") },
            C::SYSTEM_ERROR,
            s("the producer group[pg] not exist"),
        ),
        (
            E::ConsumerNotOnline {
                group: s("cg"),
                client_id: s("c1"),
            },
            C::SYSTEM_ERROR,
            s("The Consumer <cg> <c1> not online"),
        ),
        (
            E::ConsumerCallTimeout {
                group: s("cg"),
                client_id: s("c1"),
                error: timeout(),
            },
            C::CONSUME_MSG_TIMEOUT,
            s("consumer <cg> <c1> Timeout: request 7 to 10.0.0.9:5 timed out after 3000 ms"),
        ),
        (
            E::ConsumerCallFailed {
                group: s("cg"),
                client_id: s("c1"),
                error: closed(),
            },
            C::SYSTEM_ERROR,
            s("invoke consumer <cg> <c1> Exception: connection to 10.0.0.9:5 closed"),
        ),
        (
            E::NoConsumerOnlineInGroup { group: s("cg") },
            C::SYSTEM_ERROR,
            s("No Any Consumer online in the consumer group: [cg]"),
        ),
        (
            E::DirectMessageNotFound {
                msg_id: s("0A00000900001F9100000000000000FF"),
            },
            C::SYSTEM_ERROR,
            s("The message <0A00000900001F9100000000000000FF> is not stored in this broker"),
        ),
        (
            E::OffsetNotFoundZeroDeclined,
            C::QUERY_NOT_FOUND,
            s("Not found, do not set to zero, maybe this group boot first"),
        ),
        (
            E::OffsetNotFound,
            C::QUERY_NOT_FOUND,
            s("Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first"),
        ),
        (
            E::CommitGroupNotExist { group: s("cg") },
            C::SUBSCRIPTION_GROUP_NOT_EXIST,
            s("Group cg not exist!"),
        ),
        (
            E::CommitTopicNotExist { topic: s("T") },
            C::TOPIC_NOT_EXIST,
            s("Topic T not exist!"),
        ),
        (
            E::ResetOnSlave,
            C::SYSTEM_ERROR,
            s("Can not reset offset in slave broker"),
        ),
        (
            E::ResetTopicNotExist { topic: s("T") },
            C::TOPIC_NOT_EXIST,
            s("Topic T does not exist"),
        ),
        (
            E::ResetGroupNotExist { group: s("cg") },
            C::SUBSCRIPTION_GROUP_NOT_EXIST,
            s("Group cg does not exist"),
        ),
        (
            E::ResetOffsetOutOfRange {
                offset: 9,
                min: 0,
                max: 5,
            },
            C::SYSTEM_ERROR,
            s("Target offset 9 not in consume queue range [0-5]"),
        ),
        (
            E::ResetNoQueues { topic: s("T") },
            C::SYSTEM_ERROR,
            s("No queues to reset."),
        ),
        (
            E::ClientResetTopicNotExist { topic: s("T") },
            C::SYSTEM_ERROR,
            s("[reset-offset] reset offset failed, no topic in this broker. topic=T"),
        ),
        (
            E::ClientResetGroupNotExist {
                group: s("cg"),
                topic: s("T"),
                queue_id: 0,
            },
            C::SYSTEM_ERROR,
            s("THe consumer group <cg> not exist"),
        ),
        (
            E::ClientResetConsumerNotOnline {
                group: s("cg"),
                topic: s("T"),
                timestamp_ms: 1700,
            },
            C::CONSUMER_NOT_ONLINE,
            s("Consumer not online, so can not reset offset, Group: cg Topic: T Timestamp: 1700"),
        ),
        (
            E::MessageNotFoundAtOffset { offset: 77 },
            C::SYSTEM_ERROR,
            s("can not find message by the offset, 77"),
        ),
        (
            E::SystemTopicConflict { topic: s("TBW102") },
            C::INVALID_PARAMETER,
            s("The topic[TBW102] is conflict with system topic."),
        ),
        (
            E::MixedMessageTypeNotSupported { topic: s("T") },
            C::INVALID_PARAMETER,
            s("MIXED message type is not supported."),
        ),
        (
            E::TopicQueueNumsOutOfRange {
                topic: s("T"),
                read: 0,
                write: 8,
                limit: 1_024,
            },
            C::INVALID_PARAMETER,
            s(
                "The queue numbers of topic[T] must be within 1..=1024 (TOPIC_QUEUE_NUMS_MAX): readQueueNums=0, writeQueueNums=8",
            ),
        ),
        (
            E::TopicPermInvalid {
                topic: s("T"),
                perm: 255,
                limit: 15,
            },
            C::INVALID_PARAMETER,
            s("The perm of topic[T] must be within 0..=15 (the PRIORITY, READ, WRITE and INHERIT bits): perm=255"),
        ),
        (
            E::PropertiesUnparsable {
                error: WireError::MissingField { field: "x" },
            },
            C::SYSTEM_ERROR,
            s("string2Properties error"),
        ),
        (
            E::TopicNotInBroker { topic: s("AdminTopic") },
            C::TOPIC_NOT_EXIST,
            s("No topic in this broker. topic: AdminTopic"),
        ),
        (
            E::GroupNotInBroker { group: s("cg") },
            C::SUBSCRIPTION_GROUP_NOT_EXIST,
            s("No group in this broker"),
        ),
        (
            E::TopicNotExist {
                topic: s("NoSuchTopic"),
            },
            C::TOPIC_NOT_EXIST,
            s("topic[NoSuchTopic] not exist"),
        ),
        (
            E::ConfigKeyDenied {
                key: s("storePathRootDir"),
            },
            C::NO_PERMISSION,
            s("Can not update config in black list."),
        ),
        (
            E::TopicTableFull { limit: 50_000 },
            C::SYSTEM_ERROR,
            s("the broker's topic table is full: the limit is TOPICS_MAX = 50000"),
        ),
        (
            E::AttributeFormatWrong { change: s("x") },
            C::SYSTEM_ERROR,
            s("attribute format is wrong: x"),
        ),
        (
            E::AttributeKeyUnsupported { key: s("color") },
            C::SYSTEM_ERROR,
            s("unsupported key: color"),
        ),
        (
            E::AttributeValueWrong {
                change: s("+message.type="),
            },
            C::SYSTEM_ERROR,
            s("attribute value is wrong: +message.type="),
        ),
        (
            E::AttributeRemovedOnCreate { key: s("message.type") },
            C::SYSTEM_ERROR,
            s("only add attribute is supported while creating topic. key: message.type"),
        ),
        (
            E::AttributeRemovedMissing { key: s("message.type") },
            C::SYSTEM_ERROR,
            s("attempt to delete a nonexistent key: message.type"),
        ),
        (
            E::GroupNameIllegal { group: s("a b") },
            C::SYSTEM_ERROR,
            s("the group name \"a b\" is illegal"),
        ),
        (
            E::GroupNameTooLong {
                group_chars: 250,
                limit: 248,
            },
            C::SYSTEM_ERROR,
            s(
                "the group name is 250 characters long: the limit is GROUP_NAME_CHARS_MAX = 248, so that its retry topic %RETRY%<group> can be stored",
            ),
        ),
        (
            E::GroupTableFull { limit: 100_000 },
            C::SYSTEM_ERROR,
            s("the broker's subscription group table is full: the limit is GROUPS_MAX = 100000"),
        ),
        (
            E::ConfigBadValue {
                key: s("listenPort"),
                value: s("x"),
                expected: s("an integer"),
            },
            C::SYSTEM_ERROR,
            s("listenPort=x: expected an integer"),
        ),
        (
            E::TooManyUnknownConfigKeys { limit: 1024 },
            C::SYSTEM_ERROR,
            s("more than 1024 unknown keys"),
        ),
        (
            E::BadListenAddress {
                host: s("nowhere"),
                error: bad_address(),
            },
            C::SYSTEM_ERROR,
            s("bad listen address nowhere: invalid socket address syntax"),
        ),
        (
            E::ListenFailed {
                address: address(),
                error: closed(),
            },
            C::SYSTEM_ERROR,
            s(
                "cannot listen for clients on 127.0.0.1:10911: connection to 10.0.0.9:5 closed (is another broker running? listenPort in broker.conf moves it)",
            ),
        ),
        (
            E::BadHaListenAddress {
                host: s("nowhere"),
                port: 10912,
                error: bad_address(),
            },
            C::SYSTEM_ERROR,
            s("bad HA listen address nowhere:10912: invalid socket address syntax"),
        ),
        (
            E::HaListenFailed {
                address: address(),
                error: io::Error::other("in use"),
            },
            C::SYSTEM_ERROR,
            s(
                "cannot listen for slaves on 127.0.0.1:10911, the HA port: in use (is another broker running? haListenPort in broker.conf moves it; by default it is listenPort + 1)",
            ),
        ),
        (
            E::SlaveIdNotPositive { broker_id: 0 },
            C::SYSTEM_ERROR,
            s("Slave's brokerId must be > 0"),
        ),
        (
            E::MasterCallFailed {
                code: RequestCode::GET_ALL_TOPIC_CONFIG,
                master: s("10.0.0.1:10911"),
                error: closed(),
            },
            C::SYSTEM_ERROR,
            s("RequestCode(21) to 10.0.0.1:10911: connection to 10.0.0.9:5 closed"),
        ),
        (
            E::MasterRefused {
                code: RequestCode::GET_ALL_TOPIC_CONFIG,
                master: s("10.0.0.1:10911"),
                response_code: 1,
                remark: s("boom"),
            },
            C::SYSTEM_ERROR,
            s("RequestCode(21) to 10.0.0.1:10911 answered 1: boom"),
        ),
    ]
}

#[test]
fn every_failure_has_javas_code_and_remark() {
    let mut request = RemotingCommand::request(RequestCode::SEND_MESSAGE);
    request.opaque = 9;
    for (error, code, remark) in table() {
        assert_eq!(error.response_code(), code, "{error:?}");
        let response = error_response(&request, &error);
        assert_eq!((response.code, response.opaque), (code.0, 9), "{error:?}");
        assert_eq!(response.remark.as_deref(), Some(remark.as_str()), "{error:?}");
    }
}

#[test]
fn lower_layers_answer_system_error_with_their_message() {
    let wire = BrokerError::from(WireError::MissingField { field: "topic" });
    assert_eq!(wire.response_code(), ResponseCode::SYSTEM_ERROR);
    assert_eq!(wire.to_string(), "missing required header field `topic`");
    let store = BrokerError::from(StoreError::DiskFull { path: "/s".into() });
    assert_eq!(
        (store.response_code(), store.to_string()),
        (ResponseCode::SYSTEM_ERROR, s("disk full writing /s"))
    );
}

#[test]
fn forbidden_pulls_name_their_forbidden_type() {
    let request = RemotingCommand::request(RequestCode::PULL_MESSAGE);
    let forbidden = [
        (BrokerError::PullBrokerForbidden { broker_ip: s("b") }, "1"),
        (BrokerError::PullGroupForbidden { group: s("g") }, "2"),
        (BrokerError::PullTopicForbidden { topic: s("t") }, "3"),
        (BrokerError::BroadcastForbidden { group: s("g") }, "4"),
    ];
    for (error, forbidden_type) in forbidden {
        let response = error_response(&request, &error);
        assert_eq!(response.code, ResponseCode::NO_PERMISSION.0);
        assert_eq!(response.ext("forbiddenType"), Some(forbidden_type));
    }
    let plain = error_response(&request, &BrokerError::PullTopicNotExist { topic: s("t") });
    assert!(plain.ext_fields.is_none());
}

#[test]
fn put_statuses_map_to_javas_codes() {
    use PutMessageStatus as P;
    let stored = [
        (P::PutOk, ResponseCode::SUCCESS),
        (P::FlushDiskTimeout, ResponseCode::FLUSH_DISK_TIMEOUT),
        (P::FlushSlaveTimeout, ResponseCode::FLUSH_SLAVE_TIMEOUT),
        (P::SlaveNotAvailable, ResponseCode::SLAVE_NOT_AVAILABLE),
    ];
    for (status, code) in stored {
        assert_eq!(put_status_code(status, None, 4096).unwrap(), code, "{status:?}");
    }
    let failed = [
        (P::MessageIllegal, ResponseCode::MESSAGE_ILLEGAL),
        (P::ServiceNotAvailable, ResponseCode::SERVICE_NOT_AVAILABLE),
        (P::OsPageCacheBusy, ResponseCode::SYSTEM_BUSY),
        (P::CreateMappedFileFailed, ResponseCode::SYSTEM_ERROR),
        (P::UnknownError, ResponseCode::SYSTEM_ERROR),
    ];
    for (status, code) in failed {
        let error = put_status_code(status, None, 4096).unwrap_err();
        assert_eq!(error.response_code(), code, "{status:?}");
    }
    let refused = put_status_code(P::ServiceNotAvailable, disk_full(), 4096).unwrap_err();
    assert!(refused.to_string().contains("[disk full writing /s/commitlog]"));
    // Java's remark when no file could be opened for the put (descriptors exhausted).
    let no_file = put_status_code(P::CreateMappedFileFailed, None, 4096).unwrap_err();
    assert_eq!(
        no_file.to_string(),
        "create mapped file failed, server is busy or broken."
    );
}

#[test]
fn a_slaves_shortfall_replaces_only_a_stored_puts_status() {
    use PutMessageStatus as P;
    let late = Some(P::FlushSlaveTimeout);
    assert_eq!(P::of(PutStatus::PutOk, None), P::PutOk);
    assert_eq!(P::of(PutStatus::PutOk, late), P::FlushSlaveTimeout);
    assert_eq!(P::of(PutStatus::FlushDiskTimeout, late), P::FlushSlaveTimeout);
    assert_eq!(P::of(PutStatus::OsPageCacheBusy, late), P::OsPageCacheBusy);
    assert_eq!(P::OsPageCacheBusy.java_name(), "OS_PAGE_CACHE_BUSY");
}
