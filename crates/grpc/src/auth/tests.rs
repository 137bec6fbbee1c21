use tonic::metadata::{MetadataMap, MetadataValue};

use super::*;

/// HMAC-SHA1("20261207T091500Z", key "alicesecret1") in hex (`openssl dgst -sha1 -hmac`), as the
/// 5.x client signs `x-mq-date-time`.
const SIGNED: &str = "5b228d837de0b9a846c0cb2550a6df02003baaa1";

fn metadata(authorization: &str, datetime: &str) -> MetadataMap {
    let mut map = MetadataMap::new();
    if !authorization.is_empty() {
        map.insert(AUTHORIZATION_KEY, MetadataValue::try_from(authorization).unwrap());
    }
    if !datetime.is_empty() {
        map.insert(DATE_TIME_KEY, MetadataValue::try_from(datetime).unwrap());
    }
    map
}

#[test]
fn the_clients_header_reads_as_javas_builder_reads_it() {
    let header = format!("MQv2-HMAC-SHA1 Credential=alice, SignedHeaders=x-mq-date-time, Signature={SIGNED}");
    let found = credentials(&metadata(&header, "20261207T091500Z")).unwrap();
    assert_eq!(found.username.as_deref(), Some("alice"));
    assert!(verify_tag(
        b"20261207T091500Z",
        "alicesecret1",
        found.tag.as_deref().unwrap()
    ));
    assert!(!verify_tag(b"20261207T091500Z", "wrong", found.tag.as_deref().unwrap()));
    let upper = header
        .to_uppercase()
        .replace("CREDENTIAL=ALICE", "Credential=alice")
        .replace("SIGNATURE=", "Signature=");
    let found = credentials(&metadata(&upper, "20261207T091500Z")).unwrap();
    assert!(verify_tag(
        b"20261207T091500Z",
        "alicesecret1",
        found.tag.as_deref().unwrap()
    ));
}

#[test]
fn malformed_headers_get_javas_messages() {
    assert_eq!(credentials(&metadata("", "")).unwrap(), Credentials::default());
    let cases = [
        ("MQv2-HMAC-SHA1 Credential=alice", "", GrpcAuthError::DatetimeMissing),
        ("MQv2-HMAC-SHA1", "d", GrpcAuthError::HeaderIncorrect),
        (
            "MQv2-HMAC-SHA1 Credential",
            "d",
            GrpcAuthError::KeyValueLength { actual: 1 },
        ),
        ("MQv2-HMAC-SHA1 Credential=/", "d", GrpcAuthError::CredentialEmpty),
        ("MQv2-HMAC-SHA1 Signature=abc", "d", GrpcAuthError::ContextError),
        ("MQv2-HMAC-SHA1 Signature=zz", "d", GrpcAuthError::ContextError),
    ];
    for (header, datetime, expected) in cases {
        assert_eq!(
            credentials(&metadata(header, datetime)),
            Err(expected.clone()),
            "{header}"
        );
        assert_eq!(expected.status().code, Code::Unauthorized as i32);
    }
    assert_eq!(
        GrpcAuthError::KeyValueLength { actual: 1 }.to_string(),
        "authentication keyValues length is incorrect, actual length=1."
    );
}

#[test]
fn needs_follow_javas_builder() {
    let topic = |name: &str| {
        Some(crate::proto::Resource {
            name: name.to_owned(),
            ..Default::default()
        })
    };
    let route = QueryRouteRequest {
        topic: topic("T"),
        ..Default::default()
    };
    let needs = route.needs().unwrap().unwrap();
    assert_eq!(needs[0].actions, [Action::Pub, Action::Sub]);
    assert_eq!(needs[0].resource.key(), "Topic:T");
    assert_eq!(
        QueryRouteRequest::default().needs().unwrap_err(),
        GrpcAuthError::TopicMissing
    );
    assert_eq!(
        SendMessageRequest::default().needs().unwrap_err(),
        GrpcAuthError::MessageMissing
    );
    let receive = ReceiveMessageRequest {
        group: topic("%RETRY%G"),
        message_queue: Some(MessageQueue {
            topic: topic("T"),
            ..Default::default()
        }),
        ..Default::default()
    };
    let keys: Vec<String> = receive
        .needs()
        .unwrap()
        .unwrap()
        .iter()
        .map(|n| n.resource.key())
        .collect();
    assert_eq!(keys, ["Group:G", "Topic:T"]);
    let producer = HeartbeatRequest {
        client_type: ClientType::Producer as i32,
        ..Default::default()
    };
    assert_eq!(producer.needs().unwrap(), None);
    assert_eq!(SendMessageRequest::RPC, "apache.rocketmq.v2.SendMessageRequest");
    assert_eq!(TelemetryCommand::RPC, "apache.rocketmq.v2.TelemetryCommand");
}

#[test]
fn the_source_ip_drops_port_and_brackets() {
    assert_eq!(source_ip("127.0.0.1:5000"), "127.0.0.1");
    assert_eq!(source_ip("[::1]:5000"), "::1");
}
