//! The limits Java's name server does not have, checked before a registration changes anything:
//! topics per broker name ([`TOPICS_PER_BROKER_MAX`]) and the cost of the whole route table's
//! queue data ([`ROUTE_TABLE_BYTES_MAX`]). Both come from running counts (`served`,
//! `stored_bytes`) and one lookup per topic of the body, never a scan of the table, so refusing a
//! flood costs no more than accepting a registration. Queue data the sweep is about to free does
//! not count.

use super::registration::BrokerRegistration;
use ferrocket_wire::body::QueueData;

use super::{ROUTE_TABLE_BYTES_MAX, RouteTable, TOPICS_PER_BROKER_MAX, queue_data_bytes};
use crate::error::{NamesrvError, NamesrvResult};

/// What a registration would add to the table.
#[derive(Debug, Default)]
pub(super) struct Growth {
    /// Topics the table does not hold yet.
    pub topics: usize,
    /// (topic, broker) pairs the broker does not serve yet.
    pub entries: usize,
    /// What those pairs count against [`ROUTE_TABLE_BYTES_MAX`].
    pub bytes: usize,
}

impl RouteTable {
    /// What merging the registration's topics would add, in one lookup per topic.
    pub(super) fn growth_of(&self, registration: &BrokerRegistration, merges: bool) -> Growth {
        let broker_name = &registration.broker_name;
        let mut growth = Growth::default();
        for topic in registration.topic_config.topic_config_table.keys() {
            let routes = self.topics.get(topic);
            growth.topics += usize::from(routes.is_none());
            if merges && !routes.is_some_and(|routes| routes.contains(broker_name)) {
                growth.entries += 1;
                growth.bytes = growth.bytes.saturating_add(queue_data_bytes(topic, broker_name));
            }
        }
        growth
    }

    /// [`TOPICS_PER_BROKER_MAX`] after merging the body's topics; `Err` carries the broker's
    /// topic count then.
    pub(super) fn check_topic_limits(
        &self,
        registration: &BrokerRegistration,
        growth: &Growth,
        delete_absent_topics: bool,
    ) -> Result<(), usize> {
        let wrapper = &registration.topic_config;
        let without_mappings = wrapper
            .topic_queue_mapping_info_map
            .as_ref()
            .is_none_or(|m| m.is_empty());
        let served_after = match delete_absent_topics && without_mappings {
            true => wrapper.topic_config_table.len(),
            false => self
                .served_by(&registration.broker_name)
                .0
                .saturating_add(growth.entries),
        };
        match served_after > TOPICS_PER_BROKER_MAX {
            true => Err(served_after),
            false => Ok(()),
        }
    }

    /// REGISTER_TOPIC_IN_NAMESRV adds at most one topic per broker, within the same limits as a
    /// registration.
    pub(super) fn check_register_topic_limits(&self, topic: &str, queue_datas: &[QueueData]) -> NamesrvResult<()> {
        let routes = self.topics.get(topic);
        let mut new_bytes = 0usize;
        for queue_data in queue_datas {
            let broker_name = &queue_data.broker_name;
            if routes.is_some_and(|routes| routes.contains(broker_name)) {
                continue;
            }
            let topics = self.served_by(broker_name).0.saturating_add(1);
            if topics > TOPICS_PER_BROKER_MAX {
                return Err(NamesrvError::TooManyTopicsForBroker {
                    broker_name: broker_name.clone(),
                    topics,
                    limit: TOPICS_PER_BROKER_MAX,
                });
            }
            new_bytes = new_bytes.saturating_add(queue_data_bytes(topic, broker_name));
        }
        self.check_route_table_bytes(new_bytes)
    }

    /// [`ROUTE_TABLE_BYTES_MAX`] after adding `new_bytes` of queue data.
    pub(super) fn check_route_table_bytes(&self, new_bytes: usize) -> NamesrvResult<()> {
        let (_, held_bytes) = self.held_cost();
        let bytes = self.stored_bytes.saturating_sub(held_bytes).saturating_add(new_bytes);
        match bytes > ROUTE_TABLE_BYTES_MAX {
            true => Err(NamesrvError::RouteTableFull {
                bytes,
                limit: ROUTE_TABLE_BYTES_MAX,
            }),
            false => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::body::TopicConfig;

    use super::super::testing::{CLUSTER, registration, topic};
    use super::*;

    fn register(table: &mut RouteTable, registration: BrokerRegistration, now_ms: u64) {
        table.register_broker(registration, now_ms, false).unwrap();
    }

    fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<TopicConfig> {
        range.map(|i| topic(&format!("{prefix}{i:06}"), 1)).collect()
    }

    #[test]
    fn split_batches_merge_and_count_towards_the_per_broker_limit() {
        let mut table = RouteTable::new();
        let half = TOPICS_PER_BROKER_MAX / 2;
        // Java's split registration: each batch under a new DataVersion.
        let mut first = registration("broker-a", 0, "a:1", &numbered("T", 0..half));
        first.topic_config.data_version.counter = 7;
        register(&mut table, first, 0);
        let mut second = registration("broker-a", 0, "a:1", &numbered("T", half..2 * half));
        second.topic_config.data_version.counter = 8;
        register(&mut table, second, 1);
        assert_eq!(table.served_by("broker-a").0, 2 * half);
        assert!(table.queue_data("T000000", "broker-a").is_some());
        // Re-sending known topics adds nothing; one more topic is refused, and changes nothing.
        let mut again = registration("broker-a", 0, "a:1", &numbered("T", 0..half));
        again.topic_config.data_version.counter = 9;
        register(&mut table, again, 2);
        let mut beyond = registration("broker-a", 0, "a:1", &numbered("U", 0..2));
        beyond.topic_config.data_version.counter = 10;
        let refused = table.register_broker(beyond, 3, false);
        assert_eq!(
            refused,
            Err(NamesrvError::TooManyTopicsForBroker {
                broker_name: "broker-a".into(),
                topics: TOPICS_PER_BROKER_MAX + 2,
                limit: TOPICS_PER_BROKER_MAX
            })
        );
        assert!(refused.unwrap_err().to_string().contains("TOPICS_PER_BROKER_MAX"));
        assert!(table.queue_data("U000000", "broker-a").is_none());
        assert_eq!(
            table.live_broker(CLUSTER, "a:1").map(|l| l.data_version.counter),
            Some(9)
        );
        // Another broker has its own allowance; a body over the limit is refused before lookups.
        let too_big = registration("broker-b", 0, "b:1", &numbered("T", 0..TOPICS_PER_BROKER_MAX + 1));
        assert!(matches!(
            table.register_broker(too_big, 4, false),
            Err(NamesrvError::TooManyTopicsForBroker { .. })
        ));
        assert!(table.broker_data("broker-b").is_none());
        // A slave's topics are not merged, so they are not counted.
        let slave = registration("broker-a", 1, "a:2", &numbered("V", 0..TOPICS_PER_BROKER_MAX + 1));
        register(&mut table, slave, 5);
    }

    #[test]
    fn the_route_table_has_a_byte_budget_and_swept_brokers_free_theirs() {
        let mut table = RouteTable::new();
        // Long names, so few entries reach the budget.
        let topics: Vec<_> = (0..TOPICS_PER_BROKER_MAX)
            .map(|i| topic(&format!("{i:0255}"), 1))
            .collect();
        let name = |n: u8| format!("{}", char::from(b'a' + n)).repeat(1024);
        let per_broker = TOPICS_PER_BROKER_MAX * queue_data_bytes(&topics[0].topic_name, &name(0));
        let fitting = ROUTE_TABLE_BYTES_MAX / per_broker;
        for n in 0..fitting {
            let addr = format!("{n}:1");
            register(&mut table, registration(&name(n as u8), 0, &addr, &topics), 0);
        }
        let last = registration(&name(fitting as u8), 0, "last:1", &topics);
        let refused = table.register_broker(last.clone(), 0, false);
        assert!(matches!(
            refused,
            Err(NamesrvError::RouteTableFull {
                limit: ROUTE_TABLE_BYTES_MAX,
                ..
            })
        ));
        assert!(refused.unwrap_err().to_string().contains("ROUTE_TABLE_BYTES_MAX"));
        // A dropped broker's budget is free at once, before the sweep has run.
        table.unregister_broker(CLUSTER, "0:1", &name(0));
        assert!(table.sweep_pending());
        register(&mut table, last, 1);
        table.sweep_all();
        assert_eq!(table.stored_bytes(), fitting * per_broker);
    }
}
