//! The bytes of one connection's writer queue: what is queued, what may be, and who waits.
//!
//! A frame enters the queue with a [`Reservation`] of its length, taken from the connection's
//! count and the shared outbound budget; dropping the reservation gives both back. Because the
//! reservation travels with the frame ([`QueuedFrame`]), the bytes are returned however the frame
//! leaves: written, dropped with the queue at close, or dropped by a writer that gave up.
//! Invariants:
//! * a frame is admitted while the connection stays within its byte limit and the budget within
//!   its total; a connection with nothing queued may always queue one frame, whatever its size,
//!   so peers that read their answers keep being served when others spent the total;
//! * once closed, nothing more is admitted and every waiting writer gives up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::budget::{Budgets, Room};

/// The connection closed while a frame waited for room.
#[derive(Debug)]
pub(crate) struct Closed;

/// The byte count of one connection's writer queue.
#[derive(Debug)]
pub(crate) struct OutboundBytes {
    queued: Mutex<usize>,
    queued_max: usize,
    closed: AtomicBool,
    /// Woken when this connection's queued bytes shrink, or it closes.
    room: Room,
    budgets: Arc<Budgets>,
}

impl OutboundBytes {
    pub(crate) fn new(queued_max: usize, budgets: Arc<Budgets>) -> OutboundBytes {
        OutboundBytes {
            queued: Mutex::new(0),
            queued_max: queued_max.max(1),
            closed: AtomicBool::new(false),
            room: Room::default(),
            budgets,
        }
    }

    pub(crate) fn queued(&self) -> usize {
        *self.lock_queued()
    }

    /// Whether a typical frame could be admitted now; the read loop stops reading requests while
    /// it cannot (backpressure on a peer that does not read its answers).
    pub(crate) fn has_room(&self) -> bool {
        let queued = self.queued();
        let total = &self.budgets.outbound;
        queued == 0 || (queued < self.queued_max && total.used() < total.max())
    }

    /// Resolves once [`OutboundBytes::has_room`] holds or the connection closed.
    pub(crate) async fn room(&self) {
        self.wait_for(|| (self.is_closed() || self.has_room()).then_some(()))
            .await;
    }

    /// Waits until `bytes` may be queued and reserves them. Cancel-safe: nothing is reserved
    /// until it returns.
    pub(crate) async fn admit(self: &Arc<Self>, bytes: usize) -> Result<Reservation, Closed> {
        let attempt = || {
            if self.is_closed() {
                return Some(Err(Closed));
            }
            self.try_reserve(bytes).then(|| {
                Ok(Reservation {
                    account: Arc::clone(self),
                    bytes,
                })
            })
        };
        // Most frames find room at once: no waiting, no lock but the connection's own.
        match attempt() {
            Some(admitted) => admitted,
            None => self.wait_for(attempt).await,
        }
    }

    /// Admits nothing more and wakes every waiting writer.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.room.wake_all();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Waits until `attempt` succeeds, retrying whenever this connection's queue or the shared
    /// budget shrinks, or the connection closes (see [`Room`] for why no wake-up is missed).
    async fn wait_for<T>(&self, mut attempt: impl FnMut() -> Option<T>) -> T {
        let _mine = self.room.waiting();
        let _total = self.budgets.outbound.room().waiting();
        loop {
            let mine = self.room.notified();
            let total = self.budgets.outbound.room().notified();
            if let Some(done) = attempt() {
                return done;
            }
            tokio::select! {
                () = mine => {}
                () = total => {}
            }
        }
    }

    fn try_reserve(&self, bytes: usize) -> bool {
        // Under the lock, so two writers cannot both find the queue empty.
        let mut queued = self.lock_queued();
        if *queued == 0 {
            self.budgets.outbound.take_anyway(bytes);
        } else if queued.saturating_add(bytes) > self.queued_max || !self.budgets.outbound.try_take(bytes) {
            return false;
        }
        *queued = queued.saturating_add(bytes);
        true
    }

    fn release(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        {
            let mut queued = self.lock_queued();
            assert!(*queued >= bytes, "released {bytes} queued bytes of {}", *queued);
            *queued -= bytes;
        }
        self.budgets.outbound.give_back(bytes);
        self.room.wake_all();
    }

    // Never held across an await; the budget's atomics are the only thing touched under it.
    fn lock_queued(&self) -> MutexGuard<'_, usize> {
        self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Bytes counted in a connection's queue and the shared budget until dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    account: Arc<OutboundBytes>,
    bytes: usize,
}

impl Reservation {
    /// Takes over `other`'s bytes, so a batch of frames is released in one go once written.
    pub(crate) fn absorb(&mut self, mut other: Reservation) {
        assert!(
            Arc::ptr_eq(&self.account, &other.account),
            "reservations of two connections"
        );
        self.bytes = self.bytes.saturating_add(std::mem::take(&mut other.bytes));
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.account.release(self.bytes);
    }
}

/// An encoded frame in a writer queue, holding its bytes' reservation.
#[derive(Debug)]
pub(crate) struct QueuedFrame {
    pub(crate) frame: Bytes,
    pub(crate) reservation: Reservation,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MemoryLimits;

    fn account(queued_max: usize, total_max: usize) -> (Arc<OutboundBytes>, Arc<Budgets>) {
        let budgets = Arc::new(Budgets::new(&MemoryLimits {
            outbound_bytes_total_max: total_max,
            ..MemoryLimits::default()
        }));
        (Arc::new(OutboundBytes::new(queued_max, Arc::clone(&budgets))), budgets)
    }

    #[tokio::test]
    async fn reservations_count_until_dropped_and_merge() {
        let (account, budgets) = account(100, 1_000);
        let mut first = account.admit(60).await.unwrap();
        let second = account.admit(40).await.unwrap();
        assert!(!account.has_room());
        assert_eq!(
            (account.queued(), budgets.memory_use().outbound_queued_bytes),
            (100, 100)
        );
        first.absorb(second);
        assert_eq!(account.queued(), 100);
        drop(first);
        assert_eq!((account.queued(), budgets.memory_use().outbound_queued_bytes), (0, 0));
    }

    #[tokio::test]
    async fn an_empty_queue_takes_one_frame_past_both_limits() {
        let (account, budgets) = account(100, 150);
        let other = Arc::new(OutboundBytes::new(100, Arc::clone(&budgets)));
        let _big = account.admit(500).await.unwrap();
        let _small = other.admit(10).await.unwrap();
        assert!(!other.has_room(), "the total is spent");
        assert!(!other.try_reserve(10));
        other.close();
        assert!(matches!(other.admit(10).await, Err(Closed)));
    }
}
