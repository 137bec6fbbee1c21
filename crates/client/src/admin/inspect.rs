//! What mqadmin reads without changing anything: the topic list, a topic's offsets on every
//! broker, a group's connections, a broker's runtime figures and configuration, and messages
//! found by key, by id and by queue offset.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrocket_wire::body::{
    ConsumeStats, ConsumerConnection, JsonBody, KvTable, MessageQueue, ProducerConnection, TopicList, TopicStatsTable,
};
use ferrocket_wire::header::{
    CustomHeader, GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
    GetProducerConnectionListRequestHeader, GetTopicStatsInfoRequestHeader, QueryMessageRequestHeader,
    ViewMessageRequestHeader,
};
use ferrocket_wire::message::OffsetMessageId;
use ferrocket_wire::message::record::decode_all;
use ferrocket_wire::system_topics::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode, properties_text};

use super::Admin;
use crate::cluster::expect_success;
use crate::error::{ClientError, ClientResult};
use crate::filter::Filter;
use crate::message::ReceivedMessage;
use crate::queue_reader::{self, PullRequest, Pulled};
use crate::route;

/// Messages `query_by_key` asks each broker for when the caller gives no number (mqadmin's 64).
pub const QUERY_BY_KEY_DEFAULT: i32 = 64;

impl Admin {
    /// Every topic the name servers know (GET_ALL_TOPIC_LIST_FROM_NAMESERVER), as `mqadmin topicList`.
    pub async fn topic_list(&self) -> ClientResult<Vec<String>> {
        let request = RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let response = expect_success("name server", self.cluster.invoke_namesrv(request).await?)?;
        Ok(TopicList::decode(&response.body.unwrap_or_default())?.topic_list)
    }

    /// `topic`'s min and max offsets on every queue of every master (GET_TOPIC_STATS_INFO), merged
    /// as `mqadmin topicStatus` does; the put TPS is the sum of the brokers'.
    pub async fn topic_stats(&self, topic: &str) -> ClientResult<TopicStatsTable> {
        let header = GetTopicStatsInfoRequestHeader {
            topic: topic.to_owned(),
            ..GetTopicStatsInfoRequestHeader::default()
        };
        let mut merged = TopicStatsTable::default();
        for body in self
            .ask_each_master(topic, RequestCode::GET_TOPIC_STATS_INFO, &header)
            .await?
        {
            let stats = TopicStatsTable::decode(&body)?;
            merged.offset_table.extend(stats.offset_table);
            merged.topic_put_tps += stats.topic_put_tps;
        }
        Ok(merged)
    }

    /// `group`'s offsets on every queue of every topic it consumed (GET_CONSUME_STATS without a
    /// topic on each master serving its retry topic), merged with the brokers' consume TPS summed,
    /// as `mqadmin consumerProgress -g` does.
    pub async fn group_consume_stats(&self, group: &str) -> ClientResult<ConsumeStats> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            ..GetConsumeStatsRequestHeader::default()
        };
        let retry_topic = format!("{RETRY_GROUP_TOPIC_PREFIX}{group}");
        let mut merged = ConsumeStats::default();
        for body in self
            .ask_each_master(&retry_topic, RequestCode::GET_CONSUME_STATS, &header)
            .await?
        {
            let stats = ConsumeStats::decode(&body)?;
            merged.offset_table.extend(stats.offset_table);
            merged.consume_tps += stats.consume_tps;
        }
        Ok(merged)
    }

    /// The clients of `group` and their subscriptions (GET_CONSUMER_CONNECTION_LIST), asked of
    /// the first master serving the group's retry topic, as `mqadmin consumerConnection` does.
    pub async fn consumer_connection(&self, group: &str) -> ClientResult<ConsumerConnection> {
        let addr = self.first_master(&format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")).await?;
        let header = GetConsumerConnectionListRequestHeader {
            consumer_group: group.to_owned(),
            ..GetConsumerConnectionListRequestHeader::default()
        };
        let request =
            RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST).with_ext_fields(header.to_ext_fields());
        let response = self.cluster.invoke_checked(&addr, request).await?;
        Ok(ConsumerConnection::decode(&response.body.unwrap_or_default())?)
    }

    /// The producers of `group` connected to the first master of `topic`
    /// (GET_PRODUCER_CONNECTION_LIST), as `mqadmin producerConnection` asks.
    pub async fn producer_connection(&self, group: &str, topic: &str) -> ClientResult<ProducerConnection> {
        let addr = self.first_master(topic).await?;
        let header = GetProducerConnectionListRequestHeader {
            producer_group: group.to_owned(),
            ..GetProducerConnectionListRequestHeader::default()
        };
        let request =
            RemotingCommand::request(RequestCode::GET_PRODUCER_CONNECTION_LIST).with_ext_fields(header.to_ext_fields());
        let response = self.cluster.invoke_checked(&addr, request).await?;
        Ok(ProducerConnection::decode(&response.body.unwrap_or_default())?)
    }

    /// The address of the first master `topic` is routed to, as mqadmin picks one broker to ask.
    async fn first_master(&self, topic: &str) -> ClientResult<String> {
        let route = self.cluster.fetch_route(topic).await?;
        route::master_addrs(&route)
            .into_iter()
            .next()
            .map(|(_, addr)| addr)
            .ok_or_else(|| ClientError::NoRoute {
                topic: topic.to_owned(),
                reason: "no master serves it".into(),
            })
    }

    /// The answer bodies of one request sent to every master `topic` is routed to.
    async fn ask_each_master(
        &self,
        topic: &str,
        code: RequestCode,
        header: &impl CustomHeader,
    ) -> ClientResult<Vec<bytes::Bytes>> {
        let route = self.cluster.fetch_route(topic).await?;
        let mut bodies = Vec::new();
        for (_, addr) in route::master_addrs(&route) {
            let request = RemotingCommand::request(code).with_ext_fields(header.to_ext_fields());
            let response = self.cluster.invoke_checked(&addr, request).await?;
            bodies.push(response.body.unwrap_or_default());
        }
        Ok(bodies)
    }

    /// The broker's runtime figures (GET_BROKER_RUNTIME_INFO), as `mqadmin brokerStatus`.
    pub async fn broker_runtime_info(&self, addr: &str) -> ClientResult<BTreeMap<String, String>> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
        let response = self.cluster.invoke_checked(addr, request).await?;
        Ok(KvTable::decode(&response.body.unwrap_or_default())?.table)
    }

    /// The broker's effective configuration (GET_BROKER_CONFIG), as `mqadmin getBrokerConfig`.
    pub async fn broker_config(&self, addr: &str) -> ClientResult<BTreeMap<String, String>> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CONFIG);
        let response = self.cluster.invoke_checked(addr, request).await?;
        let body = response.body.unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        Ok(properties_text::parse(&text)?.into_iter().collect())
    }

    /// Changes one setting of the broker at run time (UPDATE_BROKER_CONFIG), as
    /// `mqadmin updateBrokerConfig -k -v`.
    pub async fn update_broker_config(&self, addr: &str, key: &str, value: &str) -> ClientResult<()> {
        if key.is_empty() || key.contains(['=', ':', '\n', '\r']) || value.contains(['\n', '\r']) {
            return Err(ClientError::Invalid {
                what: "broker config entry",
                reason: format!("{key:?}={value:?} is not one properties line"),
            });
        }
        let body = format!("{key}={value}\n");
        let request = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG).with_body(body.into_bytes());
        self.cluster.invoke_checked(addr, request).await?;
        Ok(())
    }

    /// Messages of `topic` whose key is `key` (QUERY_MESSAGE on every master, up to `max_num`
    /// each), as `mqadmin queryMsgByKey`. A broker that finds none answers QUERY_NOT_FOUND, which
    /// is not an error here.
    pub async fn query_by_key(&self, topic: &str, key: &str, max_num: i32) -> ClientResult<Vec<ReceivedMessage>> {
        let route = self.cluster.fetch_route(topic).await?;
        let header = QueryMessageRequestHeader {
            topic: topic.to_owned(),
            key: key.to_owned(),
            max_num,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            ..QueryMessageRequestHeader::default()
        };
        let mut found = Vec::new();
        for (broker_name, addr) in route::master_addrs(&route) {
            let request = RemotingCommand::request(RequestCode::QUERY_MESSAGE).with_ext_fields(header.to_ext_fields());
            let response = self
                .cluster
                .invoke(&addr, request, self.cluster.options().api_timeout)
                .await?;
            if response.response_code() == ResponseCode::QUERY_NOT_FOUND {
                continue;
            }
            let response = expect_success(&addr, response)?;
            for stored in decode_all(&response.body.unwrap_or_default()).messages {
                let message = ReceivedMessage::from_stored(stored, &broker_name)?;
                // The index matches hashes; keep only the records that really carry the key.
                if message.topic == topic && message.keys().contains(&key) {
                    found.push(message);
                }
            }
        }
        found.sort_by(|a, b| {
            (&a.broker_name, a.queue_id, a.queue_offset).cmp(&(&b.broker_name, b.queue_id, b.queue_offset))
        });
        Ok(found)
    }
}

impl Admin {
    /// The message `msg_id` names in `topic`, as `mqadmin queryMsgById` finds it: a client-made
    /// id through the index (QUERY_MESSAGE with `_UNIQUE_KEY_QUERY`), else an offset id read from
    /// the broker it names (VIEW_MESSAGE_BY_ID). Java tries the offset id first; a client-made id
    /// also parses as one (naming some port of the producer's host), so the index goes first here.
    pub async fn view_message(&self, topic: &str, msg_id: &str) -> ClientResult<Option<ReceivedMessage>> {
        let route = self.cluster.fetch_route(topic).await?;
        let header = QueryMessageRequestHeader {
            topic: topic.to_owned(),
            key: msg_id.to_owned(),
            max_num: QUERY_BY_KEY_DEFAULT,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: Some(true),
            ..QueryMessageRequestHeader::default()
        };
        for (broker_name, addr) in route::master_addrs(&route) {
            let request = RemotingCommand::request(RequestCode::QUERY_MESSAGE).with_ext_fields(header.to_ext_fields());
            let response = self
                .cluster
                .invoke(&addr, request, self.cluster.options().api_timeout)
                .await?;
            if response.response_code() == ResponseCode::QUERY_NOT_FOUND {
                continue;
            }
            let response = expect_success(&addr, response)?;
            for stored in decode_all(&response.body.unwrap_or_default()).messages {
                let message = ReceivedMessage::from_stored(stored, &broker_name)?;
                if message.msg_id() == msg_id {
                    return Ok(Some(message));
                }
            }
        }
        let Ok(offset_id) = OffsetMessageId::decode(msg_id) else {
            return Ok(None);
        };
        let Some((broker_name, addr)) = route::master_addrs(&route)
            .into_iter()
            .find(|(_, addr)| addr.parse() == Ok(offset_id.store_host))
        else {
            return Ok(None);
        };
        let header = ViewMessageRequestHeader {
            topic: Some(topic.to_owned()),
            offset: offset_id.physical_offset,
        };
        let request = RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID).with_ext_fields(header.to_ext_fields());
        let response = self
            .cluster
            .invoke(&addr, request, self.cluster.options().api_timeout)
            .await?;
        if response.response_code() != ResponseCode::SUCCESS {
            return Ok(None);
        }
        let found = decode_all(&response.body.unwrap_or_default())
            .messages
            .into_iter()
            .next();
        found
            .map(|stored| ReceivedMessage::from_stored(stored, &broker_name))
            .transpose()
    }

    /// The message at `offset` of `queue` (one PULL_MESSAGE as Java's tools group), as
    /// `mqadmin queryMsgByOffset`; `None` when the queue has none there.
    pub async fn message_at(&self, queue: &MessageQueue, offset: i64) -> ClientResult<Option<ReceivedMessage>> {
        self.cluster.fetch_route(&queue.topic).await?;
        let filter = Filter::all();
        let request = PullRequest {
            group: TOOLS_CONSUMER_GROUP,
            queue,
            offset,
            max_messages: 1,
            filter: &filter,
            commit_offset: None,
            suspend: Duration::ZERO,
        };
        match queue_reader::pull(&self.cluster, request, self.cluster.options().api_timeout).await? {
            Pulled::Found(messages, _) => Ok(messages.into_iter().find(|message| message.queue_offset == offset)),
            Pulled::Nothing(_) | Pulled::OffsetMoved(_) => Ok(None),
        }
    }
}

/// `MixAll.TOOLS_CONSUMER_GROUP`: the group Java's admin tools pull as.
const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";

impl Admin {
    /// The queues `topic` can be read from, as the name servers route it.
    pub async fn read_queues(&self, topic: &str) -> ClientResult<Vec<MessageQueue>> {
        let route = self.cluster.fetch_route(topic).await?;
        Ok(route::subscribe_queues(&route, topic))
    }

    /// Up to `limit` messages of `queue` from offset `from` (the queue's first when `None`) up to
    /// offset `until` (excluded; the queue's end when `None`), pulled as Java's tools group, as
    /// `mqadmin consumeMessage` prints them.
    pub async fn read_queue(
        &self,
        queue: &MessageQueue,
        from: Option<i64>,
        until: Option<i64>,
        limit: usize,
    ) -> ClientResult<Vec<ReceivedMessage>> {
        let first = queue_reader::min_offset(&self.cluster, queue).await?;
        let max = queue_reader::max_offset(&self.cluster, queue).await?;
        let end = until.map_or(max, |until| until.min(max));
        let mut offset = from.unwrap_or(first).max(first);
        let filter = Filter::all();
        let mut found = Vec::new();
        while offset < end && found.len() < limit {
            let batch = i32::try_from((limit - found.len()).min(READ_BATCH_MAX)).unwrap_or(1);
            let request = PullRequest {
                group: TOOLS_CONSUMER_GROUP,
                queue,
                offset,
                max_messages: batch,
                filter: &filter,
                commit_offset: None,
                suspend: Duration::ZERO,
            };
            let next = match queue_reader::pull(&self.cluster, request, self.cluster.options().api_timeout).await? {
                Pulled::Found(messages, next) => {
                    let wanted = messages.into_iter().filter(|message| message.queue_offset < end);
                    found.extend(wanted.take(limit - found.len()));
                    next
                }
                Pulled::Nothing(next) | Pulled::OffsetMoved(next) => next,
            };
            // A broker that does not move the offset forward would loop us forever.
            if next <= offset {
                break;
            }
            offset = next;
        }
        Ok(found)
    }
}

/// Messages one pull of `read_queue` asks for (Java's pull default is 32).
const READ_BATCH_MAX: usize = 32;
