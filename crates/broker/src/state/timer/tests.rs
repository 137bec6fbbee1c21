use bytes::Bytes;
use ferrocket_wire::message::{MessageProperties, TransactionType, sysflag};

use super::*;

const NOW: i64 = 1_700_000_000_500;
const SETTINGS: TimerSettings = TimerSettings {
    enabled: true,
    precision_ms: 1_000,
    max_delay_ms: 3 * 86_400_000,
};

fn message(properties: &[(&str, &str)]) -> StoredMessage {
    StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id: 3,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp_ms: NOW,
        born_host: "10.0.0.9:53412".parse().unwrap(),
        store_timestamp_ms: NOW + 2,
        store_host: "192.168.1.10:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from_static(b"b"),
        topic: "T".into(),
        properties: properties.iter().copied().collect::<MessageProperties>(),
    }
}

fn park(properties: &[(&str, &str)]) -> (Result<bool, TimerRefusal>, StoredMessage) {
    let mut m = message(properties);
    (park_if_timer(&mut m, &SETTINGS, NOW, || 0), m)
}

#[test]
fn slots_round_down_and_exact_multiples_go_to_the_slot_before() {
    assert_eq!(slot_of(12_345, 1_000), 12_000);
    assert_eq!(slot_of(13_000, 1_000), 12_000);
    assert_eq!(slot_of(13_001, 1_000), 13_000);
    assert_eq!(slot_of(250, 100), 200);
}

#[test]
fn a_future_time_parks_the_message_in_the_timer_topic() {
    let at = (NOW + 5_250).to_string();
    let (parked, m) = park(&[("TIMER_DELIVER_MS", &at)]);
    assert_eq!(parked, Ok(true));
    assert_eq!((m.topic.as_str(), m.queue_id), (TIMER_TOPIC, 0));
    assert_eq!(m.properties.get(keys::TIMER_OUT_MS), Some("1700000005000"));
    assert_eq!(m.properties.get(keys::REAL_TOPIC), Some("T"));
    assert_eq!(m.properties.get(keys::REAL_QID), Some("3"));
    assert_eq!(m.properties.get(keys::TIMER_DELIVER_MS), Some(at.as_str()));

    let (parked, m) = park(&[("TIMER_DELAY_SEC", "10"), ("TIMER_DELIVER_MS", "1")]);
    assert_eq!(parked, Ok(true), "seconds win over a deliver time");
    assert_eq!(m.properties.get(keys::TIMER_OUT_MS), Some("1700000010000"));
    let (parked, m) = park(&[("TIMER_DELAY_MS", "700")]);
    assert_eq!(parked, Ok(true));
    assert_eq!(m.properties.get(keys::TIMER_OUT_MS), Some("1700000001000"));
}

#[test]
fn what_is_no_timer_is_left_alone() {
    for props in [
        vec![],
        vec![("TIMER_DELIVER_MS", "1")],
        vec![("TIMER_DELAY_MS", "0")],
        vec![("TIMER_OUT_MS", "5"), ("TIMER_DELAY_SEC", "9")],
    ] {
        let (parked, m) = park(&props);
        assert_eq!((parked, m), (Ok(false), message(&props)), "{props:?}");
    }
    let (parked, m) = park(&[("DELAY", "2"), ("TIMER_DELAY_SEC", "9"), ("TIMER_DELIVER_MS", "9")]);
    assert_eq!(parked, Ok(false));
    assert_eq!(m, message(&[("DELAY", "2")]));
    let mut prepared = message(&[("TIMER_DELAY_SEC", "9")]);
    prepared.sys_flag = sysflag::with_transaction_type(0, TransactionType::Prepared);
    assert_eq!(park_if_timer(&mut prepared, &SETTINGS, NOW, || 0), Ok(false));
    let mut rolled = message(&[("TIMER_DELAY_SEC", "9")]);
    rolled.topic = TIMER_TOPIC.into();
    assert_eq!(park_if_timer(&mut rolled, &SETTINGS, NOW, || 0), Ok(false));
}

#[test]
fn javas_refusals() {
    let too_far = (NOW + SETTINGS.max_delay_ms + 1).to_string();
    for props in [
        vec![("TIMER_DELIVER_MS", too_far.as_str())],
        vec![("TIMER_DELAY_SEC", "x")],
        vec![("TIMER_DELAY_MS", "1.5")],
        vec![("TIMER_DELAY_SEC", "9223372036854775807")],
        vec![("TIMER_DELIVER_MS", "1"), ("TIMER_DEL_UNIQKEY", "k")],
    ] {
        assert_eq!(park(&props).0, Err(TimerRefusal::Illegal), "{props:?}");
    }
    let mut m = message(&[("TIMER_DELAY_SEC", "5")]);
    let off = TimerSettings {
        enabled: false,
        ..SETTINGS
    };
    assert_eq!(park_if_timer(&mut m, &off, NOW, || 0), Err(TimerRefusal::NotEnabled));
    assert_eq!(
        park_if_timer(&mut m, &SETTINGS, NOW, || TIMERS_PENDING_MAX),
        Err(TimerRefusal::FlowControl)
    );
}

#[test]
fn due_is_the_asked_time_capped_at_javas_slot_end() {
    let at = NOW + 5_250;
    let (_, parked) = park(&[("TIMER_DELIVER_MS", &at.to_string())]);
    assert_eq!(due_ms(&parked, 1_000), Some(at));
    let (_, parked) = park(&[("TIMER_DELAY_SEC", "3")]);
    // The store time (2 ms after the put's now) plus the delay: never before Java's now + 3 s.
    assert_eq!(due_ms(&parked, 1_000), Some(NOW + 2 + 3_000));
    let mut bare = message(&[("TIMER_OUT_MS", "1700000004000")]);
    assert_eq!(due_ms(&bare, 1_000), Some(1_700_000_005_000));
    bare.properties.remove(keys::TIMER_OUT_MS);
    assert_eq!(due_ms(&bare, 1_000), None);
}

#[test]
fn the_delivered_copy_goes_home_with_javas_extra_properties() {
    let (_, parked) = park(&[("TAGS", "a"), ("TIMER_DELAY_SEC", "3")]);
    let delivered = delivered_message(&parked, 11, 22).unwrap();
    assert_eq!((delivered.topic.as_str(), delivered.queue_id), ("T", 3));
    assert_eq!(delivered.properties.get(keys::TIMER_ENQUEUE_MS), Some("11"));
    assert_eq!(delivered.properties.get(keys::TIMER_DEQUEUE_MS), Some("22"));
    assert_eq!(delivered.properties.get(keys::REAL_TOPIC), Some("T"));
    assert_eq!(
        (delivered.born_timestamp_ms, &delivered.body),
        (parked.born_timestamp_ms, &parked.body)
    );
    let mut mark = parked.clone();
    mark.properties.insert(keys::TIMER_DEL_UNIQKEY, "k");
    assert_eq!(delivered_message(&mark, 1, 2), None);
    let mut lost = parked;
    lost.properties.remove(keys::REAL_QID);
    assert_eq!(delivered_message(&lost, 1, 2), None);
}
