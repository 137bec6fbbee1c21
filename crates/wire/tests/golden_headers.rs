//! Typed headers against golden frames written by the official Java classes (5.3.3 in
//! `tests/golden/frames/`, 4.9.8 in `tests/golden/v49/frames/`; see `tests/golden/README.md`).
//!
//! Every frame must decode and have an entry below: either the typed header for its command,
//! whose key values are checked against what the generator set and whose re-encoding must give
//! exactly the golden's `extFields` (compared as maps), or an explicit "no typed header". A new
//! golden without an entry fails the test, so nothing is skipped silently. An empty or missing
//! directory fails too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};

use ferrocket_wire::header::*;
use ferrocket_wire::{ExtFields, RemotingCommand};

/// Which Java generator wrote a frame; a few expectations differ between versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Java {
    V5_3_3,
    V4_9_8,
}

const FRAME_DIRS: [(&str, Java); 2] = [("frames", Java::V5_3_3), ("v49/frames", Java::V4_9_8)];

const TOPIC: &str = "TopicTest";
const BROKER_A: &str = "broker-a";
const PRODUCER_GROUP: &str = "pg_demo";
const CONSUMER_GROUP: &str = "cg_demo";
const CLIENT_ID: &str = "192.168.0.9@12345#1";
const UNIQ_1: &str = "C0A8000930391B6D3586001E84800001";
const T0: i64 = 1_700_000_000_000;

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn frame_files() -> Vec<(PathBuf, Java)> {
    let mut files = Vec::new();
    for (dir, java) in FRAME_DIRS {
        let Ok(entries) = fs::read_dir(golden_root().join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(".bin") {
                files.push((path, java));
            }
        }
    }
    files.sort();
    files
}

fn map_of(fields: Option<&ExtFields>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (key, value) in fields.into_iter().flat_map(ExtFields::entries) {
        match value {
            Some(value) => map.insert(key.to_owned(), value.to_owned()),
            None => map.remove(key),
        };
    }
    map
}

/// Reads `H` from the frame and checks that writing it back gives the golden's extFields.
fn typed<H: CustomHeader + Debug>(name: &str, command: &RemotingCommand) -> H {
    let header = H::from_command(command).unwrap_or_else(|e| panic!("{name}: {e}"));
    let rewritten = header.to_ext_fields();
    assert_eq!(
        map_of(Some(&rewritten)),
        map_of(command.ext_fields.as_ref()),
        "{name}: {header:?}"
    );
    header
}

/// UtilAll.crc32: the zlib CRC-32 with the sign bit cleared.
fn java_crc32(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

#[test]
fn every_golden_frame_reads_and_rewrites_its_typed_header() {
    let files = frame_files();
    assert!(
        !files.is_empty(),
        "no golden frames under {}/{{frames,v49/frames}}",
        golden_root().display()
    );
    let mut typed_count = 0;
    for (path, java) in &files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let stem = file
            .strip_suffix(".json.bin")
            .or_else(|| file.strip_suffix(".rmq.bin"))
            .unwrap_or_else(|| panic!("{file}: neither .json.bin nor .rmq.bin"));
        let name = format!("{java:?}/{file}");
        let bytes = fs::read(path).unwrap();
        let (command, used) = RemotingCommand::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(used, bytes.len(), "{name}");
        let (command_name, direction) = stem.split_once('.').unwrap();
        assert_eq!(command.is_response(), direction.starts_with("response"), "{name}");
        if !command.is_response() {
            let code_name = command.request_code().name().map(str::to_ascii_lowercase);
            assert_eq!(code_name.as_deref(), Some(command_name), "{name}");
        }
        if check_frame(&name, stem, *java, &command) {
            typed_count += 1;
        }
    }
    assert!(typed_count > 0, "no golden frame has a typed header");
}

/// Checks one frame; returns whether it has a typed header.
fn check_frame(name: &str, stem: &str, java: Java, command: &RemotingCommand) -> bool {
    match stem {
        "get_routeinfo_by_topic.request" => {
            let h: GetRouteInfoRequestHeader = typed(name, command);
            assert_eq!((h.topic.as_str(), h.accept_standard_json_only), (TOPIC, None), "{name}");
        }
        "register_broker.request" | "register_broker.request_compressed" => check_register_broker(name, java, command),
        "register_broker.response" => {
            let h: RegisterBrokerResponseHeader = typed(name, command);
            assert_eq!(h.master_addr.as_deref(), Some("192.168.0.10:10911"), "{name}");
            assert_eq!(h.ha_server_addr.as_deref(), Some("192.168.0.10:10912"), "{name}");
        }
        "send_message_v2.request" | "send_batch_message.request" => check_send_v2(name, stem, command),
        "send_message_v2.response" => {
            let h: SendMessageResponseHeader = typed(name, command);
            assert_eq!((h.queue_id, h.queue_offset), (2, 40), "{name}");
            assert_eq!(h.transaction_id.as_deref(), Some(UNIQ_1), "{name}");
            assert_eq!(h.region_id.as_deref(), Some("DefaultRegion"), "{name}");
            assert_eq!(h.trace_on, Some(true), "{name}");
            // The offset id of 192.168.0.10:10911 at commit-log offset 65536.
            assert_eq!(h.msg_id, "C0A8000A00002A9F0000000000010000", "{name}");
        }
        "pull_message.request" => check_pull_request(name, command),
        "pull_message.response" | "pull_message.response_not_found" => {
            let h: PullMessageResponseHeader = typed(name, command);
            assert_eq!(h.suggest_which_broker_id, 0, "{name}");
            assert_eq!((h.next_begin_offset, h.min_offset, h.max_offset), (42, 0, 42), "{name}");
            assert_eq!((h.topic_sys_flag, h.group_sys_flag), (Some(0), Some(0)), "{name}");
            assert_eq!((h.offset_delta, h.forbidden_type), (None, None), "{name}");
        }
        "heart_beat.request" => {
            let h: HeartbeatRequestHeader = typed(name, command);
            assert_eq!(h, HeartbeatRequestHeader::default(), "{name}");
        }
        "notify_consumer_ids_changed.request" => {
            let h: NotifyConsumerIdsChangedRequestHeader = typed(name, command);
            assert_eq!(h.consumer_group, CONSUMER_GROUP, "{name}");
            assert!(command.is_oneway(), "{name}");
        }
        "query_consumer_offset.request" => {
            let h: QueryConsumerOffsetRequestHeader = typed(name, command);
            assert_eq!(
                (h.consumer_group.as_str(), h.topic.as_str(), h.queue_id),
                (CONSUMER_GROUP, TOPIC, 2)
            );
            assert_eq!(h.set_zero_if_not_found, None, "{name}");
            assert_eq!(h.rpc.broker_name.as_deref(), Some(BROKER_A), "{name}");
        }
        "query_consumer_offset.response" => {
            let h: QueryConsumerOffsetResponseHeader = typed(name, command);
            assert_eq!(h.offset, 38, "{name}");
        }
        "update_consumer_offset.request" | "update_consumer_offset.request_oneway" => {
            let h: UpdateConsumerOffsetRequestHeader = typed(name, command);
            assert_eq!(
                (h.consumer_group.as_str(), h.topic.as_str()),
                (CONSUMER_GROUP, TOPIC),
                "{name}"
            );
            assert_eq!((h.queue_id, h.commit_offset), (2, 42), "{name}");
            assert_eq!(h.rpc.broker_name.as_deref(), Some(BROKER_A), "{name}");
            assert_eq!(command.is_oneway(), stem.ends_with("oneway"), "{name}");
        }
        "get_consumer_list_by_group.request" => {
            let h: GetConsumerListByGroupRequestHeader = typed(name, command);
            assert_eq!(h.consumer_group, CONSUMER_GROUP, "{name}");
        }
        // Up to 5.3.3 these carry no header; the paging fields read as absent.
        "get_all_topic_config.request" => {
            let h: GetAllTopicConfigRequestHeader = typed(name, command);
            assert_eq!(h, GetAllTopicConfigRequestHeader::default(), "{name}");
        }
        "get_all_subscriptiongroup_config.request" => {
            let h: GetAllSubscriptionGroupRequestHeader = typed(name, command);
            assert_eq!(h, GetAllSubscriptionGroupRequestHeader::default(), "{name}");
        }
        // No header class in Java (or an empty one we do not model): nothing typed to check.
        "get_routeinfo_by_topic.response"
        | "get_routeinfo_by_topic.response_topic_not_exist"
        | "get_all_consumer_offset.request"
        | "get_all_consumer_offset.response"
        | "get_all_delay_offset.request"
        | "get_all_delay_offset.response"
        | "get_all_topic_config.response"
        | "get_all_subscriptiongroup_config.response"
        | "heart_beat.response"
        | "update_consumer_offset.response"
        | "get_consumer_list_by_group.response"
        | "error_non_ascii_remark.response"
        | "request_code_not_supported.response" => return false,
        other => panic!("{name}: no expectation for golden frame `{other}`; add one to check_frame"),
    }
    true
}

fn check_register_broker(name: &str, java: Java, command: &RemotingCommand) {
    let h: RegisterBrokerRequestHeader = typed(name, command);
    assert_eq!(
        (h.broker_name.as_str(), h.broker_addr.as_str(), h.cluster_name.as_str()),
        (BROKER_A, "192.168.0.11:10911", "DefaultCluster"),
        "{name}"
    );
    assert_eq!(
        (h.ha_server_addr.as_str(), h.broker_id),
        ("192.168.0.11:10912", 1),
        "{name}"
    );
    assert_eq!(h.heartbeat_timeout_millis, None, "{name}");
    let acting_master = match java {
        Java::V5_3_3 => Some(false),
        Java::V4_9_8 => None,
    };
    assert_eq!(h.enable_acting_master, acting_master, "{name}");
    assert_eq!(h.compressed, name.contains("request_compressed"), "{name}");
    let body = command.body.as_deref().unwrap_or_default();
    assert_eq!(h.body_crc32, java_crc32(body), "{name}");
}

fn check_send_v2(name: &str, stem: &str, command: &RemotingCommand) {
    let v2: SendMessageRequestHeaderV2 = typed(name, command);
    let batch = stem.starts_with("send_batch");
    assert_eq!(
        (v2.producer_group.as_str(), v2.topic.as_str(), v2.default_topic.as_str()),
        (PRODUCER_GROUP, TOPIC, "TBW102"),
        "{name}"
    );
    assert_eq!((v2.default_topic_queue_nums, v2.sys_flag, v2.flag), (4, 0, 0), "{name}");
    let (queue_id, born) = if batch { (1, T0 + 2000) } else { (2, T0) };
    assert_eq!((v2.queue_id, v2.born_timestamp), (queue_id, born), "{name}");
    assert_eq!(
        (v2.reconsume_times, v2.unit_mode, v2.max_reconsume_times),
        (Some(0), Some(false), None)
    );
    assert_eq!(v2.batch, Some(batch), "{name}");
    assert_eq!(v2.broker_name.as_deref(), Some(BROKER_A), "{name}");
    let properties = v2.properties.clone().unwrap_or_default();
    assert!(properties.contains("UNIQ_KEY\u{1}"), "{name}: {properties:?}");

    // The broker's working form carries the same facts, `n` as `bname`.
    let v1 = SendMessageRequestHeader::from_send_command(command).unwrap();
    assert_eq!(v1.rpc.broker_name.as_deref(), Some(BROKER_A), "{name}");
    assert_eq!(SendMessageRequestHeaderV2::from(v1), v2, "{name}");
}

fn check_pull_request(name: &str, command: &RemotingCommand) {
    let h: PullMessageRequestHeader = typed(name, command);
    assert_eq!(
        (h.consumer_group.as_str(), h.topic.as_str(), h.queue_id, h.queue_offset),
        (CONSUMER_GROUP, TOPIC, 2, 40),
        "{name}"
    );
    assert_eq!((h.max_msg_nums, h.sys_flag, h.commit_offset), (32, 7, 38), "{name}");
    assert_eq!((h.suspend_timeout_millis, h.sub_version), (15000, T0), "{name}");
    assert_eq!(h.subscription.as_deref(), Some("TagA || TagB"), "{name}");
    assert_eq!(h.expression_type.as_deref(), Some("TAG"), "{name}");
    assert_eq!((h.max_msg_bytes, h.request_source), (Some(262_144), Some(-1)), "{name}");
    assert_eq!(h.proxy_forward_client_id.as_deref(), Some(CLIENT_ID), "{name}");
    assert_eq!(h.rpc.broker_name.as_deref(), Some(BROKER_A), "{name}");
}
