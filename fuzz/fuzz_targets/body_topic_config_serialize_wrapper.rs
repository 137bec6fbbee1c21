//! The TopicConfigSerializeWrapper JSON body decoder.
#![no_main]
libfuzzer_sys::fuzz_target!(
    |data: &[u8]| ferrocket_fuzz::json_body::<ferrocket_wire::body::TopicConfigSerializeWrapper>(data)
);
