//! The message properties string (name 0x01 value 0x02 ...).
#![no_main]
use ferrocket_wire::message::properties::MessageProperties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(properties) = MessageProperties::decode(data) {
        // Whatever we keep of a string must encode to something that decodes to the same.
        if let Ok(text) = properties.encode() {
            let again = MessageProperties::decode(text.as_bytes()).expect("re-decode");
            assert_eq!(again.iter().collect::<Vec<_>>(), properties.iter().collect::<Vec<_>>());
        }
    }
});
