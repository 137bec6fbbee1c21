//! topicList, topicRoute, topicStatus, updateTopic and deleteTopic, printed as mqadmin prints them.

use clap::Args;
use ferrocket_client::Admin;
use ferrocket_wire::body::{JsonBody, TopicConfig};
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE, perm_text};
use serde_json::{Value, json};

use super::output::{Output, human_time, left};
use super::{TargetArgs, parse_bool};

/// mqadmin's queue count when `-r` / `-w` are not given.
const DEFAULT_QUEUES: i32 = 8;

#[derive(Args, Debug)]
pub struct UpdateTopicArgs {
    /// The topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    #[command(flatten)]
    target: TargetArgs,
    /// Read queues per broker.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = DEFAULT_QUEUES)]
    read_queue_nums: i32,
    /// Write queues per broker.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = DEFAULT_QUEUES)]
    write_queue_nums: i32,
    /// Permission: 2 write, 4 read, 6 both.
    #[arg(short = 'p', long = "perm", default_value_t = PERM_READ | PERM_WRITE,
          value_parser = clap::value_parser!(i32).range(0..=7))]
    perm: i32,
    /// Ordered topic (`true|false`).
    #[arg(short = 'o', long = "order", value_parser = parse_bool, default_value = "false")]
    order: bool,
    /// Attributes, `+name=value,-name` (e.g. `+message.type=FIFO`).
    #[arg(short = 'a', long = "attributes")]
    attributes: Option<String>,
}

pub async fn topic_list(admin: &Admin, out: &Output) -> anyhow::Result<()> {
    let topics = admin.topic_list().await?;
    out.emit(json!({ "topicList": topics }), || {
        topics.iter().map(|topic| format!("{topic}\n")).collect()
    })
}

pub async fn topic_route(admin: &Admin, out: &Output, topic: &str) -> anyhow::Result<()> {
    let route = admin.topic_route(topic).await?;
    // Java prints the route's JSON (pretty); both forms are that document.
    let document: Value = serde_json::from_slice(&route.encode())?;
    let text = format!("{}\n", serde_json::to_string_pretty(&document)?);
    out.emit(document, || text)
}

pub async fn topic_status(admin: &Admin, out: &Output, topic: &str) -> anyhow::Result<()> {
    let stats = admin.topic_stats(topic).await?;
    let queues: Vec<Value> = stats
        .offset_table
        .iter()
        .map(|(queue, offsets)| {
            json!({
                "brokerName": queue.broker_name,
                "queueId": queue.queue_id,
                "minOffset": offsets.min_offset,
                "maxOffset": offsets.max_offset,
                "lastUpdateTimestamp": offsets.last_update_timestamp,
            })
        })
        .collect();
    out.emit(
        json!({ "topic": topic, "queues": queues, "topicPutTps": stats.topic_put_tps }),
        || {
            let mut text = format!(
                "{}  {}  {}  {}    #Last Updated\n",
                left("#Broker Name", 32),
                left("#QID", 4),
                left("#Min Offset", 20),
                left("#Max Offset", 20)
            );
            for (queue, offsets) in &stats.offset_table {
                text.push_str(&format!(
                    "{}  {}  {}  {}    {}\n",
                    left(&queue.broker_name, 32),
                    left(&queue.queue_id.to_string(), 4),
                    left(&offsets.min_offset.to_string(), 20),
                    left(&offsets.max_offset.to_string(), 20),
                    if offsets.last_update_timestamp > 0 {
                        human_time(offsets.last_update_timestamp)
                    } else {
                        String::new()
                    }
                ));
            }
            // `{:?}` writes a double as Java's `%s` does (`0.0`, not `0`).
            text.push_str(&format!("\nTopic Put TPS: {:?}\n", stats.topic_put_tps));
            text
        },
    )
}

pub async fn update_topic(admin: &Admin, out: &Output, args: UpdateTopicArgs) -> anyhow::Result<()> {
    let mut config = TopicConfig {
        topic_name: args.topic.trim().to_owned(),
        read_queue_nums: args.read_queue_nums,
        write_queue_nums: args.write_queue_nums,
        perm: args.perm,
        order: args.order,
        ..TopicConfig::default()
    };
    if let Some(attributes) = &args.attributes {
        config.attributes = parse_attributes(attributes)?;
    }
    let addrs = admin.create_topic_config(&args.target.target(), &config).await?;
    let document: Value = serde_json::from_slice(&config.encode())?;
    out.emit(json!({ "brokers": addrs, "topicConfig": document }), || {
        let mut text: String = addrs
            .iter()
            .map(|addr| format!("create topic to {addr} success.\n"))
            .collect();
        text.push_str(&java_topic_config(&config));
        text
    })
}

pub async fn delete_topic(admin: &Admin, out: &Output, topic: &str, cluster: &str) -> anyhow::Result<()> {
    admin.delete_topic(cluster, topic).await?;
    out.emit(json!({ "topic": topic, "cluster": cluster, "deleted": true }), || {
        format!(
            "delete topic [{topic}] from cluster [{cluster}] success.\ndelete topic [{topic}] from NameServer success.\n"
        )
    })
}

/// Java's `TopicConfig.toString()`, which mqadmin prints after an update.
fn java_topic_config(config: &TopicConfig) -> String {
    let attributes: Vec<String> = config.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType=SINGLE_TAG, \
         topicSysFlag={}, order={}, attributes={{{}}}]\n",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        perm_text(config.perm),
        config.topic_sys_flag,
        config.order,
        attributes.join(", ")
    )
}

/// mqadmin's `-a`: `+name=value` sets, `-name` removes, comma separated.
fn parse_attributes(text: &str) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let mut attributes = std::collections::BTreeMap::new();
    for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        if let Some(name) = entry.strip_prefix('-') {
            anyhow::ensure!(
                !name.is_empty() && !name.contains('='),
                "attribute {entry:?}: a removal is -name"
            );
            attributes.insert(entry.to_owned(), String::new());
        } else if let Some((name, value)) = entry.strip_prefix('+').and_then(|rest| rest.split_once('=')) {
            anyhow::ensure!(!name.is_empty(), "attribute {entry:?} has no name");
            attributes.insert(format!("+{name}"), value.to_owned());
        } else {
            anyhow::bail!("attribute {entry:?}: expected +name=value or -name");
        }
    }
    Ok(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_config_prints_as_java_prints_it() {
        let config = TopicConfig {
            topic_name: "Orders".into(),
            read_queue_nums: 8,
            write_queue_nums: 4,
            perm: 6,
            ..TopicConfig::default()
        };
        assert_eq!(
            java_topic_config(&config),
            "TopicConfig [topicName=Orders, readQueueNums=8, writeQueueNums=4, perm=RW-, \
             topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={}]\n"
        );
    }

    #[test]
    fn attributes_parse_as_mqadmin_writes_them() {
        let parsed = parse_attributes("+message.type=FIFO, -delete.policy").unwrap();
        assert_eq!(parsed.get("+message.type").map(String::as_str), Some("FIFO"));
        assert_eq!(parsed.get("-delete.policy").map(String::as_str), Some(""));
        assert!(parse_attributes("message.type=FIFO").is_err());
        assert!(parse_attributes("+=x").is_err());
        assert!(parse_attributes("-a=b").is_err());
    }
}
