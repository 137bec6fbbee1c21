//! How the broker's registration with the name servers is going: the tally the shell's
//! registration task keeps and GET_BROKER_RUNTIME_INFO shows, so a broker falling out of the
//! routes is visible before its routes expire.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// How registration is going, for GET_BROKER_RUNTIME_INFO and operators.
#[derive(Debug, Default)]
pub struct RegistrationHealth {
    /// When every name server last accepted a whole round, ms since the epoch (0: never).
    last_ok_ms: AtomicI64,
    /// Rounds in a row that a name server refused or did not answer.
    failed_rounds_in_a_row: AtomicU64,
    /// Rounds that a name server refused or did not answer, since start.
    failed_rounds_total: AtomicU64,
    /// REGISTER_BROKER requests per name server in the last round (1 unless split).
    batches_last_round: AtomicU64,
}

impl RegistrationHealth {
    /// The runtime-info entries: `(key, value)`.
    pub fn runtime_info(&self) -> [(&'static str, String); 4] {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed).to_string();
        [
            (
                "namesrvRegisterLastOkTimeStamp",
                self.last_ok_ms.load(Ordering::Relaxed).to_string(),
            ),
            ("namesrvRegisterFailedRoundsInARow", load(&self.failed_rounds_in_a_row)),
            ("namesrvRegisterFailedRoundsTotal", load(&self.failed_rounds_total)),
            ("namesrvRegisterBatchesLastRound", load(&self.batches_last_round)),
        ]
    }

    pub fn failed_rounds_in_a_row(&self) -> u64 {
        self.failed_rounds_in_a_row.load(Ordering::Relaxed)
    }

    /// One round of registration: how many requests each name server got, and whether every
    /// name server accepted all of them.
    pub fn record(&self, batches: usize, all_accepted: bool, now_ms: i64) {
        self.batches_last_round.store(batches as u64, Ordering::Relaxed);
        match all_accepted {
            true => {
                self.last_ok_ms.store(now_ms, Ordering::Relaxed);
                self.failed_rounds_in_a_row.store(0, Ordering::Relaxed);
            }
            false => {
                self.failed_rounds_in_a_row.fetch_add(1, Ordering::Relaxed);
                self.failed_rounds_total.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
