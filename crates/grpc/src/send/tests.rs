use super::*;
use crate::proto::{Resource, SystemProperties};

fn message(body: &[u8], system: SystemProperties) -> proto::Message {
    proto::Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: "T".to_owned(),
        }),
        user_properties: Default::default(),
        system_properties: Some(system),
        body: Bytes::copy_from_slice(body),
    }
}

fn system(id: &str) -> SystemProperties {
    SystemProperties {
        message_id: id.to_owned(),
        message_type: MessageType::Normal as i32,
        ..SystemProperties::default()
    }
}

fn refusal(message: &proto::Message) -> Option<(i32, String)> {
    prepare(message, "T", "1.2.3.4:5", 1_000, &SendLimits::default())
        .err()
        .map(|s| (s.code, s.message))
}

#[test]
fn a_fifo_message_carries_its_group_as_the_sharding_key() {
    let mut props = system("ID1");
    props.message_group = Some("g1".to_owned());
    props.tag = Some("TagA".to_owned());
    props.keys = vec!["k1".to_owned(), "k2".to_owned()];
    let prepared = prepare(&message(b"x", props), "T", "1.2.3.4:5", 1_000, &SendLimits::default());
    let prepared = prepared.unwrap_or_else(|s| panic!("refused: {s:?}"));
    let get = |key: &str| prepared.properties.get(key).map(String::as_str);
    assert_eq!(get(keys::SHARDING_KEY), Some("g1"));
    assert_eq!(get(keys::UNIQ_KEY), Some("ID1"));
    assert_eq!(get(keys::TAGS), Some("TagA"));
    assert_eq!(get(keys::KEYS), Some("k1 k2"));
    assert_eq!(get(keys::PGROUP), Some("T"));
    assert_eq!(get(keys::BORN_HOST), Some("1.2.3.4:5"));
    assert_eq!(prepared.sys_flag, 0);
}

#[test]
fn delivery_time_and_transaction_set_their_properties_and_flags() {
    let mut props = system("ID2");
    props.delivery_timestamp = Some(prost_types::Timestamp { seconds: 5, nanos: 0 });
    let prepared = prepare(&message(b"x", props), "T", "p", 1_000, &SendLimits::default());
    assert_eq!(
        prepared
            .ok()
            .and_then(|p| p.properties.get(keys::TIMER_DELIVER_MS).cloned()),
        Some("5000".to_owned())
    );
    let mut props = system("ID3");
    props.message_type = MessageType::Transaction as i32;
    let prepared = prepare(&message(b"x", props), "T", "p", 1_000, &SendLimits::default());
    assert_eq!(
        prepared.map(|p| p.sys_flag).ok(),
        Some(sysflag::TRANSACTION_PREPARED_TYPE)
    );
}

#[test]
fn bad_messages_get_javas_codes_and_messages() {
    assert_eq!(
        refusal(&message(b"", system("A"))),
        Some((41302, "message body cannot be empty".to_owned()))
    );
    assert_eq!(
        refusal(&message(b"x", system(" "))),
        Some((40009, "message id cannot be empty".to_owned()))
    );
    let mut far = system("A");
    far.delivery_timestamp = Some(prost_types::Timestamp {
        seconds: 2 * 86_400,
        nanos: 0,
    });
    assert_eq!(
        refusal(&message(b"x", far)),
        Some((
            40012,
            "the max delay time of message is too large, max is 86400000".to_owned()
        ))
    );
    let mut bad_tag = system("A");
    bad_tag.tag = Some("a|b".to_owned());
    assert_eq!(
        refusal(&message(b"x", bad_tag)),
        Some((40004, "tag cannot contain '|'".to_owned()))
    );
    let mut reserved = message(b"x", system("A"));
    reserved.user_properties.insert("KEYS".to_owned(), "v".to_owned());
    assert_eq!(
        refusal(&reserved),
        Some((40007, "property is used by system: KEYS".to_owned()))
    );
    let big = vec![0u8; MESSAGE_BODY_BYTES_MAX + 1];
    assert_eq!(
        refusal(&message(&big, system("A"))),
        Some((41301, "message body cannot exceed the max 4194304".to_owned()))
    );
}

#[test]
fn the_broker_answer_maps_as_javas_local_message_service() {
    let request = RemotingCommand::request(RequestCode::SEND_MESSAGE);
    let mut refused = RemotingCommand::response_to(&request, ResponseCode::NO_PERMISSION, Some("no".to_owned()));
    refused.ext_fields = None;
    let (answer, outcome) = response(Some(&refused), "ID");
    assert_eq!(
        answer.status.map(|s| (s.code, s.message)),
        Some((50001, "org.apache.rocketmq.proxy.common.ProxyException: no".to_owned()))
    );
    assert!(answer.entries.is_empty() && outcome.is_none());
    let timed_out = RemotingCommand::response_to(&request, ResponseCode::FLUSH_DISK_TIMEOUT, None);
    let (answer, _) = response(Some(&timed_out), "ID");
    assert_eq!(
        answer.status.map(|s| s.code),
        Some(Code::MasterPersistenceTimeout as i32)
    );
}

#[test]
fn java_hashes_match() {
    assert_eq!(java_string_hash(""), 0);
    assert_eq!(java_string_hash("abc"), 96_354);
    assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
    for buckets in 1..10 {
        assert!((0..buckets).contains(&consistent_hash(i64::from(java_string_hash("group-7")), buckets)));
    }
    assert_eq!(consistent_hash(0, 1), 0);
}
