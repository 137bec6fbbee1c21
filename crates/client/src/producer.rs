//! The producer: sync, async, oneway and batch sends, queue selectors, retries on another broker
//! with Java's latency-fault avoidance, and body compression above a threshold.
//!
//! Java's behaviour (`DefaultMQProducerImpl.sendDefaultImpl` / `sendKernelImpl`), kept:
//! * a sync send makes at most `1 + retries` attempts (2 retries by default) within one overall
//!   timeout (3 s); an attempt that fails on the transport or with a retryable code
//!   ([`ClientError::is_retryable_send`]) is retried on a queue of another broker;
//! * a topic without a route yet is sent through `TBW102`'s route (the broker creates it from that
//!   template), with at most `default_topic_queue_nums` queues per broker;
//! * a single message's body of at least 4 KiB is zlib-compressed at level 5 and flagged so;
//!   batches are never compressed;
//! * every message gets a `UNIQ_KEY` unless it has one; oneway and selector sends make one attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrocket_net::Router;
use ferrocket_wire::body::{MessageQueue, TopicRouteData};
use ferrocket_wire::header::{CustomHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader};
use ferrocket_wire::message::compression::{self, COMPRESS_BODY_BYTES_MIN, COMPRESS_LEVEL_DEFAULT};
use ferrocket_wire::message::properties::keys as names;
use ferrocket_wire::message::tag_hash::java_string_hash;
use ferrocket_wire::message::{BatchMember, CompressionType, encode_batch, sysflag};
use ferrocket_wire::system_topics::AUTO_CREATE_TOPIC;
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock;
use crate::cluster::{ClientOptions, Cluster, TOPICS_MAX};
use crate::error::{ClientError, ClientResult};
use crate::fault::FaultTable;
use crate::message::{Message, SendResult, SendStatus};
use crate::route;

/// Java's `sendMsgTimeout`.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(3);
/// Java's `retryTimesWhenSendFailed`.
pub const SEND_RETRIES: u32 = 2;
/// Retries a caller may ask for; each costs a round trip inside one timeout.
pub const SEND_RETRIES_MAX: u32 = 16;
/// Async sends in flight per producer (Java's `backPressureForAsyncSendNum`); the next one waits.
pub const ASYNC_SENDS_IN_FLIGHT_MAX: usize = 10_000;
/// Messages in one batch; the body must also fit one 16 MiB frame.
pub const BATCH_MESSAGES_MAX: usize = 10_000;

/// How a producer behaves; `ProducerOptions::new` gives Java's defaults.
///
/// ```
/// use ferrocket_client::{ClientOptions, ProducerOptions};
///
/// let mut options = ProducerOptions::new(ClientOptions::new("127.0.0.1:9876"), "orders-producer");
/// options.latency_fault_enabled = true;
/// assert_eq!(options.retries, 2);
/// ```
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// How to reach the cluster.
    pub client: ClientOptions,
    /// The producer group.
    pub group: String,
    /// The whole send, retries included.
    pub send_timeout: Duration,
    /// Attempts after the first (sync sends only).
    pub retries: u32,
    /// Bodies of at least this many bytes are compressed (`compressMsgBodyOverHowmuch`).
    pub compress_body_bytes_min: usize,
    /// zlib level 0..=9 (Java: 5).
    pub compress_level: u32,
    /// Java's `sendLatencyFaultEnable` (off by default in 5.3.3).
    pub latency_fault_enabled: bool,
    /// Queues per broker of a topic created on send (`defaultTopicQueueNums`).
    pub default_topic_queue_nums: i32,
}

impl ProducerOptions {
    /// Java's defaults for `group`.
    pub fn new(client: ClientOptions, group: impl Into<String>) -> ProducerOptions {
        ProducerOptions {
            client,
            group: group.into(),
            send_timeout: SEND_TIMEOUT,
            retries: SEND_RETRIES,
            compress_body_bytes_min: COMPRESS_BODY_BYTES_MIN,
            compress_level: COMPRESS_LEVEL_DEFAULT,
            latency_fault_enabled: false,
            default_topic_queue_nums: 4,
        }
    }
}

/// Chooses the queue of a message among a topic's writable queues (Java's `MessageQueueSelector`).
pub trait QueueSelector: Send + Sync {
    /// The index in `queues` (never empty) of the queue for `message`; taken modulo its length.
    fn select(&self, queues: &[MessageQueue], message: &Message) -> usize;
}

/// Java's `SelectMessageQueueByHash` on a key: messages with the same key go to the same queue,
/// in order, as long as the topic's queues do not change.
///
/// ```
/// use ferrocket_client::{HashByKey, Message, QueueSelector};
/// use ferrocket_wire::body::MessageQueue;
///
/// let queues: Vec<MessageQueue> = (0..4).map(|id| MessageQueue::new("T", "broker-a", id)).collect();
/// let message = Message::new("T", "x");
/// let first = HashByKey("order-7".into()).select(&queues, &message);
/// assert_eq!(HashByKey("order-7".into()).select(&queues, &message), first);
/// ```
#[derive(Debug, Clone)]
pub struct HashByKey(pub String);

impl QueueSelector for HashByKey {
    fn select(&self, queues: &[MessageQueue], _message: &Message) -> usize {
        let count = i32::try_from(queues.len()).unwrap_or(i32::MAX).max(1);
        (java_string_hash(&self.0) % count).unsigned_abs() as usize
    }
}

/// A producer; clones share it.
///
/// ```no_run
/// use ferrocket_client::{ClientOptions, Message, Producer, ProducerOptions};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let options = ProducerOptions::new(ClientOptions::new("127.0.0.1:9876"), "demo-producer");
/// let producer = Producer::start(options)?;
/// let result = producer.send(Message::new("DemoTopic", "hello").with_tags("greeting")).await?;
/// println!("stored as {} in queue {}", result.msg_id, result.queue_id);
/// producer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Producer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    options: ProducerOptions,
    cluster: Cluster,
    faults: Mutex<FaultTable>,
    async_permits: Arc<Semaphore>,
    /// Topics without a route of their own yet: the queues taken from `TBW102`'s route and when,
    /// reused until the next route refresh is due (as Java keeps them in its publish table).
    created_on_send: Mutex<HashMap<String, (Vec<MessageQueue>, Instant)>>,
}

/// Where one attempt goes and what it carries.
struct Attempt<'a> {
    queue: &'a MessageQueue,
    addr: String,
    code: RequestCode,
    header: SendMessageRequestHeaderV2,
    body: Bytes,
    msg_id: String,
}

impl Producer {
    /// Starts a producer (connections open on first send). Must be called inside a tokio runtime.
    pub fn start(options: ProducerOptions) -> ClientResult<Producer> {
        if options.group.is_empty() {
            return Err(ClientError::Invalid {
                what: "producer group",
                reason: "empty".into(),
            });
        }
        if options.retries > SEND_RETRIES_MAX {
            return Err(ClientError::Invalid {
                what: "retries",
                reason: format!("{} is over {SEND_RETRIES_MAX}", options.retries),
            });
        }
        Producer::start_with_router(options, Router::new())
    }

    /// As [`Producer::start`], with handlers for requests brokers send this producer.
    pub(crate) fn start_with_router(options: ProducerOptions, router: Router) -> ClientResult<Producer> {
        let cluster = Cluster::start_with_router(options.client.clone(), router)?;
        cluster.register_producer(&options.group)?;
        Ok(Producer {
            shared: Arc::new(Shared {
                faults: Mutex::new(
                    FaultTable::new(options.latency_fault_enabled).starting_at(crate::ids::random_u64() as u32),
                ),
                cluster,
                options,
                async_permits: Arc::new(Semaphore::new(ASYNC_SENDS_IN_FLIGHT_MAX)),
                created_on_send: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The cluster view this producer uses (routes, client id).
    pub fn cluster(&self) -> &Cluster {
        &self.shared.cluster
    }

    /// The producer group.
    pub fn group(&self) -> &str {
        &self.shared.options.group
    }

    /// Sends and waits for the broker's answer, retrying on another broker as Java does.
    pub async fn send(&self, mut message: Message) -> ClientResult<SendResult> {
        message.validate()?;
        let deadline = Instant::now() + self.shared.options.send_timeout;
        let queues = self.publish_queues(message.topic()).await?;
        let (body, sys_flag) = self.prepare_single(&mut message)?;
        let attempts = 1 + self.shared.options.retries;
        let mut last_failed: Option<String> = None;
        let mut last_error = None;
        for attempt in 1..=attempts {
            let Some(queue) = self
                .faults()
                .select(&queues, last_failed.as_deref(), clock::now_ms())
                .cloned()
            else {
                break;
            };
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let started = now;
            let outcome = match self.attempt_for(&queue, &message, body.clone(), sys_flag, false) {
                Ok(prepared) => self.invoke_send(prepared, deadline - now).await,
                Err(error) => Err(error),
            };
            let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            match outcome {
                Ok(result) => {
                    self.faults()
                        .record(&queue.broker_name, latency_ms, false, clock::now_ms());
                    return Ok(result);
                }
                Err(error) if error.is_retryable_send() => {
                    self.faults()
                        .record(&queue.broker_name, latency_ms, true, clock::now_ms());
                    tracing::debug!(attempt, broker = %queue.broker_name, %error, "send failed; retrying");
                    last_failed = Some(queue.broker_name.clone());
                    last_error = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(ClientError::SendFailed {
            topic: message.topic().to_owned(),
            attempts,
            last: Box::new(last_error.unwrap_or(ClientError::NoRoute {
                topic: message.topic().to_owned(),
                reason: "no attempt made within the send timeout".into(),
            })),
        })
    }

    /// Starts a send and returns at once; the handle resolves to what [`Producer::send`] would
    /// return. At most [`ASYNC_SENDS_IN_FLIGHT_MAX`] run at a time; this waits for room.
    pub async fn send_async(&self, message: Message) -> ClientResult<JoinHandle<ClientResult<SendResult>>> {
        let permit: OwnedSemaphorePermit = Arc::clone(&self.shared.async_permits)
            .acquire_owned()
            .await
            .map_err(|_| ClientError::ShutDown { what: "producer" })?;
        let producer = self.clone();
        Ok(tokio::spawn(async move {
            let result = producer.send(message).await;
            drop(permit);
            result
        }))
    }

    /// Sends without waiting for an answer: one attempt, no result.
    pub async fn send_oneway(&self, mut message: Message) -> ClientResult<()> {
        message.validate()?;
        let queues = self.publish_queues(message.topic()).await?;
        let (body, sys_flag) = self.prepare_single(&mut message)?;
        let queue = self
            .faults()
            .select(&queues, None, clock::now_ms())
            .cloned()
            .ok_or_else(|| no_queue(message.topic()))?;
        let prepared = self.attempt_for(&queue, &message, body, sys_flag, false)?;
        let request = RemotingCommand::request(prepared.code)
            .with_ext_fields(prepared.header.to_ext_fields())
            .with_body(prepared.body);
        self.shared
            .cluster
            .oneway(&prepared.addr, request, self.shared.options.send_timeout)
            .await
    }

    /// Sends to the queue `selector` picks, once (Java's `send(msg, selector, arg)`).
    pub async fn send_with_selector(
        &self,
        mut message: Message,
        selector: &dyn QueueSelector,
    ) -> ClientResult<SendResult> {
        message.validate()?;
        let queues = self.publish_queues(message.topic()).await?;
        if queues.is_empty() {
            return Err(no_queue(message.topic()));
        }
        let index = selector.select(&queues, &message) % queues.len();
        let queue = queues.get(index).cloned().ok_or_else(|| no_queue(message.topic()))?;
        let (body, sys_flag) = self.prepare_single(&mut message)?;
        let prepared = self.attempt_for(&queue, &message, body, sys_flag, false)?;
        self.invoke_send(prepared, self.shared.options.send_timeout).await
    }

    /// Sends messages with the same key to the same queue, so a consumer sees them in order.
    pub async fn send_ordered(&self, message: Message, key: &str) -> ClientResult<SendResult> {
        self.send_with_selector(message, &HashByKey(key.to_owned())).await
    }

    /// Sends messages of one topic as one batch (SEND_BATCH_MESSAGE), to one queue, with retries.
    pub async fn send_batch(&self, messages: Vec<Message>) -> ClientResult<SendResult> {
        let Some(first) = messages.first() else {
            return Err(ClientError::Invalid {
                what: "batch",
                reason: "no messages".into(),
            });
        };
        if messages.len() > BATCH_MESSAGES_MAX {
            return Err(ClientError::Invalid {
                what: "batch",
                reason: format!("{} messages, over {BATCH_MESSAGES_MAX}", messages.len()),
            });
        }
        let topic = first.topic().to_owned();
        let mut members = Vec::with_capacity(messages.len());
        let mut ids = Vec::with_capacity(messages.len());
        for mut message in messages {
            message.validate()?;
            if message.topic() != topic {
                return Err(ClientError::Invalid {
                    what: "batch",
                    reason: format!("mixes topics {topic} and {}", message.topic()),
                });
            }
            if message.property(names::DELAY).is_some() {
                return Err(ClientError::Invalid {
                    what: "batch",
                    reason: "a delayed message cannot be batched".into(),
                });
            }
            ids.push(self.ensure_unique_id(&mut message));
            members.push(BatchMember {
                flag: message.flag(),
                body: message.body().clone(),
                properties: message.properties().clone(),
            });
        }
        let mut body = BytesMut::new();
        encode_batch(&members, &mut body)?;
        let batch = Message::new(topic, body.freeze());
        // No UNIQ_KEY on the batch itself: a 5.x broker appends the batch's properties to every
        // member's, and a batch-level key would then replace each member's own.
        let mut result = self.send_prepared_batch(batch).await?;
        result.msg_id = ids.join(",");
        Ok(result)
    }

    async fn send_prepared_batch(&self, batch: Message) -> ClientResult<SendResult> {
        let queues = self.publish_queues(batch.topic()).await?;
        let deadline = Instant::now() + self.shared.options.send_timeout;
        let attempts = 1 + self.shared.options.retries;
        let mut last_failed: Option<String> = None;
        let mut last_error = None;
        for _ in 0..attempts {
            let Some(queue) = self
                .faults()
                .select(&queues, last_failed.as_deref(), clock::now_ms())
                .cloned()
            else {
                break;
            };
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let outcome = match self.attempt_for(&queue, &batch, batch.body().clone(), 0, true) {
                Ok(prepared) => self.invoke_send(prepared, deadline - now).await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(result) => return Ok(result),
                Err(error) if error.is_retryable_send() => {
                    last_failed = Some(queue.broker_name.clone());
                    last_error = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(ClientError::SendFailed {
            topic: batch.topic().to_owned(),
            attempts,
            last: Box::new(last_error.unwrap_or_else(|| no_queue(batch.topic()))),
        })
    }

    /// The writable queues of `topic`, or, while it has no route, those `TBW102`'s route offers.
    pub async fn publish_queues(&self, topic: &str) -> ClientResult<Vec<MessageQueue>> {
        let cluster = &self.shared.cluster;
        let refresh_every = cluster.options().route_refresh_interval;
        if let Some(route) = cluster.cached_route(topic) {
            let queues = route::publish_queues(&route, topic);
            if !queues.is_empty() {
                return Ok(queues);
            }
        }
        if let Some((queues, since)) = self.templated().get(topic)
            && since.elapsed() < refresh_every
        {
            return Ok(queues.clone());
        }
        match cluster.fetch_route(topic).await {
            Ok(route) => {
                let queues = route::publish_queues(&route, topic);
                if !queues.is_empty() {
                    return Ok(queues);
                }
            }
            Err(ClientError::NoRoute { .. }) => {}
            Err(error) => return Err(error),
        }
        let template = cluster
            .route(AUTO_CREATE_TOPIC)
            .await
            .map_err(|error| ClientError::NoRoute {
                topic: topic.to_owned(),
                reason: format!("no route of its own, and {AUTO_CREATE_TOPIC}'s failed: {error}"),
            })?;
        let queues = self.created_on_send(&template, topic);
        let mut templated = self.templated();
        templated.retain(|_, (_, since)| since.elapsed() < refresh_every);
        if templated.len() < TOPICS_MAX {
            templated.insert(topic.to_owned(), (queues.clone(), Instant::now()));
        }
        Ok(queues)
    }

    fn templated(&self) -> MutexGuard<'_, HashMap<String, (Vec<MessageQueue>, Instant)>> {
        // Held for one look-up or insert, never across an await.
        self.shared
            .created_on_send
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Java's `topicRouteData2TopicPublishInfo` on the template with queue counts capped.
    fn created_on_send(&self, template: &TopicRouteData, topic: &str) -> Vec<MessageQueue> {
        let mut capped = template.clone();
        for data in &mut capped.queue_datas {
            data.write_queue_nums = data.write_queue_nums.min(self.shared.options.default_topic_queue_nums);
            data.read_queue_nums = data.read_queue_nums.min(self.shared.options.default_topic_queue_nums);
        }
        route::publish_queues(&capped, topic)
    }

    /// Stops the producer's background task and closes its connections.
    pub async fn shutdown(&self) {
        self.shared.async_permits.close();
        self.shared.cluster.unregister_groups();
        self.shared.cluster.shutdown().await;
    }

    fn ensure_unique_id(&self, message: &mut Message) -> String {
        if let Some(id) = message.property(names::UNIQ_KEY) {
            return id.to_owned();
        }
        let id = self.shared.cluster.next_unique_id(clock::now_ms());
        message.properties_mut().insert(names::UNIQ_KEY, id.clone());
        id
    }

    /// Sets the unique id and compresses the body if it is big enough; returns body and sysFlag.
    fn prepare_single(&self, message: &mut Message) -> ClientResult<(Bytes, i32)> {
        self.ensure_unique_id(message);
        let options = &self.shared.options;
        // A half message is flagged by its TRAN_MSG property as well as its sysFlag, as Java sends it.
        let mut flag = if message.property(names::TRAN_MSG) == Some("true") {
            sysflag::TRANSACTION_PREPARED_TYPE
        } else {
            0
        };
        if message.body().len() >= options.compress_body_bytes_min {
            let packed = compression::compress(CompressionType::Zlib, message.body(), options.compress_level)?;
            flag |= sysflag::COMPRESSED | CompressionType::Zlib.flag_bits();
            return Ok((Bytes::from(packed), flag));
        }
        Ok((message.body().clone(), flag))
    }

    fn attempt_for<'a>(
        &self,
        queue: &'a MessageQueue,
        message: &Message,
        body: Bytes,
        sys_flag: i32,
        batch: bool,
    ) -> ClientResult<Attempt<'a>> {
        let addr = self
            .shared
            .cluster
            .broker_addr(&queue.broker_name)
            .ok_or_else(|| ClientError::NoBrokerAddress {
                broker_name: queue.broker_name.clone(),
            })?;
        let header = SendMessageRequestHeaderV2 {
            producer_group: self.shared.options.group.clone(),
            topic: message.topic().to_owned(),
            default_topic: AUTO_CREATE_TOPIC.to_owned(),
            default_topic_queue_nums: self.shared.options.default_topic_queue_nums,
            queue_id: queue.queue_id,
            sys_flag,
            born_timestamp: clock::now_ms(),
            flag: message.flag(),
            properties: Some(message.properties().encode()?),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(batch),
            broker_name: Some(queue.broker_name.clone()),
        };
        Ok(Attempt {
            queue,
            addr,
            code: if batch {
                RequestCode::SEND_BATCH_MESSAGE
            } else {
                RequestCode::SEND_MESSAGE_V2
            },
            header,
            body,
            msg_id: message.property(names::UNIQ_KEY).unwrap_or_default().to_owned(),
        })
    }

    async fn invoke_send(&self, attempt: Attempt<'_>, timeout: Duration) -> ClientResult<SendResult> {
        let request = RemotingCommand::request(attempt.code)
            .with_ext_fields(attempt.header.to_ext_fields())
            .with_body(attempt.body);
        let response = self.shared.cluster.invoke(&attempt.addr, request, timeout).await?;
        let status = match response.response_code() {
            ResponseCode::SUCCESS => SendStatus::Ok,
            ResponseCode::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            ResponseCode::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            ResponseCode::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            code => {
                return Err(ClientError::Refused {
                    addr: attempt.addr,
                    code,
                    remark: response.remark.unwrap_or_default(),
                });
            }
        };
        let header = SendMessageResponseHeader::from_command(&response)?;
        Ok(SendResult {
            status,
            msg_id: attempt.msg_id,
            offset_msg_id: header.msg_id,
            topic: attempt.header.topic,
            broker_name: attempt.queue.broker_name.clone(),
            queue_id: header.queue_id,
            queue_offset: header.queue_offset,
            transaction_id: header.transaction_id,
        })
    }

    fn faults(&self) -> MutexGuard<'_, FaultTable> {
        // Held for one table update or choice, never across an await.
        self.shared.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn no_queue(topic: &str) -> ClientError {
    ClientError::NoRoute {
        topic: topic.to_owned(),
        reason: "the route has no writable queue".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_by_key_is_javas_select_by_hash() {
        let queues: Vec<MessageQueue> = (0..4).map(|id| MessageQueue::new("T", "a", id)).collect();
        let message = Message::new("T", "x");
        // "hello".hashCode() = 99162322, % 4 = 2.
        assert_eq!(HashByKey("hello".into()).select(&queues, &message), 2);
        // "polygenelubricants".hashCode() = i32::MIN, % 4 = 0.
        assert_eq!(HashByKey("polygenelubricants".into()).select(&queues, &message), 0);
        // A negative remainder is made positive, as Java's Math.abs.
        // "order-1".hashCode() = -1207111310, % 4 = -2 in Java, made 2.
        assert_eq!(java_string_hash("order-1"), -1_207_111_310);
        assert_eq!(HashByKey("order-1".into()).select(&queues, &message), 2);
    }
}
