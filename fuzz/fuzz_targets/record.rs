//! Stored message records, one at a time and back to back as in a pull body.
#![no_main]
use bytes::BytesMut;
use ferrocket_wire::message::record::{StoredMessage, decode_all};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((message, used)) = StoredMessage::decode(data) {
        assert!(used <= data.len());
        // Properties are normalised on read, so compare values, not bytes.
        let mut out = BytesMut::new();
        if message.encode(&mut out).is_ok() {
            let (mut again, _) = StoredMessage::decode(&out).expect("re-decode of our record");
            // An empty properties string has no final separator to keep or omit.
            again
                .properties
                .set_final_separator(message.properties.final_separator());
            assert_eq!(again, message);
        }
    }
    let all = decode_all(data);
    assert!(all.consumed <= data.len());
});
