//! The JSON header (serialize type 0): fastjson's rendering of Java's `RemotingCommand` bean.
//!
//! Java writes properties in alphabetical order and omits nulls; we do the same, and always
//! write `code`, `flag`, `opaque`, `language` and `version`, because Java fills a missing
//! `opaque` with a fresh local id and the response would never be matched.
//! Reading is lenient the way fastjson is: numbers may come as strings, unknown properties are
//! ignored, and extFields values that are numbers or booleans are taken as their text.

use std::fmt;

use bytes::{BufMut, BytesMut};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::codes::LanguageCode;
use crate::command::{RemotingCommand, SerializeType};
use crate::error::{WireError, WireResult};
use crate::ext_fields::ExtFields;

/// Appends the header to `out`, the frame's own buffer (no intermediate JSON tree, no copy):
/// every send answers one of these, so it is on the hot path.
pub fn encode(command: &RemotingCommand, out: &mut BytesMut) {
    out.extend_from_slice(b"{\"code\":");
    push_int(out, command.code);
    if let Some(fields) = &command.ext_fields {
        out.extend_from_slice(b",\"extFields\":{");
        let mut first = true;
        let mut member = |out: &mut BytesMut, key: &str, value: &str| {
            if !first {
                out.put_u8(b',');
            }
            first = false;
            push_string(out, key);
            out.put_u8(b':');
            push_string(out, value);
        };
        if has_repeated_key(fields) {
            for (key, value) in unique_non_null(fields) {
                member(out, key, value);
            }
        } else {
            for (key, value) in fields.entries() {
                if let Some(value) = value {
                    member(out, key, value);
                }
            }
        }
        out.put_u8(b'}');
    }
    out.extend_from_slice(b",\"flag\":");
    push_int(out, command.flag);
    out.extend_from_slice(b",\"language\":");
    push_string(out, command.language.json_name());
    out.extend_from_slice(b",\"opaque\":");
    push_int(out, command.opaque);
    if let Some(remark) = &command.remark {
        out.extend_from_slice(b",\"remark\":");
        push_string(out, remark);
    }
    out.extend_from_slice(b",\"serializeTypeCurrentRPC\":");
    push_string(out, SerializeType::Json.java_name());
    out.extend_from_slice(b",\"version\":");
    push_int(out, command.version);
    out.put_u8(b'}');
}

/// Whether a key occurs twice; the common case (no) writes the entries as they are, with no
/// list built.
fn has_repeated_key(fields: &ExtFields) -> bool {
    fields
        .entries()
        .enumerate()
        .any(|(i, (key, _))| fields.entries().skip(i + 1).any(|(other, _)| other == key))
}

/// The entries as a JSON object holds them: nulls left out, and a repeated key written once,
/// where it first appears, with its last value (what fastjson's map would hold).
fn unique_non_null(fields: &ExtFields) -> impl Iterator<Item = (&str, &str)> {
    let mut written: Vec<(&str, &str)> = Vec::with_capacity(fields.len());
    for (key, value) in fields.entries().filter_map(|(k, v)| Some((k, v?))) {
        match written.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => written.push((key, value)),
        }
    }
    written.into_iter()
}

fn push_int(out: &mut BytesMut, value: i32) {
    use std::fmt::Write;
    // Writing into a BytesMut cannot fail.
    let _ = write!(out, "{value}");
}

/// A JSON string with serde_json's escaping (control characters as `\u00XX`, as fastjson).
fn push_string(out: &mut BytesMut, text: &str) {
    let plain = text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.reserve(text.len() + 2);
        out.put_u8(b'"');
        out.extend_from_slice(text.as_bytes());
        out.put_u8(b'"');
    } else {
        // Writing a string into a BytesMut cannot fail.
        let _ = serde_json::to_writer((&mut *out).writer(), text);
    }
}

pub fn decode(header: &[u8]) -> WireResult<RemotingCommand> {
    let mut deserializer = serde_json::Deserializer::from_slice(header);
    let fields = HeaderVisitor {
        text_bytes: header.len(),
    }
    .deserialize(&mut deserializer)
    .and_then(|fields| deserializer.end().map(|()| fields))
    .map_err(|e| bad(e.to_string()))?;
    Ok(RemotingCommand {
        code: fields.code.unwrap_or(0),
        language: fields.language.unwrap_or(LanguageCode::JAVA),
        version: fields.version.unwrap_or(0),
        opaque: fields.opaque.unwrap_or(0),
        flag: fields.flag.unwrap_or(0),
        remark: fields.remark,
        ext_fields: fields.ext_fields,
        body: None,
        serialize_type: SerializeType::Json,
    })
}

/// The header's members as read; a later duplicate replaces an earlier one, unknown members
/// are skipped, `null` reads as absent.
#[derive(Default)]
struct HeaderFields {
    code: Option<i32>,
    language: Option<LanguageCode>,
    version: Option<i32>,
    opaque: Option<i32>,
    flag: Option<i32>,
    remark: Option<String>,
    ext_fields: Option<ExtFields>,
}

struct HeaderVisitor {
    /// The header's size: what the extFields text cannot exceed.
    text_bytes: usize,
}

impl<'de> DeserializeSeed<'de> for HeaderVisitor {
    type Value = HeaderFields;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<HeaderFields, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = HeaderFields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("header is not a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderFields, A::Error> {
        let mut fields = HeaderFields::default();
        while let Some(name) = map.next_key::<MemberName>()? {
            match name {
                MemberName::Code => fields.code = map.next_value_seed(LenientInt("code"))?,
                MemberName::Version => fields.version = map.next_value_seed(LenientInt("version"))?,
                MemberName::Opaque => fields.opaque = map.next_value_seed(LenientInt("opaque"))?,
                MemberName::Flag => fields.flag = map.next_value_seed(LenientInt("flag"))?,
                MemberName::Language => fields.language = map.next_value_seed(LanguageSeed)?,
                MemberName::Remark => fields.remark = map.next_value::<Option<String>>()?,
                MemberName::ExtFields => {
                    fields.ext_fields = map.next_value_seed(ExtFieldsSeed {
                        text_bytes: self.text_bytes,
                    })?
                }
                MemberName::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// A header member, recognised without allocating.
enum MemberName {
    Code,
    Language,
    Version,
    Opaque,
    Flag,
    Remark,
    ExtFields,
    Other,
}

impl<'de> de::Deserialize<'de> for MemberName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MemberName, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = MemberName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<MemberName, E> {
                Ok(match name {
                    "code" => MemberName::Code,
                    "language" => MemberName::Language,
                    "version" => MemberName::Version,
                    "opaque" => MemberName::Opaque,
                    "flag" => MemberName::Flag,
                    "remark" => MemberName::Remark,
                    "extFields" => MemberName::ExtFields,
                    _ => MemberName::Other,
                })
            }
        }
        deserializer.deserialize_identifier(NameVisitor)
    }
}

/// Java's default (absent) for `null`; an int, or a string holding one, as fastjson reads it.
struct LenientInt(&'static str);

impl<'de> DeserializeSeed<'de> for LenientInt {
    type Value = Option<i32>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<i32>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Visitor<'_> for LenientInt {
    type Value = Option<i32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as a 32-bit integer", self.0)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<i32>, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<i32>, E> {
        i32::try_from(v).map(Some).map_err(|_| self.refuse())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<i32>, E> {
        i32::try_from(v).map(Some).map_err(|_| self.refuse())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<i32>, E> {
        v.trim().parse::<i32>().map(Some).map_err(|_| self.refuse())
    }
}

impl LenientInt {
    fn refuse<E: de::Error>(&self) -> E {
        E::custom(format!("{} is not a 32-bit integer", self.0))
    }
}

/// `language`: a name, or (as some clients send it) the code's number.
struct LanguageSeed;

impl<'de> DeserializeSeed<'de> for LanguageSeed {
    type Value = Option<LanguageCode>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<LanguageCode>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Visitor<'_> for LanguageSeed {
    type Value = Option<LanguageCode>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("language is not a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<LanguageCode>, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<LanguageCode>, E> {
        Ok(Some(LanguageCode::from_name(name)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<LanguageCode>, E> {
        Ok(Some(u8::try_from(n).map_or(LanguageCode::OTHER, LanguageCode)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Option<LanguageCode>, E> {
        Ok(Some(u8::try_from(n).map_or(LanguageCode::OTHER, LanguageCode)))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Option<LanguageCode>, E> {
        Ok(Some(LanguageCode::OTHER))
    }
}

/// `extFields`: an object of scalars, numbers and booleans taken as their text, `null` as an
/// absent field; a repeated key keeps its first place and its last value, as a JSON object does.
/// Keys and values without escapes are copied straight from the header into the map's one text
/// buffer, which `text_bytes` (the header's size, an upper bound for them) sizes up front.
struct ExtFieldsSeed {
    text_bytes: usize,
}

/// Entries a send's header carries, so the map rarely grows while it is read.
const EXT_FIELDS_EXPECTED: usize = 16;

impl<'de> DeserializeSeed<'de> for ExtFieldsSeed {
    type Value = Option<ExtFields>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<ExtFields>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ExtFieldsSeed {
    type Value = Option<ExtFields>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("extFields is not an object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<ExtFields>, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<ExtFields>, A::Error> {
        let mut fields = ExtFields::with_capacity(self.text_bytes, EXT_FIELDS_EXPECTED);
        while let Some(key) = map.next_key_seed(KeyText)? {
            // A null member is an absent field (Java's map holds null, which reads as absent);
            // leaving it out keeps decode, encode, decode stable.
            match map.next_value_seed(ScalarText(key.as_str()))? {
                Some(value) => fields.set_raw(key.as_str(), Some(value.as_str())),
                None => fields.remove(key.as_str()),
            }
        }
        Ok(Some(fields))
    }
}

/// A string of the header: borrowed when the JSON holds it verbatim (no escapes), else decoded.
enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(text) => text,
            Text::Owned(text) => text,
        }
    }
}

/// An extFields key, without allocating when it can be borrowed.
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = Text<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text<'de>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an extFields key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text::Owned(v))
    }
}

/// One extFields value as text.
struct ScalarText<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for ScalarText<'_> {
    type Value = Option<Text<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Text<'de>>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarText<'_> {
    type Value = Option<Text<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "extFields.{} is not a scalar", self.0)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Text<'de>>, E> {
        Ok(None)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Option<Text<'de>>, E> {
        Ok(Some(Text::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Text<'de>>, E> {
        Ok(Some(Text::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Option<Text<'de>>, E> {
        Ok(Some(Text::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<Text<'de>>, E> {
        Ok(Some(Text::Borrowed(if v { "true" } else { "false" })))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Text<'de>>, E> {
        Ok(Some(Text::Owned(v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Text<'de>>, E> {
        Ok(Some(Text::Owned(v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<Text<'de>>, E> {
        // serde_json's rendering of the number, as `Value::Number::to_string` gave.
        Ok(Some(Text::Owned(
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
        )))
    }
}

fn bad(reason: String) -> WireError {
    WireError::BadJson { what: "header", reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(command: &RemotingCommand) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(command, &mut out);
        out.to_vec()
    }

    #[test]
    fn lenient_read_of_what_other_clients_send() {
        let header = br#"{"code":"34","language":"GO","opaque":5,"extFields":{"n":1,"b":true,"z":null},"unknown":[1]}"#;
        let command = decode(header).unwrap();
        assert_eq!(command.code, 34);
        assert_eq!(command.language, LanguageCode::GO);
        assert_eq!(command.version, 0);
        assert_eq!(command.ext("n"), Some("1"));
        assert_eq!(command.ext("b"), Some("true"));
        assert_eq!(command.ext("z"), None);
    }

    #[test]
    fn a_repeated_ext_field_keeps_its_place_and_last_value_and_re_encodes_once() {
        let header = br#"{"code":320,"extFields":{"j":"0","k":"x","j":"1"},"opaque":1}"#;
        let command = decode(header).unwrap();
        let entries: Vec<_> = command.ext_fields.as_ref().unwrap().entries().collect();
        assert_eq!(entries, [("j", Some("1")), ("k", Some("x"))]);
        let again = decode(&encoded(&command)).unwrap();
        assert_eq!(again.ext_fields, command.ext_fields);
    }

    #[test]
    fn rejects_what_is_not_a_header() {
        for header in [
            &b"[]"[..],
            b"{\"code\":1.5}",
            b"{\"code\":99999999999}",
            b"{\"extFields\":[1]}",
            b"{",
        ] {
            assert!(decode(header).is_err(), "{}", String::from_utf8_lossy(header));
        }
    }

    #[test]
    fn control_characters_are_escaped_like_fastjson() {
        let mut command = RemotingCommand::request(crate::codes::RequestCode::SEND_MESSAGE_V2);
        command.ext_fields = Some([("i", "TAGS\u{1}A\u{2}")].into_iter().collect());
        let text = String::from_utf8(encoded(&command)).unwrap();
        assert!(text.contains(r#""i":"TAGS\u0001A\u0002""#), "{text}");
    }
}
