//! updateSubGroup, deleteSubGroup, consumerProgress and consumerConnection, printed as mqadmin
//! prints them.

use clap::Args;
use ferrocket_client::Admin;
use ferrocket_client::admin::Target;
use ferrocket_wire::body::{JsonBody, SubscriptionGroupConfig};
use serde_json::{Value, json};

use super::output::{Output, left};
use super::{TargetArgs, parse_bool};

#[derive(Args, Debug)]
pub struct UpdateSubGroupArgs {
    /// The consumer group.
    #[arg(short = 'g', long = "groupName")]
    group: String,
    #[command(flatten)]
    target: TargetArgs,
    /// Consuming allowed (`true|false`).
    #[arg(short = 's', long = "consumeEnable", value_parser = parse_bool)]
    consume_enable: Option<bool>,
    /// A new group starts from the queue's minimum offset (`true|false`; mqadmin's default false).
    #[arg(short = 'm', long = "consumeFromMinEnable", value_parser = parse_bool, default_value = "false")]
    consume_from_min_enable: bool,
    /// Broadcasting allowed (`true|false`; mqadmin's default false).
    #[arg(short = 'd', long = "consumeBroadcastEnable", value_parser = parse_bool, default_value = "false")]
    consume_broadcast_enable: bool,
    /// Orderly consumption (`true|false`).
    #[arg(short = 'o', long = "consumeMessageOrderly", value_parser = parse_bool)]
    consume_message_orderly: Option<bool>,
    /// Retry queues.
    #[arg(short = 'q', long = "retryQueueNums")]
    retry_queue_nums: Option<i32>,
    /// Retries before the DLQ.
    #[arg(short = 'r', long = "retryMaxTimes")]
    retry_max_times: Option<i32>,
    /// Consume from which broker id.
    #[arg(short = 'i', long = "brokerId")]
    broker_id: Option<i64>,
    /// Which broker id when consuming slowly.
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    which_broker_when_consume_slowly: Option<i64>,
    /// Notify clients when the group's members change (`true|false`).
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", value_parser = parse_bool)]
    notify_consumer_ids_changed: Option<bool>,
}

pub async fn update_sub_group(admin: &Admin, out: &Output, args: UpdateSubGroupArgs) -> anyhow::Result<()> {
    let defaults = SubscriptionGroupConfig::default();
    let config = SubscriptionGroupConfig {
        group_name: args.group.trim().to_owned(),
        consume_enable: args.consume_enable.unwrap_or(defaults.consume_enable),
        consume_from_min_enable: args.consume_from_min_enable,
        consume_broadcast_enable: args.consume_broadcast_enable,
        consume_message_orderly: args.consume_message_orderly.unwrap_or(defaults.consume_message_orderly),
        retry_queue_nums: args.retry_queue_nums.unwrap_or(defaults.retry_queue_nums),
        retry_max_times: args.retry_max_times.unwrap_or(defaults.retry_max_times),
        broker_id: args.broker_id.unwrap_or(defaults.broker_id),
        which_broker_when_consume_slowly: args
            .which_broker_when_consume_slowly
            .unwrap_or(defaults.which_broker_when_consume_slowly),
        notify_consumer_ids_changed_enable: args
            .notify_consumer_ids_changed
            .unwrap_or(defaults.notify_consumer_ids_changed_enable),
        ..defaults
    };
    let addrs = admin.create_group(&args.target.target(), &config).await?;
    let document: Value = serde_json::from_slice(&config.encode())?;
    out.emit(json!({ "brokers": addrs, "subscriptionGroupConfig": document }), || {
        let mut text: String = addrs
            .iter()
            .map(|addr| format!("create subscription group to {addr} success.\n"))
            .collect();
        text.push_str(&format!("{}\n", String::from_utf8_lossy(&config.encode())));
        text
    })
}

pub async fn delete_sub_group(
    admin: &Admin,
    out: &Output,
    group: &str,
    target: &Target,
    remove_offset: bool,
) -> anyhow::Result<()> {
    let addrs = admin.delete_group(target, group, remove_offset).await?;
    out.emit(json!({ "group": group, "brokers": addrs, "deleted": true }), || {
        addrs
            .iter()
            .map(|addr| format!("delete subscription group [{group}] from broker [{addr}] success.\n"))
            .collect()
    })
}

pub async fn consumer_progress(admin: &Admin, out: &Output, group: &str, topic: Option<&str>) -> anyhow::Result<()> {
    let mut stats = admin.group_consume_stats(group).await?;
    if let Some(topic) = topic {
        stats.offset_table.retain(|queue, _| queue.topic == topic);
    }
    let diff_total: i64 = stats
        .offset_table
        .values()
        .map(|offsets| (offsets.broker_offset - offsets.consumer_offset).max(0))
        .sum();
    let queues: Vec<Value> = stats
        .offset_table
        .iter()
        .map(|(queue, offsets)| {
            json!({
                "topic": queue.topic,
                "brokerName": queue.broker_name,
                "queueId": queue.queue_id,
                "brokerOffset": offsets.broker_offset,
                "consumerOffset": offsets.consumer_offset,
                "diff": (offsets.broker_offset - offsets.consumer_offset).max(0),
                "lastTimestamp": offsets.last_timestamp,
            })
        })
        .collect();
    let document = json!({
        "group": group,
        "queues": queues,
        "consumeTps": stats.consume_tps,
        "diffTotal": diff_total,
    });
    out.emit(document, || {
        let mut text = format!(
            "{}  {}  {}  {}  {}  {}\n",
            left("#Topic", 64),
            left("#Broker Name", 32),
            left("#QID", 4),
            left("#Broker Offset", 20),
            left("#Consumer Offset", 20),
            left("#Diff", 20)
        );
        for (queue, offsets) in &stats.offset_table {
            text.push_str(&format!(
                "{}  {}  {}  {}  {}  {}\n",
                left(&queue.topic, 64),
                left(&queue.broker_name, 32),
                left(&queue.queue_id.to_string(), 4),
                left(&offsets.broker_offset.to_string(), 20),
                left(&offsets.consumer_offset.to_string(), 20),
                left(
                    &(offsets.broker_offset - offsets.consumer_offset).max(0).to_string(),
                    20
                )
            ));
        }
        text.push_str(&format!(
            "\nConsume TPS: {:.2}\nConsume Diff Total: {diff_total}\n",
            stats.consume_tps
        ));
        text
    })
}

pub async fn consumer_connection(admin: &Admin, out: &Output, group: &str) -> anyhow::Result<()> {
    let connection = admin.consumer_connection(group).await?;
    let document: Value = serde_json::from_slice(&connection.encode())?;
    out.emit(document, || {
        let mut text = format!(
            "{} {} {} #Version\n",
            left("#ClientId", 36),
            left("#ClientAddr", 22),
            left("#Language", 10)
        );
        for client in &connection.connection_set {
            text.push_str(&format!(
                "{} {} {} {}\n",
                left(&client.client_id, 36),
                left(&client.client_addr, 22),
                left(client.language.name().unwrap_or("OTHER"), 10),
                client.version
            ));
        }
        text.push_str(&format!(
            "\nBelow is subscription:\n{} #SubExpression\n",
            left("#Topic", 20)
        ));
        for (topic, subscription) in &connection.subscription_table {
            text.push_str(&format!("{} {}\n", left(topic, 20), subscription.sub_string));
        }
        text.push_str(&format!(
            "\nConsumeType: {}\nMessageModel: {}\nConsumeFromWhere: {}\n",
            java_enum(connection.consume_type.as_ref()),
            java_enum(connection.message_model.as_ref()),
            java_enum(connection.consume_from_where.as_ref())
        ));
        text
    })
}

pub async fn producer_connection(admin: &Admin, out: &Output, group: &str, topic: &str) -> anyhow::Result<()> {
    let connection = admin.producer_connection(group, topic).await?;
    let document: Value = serde_json::from_slice(&connection.encode())?;
    out.emit(document, || {
        connection
            .connection_set
            .iter()
            .enumerate()
            .map(|(index, client)| {
                format!(
                    "{:04}  {} {} {} {}\n",
                    index + 1,
                    left(&client.client_id, 32),
                    left(&client.client_addr, 22),
                    left(client.language.name().unwrap_or("OTHER"), 8),
                    client.version
                )
            })
            .collect()
    })
}

/// A Java enum's name as its JSON carries it (`CONSUME_PASSIVELY`), or `null` as Java prints none.
fn java_enum<T: serde::Serialize>(value: Option<&T>) -> String {
    match value.map(serde_json::to_value) {
        Some(Ok(Value::String(name))) => name,
        _ => "null".into(),
    }
}
