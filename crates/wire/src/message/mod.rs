//! Message encoding (remoting.md §5, store-and-ha.md §1): the properties string, the sysFlag bits,
//! the stored record that pull bodies and the commit log are made of, the batch send body, body
//! compression, message ids and tag hash codes.
//!
//! Everything here is pure: callers pass in clocks, pids and counters, and every decoder checks a
//! length before it allocates for it.

pub mod batch;
pub mod calendar;
pub mod compression;
pub mod message_id;
pub mod properties;
pub mod record;
pub mod sysflag;
pub mod tag_hash;

pub use batch::{BatchMember, decode_batch, decode_batch_shared, encode_batch};
pub use message_id::{OffsetMessageId, UniqueId};
pub use properties::{FinalSeparator, MessageProperties};
pub use record::{DecodedRecords, MessageVersion, RecordLayout, StoredMessage, decode_all};
pub use sysflag::{CompressionType, TransactionType};
pub use tag_hash::TagExpression;
