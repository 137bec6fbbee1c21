//! The JSON header (serialize type 0): fastjson's rendering of Java's `RemotingCommand` bean.
//!
//! Java writes properties in alphabetical order and omits nulls; we do the same, and always
//! write `code`, `flag`, `opaque`, `language` and `version`, because Java fills a missing
//! `opaque` with a fresh local id and the response would never be matched.
//! Reading is lenient the way fastjson is: numbers may come as strings, unknown properties are
//! ignored, and extFields values that are numbers or booleans are taken as their text.

use serde_json::{Map, Value};

use crate::codes::LanguageCode;
use crate::command::{RemotingCommand, SerializeType};
use crate::error::{WireError, WireResult};
use crate::ext_fields::ExtFields;

pub fn encode(command: &RemotingCommand) -> Vec<u8> {
    let mut object = Map::new();
    object.insert("code".into(), command.code.into());
    if let Some(fields) = &command.ext_fields {
        let ext: Map<String, Value> = fields
            .entries()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), Value::String(v.to_owned()))))
            .collect();
        object.insert("extFields".into(), Value::Object(ext));
    }
    object.insert("flag".into(), command.flag.into());
    object.insert("language".into(), command.language.json_name().into());
    object.insert("opaque".into(), command.opaque.into());
    if let Some(remark) = &command.remark {
        object.insert("remark".into(), remark.as_str().into());
    }
    object.insert("serializeTypeCurrentRPC".into(), SerializeType::Json.java_name().into());
    object.insert("version".into(), command.version.into());
    // Serializing a map of strings and integers cannot fail.
    serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
}

pub fn decode(header: &[u8]) -> WireResult<RemotingCommand> {
    let value: Value = serde_json::from_slice(header).map_err(|e| bad(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(bad("header is not a JSON object".into()));
    };
    let language = match object.get("language") {
        None | Some(Value::Null) => LanguageCode::JAVA,
        Some(Value::String(name)) => LanguageCode::from_name(name),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .map_or(LanguageCode::OTHER, LanguageCode),
        Some(_) => return Err(bad("language is not a string".into())),
    };
    let remark = match object.get("remark") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("remark is not a string".into())),
    };
    let ext_fields = match object.get("extFields") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(decode_ext(map)?),
        Some(_) => return Err(bad("extFields is not an object".into())),
    };
    Ok(RemotingCommand {
        code: int_field(&object, "code")?,
        language,
        version: int_field(&object, "version")?,
        opaque: int_field(&object, "opaque")?,
        flag: int_field(&object, "flag")?,
        remark,
        ext_fields,
        body: None,
        serialize_type: SerializeType::Json,
    })
}

fn decode_ext(map: &Map<String, Value>) -> WireResult<ExtFields> {
    let mut fields = ExtFields::new();
    for (key, value) in map {
        let text = match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Array(_) | Value::Object(_) => {
                return Err(bad(format!("extFields.{key} is not a scalar")));
            }
        };
        fields.push_raw(key.clone(), text);
    }
    Ok(fields)
}

/// Missing means Java's default, 0; a string holding an int is accepted, as fastjson does.
fn int_field(object: &Map<String, Value>, name: &'static str) -> WireResult<i32> {
    let parsed = match object.get(name) {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Number(n)) => n.as_i64().and_then(|v| i32::try_from(v).ok()),
        Some(Value::String(s)) => s.trim().parse::<i32>().ok(),
        Some(_) => None,
    };
    parsed.ok_or_else(|| bad(format!("{name} is not a 32-bit integer")))
}

fn bad(reason: String) -> WireError {
    WireError::BadJson { what: "header", reason }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let text = String::from_utf8(encode(&command)).unwrap();
        assert!(text.contains(r#""i":"TAGS\u0001A\u0002""#), "{text}");
    }
}
