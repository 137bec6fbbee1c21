//! The broker's store: commit log, consume queues, index, checkpoint, recovery, flush and
//! clean-up, in Java's on-disk format. Not built yet: see the Store issue.
