//! The admin calls operators make most, those of mqadmin: cluster info, topic creation and
//! deletion across a cluster, routes, a group's members and its consume progress here; topic and
//! group settings in `manage`, what is only read (topic list and offsets, connections, broker
//! status and configuration, messages by key) in `inspect`.
//!
//! As mqadmin does: a topic is created on every master of the cluster, and deleted from every
//! master and then from every name server.

use ferrocket_wire::body::{ClusterInfo, ConsumeStats, JsonBody, MessageQueue, TopicRouteData};
use ferrocket_wire::broker_id::MASTER_ID;
use ferrocket_wire::header::{
    CreateTopicRequestHeader, CustomHeader, DeleteTopicFromNamesrvRequestHeader, DeleteTopicRequestHeader,
    GetConsumeStatsRequestHeader,
};
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::system_topics::AUTO_CREATE_TOPIC;
use ferrocket_wire::{RemotingCommand, RequestCode};

use crate::cluster::{ClientOptions, Cluster, expect_success};
use crate::error::{ClientError, ClientResult};
use crate::message::check_topic;
use crate::queue_reader;
use crate::route;

mod inspect;
mod manage;
mod offsets;

pub use inspect::QUERY_BY_KEY_DEFAULT;
pub use manage::Target;

/// Queues per broker `create_topic` accepts (Java's tools refuse more than 1,024).
pub const ADMIN_QUEUES_MAX: i32 = route::QUEUES_PER_BROKER_MAX;

/// One queue's progress for a group: where the broker's queue ends and where the group is.
///
/// ```
/// use ferrocket_client::{MessageQueue, QueueProgress};
///
/// let progress = QueueProgress {
///     queue: MessageQueue { topic: "Orders".into(), broker_name: "broker-a".into(), queue_id: 0 },
///     broker_offset: 120,
///     consumer_offset: 100,
/// };
/// assert_eq!(progress.lag(), 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueProgress {
    /// The queue.
    pub queue: MessageQueue,
    /// The queue's end (next offset to be written).
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
}

impl QueueProgress {
    /// Messages the group has not consumed yet.
    pub fn lag(&self) -> i64 {
        self.broker_offset.saturating_sub(self.consumer_offset).max(0)
    }
}

/// An admin client.
///
/// ```no_run
/// use ferrocket_client::{Admin, ClientOptions};
///
/// # async fn demo() -> Result<(), ferrocket_client::ClientError> {
/// let admin = Admin::start(ClientOptions::new("127.0.0.1:9876"))?;
/// admin.create_topic("DefaultCluster", "Orders", 8).await?;
/// for progress in admin.consume_progress("billing", "Orders").await? {
///     println!("{:?} lag {}", progress.queue, progress.lag());
/// }
/// admin.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Admin {
    cluster: Cluster,
}

impl Admin {
    /// Starts an admin client (connections open on first call).
    pub fn start(options: ClientOptions) -> ClientResult<Admin> {
        Ok(Admin {
            cluster: Cluster::start(options)?,
        })
    }

    /// The cluster view this client uses.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Every broker set and cluster the name server knows (GET_BROKER_CLUSTER_INFO).
    pub async fn cluster_info(&self) -> ClientResult<ClusterInfo> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let response = self.cluster.invoke_namesrv(request).await?;
        let response = expect_success("name server", response)?;
        Ok(ClusterInfo::decode(&response.body.unwrap_or_default())?)
    }

    /// The route of `topic`, fresh from a name server.
    pub async fn topic_route(&self, topic: &str) -> ClientResult<TopicRouteData> {
        Ok(self.cluster.fetch_route(topic).await?.as_ref().clone())
    }

    /// Creates (or updates) `topic` with `queue_nums` read and write queues on every master of
    /// `cluster_name` (UPDATE_AND_CREATE_TOPIC, as `mqadmin updateTopic -c`).
    pub async fn create_topic(&self, cluster_name: &str, topic: &str, queue_nums: i32) -> ClientResult<()> {
        check_topic(topic)?;
        if !(1..=ADMIN_QUEUES_MAX).contains(&queue_nums) {
            return Err(ClientError::Invalid {
                what: "queue count",
                reason: format!("{queue_nums} is outside 1..={ADMIN_QUEUES_MAX}"),
            });
        }
        let header = CreateTopicRequestHeader {
            topic: topic.to_owned(),
            default_topic: AUTO_CREATE_TOPIC.to_owned(),
            read_queue_nums: queue_nums,
            write_queue_nums: queue_nums,
            perm: PERM_READ | PERM_WRITE,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
            ..CreateTopicRequestHeader::default()
        };
        for addr in self.masters_of(cluster_name).await? {
            let request =
                RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC).with_ext_fields(header.to_ext_fields());
            self.cluster.invoke_checked(&addr, request).await?;
        }
        Ok(())
    }

    /// Deletes `topic` from every master of `cluster_name`, then from every name server
    /// (`mqadmin deleteTopic -c`).
    pub async fn delete_topic(&self, cluster_name: &str, topic: &str) -> ClientResult<()> {
        let header = DeleteTopicRequestHeader {
            topic: topic.to_owned(),
            ..DeleteTopicRequestHeader::default()
        };
        for addr in self.masters_of(cluster_name).await? {
            let request =
                RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_BROKER).with_ext_fields(header.to_ext_fields());
            self.cluster.invoke_checked(&addr, request).await?;
        }
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_owned(),
            cluster_name: Some(cluster_name.to_owned()),
            ..DeleteTopicFromNamesrvRequestHeader::default()
        };
        for addr in &self.cluster.options().namesrv_addrs {
            let request =
                RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_NAMESRV).with_ext_fields(header.to_ext_fields());
            self.cluster.invoke_checked(addr, request).await?;
        }
        Ok(())
    }

    /// The client ids of `group`'s members, as the first broker of `topic` knows them.
    pub async fn group_members(&self, group: &str, topic: &str) -> ClientResult<Vec<String>> {
        let route = self.cluster.fetch_route(topic).await?;
        let broker_name = route
            .broker_datas
            .first()
            .map(|data| data.broker_name.clone())
            .ok_or_else(|| ClientError::NoRoute {
                topic: topic.to_owned(),
                reason: "no broker".into(),
            })?;
        queue_reader::group_members(&self.cluster, group, &broker_name).await
    }

    /// `group`'s progress on every queue of `topic` (GET_CONSUME_STATS on each master, as
    /// `mqadmin consumerProgress`), sorted by queue.
    pub async fn consume_progress(&self, group: &str, topic: &str) -> ClientResult<Vec<QueueProgress>> {
        let route = self.cluster.fetch_route(topic).await?;
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            topic: Some(topic.to_owned()),
            ..GetConsumeStatsRequestHeader::default()
        };
        let mut progress = Vec::new();
        for (_, addr) in route::master_addrs(&route) {
            let request =
                RemotingCommand::request(RequestCode::GET_CONSUME_STATS).with_ext_fields(header.to_ext_fields());
            let response = self.cluster.invoke_checked(&addr, request).await?;
            let stats = ConsumeStats::decode(&response.body.unwrap_or_default())?;
            progress.extend(stats.offset_table.into_iter().map(|(queue, offsets)| QueueProgress {
                queue,
                broker_offset: offsets.broker_offset,
                consumer_offset: offsets.consumer_offset,
            }));
        }
        progress.sort_by(|a, b| a.queue.cmp(&b.queue));
        Ok(progress)
    }

    /// Closes the connections.
    pub async fn shutdown(&self) {
        self.cluster.shutdown().await;
    }

    /// The master addresses of `cluster_name`, as the name server lists them.
    pub async fn masters_of(&self, cluster_name: &str) -> ClientResult<Vec<String>> {
        let info = self.cluster_info().await?;
        let names = info
            .cluster_addr_table
            .get(cluster_name)
            .ok_or_else(|| ClientError::Invalid {
                what: "cluster",
                reason: format!("the name server knows no cluster {cluster_name}"),
            })?;
        Ok(names
            .iter()
            .filter_map(|name| info.broker_addr_table.get(name)?.broker_addrs.get(&MASTER_ID).cloned())
            .collect())
    }
}
