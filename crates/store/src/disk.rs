//! Disk usage of the file systems holding the store, and the decision Java's clean-up service
//! takes from it every run (`CleanCommitLogService.isSpaceToDelete`, store-and-ha.md §5.5).
//!
//! ```text
//! ratio = ceil(100 × used / (used + available)) / 100     used = total − free   (UtilAll)
//! ratio > diskMaxUsedSpaceRatio (75 %)          → reclaim: delete expired files now
//! ratio > diskSpaceCleanForciblyRatio (85 %)    → reclaim and clean immediately (ignore age)
//! ratio > diskSpaceWarningLevelRatio (90 %)     → also flag the store disk-full: puts are refused
//!                                                 with SERVICE_NOT_AVAILABLE until it clears
//! ```
//! The decision ([`DiskThresholds::check`]) is pure over the measured ratios, so it is tested
//! without a full disk; [`DiskSpace::probe`] is the thin `statvfs` call. A ratio that cannot be measured is
//! `None` (Java's −1): it never flags the disk full but does trigger reclaiming, as in Java.

use std::path::Path;

use crate::error::{StoreResult, io_error};

/// Java's `diskMaxUsedSpaceRatio` default, in percent.
pub const DISK_MAX_USED_SPACE_PERCENT_DEFAULT: u32 = 75;
/// Java clamps `diskMaxUsedSpaceRatio` into this range (`getDiskMaxUsedSpaceRatio`).
const DISK_MAX_USED_SPACE_PERCENT_RANGE: (u32, u32) = (10, 95);
/// Java's `diskSpaceCleanForciblyRatio` default, in percent.
pub const CLEAN_FORCIBLY_PERCENT_DEFAULT: u32 = 85;
/// Java clamps the clean-forcibly ratio into [0.30, 0.85] (`getDiskSpaceCleanForciblyRatio`).
const CLEAN_FORCIBLY_RATIO_RANGE: (f64, f64) = (0.30, 0.85);
/// Java's `diskSpaceWarningLevelRatio` default, in percent.
pub const WARNING_LEVEL_PERCENT_DEFAULT: u32 = 90;
/// Java clamps the warning ratio into [0.35, 0.90] (`getDiskSpaceWarningLevelRatio`).
const WARNING_LEVEL_RATIO_RANGE: (f64, f64) = (0.35, 0.90);

/// What `statvfs` says of one file system, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// `File.getTotalSpace`: blocks × fragment size.
    pub total_bytes: u64,
    /// `File.getFreeSpace`: free blocks, including those reserved for root.
    pub free_bytes: u64,
    /// `File.getUsableSpace`: blocks an unprivileged writer may still use.
    pub available_bytes: u64,
}

impl DiskSpace {
    /// Measures the file system holding `path`.
    pub fn probe(path: &Path) -> StoreResult<DiskSpace> {
        let stat = rustix::fs::statvfs(path).map_err(|errno| io_error(path)(errno.into()))?;
        let block = stat.f_frsize;
        Ok(DiskSpace {
            total_bytes: stat.f_blocks.saturating_mul(block),
            free_bytes: stat.f_bfree.saturating_mul(block),
            available_bytes: stat.f_bavail.saturating_mul(block),
        })
    }

    /// Java's `UtilAll.getDiskPartitionSpaceUsedPercent`: the used fraction rounded up to whole
    /// percents, as a fraction (0.87); `None` for an empty file system.
    pub fn used_ratio(&self) -> Option<f64> {
        if self.total_bytes == 0 {
            return None;
        }
        let used = u128::from(self.total_bytes.saturating_sub(self.free_bytes));
        let entire = used + u128::from(self.available_bytes);
        if entire == 0 {
            return None;
        }
        let percent = (used * 100).div_ceil(entire);
        // At most 100, so exact in an f64.
        Some(percent as f64 / 100.0)
    }
}

/// The used ratio of the file system holding `path`; `None` when it cannot be measured (Java
/// logs and returns −1).
pub fn used_ratio_of(path: &Path) -> Option<f64> {
    DiskSpace::probe(path).ok().and_then(|space| space.used_ratio())
}

/// The three ratios of the clean-up decision, clamped as Java clamps them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiskThresholds {
    /// `diskMaxUsedSpaceRatio`: above it, expired files are deleted whatever the hour.
    pub max_used_ratio: f64,
    /// `diskSpaceCleanForciblyRatio`: above it, files are deleted whatever their age.
    pub clean_forcibly_ratio: f64,
    /// `diskSpaceWarningLevelRatio`: above it, the store is flagged disk-full.
    pub warning_ratio: f64,
}

impl DiskThresholds {
    /// From Java's integer percent settings (`diskMaxUsedSpaceRatio`,
    /// `diskSpaceCleanForciblyRatio`, `diskSpaceWarningLevelRatio`).
    pub fn from_percents(max_used: u32, clean_forcibly: u32, warning: u32) -> DiskThresholds {
        let (low, high) = DISK_MAX_USED_SPACE_PERCENT_RANGE;
        DiskThresholds {
            max_used_ratio: f64::from(max_used.clamp(low, high)) / 100.0,
            clean_forcibly_ratio: clamp_ratio(f64::from(clean_forcibly) / 100.0, CLEAN_FORCIBLY_RATIO_RANGE),
            warning_ratio: clamp_ratio(f64::from(warning) / 100.0, WARNING_LEVEL_RATIO_RANGE),
        }
    }

    /// Java's `isSpaceToDelete` (one replica per partition) over the used ratios of the commit-log
    /// and consume-queue file systems (usually the same one).
    pub fn check(&self, commit_log_ratio: Option<f64>, consume_queue_ratio: Option<f64>) -> DiskCheck {
        let mut full_flag = DiskFullFlag::Keep;
        for ratio in [commit_log_ratio, consume_queue_ratio] {
            // An unmeasurable ratio (Java's −1) is below both thresholds.
            let value = ratio.unwrap_or(-1.0);
            if value > self.warning_ratio {
                return DiskCheck {
                    reclaim: true,
                    clean_immediately: true,
                    full_flag: DiskFullFlag::Set,
                };
            }
            if value > self.clean_forcibly_ratio {
                return DiskCheck {
                    reclaim: true,
                    clean_immediately: true,
                    full_flag,
                };
            }
            full_flag = DiskFullFlag::Clear;
        }
        let over = |ratio: Option<f64>| ratio.is_none_or(|value| value > self.max_used_ratio);
        DiskCheck {
            reclaim: over(commit_log_ratio) || over(consume_queue_ratio),
            clean_immediately: false,
            full_flag,
        }
    }
}

impl Default for DiskThresholds {
    fn default() -> DiskThresholds {
        DiskThresholds::from_percents(
            DISK_MAX_USED_SPACE_PERCENT_DEFAULT,
            CLEAN_FORCIBLY_PERCENT_DEFAULT,
            WARNING_LEVEL_PERCENT_DEFAULT,
        )
    }
}

/// What a check does to the store's disk-full flag (Java's `RunningFlags.DISK_FULL_BIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFullFlag {
    Set,
    Clear,
    /// Between the clean-forcibly and warning ratios Java leaves the flag as it was.
    Keep,
}

/// The outcome of one [`DiskThresholds::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskCheck {
    /// Delete expired files this run even outside `deleteWhen` (`isUsageExceedsThreshold`).
    pub reclaim: bool,
    /// Delete regardless of age (`cleanImmediately`; applies only with `cleanFileForciblyEnable`).
    pub clean_immediately: bool,
    pub full_flag: DiskFullFlag,
}

/// The store's disk-full flag: set and cleared by [`DiskThresholds::check`]s, read by every put.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskState {
    full: bool,
}

impl DiskState {
    /// Applies a check's verdict; returns whether the flag changed (Java logs the transitions).
    pub fn apply(&mut self, check: &DiskCheck) -> bool {
        let before = self.full;
        match check.full_flag {
            DiskFullFlag::Set => self.full = true,
            DiskFullFlag::Clear => self.full = false,
            DiskFullFlag::Keep => {}
        }
        before != self.full
    }

    /// Puts must be refused with `SERVICE_NOT_AVAILABLE` (Java's `checkBeforePutMessage`: the
    /// store is not writeable).
    pub fn refuses_puts(&self) -> bool {
        self.full
    }
}

/// Java's `SendMessageProcessor.diskUtil()`: the used ratios of the commit-log, consume-queue
/// and index file systems (−1 when unmeasurable), which its `SERVICE_NOT_AVAILABLE` remark puts
/// between brackets ("the broker's disk is full [CL:  0.93 CQ:  0.93 INDEX:  0.93]").
pub fn disk_util_text(commit_log: Option<f64>, consume_queue: Option<f64>, index: Option<f64>) -> String {
    let [commit_log, consume_queue, index] = [commit_log, consume_queue, index].map(|ratio| ratio.unwrap_or(-1.0));
    format!("CL: {commit_log:5.2} CQ: {consume_queue:5.2} INDEX: {index:5.2}")
}

fn clamp_ratio(ratio: f64, (low, high): (f64, f64)) -> f64 {
    ratio.clamp(low, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_ratio_rounds_up_to_whole_percents_like_java() {
        let space = |total, free, available| DiskSpace {
            total_bytes: total,
            free_bytes: free,
            available_bytes: available,
        };
        assert_eq!(space(1000, 250, 250).used_ratio(), Some(0.75));
        assert_eq!(space(1000, 249, 249).used_ratio(), Some(0.76));
        // Root-reserved blocks count as neither used nor available.
        assert_eq!(space(1000, 300, 250).used_ratio(), Some(0.74));
        assert_eq!(space(1000, 0, 0).used_ratio(), Some(1.0));
        assert_eq!(space(0, 0, 0).used_ratio(), None);
    }

    #[test]
    fn probe_measures_a_real_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let space = DiskSpace::probe(dir.path()).unwrap();
        assert!(space.total_bytes > 0 && space.free_bytes <= space.total_bytes);
        let ratio = used_ratio_of(dir.path()).unwrap();
        assert!((0.0..=1.0).contains(&ratio));
        assert_eq!(used_ratio_of(&dir.path().join("missing")), None);
    }

    #[test]
    fn thresholds_are_clamped_like_java() {
        let t = DiskThresholds::from_percents(99, 95, 99);
        assert_eq!(
            (t.max_used_ratio, t.clean_forcibly_ratio, t.warning_ratio),
            (0.95, 0.85, 0.90)
        );
        let t = DiskThresholds::from_percents(1, 1, 1);
        assert_eq!(
            (t.max_used_ratio, t.clean_forcibly_ratio, t.warning_ratio),
            (0.10, 0.30, 0.35)
        );
    }

    #[test]
    fn check_follows_the_three_levels() {
        let t = DiskThresholds::default();
        let quiet = t.check(Some(0.50), Some(0.50));
        assert_eq!(
            (quiet.reclaim, quiet.clean_immediately, quiet.full_flag),
            (false, false, DiskFullFlag::Clear)
        );
        let over_max = t.check(Some(0.80), Some(0.50));
        assert_eq!((over_max.reclaim, over_max.clean_immediately), (true, false));
        let forcibly = t.check(Some(0.86), Some(0.50));
        assert_eq!(
            (forcibly.clean_immediately, forcibly.full_flag),
            (true, DiskFullFlag::Keep)
        );
        let full = t.check(Some(0.91), Some(0.10));
        assert_eq!((full.clean_immediately, full.full_flag), (true, DiskFullFlag::Set));
        let logics_full = t.check(Some(0.10), Some(0.95));
        assert_eq!(logics_full.full_flag, DiskFullFlag::Set);
        // Exactly at a threshold is not above it.
        assert_eq!(t.check(Some(0.90), Some(0.0)).full_flag, DiskFullFlag::Keep);
        assert!(!t.check(Some(0.75), Some(0.75)).reclaim);
    }

    #[test]
    fn unmeasurable_ratio_reclaims_but_never_flags_full() {
        let verdict = DiskThresholds::default().check(None, Some(0.2));
        assert_eq!(
            (verdict.reclaim, verdict.clean_immediately, verdict.full_flag),
            (true, false, DiskFullFlag::Clear)
        );
    }

    #[test]
    fn the_flag_sets_at_the_warning_level_and_clears_only_below_clean_forcibly() {
        let t = DiskThresholds::default();
        let mut state = DiskState::default();
        assert!(!state.apply(&t.check(Some(0.88), Some(0.1))));
        assert!(!state.refuses_puts());
        assert!(state.apply(&t.check(Some(0.92), Some(0.1))));
        assert!(state.refuses_puts());
        assert!(!state.apply(&t.check(Some(0.88), Some(0.1))));
        assert!(state.refuses_puts(), "between 85 % and 90 % Java keeps the flag");
        assert!(state.apply(&t.check(Some(0.80), Some(0.1))));
        assert!(!state.refuses_puts());
    }

    #[test]
    fn disk_util_is_javas() {
        assert_eq!(
            disk_util_text(Some(0.93), Some(1.0), None),
            "CL:  0.93 CQ:  1.00 INDEX: -1.00"
        );
    }
}
