//! sendMessage and queryMsgByKey, printed as mqadmin prints them.

use clap::Args;
use ferrocket_client::{
    Admin, Message, MessageQueue, Producer, ProducerOptions, QueueSelector, ReceivedMessage, SendResult,
};
use serde_json::{Value, json};

use super::offsets::{now_ms, parse_timestamp};
use super::output::{Output, human_time, left, right};

#[derive(Args, Debug)]
pub struct SendMessageArgs {
    /// The topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// The body, as UTF-8 text.
    #[arg(short = 'p', long = "body")]
    body: String,
    /// Message keys (space separated).
    #[arg(short = 'k', long = "key")]
    keys: Option<String>,
    /// The tag.
    #[arg(short = 'c', long = "tags")]
    tags: Option<String>,
    /// Send to this broker (with `-i`, to this queue of it).
    #[arg(short = 'b', long = "broker", requires = "queue_id")]
    broker: Option<String>,
    /// Send to this queue id (with `-b`).
    #[arg(short = 'i', long = "qid", requires = "broker")]
    queue_id: Option<i32>,
}

/// Picks the one queue `-b` and `-i` name.
struct ChosenQueue {
    broker_name: String,
    queue_id: i32,
}

impl QueueSelector for ChosenQueue {
    fn select(&self, queues: &[MessageQueue], _: &Message) -> usize {
        queues
            .iter()
            .position(|queue| queue.broker_name == self.broker_name && queue.queue_id == self.queue_id)
            .unwrap_or(usize::MAX)
    }
}

pub async fn send_message(admin: &Admin, out: &Output, args: SendMessageArgs) -> anyhow::Result<()> {
    // mqadmin's producer group is the time it started; so is ours, under a prefix of our own.
    let group = format!("ferrocket-admin-{}", std::process::id());
    let producer = Producer::start(ProducerOptions::new(admin.cluster().options().clone(), group))?;
    let mut message = Message::new(args.topic.trim(), args.body.into_bytes());
    if let Some(tags) = args.tags {
        message = message.with_tags(tags);
    }
    if let Some(keys) = args.keys {
        message = message.with_keys(keys.split(' ').filter(|key| !key.is_empty()).map(str::to_owned));
    }
    let sent = match (args.broker, args.queue_id) {
        (Some(broker_name), Some(queue_id)) => {
            let queues = producer.publish_queues(message.topic()).await?;
            anyhow::ensure!(
                queues
                    .iter()
                    .any(|queue| queue.broker_name == broker_name && queue.queue_id == queue_id),
                "topic {} has no writable queue {queue_id} on broker {broker_name}",
                message.topic()
            );
            producer
                .send_with_selector(message, &ChosenQueue { broker_name, queue_id })
                .await
        }
        _ => producer.send(message).await,
    };
    producer.shutdown().await;
    let sent: SendResult = sent?;
    let status = format!("{:?}", sent.status);
    let java_status = java_send_status(&status);
    out.emit(
        json!({
            "brokerName": sent.broker_name,
            "queueId": sent.queue_id,
            "queueOffset": sent.queue_offset,
            "sendStatus": java_status,
            "msgId": sent.msg_id,
            "offsetMsgId": sent.offset_msg_id,
        }),
        || {
            format!(
                "{}  {}  {}    #MsgId\n{}  {}  {}    {}\n",
                left("#Broker Name", 32),
                left("#QID", 4),
                left("#Send Result", 20),
                left(&sent.broker_name, 32),
                left(&sent.queue_id.to_string(), 4),
                left(&java_status, 20),
                sent.msg_id
            )
        },
    )
}

/// Java's `SendStatus` names (`SEND_OK` ...) for ours (`Ok` ...).
fn java_send_status(ours: &str) -> String {
    let mut java = String::from(if ours == "Ok" { "SEND_" } else { "" });
    for (index, letter) in ours.chars().enumerate() {
        if letter.is_ascii_uppercase() && index > 0 {
            java.push('_');
        }
        java.push(letter.to_ascii_uppercase());
    }
    java
}

pub async fn query_by_key(admin: &Admin, out: &Output, topic: &str, key: &str, max_num: i32) -> anyhow::Result<()> {
    anyhow::ensure!(max_num > 0, "-m must be positive, got {max_num}");
    let found = admin.query_by_key(topic, key, max_num).await?;
    let document: Vec<Value> = found
        .iter()
        .map(|message| {
            json!({
                "msgId": message.msg_id(),
                "brokerName": message.broker_name,
                "queueId": message.queue_id,
                "queueOffset": message.queue_offset,
                "storeTimestamp": message.store_timestamp_ms,
                "tags": message.tags(),
                "keys": message.keys(),
                "body": String::from_utf8_lossy(&message.body),
            })
        })
        .collect();
    out.emit(json!({ "topic": topic, "key": key, "messages": document }), || {
        let mut text = format!(
            "{} {} {}\n",
            left("#Message ID", 50),
            right("#QID", 4),
            right("#Offset", 40)
        );
        for message in &found {
            text.push_str(&format!(
                "{} {} {}\n",
                left(message.msg_id(), 50),
                right(&message.queue_id.to_string(), 4),
                right(&message.queue_offset.to_string(), 40)
            ));
        }
        text
    })
}

/// `clusterRT`'s settings.
#[derive(Args, Debug)]
pub struct ClusterRtArgs {
    /// Messages per broker.
    #[arg(short = 'a', long = "amount", default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..=1_000_000))]
    amount: u32,
    /// Body size in bytes.
    #[arg(short = 's', long = "size", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4_194_304))]
    size: u32,
    /// Only this cluster.
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
    /// Seconds between rounds.
    #[arg(short = 'i', long = "interval", default_value_t = 10)]
    interval: u64,
    /// Rounds to run (mqadmin runs until killed; 0 does too).
    #[arg(long, default_value_t = 1)]
    rounds: u64,
}

/// Send round-trip time to every broker, as `mqadmin clusterRT`: `amount` sends of `size` bytes
/// to the topic named after each broker (which every broker serves), the first one left out of
/// the average as mqadmin leaves it out (it opens the connection).
pub async fn cluster_rt(admin: &Admin, out: &Output, args: ClusterRtArgs) -> anyhow::Result<()> {
    let info = admin.cluster_info().await?;
    let producer_group = format!("ferrocket-admin-rt-{}", std::process::id());
    let producer = Producer::start(ProducerOptions::new(admin.cluster().options().clone(), producer_group))?;
    let body = vec![b'a'; usize::try_from(args.size)?];
    let mut round = 0;
    let result = loop {
        let mut rows = Vec::new();
        for (cluster, broker_names) in &info.cluster_addr_table {
            if args.cluster.as_ref().is_some_and(|only| only != cluster) {
                continue;
            }
            for broker_name in broker_names {
                let (mut elapsed, mut succeeded, mut failed) = (std::time::Duration::ZERO, 0u32, 0u32);
                for index in 0..args.amount {
                    let started = std::time::Instant::now();
                    match producer.send(Message::new(broker_name.as_str(), body.clone())).await {
                        Ok(_) => succeeded += 1,
                        Err(_) => failed += 1,
                    }
                    if index != 0 {
                        elapsed += started.elapsed();
                    }
                }
                let rt_ms = elapsed.as_secs_f64() * 1000.0 / f64::from(args.amount - 1);
                rows.push((cluster.clone(), broker_name.clone(), rt_ms, succeeded, failed));
            }
        }
        if args.cluster.is_some() && rows.is_empty() {
            break Err(anyhow::anyhow!(
                "cluster {:?} does not exist",
                args.cluster.unwrap_or_default()
            ));
        }
        let document: Vec<Value> = rows
            .iter()
            .map(|(cluster, broker, rt, ok, failed)| {
                json!({ "cluster": cluster, "brokerName": broker, "rtMs": rt, "successCount": ok, "failCount": failed })
            })
            .collect();
        let header = round == 0;
        if let Err(error) = out.emit(json!({ "brokers": document }), || {
            let mut text = String::new();
            if header {
                text.push_str(&format!(
                    "{}  {}  {}  {}  #failCount\n",
                    left("#Cluster Name", 24),
                    left("#Broker Name", 24),
                    left("#RT", 4),
                    left("#successCount", 8)
                ));
            }
            for (cluster, broker, rt, ok, failed) in &rows {
                text.push_str(&format!(
                    "{}  {}  {}  {}  {failed}\n",
                    left(cluster, 24),
                    left(broker, 24),
                    left(&format!("{rt:.2}"), 8),
                    left(&ok.to_string(), 16)
                ));
            }
            text
        }) {
            break Err(error);
        }
        round += 1;
        if args.rounds != 0 && round >= args.rounds {
            break Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(args.interval)).await;
    };
    producer.shutdown().await;
    result
}

/// `consumeMessage`'s settings.
#[derive(Args, Debug)]
pub struct ConsumeMessageArgs {
    /// The topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Only this broker's queues (with `-i`, one queue).
    #[arg(short = 'b', long = "brokerName")]
    broker_name: Option<String>,
    /// Only this queue (with `-b`).
    #[arg(short = 'i', long = "queueId", requires = "broker_name")]
    queue_id: Option<i32>,
    /// From this offset of the queue (with `-i`).
    #[arg(short = 'o', long = "offset", requires = "queue_id")]
    offset: Option<i64>,
    /// Only messages stored at or after this time: `now`, milliseconds or
    /// `yyyy-MM-dd#HH:mm:ss:SSS` (UTC).
    #[arg(short = 's', long = "beginTimestamp")]
    begin: Option<String>,
    /// Only messages stored at or before this time (same forms as `-s`).
    #[arg(short = 'e', long = "endTimestamp")]
    end: Option<String>,
    /// At most this many messages in all.
    #[arg(short = 'c', long = "MessageNumber", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    count: u32,
}

/// Prints a topic's stored messages queue by queue from the oldest, as `mqadmin consumeMessage`
/// does, without committing anything.
pub async fn consume_message(admin: &Admin, out: &Output, args: ConsumeMessageArgs) -> anyhow::Result<()> {
    let topic = args.topic.trim();
    let mut queues = admin.read_queues(topic).await?;
    if let Some(broker_name) = &args.broker_name {
        queues.retain(|queue| queue.broker_name == broker_name.trim());
    }
    if let Some(queue_id) = args.queue_id {
        queues.retain(|queue| queue.queue_id == queue_id);
    }
    anyhow::ensure!(!queues.is_empty(), "topic {topic} has no such queue to read");
    let (begin, end) = time_window(args.begin.as_deref(), args.end.as_deref(), now_ms())?;
    let mut left = usize::try_from(args.count)?;
    let mut found = Vec::new();
    for queue in &queues {
        if left == 0 {
            break;
        }
        // Store times only grow along a queue, so a time window is an offset window: from the
        // first message stored at or after `begin` to before the first stored after `end`.
        let from = match begin {
            Some(begin) => Some(admin.offset_at_time(queue, begin).await?.max(args.offset.unwrap_or(0))),
            None => args.offset,
        };
        let until = match end {
            Some(end) => Some(admin.offset_at_time(queue, end.saturating_add(1)).await?),
            None => None,
        };
        let messages = admin.read_queue(queue, from, until, left).await?;
        left -= messages.len();
        found.extend(messages);
    }
    print_messages(out, &found, Shape::List)
}

/// `consumeMessage`'s `-s`/`-e` as milliseconds, refused as mqadmin refuses them: a time
/// after now, or a begin after the end.
fn time_window(begin: Option<&str>, end: Option<&str>, now_ms: i64) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    let begin = begin.map(|text| parse_timestamp(text.trim(), now_ms)).transpose()?;
    let end = end.map(|text| parse_timestamp(text.trim(), now_ms)).transpose()?;
    for (name, at) in [("-s beginTimestamp", begin), ("-e endTimestamp", end)] {
        if let Some(at) = at {
            anyhow::ensure!(
                at <= now_ms,
                "{name} {at} is after now ({now_ms}): nothing is stored yet"
            );
        }
    }
    if let (Some(begin), Some(end)) = (begin, end) {
        anyhow::ensure!(begin <= end, "-s beginTimestamp {begin} is after -e endTimestamp {end}");
    }
    Ok((begin, end))
}

pub async fn query_by_id(admin: &Admin, out: &Output, topic: &str, msg_ids: &str) -> anyhow::Result<()> {
    let mut found = Vec::new();
    for msg_id in msg_ids.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        let message = admin.view_message(topic, msg_id).await?;
        found.push(message.ok_or_else(|| anyhow::anyhow!("message {msg_id} not found in topic {topic}"))?);
    }
    let shape = if found.len() == 1 { Shape::One } else { Shape::List };
    print_messages(out, &found, shape)
}

pub async fn query_by_offset(
    admin: &Admin,
    out: &Output,
    topic: &str,
    broker_name: &str,
    queue_id: i32,
    offset: i64,
) -> anyhow::Result<()> {
    let queue = MessageQueue {
        topic: topic.to_owned(),
        broker_name: broker_name.to_owned(),
        queue_id,
    };
    let message = admin
        .message_at(&queue, offset)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no message at offset {offset} of queue {queue_id} of {broker_name}"))?;
    print_messages(out, &[message], Shape::One)
}

/// What `--json` prints: one message as itself (a lookup of one), or `{"messages": [...]}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    One,
    List,
}

/// Java's `QueryMsgByIdSubCommand.printMsg`, the body printed as text instead of saved to a file.
fn print_messages(out: &Output, messages: &[ReceivedMessage], shape: Shape) -> anyhow::Result<()> {
    let document: Vec<Value> = messages.iter().map(message_document).collect();
    let document = match document.as_slice() {
        [one] if shape == Shape::One => one.clone(),
        _ => json!({ "messages": document }),
    };
    out.emit(document, || {
        let mut text = String::new();
        for message in messages {
            let properties: Vec<String> = message.properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let rows = [
                ("OffsetID:", message.offset_msg_id.clone()),
                ("Topic:", message.topic.clone()),
                ("Tags:", format!("[{}]", message.tags().unwrap_or("null"))),
                ("Keys:", format!("[{}]", message.keys().join(" "))),
                ("Queue ID:", message.queue_id.to_string()),
                ("Queue Offset:", message.queue_offset.to_string()),
                ("CommitLog Offset:", message.commit_log_offset.to_string()),
                ("Reconsume Times:", message.reconsume_times.to_string()),
                ("Born Timestamp:", human_time(message.born_timestamp_ms)),
                ("Store Timestamp:", human_time(message.store_timestamp_ms)),
                ("Born Host:", message.born_host.to_string()),
                ("Store Host:", message.store_host.to_string()),
                ("System Flag:", message.sys_flag.to_string()),
                ("Properties:", format!("{{{}}}", properties.join(", "))),
                ("Message Body:", String::from_utf8_lossy(&message.body).into_owned()),
            ];
            for (name, value) in rows {
                text.push_str(&format!("{} {value}\n", left(name, 20)));
            }
            text.push('\n');
        }
        text
    })
}

fn message_document(message: &ReceivedMessage) -> Value {
    let properties: serde_json::Map<String, Value> = message
        .properties
        .iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    json!({
        "msgId": message.msg_id(),
        "offsetMsgId": message.offset_msg_id,
        "topic": message.topic,
        "brokerName": message.broker_name,
        "queueId": message.queue_id,
        "queueOffset": message.queue_offset,
        "commitLogOffset": message.commit_log_offset,
        "reconsumeTimes": message.reconsume_times,
        "bornTimestamp": message.born_timestamp_ms,
        "storeTimestamp": message.store_timestamp_ms,
        "bornHost": message.born_host.to_string(),
        "storeHost": message.store_host.to_string(),
        "sysFlag": message.sys_flag,
        "tags": message.tags(),
        "keys": message.keys(),
        "properties": properties,
        "body": String::from_utf8_lossy(&message.body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows_are_checked_as_mqadmin_checks_them() {
        let now = 1_000_000;
        assert_eq!(time_window(None, None, now).unwrap(), (None, None));
        assert_eq!(time_window(Some("5"), Some("now"), now).unwrap(), (Some(5), Some(now)));
        assert!(time_window(Some("7"), Some("6"), now).is_err(), "begin after end");
        assert!(time_window(Some("1000001"), None, now).is_err(), "begin in the future");
        assert!(time_window(None, Some("1000001"), now).is_err(), "end in the future");
        assert!(time_window(Some("yesterday"), None, now).is_err());
    }

    #[test]
    fn send_statuses_read_as_java_names() {
        assert_eq!(java_send_status("Ok"), "SEND_OK");
        assert_eq!(java_send_status("FlushDiskTimeout"), "FLUSH_DISK_TIMEOUT");
        assert_eq!(java_send_status("SlaveNotAvailable"), "SLAVE_NOT_AVAILABLE");
    }
}
