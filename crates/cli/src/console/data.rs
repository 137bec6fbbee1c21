//! What the console pages show, asked for with the same admin requests `mqadmin` sends: the
//! broker's own handlers called in process (`handlers::dispatch`, so the console's reads do not
//! show in the live view), the name server over its port.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_broker::Broker;
use ferrocket_broker::handlers::dispatch;
use ferrocket_net::{Client, ClientConfig, ConnectionHandle, Router};
use ferrocket_wire::body::{
    ClusterInfo, ConsumeStats, ConsumerConnection, JsonBody, KvTable, SubscriptionGroupWrapper,
    TopicConfigSerializeWrapper, TopicStatsTable,
};
use ferrocket_wire::ext_fields::ExtFields;
use ferrocket_wire::message::{OffsetMessageId, StoredMessage, decode_all};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

/// Topics and groups listed per page: a broker with more is read in its first ones (an admin
/// tool, not the console, is for bulk work), and each costs one request per page view.
pub const CONSOLE_ROWS_MAX: usize = 500;
/// Messages shown for one key (Java's `maxNum` default of `queryMessage` is 32 as well).
pub const MESSAGES_PER_QUERY_MAX: i32 = 32;
/// A name-server request from the console waits this long (the console page waits on it).
const NAMESRV_TIMEOUT: Duration = Duration::from_secs(3);

/// The group Java's admin tools pull with when they read a message by queue offset.
const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";

/// Where the console gets its answers.
#[derive(Clone)]
pub struct Sources {
    pub broker: Option<Arc<Broker>>,
    pub namesrv_addrs: Vec<String>,
    client: Client,
}

/// One topic's row.
#[derive(Debug, Clone, Default)]
pub struct TopicRow {
    pub name: String,
    pub read_queues: i32,
    pub write_queues: i32,
    pub perm: i32,
    pub message_type: String,
    pub min_offset: i64,
    pub max_offset: i64,
}

/// One consumer group's row, with its per-queue lag.
#[derive(Debug, Clone, Default)]
pub struct GroupRow {
    pub name: String,
    pub members: Vec<(String, String)>,
    pub queues: Vec<QueueLag>,
    pub consume_tps: f64,
}

impl GroupRow {
    pub fn lag(&self) -> i64 {
        self.queues.iter().map(|queue| queue.lag).sum()
    }
}

#[derive(Debug, Clone, Default)]
pub struct QueueLag {
    pub topic: String,
    pub queue_id: i32,
    pub broker_offset: i64,
    pub consumer_offset: i64,
    pub lag: i64,
}

/// Where to look a message up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageQuery {
    Key {
        topic: String,
        key: String,
    },
    /// An offset message id (the `msgId` of a send result's `offsetMsgId`), or a unique id
    /// (`UNIQ_KEY`) of `topic`.
    Id {
        topic: String,
        id: String,
    },
    QueueOffset {
        topic: String,
        queue_id: i32,
        offset: i64,
    },
}

impl Sources {
    pub fn new(broker: Option<Arc<Broker>>, namesrv_addrs: Vec<String>) -> Sources {
        Sources {
            broker,
            namesrv_addrs,
            client: Client::new(Router::new(), ClientConfig::default()),
        }
    }

    pub(super) async fn broker_call(&self, request: RemotingCommand) -> Result<RemotingCommand, String> {
        self.broker_call_as("console", request).await
    }

    /// [`Sources::broker_call`] from the connection `peer` (a send's born host is its peer).
    pub(super) async fn broker_call_as(&self, peer: &str, request: RemotingCommand) -> Result<RemotingCommand, String> {
        let broker = self.broker.as_ref().ok_or("this process serves no broker")?;
        let connection = ConnectionHandle::in_process(peer.to_owned());
        let response = dispatch(broker, request, &connection)
            .await
            .ok_or("the broker gave no answer")?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Err(format!(
                "{}: {}",
                response.response_code(),
                response.remark.as_deref().unwrap_or("")
            ));
        }
        Ok(response)
    }

    /// A request to a server over its port; an answer other than SUCCESS is an error.
    pub(super) async fn namesrv_call(&self, addr: &str, request: RemotingCommand) -> Result<RemotingCommand, String> {
        match self.client.invoke(addr, request, NAMESRV_TIMEOUT).await {
            Ok(response) if response.response_code() == ResponseCode::SUCCESS => Ok(response),
            Ok(response) => Err(format!(
                "{addr}: {}: {}",
                response.response_code(),
                response.remark.as_deref().unwrap_or("")
            )),
            Err(error) => Err(format!("{addr}: {error}")),
        }
    }

    /// The runtime table of the broker at `addr`, asked over its port (the cluster page's rows,
    /// this process's broker included, so every row is read the same way).
    pub async fn broker_runtime(&self, addr: &str) -> Result<KvTable, String> {
        let response = self
            .namesrv_call(addr, RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO))
            .await?;
        decode(&response)
    }

    pub async fn cluster(&self) -> Result<ClusterInfo, String> {
        let mut last_error = "no name server configured".to_owned();
        for addr in &self.namesrv_addrs {
            let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
            match self.client.invoke(addr, request, NAMESRV_TIMEOUT).await {
                Ok(response) if response.response_code() == ResponseCode::SUCCESS => {
                    return decode::<ClusterInfo>(&response);
                }
                Ok(response) => last_error = format!("{addr}: {}", response.response_code()),
                Err(error) => last_error = format!("{addr}: {error}"),
            }
        }
        Err(last_error)
    }

    /// Java's runtime-info table of this process's broker (version, disk, TPS, totals).
    pub async fn runtime_info(&self) -> Result<KvTable, String> {
        let response = self
            .broker_call(RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO))
            .await?;
        decode(&response)
    }

    pub async fn topics(&self) -> Result<Vec<TopicRow>, String> {
        let response = self
            .broker_call(RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG))
            .await?;
        let wrapper: TopicConfigSerializeWrapper = decode(&response)?;
        let mut rows = Vec::new();
        for (name, config) in wrapper.topic_config_table.into_iter().take(CONSOLE_ROWS_MAX) {
            let stats = self
                .broker_call(request_with(RequestCode::GET_TOPIC_STATS_INFO, &[("topic", &name)]))
                .await
                .and_then(|response| decode::<TopicStatsTable>(&response))
                .unwrap_or_default();
            rows.push(TopicRow {
                min_offset: stats.offset_table.values().map(|offsets| offsets.min_offset).sum(),
                max_offset: stats.offset_table.values().map(|offsets| offsets.max_offset).sum(),
                read_queues: config.read_queue_nums,
                write_queues: config.write_queue_nums,
                perm: config.perm,
                message_type: config
                    .attributes
                    .get("+message.type")
                    .cloned()
                    .unwrap_or_else(|| "NORMAL".to_owned()),
                name,
            });
        }
        Ok(rows)
    }

    /// Creates `name`, or updates its queues and permission when it exists (one request does
    /// both, as mqadmin `updateTopic`).
    pub async fn put_topic(&self, name: &str, queues: u16, perm: i32) -> Result<(), String> {
        let queues = queues.to_string();
        let perm = perm.to_string();
        let request = request_with(
            RequestCode::UPDATE_AND_CREATE_TOPIC,
            &[
                ("topic", name),
                ("defaultTopic", "TBW102"),
                ("readQueueNums", &queues),
                ("writeQueueNums", &queues),
                ("perm", &perm),
                ("topicFilterType", "SINGLE_TAG"),
                ("topicSysFlag", "0"),
                ("order", "false"),
            ],
        );
        self.broker_call(request).await.map(|_| ())
    }

    pub async fn groups(&self) -> Result<Vec<GroupRow>, String> {
        let response = self
            .broker_call(RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG))
            .await?;
        let wrapper: SubscriptionGroupWrapper = decode(&response)?;
        let mut rows = Vec::new();
        for name in wrapper.subscription_group_table.into_keys().take(CONSOLE_ROWS_MAX) {
            let members = self
                .broker_call(request_with(
                    RequestCode::GET_CONSUMER_CONNECTION_LIST,
                    &[("consumerGroup", &name)],
                ))
                .await
                .and_then(|response| decode::<ConsumerConnection>(&response))
                .map(|connection| {
                    connection
                        .connection_set
                        .into_iter()
                        .map(|member| (member.client_id, member.client_addr))
                        .collect()
                })
                .unwrap_or_default();
            let stats = self
                .broker_call(request_with(
                    RequestCode::GET_CONSUME_STATS,
                    &[("consumerGroup", &name)],
                ))
                .await
                .and_then(|response| decode::<ConsumeStats>(&response))
                .unwrap_or_default();
            let queues = stats
                .offset_table
                .iter()
                .map(|(queue, offsets)| QueueLag {
                    topic: queue.topic.clone(),
                    queue_id: queue.queue_id,
                    broker_offset: offsets.broker_offset,
                    consumer_offset: offsets.consumer_offset,
                    lag: offsets.broker_offset.saturating_sub(offsets.consumer_offset).max(0),
                })
                .collect();
            rows.push(GroupRow {
                name,
                members,
                queues,
                consume_tps: stats.consume_tps,
            });
        }
        Ok(rows)
    }

    pub async fn find_messages(&self, query: &MessageQuery) -> Result<Vec<StoredMessage>, String> {
        let max = MESSAGES_PER_QUERY_MAX.to_string();
        let end = i64::MAX.to_string();
        let request = match query {
            MessageQuery::Key { topic, key } => request_with(
                RequestCode::QUERY_MESSAGE,
                &[
                    ("topic", topic),
                    ("key", key),
                    ("maxNum", &max),
                    ("beginTimestamp", "0"),
                    ("endTimestamp", &end),
                    ("_UNIQUE_KEY_QUERY", "false"),
                ],
            ),
            MessageQuery::Id { topic, id } => match OffsetMessageId::decode(id) {
                Ok(offset_id) => request_with(
                    RequestCode::VIEW_MESSAGE_BY_ID,
                    &[("topic", topic), ("offset", &offset_id.physical_offset.to_string())],
                ),
                // Not an offset id: the unique id, found through the index as Java's tools do.
                Err(_) => request_with(
                    RequestCode::QUERY_MESSAGE,
                    &[
                        ("topic", topic),
                        ("key", id),
                        ("maxNum", &max),
                        ("beginTimestamp", "0"),
                        ("endTimestamp", &end),
                        ("_UNIQUE_KEY_QUERY", "true"),
                    ],
                ),
            },
            MessageQuery::QueueOffset {
                topic,
                queue_id,
                offset,
            } => request_with(
                RequestCode::PULL_MESSAGE,
                &[
                    ("consumerGroup", TOOLS_CONSUMER_GROUP),
                    ("topic", topic),
                    ("queueId", &queue_id.to_string()),
                    ("queueOffset", &offset.to_string()),
                    ("maxMsgNums", "1"),
                    // FLAG_SUBSCRIPTION: the expression below, not a registered consumer's.
                    ("sysFlag", "4"),
                    ("commitOffset", "0"),
                    ("suspendTimeoutMillis", "0"),
                    ("subscription", "*"),
                    ("subVersion", "0"),
                    ("expressionType", "TAG"),
                ],
            ),
        };
        let response = match self.broker_call(request).await {
            Ok(response) => response,
            // Nothing found is an empty page, not an error.
            Err(error) if error.contains("NO_MESSAGE") || error.contains("QUERY_NOT_FOUND") => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let body = response.body.as_deref().unwrap_or(&[]);
        Ok(decode_all(body).messages)
    }
}

pub(super) fn request_with(code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
    let mut ext = ExtFields::new();
    for (key, value) in fields {
        ext.insert(*key, *value);
    }
    RemotingCommand::request(code).with_ext_fields(ext)
}

fn decode<T: JsonBody>(response: &RemotingCommand) -> Result<T, String> {
    T::decode(response.body.as_deref().unwrap_or(b"{}")).map_err(|error| error.to_string())
}
