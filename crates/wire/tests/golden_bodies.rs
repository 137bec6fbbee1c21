//! Typed JSON bodies against goldens written by the official Java classes (5.3.3 in
//! `tests/golden/bodies/`, 4.9.8 in `tests/golden/v49/bodies/`; see `tests/golden/README.md`).
//!
//! Every golden body must have an entry below, else the test fails, so a new golden is never
//! skipped silently. Each entry decodes the golden, checks key values against what the
//! generator set, re-encodes, and expects decoding our encoding to give an equal value. Where
//! we keep every property Java wrote, our encoding must also equal the golden as JSON (maps
//! compared without order), or byte for byte where Java's output order is deterministic. Every
//! proper prefix of a JSON golden must fail to decode, never panic.
//!
//! With `FERROCKET_GOLDEN_OUT=<dir>` set, our encodings are written to `<dir>` under the golden's
//! relative path, for `interop/java/golden.sh verify tests/golden <dir>` (Java-side equality).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};

use ferrocket_wire::body::*;
use ferrocket_wire::codes::version;
use ferrocket_wire::json::lenient;

const T0: i64 = 1_700_000_000_000;
const CLIENT_ID: &str = "192.168.0.9@12345#1";
const TOPIC: &str = "TopicTest";
const GROUP: &str = "cg_demo";
const BODY_DIRS: [&str; 2] = ["bodies", "v49/bodies"];

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// How our re-encoding must relate to the golden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// Byte for byte.
    Exact,
    /// The same JSON value, objects compared without regard to order.
    Json,
    /// Only our own round trip: Java wrote properties we drop, or lacks ones we default.
    RoundTrip,
}

/// Decodes `golden` as `T`, checks truncations and the re-encoding; returns the value and our
/// encoding.
fn check<T: JsonBody + PartialEq + Debug>(name: &str, golden: &[u8], expect: Match) -> (T, Vec<u8>) {
    let value = T::decode(golden).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ours = value.encode();
    let again = T::decode(&ours).unwrap_or_else(|e| panic!("{name} re-encoded: {e}"));
    assert_eq!(again, value, "{name}: decoding our encoding differs");
    compare(name, golden, &ours, expect);
    let trimmed = golden.trim_ascii_end();
    for cut in 0..trimmed.len() {
        assert!(
            T::decode(&trimmed[..cut]).is_err(),
            "{name}: prefix of {cut} bytes decoded"
        );
    }
    (value, ours)
}

fn compare(name: &str, golden: &[u8], ours: &[u8], expect: Match) {
    let shown = || String::from_utf8_lossy(ours).into_owned();
    match expect {
        Match::Exact => assert_eq!(ours, golden.trim_ascii_end(), "{name}: ours is {}", shown()),
        Match::Json => assert_eq!(
            lenient::parse("golden", ours).unwrap(),
            lenient::parse("golden", golden).unwrap(),
            "{name}: ours is {}",
            shown()
        ),
        Match::RoundTrip => {}
    }
}

/// Checks one golden and returns our encoding of it; `None` for a golden without a check.
fn check_file(rel: &str, golden: &[u8]) -> Option<Vec<u8>> {
    let v49 = rel.starts_with("v49/");
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let encoded = match (v49, name) {
        (false, "topic_route_data.json") => topic_route_data(rel, golden),
        (false, "topic_route_data.standard.json") => topic_route_data_standard(rel, golden),
        (false, "cluster_info.json") => cluster_info(rel, golden),
        (false, "register_broker_body.json") => register_broker_body(rel, golden),
        (true, "register_broker_body.json") => v49_register_broker_body(rel, golden),
        (false, "register_broker_body.compressed.bin") => check_compressed(rel, golden, version::V5_3_3, true),
        (true, "register_broker_body.compressed.bin") => check_compressed(rel, golden, version::V4_9_8, false),
        (false, "topic_config_serialize_wrapper.json") => topic_config_serialize_wrapper(rel, golden),
        (true, "topic_config_serialize_wrapper.json") => v49_topic_config_serialize_wrapper(rel, golden),
        (false, "topic_config_and_mapping_serialize_wrapper.json") => {
            topic_config_and_mapping_serialize_wrapper(rel, golden)
        }
        (false, "subscription_group_wrapper.json" | "subscription_group_manager.json") => {
            subscription_group(rel, golden, name)
        }
        (true, "subscription_group_wrapper.json") => v49_subscription_group_wrapper(rel, golden),
        (false, "consumer_offset_serialize_wrapper.json" | "consumer_offset_manager.json") => {
            consumer_offsets(rel, golden, name)
        }
        (false, "delay_offset.json") => delay_offset(rel, golden),
        (false, "heartbeat_data.json") => heartbeat_data(rel, golden),
        (true, "heartbeat_data.json") => v49_heartbeat_data(rel, golden),
        (false, "consumer_list.json") => consumer_list(rel, golden),
        (false, "lock_batch_request_body.json") => lock_batch_request_body(rel, golden),
        (false, "lock_batch_response_body.json") => lock_batch_response_body(rel, golden),
        (false, "consume_stats.json") => consume_stats(rel, golden),
        (false, "topic_stats_table.json") => topic_stats_table(rel, golden),
        (false, "reset_offset_body.json") => reset_offset_body(rel, golden),
        (false, "kv_table.json") => kv_table(rel, golden),
        (false, "consumer_connection.json") => consumer_connection(rel, golden),
        (false, "topic_list.json") => topic_list(rel, golden),
        (false, "query_consume_by_who.json") => query_consume_by_who(rel, golden),
        (false, "consumer_running_info.json") => consumer_running_info(rel, golden),
        (false, "pop_check_point.json") => pop_check_point(rel, golden),
        (false, "ack_msg.json") => ack_msg(rel, golden),
        (false, "batch_ack_msg.json") => batch_ack_msg(rel, golden),
        (false, "batch_ack_message_request_body.json") => batch_ack_message_request_body(rel, golden),
        (false, "query_assignment_request_body.json") => query_assignment_request_body(rel, golden),
        (false, "query_assignment_response_body.json") => query_assignment_response_body(rel, golden),
        (false, "set_message_request_mode_request_body.json") => set_message_request_mode_request_body(rel, golden),
        _ => return None,
    };
    Some(encoded)
}

/// fastjson adds the getter-only `reviveTime`, which Java never reads back: ours leaves it out.
fn pop_check_point(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (ck, ours) = check::<PopCheckPoint>(rel, golden, Match::RoundTrip);
    assert_eq!(
        (ck.start_offset, ck.queue_offset_diff.clone(), ck.num),
        (5, vec![0, 2], 2)
    );
    assert_eq!((ck.cid.as_str(), ck.topic.as_str(), ck.queue_id), (GROUP, TOPIC, 1));
    assert_eq!(
        (ck.pop_time, ck.invisible_time, ck.revive_time_ms()),
        (T0, 60_000, T0 + 60_000)
    );
    assert_eq!(ck.broker_name.as_deref(), Some("broker-a"));
    let mut java = lenient::parse("PopCheckPoint", golden).unwrap();
    java.as_object_mut().unwrap().remove("reviveTime");
    assert_eq!(
        lenient::parse("ours", &ours).unwrap(),
        java,
        "{rel}: all but reviveTime"
    );
    ours
}

fn ack_msg(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (ack, ours) = check::<AckMsg>(rel, golden, Match::Exact);
    assert_eq!(
        (ack.ack_offset, ack.start_offset, ack.pop_time, ack.queue_id),
        (7, 5, T0, 1)
    );
    ours
}

fn batch_ack_msg(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (batch, ours) = check::<BatchAckMsg>(rel, golden, Match::Exact);
    assert_eq!((batch.ack_offset, batch.ack_offset_list.clone()), (-1, vec![5, 7]));
    ours
}

fn batch_ack_message_request_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (body, ours) = check::<BatchAckMessageRequestBody>(rel, golden, Match::Exact);
    let acks = body.acks.unwrap();
    // BitSet {0, 2}: toByteArray() is [0x05], which fastjson writes as base64.
    assert_eq!(acks[0].bit_set_base64.as_deref(), Some("BQ=="));
    assert_eq!((acks[0].revive_queue_id, acks[0].retry.as_str()), (3, "0"));
    ours
}

fn query_assignment_request_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (body, ours) = check::<QueryAssignmentRequestBody>(rel, golden, Match::Exact);
    assert_eq!(
        (body.client_id.as_str(), body.strategy_name.as_str()),
        (CLIENT_ID, "AVG")
    );
    assert_eq!(body.message_model, MessageModel::Clustering);
    ours
}

fn query_assignment_response_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (body, ours) = check::<QueryAssignmentResponseBody>(rel, golden, Match::Exact);
    let assignments = body.message_queue_assignments.unwrap();
    assert_eq!(assignments[0].mode, MessageRequestMode::Pop);
    assert_eq!(assignments[0].message_queue.as_ref().map(|q| q.queue_id), Some(-1));
    ours
}

fn set_message_request_mode_request_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (body, ours) = check::<SetMessageRequestModeRequestBody>(rel, golden, Match::Exact);
    assert_eq!((body.mode, body.pop_share_queue_num), (MessageRequestMode::Pop, 0));
    ours
}

fn topic_route_data(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (route, _) = check::<TopicRouteData>(rel, golden, Match::Json);
    check_route(&route);
    let legacy = route.encode_legacy();
    compare(rel, golden, &legacy, Match::Exact);
    legacy
}

fn topic_route_data_standard(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (route, _) = check::<TopicRouteData>(rel, golden, Match::Exact);
    check_route(&route);
    let standard = route.encode_for(version::V5_3_3, false);
    compare(rel, golden, &standard, Match::Exact);
    standard
}

fn cluster_info(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (info, ours) = check::<ClusterInfo>(rel, golden, Match::Json);
    assert_eq!(
        info.broker_addr_table["broker-a"].broker_addrs[&1],
        "192.168.0.11:10911"
    );
    assert_eq!(info.broker_addr_table["broker-b"].cluster, "DefaultCluster");
    assert_eq!(info.cluster_addr_table["DefaultCluster"], ["broker-b", "broker-a"]);
    ours
}

fn register_broker_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (body, ours) = check::<RegisterBrokerBody>(rel, golden, Match::Exact);
    check_register(&body, true);
    assert!(body.topic_config_serialize_wrapper.mapping_data_version.is_some());
    ours
}

fn v49_register_broker_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (body, ours) = check::<RegisterBrokerBody>(rel, golden, Match::RoundTrip);
    check_register(&body, false);
    assert!(body.topic_config_serialize_wrapper.mapping_data_version.is_none());
    ours
}

fn topic_config_serialize_wrapper(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (wrapper, ours) = check::<TopicConfigSerializeWrapper>(rel, golden, Match::Json);
    check_topic_wrapper(&wrapper, true);
    assert!(wrapper.topic_queue_mapping_info_map.is_none());
    ours
}

fn v49_topic_config_serialize_wrapper(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (wrapper, ours) = check::<TopicConfigSerializeWrapper>(rel, golden, Match::RoundTrip);
    check_topic_wrapper(&wrapper, false);
    ours
}

fn topic_config_and_mapping_serialize_wrapper(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (wrapper, ours) = check::<TopicConfigSerializeWrapper>(rel, golden, Match::Json);
    check_topic_wrapper(&wrapper, true);
    assert_eq!(wrapper.mapping_data_version.map(|v| v.timestamp), Some(T0));
    assert_eq!(wrapper.topic_queue_mapping_detail_map.map(|m| m.len()), Some(0));
    ours
}

fn subscription_group(rel: &str, golden: &[u8], name: &str) -> Vec<u8> {
    // Our wrapper always writes `forbiddenTable`, which the remoting class lacks.
    let expect = if name.ends_with("manager.json") {
        Match::Exact
    } else {
        Match::RoundTrip
    };
    let (wrapper, ours) = check::<SubscriptionGroupWrapper>(rel, golden, expect);
    check_groups(&wrapper, "cg_orderly");
    let orderly = &wrapper.subscription_group_table["cg_orderly"];
    assert!(orderly.consume_message_orderly);
    assert_eq!(orderly.group_retry_policy.kind, GroupRetryPolicyType::Customized);
    ours
}

fn v49_subscription_group_wrapper(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (wrapper, ours) = check::<SubscriptionGroupWrapper>(rel, golden, Match::RoundTrip);
    check_groups(&wrapper, "cg_other");
    // 4.9.8 has no such property; the 5.x default applies.
    assert_eq!(wrapper.subscription_group_table["cg_other"].consume_timeout_minute, 15);
    ours
}

fn consumer_offsets(rel: &str, golden: &[u8], name: &str) -> Vec<u8> {
    // The manager also writes `groupTopicMap`, which the wrapper ignores.
    let expect = if name.ends_with("manager.json") {
        Match::RoundTrip
    } else {
        Match::Json
    };
    let (offsets, ours) = check::<ConsumerOffsetSerializeWrapper>(rel, golden, expect);
    assert_eq!(offsets.data_version.map(|v| (v.counter, v.timestamp)), Some((5, T0)));
    let table = &offsets.offset_table["TopicTest@cg_demo"];
    assert_eq!(
        table.iter().map(|(q, o)| (*q, *o)).collect::<Vec<_>>(),
        [(0, 42), (1, 40), (2, 41), (3, 39)]
    );
    assert_eq!(offsets.offset_table["%RETRY%cg_demo@cg_demo"][&0], 0);
    ours
}

fn delay_offset(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (offsets, ours) = check::<DelayOffsetSerializeWrapper>(rel, golden, Match::Json);
    assert_eq!(offsets.data_version.map(|v| v.counter), Some(3));
    assert_eq!(
        offsets.offset_table.into_iter().collect::<Vec<_>>(),
        [(1, 0), (2, 17), (3, 4)]
    );
    ours
}

fn heartbeat_data(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (heartbeat, ours) = check::<HeartbeatData>(rel, golden, Match::Exact);
    check_heartbeat(&heartbeat);
    ours
}

fn v49_heartbeat_data(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (heartbeat, ours) = check::<HeartbeatData>(rel, golden, Match::RoundTrip);
    check_heartbeat(&heartbeat);
    ours
}

fn consumer_list(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (ids, ours) = check::<ConsumerIdList>(rel, golden, Match::Exact);
    assert_eq!(ids.consumer_id_list, [CLIENT_ID, "192.168.0.12@777#2"]);
    ours
}

fn lock_batch_request_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (request, ours) = check::<LockBatchRequestBody>(rel, golden, Match::Exact);
    assert_eq!(
        (request.client_id.as_str(), request.consumer_group.as_str()),
        (CLIENT_ID, GROUP)
    );
    assert!(!request.only_this_broker);
    assert_eq!(request.mq_set, [queue(1), queue(0)]);
    ours
}

fn lock_batch_response_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (response, ours) = check::<LockBatchResponseBody>(rel, golden, Match::Exact);
    assert_eq!(response.lock_ok_mq_set, [queue(0)]);
    ours
}

fn consume_stats(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (stats, ours) = check::<ConsumeStats>(rel, golden, Match::Json);
    assert_eq!(stats.consume_tps, 12.5);
    let first = stats.offset_table[&queue(1)];
    assert_eq!(
        (first.broker_offset, first.consumer_offset, first.pull_offset),
        (121, 119, 121)
    );
    assert_eq!(stats.offset_table[&queue(0)].last_timestamp, T0);
    ours
}

fn topic_stats_table(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (stats, ours) = check::<TopicStatsTable>(rel, golden, Match::Json);
    assert_eq!(stats.topic_put_tps, 3.25);
    let first = stats.offset_table[&queue(1)];
    assert_eq!(
        (first.min_offset, first.max_offset, first.last_update_timestamp),
        (0, 121, T0 + 1)
    );
    ours
}

fn reset_offset_body(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (body, ours) = check::<ResetOffsetBody>(rel, golden, Match::Json);
    assert_eq!(
        body.offset_table.into_iter().collect::<Vec<_>>(),
        [(queue(0), 100), (queue(1), 97)]
    );
    ours
}

fn kv_table(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (table, ours) = check::<KvTable>(rel, golden, Match::Json);
    assert_eq!(table.table.len(), 17);
    assert_eq!(table.table["brokerVersionDesc"], "V5_3_3");
    assert_eq!(table.table["putTps"], "12.50 11.00 10.20");
    assert_eq!(table.table["commitLogDiskRatio"], "0.35");
    ours
}

fn consumer_connection(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (connection, ours) = check::<ConsumerConnection>(rel, golden, Match::Exact);
    let member = &connection.connection_set[0];
    assert_eq!(
        (member.client_id.as_str(), member.client_addr.as_str()),
        (CLIENT_ID, "192.168.0.9:53412")
    );
    assert_eq!(member.version, 479);
    assert_eq!(connection.consume_type, Some(ConsumeType::ConsumePassively));
    assert_eq!(connection.message_model, Some(MessageModel::Clustering));
    assert_eq!(
        connection.consume_from_where,
        Some(ConsumeFromWhere::ConsumeFromLastOffset)
    );
    assert_eq!(connection.subscription_table[TOPIC].sub_string, "TagA || TagB");
    ours
}

fn topic_list(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (list, ours) = check::<TopicList>(rel, golden, Match::Exact);
    assert_eq!(list.topic_list, ["%RETRY%cg_demo", TOPIC, "TBW102"]);
    assert!(list.broker_addr.is_none());
    ours
}

fn query_consume_by_who(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (groups, ours) = check::<GroupList>(rel, golden, Match::Exact);
    assert_eq!(groups.group_list, ["cg_other", GROUP]);
    ours
}

fn consumer_running_info(rel: &str, golden: &[u8]) -> Vec<u8> {
    let (info, ours) = check::<ConsumerRunningInfo>(rel, golden, Match::Json);
    assert_eq!(info.properties["PROP_CONSUME_TYPE"], "CONSUME_PASSIVELY");
    assert_eq!(info.properties["PROP_CONSUMER_START_TIMESTAMP"], "1700000000000");
    assert_eq!(info.properties["consumerGroup"], GROUP);
    let process_queue = &info.mq_table[&queue(0)];
    assert_eq!(
        (process_queue.commit_offset, process_queue.last_pull_timestamp),
        (42, T0)
    );
    assert!(info.mq_pop_table.is_empty());
    let status = &info.status_table[TOPIC];
    assert_eq!(
        (status.pull_rt, status.consume_ok_tps, status.consume_failed_msgs),
        (1.5, 9.5, 3)
    );
    assert_eq!(info.subscription_set[0].code_set, [2_598_919, 2_598_920]);
    assert!(info.jstack.is_none());
    ours
}

fn queue(queue_id: i32) -> MessageQueue {
    MessageQueue::new(TOPIC, "broker-a", queue_id)
}

fn check_route(route: &TopicRouteData) {
    let names: Vec<_> = route.broker_datas.iter().map(|b| b.broker_name.as_str()).collect();
    assert_eq!(names, ["broker-a", "broker-b"]);
    let broker_a = &route.broker_datas[0];
    assert_eq!(broker_a.broker_addrs[&0], "192.168.0.10:10911");
    assert_eq!(broker_a.broker_addrs[&1], "192.168.0.11:10911");
    assert!(!broker_a.enable_acting_master);
    assert_eq!(route.broker_datas[1].broker_addrs[&0], "192.168.0.20:10911");
    for queue_data in &route.queue_datas {
        let counts = (queue_data.read_queue_nums, queue_data.write_queue_nums, queue_data.perm);
        assert_eq!(counts, (4, 4, 6));
    }
    assert!(route.filter_server_table.is_empty());
    assert!(route.order_topic_conf.is_none());
}

fn check_register(body: &RegisterBrokerBody, five_x: bool) {
    assert!(body.filter_server_list.is_empty());
    let wrapper = &body.topic_config_serialize_wrapper;
    assert_eq!((wrapper.data_version.counter, wrapper.data_version.timestamp), (12, T0));
    let topic = &wrapper.topic_config_table[TOPIC];
    assert_eq!((topic.read_queue_nums, topic.write_queue_nums, topic.perm), (4, 4, 6));
    assert_eq!(topic.topic_filter_type, TopicFilterType::SingleTag);
    let message_type = topic.attributes.get("+message.type").map(String::as_str);
    assert_eq!(message_type, five_x.then_some("NORMAL"));
    let template = &wrapper.topic_config_table["TBW102"];
    assert_eq!((template.read_queue_nums, template.perm), (8, 7));
    assert_eq!(wrapper.topic_config_table.len(), 2);
}

fn check_compressed(rel: &str, golden: &[u8], request_version: i32, five_x: bool) -> Vec<u8> {
    let body =
        RegisterBrokerBody::decode_request(golden, true, request_version).unwrap_or_else(|e| panic!("{rel}: {e}"));
    check_register(&body, five_x);
    let mapping = body
        .topic_config_serialize_wrapper
        .topic_queue_mapping_info_map
        .as_ref();
    assert_eq!(mapping.map(|m| m.len()), five_x.then_some(0));
    let ours = body.encode_compressed(request_version).unwrap();
    assert_eq!(
        RegisterBrokerBody::decode_compressed(&ours, request_version).unwrap(),
        body
    );
    for cut in 0..golden.len() {
        assert!(
            RegisterBrokerBody::decode_compressed(&golden[..cut], request_version).is_err(),
            "{rel}: cut {cut}"
        );
    }
    ours
}

fn check_topic_wrapper(wrapper: &TopicConfigSerializeWrapper, five_x: bool) {
    assert_eq!((wrapper.data_version.counter, wrapper.data_version.timestamp), (12, T0));
    let names: Vec<_> = wrapper.topic_config_table.keys().map(String::as_str).collect();
    assert_eq!(names, ["%RETRY%cg_demo", "TBW102", TOPIC]);
    let retry = &wrapper.topic_config_table["%RETRY%cg_demo"];
    assert_eq!((retry.read_queue_nums, retry.write_queue_nums, retry.perm), (1, 1, 6));
    assert_eq!(wrapper.topic_config_table[TOPIC].attributes.len(), usize::from(five_x));
}

fn check_groups(wrapper: &SubscriptionGroupWrapper, second: &str) {
    assert_eq!((wrapper.data_version.counter, wrapper.data_version.timestamp), (2, T0));
    let names: Vec<_> = wrapper.subscription_group_table.keys().map(String::as_str).collect();
    assert_eq!(names, [GROUP, second]);
    let config = &wrapper.subscription_group_table[GROUP];
    assert_eq!(config.group_name, GROUP);
    assert_eq!(
        (config.retry_queue_nums, config.retry_max_times, config.broker_id),
        (1, 16, 0)
    );
    assert_eq!(config.which_broker_when_consume_slowly, 1);
    assert!(config.consume_enable && config.consume_broadcast_enable && config.notify_consumer_ids_changed_enable);
    assert!(!config.consume_message_orderly);
}

fn check_heartbeat(heartbeat: &HeartbeatData) {
    assert_eq!(heartbeat.client_id, CLIENT_ID);
    let consumer = &heartbeat.consumer_data_set[0];
    assert_eq!(consumer.group_name, GROUP);
    assert_eq!(consumer.consume_type, ConsumeType::ConsumePassively);
    assert_eq!(consumer.message_model, MessageModel::Clustering);
    assert_eq!(consumer.consume_from_where, ConsumeFromWhere::ConsumeFromLastOffset);
    let topics: Vec<_> = consumer
        .subscription_data_set
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    assert_eq!(topics, ["%RETRY%cg_demo", TOPIC]);
    let tagged = &consumer.subscription_data_set[1];
    assert_eq!((tagged.sub_string.as_str(), tagged.sub_version), ("TagA || TagB", T0));
    assert_eq!(tagged.tags_set, ["TagA", "TagB"]);
    assert_eq!(tagged.code_set, [2_598_919, 2_598_920]);
    let producers: Vec<_> = heartbeat
        .producer_data_set
        .iter()
        .map(|p| p.group_name.as_str())
        .collect();
    assert_eq!(producers, ["pg_demo", "CLIENT_INNER_PRODUCER"]);
    assert_eq!((heartbeat.heartbeat_fingerprint, heartbeat.without_sub), (0, false));
}

#[test]
fn every_golden_body_decodes_and_re_encodes() {
    let out_dir = std::env::var_os("FERROCKET_GOLDEN_OUT").map(PathBuf::from);
    let mut checked = 0;
    let mut unknown = Vec::new();
    for dir in BODY_DIRS {
        let Ok(entries) = fs::read_dir(golden_root().join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|entry| entry.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let rel = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let golden = fs::read(&path).unwrap();
            let Some(ours) = check_file(&rel, &golden) else {
                unknown.push(rel);
                continue;
            };
            checked += 1;
            if let Some(out_dir) = &out_dir {
                let target = out_dir.join(&rel);
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                fs::write(target, ours).unwrap();
            }
        }
    }
    assert!(unknown.is_empty(), "golden bodies without a check: {unknown:?}");
    assert!(
        checked >= 29,
        "only {checked} golden bodies found under {:?}",
        golden_root()
    );
}
