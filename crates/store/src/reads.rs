//! The read side of [`MessageStore`]: pulls (`getMessage`, store-and-ha.md §8.2–8.3), queue
//! bounds (§2.4), search by time (§2.5), store times, reads by physical offset and query by key
//! (§3.4). Everything takes `&self`; only the read counters (atomics) change, and a queue read for
//! the first time since the store opened is loaded (see `consume_queues.rs`).
//!
//! A pull decides its status and `nextBeginOffset` exactly as Java's
//! `DefaultMessageStore.getMessage` (5.3.3, same outcomes as 4.9.x): it examines entries of one
//! consume-queue file from the request offset, at most `max(maxFilterMessageSize, maxMsgNums × 20)`
//! bytes of entries, and `nextBeginOffset` moves past every entry examined (filtered ones too),
//! but not past the entry that found the batch full.

use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use ferrocket_wire::message::record::{SYSFLAG_POSITION, store_timestamp_position};

use crate::commit_log::ScannedRecord;
use crate::consume_queue::{ConsumeQueue, ConsumeQueueEntry, ENTRY_BYTES};
use crate::error::StoreResult;
use crate::message_store::{MessageStore, READ_LOAD_FAILURES_LOGGED_EVERY};
use crate::offsets::{CommitLogOffset, QueueId, QueueOffset};

/// Java's `MAX_PULL_MSG_SIZE`: the most record bytes one pull returns whatever the caps say.
pub const PULL_BYTES_MAX: u64 = 128 * 1024 * 1024;
/// Java's query by key tries this many times, moving the time window back each time.
const QUERY_ATTEMPTS: usize = 3;
/// Bytes read to find a record's SYSFLAG (and so its store-timestamp position).
const SYSFLAG_PREFIX_BYTES: u32 = SYSFLAG_POSITION as u32 + 4;

/// A predicate over one stored record's bytes.
pub type RecordFilter<'a> = dyn Fn(&[u8]) -> bool + 'a;

/// One pull's parameters (`getMessage(group, topic, queueId, offset, maxMsgNums, filter)`).
pub struct GetMessages<'a> {
    pub topic: &'a str,
    pub queue_id: QueueId,
    pub offset: QueueOffset,
    /// `maxMsgNums`.
    pub max_count: u32,
    /// Tag filter on the consume-queue entry's tags code; `None` matches everything.
    pub filter: Option<&'a dyn Fn(i64) -> bool>,
    /// Filter on the record read (Java's `isMatchedByCommitLog`, for SQL92): a record it refuses
    /// is left out of the batch and takes no place in `max_count`; `None` keeps every record.
    pub record_filter: Option<&'a RecordFilter<'a>>,
}

/// Java's `GetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

impl GetMessageStatus {
    /// Java's enum name (the pull response's remark).
    pub fn name(self) -> &'static str {
        match self {
            GetMessageStatus::Found => "FOUND",
            GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
            GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
            GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

/// What a pull found (`GetMessageResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetMessagesResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: QueueOffset,
    pub min_offset: QueueOffset,
    pub max_offset: QueueOffset,
    /// Raw records as stored, in queue order: slices of [`GetMessagesResult::body`].
    pub records: Vec<Bytes>,
    /// The records back to back, read into one buffer: a pull response's body as it is.
    pub body: Bytes,
    /// The last examined record is further than the in-memory window from the log's end.
    pub suggest_pulling_from_slave: bool,
}

impl GetMessagesResult {
    /// The body bytes the records add up to.
    pub fn total_bytes(&self) -> usize {
        self.records.iter().map(Bytes::len).sum()
    }
}

/// What a query by key found (`QueryMessageResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryByKeyResult {
    /// Raw records, in commit-log order.
    pub records: Vec<Bytes>,
    pub index_last_update_timestamp_ms: i64,
    pub index_last_update_phy_offset: i64,
}

/// Running totals of a pull's batch.
/// The records of one pull, read straight into the buffer that becomes the response body.
struct Batch {
    buffer: BytesMut,
    lengths: Vec<usize>,
    bytes: u64,
}

impl MessageStore {
    /// A pull: status, next offset and raw records, as Java's `getMessage` decides them.
    pub fn get_messages(&self, query: &GetMessages<'_>) -> StoreResult<GetMessagesResult> {
        let queue = self.queues.get(query.topic, query.queue_id, &self.log)?;
        let (min, max) = queue.map_or((QueueOffset(0), QueueOffset(0)), |q| (q.min_offset(), q.max_offset()));
        let mut result = GetMessagesResult {
            status: GetMessageStatus::NoMessageInQueue,
            next_begin_offset: query.offset,
            min_offset: min,
            max_offset: max,
            records: Vec::new(),
            body: Bytes::new(),
            suggest_pulling_from_slave: false,
        };
        // A queue that never received a message reads as one with max 0 (Java creates it).
        let offset = query.offset;
        if max == QueueOffset(0) {
            result.next_begin_offset = QueueOffset(0);
        } else if offset < min {
            result.status = GetMessageStatus::OffsetTooSmall;
            result.next_begin_offset = min;
        } else if offset == max {
            result.status = GetMessageStatus::OffsetOverflowOne;
        } else if offset > max {
            result.status = GetMessageStatus::OffsetOverflowBadly;
            result.next_begin_offset = max;
        } else if let Some(queue) = queue {
            self.scan_queue(queue, query, &mut result);
        }
        let counter = if result.status == GetMessageStatus::Found {
            &self.read_counters.found
        } else {
            &self.read_counters.miss
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.read_counters
            .transferred
            .fetch_add(result.records.len() as u64, Ordering::Relaxed);
        Ok(result)
    }

    /// The scan of §8.3 for an offset inside `[min, max)`.
    fn scan_queue(&self, queue: &ConsumeQueue, query: &GetMessages<'_>, result: &mut GetMessagesResult) {
        let QueueOffset(offset) = query.offset;
        let file_entries = self.config.consume_queue_file_entries;
        let file_end = offset - offset % file_entries + file_entries;
        let scan_bytes = u64::from(self.config.filter_scan_bytes).max(u64::from(query.max_count) * ENTRY_BYTES);
        let scan_entries = scan_bytes.div_ceil(ENTRY_BYTES);
        let wanted = file_end
            .min(result.max_offset.0)
            .min(offset.saturating_add(scan_entries))
            - offset;
        let entries = match queue.read(query.offset, usize::try_from(wanted).unwrap_or(usize::MAX)) {
            Ok(entries) if !entries.is_empty() => entries,
            _ => {
                result.status = GetMessageStatus::OffsetFoundNull;
                result.next_begin_offset = QueueOffset(file_end);
                return;
            }
        };
        result.status = GetMessageStatus::NoMatchedMessage;
        let log_max = self.log.max_offset().0;
        let segment_bytes = self.log.segment_bytes();
        let mut batch = Batch {
            buffer: BytesMut::new(),
            lengths: Vec::new(),
            bytes: 0,
        };
        let mut last_examined_phy = 0u64;
        let mut skip_below: Option<u64> = None;
        for (queue_offset, entry) in (offset..).zip(entries) {
            if (queue_offset - offset) * ENTRY_BYTES >= scan_bytes {
                break;
            }
            let (phy, size) = entry_location(&entry);
            let in_memory = log_max.saturating_sub(phy) <= self.config.in_memory_window_bytes;
            if self.batch_full(&batch, size, query.max_count, in_memory) || batch.bytes >= PULL_BYTES_MAX {
                break;
            }
            last_examined_phy = phy;
            result.next_begin_offset = QueueOffset(queue_offset + 1);
            if skip_below.is_some_and(|start| phy < start) {
                continue;
            }
            if query.filter.is_some_and(|matches| !matches(entry.tags_code)) {
                if batch.bytes == 0 {
                    result.status = GetMessageStatus::NoMatchedMessage;
                }
                continue;
            }
            let batch_end = batch.buffer.len();
            match self.log.read_into(CommitLogOffset(phy), size, &mut batch.buffer) {
                Ok(())
                    if query
                        .record_filter
                        .is_some_and(|keep| !keep(batch.buffer.get(batch_end..).unwrap_or_default())) =>
                {
                    batch.buffer.truncate(batch_end);
                    if batch.bytes == 0 {
                        result.status = GetMessageStatus::NoMatchedMessage;
                    }
                    skip_below = None;
                }
                Ok(()) => {
                    batch.bytes += u64::from(size);
                    batch.lengths.push(size as usize);
                    result.status = GetMessageStatus::Found;
                    skip_below = None;
                }
                Err(_) => {
                    if batch.bytes == 0 {
                        result.status = GetMessageStatus::MessageWasRemoving;
                    }
                    // The segment is gone: skip the rest of it (`rollNextFile`).
                    skip_below = Some(phy - phy % segment_bytes + segment_bytes);
                }
            }
        }
        result.body = batch.buffer.freeze();
        let mut start = 0;
        result.records = batch
            .lengths
            .iter()
            .map(|len| {
                let record = result.body.slice(start..start + len);
                start += len;
                record
            })
            .collect();
        result.suggest_pulling_from_slave =
            log_max.saturating_sub(last_examined_phy) > self.config.in_memory_window_bytes;
    }

    /// Java's `isTheBatchFull`: never before the first message; then by count, then bytes.
    fn batch_full(&self, batch: &Batch, size: u32, max_count: u32, in_memory: bool) -> bool {
        let count = batch.lengths.len() as u64;
        if batch.bytes == 0 || count == 0 {
            return false;
        }
        let after = batch.bytes + u64::from(size);
        if count + 1 > u64::from(max_count) || after > PULL_BYTES_MAX {
            return true;
        }
        let (bytes_cap, count_cap) = if in_memory {
            (
                self.config.max_transfer_bytes_on_message_in_memory,
                self.config.max_transfer_count_on_message_in_memory,
            )
        } else {
            (
                self.config.max_transfer_bytes_on_message_in_disk,
                self.config.max_transfer_count_on_message_in_disk,
            )
        };
        after > u64::from(bytes_cap) || count >= u64::from(count_cap)
    }

    /// The first readable queue offset (0 for an unknown queue).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: QueueId) -> QueueOffset {
        self.queue(topic, queue_id)
            .map_or(QueueOffset(0), ConsumeQueue::min_offset)
    }

    /// The next queue offset consumers will see (0 for an unknown queue).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: QueueId) -> QueueOffset {
        self.queue(topic, queue_id)
            .map_or(QueueOffset(0), ConsumeQueue::max_offset)
    }

    /// The queue, loaded; `None` when unknown, or when loading it failed (logged sparingly: the
    /// reads that cannot return an error answer as for an unknown queue).
    fn queue(&self, topic: &str, queue_id: QueueId) -> Option<&ConsumeQueue> {
        self.queues
            .get(topic, queue_id, &self.log)
            .inspect_err(|error| {
                let failures = self.read_counters.load_failures.fetch_add(1, Ordering::Relaxed);
                if failures.is_multiple_of(READ_LOAD_FAILURES_LOGGED_EVERY) {
                    tracing::error!(%error, topic, queue_id = queue_id.0, failures = failures + 1, "consume queue could not be loaded for a read");
                }
            })
            .ok()
            .flatten()
    }

    /// The first queue offset whose record was stored at or after `timestamp_ms` (Java's
    /// `BoundaryType.LOWER`), or the max offset when every record is older; entries pointing
    /// below the commit log's min offset count as older. Within `[min, max]`; 0 for an unknown
    /// queue.
    pub fn offset_by_time(&self, topic: &str, queue_id: QueueId, timestamp_ms: i64) -> QueueOffset {
        let Some(queue) = self.queue(topic, queue_id) else {
            return QueueOffset(0);
        };
        let log_min = self.log.min_offset().0;
        let (mut low, mut high) = (queue.min_offset().0, queue.max_offset().0);
        while low < high {
            let middle = low + (high - low) / 2;
            let at_or_after = queue.get(QueueOffset(middle)).ok().flatten().is_some_and(|entry| {
                let (phy, size) = entry_location(&entry);
                phy >= log_min && self.store_timestamp(phy, size).is_some_and(|t| t >= timestamp_ms)
            });
            if at_or_after {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        QueueOffset(low)
    }

    /// Store time of the queue's first readable message (`getEarliestMessageTime`; Java's -1 is
    /// `None`).
    pub fn earliest_store_time(&self, topic: &str, queue_id: QueueId) -> Option<i64> {
        let queue = self.queue(topic, queue_id)?;
        self.store_time_at(topic, queue_id, queue.min_offset())
    }

    /// The consume-queue entry at `queue_offset`, if the queue and the entry are readable.
    pub fn queue_entry_at(
        &self,
        topic: &str,
        queue_id: QueueId,
        queue_offset: QueueOffset,
    ) -> Option<ConsumeQueueEntry> {
        self.queue(topic, queue_id)?.get(queue_offset).ok()?
    }

    /// Store time of the message at `queue_offset` (`getMessageStoreTimeStamp`).
    pub fn store_time_at(&self, topic: &str, queue_id: QueueId, queue_offset: QueueOffset) -> Option<i64> {
        let entry = self.queue(topic, queue_id)?.get(queue_offset).ok()??;
        let (phy, size) = entry_location(&entry);
        self.store_timestamp(phy, size)
    }

    /// The decoded record at `physical_offset` (`VIEW_MESSAGE_BY_ID`).
    pub fn message_at(&self, physical_offset: CommitLogOffset) -> StoreResult<ScannedRecord> {
        self.log.read(physical_offset)
    }

    /// Raw bytes `[physical_offset, physical_offset + size)` of the log.
    pub fn record_bytes_at(&self, physical_offset: CommitLogOffset, size: u32) -> StoreResult<Vec<u8>> {
        self.log.read_bytes(physical_offset, size)
    }

    /// Records indexed under `topic#key` stored within `[begin_ms, end_ms]` (`queryMessage`):
    /// up to three index lookups, each moving the window's end back to the oldest record found,
    /// until one yields a readable record. `max` is capped at `maxMsgsNumBatch`.
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> StoreResult<QueryByKeyResult> {
        let max = max.min(self.config.max_msgs_num_batch as usize);
        let mut result = QueryByKeyResult::default();
        let mut window_end_ms = end_ms;
        for _ in 0..QUERY_ATTEMPTS {
            let found = self.index.query(topic, key, max, begin_ms, window_end_ms)?;
            if found.phy_offsets.is_empty() {
                break;
            }
            result.index_last_update_timestamp_ms = found.last_update_timestamp_ms;
            result.index_last_update_phy_offset = found.last_update_phy_offset;
            let mut offsets = found.phy_offsets;
            offsets.sort_unstable();
            for (position, offset) in offsets.into_iter().enumerate() {
                let Some(offset) = CommitLogOffset::from_java_long(offset) else {
                    continue;
                };
                // Unreadable records (deleted, or past the end) are skipped, as Java does.
                let Ok(record) = self.log.read(offset) else { continue };
                if position == 0 {
                    window_end_ms = record.message.store_timestamp_ms;
                }
                if let Ok(bytes) = self.log.read_bytes(offset, record.size) {
                    result.records.push(Bytes::from(bytes));
                }
            }
            if !result.records.is_empty() || window_end_ms < begin_ms {
                break;
            }
        }
        Ok(result)
    }

    /// STORETIMESTAMP of the record at `phy` (Java's `pickupStoreTimestamp`), if readable.
    fn store_timestamp(&self, phy: u64, size: u32) -> Option<i64> {
        let prefix = self
            .log
            .read_bytes(CommitLogOffset(phy), SYSFLAG_PREFIX_BYTES.min(size))
            .ok()?;
        let sys_flag_bytes: [u8; 4] = prefix.get(SYSFLAG_POSITION..SYSFLAG_POSITION + 4)?.try_into().ok()?;
        let position = store_timestamp_position(i32::from_be_bytes(sys_flag_bytes));
        let at = phy.checked_add(u64::try_from(position).ok()?)?;
        let bytes: [u8; 8] = self.log.read_bytes(CommitLogOffset(at), 8).ok()?.try_into().ok()?;
        Some(i64::from_be_bytes(bytes))
    }
}

/// An entry's record location; a corrupt (negative) field reads as offset 0 / size 0, which no
/// read can return a record for.
fn entry_location(entry: &ConsumeQueueEntry) -> (u64, u32) {
    (
        u64::try_from(entry.physical_offset).unwrap_or(0),
        u32::try_from(entry.size).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index_file::IndexGeometry;
    use crate::store_config::MessageStoreConfig;
    use ferrocket_wire::message::{MessageVersion, StoredMessage};

    const T0: i64 = 1_700_000_000_000;

    fn message(n: usize) -> StoredMessage {
        StoredMessage {
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp_ms: T0,
            born_host: "10.0.0.5:50000".parse().unwrap(),
            store_timestamp_ms: 0,
            store_host: "192.168.1.10:10911".parse().unwrap(),
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(format!("{n:0>900}")),
            topic: "T".to_owned(),
            properties: Default::default(),
        }
    }

    fn pull(store: &MessageStore, offset: u64, max_count: u32) -> GetMessagesResult {
        store
            .get_messages(&GetMessages {
                topic: "T",
                queue_id: QueueId(0),
                offset: QueueOffset(offset),
                max_count,
                filter: None,
                record_filter: None,
            })
            .unwrap()
    }

    #[test]
    fn a_pull_reads_its_records_into_one_body_they_slice() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = MessageStore::open(MessageStoreConfig::new(dir.path()), T0).unwrap();
        let mut expected = Vec::new();
        for n in 0..5 {
            let put = store.put(message(n), T0 + n as i64).unwrap();
            expected.extend(store.record_bytes_at(put.physical_offset, put.wrote_bytes).unwrap());
        }
        let found = pull(&store, 1, 3);
        assert_eq!(found.records.len(), 3);
        let first = found.records.first().unwrap().len();
        assert_eq!(&found.body[..], &expected[first..first * 4]);
        let joined: Vec<u8> = found.records.iter().flat_map(|record| record.iter().copied()).collect();
        assert_eq!(&joined[..], &found.body[..]);
        // Slices of the body, not copies of it.
        assert_eq!(found.records.first().unwrap().as_ptr(), found.body.as_ptr());
    }

    #[test]
    fn entries_into_a_deleted_segment_read_as_message_was_removing() {
        let dir = tempfile::tempdir().unwrap();
        let config = MessageStoreConfig {
            commit_log_segment_bytes: 64 * 1024,
            index: IndexGeometry {
                hash_slots: 16,
                entries_max: 64,
            },
            ..MessageStoreConfig::new(dir.path())
        };
        let mut store = MessageStore::open(config, T0).unwrap();
        for n in 0..200 {
            store.put(message(n), T0).unwrap();
        }
        // Deleted under the queue, which still points there (its min is not corrected yet).
        assert_eq!(store.log.delete_oldest_segment().unwrap(), Some(CommitLogOffset(0)));
        let log_min = store.log.min_offset();
        assert_eq!(store.min_offset_in_queue("T", QueueId(0)), QueueOffset(0));
        store.config.filter_scan_bytes = 10 * ENTRY_BYTES as u32;
        let removing = pull(&store, 0, 1);
        assert_eq!(
            (removing.status, removing.next_begin_offset, removing.records.len()),
            (GetMessageStatus::MessageWasRemoving, QueueOffset(10), 0)
        );
        // Past the removed ones, the scan goes on and finds the next segment's records.
        store.config.filter_scan_bytes = 16_000;
        let found = pull(&store, 0, 32);
        assert_eq!(found.status, GetMessageStatus::Found);
        assert_eq!(found.records.len(), 32);
        let (first, _) = StoredMessage::decode(&found.records[0]).unwrap();
        assert_eq!(CommitLogOffset(u64::try_from(first.physical_offset).unwrap()), log_min);
        assert_eq!(
            found.next_begin_offset,
            QueueOffset(u64::try_from(first.queue_offset).unwrap() + 32)
        );
    }

    #[test]
    fn status_names_are_java_enum_names() {
        assert_eq!(GetMessageStatus::Found.name(), "FOUND");
        assert_eq!(GetMessageStatus::NoMatchedLogicQueue.name(), "NO_MATCHED_LOGIC_QUEUE");
        assert_eq!(GetMessageStatus::MessageWasRemoving.name(), "MESSAGE_WAS_REMOVING");
    }
}
