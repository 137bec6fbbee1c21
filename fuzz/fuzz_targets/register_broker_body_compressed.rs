//! The zlib-compressed REGISTER_BROKER body, for a 4.9.x (no trailer) and a 5.x (trailer) sender.
#![no_main]
use ferrocket_wire::body::RegisterBrokerBody;
use ferrocket_wire::codes::version;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = RegisterBrokerBody::decode_compressed(data, version::V4_9_8);
    let _ = RegisterBrokerBody::decode_compressed(data, version::V5_3_3);
});
