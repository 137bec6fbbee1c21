//! QueryRoute and QueryAssignment answers from one topic config, as Java's `RouteActivity`
//! builds them: queues split by permission (read-only first, then write-only, then read-write,
//! then none), each pointing at the endpoint the client dialled and listing the message types
//! the topic's `message.type` attribute accepts. Pure: the service reads the table and calls in.

use std::collections::BTreeMap;

use ferrocket_wire::body::TopicConfig;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};

use crate::proto::{
    Address, AddressScheme, Assignment, Broker, Code, Endpoints, MessageQueue, MessageType, Permission, Resource,
    Status,
};
use crate::status::{proxy_exception, status};

/// Java's `Validators.TOPIC_MAX_LENGTH`.
pub const TOPIC_NAME_CHARS_MAX: usize = 127;

/// The topic attribute that names the message types a topic accepts.
const MESSAGE_TYPE_ATTRIBUTE: &str = "message.type";

/// Java's `TopicMessageType`: what a topic accepts, or what a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicMessageType {
    Unspecified,
    Normal,
    Fifo,
    Delay,
    Transaction,
    Mixed,
}

impl TopicMessageType {
    /// `TopicConfig.getTopicMessageType`: NORMAL without the attribute. A value Java's
    /// `valueOf` would refuse reads as UNSPECIFIED, which accepts nothing.
    pub fn of_topic(config: &TopicConfig) -> TopicMessageType {
        match config.attributes.get(MESSAGE_TYPE_ATTRIBUTE).map(String::as_str) {
            None | Some("NORMAL") => TopicMessageType::Normal,
            Some("FIFO") => TopicMessageType::Fifo,
            Some("DELAY") => TopicMessageType::Delay,
            Some("TRANSACTION") => TopicMessageType::Transaction,
            Some("MIXED") => TopicMessageType::Mixed,
            Some(_) => TopicMessageType::Unspecified,
        }
    }

    /// `TopicMessageType.parseFromMessageProperty`: transaction, then delay, then FIFO.
    pub fn of_message(properties: &BTreeMap<String, String>) -> TopicMessageType {
        let has = |key: &str| properties.contains_key(key);
        if properties.get(keys::TRAN_MSG).is_some_and(|value| value == "true") {
            TopicMessageType::Transaction
        } else if has(keys::DELAY)
            || has(keys::TIMER_DELIVER_MS)
            || has(keys::TIMER_DELAY_SEC)
            || has(keys::TIMER_DELAY_MS)
        {
            TopicMessageType::Delay
        } else if has(keys::SHARDING_KEY) {
            TopicMessageType::Fifo
        } else {
            TopicMessageType::Normal
        }
    }

    /// Java's name, as its messages print it.
    pub fn java_name(self) -> &'static str {
        match self {
            TopicMessageType::Unspecified => "UNSPECIFIED",
            TopicMessageType::Normal => "NORMAL",
            TopicMessageType::Fifo => "FIFO",
            TopicMessageType::Delay => "DELAY",
            TopicMessageType::Transaction => "TRANSACTION",
            TopicMessageType::Mixed => "MIXED",
        }
    }

    /// The route's `accept_message_types` (`RouteActivity.parseTopicMessageType`).
    pub fn accepted(self) -> Vec<i32> {
        let types: &[MessageType] = match self {
            TopicMessageType::Normal => &[MessageType::Normal],
            TopicMessageType::Fifo => &[MessageType::Fifo],
            TopicMessageType::Delay => &[MessageType::Delay],
            TopicMessageType::Transaction => &[MessageType::Transaction],
            TopicMessageType::Mixed => &[
                MessageType::Normal,
                MessageType::Fifo,
                MessageType::Delay,
                MessageType::Transaction,
            ],
            TopicMessageType::Unspecified => &[MessageType::Unspecified],
        };
        types.iter().map(|t| *t as i32).collect()
    }

    /// `DefaultTopicMessageTypeValidator.validate`: a message of type `actual` to a topic of
    /// type `self`; the error is Java's MESSAGE_PROPERTY_CONFLICT_WITH_TYPE.
    pub fn admits(self, actual: TopicMessageType) -> Result<(), Status> {
        if actual == TopicMessageType::Unspecified || (actual != self && self != TopicMessageType::Mixed) {
            return Err(proxy_exception(
                Code::MessagePropertyConflictWithType,
                &format!(
                    "TopicMessageType validate failed, the expected type is {}, but actual type is {}",
                    self.java_name(),
                    actual.java_name()
                ),
            ));
        }
        Ok(())
    }
}

/// `GrpcValidator.validateTopic`: the client library's `Validators.checkTopic` messages as
/// ILLEGAL_TOPIC, then system topics refused.
pub fn validate_topic(topic: &str, is_system_topic: bool) -> Result<(), Status> {
    let illegal = |message: String| Err(status(Code::IllegalTopic, message));
    if topic.trim().is_empty() {
        return illegal("The specified topic is blank".to_owned());
    }
    if topic.chars().count() > TOPIC_NAME_CHARS_MAX {
        return illegal("The specified topic is longer than topic max length.".to_owned());
    }
    if !topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
    {
        return illegal(format!(
            "The specified topic[{topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if is_system_topic {
        return illegal("cannot access system topic".to_owned());
    }
    Ok(())
}

/// `RouteActivity.convertToPermission`.
pub fn permission(perm: i32) -> Permission {
    match (perm & PERM_READ != 0, perm & PERM_WRITE != 0) {
        (true, true) => Permission::ReadWrite,
        (true, false) => Permission::Read,
        (false, true) => Permission::Write,
        (false, false) => Permission::None,
    }
}

/// The broker as the route shows it: its name, id 0 (the master; our endpoint runs in the
/// broker's process, as Java's local mode) and the client's own access point with our port.
pub fn broker_entry(broker_name: &str, requested: Option<&Endpoints>, port: u16) -> Broker {
    let (scheme, addresses) = match requested {
        Some(endpoints) => (
            endpoints.scheme,
            endpoints
                .addresses
                .iter()
                .map(|address| Address {
                    host: address.host.clone(),
                    port: i32::from(port),
                })
                .collect(),
        ),
        None => (AddressScheme::IPv4 as i32, Vec::new()),
    };
    Broker {
        name: broker_name.to_owned(),
        id: 0,
        endpoints: Some(Endpoints { scheme, addresses }),
    }
}

/// `RouteActivity.genMessageQueueFromQueueData` for one topic on one broker.
pub fn message_queues(topic: &Resource, config: &TopicConfig, broker: &Broker) -> Vec<MessageQueue> {
    let (read, write) = (config.read_queue_nums.max(0), config.write_queue_nums.max(0));
    let (readable, writable) = (config.perm & PERM_READ != 0, config.perm & PERM_WRITE != 0);
    let (read_only, write_only, both, none) = match (readable, writable) {
        (true, true) => {
            let both = read.min(write);
            (read - both, write - both, both, 0)
        }
        (false, true) => (0, write, 0, 0),
        (true, false) => (read, 0, 0, 0),
        (false, false) => (0, 0, 0, read.max(write).max(1)),
    };
    let accepted = TopicMessageType::of_topic(config).accepted();
    let groups = [
        (read_only, Permission::Read),
        (write_only, Permission::Write),
        (both, Permission::ReadWrite),
        (none, Permission::None),
    ];
    groups
        .iter()
        .flat_map(|&(count, permission)| (0..count).map(move |_| permission))
        .zip(0..)
        .map(|(permission, id)| MessageQueue {
            topic: Some(topic.clone()),
            id,
            permission: permission as i32,
            broker: Some(broker.clone()),
            accept_message_types: accepted.clone(),
        })
        .collect()
}

/// `RouteActivity.queryAssignment` for one broker: every readable queue of a FIFO group
/// (`consumeMessageOrderly`), else one queue with id -1 that stands for the whole topic.
pub fn assignments(topic: &Resource, config: &TopicConfig, broker: &Broker, fifo: bool) -> Vec<Assignment> {
    if config.perm & PERM_READ == 0 || config.read_queue_nums <= 0 {
        return Vec::new();
    }
    let permission = permission(config.perm) as i32;
    let queue = |id: i32| Assignment {
        message_queue: Some(MessageQueue {
            topic: Some(topic.clone()),
            id,
            permission,
            broker: Some(broker.clone()),
            accept_message_types: Vec::new(),
        }),
    };
    if fifo {
        (0..config.read_queue_nums).map(queue).collect()
    } else {
        vec![queue(-1)]
    }
}

#[cfg(test)]
mod tests;
