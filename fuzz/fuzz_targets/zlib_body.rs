//! Compressed message bodies: inflation must stay within its output limit and never panic.
#![no_main]
use ferrocket_wire::message::compression::decompress;
use ferrocket_wire::message::sysflag::CompressionType;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = decompress(CompressionType::Zlib, data);
});
