//! Offset message ids and client unique ids as text.
#![no_main]
use ferrocket_wire::message::message_id::{OffsetMessageId, UniqueId};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = OffsetMessageId::decode(text);
        let _ = UniqueId::decode(text);
    }
});
