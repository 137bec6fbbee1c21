//! The name server's KV config: namespace → key → value (Java's `KVConfigManager`), e.g.
//! namespace `ORDER_TOPIC_CONFIG`, key a topic, value `"broker-a:4;broker-b:4"`.
//!
//! Pure: it serialises to and from the bytes of Java's `kvConfig.json`; the shell writes them.
//! The file is a `KVConfigSerializeWrapper` as fastjson writes it:
//!
//! ```text
//! {"configTable":{"ORDER_TOPIC_CONFIG":{"TopicA":"broker-a:4"}}}
//! ```
//!
//! Like Java, deleting a namespace's last key keeps the (empty) namespace. Everything is bounded:
//! the whole table must fit in one GET_KVLIST_BY_NAMESPACE response frame.

use std::collections::BTreeMap;

use ferrocket_wire::body::{JsonBody, KvTable};
use ferrocket_wire::{WireError, WireResult};
use serde::{Deserialize, Serialize};

use crate::error::{NamesrvError, NamesrvResult};
use crate::limit;

/// Java's `NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`.
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// Bytes of all namespaces, keys and values together. JSON escaping grows text at most sixfold
/// (`\u0001`), so 2 MiB of data always fits a 16 MiB response frame and rewrites in milliseconds.
pub const KV_TOTAL_BYTES_MAX: usize = 2 * 1024 * 1024;

/// Entries over all namespaces; order configs need one per ordered topic.
pub const KV_ENTRIES_MAX: usize = 100_000;

/// A namespace or key longer than this is no name: topics, the usual keys, are at most 255.
pub const KV_NAME_BYTES_MAX: usize = 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvConfig {
    table: BTreeMap<String, BTreeMap<String, String>>,
    entries: usize,
    bytes: usize,
}

/// Java's `KVConfigSerializeWrapper`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct KvConfigFile {
    config_table: BTreeMap<String, BTreeMap<String, Option<String>>>,
}

impl JsonBody for KvConfigFile {
    const JAVA_NAME: &'static str = "KVConfigSerializeWrapper";
}

impl KvConfig {
    pub fn new() -> KvConfig {
        KvConfig::default()
    }

    /// PUT_KV_CONFIG: inserts or replaces, within the limits.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> NamesrvResult<()> {
        for (what, name) in [("KV namespace", namespace), ("KV key", key)] {
            if name.len() > KV_NAME_BYTES_MAX {
                return Err(NamesrvError::TooLong {
                    what,
                    length: name.len(),
                    limit: limit!(KV_NAME_BYTES_MAX),
                });
            }
        }
        let existing = self.table.get(namespace).and_then(|keys| keys.get(key));
        let new_namespace_bytes = match self.table.contains_key(namespace) {
            true => 0,
            false => namespace.len(),
        };
        let (entries, bytes) = match existing {
            Some(old) => (self.entries, self.bytes - old.len() + value.len()),
            None => (
                self.entries + 1,
                self.bytes + new_namespace_bytes + key.len() + value.len(),
            ),
        };
        if entries > KV_ENTRIES_MAX {
            return Err(NamesrvError::TableFull {
                what: "KV config entries",
                limit: limit!(KV_ENTRIES_MAX),
            });
        }
        if bytes > KV_TOTAL_BYTES_MAX {
            return Err(NamesrvError::TableFull {
                what: "KV config bytes",
                limit: limit!(KV_TOTAL_BYTES_MAX),
            });
        }
        self.table
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        (self.entries, self.bytes) = (entries, bytes);
        Ok(())
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.table.get(namespace)?.get(key).map(String::as_str)
    }

    /// DELETE_KV_CONFIG; returns whether anything was removed.
    pub fn delete(&mut self, namespace: &str, key: &str) -> bool {
        let Some(removed) = self.table.get_mut(namespace).and_then(|keys| keys.remove(key)) else {
            return false;
        };
        self.entries -= 1;
        self.bytes -= key.len() + removed.len();
        true
    }

    /// GET_KVLIST_BY_NAMESPACE: the namespace as a `KVTable`, if it exists (even empty).
    pub fn namespace(&self, namespace: &str) -> Option<KvTable> {
        self.table.get(namespace).map(|keys| KvTable { table: keys.clone() })
    }

    /// The bytes of `kvConfig.json`.
    pub fn to_json(&self) -> Vec<u8> {
        let file = KvConfigFile {
            config_table: self
                .table
                .iter()
                .map(|(ns, keys)| {
                    (
                        ns.clone(),
                        keys.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect(),
                    )
                })
                .collect(),
        };
        file.encode()
    }

    /// Reads `kvConfig.json` as Java or we wrote it. Null values (Java can store them) are
    /// dropped; entries beyond the limits are an error rather than a silent cut.
    pub fn from_json(bytes: &[u8]) -> WireResult<KvConfig> {
        let file = KvConfigFile::decode(bytes)?;
        let mut config = KvConfig::new();
        for (namespace, keys) in file.config_table {
            config.table.entry(namespace.clone()).or_default();
            config.bytes += namespace.len();
            for (key, value) in keys {
                let Some(value) = value else { continue };
                config.put(&namespace, &key, &value).map_err(|e| WireError::BadJson {
                    what: "KVConfigSerializeWrapper",
                    reason: e.to_string(),
                })?;
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_list() {
        let mut kv = KvConfig::new();
        kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "TopicA", "broker-a:4").unwrap();
        kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "TopicA", "broker-a:8").unwrap();
        kv.put("other", "k", "v").unwrap();
        assert_eq!(kv.get(NAMESPACE_ORDER_TOPIC_CONFIG, "TopicA"), Some("broker-a:8"));
        assert_eq!(kv.get("other", "missing"), None);
        assert!(kv.delete("other", "k"));
        assert!(!kv.delete("other", "k"));
        assert_eq!(
            kv.namespace("other"),
            Some(KvTable::default()),
            "Java keeps emptied namespaces"
        );
        assert_eq!(kv.namespace("absent"), None);
        assert_eq!(kv.entries, 1);
    }

    #[test]
    fn json_is_javas_wrapper() {
        let mut kv = KvConfig::new();
        kv.put("ns", "k", "v").unwrap();
        kv.put("ORDER_TOPIC_CONFIG", "TopicA", "broker-a:4").unwrap();
        let text = kv.to_json();
        assert_eq!(
            text,
            br#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicA":"broker-a:4"},"ns":{"k":"v"}}}"#
        );
        assert_eq!(KvConfig::from_json(&text).unwrap(), kv);
        let java = br#"{"configTable":{"ns":{"k":"v","n":null},"empty":{}}}"#;
        let read = KvConfig::from_json(java).unwrap();
        assert_eq!(read.get("ns", "k"), Some("v"));
        assert_eq!(read.namespace("empty"), Some(KvTable::default()));
        assert_eq!(KvConfig::from_json(b"{}").unwrap(), KvConfig::new());
        assert!(KvConfig::from_json(b"{\"configTable\":").is_err());
        assert!(KvConfig::from_json(b"[]").is_err());
    }

    #[test]
    fn limits() {
        let mut kv = KvConfig::new();
        assert!(kv.put(&"n".repeat(KV_NAME_BYTES_MAX + 1), "k", "v").is_err());
        let big = "v".repeat(KV_TOTAL_BYTES_MAX / 2);
        kv.put("ns", "a", &big).unwrap();
        assert!(matches!(kv.put("ns", "b", &big), Err(NamesrvError::TableFull { .. })));
        kv.put("ns", "a", "small").unwrap();
        kv.put("ns", "b", &big).unwrap();
        assert_eq!(kv.bytes, "ns".len() + 2 + "small".len() + big.len());
    }
}
