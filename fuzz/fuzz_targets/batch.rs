//! SEND_BATCH_MESSAGE bodies.
#![no_main]
use bytes::BytesMut;
use ferrocket_wire::message::batch::{decode_batch, encode_batch};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(members) = decode_batch(data) {
        // Properties are normalised on read (Java drops malformed pairs), so the bytes may
        // change; what we write must read back as the same members.
        let mut out = BytesMut::new();
        if encode_batch(&members, &mut out).is_ok() {
            let mut again = decode_batch(&out).expect("re-decode of our batch");
            // An empty properties string has no final separator to keep or omit.
            for (member, original) in again.iter_mut().zip(&members) {
                member
                    .properties
                    .set_final_separator(original.properties.final_separator());
            }
            assert_eq!(again, members);
        }
    }
});
