//! Writers for JSON bodies the way Java peers read them (remoting.md §3.2).
//!
//! Everything is compact standard JSON with quoted keys, properties in fastjson's alphabetical
//! order (our structs declare their fields in that order), except two things serde_json cannot
//! produce and which are assembled here from pre-rendered pieces:
//!
//! * maps keyed by a bean (`Map<MessageQueue, …>`): the key is written as a raw JSON object,
//!   `{{"brokerName":"b","queueId":0,"topic":"T"}:{…}}`, exactly like fastjson;
//! * fastjson's default rendering of integer-keyed maps with bare keys, `{0:"addr"}`, used only
//!   for the legacy `TopicRouteData` of §4.1.1.
//!
//! [`browser_compatible`] renders a value the way fastjson does with `BrowserCompatible`
//! (the "standard" `TopicRouteData` for clients of version ≥ 401 (V4_9_4)).

use std::fmt::Display;

use serde::Serialize;
use serde_json::Value;

/// Compact standard JSON. Our body types have string or integer map keys only, so this cannot
/// fail; a failure is a bug in a type definition, not bad input.
pub fn compact<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    match serde_json::to_vec(value) {
        Ok(bytes) => bytes,
        Err(e) => panic!("body type does not serialize to JSON: {e}"),
    }
}

/// A JSON object assembled from rendered members and written with names sorted, so a body can
/// mix serde-rendered properties with bean-keyed maps.
#[derive(Debug, Default)]
pub struct ObjectText {
    members: Vec<(String, Vec<u8>)>,
}

impl ObjectText {
    /// Starts from the properties serde writes for `value`, which must serialize as an object.
    pub fn of<T: Serialize>(value: &T) -> ObjectText {
        let members = match serde_json::to_value(value) {
            Ok(Value::Object(map)) => map.into_iter().map(|(name, v)| (name, compact(&v))).collect(),
            Ok(other) => panic!("body type serializes to {other}, not an object"),
            Err(e) => panic!("body type does not serialize to JSON: {e}"),
        };
        ObjectText { members }
    }

    /// Sets property `name` to already-rendered JSON, replacing a serde-rendered one.
    pub fn set_raw(&mut self, name: &str, json: Vec<u8>) {
        self.members.retain(|(existing, _)| existing != name);
        self.members.push((name.to_owned(), json));
    }

    pub fn into_bytes(mut self) -> Vec<u8> {
        self.members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = vec![b'{'];
        for (index, (name, json)) in self.members.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&compact(name));
            out.push(b':');
            out.extend_from_slice(json);
        }
        out.push(b'}');
        out
    }
}

/// A map keyed by a bean, keys written as raw JSON objects like fastjson does.
pub fn bean_keyed_map<'a, K, V>(entries: impl IntoIterator<Item = (&'a K, &'a V)>) -> Vec<u8>
where
    K: Serialize + 'a,
    V: Serialize + 'a,
{
    object_of(entries.into_iter().map(|(key, value)| (compact(key), compact(value))))
}

/// An integer-keyed map with bare keys (`{0:"a",1:"b"}`), fastjson's default rendering.
pub fn bare_integer_keyed_map<'a, K, V>(entries: impl IntoIterator<Item = (&'a K, &'a V)>) -> Vec<u8>
where
    K: Display + 'a,
    V: Serialize + 'a,
{
    object_of(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_string().into_bytes(), compact(value))),
    )
}

/// A JSON array of already-rendered items.
pub fn array_of(items: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = vec![b'['];
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&item);
    }
    out.push(b']');
    out
}

fn object_of(members: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Vec<u8> {
    let mut out = vec![b'{'];
    for (index, (key, value)) in members.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&key);
        out.push(b':');
        out.extend_from_slice(&value);
    }
    out.push(b'}');
    out
}

/// The largest magnitude JavaScript represents exactly; fastjson's `BrowserCompatible` quotes
/// longs beyond it.
const BROWSER_SAFE_INTEGER_MAX: i64 = (1 << 53) - 1;

/// `value` as fastjson writes it with `BrowserCompatible`: non-ASCII and DEL escaped as
/// `\uXXXX` (UTF-16 units, upper-case hex), `/` escaped, integers beyond ±(2^53−1) quoted.
/// Keys keep the value's order; our types produce them sorted, as `MapSortField` asks.
pub fn browser_compatible(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_browser_compatible(&mut out, value);
    out
}

fn write_browser_compatible(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null | Value::Bool(_) => out.extend_from_slice(&compact(value)),
        Value::Number(number) => {
            let wide = number
                .as_i64()
                .is_none_or(|n| !(-BROWSER_SAFE_INTEGER_MAX..=BROWSER_SAFE_INTEGER_MAX).contains(&n));
            if number.is_f64() || !wide {
                out.extend_from_slice(number.to_string().as_bytes());
            } else {
                write_escaped(out, &number.to_string());
            }
        }
        Value::String(text) => write_escaped(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_browser_compatible(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_escaped(out, key);
                out.push(b':');
                write_browser_compatible(out, item);
            }
            out.push(b'}');
        }
    }
}

fn write_escaped(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    for unit in text.encode_utf16() {
        let escape: Option<u8> = match unit {
            0x22 => Some(b'"'),
            0x2F => Some(b'/'),
            0x5C => Some(b'\\'),
            0x08 => Some(b'b'),
            0x0C => Some(b'f'),
            0x0A => Some(b'n'),
            0x0D => Some(b'r'),
            0x09 => Some(b't'),
            _ => None,
        };
        match (escape, u8::try_from(unit)) {
            (Some(letter), _) => out.extend_from_slice(&[b'\\', letter]),
            (None, Ok(byte)) if (0x20..0x7F).contains(&byte) => out.push(byte),
            _ => out.extend_from_slice(format!("\\u{unit:04X}").as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        consume_tps: f64,
        topic: &'static str,
    }

    #[test]
    fn object_text_sorts_and_replaces_members() {
        let sample = Sample {
            consume_tps: 0.0,
            topic: "T",
        };
        let mut object = ObjectText::of(&sample);
        let key = json!({"brokerName": "b", "queueId": 0, "topic": "T"});
        object.set_raw("offsetTable", bean_keyed_map([(&key, &120)]));
        object.set_raw("topic", compact("U"));
        assert_eq!(
            String::from_utf8(object.into_bytes()).unwrap(),
            r#"{"consumeTps":0.0,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:120},"topic":"U"}"#
        );
    }

    #[test]
    fn bare_keys_and_arrays() {
        let addrs = BTreeMap::from([(0i64, "10.0.0.1:10911"), (1, "10.0.0.2:10911")]);
        assert_eq!(
            bare_integer_keyed_map(&addrs),
            br#"{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}"#.to_vec()
        );
        assert_eq!(array_of([b"1".to_vec(), b"{}".to_vec()]), b"[1,{}]".to_vec());
        assert_eq!(array_of([]), b"[]".to_vec());
    }

    #[test]
    fn browser_compatible_escapes_like_fastjson() {
        let value = json!({
            "a/b": "é\u{7f}\u{1F600}\"\\\n\u{1}<>",
            "big": 9_007_199_254_740_992i64,
            "edge": 9_007_199_254_740_991i64,
            "neg": -9_007_199_254_740_992i64,
            "u": 18_446_744_073_709_551_615u64,
            "f": 1.5,
            "list": [true, null],
        });
        let text = String::from_utf8(browser_compatible(&value)).unwrap();
        assert_eq!(
            text,
            r#"{"a\/b":"\u00E9\u007F\uD83D\uDE00\"\\\n\u0001<>","big":"9007199254740992","edge":9007199254740991,"neg":"-9007199254740992","u":"18446744073709551615","f":1.5,"list":[true,null]}"#
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["a/b"], value["a/b"]);
    }
}
