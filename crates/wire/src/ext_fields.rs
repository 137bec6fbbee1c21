//! `extFields`: the string map that carries every command's custom header.
//!
//! Kept as an ordered list, not a hash map, for two reasons: Java's binary header may repeat a
//! key (fast-coded fields, then the ordinary map) and readers take the last one; and keeping the
//! order lets a decoded frame re-encode to the same bytes. A `None` value is what the binary
//! header's zero-length string decodes to; Java reads it as null, so lookups treat it as absent.

/// A peer may send any number of fields; the frame limit bounds them, so no separate cap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields {
    entries: Vec<(String, Option<String>)>,
}

impl ExtFields {
    pub fn new() -> ExtFields {
        ExtFields::default()
    }

    /// The value of `key`, last occurrence winning; `None` if absent or null.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Sets `key`, replacing the last occurrence if there is one, else appending.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = Some(value.into());
        match self.entries.iter_mut().rev().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Appends without looking for an existing key: the decoders use this to keep every entry.
    pub fn push_raw(&mut self, key: String, value: Option<String>) {
        self.entries.push((key, value));
    }

    /// Sets `key` to `value` (null included) where it already is, else appends: a JSON object's
    /// semantics, where a repeated member keeps its first place and its last value.
    pub fn set_raw(&mut self, key: String, value: Option<String>) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| k != key);
    }

    /// Every entry in wire order, duplicates and nulls included.
    pub fn entries(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> ExtFields {
        let mut fields = ExtFields::new();
        for (k, v) in iter {
            fields.insert(k, v);
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_duplicate_wins_and_null_is_absent() {
        let mut fields = ExtFields::new();
        fields.push_raw("a".into(), Some("1".into()));
        fields.push_raw("a".into(), Some("2".into()));
        fields.push_raw("b".into(), None);
        assert_eq!(fields.get("a"), Some("2"));
        assert_eq!(fields.get("b"), None);
        fields.insert("a", "3");
        assert_eq!(
            fields.entries().collect::<Vec<_>>(),
            vec![("a", Some("1")), ("a", Some("3")), ("b", None)]
        );
    }
}
