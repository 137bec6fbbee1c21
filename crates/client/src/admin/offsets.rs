//! Moving a group's offsets to a time, as `mqadmin resetOffsetByTime` does: the broker asks the
//! group's live clients to move (INVOKE_BROKER_TO_RESET_OFFSET); with no client online it answers
//! CONSUMER_NOT_ONLINE and the offsets are searched and committed directly, as mqadmin's older
//! command does.

use std::collections::BTreeMap;

use ferrocket_wire::body::{ConsumeStats, JsonBody, MessageQueue, ResetOffsetBody};
use ferrocket_wire::header::{
    CustomHeader, GetConsumeStatsRequestHeader, ResetOffsetRequestHeader, SearchOffsetRequestHeader,
    SearchOffsetResponseHeader, TopicRpcFields, UpdateConsumerOffsetRequestHeader,
};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

use super::Admin;
use crate::cluster::expect_success;
use crate::error::{ClientError, ClientResult};
use crate::route;

impl Admin {
    /// Moves `group`'s offsets on every queue of `topic` to the first message stored at or after
    /// `timestamp_ms`; without `force`, never forward. Returns the new offset of each queue.
    pub async fn reset_offset_by_time(
        &self,
        topic: &str,
        group: &str,
        timestamp_ms: i64,
        force: bool,
    ) -> ClientResult<BTreeMap<MessageQueue, i64>> {
        let route = self.cluster.fetch_route(topic).await?;
        let header = ResetOffsetRequestHeader {
            group: group.to_owned(),
            topic: topic.to_owned(),
            timestamp: timestamp_ms,
            force,
            ..ResetOffsetRequestHeader::default()
        };
        let mut moved = BTreeMap::new();
        for (_, addr) in route::master_addrs(&route) {
            let request = RemotingCommand::request(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET)
                .with_ext_fields(header.to_ext_fields());
            let response = self
                .cluster
                .invoke(&addr, request, self.cluster.options().api_timeout)
                .await?;
            if response.response_code() == ResponseCode::CONSUMER_NOT_ONLINE {
                moved.extend(self.commit_offsets_at(&addr, topic, group, timestamp_ms, force).await?);
                continue;
            }
            let response = expect_success(&addr, response)?;
            moved.extend(ResetOffsetBody::decode(&response.body.unwrap_or_default())?.offset_table);
        }
        Ok(moved)
    }

    /// The offset of the first message of `queue` stored at or after `timestamp_ms`
    /// (SEARCH_OFFSET_BY_TIMESTAMP to its master, as Java's `searchOffset`); the queue's end
    /// when none is.
    pub async fn offset_at_time(&self, queue: &MessageQueue, timestamp_ms: i64) -> ClientResult<i64> {
        self.cluster.fetch_route(&queue.topic).await?;
        let addr = self
            .cluster
            .broker_addr(&queue.broker_name)
            .ok_or_else(|| ClientError::NoBrokerAddress {
                broker_name: queue.broker_name.clone(),
            })?;
        let search = SearchOffsetRequestHeader {
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            timestamp: timestamp_ms,
            boundary_type: None,
            rpc: TopicRpcFields {
                broker_name: Some(queue.broker_name.clone()),
                ..TopicRpcFields::default()
            },
        };
        let request =
            RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP).with_ext_fields(search.to_ext_fields());
        let response = self.cluster.invoke_checked(&addr, request).await?;
        Ok(SearchOffsetResponseHeader::from_command(&response)?.offset)
    }

    /// With no client online: each queue's offset at `timestamp_ms` (SEARCH_OFFSET_BY_TIMESTAMP)
    /// committed for the group (UPDATE_CONSUMER_OFFSET), skipping forward moves unless `force`.
    async fn commit_offsets_at(
        &self,
        addr: &str,
        topic: &str,
        group: &str,
        timestamp_ms: i64,
        force: bool,
    ) -> ClientResult<BTreeMap<MessageQueue, i64>> {
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_owned(),
            topic: Some(topic.to_owned()),
            ..GetConsumeStatsRequestHeader::default()
        };
        let request = RemotingCommand::request(RequestCode::GET_CONSUME_STATS).with_ext_fields(header.to_ext_fields());
        let response = self.cluster.invoke_checked(addr, request).await?;
        let stats = ConsumeStats::decode(&response.body.unwrap_or_default())?;
        let mut moved = BTreeMap::new();
        for (queue, offsets) in stats.offset_table {
            let rpc = TopicRpcFields {
                broker_name: Some(queue.broker_name.clone()),
                ..TopicRpcFields::default()
            };
            let search = SearchOffsetRequestHeader {
                topic: queue.topic.clone(),
                queue_id: queue.queue_id,
                timestamp: timestamp_ms,
                boundary_type: None,
                rpc: rpc.clone(),
            };
            let request = RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP)
                .with_ext_fields(search.to_ext_fields());
            let response = self.cluster.invoke_checked(addr, request).await?;
            let at_time = SearchOffsetResponseHeader::from_command(&response)?.offset;
            if !force && at_time > offsets.consumer_offset {
                continue;
            }
            let commit = UpdateConsumerOffsetRequestHeader {
                consumer_group: group.to_owned(),
                topic: queue.topic.clone(),
                queue_id: queue.queue_id,
                commit_offset: at_time,
                rpc,
            };
            let request =
                RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET).with_ext_fields(commit.to_ext_fields());
            self.cluster.invoke_checked(addr, request).await?;
            moved.insert(queue, at_time);
        }
        Ok(moved)
    }
}
