//! What the broker's integration tests share: a broker on 127.0.0.1 port 0 over a temp store,
//! a plain client, and request builders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_broker::{BrokerConfig, BrokerHandle};
use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::header::{CustomHeader, SendMessageRequestHeaderV2};
use ferrocket_wire::message::MessageProperties;
use ferrocket_wire::{RemotingCommand, RequestCode};

/// Generous: only a broken broker takes this long to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A broker with no name server and small files (the tests write a handful of messages),
/// adjusted by `tweak`.
pub async fn start_broker(dir: &Path, tweak: impl FnOnce(&mut BrokerConfig)) -> BrokerHandle {
    let mut config = BrokerConfig::standalone(dir, "127.0.0.1", 0, "127.0.0.1:1");
    config.namesrv_addr = None;
    config.store.commit_log_segment_bytes = 1 << 24;
    config.store.consume_queue_file_entries = 1000;
    tweak(&mut config);
    ferrocket_broker::start(config, None).await.unwrap()
}

pub fn client() -> Client {
    Client::new(Router::new(), ClientConfig::default())
}

pub async fn ask(client: &Client, broker: &BrokerHandle, request: RemotingCommand) -> RemotingCommand {
    client
        .invoke(&broker.local_addr().to_string(), request, TIMEOUT)
        .await
        .unwrap()
}

pub fn with_header(code: RequestCode, header: &impl CustomHeader) -> RemotingCommand {
    RemotingCommand::request(code).with_ext_fields(header.to_ext_fields())
}

pub fn properties(pairs: &[(&str, &str)]) -> String {
    pairs.iter().copied().collect::<MessageProperties>().encode().unwrap()
}

/// SEND_MESSAGE_V2's header as the Java client fills it, for `topic`/`queue_id`.
pub fn send_v2_header(topic: &str, queue_id: i32, props: &str) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        producer_group: "pg".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(props.into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some("broker-a".into()),
    }
}

pub fn send_v2(topic: &str, queue_id: i32, props: &str, body: &'static [u8]) -> RemotingCommand {
    with_header(RequestCode::SEND_MESSAGE_V2, &send_v2_header(topic, queue_id, props))
        .with_body(Bytes::from_static(body))
}
