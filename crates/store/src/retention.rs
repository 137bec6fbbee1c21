//! Clean-up by retention (store-and-ha.md §5.5, Java's `CleanCommitLogService` and
//! `CleanConsumeQueueService`): which commit-log segments to delete, then deleting them and the
//! consume-queue and index files that only point below the new commit-log min offset.
//!
//! ```text
//! run if: local hour ∈ deleteWhen  ∨  disk check says reclaim  ∨  a manual delete is armed
//! segments, oldest first, never the last (active) one:
//!     delete while  now ≥ lastModified + fileReservedTime  ∨  clean at once (disk ≥ 85 %)
//!     stop at the first one kept (no holes) or after deleteFileBatchMax deletions
//! then: consume-queue files (never a queue's last) whose last entry's offset < commit-log min,
//!       queue min offsets corrected, index files (never the last) whose end offset < min
//! ```
//! [`decide`] is pure (segment ages, `now_ms` and the disk verdict in, segment starts out);
//! [`clean_expired`] executes it over the store's parts. Java sleeps 100 ms between deletions
//! to spread the I/O; the caller's schedule (a run every 10 s) does that here.

use crate::commit_log::CommitLog;
use crate::consume_queues::ConsumeQueues;
use crate::disk::DiskCheck;
use crate::error::{StoreError, StoreResult};
use crate::index_files::IndexFiles;
use crate::offsets::CommitLogOffset;

/// Java's `fileReservedTime` default, in hours.
pub const FILE_RESERVED_HOURS_DEFAULT: u32 = 72;
/// Java's `deleteWhen` default: 4 in the morning.
pub const DELETE_WHEN_DEFAULT: &str = "04";
/// Java's `deleteFileBatchMax`: segments deleted per run at most, to bound one run's I/O.
pub const DELETE_FILE_BATCH_MAX_DEFAULT: usize = 10;
/// Hours in a day: `deleteWhen` entries must be below it to ever match.
const HOURS_PER_DAY: i64 = 24;
const MS_PER_HOUR: i64 = 3_600_000;

/// One commit-log segment as the decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentAge {
    /// Its first byte's log offset (its file name).
    pub start: CommitLogOffset,
    /// The file's last-modified time, ms since the epoch (`File.lastModified`).
    pub last_modified_ms: i64,
}

/// The hours of day of `deleteWhen` (`"04"`, `"04;05"`), parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteHours(Vec<i64>);

impl DeleteHours {
    /// Parses `;`-separated integers like Java's `Integer.parseInt` (no spaces). Java throws on a
    /// bad entry at every run, which stops that run; here it is refused at configuration time.
    pub fn parse(delete_when: &str) -> StoreResult<DeleteHours> {
        delete_when
            .split(';')
            .map(|hour| hour.parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            .map(DeleteHours)
            .map_err(|_| StoreError::BadConfig {
                reason: format!("deleteWhen {delete_when:?} is not a ;-separated list of hours"),
            })
    }

    /// Whether the hour of day of `local_ms` (ms since the epoch, shifted to local time) is
    /// listed (`UtilAll.isItTimeToDo`). Hours outside 0–23 never match, as in Java.
    pub fn is_due(&self, local_ms: i64) -> bool {
        let hour = local_ms.div_euclid(MS_PER_HOUR).rem_euclid(HOURS_PER_DAY);
        self.0.contains(&hour)
    }
}

/// The retention settings of `MessageStoreConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// `fileReservedTime`, in ms.
    pub file_reserved_ms: i64,
    pub delete_hours: DeleteHours,
    /// Added to `now_ms` to get local time for `deleteWhen` (Java uses the JVM's time zone; the
    /// shell passes the host's offset, 0 for UTC).
    pub utc_offset_ms: i64,
    /// `cleanFileForciblyEnable`: whether a nearly full disk may delete unexpired files.
    pub clean_file_forcibly_enable: bool,
    /// `deleteFileBatchMax`.
    pub delete_file_batch_max: usize,
}

impl RetentionPolicy {
    /// Java's defaults but for the two settings brokers set in `broker.conf`.
    pub fn new(file_reserved_hours: u32, delete_when: &str) -> StoreResult<RetentionPolicy> {
        Ok(RetentionPolicy {
            file_reserved_ms: i64::from(file_reserved_hours) * MS_PER_HOUR,
            delete_hours: DeleteHours::parse(delete_when)?,
            utc_offset_ms: 0,
            clean_file_forcibly_enable: true,
            delete_file_batch_max: DELETE_FILE_BATCH_MAX_DEFAULT,
        })
    }
}

/// What one run decided (the pure half of [`clean_expired`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanDecision {
    /// The hour, the disk or a manual request started a deletion run.
    pub triggered: bool,
    /// Age was ignored (`cleanAtOnce`).
    pub clean_at_once: bool,
    /// Starts of the segments to delete, oldest first: always a prefix of the segments that
    /// excludes the last one.
    pub delete_starts: Vec<CommitLogOffset>,
}

/// Java's `deleteExpiredFiles` + `MappedFileQueue.deleteExpiredFileByTime` over `segments`
/// (oldest first). `manual`: an admin `DELETE_EXPIRED_COMMITLOG` round is armed.
pub fn decide(
    policy: &RetentionPolicy,
    segments: &[SegmentAge],
    now_ms: i64,
    disk: &DiskCheck,
    manual: bool,
) -> CleanDecision {
    let due = policy.delete_hours.is_due(now_ms.saturating_add(policy.utc_offset_ms));
    let triggered = due || disk.reclaim || manual;
    let clean_at_once = policy.clean_file_forcibly_enable && disk.clean_immediately;
    let mut delete_starts = Vec::new();
    if triggered {
        let all_but_last = segments.split_last().map_or(&[][..], |(_, rest)| rest);
        for segment in all_but_last {
            let expired = now_ms >= segment.last_modified_ms.saturating_add(policy.file_reserved_ms);
            // Deleting a younger file after an older one is kept would leave a hole in the log.
            if !(expired || clean_at_once) || delete_starts.len() >= policy.delete_file_batch_max {
                break;
            }
            delete_starts.push(segment.start);
        }
    }
    CleanDecision {
        triggered,
        clean_at_once,
        delete_starts,
    }
}

/// Ours, not Java's: keeps every segment holding a record at or after `keep_from` (the oldest
/// record the broker still has to deliver: a parked timer, a delayed message, an undecided half
/// message). Java deletes them like any other when the disk fills or they expire, and those
/// messages are then silently never delivered; here a full disk refuses new puts instead.
/// Trims `delete_starts` (a prefix of `segments`) to the segments wholly below `keep_from`;
/// returns how many it held back.
pub fn hold_back(
    delete_starts: &mut Vec<CommitLogOffset>,
    segments: &[SegmentAge],
    keep_from: CommitLogOffset,
) -> usize {
    let deletable = delete_starts
        .iter()
        .zip(segments.iter().skip(1))
        .take_while(|(_, next)| next.start <= keep_from)
        .count();
    let held = delete_starts.len() - deletable;
    delete_starts.truncate(deletable);
    held
}

/// One clean-up run's circumstances.
#[derive(Debug, Clone, Copy)]
pub struct CleanRun<'a> {
    pub now_ms: i64,
    /// This run's [`DiskThresholds::check`](crate::disk::DiskThresholds::check).
    pub disk: &'a DiskCheck,
    /// An admin `DELETE_EXPIRED_COMMITLOG` round is armed.
    pub manual: bool,
    /// See [`hold_back`]; `u64::MAX` keeps nothing back.
    pub keep_from: CommitLogOffset,
}

/// What [`clean_expired`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanReport {
    pub decision: CleanDecision,
    /// Segments the decision chose but that hold records at or after the keep-from offset.
    pub held_back: usize,
    /// Segments actually deleted (the decision's, unless an error stopped the run).
    pub deleted_segments: Vec<CommitLogOffset>,
    /// The commit log's min offset after the run.
    pub commit_log_min_offset: CommitLogOffset,
    pub consume_queue_files_deleted: usize,
    pub index_files_deleted: usize,
}

/// Runs one clean-up: decides, deletes the chosen commit-log segments, then (when any was
/// deleted) the consume-queue and index files wholly below the new commit-log min offset.
/// `disk` is this run's [`DiskThresholds::check`](crate::disk::DiskThresholds::check) (whose
/// flag the caller applies to its [`crate::disk::DiskState`]).
pub fn clean_expired(
    log: &mut CommitLog,
    queues: &mut ConsumeQueues,
    index: &mut IndexFiles,
    policy: &RetentionPolicy,
    run: &CleanRun<'_>,
) -> StoreResult<CleanReport> {
    let CleanRun {
        now_ms,
        disk,
        manual,
        keep_from,
    } = *run;
    let ages = log
        .segment_ages()?
        .into_iter()
        .map(|(start, last_modified_ms)| SegmentAge {
            start,
            last_modified_ms,
        })
        .collect::<Vec<_>>();
    let mut decision = decide(policy, &ages, now_ms, disk, manual);
    let held_back = hold_back(&mut decision.delete_starts, &ages, keep_from);
    let mut deleted_segments = Vec::with_capacity(decision.delete_starts.len());
    for &start in &decision.delete_starts {
        // The decision is a prefix of the segments, so each one is the oldest in turn.
        match log.delete_oldest_segment()? {
            Some(deleted) if deleted == start => deleted_segments.push(deleted),
            _ => break,
        }
    }
    let commit_log_min_offset = log.min_offset();
    let (consume_queue_files_deleted, index_files_deleted) = if deleted_segments.is_empty() {
        (0, 0)
    } else {
        delete_below(queues, index, log)?
    };
    Ok(CleanReport {
        decision,
        held_back,
        deleted_segments,
        commit_log_min_offset,
        consume_queue_files_deleted,
        index_files_deleted,
    })
}

/// Deletes the consume-queue and index files that only point below the log's min offset and
/// corrects the queues' min offsets (`CleanConsumeQueueService`); returns the two counts. Also
/// for a broker that starts over a log whose old segments were deleted while it was down.
pub fn delete_below(
    queues: &mut ConsumeQueues,
    index: &mut IndexFiles,
    log: &CommitLog,
) -> StoreResult<(usize, usize)> {
    let queue_files = queues.delete_files_below(log)?;
    let index_files = index.delete_files_below(log.min_offset())?;
    Ok((queue_files, index_files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::DiskFullFlag;

    const HOUR: i64 = MS_PER_HOUR;
    /// 2023-11-14T22:13:20Z.
    const T0: i64 = 1_700_000_000_000;

    fn quiet_disk() -> DiskCheck {
        DiskCheck {
            reclaim: false,
            clean_immediately: false,
            full_flag: DiskFullFlag::Clear,
        }
    }

    fn segments(modified: &[i64]) -> Vec<SegmentAge> {
        modified
            .iter()
            .zip(0u64..)
            .map(|(&last_modified_ms, index)| SegmentAge {
                start: CommitLogOffset(index * 1024),
                last_modified_ms,
            })
            .collect()
    }

    #[test]
    fn delete_when_parses_like_integer_parse_int() {
        assert_eq!(DeleteHours::parse("04").unwrap(), DeleteHours(vec![4]));
        assert_eq!(DeleteHours::parse("04;05").unwrap(), DeleteHours(vec![4, 5]));
        for bad in ["", "4;", " 4", "four", "04,05"] {
            assert!(DeleteHours::parse(bad).is_err(), "{bad:?}");
        }
        let hours = DeleteHours::parse("22;99").unwrap();
        assert!(hours.is_due(T0));
        assert!(!hours.is_due(T0 + HOUR));
        assert!(DeleteHours::parse("0").unwrap().is_due(-1 - 23 * HOUR));
    }

    #[test]
    fn outside_the_hour_with_a_quiet_disk_nothing_is_deleted() {
        let policy = RetentionPolicy::new(72, "04").unwrap();
        let old = segments(&[0, 0, 0]);
        let decision = decide(&policy, &old, T0, &quiet_disk(), false);
        assert!(!decision.triggered);
        assert!(decision.delete_starts.is_empty());
        assert_eq!(
            decide(&policy, &old, T0, &quiet_disk(), true).delete_starts,
            vec![CommitLogOffset(0), CommitLogOffset(1024)]
        );
    }

    #[test]
    fn expired_prefix_is_deleted_never_the_last_and_never_past_a_kept_file() {
        let policy = RetentionPolicy::new(72, "22").unwrap();
        let expiry = T0 - 72 * HOUR;
        let ages = segments(&[expiry - 5, expiry, expiry + 1, expiry - 9, expiry - 9]);
        assert_eq!(
            decide(&policy, &ages, T0, &quiet_disk(), false).delete_starts,
            vec![CommitLogOffset(0), CommitLogOffset(1024)]
        );
        let all_old = segments(&[0, 0, 0]);
        assert_eq!(
            decide(&policy, &all_old, T0, &quiet_disk(), false).delete_starts,
            vec![CommitLogOffset(0), CommitLogOffset(1024)]
        );
        assert!(
            decide(&policy, &segments(&[0]), T0, &quiet_disk(), false)
                .delete_starts
                .is_empty()
        );
        assert!(decide(&policy, &[], T0, &quiet_disk(), false).delete_starts.is_empty());
    }

    #[test]
    fn a_full_disk_deletes_young_files_at_most_a_batch_at_a_time() {
        let policy = RetentionPolicy::new(72, "04").unwrap();
        let young = segments(&[T0; 15]);
        let reclaim = DiskCheck {
            reclaim: true,
            clean_immediately: false,
            full_flag: DiskFullFlag::Keep,
        };
        assert!(decide(&policy, &young, T0, &reclaim, false).delete_starts.is_empty());
        let forcibly = DiskCheck {
            clean_immediately: true,
            ..reclaim
        };
        let decision = decide(&policy, &young, T0, &forcibly, false);
        assert!(decision.clean_at_once);
        assert_eq!(
            decision.delete_starts,
            (0..10).map(|i| CommitLogOffset(i * 1024)).collect::<Vec<_>>()
        );
        let disabled = RetentionPolicy {
            clean_file_forcibly_enable: false,
            ..policy
        };
        assert!(decide(&disabled, &young, T0, &forcibly, false).delete_starts.is_empty());
    }

    #[test]
    fn time_zone_offset_moves_the_delete_hour() {
        let mut policy = RetentionPolicy::new(0, "04").unwrap();
        let ages = segments(&[0, 0]);
        // T0 is 22:13 UTC, 04:13 at UTC+6.
        assert!(
            decide(&policy, &ages, T0, &quiet_disk(), false)
                .delete_starts
                .is_empty()
        );
        policy.utc_offset_ms = 6 * HOUR;
        assert_eq!(
            decide(&policy, &ages, T0, &quiet_disk(), false).delete_starts,
            vec![CommitLogOffset(0)]
        );
    }

    #[test]
    fn segments_holding_records_still_to_deliver_are_held_back() {
        // Segments start at 0, 1024, 2048 and 3072.
        let ages = segments(&[0, 0, 0, 0]);
        let at = |kib: u64| CommitLogOffset(kib * 1024);
        let mut starts = vec![at(0), at(1), at(2)];
        // The oldest record still to deliver is inside the second segment.
        assert_eq!(hold_back(&mut starts, &ages, CommitLogOffset(1500)), 2);
        assert_eq!(starts, [at(0)]);
        let mut starts = vec![at(0), at(1)];
        // Exactly at a segment's start: the segments before it may go.
        assert_eq!(hold_back(&mut starts, &ages, at(2)), 0);
        assert_eq!(starts.len(), 2);
        let mut starts = vec![at(0)];
        assert_eq!(hold_back(&mut starts, &ages, at(0)), 1);
        assert!(starts.is_empty());
    }
}
