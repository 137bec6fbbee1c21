//! What mqadmin changes on brokers: topics and subscription groups with every setting its
//! `updateTopic` / `updateSubGroup` take, on one broker (`-b`) or every master of a cluster (`-c`).

use ferrocket_wire::body::{JsonBody, SubscriptionGroupConfig, TopicConfig};
use ferrocket_wire::header::{CreateTopicRequestHeader, CustomHeader, DeleteSubscriptionGroupRequestHeader};
use ferrocket_wire::system_topics::AUTO_CREATE_TOPIC;
use ferrocket_wire::{RemotingCommand, RequestCode};

use super::{ADMIN_QUEUES_MAX, Admin};
use crate::error::{ClientError, ClientResult};
use crate::message::check_topic;

/// Where a change goes: mqadmin's `-b` (one broker) or `-c` (every master of a cluster).
///
/// ```no_run
/// use ferrocket_client::admin::Target;
/// use ferrocket_client::{Admin, ClientOptions};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let admin = Admin::start(ClientOptions::new("127.0.0.1:9876"))?;
/// // mqadmin's `-c DefaultCluster`: every master of the cluster.
/// let masters = admin.target_addrs(&Target::Cluster("DefaultCluster".into())).await?;
/// println!("{masters:?}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One broker, by address.
    Broker(String),
    /// Every master of the named cluster, as the name server lists them.
    Cluster(String),
}

impl Admin {
    /// The broker addresses `target` stands for.
    pub async fn target_addrs(&self, target: &Target) -> ClientResult<Vec<String>> {
        match target {
            Target::Broker(addr) => Ok(vec![addr.clone()]),
            Target::Cluster(name) => self.masters_of(name).await,
        }
    }

    /// Creates or updates a topic with every setting of `config` (UPDATE_AND_CREATE_TOPIC) on
    /// each broker of `target`; returns the addresses changed, as `mqadmin updateTopic` prints them.
    pub async fn create_topic_config(&self, target: &Target, config: &TopicConfig) -> ClientResult<Vec<String>> {
        check_topic(&config.topic_name)?;
        for (what, nums) in [
            ("read queue count", config.read_queue_nums),
            ("write queue count", config.write_queue_nums),
        ] {
            if !(1..=ADMIN_QUEUES_MAX).contains(&nums) {
                return Err(ClientError::Invalid {
                    what,
                    reason: format!("{nums} is outside 1..={ADMIN_QUEUES_MAX}"),
                });
            }
        }
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: AUTO_CREATE_TOPIC.to_owned(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes: attributes_text(config),
            ..CreateTopicRequestHeader::default()
        };
        let addrs = self.target_addrs(target).await?;
        for addr in &addrs {
            let request =
                RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC).with_ext_fields(header.to_ext_fields());
            self.cluster.invoke_checked(addr, request).await?;
        }
        Ok(addrs)
    }

    /// Creates or updates a subscription group (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, the config
    /// as JSON body) on each broker of `target`; returns the addresses changed.
    pub async fn create_group(&self, target: &Target, config: &SubscriptionGroupConfig) -> ClientResult<Vec<String>> {
        if config.group_name.is_empty() {
            return Err(ClientError::Invalid {
                what: "group",
                reason: "the name is empty".into(),
            });
        }
        let body = config.encode();
        let addrs = self.target_addrs(target).await?;
        for addr in &addrs {
            let request =
                RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(body.clone());
            self.cluster.invoke_checked(addr, request).await?;
        }
        Ok(addrs)
    }

    /// Deletes a subscription group (DELETE_SUBSCRIPTIONGROUP), with its offsets when
    /// `clean_offset`, from each broker of `target`; returns the addresses changed.
    pub async fn delete_group(&self, target: &Target, group: &str, clean_offset: bool) -> ClientResult<Vec<String>> {
        let header = DeleteSubscriptionGroupRequestHeader {
            group_name: group.to_owned(),
            clean_offset,
            ..DeleteSubscriptionGroupRequestHeader::default()
        };
        let addrs = self.target_addrs(target).await?;
        for addr in &addrs {
            let request =
                RemotingCommand::request(RequestCode::DELETE_SUBSCRIPTIONGROUP).with_ext_fields(header.to_ext_fields());
            self.cluster.invoke_checked(addr, request).await?;
        }
        Ok(addrs)
    }
}

/// Java's `attributes` header value (`AttributeParser.parseToString`): `+key=value` to set,
/// `-key` to remove, joined by commas; a key without a sign is a setting.
fn attributes_text(config: &TopicConfig) -> Option<String> {
    if config.attributes.is_empty() {
        return None;
    }
    let entries: Vec<String> = config
        .attributes
        .iter()
        .map(|(key, value)| match key.strip_prefix('-') {
            Some(_) => key.clone(),
            None => format!("+{}={value}", key.strip_prefix('+').unwrap_or(key)),
        })
        .collect();
    Some(entries.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_written_as_java_adds_them() {
        let mut config = TopicConfig::default();
        assert_eq!(attributes_text(&config), None);
        config.attributes.insert("+message.type".into(), "FIFO".into());
        config.attributes.insert("queue.type".into(), "BatchCQ".into());
        config.attributes.insert("-delete.policy".into(), String::new());
        assert_eq!(
            attributes_text(&config).as_deref(),
            Some("+message.type=FIFO,-delete.policy,+queue.type=BatchCQ")
        );
    }
}
