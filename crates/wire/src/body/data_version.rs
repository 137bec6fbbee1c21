//! `DataVersion` (remoting.md §3.3): the version stamp of a broker's topic, group and offset
//! tables. Equal iff all three fields are equal; `counter` grows by one per change.

use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::json::field::lenient;

/// `{"counter":3,"stateVersion":0,"timestamp":1700000000000}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DataVersion {
    /// Java's `AtomicLong`, written as a plain number.
    #[serde(deserialize_with = "lenient")]
    pub counter: i64,
    /// The store's state-machine version; 0 unless in controller mode.
    #[serde(deserialize_with = "lenient")]
    pub state_version: i64,
    /// Time of the last change, ms since the epoch.
    #[serde(deserialize_with = "lenient")]
    pub timestamp: i64,
}

impl JsonBody for DataVersion {
    const JAVA_NAME: &'static str = "DataVersion";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    #[test]
    fn decodes_and_encodes_the_documented_example() {
        let text = r#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#;
        let version: DataVersion = round_trip(text);
        assert_eq!(
            version,
            DataVersion {
                counter: 3,
                state_version: 0,
                timestamp: 1_700_000_000_000
            }
        );
        assert_eq!(version.encode(), text.as_bytes());
    }

    #[test]
    fn accepts_numbers_as_strings_and_rejects_non_objects() {
        let version = DataVersion::decode(br#"{"counter":"7","timestamp":"12"}"#).unwrap();
        assert_eq!((version.counter, version.timestamp), (7, 12));
        assert!(DataVersion::decode(b"[1,2,3]").is_err());
        assert!(DataVersion::decode(b"null").is_err());
    }
}
