use super::*;

fn key(start_offset: i64, pop_time_ms: i64) -> CheckpointKey {
    CheckpointKey {
        group: "cg".into(),
        topic: "T".into(),
        queue_id: 1,
        start_offset,
        pop_time_ms,
    }
}

fn inflight(offsets: &[i64], revive_qid: i32, record_offset: Option<u64>) -> Inflight {
    Inflight {
        invisible_time_ms: 1_000,
        revive_qid,
        record_offset,
        offsets: offsets.iter().map(|o| (*o, false)).collect(),
    }
}

#[test]
fn acked_checkpoints_leave_and_unacked_ones_come_due() {
    let mut table = PopCheckpoints::default();
    assert!(table.insert(key(5, 100), inflight(&[5, 6], 0, Some(0))));
    assert!(!table.insert(key(5, 100), inflight(&[5], 0, Some(0))), "same key twice");
    assert!(table.insert(key(7, 200), inflight(&[7], 1, Some(0))));
    assert_eq!(table.ack(&key(5, 100), 5), AckOutcome::Acked);
    assert_eq!(
        table.ack(&key(5, 100), 5),
        AckOutcome::Unknown,
        "a second ack changes nothing"
    );
    assert_eq!(table.ack(&key(5, 999), 6), AckOutcome::Unknown, "another pop's receipt");
    assert!(table.take_due(1_099, 10).is_empty());
    let due = table.take_due(1_100, 10);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].1.unacked(), [6]);
    assert_eq!(table.ack(&key(7, 200), 7), AckOutcome::Acked);
    assert!(table.is_empty(), "all acked: gone");
}

#[test]
fn the_revive_floor_waits_for_records_in_flight_and_being_written() {
    let mut table = PopCheckpoints::default();
    assert_eq!(table.revive_floor(0, 9), Some(9));
    table.insert(key(5, 100), inflight(&[5], 0, Some(3)));
    table.insert(key(6, 100), inflight(&[6], 0, Some(4)));
    table.insert(key(7, 100), inflight(&[7], 1, None));
    assert_eq!(table.revive_floor(0, 9), Some(3));
    assert_eq!(table.revive_floor(1, 9), None, "a record being written holds the floor");
    assert!(
        table.take_due(i64::MAX, 10).iter().all(|(_, i)| i.revive_qid == 0),
        "unwritten is not due"
    );
    table.ack(&key(5, 100), 5);
    assert_eq!(table.revive_floor(0, 9), Some(9));
}

#[test]
fn replay_rebuilds_what_the_log_says() {
    let k = key(5, 100);
    let ck = checkpoint_record(&k, 1_000, &[5, 7], "broker-a");
    assert_eq!((ck.queue_offset_diff.clone(), ck.num), (vec![0, 2], 2));
    let mut table = PopCheckpoints::default();
    table.replay(ReviveRecord::Checkpoint(ck), 2, 10);
    let ack = AckMsg {
        ack_offset: 7,
        consumer_group: "cg".into(),
        topic: "T".into(),
        queue_id: 1,
        start_offset: 5,
        pop_time: 100,
        ..AckMsg::default()
    };
    table.replay(ReviveRecord::Ack(ack), 2, 11);
    assert!(table.is_unacked(&k, 5));
    assert!(!table.is_unacked(&k, 7));
    assert_eq!(table.revive_floor(2, 12), Some(10));
    let settle = BatchAckMsg {
        ack_offset: -1,
        ack_offset_list: vec![5],
        consumer_group: "cg".into(),
        topic: "T".into(),
        queue_id: 1,
        start_offset: 5,
        pop_time: 100,
        ..BatchAckMsg::default()
    };
    table.replay(ReviveRecord::BatchAck(settle), 2, 12);
    assert!(table.is_empty());
}

#[test]
fn the_table_is_bounded() {
    let mut table = PopCheckpoints::default();
    for n in 0..POP_CHECKPOINTS_MAX {
        assert!(table.insert(key(n as i64, 0), inflight(&[n as i64], 0, Some(0))));
    }
    assert!(table.is_full());
    assert!(!table.insert(key(-1, 0), inflight(&[0], 0, Some(0))));
}
