//! What every fuzz target checks, shared so each target is one line naming its decoder.

use ferrocket_wire::body::JsonBody;

/// A JSON body decoder must never panic, and whatever it accepts must encode to JSON that it
/// accepts again (we write what we read).
pub fn json_body<T: JsonBody>(data: &[u8]) {
    if let Ok(body) = T::decode(data) {
        let encoded = body.encode();
        if let Err(e) = T::decode(&encoded) {
            panic!(
                "{} re-decode failed: {e}\n{}",
                T::JAVA_NAME,
                String::from_utf8_lossy(&encoded)
            );
        }
    }
}
