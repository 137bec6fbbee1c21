//! Ferrocket's wire codec: the bytes Apache RocketMQ peers exchange, and nothing else.
//!
//! Pure by design: no I/O, no async, no clocks. Every decoder takes a byte slice and returns a
//! value or a [`WireError`], never panics, and checks each declared length before it allocates.
//! Java defines the bytes (`../shared/protocol/remoting.md`); golden vectors written by the
//! official Java classes live in `tests/golden/` and are decoded and re-encoded by the tests.
//!
//! Beside the codecs sits the vocabulary every RocketMQ peer shares, spelled once for all the
//! crates above: permission bits ([`permissions`]), system topic names ([`system_topics`]),
//! topic sys flags ([`topic_sys_flags`]), broker ids ([`broker_id`]), Java properties text
//! ([`properties_text`]) and the shape of a server's settings table ([`settings`]).

pub mod body;
pub mod broker_id;
pub mod codes;
pub mod command;
pub mod error;
pub mod ext_fields;
pub mod header;
mod header_binary;
mod header_json;
pub mod json;
pub mod message;
pub mod permissions;
pub mod pop_receipt;
pub mod properties_text;
pub mod reader;
pub mod settings;
pub mod system_topics;
pub mod topic_sys_flags;

pub use codes::{LanguageCode, RequestCode, ResponseCode};
pub use command::{RemotingCommand, SerializeType};
pub use error::{WireError, WireResult};
pub use ext_fields::ExtFields;
