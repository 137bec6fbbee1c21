//! The read side of [`ClientRegistry`]: who is in a group, what it subscribes to, and the
//! connection lists admin tools show (GET_CONSUMER_CONNECTION_LIST and friends).

use std::collections::HashMap;
use std::hash::Hash;

use ferrocket_wire::body::{Connection, ConsumeType, ConsumerConnection, ProducerConnection, SubscriptionData};

use super::{ClientChannel, ClientRegistry, ConsumerGroupInfo};

impl<C: Clone + Eq + Hash> ClientRegistry<C> {
    pub fn consumer_group(&self, group: &str) -> Option<&ConsumerGroupInfo<C>> {
        self.consumers.get(group)
    }

    /// GET_CONSUMER_LIST_BY_GROUP: the client ids of the group, sorted.
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .consumers
            .get(group)
            .map(|info| info.channels.values().map(|c| c.client_id.clone()).collect())
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// The subscription the group registered for `topic`.
    pub fn subscription(&self, group: &str, topic: &str) -> Option<&SubscriptionData> {
        self.consumers.get(group)?.subscriptions.get(topic)
    }

    /// Java's `findChannel(group, clientId)`.
    pub fn find_consumer(&self, group: &str, client_id: &str) -> Option<&ClientChannel<C>> {
        self.consumers
            .get(group)?
            .channels
            .values()
            .find(|channel| channel.client_id == client_id)
    }

    /// The group's channels.
    pub fn consumer_channels(&self, group: &str) -> Vec<ClientChannel<C>> {
        let mut channels: Vec<ClientChannel<C>> = self
            .consumers
            .get(group)
            .map(|info| info.channels.values().cloned().collect())
            .unwrap_or_default();
        channels.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        channels
    }

    /// GET_CONSUMER_CONNECTION_LIST's body; `None` when the group has no live member.
    pub fn consumer_connection(&self, group: &str) -> Option<ConsumerConnection> {
        let info = self.consumers.get(group).filter(|info| !info.channels.is_empty())?;
        Some(ConsumerConnection {
            connection_set: connections(info.channels.values()),
            consume_from_where: Some(info.consume_from_where.clone()),
            consume_type: Some(info.consume_type.clone()),
            message_model: Some(info.message_model.clone()),
            subscription_table: info.subscriptions.clone(),
        })
    }

    /// GET_PRODUCER_CONNECTION_LIST's body; `None` when the group has no live member.
    pub fn producer_connection(&self, group: &str) -> Option<ProducerConnection> {
        let channels = self.producers.get(group).filter(|channels| !channels.is_empty())?;
        Some(ProducerConnection {
            connection_set: connections(channels.values()),
        })
    }

    /// Java's `ProducerManager.getAvailableChannel`: a live channel of the producer group (the
    /// one heard from last; Java picks one at random).
    pub fn producer_channel(&self, group: &str) -> Option<C> {
        let channels = self.producers.get(group)?;
        channels
            .values()
            .max_by_key(|channel| channel.last_update_ms)
            .map(|channel| channel.channel.clone())
    }

    /// Online consumer groups subscribing `topic`, sorted (QUERY_TOPIC_CONSUME_BY_WHO).
    pub fn groups_subscribing(&self, topic: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .consumers
            .iter()
            .filter(|(_, info)| info.subscriptions.contains_key(topic))
            .map(|(group, _)| group.clone())
            .collect();
        groups.sort();
        groups
    }

    /// `(language, version)` of every producer channel (the connection metrics).
    pub fn producer_attributes(&self) -> Vec<(String, i32)> {
        self.producers
            .values()
            .flat_map(HashMap::values)
            .map(|c| (c.language.json_name().to_owned(), c.version))
            .collect()
    }

    /// `(group, language, version, consume type)` of every consumer channel.
    pub fn consumer_attributes(&self) -> Vec<(String, String, i32, ConsumeType)> {
        self.consumers
            .iter()
            .flat_map(|(group, info)| {
                info.channels.values().map(move |c| {
                    (
                        group.clone(),
                        c.language.json_name().to_owned(),
                        c.version,
                        info.consume_type.clone(),
                    )
                })
            })
            .collect()
    }

    /// Every online consumer group, whether it consumes by POP, and the topics it subscribes to.
    pub fn subscribed_topics(&self) -> Vec<(String, bool, Vec<String>)> {
        self.consumers
            .iter()
            .map(|(group, info)| {
                let pop = matches!(info.consume_type, ConsumeType::ConsumePop);
                (group.clone(), pop, info.subscriptions.keys().cloned().collect())
            })
            .collect()
    }

    /// Every online consumer group, sorted.
    pub fn consumer_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.consumers.keys().cloned().collect();
        groups.sort();
        groups
    }
}

fn connections<'a, C: 'a>(channels: impl Iterator<Item = &'a ClientChannel<C>>) -> Vec<Connection> {
    let mut connections: Vec<Connection> = channels
        .map(|channel| Connection {
            client_addr: channel.client_addr.clone(),
            client_id: channel.client_id.clone(),
            language: channel.language,
            version: channel.version,
        })
        .collect();
    connections.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    connections
}
#[cfg(test)]
mod tests {
    use ferrocket_wire::body::MessageModel;

    use super::*;
    use crate::state::clients::tests::{channel, registration};

    #[test]
    fn connection_bodies_and_lookups() {
        let mut registry = ClientRegistry::<u32>::default();
        assert!(registry.consumer_connection("cg").is_none());
        registry.register_consumer(
            "cg",
            channel(2, "c2", 0),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        registry.register_consumer(
            "cg",
            channel(1, "c1", 0),
            registration(MessageModel::Clustering, &[("T", 1)]),
        );
        let connection = registry.consumer_connection("cg").unwrap();
        let ids: Vec<&str> = connection.connection_set.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, ["c1", "c2"]);
        assert_eq!(connection.connection_set[0].client_addr, "10.0.0.1:5000");
        assert_eq!(connection.message_model, Some(MessageModel::Clustering));
        assert_eq!(connection.subscription_table["T"].sub_version, 1);
        assert_eq!(registry.find_consumer("cg", "c2").map(|c| c.channel), Some(2));
        assert!(registry.find_consumer("cg", "c9").is_none());
        assert_eq!(registry.groups_subscribing("T"), ["cg"]);
        assert!(registry.groups_subscribing("U").is_empty());
        registry.register_producer("pg", channel(1, "c1", 0));
        assert_eq!(
            registry.producer_connection("pg").map(|p| p.connection_set.len()),
            Some(1)
        );
    }
}
