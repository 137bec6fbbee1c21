use super::*;

fn at(due_ms: i64, queue_offset: u64) -> Pending {
    Pending { due_ms, queue_offset }
}

#[test]
fn timers_leave_in_due_order_and_only_when_due() {
    let mut wheel = TimerWheel::default();
    for pending in [at(30, 0), at(10, 1), at(20, 2), at(10, 3)] {
        wheel.schedule(pending);
    }
    assert_eq!(wheel.pop_due(9), None);
    assert_eq!(wheel.pop_due(20), Some(at(10, 1)));
    assert_eq!(wheel.pop_due(20), Some(at(10, 3)));
    assert_eq!(wheel.pop_due(20), Some(at(20, 2)));
    assert_eq!(wheel.pop_due(20), None);
    assert_eq!((wheel.len(), wheel.next_due_ms()), (1, Some(30)));
}

#[test]
fn progress_vouches_only_for_what_left_the_wheel() {
    let mut wheel = TimerWheel::starting_at(0);
    wheel.schedule(at(500, 5));
    wheel.schedule(at(100, 9_000));
    wheel.set_read_position(9_001, 9_010);
    assert_eq!(wheel.pending(), 2 + 9);
    assert_eq!(
        wheel.progress(1_000),
        TimerProgress {
            scan_from: 0,
            ingested_to: 9_001,
            delivered_before_ms: 100
        }
    );
    wheel.pop_due(1_000);
    wheel.pop_due(1_000);
    assert_eq!(
        wheel.progress(1_000),
        TimerProgress {
            scan_from: 9_001,
            ingested_to: 9_001,
            delivered_before_ms: 1_001
        }
    );
    // The lowest waiting block bounds scanFrom.
    wheel.schedule(at(2_000, 8_200));
    assert_eq!(wheel.progress(1_000).scan_from, 8_192);
}

#[test]
fn a_restart_trusts_the_file_waits_for_the_future_and_checks_the_rest() {
    let progress = TimerProgress {
        scan_from: 10,
        ingested_to: 20,
        delivered_before_ms: 1_000,
    };
    assert_eq!(on_restart(&progress, at(5_000, 9), 2_000), OnRestart::Delivered);
    assert_eq!(on_restart(&progress, at(999, 15), 2_000), OnRestart::Delivered);
    assert_eq!(on_restart(&progress, at(1_000, 15), 2_000), OnRestart::MaybeDelivered);
    // Read after the file was written: maybe delivered since, whatever its time.
    assert_eq!(on_restart(&progress, at(500, 20), 2_000), OnRestart::MaybeDelivered);
    assert_eq!(on_restart(&progress, at(2_001, 15), 2_000), OnRestart::Waiting);
}

#[test]
fn progress_round_trips_through_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(PROGRESS_FILE);
    assert_eq!(load_progress(&path).unwrap(), TimerProgress::default());
    let progress = TimerProgress {
        scan_from: 3,
        ingested_to: 7,
        delivered_before_ms: 1_700_000_000_000,
    };
    let earlier = TimerProgress {
        scan_from: 1,
        ..progress
    };
    persist_progress(&path, &earlier).unwrap();
    persist_progress(&path, &progress).unwrap();
    assert_eq!(load_progress(&path).unwrap(), progress);
    std::fs::write(&path, "{not json").unwrap();
    assert_eq!(load_progress(&path).unwrap(), earlier, "the .bak is read");
}

#[test]
fn a_million_waiting_timers_cost_about_sixteen_mib() {
    let mut wheel = TimerWheel::default();
    for n in 0..1_000_000u64 {
        wheel.schedule(at(1_000 + (n as i64 * 7_919) % 60_000, n));
    }
    let bytes = wheel.memory_bytes();
    // The heap doubles as it grows: between 16 and 32 bytes a timer, blocks aside.
    assert!((16_000_000..=34_000_000).contains(&bytes), "{bytes} bytes");
    let mut last = i64::MIN;
    while let Some(next) = wheel.pop_due(i64::MAX) {
        assert!(next.due_ms >= last);
        last = next.due_ms;
    }
    assert!(wheel.is_empty());
}

#[test]
fn runtime_figures_count_waiting_unread_and_overdue() {
    let mut wheel = TimerWheel::default();
    wheel.schedule(at(1_000, 0));
    wheel.schedule(at(9_000, 1));
    wheel.set_read_position(2, 5);
    let figures = wheel.runtime_figures(4_500);
    assert_eq!(
        (figures.read_behind_s, figures.offset_behind, figures.congest),
        (3, 3, 2)
    );
    wheel.pop_due(4_500);
    let figures = wheel.runtime_figures(4_500);
    assert_eq!(
        (figures.read_behind_s, figures.scheduled_total, figures.taken_total),
        (0, 2, 1)
    );
}

#[test]
fn due_ahead_counts_the_waiting_timers_by_when_they_are_due() {
    let mut wheel = TimerWheel::starting_at(0);
    for (offset, due_ms) in [900, 1_000, 4_000, 6_000, 70_000, 200_000_000].into_iter().enumerate() {
        wheel.schedule(at(due_ms, offset as u64));
    }
    // From 1 000 ms on: 1 000 (the slot being read, as Java's snapshot starts at it) and 4 000
    // within 5 s; 6 000 within 5..60 s; 70 000 within 60..300 s; the last is past every bound
    // and counts nowhere, as in Java's 24-hour snapshot; 900 is behind and not ahead.
    assert_eq!(wheel.due_ahead(1_000, &[5, 60, 300]), vec![2, 1, 1]);
}
