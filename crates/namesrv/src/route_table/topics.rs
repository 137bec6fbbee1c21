//! Topic routes and the admin operations on them: GET_ROUTEINFO_BY_TOPIC, the cluster and topic
//! lists, DELETE_TOPIC_IN_NAMESRV, REGISTER_TOPIC_IN_NAMESRV and the write-permission switches
//! (remoting.md §4.1.1, §4.1.4–4.1.6, §4.1.8, §4.1.10).
//!
//! Lists come out sorted (Java's come in hash order, which no client relies on). A route holds
//! only brokers that still exist; a topic whose brokers are all gone has no route. Queue data of
//! a broker the sweep holds is skipped everywhere, as if it were already gone.

use std::collections::{BTreeMap, BTreeSet};

use ferrocket_wire::body::{ClusterInfo, QueueData, TopicList, TopicRouteData};
use ferrocket_wire::broker_id::MASTER_ID;
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};
use ferrocket_wire::system_topics::SYNC_BROKER_MEMBER_TOPIC_PREFIX;
use ferrocket_wire::topic_sys_flags::{TOPIC_SYS_FLAG_UNIT, TOPIC_SYS_FLAG_UNIT_SUB};

use super::{BrokerKey, RouteTable, TOPICS_MAX, check_name, check_room, check_topic};
use crate::error::NamesrvResult;
use crate::limit;

impl RouteTable {
    /// The route of `topic`, or `None` (TOPIC_NOT_EXIST). With `support_acting_master`, a 5.x
    /// broker set without a master whose queues are read-only shows its lowest-id slave as id 0.
    pub fn route_for_topic(&self, topic: &str, support_acting_master: bool) -> Option<TopicRouteData> {
        let routes = self.topics.get(topic)?;
        let broker_datas: Vec<_> = self
            .visible(routes)
            .filter_map(|queue_data| self.brokers.get(&queue_data.broker_name))
            .cloned()
            .collect();
        if broker_datas.is_empty() {
            return None;
        }
        let mut filter_server_table = BTreeMap::new();
        for broker in &broker_datas {
            for addr in broker.broker_addrs.values() {
                if let Some(servers) = self.filter_servers.get(&BrokerKey::new(&broker.cluster, addr)) {
                    filter_server_table.insert(addr.clone(), servers.clone());
                }
            }
        }
        let mut route = TopicRouteData {
            broker_datas,
            filter_server_table,
            order_topic_conf: None,
            queue_datas: self.visible(routes).cloned().collect(),
            topic_queue_mapping_by_broker: self.queue_mappings.get(topic).cloned(),
        };
        // A broker set's internal topic keeps its real route even under an acting master.
        if support_acting_master && !topic.starts_with(SYNC_BROKER_MEMBER_TOPIC_PREFIX) {
            show_acting_masters(&mut route);
        }
        Some(route)
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self
                .clusters
                .iter()
                .map(|(cluster, names)| (cluster.clone(), names.iter().cloned().collect()))
                .collect(),
        }
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    pub fn all_topics(&self) -> TopicList {
        let topics = self
            .topics
            .iter()
            .filter(|(_, routes)| self.is_served(routes))
            .map(|(topic, _)| topic.clone());
        topic_list(topics)
    }

    /// GET_TOPICS_BY_CLUSTER: topics served by any broker of `cluster` (none if it is unknown).
    pub fn topics_by_cluster(&self, cluster: &str) -> TopicList {
        let Some(names) = self.clusters.get(cluster) else {
            return TopicList::default();
        };
        let topics = self
            .topics
            .iter()
            .filter(|(_, routes)| routes.iter().any(|queue_data| names.contains(&queue_data.broker_name)))
            .map(|(topic, _)| topic.clone());
        topic_list(topics)
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_NS: every cluster name and broker name (each is an implicit
    /// system topic), with one broker address for the admin tool to ask.
    pub fn system_topics(&self) -> TopicList {
        let names = self
            .clusters
            .iter()
            .flat_map(|(cluster, brokers)| std::iter::once(cluster).chain(brokers))
            .cloned();
        let mut list = topic_list(names);
        list.broker_addr = self
            .brokers
            .values()
            .find_map(|broker| broker.broker_addrs.values().next())
            .cloned();
        list
    }

    /// GET_UNIT_TOPIC_LIST: topics flagged as unit topics.
    pub fn unit_topics(&self) -> TopicList {
        self.topics_with_flags(|flag| flag & TOPIC_SYS_FLAG_UNIT != 0)
    }

    /// GET_HAS_UNIT_SUB_TOPIC_LIST: topics with a unit subscription.
    pub fn has_unit_sub_topics(&self) -> TopicList {
        self.topics_with_flags(|flag| flag & TOPIC_SYS_FLAG_UNIT_SUB != 0)
    }

    /// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: non-unit topics with a unit subscription.
    pub fn has_unit_sub_non_unit_topics(&self) -> TopicList {
        self.topics_with_flags(|flag| flag & TOPIC_SYS_FLAG_UNIT == 0 && flag & TOPIC_SYS_FLAG_UNIT_SUB != 0)
    }

    /// Like Java, a topic's flags are those of its first queue data.
    fn topics_with_flags(&self, wanted: impl Fn(i32) -> bool) -> TopicList {
        let topics = self
            .topics
            .iter()
            .filter(|(_, routes)| self.visible(routes).next().is_some_and(|q| wanted(q.topic_sys_flag)))
            .map(|(topic, _)| topic.clone());
        topic_list(topics)
    }

    /// DELETE_TOPIC_IN_NAMESRV: the whole topic, or only the queue data of `cluster`'s brokers.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        let Some(cluster) = cluster else {
            self.remove_topic(topic);
            return;
        };
        let Some(names) = self.clusters.get(cluster) else {
            return;
        };
        let names = names.clone();
        self.remove_queue_data_where(topic, |queue_data| names.contains(&queue_data.broker_name));
    }

    /// WIPE_WRITE_PERM_OF_BROKER: clears WRITE on every queue data of the broker; returns how
    /// many topics it touched.
    pub fn wipe_write_perm(&mut self, broker_name: &str) -> usize {
        self.update_perm(broker_name, |perm| perm & !PERM_WRITE)
    }

    /// ADD_WRITE_PERM_OF_BROKER: Java sets the permission to exactly READ | WRITE.
    pub fn add_write_perm(&mut self, broker_name: &str) -> usize {
        self.update_perm(broker_name, |_| PERM_READ | PERM_WRITE)
    }

    fn update_perm(&mut self, broker_name: &str, update: impl Fn(i32) -> i32) -> usize {
        if self.sweep.holds(broker_name) {
            return 0;
        }
        let mut count = 0;
        for queue_data in self
            .topics
            .values_mut()
            .filter_map(|routes| routes.get_mut(broker_name))
        {
            queue_data.perm = update(queue_data.perm);
            count += 1;
        }
        count
    }

    /// REGISTER_TOPIC_IN_NAMESRV: stores the queue data of a topic, merged per broker. Java
    /// ignores the request if a queue data names an unknown broker (we ignore all of it rather
    /// than the part after that broker); returns whether anything was stored.
    pub fn register_topic(&mut self, topic: &str, queue_datas: Vec<QueueData>) -> NamesrvResult<bool> {
        check_topic(topic)?;
        queue_datas
            .iter()
            .try_for_each(|q| check_name("broker name", &q.broker_name))?;
        if queue_datas.is_empty() || queue_datas.iter().any(|q| !self.brokers.contains_key(&q.broker_name)) {
            return Ok(false);
        }
        check_room(
            "topics",
            self.topics.len(),
            usize::from(!self.topics.contains_key(topic)),
            limit!(TOPICS_MAX),
        )?;
        self.check_register_topic_limits(topic, &queue_datas)?;
        for queue_data in queue_datas {
            self.put_queue_data(topic, queue_data);
        }
        Ok(true)
    }
}

/// For each master-less 5.x broker set with read-only queues, present the lowest-id slave as
/// id 0 so clients read from it as from a master (Java's `pickupTopicRouteData`).
fn show_acting_masters(route: &mut TopicRouteData) {
    for broker in &mut route.broker_datas {
        if broker.broker_addrs.is_empty()
            || broker.broker_addrs.contains_key(&MASTER_ID)
            || !broker.enable_acting_master
        {
            continue;
        }
        let read_only = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == broker.broker_name)
            .is_some_and(|q| q.perm & PERM_WRITE == 0);
        if read_only && let Some((_, addr)) = broker.broker_addrs.pop_first() {
            broker.broker_addrs.insert(MASTER_ID, addr);
        }
    }
}

fn topic_list(topics: impl Iterator<Item = String>) -> TopicList {
    TopicList {
        broker_addr: None,
        topic_list: topics.collect::<BTreeSet<_>>().into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{CLUSTER, registration, topic};
    use super::super::{BrokerRegistration, ConnectionId};
    use super::*;

    fn table_with(registrations: Vec<BrokerRegistration>) -> RouteTable {
        let mut table = RouteTable::new();
        for registration in registrations {
            table.register_broker(registration, 0, false).unwrap();
        }
        table
    }

    fn two_brokers() -> RouteTable {
        table_with(vec![
            registration("broker-a", 0, "a:1", &[topic("T", 4), topic("A", 2)]),
            registration("broker-a", 1, "a:2", &[]),
            registration("broker-b", 0, "b:1", &[topic("T", 8), topic("B", 1)]),
        ])
    }

    #[test]
    fn route_lists_the_brokers_that_serve_the_topic() {
        let table = two_brokers();
        let route = table.route_for_topic("T", false).unwrap();
        let names: Vec<_> = route.broker_datas.iter().map(|b| b.broker_name.as_str()).collect();
        assert_eq!(names, ["broker-a", "broker-b"]);
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
        assert_eq!(
            route.queue_datas.iter().map(|q| q.write_queue_nums).collect::<Vec<_>>(),
            [4, 8]
        );
        assert!(route.filter_server_table.is_empty());
        let route_a = table.route_for_topic("A", false).unwrap();
        assert_eq!(route_a.broker_datas.len(), 1);
        assert!(table.route_for_topic("missing", false).is_none());
    }

    #[test]
    fn acting_master_is_shown_as_id_0_only_when_supported() {
        let mut master = registration("broker-a", 0, "a:1", &[topic("T", 4), topic("U", 4)]);
        master.enable_acting_master = Some(true);
        let mut slave = registration("broker-a", 2, "a:3", &[]);
        slave.enable_acting_master = Some(true);
        let mut table = table_with(vec![master, slave]);
        table.unregister_broker(CLUSTER, "a:1", "broker-a");
        let plain = table.route_for_topic("T", false).unwrap();
        assert_eq!(plain.broker_datas[0].broker_addrs.keys().collect::<Vec<_>>(), [&2]);
        let acting = table.route_for_topic("T", true).unwrap();
        assert_eq!(
            acting.broker_datas[0].broker_addrs.get(&0).map(String::as_str),
            Some("a:3")
        );
    }

    #[test]
    fn cluster_info_and_lists() {
        let table = two_brokers();
        let info = table.cluster_info();
        assert_eq!(info.cluster_addr_table[CLUSTER], ["broker-a", "broker-b"]);
        assert_eq!(info.broker_addr_table["broker-a"].broker_addrs[&1], "a:2");
        assert_eq!(table.all_topics().topic_list, ["A", "B", "T"]);
        assert_eq!(table.topics_by_cluster(CLUSTER).topic_list, ["A", "B", "T"]);
        assert!(table.topics_by_cluster("nope").topic_list.is_empty());
        let system = table.system_topics();
        assert_eq!(system.topic_list, ["DefaultCluster", "broker-a", "broker-b"]);
        assert_eq!(system.broker_addr.as_deref(), Some("a:1"));
    }

    #[test]
    fn unit_topic_lists_read_sys_flags() {
        let mut unit = topic("Unit", 1);
        unit.topic_sys_flag = TOPIC_SYS_FLAG_UNIT;
        let mut sub = topic("Sub", 1);
        sub.topic_sys_flag = TOPIC_SYS_FLAG_UNIT_SUB;
        let mut both = topic("Both", 1);
        both.topic_sys_flag = TOPIC_SYS_FLAG_UNIT | TOPIC_SYS_FLAG_UNIT_SUB;
        let table = table_with(vec![registration(
            "broker-a",
            0,
            "a:1",
            &[unit, sub, both, topic("Plain", 1)],
        )]);
        assert_eq!(table.unit_topics().topic_list, ["Both", "Unit"]);
        assert_eq!(table.has_unit_sub_topics().topic_list, ["Both", "Sub"]);
        assert_eq!(table.has_unit_sub_non_unit_topics().topic_list, ["Sub"]);
    }

    #[test]
    fn delete_whole_topic_or_one_clusters_part() {
        let mut other = registration("broker-c", 0, "c:1", &[topic("T", 2), topic("C", 2)]);
        other.cluster_name = "Other".into();
        let mut table = two_brokers();
        table.register_broker(other, 0, false).unwrap();
        table.delete_topic("T", Some(CLUSTER));
        let route = table.route_for_topic("T", false).unwrap();
        assert_eq!(route.queue_datas.len(), 1);
        assert_eq!(route.queue_datas[0].broker_name, "broker-c");
        table.delete_topic("T", Some("unknown"));
        assert!(table.route_for_topic("T", false).is_some());
        table.delete_topic("T", Some("Other"));
        assert!(table.route_for_topic("T", false).is_none());
        table.delete_topic("A", None);
        assert!(table.route_for_topic("A", false).is_none());
        assert_eq!(table.all_topics().topic_list, ["B", "C"]);
    }

    #[test]
    fn wipe_and_add_write_perm_count_topics() {
        let mut table = two_brokers();
        assert_eq!(table.wipe_write_perm("broker-a"), 2);
        assert_eq!(table.queue_data("T", "broker-a").map(|q| q.perm), Some(4));
        assert_eq!(table.queue_data("T", "broker-b").map(|q| q.perm), Some(6));
        assert_eq!(table.wipe_write_perm("nope"), 0);
        assert_eq!(table.add_write_perm("broker-a"), 2);
        assert_eq!(table.queue_data("A", "broker-a").map(|q| q.perm), Some(6));
    }

    #[test]
    fn register_topic_needs_known_brokers() {
        let mut table = two_brokers();
        let queue = |name: &str| QueueData {
            broker_name: name.into(),
            perm: 6,
            read_queue_nums: 3,
            topic_sys_flag: 0,
            write_queue_nums: 3,
        };
        assert_eq!(
            table.register_topic("New", vec![queue("broker-a"), queue("ghost")]),
            Ok(false)
        );
        assert!(table.route_for_topic("New", false).is_none());
        assert_eq!(table.register_topic("New", vec![queue("broker-a")]), Ok(true));
        assert_eq!(
            table.route_for_topic("New", false).unwrap().queue_datas[0].read_queue_nums,
            3
        );
        assert!(table.register_topic(&"x".repeat(300), vec![queue("broker-a")]).is_err());
        assert_eq!(table.register_topic("Empty", vec![]), Ok(false));
    }

    #[test]
    fn a_topic_goes_with_its_last_broker() {
        let mut table = two_brokers();
        table.connection_closed(ConnectionId(100));
        assert_eq!(
            table.all_topics().topic_list,
            ["A", "T"],
            "broker-b's B is gone, broker-a's slave keeps A"
        );
        table.scan_not_active(u64::MAX);
        assert!(table.all_topics().topic_list.is_empty());
        assert!(table.cluster_info().broker_addr_table.is_empty());
    }
}
