//! The fastjson-tolerant reader on its own: any bytes, no panic, bounded nesting.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ferrocket_wire::json::lenient::parse("fuzz", data);
});
