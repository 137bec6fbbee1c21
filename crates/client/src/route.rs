//! What a topic's route means to a client (pure): the queues a producer may write, the queues a
//! consumer may read, and the master address of each broker.
//!
//! Java's `MQClientInstance.topicRouteData2TopicPublishInfo` and `...SubscribeInfo`: a producer
//! writes `writeQueueNums` queues of every writable broker that has a master, brokers in name
//! order, unless the name server holds an order config (`"broker-a:4;broker-b:4"`), which then
//! decides alone; a consumer reads `readQueueNums` queues of every readable broker.

use ferrocket_wire::body::{MessageQueue, TopicRouteData};
use ferrocket_wire::broker_id::MASTER_ID;
use ferrocket_wire::permissions::{PERM_READ, PERM_WRITE};

/// Queues per broker the SDK accepts from a route; Java's own default is 4 and its admin tools
/// cap a topic at 1,024 per broker, so a route past this is corrupt, not large.
pub const QUEUES_PER_BROKER_MAX: i32 = 1024;

/// The queues a producer may write, in the order Java's round robin walks them.
pub fn publish_queues(route: &TopicRouteData, topic: &str) -> Vec<MessageQueue> {
    if let Some(conf) = route.order_topic_conf.as_deref().filter(|conf| !conf.is_empty()) {
        return conf
            .split(';')
            .filter_map(|item| item.split_once(':'))
            .filter_map(|(broker, count)| Some((broker, count.trim().parse::<i32>().ok()?)))
            .flat_map(|(broker, count)| {
                (0..count.clamp(0, QUEUES_PER_BROKER_MAX)).map(move |id| MessageQueue::new(topic, broker, id))
            })
            .collect();
    }
    let mut datas: Vec<_> = route.queue_datas.iter().collect();
    datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    datas
        .into_iter()
        .filter(|data| data.perm & PERM_WRITE != 0)
        .filter(|data| master_addr(route, &data.broker_name).is_some())
        .flat_map(|data| {
            (0..data.write_queue_nums.clamp(0, QUEUES_PER_BROKER_MAX))
                .map(|id| MessageQueue::new(topic, data.broker_name.clone(), id))
        })
        .collect()
}

/// The queues a consumer may read, sorted as Java sorts them before allocating.
pub fn subscribe_queues(route: &TopicRouteData, topic: &str) -> Vec<MessageQueue> {
    let mut queues: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|data| data.perm & PERM_READ != 0)
        .flat_map(|data| {
            (0..data.read_queue_nums.clamp(0, QUEUES_PER_BROKER_MAX))
                .map(|id| MessageQueue::new(topic, data.broker_name.clone(), id))
        })
        .collect();
    queues.sort();
    queues.dedup();
    queues
}

/// The master's `ip:port` of `broker_name`, if the route has one.
pub fn master_addr<'a>(route: &'a TopicRouteData, broker_name: &str) -> Option<&'a str> {
    route
        .broker_datas
        .iter()
        .find(|data| data.broker_name == broker_name)
        .and_then(|data| data.broker_addrs.get(&MASTER_ID))
        .map(String::as_str)
}

/// Where to read `broker_name`'s queues: its master, or, while the route names no master (it
/// died or is being replaced), its lowest-numbered slave, as Java's
/// `findBrokerAddressInSubscribe(.., onlyThisBroker = false)` falls back.
pub fn read_addr<'a>(route: &'a TopicRouteData, broker_name: &str) -> Option<&'a str> {
    let data = route.broker_datas.iter().find(|data| data.broker_name == broker_name)?;
    data.broker_addrs
        .get(&MASTER_ID)
        .or_else(|| data.broker_addrs.values().next())
        .map(String::as_str)
}

/// Every master address of the route (heartbeats go to each).
pub fn master_addrs(route: &TopicRouteData) -> Vec<(String, String)> {
    route
        .broker_datas
        .iter()
        .filter_map(|data| {
            let addr = data.broker_addrs.get(&MASTER_ID)?;
            Some((data.broker_name.clone(), addr.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ferrocket_wire::body::{BrokerData, QueueData};

    use super::*;

    fn route() -> TopicRouteData {
        let broker = |name: &str, master: bool| BrokerData {
            broker_name: name.into(),
            cluster: "c".into(),
            broker_addrs: if master {
                BTreeMap::from([(0, format!("{name}:10911")), (1, format!("{name}:10912"))])
            } else {
                BTreeMap::from([(1, format!("{name}:10912"))])
            },
            ..BrokerData::default()
        };
        let queues = |name: &str, perm: i32, read: i32, write: i32| QueueData {
            broker_name: name.into(),
            perm,
            read_queue_nums: read,
            write_queue_nums: write,
            topic_sys_flag: 0,
        };
        TopicRouteData {
            broker_datas: vec![broker("b", true), broker("a", true), broker("c", false)],
            queue_datas: vec![
                queues("b", 6, 2, 1),
                queues("a", 6, 1, 2),
                queues("c", 6, 1, 1),
                queues("d", 4, 1, 1),
            ],
            ..TopicRouteData::default()
        }
    }

    #[test]
    fn publish_queues_are_writable_masters_in_broker_order() {
        let names: Vec<(String, i32)> = publish_queues(&route(), "T")
            .into_iter()
            .map(|q| (q.broker_name, q.queue_id))
            .collect();
        assert_eq!(names, [("a".into(), 0), ("a".into(), 1), ("b".into(), 0)]);
    }

    #[test]
    fn order_conf_decides_alone() {
        let mut ordered = route();
        ordered.order_topic_conf = Some("b:2;x:bad;a:1".into());
        let names: Vec<(String, i32)> = publish_queues(&ordered, "T")
            .into_iter()
            .map(|q| (q.broker_name, q.queue_id))
            .collect();
        assert_eq!(names, [("b".into(), 0), ("b".into(), 1), ("a".into(), 0)]);
    }

    #[test]
    fn subscribe_queues_are_readable_ones_sorted() {
        let queues = subscribe_queues(&route(), "T");
        let names: Vec<(&str, i32)> = queues.iter().map(|q| (q.broker_name.as_str(), q.queue_id)).collect();
        assert_eq!(names, [("a", 0), ("b", 0), ("b", 1), ("c", 0), ("d", 0)]);
        assert_eq!(master_addr(&route(), "a"), Some("a:10911"));
        assert_eq!(master_addr(&route(), "c"), None);
        assert_eq!(read_addr(&route(), "a"), Some("a:10911"));
        assert_eq!(read_addr(&route(), "c"), Some("c:10912"), "no master: read the slave");
        assert_eq!(read_addr(&route(), "zz"), None);
        assert_eq!(master_addrs(&route()).len(), 2);
    }
}
