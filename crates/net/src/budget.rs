//! Byte budgets shared by every connection of one server or client, and the counters they keep.
//!
//! Two kinds of bytes pile up when a peer misbehaves: encoded answers it does not read (the
//! outbound budget) and unfinished frames it does not finish (the partial-frame budget). Each
//! connection bounds its own share ([`crate::ConnectionLimits`]); these bound the sum, so a
//! thousand misbehaving peers cannot add up to what one is refused. Invariant: `used` is the
//! sum of what connections took and have not given back; every connection gives back all it
//! took by the time it has closed.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

use crate::config::MemoryLimits;

/// Bytes the transport holds for its connections now, as a metric and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryUse {
    /// Encoded frames queued for sockets (taken off once written).
    pub outbound_queued_bytes: usize,
    /// Unfinished frames larger than one read chunk, as buffered so far.
    pub partial_frame_bytes: usize,
}

/// One pool of bytes with a ceiling.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    used: AtomicUsize,
    max: usize,
    /// Woken whenever bytes are given back, for those waiting to take some.
    room: Room,
}

impl ByteBudget {
    pub(crate) fn new(max: usize) -> ByteBudget {
        ByteBudget {
            used: AtomicUsize::new(0),
            max: max.max(1),
            room: Room::default(),
        }
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    /// Takes `bytes` if that keeps the total within the ceiling.
    pub(crate) fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|after| *after <= self.max)
            })
            .is_ok()
    }

    /// Takes `bytes` whatever the total: for the one frame a connection with nothing queued may
    /// always queue, so that peers which read keep being served.
    pub(crate) fn take_anyway(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::SeqCst);
    }

    pub(crate) fn give_back(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let before = self.used.fetch_sub(bytes, Ordering::SeqCst);
        assert!(before >= bytes, "gave back {bytes} bytes of {before} taken");
        self.room.wake_all();
    }

    /// Woken at each [`ByteBudget::give_back`].
    pub(crate) fn room(&self) -> &Room {
        &self.room
    }
}

/// A wake-up for tasks waiting for bytes to be given back, which costs nothing (no lock) while
/// nobody waits: givers back run once per written batch on every connection.
///
/// A waiter holds a [`Room::waiting`] guard, then takes a [`Room::notified`] future, then checks
/// its condition. A giver changes the state, then calls [`Room::wake_all`]. Both steps are
/// sequentially consistent, so either the waiter sees the new state or the giver sees the
/// waiter, and the future, taken before the wake, is woken by it.
#[derive(Debug, Default)]
pub(crate) struct Room {
    notify: Notify,
    waiting: AtomicUsize,
}

impl Room {
    pub(crate) fn waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting { room: self }
    }

    pub(crate) fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }

    pub(crate) fn wake_all(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
        }
    }
}

/// Counts one waiter of a [`Room`] while alive.
pub(crate) struct Waiting<'a> {
    room: &'a Room,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.room.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The budgets of one server or client.
#[derive(Debug)]
pub(crate) struct Budgets {
    pub(crate) outbound: ByteBudget,
    pub(crate) partial_frames: ByteBudget,
}

impl Budgets {
    pub(crate) fn new(limits: &MemoryLimits) -> Budgets {
        Budgets {
            outbound: ByteBudget::new(limits.outbound_bytes_total_max),
            partial_frames: ByteBudget::new(limits.partial_frame_bytes_total_max),
        }
    }

    pub(crate) fn memory_use(&self) -> MemoryUse {
        MemoryUse {
            outbound_queued_bytes: self.outbound.used(),
            partial_frame_bytes: self.partial_frames.used(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_within_the_ceiling_and_gives_back() {
        let budget = ByteBudget::new(10);
        assert!(budget.try_take(6));
        assert!(!budget.try_take(5));
        assert!(budget.try_take(4));
        budget.take_anyway(3);
        assert_eq!(budget.used(), 13);
        budget.give_back(13);
        assert_eq!(budget.used(), 0);
        assert!(!budget.try_take(usize::MAX));
    }
}
