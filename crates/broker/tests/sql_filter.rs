//! SQL92 property filters against a real broker on 127.0.0.1, on paused time: pulls deliver
//! exactly the messages whose properties match (the expression in the pull or registered by
//! heartbeat), CHECK_CLIENT_CONFIG refuses a bad expression with the compiler's message, and
//! everything SQL92 is refused while `enablePropertyFilter` is off (Java's default).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use bytes::Bytes;
use common::{ask, client, properties, send_v2_header, start_broker, with_header};
use ferrocket_wire::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, JsonBody, MessageModel, SubscriptionData,
};
use ferrocket_wire::header::{CustomHeader, PullMessageRequestHeader, PullMessageResponseHeader};
use ferrocket_wire::message::decode_all;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

const TOPIC: &str = "SqlTopic";
const GROUP: &str = "sql-group";
const SELECTOR: &str = "a > 5 AND b = 'x'";
const MESSAGES: usize = 1_000;
/// `PullSysFlag.FLAG_SUBSCRIPTION`.
const FLAG_SUBSCRIPTION: i32 = 0x4;

/// Message `i`'s properties: `a` cycles 0..=9 (missing every 7th), `b` cycles x, y, z, and a
/// few carry text where a number is expected.
fn message_properties(i: usize) -> Vec<(String, String)> {
    let mut pairs = vec![("b".to_owned(), ["x", "y", "z"][i % 3].to_owned())];
    if !i.is_multiple_of(7) {
        let a = if i.is_multiple_of(11) {
            "many".to_owned()
        } else {
            (i % 10).to_string()
        };
        pairs.push(("a".to_owned(), a));
    }
    pairs
}

fn matches(i: usize) -> bool {
    let pairs = message_properties(i);
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    get("a").and_then(|a| a.parse::<i64>().ok()).is_some_and(|a| a > 5) && get("b") == Some("x")
}

fn pull(offset: i64, subscription: Option<&str>) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: if subscription.is_some() { FLAG_SUBSCRIPTION } else { 0 },
        suspend_timeout_millis: 15_000,
        subscription: subscription.map(str::to_owned),
        expression_type: Some("SQL92".into()),
        sub_version: 1,
        ..PullMessageRequestHeader::default()
    };
    with_header(RequestCode::PULL_MESSAGE, &header)
}

fn check_client_config(expression: &str) -> RemotingCommand {
    let body = serde_json::json!({
        "clientId": "127.0.0.1@sql",
        "group": GROUP,
        "subscriptionData": {
            "classFilterMode": false, "codeSet": [], "expressionType": "SQL92",
            "subString": expression, "subVersion": 1, "tagsSet": [], "topic": TOPIC
        }
    });
    RemotingCommand::request(RequestCode::CHECK_CLIENT_CONFIG).with_body(Bytes::from(body.to_string()))
}

fn heartbeat(expression: &str, sub_version: i64) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: "127.0.0.1@sql".into(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            consume_type: ConsumeType::ConsumePassively,
            group_name: GROUP.into(),
            message_model: MessageModel::Clustering,
            subscription_data_set: vec![SubscriptionData {
                topic: TOPIC.into(),
                sub_string: expression.into(),
                expression_type: "SQL92".into(),
                sub_version,
                ..SubscriptionData::default()
            }],
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    };
    RemotingCommand::request(RequestCode::HEART_BEAT).with_body(data.encode())
}

/// Pulls the whole queue from 0 and returns the indices (bodies) delivered.
async fn pull_all(
    client: &ferrocket_net::Client,
    broker: &ferrocket_broker::BrokerHandle,
    sql: Option<&str>,
) -> Vec<usize> {
    let mut delivered = Vec::new();
    let mut offset = 0;
    while offset < MESSAGES as i64 {
        let response = ask(client, broker, pull(offset, sql)).await;
        let code = ResponseCode(response.code);
        assert!(
            code == ResponseCode::SUCCESS || code == ResponseCode::PULL_RETRY_IMMEDIATELY,
            "{code:?} {:?}",
            response.remark
        );
        if code == ResponseCode::SUCCESS {
            let decoded = decode_all(response.body.as_deref().unwrap());
            for message in decoded.messages {
                delivered.push(std::str::from_utf8(&message.body).unwrap().parse().unwrap());
            }
        }
        let next = PullMessageResponseHeader::from_command(&response)
            .unwrap()
            .next_begin_offset;
        assert!(next > offset, "no progress at {offset}");
        offset = next;
    }
    delivered
}

async fn send_all(client: &ferrocket_net::Client, broker: &ferrocket_broker::BrokerHandle) {
    for i in 0..MESSAGES {
        let pairs = message_properties(i);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let request = with_header(
            RequestCode::SEND_MESSAGE_V2,
            &send_v2_header(TOPIC, 0, &properties(&pairs)),
        )
        .with_body(Bytes::from(i.to_string()));
        assert_eq!(ask(client, broker, request).await.code, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn pulls_deliver_exactly_the_matching_messages() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |c| c.enable_property_filter = true).await;
    let client = client();
    send_all(&client, &broker).await;
    let expected: Vec<usize> = (0..MESSAGES).filter(|i| matches(*i)).collect();
    assert!(expected.len() > 50);

    assert_eq!(pull_all(&client, &broker, Some(SELECTOR)).await, expected);
    // As Java filters while it reads (`isMatchedByCommitLog` in `getMessage`), one pull brings
    // maxMsgNums matching messages, not maxMsgNums read and then thinned out.
    let first = ask(&client, &broker, pull(0, Some(SELECTOR))).await;
    assert_eq!(decode_all(first.body.as_deref().unwrap()).messages.len(), 32);

    assert_eq!(ask(&client, &broker, heartbeat(SELECTOR, 1)).await.code, 0);
    assert_eq!(pull_all(&client, &broker, None).await, expected);

    // A registered expression that does not compile has no filter data, as in Java.
    assert_eq!(ask(&client, &broker, heartbeat("a >", 2)).await.code, 0);
    let response = ask(&client, &broker, pull(0, None)).await;
    assert_eq!(ResponseCode(response.code), ResponseCode::FILTER_DATA_NOT_EXIST);
}

#[tokio::test(start_paused = true)]
async fn check_client_config_refuses_a_bad_expression_with_the_parse_error() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |c| c.enable_property_filter = true).await;
    let client = client();
    assert_eq!(ask(&client, &broker, check_client_config(SELECTOR)).await.code, 0);
    let response = ask(&client, &broker, check_client_config("a > 'x'")).await;
    assert_eq!(ResponseCode(response.code), ResponseCode::SUBSCRIPTION_PARSE_FAILED);
    assert_eq!(
        response.remark.as_deref(),
        Some("java.lang.RuntimeException: Value ''x'' cannot be compared.")
    );
    let response = ask(&client, &broker, check_client_config("a >")).await;
    assert_eq!(ResponseCode(response.code), ResponseCode::SUBSCRIPTION_PARSE_FAILED);
    assert!(
        response
            .remark
            .unwrap()
            .starts_with("org.apache.rocketmq.filter.parser.ParseException: Encountered \"<EOF>\"")
    );
}

#[tokio::test(start_paused = true)]
async fn sql92_is_refused_while_property_filtering_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |_| {}).await;
    let client = client();
    let refusal = Some("The broker does not support consumer to filter message by SQL92");
    let response = ask(&client, &broker, check_client_config(SELECTOR)).await;
    assert_eq!(
        (ResponseCode(response.code), response.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, refusal)
    );
    send_all_few(&client, &broker).await;
    let response = ask(&client, &broker, pull(0, Some(SELECTOR))).await;
    assert_eq!(
        (ResponseCode(response.code), response.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, refusal)
    );
    assert_eq!(ask(&client, &broker, heartbeat(SELECTOR, 1)).await.code, 0);
    let response = ask(&client, &broker, pull(0, None)).await;
    assert_eq!(
        (ResponseCode(response.code), response.remark.as_deref()),
        (ResponseCode::SYSTEM_ERROR, refusal)
    );
}

async fn send_all_few(client: &ferrocket_net::Client, broker: &ferrocket_broker::BrokerHandle) {
    let request = with_header(
        RequestCode::SEND_MESSAGE_V2,
        &send_v2_header(TOPIC, 0, &properties(&[("a", "9")])),
    )
    .with_body(Bytes::from_static(b"0"));
    assert_eq!(ask(client, broker, request).await.code, 0);
}

/// Java's `notifyMessageArriving` reads an arrival's properties before it wakes an SQL92 pull:
/// a held pull stays held while messages it would not receive arrive, and is answered by the
/// first one it wants.
#[tokio::test(start_paused = true)]
async fn a_held_sql92_pull_stays_held_while_non_matching_messages_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), |c| c.enable_property_filter = true).await;
    let client = client();
    let send = |a: &str, b: &'static str| {
        with_header(
            RequestCode::SEND_MESSAGE_V2,
            &send_v2_header(TOPIC, 0, &properties(&[("a", a), ("b", "x")])),
        )
        .with_body(Bytes::from_static(b.as_bytes()))
    };
    assert_eq!(ask(&client, &broker, send("1", "first")).await.code, 0);
    let holds = std::sync::Arc::clone(&broker.broker().pull_holds);
    let mut header = PullMessageRequestHeader::from_command(&pull(1, Some(SELECTOR))).unwrap();
    // FLAG_SUSPEND | FLAG_SUBSCRIPTION.
    header.sys_flag = 0x2 | FLAG_SUBSCRIPTION;
    let request = with_header(RequestCode::PULL_MESSAGE, &header);
    let mut held = client
        .invoke_async(
            &broker.local_addr().to_string(),
            request,
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    let pass = |ms: u64| async move {
        for _ in 0..ms / 10 {
            tokio::time::advance(std::time::Duration::from_millis(10)).await;
        }
    };
    pass(100).await;
    assert_eq!(holds.len(), 1, "the pull is not held");
    for a in ["2", "3", "4"] {
        assert_eq!(ask(&client, &broker, send(a, "unwanted")).await.code, 0);
        pass(200).await;
    }
    assert!(
        tokio::time::timeout(std::time::Duration::ZERO, &mut held)
            .await
            .is_err(),
        "messages the expression refuses answered the held SQL92 pull"
    );
    assert_eq!(holds.len(), 1);
    assert_eq!(ask(&client, &broker, send("9", "wanted")).await.code, 0);
    let response = tokio::time::timeout(std::time::Duration::from_millis(500), held)
        .await
        .expect("the matching message did not release the pull")
        .unwrap();
    assert_eq!(response.code, 0, "{:?}", response.remark);
    let decoded = decode_all(response.body.as_deref().unwrap());
    let bodies: Vec<&[u8]> = decoded.messages.iter().map(|m| &m.body[..]).collect();
    assert_eq!(bodies, [&b"wanted"[..]]);
    assert!(holds.is_empty());
}
