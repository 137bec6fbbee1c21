//! The broker's error: every way a request can fail, carrying the facts of the failure, and the
//! one place that turns a failure into the response code and remark a Java client expects.
//!
//! Each variant is one of Java's failures. Its `Display` is Java's remark exactly, FAQ links and
//! odd spellings included (clients and mqadmin print it; tests match it byte for byte);
//! [`BrokerError::response_code`] is its code. Where Java would only surface an exception's
//! message (start-up, metadata files, limits of our own), the code is `SYSTEM_ERROR` and the
//! remark names the cause. How a put ended becomes a code in [`put_status_code`] alone.

use std::io;
use std::net::{AddrParseError, SocketAddr};

use ferrocket_net::NetError;
use ferrocket_store::{PutStatus, StoreError};
use ferrocket_wire::body::TopicConfig;
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode, WireError};
use thiserror::Error;

mod auth;
mod plain_acl;

pub use auth::{AuthError, Refusal};
pub use plain_acl::AclRefusal;

/// `FAQUrl.suggestTodo(...)`: every FAQ link Java appends is this page.
pub const FAQ_SUFFIX: &str = "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

/// `ForbiddenType`: why a NO_PERMISSION pull was refused, sent as the pull header's
/// `forbiddenType`.
const FORBIDDEN_BROKER: i32 = 1;
const FORBIDDEN_GROUP: i32 = 2;
const FORBIDDEN_TOPIC: i32 = 3;
const FORBIDDEN_BROADCASTING: i32 = 4;

#[derive(Debug, Error)]
pub enum BrokerError {
    /// A header field is missing or malformed, or a body does not decode.
    #[error(transparent)]
    Wire(#[from] WireError),

    /// The store failed; details in the message (disk, corruption, limits).
    #[error(transparent)]
    Store(#[from] StoreError),

    /// Authentication, authorization or an auth admin operation failed: Java's remark and code
    /// ([`AuthError`]).
    #[error(transparent)]
    Auth(#[from] AuthError),

    /// ACL 1.0 (`aclEnable`) refused the request: SYSTEM_ERROR with Java's `AclException` remark.
    #[error("{}", .0.remark())]
    PlainAcl(#[from] AclRefusal),

    /// A slave turns away sends, send-backs and (without `slaveReadEnable`) pulls with the
    /// remoting layer's answer to a processor's `rejectRequest`.
    #[error("[REJECTREQUEST]system busy, start flow control for a while")]
    RejectedBySlave,

    // Sends (`msgCheck`, batches, the put, CONSUMER_SEND_MSG_BACK).
    /// The broker lacks PERM_WRITE (a send to an order topic, or a send-back).
    #[error("the broker[{broker_ip}] sending message is forbidden")]
    BrokerSendForbidden { broker_ip: String },

    #[error("The specified topic is blank.")]
    TopicBlank,

    #[error("The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$")]
    TopicIllegalCharacters { topic: String },

    #[error("The specified topic is longer than topic max length.")]
    TopicTooLong { topic_chars: usize, limit: usize },

    /// `rejectTransactionMessage` is on and the send is a prepared transactional message.
    #[error("the broker[{broker_ip}] sending transaction message is forbidden")]
    TransactionMessageForbidden { broker_ip: String },

    /// `TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`.
    #[error("Sending message to topic[{topic}] is forbidden.")]
    SendToSystemTopicForbidden { topic: String },

    /// Unknown and not auto-created (no default topic to copy, not a retry topic).
    #[error("topic[{topic}] not exist, apply first please!{}", FAQ_SUFFIX)]
    SendTopicNotExist { topic: String },

    /// The queue id is at or above `max(readQueueNums, writeQueueNums)`.
    #[error("request queueId[{queue_id}] is illegal, {} Producer: {producer}", topic_config_text(.topic_config))]
    SendQueueIdIllegal {
        queue_id: i32,
        topic_config: Box<TopicConfig>,
        producer: String,
    },

    /// A send with a negative queue id to a topic without writable queues.
    #[error("topic[{topic}] has no writable queue")]
    NoWritableQueue { topic: String },

    /// A retry (`%RETRY%group`) or send-back for a group that does not exist.
    #[error("subscription group not exist, {group} {}", FAQ_SUFFIX)]
    RetryGroupNotExist { group: String },

    /// A retry or dead-letter topic could not be created (the topic table is full).
    #[error("topic[{topic}] not exist")]
    RetryTopicNotCreated { topic: String },

    /// A send-back to a retry topic without PERM_WRITE.
    #[error("the topic[{topic}] sending message is forbidden")]
    TopicSendForbidden { topic: String },

    /// Java's `MESSAGE_ILLEGAL` and `PROPERTIES_SIZE_EXCEEDED` remark, whatever the cause.
    #[error(
        "the message is illegal, maybe msg body or properties length not matched. msg body length limit {body_bytes_max}B, msg properties length limit 32KB."
    )]
    MessageIllegal { why: IllegalMessage, body_bytes_max: usize },

    #[error("message topic length too long {topic_chars}")]
    BatchTopicTooLong { topic_chars: usize },

    #[error("batch request does not support retry group {topic}")]
    BatchToRetryTopic { topic: String },

    /// The store refused the put: shut down, disk full, or not writeable.
    #[error(
        "service not available now. It may be caused by one of the following reasons: the broker's disk is full [{}], messages are put to the slave, message store has been shut down, etc.",
        cause_text(.cause)
    )]
    ServiceNotAvailable { cause: Option<StoreError> },

    /// Too many puts wait for a flush.
    #[error("[PC_SYNCHRONIZED]broker busy, start flow control for a while")]
    PageCacheBusy,

    #[error("UNKNOWN_ERROR")]
    PutUnknownError { cause: Option<StoreError> },

    /// The store could open no file for the put (descriptors exhausted); transient.
    #[error("create mapped file failed, server is busy or broken.")]
    CreateMappedFileFailed { cause: Option<StoreError> },

    /// The store reported success without a result.
    #[error("store putMessage return null")]
    PutResultMissing,

    /// `WHEEL_TIMER_MSG_ILLEGAL`: a timer time that is no number, lies beyond
    /// `timerMaxDelaySec`, or a delete mark whose time has passed.
    #[error(
        "timer message illegal, the delay time should not be bigger than the max delay {max_delay_ms}ms; or if set del msg, the delay time should be bigger than the current time"
    )]
    TimerMessageIllegal { max_delay_ms: i64 },

    /// `WHEEL_TIMER_FLOW_CONTROL`: as many timers wait as the wheel holds (ours is a total,
    /// Java's a per-slot `timerCongestNumEachSlot`).
    #[error("timer message is under flow control, max num limit is {limit}")]
    TimerFlowControl { limit: u64 },

    /// `WHEEL_TIMER_NOT_ENABLE`: a timer message while `timerWheelEnable=false`.
    #[error("accurate timer message is not enabled, timerWheelEnable is false")]
    TimerNotEnabled,

    // RECALL_MESSAGE (`RecallMessageProcessor`, 5.3.2+), in Java's order.
    #[error("recall failed, operation is forbidden")]
    RecallForbidden,

    /// On a slave (SLAVE_NOT_AVAILABLE) or a broker not writeable (SERVICE_NOT_AVAILABLE).
    #[error("recall failed, broker service not available")]
    RecallUnavailable { on_slave: bool },

    #[error("recall failed, the topic[{topic}] not exist")]
    RecallTopicNotExist { topic: String },

    #[error("recall handle is invalid")]
    RecallHandleInvalid,

    #[error("recall failed, topic not match")]
    RecallTopicMismatch,

    /// The handle names another broker.
    #[error("recall failed, broker service not available")]
    RecallBrokerMismatch,

    /// The handle's time has passed, or lies beyond `timerMaxDelaySec`.
    #[error("recall failed, timestamp invalid")]
    RecallTimestampInvalid,

    /// The delete mark was not stored.
    #[error("recall failed, execute error")]
    RecallPutFailed,

    /// CONSUMER_SEND_MSG_BACK names a commit-log offset holding no message.
    #[error("look message by offset failed, {offset}")]
    SendBackMessageNotFound { offset: i64 },

    /// CONSUMER_SEND_MSG_BACK's put did not end PUT_OK; Java's remark is the status name.
    #[error("{}", .status.java_name())]
    SendBackPutFailed { status: PutMessageStatus },

    // Pulls (`PullMessageProcessor`, in Java's order).
    #[error("the broker[{broker_ip}] pulling message is forbidden")]
    PullBrokerForbidden { broker_ip: String },

    #[error("subscription group [{group}] does not exist, {}", FAQ_SUFFIX)]
    PullGroupNotExist { group: String },

    #[error("subscription group no permission, {group}")]
    PullGroupForbidden { group: String },

    #[error("topic[{topic}] not exist, apply first please! {}", FAQ_SUFFIX)]
    PullTopicNotExist { topic: String },

    #[error("the topic[{topic}] pulling message is forbidden")]
    PullTopicForbidden { topic: String },

    #[error(
        "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{read_queue_nums}] consumer:[/{consumer}]"
    )]
    PullQueueIdIllegal {
        topic: String,
        queue_id: i32,
        read_queue_nums: i32,
        consumer: String,
    },

    // POP (`PopMessageProcessor`, `AckMessageProcessor`, in Java's order).
    #[error("the broker[{broker_ip}] pop message is timeout too much")]
    PopTimeoutTooMuch { broker_ip: String },

    #[error("the broker[{broker_ip}] pop message is forbidden")]
    PopBrokerForbidden { broker_ip: String },

    #[error("the broker[{broker_ip}] peeking message is forbidden")]
    PeekBrokerForbidden { broker_ip: String },

    #[error("the broker[{broker_ip}] pop message's num is greater than 32")]
    PopTooManyMessages { broker_ip: String },

    #[error("the broker[{broker_ip}] pop message is forbidden because timerWheelEnable is false")]
    PopNeedsTimerWheel { broker_ip: String },

    #[error("the topic[{topic}] peeking message is forbidden")]
    PopTopicForbidden { topic: String },

    /// An orderly ack of an offset the queue's last pop did not take (`ackOrderly`).
    #[error("offset is illegal, key:{key}, old:{old}, commit:{commit}, next:-1, /{peer}")]
    OrderAckOffsetIllegal {
        key: String,
        old: i64,
        commit: i64,
        peer: String,
    },

    /// POP's refusal names no `forbiddenType`, unlike a pull's.
    #[error("subscription group no permission, {group}")]
    PopGroupForbidden { group: String },

    #[error(
        "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{read_queue_nums}] consumer:[/{consumer}]"
    )]
    AckQueueIdIllegal {
        topic: String,
        queue_id: i32,
        read_queue_nums: i32,
        consumer: String,
    },

    #[error("offset is illegal, key:{topic}@{queue_id}, commit:{offset}, store:{min}~{max}")]
    AckOffsetIllegal {
        topic: String,
        queue_id: i32,
        offset: i64,
        min: i64,
        max: i64,
    },

    /// A non-TAG expression type without an expression.
    #[error("parse the consumer's subscription failed")]
    SubscriptionParseFailed { expression_type: String },

    /// SQL92 and other property filters (a pull, or CHECK_CLIENT_CONFIG) while
    /// `enablePropertyFilter` is off, or a type other than SQL92.
    #[error("The broker does not support consumer to filter message by {expression_type}")]
    FilterTypeNotSupported { expression_type: String },

    /// CHECK_CLIENT_CONFIG: the SQL92 expression does not compile; the remark is Java's
    /// `MQFilterException` message (the compiler's error, as text: errors sit below state).
    #[error("{message}")]
    SqlExpressionInvalid { message: String },

    /// A pull by a consumer whose registered SQL92 expression does not compile (Java keeps no
    /// filter data for it).
    #[error("The broker's consumer filter data is not exist!Your expression may be wrong!")]
    FilterDataNotExist { group: String, topic: String },

    /// No consumer of the group registered a subscription to the topic.
    #[error("the consumer's subscription not exist{}", FAQ_SUFFIX)]
    SubscriptionNotExist { group: String, topic: String },

    #[error("the consumer group[{group}] can not consume by broadcast way")]
    BroadcastForbidden { group: String },

    /// The pull carries a newer subscription version than the registered one.
    #[error("the consumer's subscription not latest")]
    SubscriptionNotLatest {
        group: String,
        topic: String,
        registered_version: i64,
        pulled_version: i64,
    },

    // Clients.
    #[error("no consumer for this group, {group}")]
    NoConsumerInGroup { group: String },

    #[error("the consumer group[{group}] not online")]
    ConsumerGroupNotOnline { group: String },

    #[error("the producer group[{group}] not exist")]
    ProducerGroupNotExist { group: String },

    /// GET_CONSUMER_RUNNING_INFO for a client that is not connected.
    #[error("The Consumer <{group}> <{client_id}> not online")]
    ConsumerNotOnline { group: String, client_id: String },

    /// The relayed call to a consumer timed out.
    #[error("consumer <{group}> <{client_id}> Timeout: {error}")]
    ConsumerCallTimeout {
        group: String,
        client_id: String,
        error: NetError,
    },

    /// The relayed call to a consumer failed otherwise.
    #[error("invoke consumer <{group}> <{client_id}> Exception: {error}")]
    ConsumerCallFailed {
        group: String,
        client_id: String,
        error: NetError,
    },

    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS for a group without live consumers. Java says this
    /// for a group whose member table is empty, and fails with a NullPointerException (same
    /// code) when the group is unknown, which is the case once its last consumer left.
    #[error("No Any Consumer online in the consumer group: [{group}]")]
    NoConsumerOnlineInGroup { group: String },

    /// CONSUME_MESSAGE_DIRECTLY whose offset message id does not parse or names no stored
    /// record; Java fails on it with an exception's description (same code).
    #[error("The message <{msg_id}> is not stored in this broker")]
    DirectMessageNotFound { msg_id: String },

    // Consumer offsets.
    /// No committed offset and the client asked not to start from zero.
    #[error("Not found, do not set to zero, maybe this group boot first")]
    OffsetNotFoundZeroDeclined,

    /// No committed offset and the queue's first message is gone or not in memory.
    #[error("Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")]
    OffsetNotFound,

    #[error("Group {group} not exist!")]
    CommitGroupNotExist { group: String },

    #[error("Topic {topic} not exist!")]
    CommitTopicNotExist { topic: String },

    #[error("Can not reset offset in slave broker")]
    ResetOnSlave,

    #[error("Topic {topic} does not exist")]
    ResetTopicNotExist { topic: String },

    #[error("Group {group} does not exist")]
    ResetGroupNotExist { group: String },

    #[error("Target offset {offset} not in consume queue range [{min}-{max}]")]
    ResetOffsetOutOfRange { offset: i64, min: i64, max: i64 },

    #[error("No queues to reset.")]
    ResetNoQueues { topic: String },

    /// A reset the consumers apply (`useServerSideResetOffset=false`) of an unknown topic.
    #[error("[reset-offset] reset offset failed, no topic in this broker. topic={topic}")]
    ClientResetTopicNotExist { topic: String },

    /// A client-applied reset of a queue the group has no offset in; Java's spelling.
    #[error("THe consumer group <{group}> not exist")]
    ClientResetGroupNotExist {
        group: String,
        topic: String,
        queue_id: i32,
    },

    #[error("Consumer not online, so can not reset offset, Group: {group} Topic: {topic} Timestamp: {timestamp_ms}")]
    ClientResetConsumerNotOnline {
        group: String,
        topic: String,
        timestamp_ms: i64,
    },

    // Queries.
    /// VIEW_MESSAGE_BY_ID names a commit-log offset holding no message.
    #[error("can not find message by the offset, {offset}")]
    MessageNotFoundAtOffset { offset: i64 },

    // Admin.
    #[error("The topic[{topic}] is conflict with system topic.")]
    SystemTopicConflict { topic: String },

    #[error("MIXED message type is not supported.")]
    MixedMessageTypeNotSupported { topic: String },

    /// Java accepts any count; a topic of 2^31-1 queues exhausts the Java client's heap.
    #[error(
        "The queue numbers of topic[{topic}] must be within 1..={limit} (TOPIC_QUEUE_NUMS_MAX): readQueueNums={read}, writeQueueNums={write}"
    )]
    TopicQueueNumsOutOfRange {
        topic: String,
        read: i32,
        write: i32,
        limit: i32,
    },

    /// Java accepts any int; only the four permission bits mean anything.
    #[error(
        "The perm of topic[{topic}] must be within 0..={limit} (the PRIORITY, READ, WRITE and INHERIT bits): perm={perm}"
    )]
    TopicPermInvalid { topic: String, perm: i32, limit: i32 },

    /// UPDATE_BROKER_CONFIG's body is not properties text.
    #[error("string2Properties error")]
    PropertiesUnparsable { error: WireError },

    /// GET_TOPIC_CONFIG of an unknown topic.
    #[error("No topic in this broker. topic: {topic}")]
    TopicNotInBroker { topic: String },

    /// GET_SUBSCRIPTIONGROUP_CONFIG of an unknown group, not auto-created.
    #[error("No group in this broker")]
    GroupNotInBroker { group: String },

    /// GET_TOPIC_STATS_INFO of an unknown topic.
    #[error("topic[{topic}] not exist")]
    TopicNotExist { topic: String },

    /// UPDATE_BROKER_CONFIG naming a key outside the run-time allowlist.
    #[error("Can not update config in black list.")]
    ConfigKeyDenied { key: String },

    // Tables and attributes (`AttributeUtil.alterCurrentAttributes`).
    #[error("the broker's topic table is full: the limit is TOPICS_MAX = {limit}")]
    TopicTableFull { limit: usize },

    #[error("attribute format is wrong: {change}")]
    AttributeFormatWrong { change: String },

    #[error("unsupported key: {key}")]
    AttributeKeyUnsupported { key: String },

    #[error("attribute value is wrong: {change}")]
    AttributeValueWrong { change: String },

    #[error("only add attribute is supported while creating topic. key: {key}")]
    AttributeRemovedOnCreate { key: String },

    #[error("attempt to delete a nonexistent key: {key}")]
    AttributeRemovedMissing { key: String },

    #[error("the group name {group:?} is illegal")]
    GroupNameIllegal { group: String },

    /// Java takes 255 characters; the group's `%RETRY%` topic must fit a stored topic.
    #[error(
        "the group name is {group_chars} characters long: the limit is GROUP_NAME_CHARS_MAX = {limit}, so that its retry topic %RETRY%<group> can be stored"
    )]
    GroupNameTooLong { group_chars: usize, limit: usize },

    #[error("the broker's subscription group table is full: the limit is GROUPS_MAX = {limit}")]
    GroupTableFull { limit: usize },

    // Configuration and start-up.
    /// A setting's value does not parse as its type or range.
    #[error("{key}={value}: expected {expected}")]
    ConfigBadValue {
        key: String,
        value: String,
        expected: String,
    },

    #[error("more than {limit} unknown keys")]
    TooManyUnknownConfigKeys { limit: usize },

    /// `aclEnable` or `migrateAuthFromV1Enabled`: the ACL 1.0 files cannot be found or read.
    #[error("ACL 1.0 (plain_acl.yml): {reason}")]
    PlainAclConfig { reason: String },

    #[error("bad listen address {host}: {error}")]
    BadListenAddress { host: String, error: AddrParseError },

    #[error(
        "cannot listen for clients on {address}: {error} (is another broker running? listenPort in broker.conf moves it)"
    )]
    ListenFailed { address: SocketAddr, error: NetError },

    #[error("bad HA listen address {host}:{port}: {error}")]
    BadHaListenAddress {
        host: String,
        port: u16,
        error: AddrParseError,
    },

    #[error(
        "cannot listen for slaves on {address}, the HA port: {error} (is another broker running? haListenPort in broker.conf moves it; by default it is listenPort + 1)"
    )]
    HaListenFailed { address: SocketAddr, error: io::Error },

    #[error("cannot serve metrics on {address}: {error} (metricsPromExporterPort in broker.conf moves it)")]
    MetricsListenFailed { address: String, error: io::Error },

    /// Java's `BrokerStartup` rule: a slave's `brokerId` is above 0.
    #[error("Slave's brokerId must be > 0")]
    SlaveIdNotPositive { broker_id: i64 },

    /// A slave's metadata sync could not reach its master.
    #[error("{code:?} to {master}: {error}")]
    MasterCallFailed {
        code: RequestCode,
        master: String,
        error: NetError,
    },

    /// A slave's metadata sync was refused by its master.
    #[error("{code:?} to {master} answered {response_code}: {remark}")]
    MasterRefused {
        code: RequestCode,
        master: String,
        response_code: i32,
        remark: String,
    },
}

pub type BrokerResult<T> = Result<T, BrokerError>;

/// Why a message is illegal; Java answers all of these with one remark.
#[derive(Debug)]
pub enum IllegalMessage {
    /// A send without a body.
    NoBody,
    BodyTooLarge {
        body_bytes: usize,
    },
    PropertiesTooLarge {
        properties_bytes: usize,
    },
    /// The store takes no transactional or delayed batches.
    TransactionalOrDelayedBatch,
    BatchUndecodable {
        error: WireError,
    },
    EmptyBatch,
    /// The store refused it (too large, not encodable).
    RefusedByStore {
        cause: Option<StoreError>,
    },
}

/// Java's `PutMessageStatus`, as far as this broker produces it: the store's status, or what a
/// SYNC_MASTER's slaves made of a put the store took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMessageStatus {
    PutOk,
    /// Stored, not on disk within `syncFlushTimeout`.
    FlushDiskTimeout,
    /// Stored; the slaves did not confirm it within `slaveTimeout`.
    FlushSlaveTimeout,
    /// Stored; a 4.x SYNC_MASTER had no slave fit to wait for.
    SlaveNotAvailable,
    ServiceNotAvailable,
    MessageIllegal,
    OsPageCacheBusy,
    CreateMappedFileFailed,
    UnknownError,
}

impl PutMessageStatus {
    /// The store's status, replaced by the slaves' shortfall when there is one (Java's
    /// `thenCombine`); a shortfall only follows a put the store took.
    pub fn of(store: PutStatus, replicas: Option<PutMessageStatus>) -> PutMessageStatus {
        let stored = match store {
            PutStatus::PutOk => PutMessageStatus::PutOk,
            PutStatus::FlushDiskTimeout => PutMessageStatus::FlushDiskTimeout,
            PutStatus::ServiceNotAvailable => return PutMessageStatus::ServiceNotAvailable,
            PutStatus::MessageIllegal => return PutMessageStatus::MessageIllegal,
            PutStatus::OsPageCacheBusy => return PutMessageStatus::OsPageCacheBusy,
            PutStatus::CreateMappedFileFailed => return PutMessageStatus::CreateMappedFileFailed,
            PutStatus::UnknownError => return PutMessageStatus::UnknownError,
        };
        replicas.unwrap_or(stored)
    }

    /// Java's enum constant name.
    pub fn java_name(self) -> &'static str {
        match self {
            PutMessageStatus::PutOk => "PUT_OK",
            PutMessageStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            PutMessageStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            PutMessageStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
            PutMessageStatus::ServiceNotAvailable => "SERVICE_NOT_AVAILABLE",
            PutMessageStatus::MessageIllegal => "MESSAGE_ILLEGAL",
            PutMessageStatus::OsPageCacheBusy => "OS_PAGE_CACHE_BUSY",
            PutMessageStatus::CreateMappedFileFailed => "CREATE_MAPPED_FILE_FAILED",
            PutMessageStatus::UnknownError => "UNKNOWN_ERROR",
        }
    }
}

/// Java's `handlePutMessageResult`: the code a send answers with when its message was stored
/// (a late flush or a slave's shortfall still gets the full header), or the failure when it was
/// not. `cause` is the store's error behind a failure. The one place put statuses become codes.
pub fn put_status_code(
    status: PutMessageStatus,
    cause: Option<StoreError>,
    body_bytes_max: usize,
) -> BrokerResult<ResponseCode> {
    match status {
        PutMessageStatus::PutOk => Ok(ResponseCode::SUCCESS),
        PutMessageStatus::FlushDiskTimeout => Ok(ResponseCode::FLUSH_DISK_TIMEOUT),
        PutMessageStatus::FlushSlaveTimeout => Ok(ResponseCode::FLUSH_SLAVE_TIMEOUT),
        PutMessageStatus::SlaveNotAvailable => Ok(ResponseCode::SLAVE_NOT_AVAILABLE),
        PutMessageStatus::MessageIllegal => Err(BrokerError::MessageIllegal {
            why: IllegalMessage::RefusedByStore { cause },
            body_bytes_max,
        }),
        PutMessageStatus::ServiceNotAvailable => Err(BrokerError::ServiceNotAvailable { cause }),
        PutMessageStatus::OsPageCacheBusy => Err(BrokerError::PageCacheBusy),
        PutMessageStatus::CreateMappedFileFailed => Err(BrokerError::CreateMappedFileFailed { cause }),
        PutMessageStatus::UnknownError => Err(BrokerError::PutUnknownError { cause }),
    }
}

impl BrokerError {
    /// The response code a Java client sees for this failure.
    pub fn response_code(&self) -> ResponseCode {
        use BrokerError as E;
        match self {
            E::Auth(auth) => auth.response_code(),
            E::PlainAcl(_) => ResponseCode::SYSTEM_ERROR,
            E::BrokerSendForbidden { .. }
            | E::TransactionMessageForbidden { .. }
            | E::SendToSystemTopicForbidden { .. }
            | E::TopicSendForbidden { .. }
            | E::PullBrokerForbidden { .. }
            | E::PullGroupForbidden { .. }
            | E::PullTopicForbidden { .. }
            | E::BroadcastForbidden { .. }
            | E::PopBrokerForbidden { .. }
            | E::PeekBrokerForbidden { .. }
            | E::PopTopicForbidden { .. }
            | E::PopGroupForbidden { .. }
            | E::ConfigKeyDenied { .. } => ResponseCode::NO_PERMISSION,
            E::PopTimeoutTooMuch { .. } => ResponseCode::POLLING_TIMEOUT,
            E::PopTooManyMessages { .. } => ResponseCode::INVALID_PARAMETER,
            E::AckQueueIdIllegal { .. } | E::OrderAckOffsetIllegal { .. } => ResponseCode::MESSAGE_ILLEGAL,
            E::AckOffsetIllegal { .. } => ResponseCode::NO_MESSAGE,
            E::TopicBlank
            | E::TopicIllegalCharacters { .. }
            | E::TopicTooLong { .. }
            | E::SendQueueIdIllegal { .. }
            | E::PullQueueIdIllegal { .. }
            | E::SystemTopicConflict { .. }
            | E::MixedMessageTypeNotSupported { .. }
            | E::TopicQueueNumsOutOfRange { .. }
            | E::TopicPermInvalid { .. } => ResponseCode::INVALID_PARAMETER,
            E::SendTopicNotExist { .. }
            | E::PullTopicNotExist { .. }
            | E::CommitTopicNotExist { .. }
            | E::ResetTopicNotExist { .. }
            | E::TopicNotInBroker { .. }
            | E::TopicNotExist { .. } => ResponseCode::TOPIC_NOT_EXIST,
            E::RetryGroupNotExist { .. }
            | E::PullGroupNotExist { .. }
            | E::CommitGroupNotExist { .. }
            | E::ResetGroupNotExist { .. }
            | E::GroupNotInBroker { .. } => ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            E::RecallForbidden => ResponseCode::NO_PERMISSION,
            E::RecallUnavailable { on_slave: true } => ResponseCode::SLAVE_NOT_AVAILABLE,
            E::RecallUnavailable { on_slave: false } => ResponseCode::SERVICE_NOT_AVAILABLE,
            E::RecallTopicNotExist { .. } => ResponseCode::TOPIC_NOT_EXIST,
            E::RecallHandleInvalid | E::RecallTopicMismatch | E::RecallBrokerMismatch | E::RecallTimestampInvalid => {
                ResponseCode::ILLEGAL_OPERATION
            }
            E::MessageIllegal { .. }
            | E::BatchTopicTooLong { .. }
            | E::BatchToRetryTopic { .. }
            | E::TimerMessageIllegal { .. } => ResponseCode::MESSAGE_ILLEGAL,
            E::ServiceNotAvailable { .. } => ResponseCode::SERVICE_NOT_AVAILABLE,
            E::RejectedBySlave | E::PageCacheBusy => ResponseCode::SYSTEM_BUSY,
            E::SubscriptionParseFailed { .. } | E::SqlExpressionInvalid { .. } => {
                ResponseCode::SUBSCRIPTION_PARSE_FAILED
            }
            E::FilterDataNotExist { .. } => ResponseCode::FILTER_DATA_NOT_EXIST,
            E::SubscriptionNotExist { .. } => ResponseCode::SUBSCRIPTION_NOT_EXIST,
            E::SubscriptionNotLatest { .. } => ResponseCode::SUBSCRIPTION_NOT_LATEST,
            E::ConsumerGroupNotOnline { .. } | E::ClientResetConsumerNotOnline { .. } => {
                ResponseCode::CONSUMER_NOT_ONLINE
            }
            E::ConsumerCallTimeout { .. } => ResponseCode::CONSUME_MSG_TIMEOUT,
            E::OffsetNotFoundZeroDeclined | E::OffsetNotFound => ResponseCode::QUERY_NOT_FOUND,
            E::Wire(_)
            | E::Store(_)
            | E::NoWritableQueue { .. }
            | E::RetryTopicNotCreated { .. }
            | E::PutUnknownError { .. }
            | E::CreateMappedFileFailed { .. }
            | E::PutResultMissing
            | E::TimerFlowControl { .. }
            | E::TimerNotEnabled
            | E::PopNeedsTimerWheel { .. }
            | E::RecallPutFailed
            | E::SendBackMessageNotFound { .. }
            | E::SendBackPutFailed { .. }
            | E::FilterTypeNotSupported { .. }
            | E::NoConsumerInGroup { .. }
            | E::ProducerGroupNotExist { .. }
            | E::ConsumerNotOnline { .. }
            | E::ConsumerCallFailed { .. }
            | E::NoConsumerOnlineInGroup { .. }
            | E::DirectMessageNotFound { .. }
            | E::ResetOnSlave
            | E::ResetOffsetOutOfRange { .. }
            | E::ResetNoQueues { .. }
            | E::ClientResetTopicNotExist { .. }
            | E::ClientResetGroupNotExist { .. }
            | E::MessageNotFoundAtOffset { .. }
            | E::PropertiesUnparsable { .. }
            | E::TopicTableFull { .. }
            | E::AttributeFormatWrong { .. }
            | E::AttributeKeyUnsupported { .. }
            | E::AttributeValueWrong { .. }
            | E::AttributeRemovedOnCreate { .. }
            | E::AttributeRemovedMissing { .. }
            | E::GroupNameIllegal { .. }
            | E::GroupNameTooLong { .. }
            | E::GroupTableFull { .. }
            | E::ConfigBadValue { .. }
            | E::TooManyUnknownConfigKeys { .. }
            | E::PlainAclConfig { .. }
            | E::BadListenAddress { .. }
            | E::ListenFailed { .. }
            | E::BadHaListenAddress { .. }
            | E::HaListenFailed { .. }
            | E::MetricsListenFailed { .. }
            | E::SlaveIdNotPositive { .. }
            | E::MasterCallFailed { .. }
            | E::MasterRefused { .. } => ResponseCode::SYSTEM_ERROR,
        }
    }

    /// Java's `forbiddenType` for a pull refused with NO_PERMISSION.
    pub fn forbidden_type(&self) -> Option<i32> {
        match self {
            BrokerError::PullBrokerForbidden { .. } => Some(FORBIDDEN_BROKER),
            BrokerError::PullGroupForbidden { .. } => Some(FORBIDDEN_GROUP),
            BrokerError::PullTopicForbidden { .. } => Some(FORBIDDEN_TOPIC),
            BrokerError::BroadcastForbidden { .. } => Some(FORBIDDEN_BROADCASTING),
            _ => None,
        }
    }
}

/// The response to `request` reporting `error`: its code, its remark and, for a forbidden pull,
/// the `forbiddenType` field.
pub fn error_response(request: &RemotingCommand, error: &BrokerError) -> RemotingCommand {
    let response = RemotingCommand::response_to(request, error.response_code(), Some(error.to_string()));
    match error.forbidden_type() {
        Some(forbidden_type) => {
            let mut fields = ExtFields::new();
            fields.insert("forbiddenType", forbidden_type.to_string());
            response.with_ext_fields(fields)
        }
        None => response,
    }
}

/// Turns a handler's result into the response the transport sends.
pub fn respond(request: &RemotingCommand, result: BrokerResult<RemotingCommand>) -> Option<RemotingCommand> {
    Some(match result {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(code = request.code, %error, "request failed");
            error_response(request, &error)
        }
    })
}

mod remarks;

use remarks::{cause_text, topic_config_text};

#[cfg(test)]
mod pop_tests;
#[cfg(test)]
mod tests;
