//! The three numbers that say where a message is, kept apart by type: a byte position in the
//! commit log, an entry index in one consume queue, and the queue's id. Java passes all three as
//! bare `long`s and `int`s, and mixing the two offsets up is a silent bug (both start at 0 and
//! grow); here it does not compile.
//!
//! Values cross to Java's `long`/`int` only at the wire and disk boundaries (request and response
//! headers, record fields, consume-queue entries), through the named conversions below.

/// A byte position in the commit log (Java's `physicalOffset`, `phyOffset`, `wroteOffset`):
/// where a record starts, or one past where one ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitLogOffset(pub u64);

/// An entry index in one consume queue (Java's `queueOffset`, `logicsOffset`, a consumer's
/// committed offset): the n-th message of a (topic, queue), whatever its size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueOffset(pub u64);

/// A queue of a topic (Java's `int queueId`). Signed as in Java: requests carry any `int`, and
/// a negative id must reach the same checks (and the same refusal) as it does in Java, rather
/// than fail a conversion earlier with a different answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub i32);

impl CommitLogOffset {
    /// The offset `bytes` further on (saturating: offsets never come near `u64::MAX`).
    pub fn plus_bytes(self, bytes: u64) -> CommitLogOffset {
        CommitLogOffset(self.0.saturating_add(bytes))
    }

    /// How many bytes `self` lies past `earlier` (0 when it does not).
    pub fn bytes_after(self, earlier: CommitLogOffset) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Java's `long` for a header or a record field (saturating; offsets stay far below).
    pub fn to_java_long(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// From a Java `long`; a negative one (never a real position) is `None`.
    pub fn from_java_long(value: i64) -> Option<CommitLogOffset> {
        u64::try_from(value).ok().map(CommitLogOffset)
    }
}

impl QueueOffset {
    /// The entry after this one (saturating).
    pub fn next(self) -> QueueOffset {
        self.plus_entries(1)
    }

    /// The offset `entries` further on (saturating).
    pub fn plus_entries(self, entries: u64) -> QueueOffset {
        QueueOffset(self.0.saturating_add(entries))
    }

    /// How many entries `self` lies past `earlier` (0 when it does not).
    pub fn entries_after(self, earlier: QueueOffset) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Java's `long` for a header or a record field (saturating).
    pub fn to_java_long(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// From a Java `long`; a negative one is `None`.
    pub fn from_java_long(value: i64) -> Option<QueueOffset> {
        u64::try_from(value).ok().map(QueueOffset)
    }
}

impl std::fmt::Display for CommitLogOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for QueueOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for QueueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_longs_convert_both_ways_and_negatives_are_refused() {
        assert_eq!(CommitLogOffset::from_java_long(4096), Some(CommitLogOffset(4096)));
        assert_eq!(CommitLogOffset::from_java_long(-1), None);
        assert_eq!(QueueOffset::from_java_long(-1), None);
        assert_eq!(QueueOffset(7).to_java_long(), 7);
        assert_eq!(CommitLogOffset(u64::MAX).to_java_long(), i64::MAX);
    }

    #[test]
    fn steps_saturate_and_distances_never_go_negative() {
        assert_eq!(QueueOffset(1).next(), QueueOffset(2));
        assert_eq!(QueueOffset(u64::MAX).next(), QueueOffset(u64::MAX));
        assert_eq!(CommitLogOffset(10).plus_bytes(5), CommitLogOffset(15));
        assert_eq!(CommitLogOffset(10).bytes_after(CommitLogOffset(4)), 6);
        assert_eq!(CommitLogOffset(4).bytes_after(CommitLogOffset(10)), 0);
        assert_eq!(QueueOffset(3).entries_after(QueueOffset(5)), 0);
    }
}
