//! `extFields`: the string map that carries every command's custom header.
//!
//! Kept as an ordered list, not a hash map, for two reasons: Java's binary header may repeat a
//! key (fast-coded fields, then the ordinary map) and readers take the last one; and keeping the
//! order lets a decoded frame re-encode to the same bytes. A `None` value is what the binary
//! header's zero-length string decodes to; Java reads it as null, so lookups treat it as absent.
//!
//! Every key and value lives in one shared text buffer and entries are spans into it: a send
//! request carries a dozen fields and its answer eight, and one buffer instead of a string per
//! key and value takes some thirty allocations off every send. A replaced value leaves its old
//! text behind, unreachable; the buffer lives as long as its command, so that waste is bounded
//! by what was written into it.

use std::fmt;
use std::ops::Range;

/// A peer may send any number of fields; the frame limit bounds them, so no separate cap.
#[derive(Clone, Default)]
pub struct ExtFields {
    /// Keys and values back to back; only the spans in `entries` are meaningful.
    text: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: Range<usize>,
    value: Option<Range<usize>>,
}

impl ExtFields {
    pub fn new() -> ExtFields {
        ExtFields::default()
    }

    /// Room for `entries` fields of `text_bytes` bytes of keys and values in all, so a decoder
    /// that knows its input's size fills the map with two allocations.
    pub fn with_capacity(text_bytes: usize, entries: usize) -> ExtFields {
        ExtFields {
            text: String::with_capacity(text_bytes),
            entries: Vec::with_capacity(entries),
        }
    }

    /// The value of `key`, last occurrence winning; `None` if absent or null.
    pub fn get(&self, key: &str) -> Option<&str> {
        let entry = self.entries.iter().rev().find(|e| self.text_of(&e.key) == key)?;
        entry.value.as_ref().map(|value| self.text_of(value))
    }

    /// Sets `key`, replacing the last occurrence if there is one, else appending.
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let key = key.as_ref();
        let value = Some(self.push_text(value.as_ref()));
        match self.entries.iter().rposition(|e| self.text_of(&e.key) == key) {
            Some(at) => self.set_value(at, value),
            None => {
                let key = self.push_text(key);
                self.entries.push(Entry { key, value });
            }
        }
    }

    /// Appends without looking for an existing key: the decoders use this to keep every entry.
    pub fn push_raw(&mut self, key: &str, value: Option<&str>) {
        let key = self.push_text(key);
        let value = value.map(|value| self.push_text(value));
        self.entries.push(Entry { key, value });
    }

    /// Sets `key` to `value` (null included) where it already is, else appends: a JSON object's
    /// semantics, where a repeated member keeps its first place and its last value.
    pub fn set_raw(&mut self, key: &str, value: Option<&str>) {
        let value = value.map(|value| self.push_text(value));
        match self.entries.iter().position(|e| self.text_of(&e.key) == key) {
            Some(at) => self.set_value(at, value),
            None => {
                let key = self.push_text(key);
                self.entries.push(Entry { key, value });
            }
        }
    }

    pub fn remove(&mut self, key: &str) {
        let text = &self.text;
        self.entries
            .retain(|e| text.get(e.key.clone()).unwrap_or_default() != key);
    }

    /// Every entry in wire order, duplicates and nulls included.
    pub fn entries(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.entries
            .iter()
            .map(|e| (self.text_of(&e.key), e.value.as_ref().map(|value| self.text_of(value))))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn push_text(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    fn set_value(&mut self, at: usize, value: Option<Range<usize>>) {
        if let Some(entry) = self.entries.get_mut(at) {
            entry.value = value;
        }
    }

    /// Spans are only ever made by `push_text`, so they always hold; an empty string otherwise.
    fn text_of(&self, span: &Range<usize>) -> &str {
        self.text.get(span.clone()).unwrap_or_default()
    }
}

/// Equal when the entries are, whatever text replaced values left behind.
impl PartialEq for ExtFields {
    fn eq(&self, other: &ExtFields) -> bool {
        self.entries().eq(other.entries())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
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
        fields.push_raw("a", Some("1"));
        fields.push_raw("a", Some("2"));
        fields.push_raw("b", None);
        assert_eq!(fields.get("a"), Some("2"));
        assert_eq!(fields.get("b"), None);
        fields.insert("a", "3");
        assert_eq!(
            fields.entries().collect::<Vec<_>>(),
            vec![("a", Some("1")), ("a", Some("3")), ("b", None)]
        );
    }

    #[test]
    fn set_raw_keeps_the_first_place_and_equality_ignores_left_over_text() {
        let mut fields = ExtFields::with_capacity(8, 2);
        fields.set_raw("j", Some("0"));
        fields.set_raw("k", Some("x"));
        fields.set_raw("j", Some("1"));
        fields.set_raw("k", None);
        assert_eq!(
            fields.entries().collect::<Vec<_>>(),
            vec![("j", Some("1")), ("k", None)]
        );
        fields.remove("k");
        let fresh: ExtFields = [("j", "1")].into_iter().collect();
        assert_eq!(fields, fresh);
        assert_eq!(format!("{fresh:?}"), r#"[("j", Some("1"))]"#);
        fields.insert("j", "2");
        assert_ne!(fields, fresh);
        assert_eq!(fields.len(), 1);
    }
}
