//! `KVTable` (remoting.md §4.1.7, §4.6.10): a string map, used for the name server's KV
//! namespaces, the REGISTER_BROKER response and the broker runtime info.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::json::field::string_map;

/// `{"table":{"k":"v"}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    #[serde(deserialize_with = "string_map")]
    pub table: BTreeMap<String, String>,
}

impl JsonBody for KvTable {
    const JAVA_NAME: &'static str = "KVTable";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    #[test]
    fn example_round_trips() {
        let text = r#"{"table":{"TopicA":"broker-a:4","brokerVersionDesc":"V5_3_3"}}"#;
        let table: KvTable = round_trip(text);
        assert_eq!(table.table["TopicA"], "broker-a:4");
        assert_eq!(
            table.encode(),
            br#"{"table":{"TopicA":"broker-a:4","brokerVersionDesc":"V5_3_3"}}"#
        );
        assert_eq!(KvTable::decode(b"{}").unwrap(), KvTable::default());
    }
}
