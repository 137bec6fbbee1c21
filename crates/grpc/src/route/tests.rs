use super::*;

fn topic(read: i32, write: i32, perm: i32, message_type: Option<&str>) -> TopicConfig {
    let mut config = TopicConfig {
        topic_name: "T".to_owned(),
        read_queue_nums: read,
        write_queue_nums: write,
        perm,
        ..TopicConfig::default()
    };
    if let Some(message_type) = message_type {
        config
            .attributes
            .insert("message.type".to_owned(), message_type.to_owned());
    }
    config
}

fn resource() -> Resource {
    Resource {
        resource_namespace: String::new(),
        name: "T".to_owned(),
    }
}

#[test]
fn queues_are_read_only_then_write_only_then_read_write() {
    let broker = broker_entry("b", None, 8081);
    let queues = message_queues(&resource(), &topic(4, 2, PERM_READ | PERM_WRITE, None), &broker);
    let shape: Vec<(i32, i32)> = queues.iter().map(|q| (q.id, q.permission)).collect();
    let (r, rw) = (Permission::Read as i32, Permission::ReadWrite as i32);
    assert_eq!(shape, [(0, r), (1, r), (2, rw), (3, rw)]);
    let no_access = message_queues(&resource(), &topic(0, 0, 0, None), &broker);
    assert_eq!(no_access.len(), 1);
    assert_eq!(no_access.first().map(|q| q.permission), Some(Permission::None as i32));
}

#[test]
fn accepted_types_follow_the_attribute() {
    let accepted = |attribute| TopicMessageType::of_topic(&topic(1, 1, 6, attribute)).accepted();
    assert_eq!(accepted(None), [MessageType::Normal as i32]);
    assert_eq!(accepted(Some("FIFO")), [MessageType::Fifo as i32]);
    assert_eq!(accepted(Some("MIXED")).len(), 4);
    assert_eq!(accepted(Some("nonsense")), [MessageType::Unspecified as i32]);
}

#[test]
fn the_route_points_at_the_dialled_host_on_our_port() {
    let requested = Endpoints {
        scheme: AddressScheme::DomainName as i32,
        addresses: vec![Address {
            host: "localhost".to_owned(),
            port: 1,
        }],
    };
    let broker = broker_entry("broker-a", Some(&requested), 8081);
    let endpoints = broker.endpoints.unwrap_or_default();
    assert_eq!(endpoints.scheme, AddressScheme::DomainName as i32);
    assert_eq!(
        endpoints.addresses.first().map(|a| (a.host.as_str(), a.port)),
        Some(("localhost", 8081))
    );
}

#[test]
fn message_types_are_checked_as_javas_validator() {
    let mut properties = BTreeMap::new();
    assert_eq!(TopicMessageType::of_message(&properties), TopicMessageType::Normal);
    properties.insert(keys::SHARDING_KEY.to_owned(), "g".to_owned());
    assert_eq!(TopicMessageType::of_message(&properties), TopicMessageType::Fifo);
    properties.insert(keys::TIMER_DELIVER_MS.to_owned(), "1".to_owned());
    assert_eq!(TopicMessageType::of_message(&properties), TopicMessageType::Delay);
    let refused = TopicMessageType::Normal
        .admits(TopicMessageType::Fifo)
        .err()
        .unwrap_or_default();
    assert_eq!(refused.code, Code::MessagePropertyConflictWithType as i32);
    assert_eq!(
        refused.message,
        "org.apache.rocketmq.proxy.common.ProxyException: TopicMessageType validate failed, the expected type is NORMAL, but actual type is FIFO"
    );
    assert!(TopicMessageType::Mixed.admits(TopicMessageType::Transaction).is_ok());
}

#[test]
fn topics_are_validated_with_the_client_librarys_messages() {
    let message = |topic: &str, system| validate_topic(topic, system).err().map(|s| (s.code, s.message));
    assert_eq!(message("ok_Topic-1%|", false), None);
    assert_eq!(
        message(" ", false),
        Some((40002, "The specified topic is blank".to_owned()))
    );
    assert_eq!(
        message("rmq_sys_X", true),
        Some((40002, "cannot access system topic".to_owned()))
    );
    assert!(message("a b", false).is_some_and(|(_, m)| m.contains("illegal characters")));
}

#[test]
fn a_fifo_group_is_assigned_every_readable_queue() {
    let broker = broker_entry("b", None, 8081);
    assert_eq!(assignments(&resource(), &topic(3, 3, 6, None), &broker, true).len(), 3);
    let single = assignments(&resource(), &topic(3, 3, 6, None), &broker, false);
    assert_eq!(
        single.first().and_then(|a| a.message_queue.as_ref()).map(|q| q.id),
        Some(-1)
    );
    assert!(assignments(&resource(), &topic(3, 3, PERM_WRITE, None), &broker, false).is_empty());
}
