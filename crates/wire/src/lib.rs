//! Ferrocket's wire codec: the bytes Apache RocketMQ peers exchange, and nothing else.
//!
//! Pure by design: no I/O, no async, no clocks. Every decoder takes a byte slice and returns a
//! value or a [`WireError`], never panics, and checks each declared length before it allocates.
//! Java defines the bytes (`../shared/protocol/remoting.md`); golden vectors written by the
//! official Java classes live in `tests/golden/` and are decoded and re-encoded by the tests.

pub mod body;
pub mod codes;
pub mod command;
pub mod error;
pub mod ext_fields;
pub mod header;
mod header_binary;
mod header_json;
pub mod json;
pub mod message;
pub mod reader;

pub use codes::{LanguageCode, RequestCode, ResponseCode};
pub use command::{RemotingCommand, SerializeType};
pub use error::{WireError, WireResult};
pub use ext_fields::ExtFields;
