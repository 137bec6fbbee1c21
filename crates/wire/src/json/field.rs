//! Field-level readers that give typed bodies fastjson's leniency (remoting.md §3.2).
//!
//! fastjson reads `"42"` into an `int`, `1` or `"true"` into a `boolean`, and `null` into a
//! primitive's default; Java peers rely on some of that. [`lenient`] (for scalars) and
//! [`lenient_opt`] (for nullable ones) do the same when named in
//! `#[serde(deserialize_with = "…")]`; [`string_map`] does it for string maps. [`bean_keys`] reads a bean-keyed map whose keys the
//! lenient parser has turned into compact JSON text. [`java_enum!`] declares a closed enum
//! written as Java's constant names, with an `Unknown` variant that keeps any other name.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A scalar fastjson converts leniently from whatever JSON type it finds.
pub trait LenientScalar: Sized {
    /// Java's type name, for error messages.
    const JAVA_TYPE: &'static str;
    /// The value for `null`, which fastjson turns into a primitive's default.
    fn from_null() -> Self;
    fn from_json(value: &Value) -> Option<Self>;
}

/// Reads a scalar leniently; `null` gives the type's default.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: LenientScalar,
{
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(T::from_null());
    }
    T::from_json(&value).ok_or_else(|| D::Error::custom(format!("expected {}, found {value}", T::JAVA_TYPE)))
}

/// Reads a nullable scalar leniently; `null` gives `None`.
pub fn lenient_opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: LenientScalar,
{
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    T::from_json(&value)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected {}, found {value}", T::JAVA_TYPE)))
}

/// Reads a map keyed by a bean (`Map<MessageQueue, V>`): each key is the bean's JSON text.
pub fn bean_keys<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: Deserializer<'de>,
    K: DeserializeOwned + Ord,
    V: DeserializeOwned,
{
    let raw = BTreeMap::<String, V>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(key, value)| {
            let key = serde_json::from_str(&key).map_err(|e| D::Error::custom(format!("bad map key {key:?}: {e}")))?;
            Ok((key, value))
        })
        .collect()
}

/// Reads a string map whose values fastjson may have written as numbers or booleans (Java's
/// `Properties` and `Map<String, String>` fields); `null` values are dropped.
pub fn string_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = BTreeMap::<String, Value>::deserialize(deserializer)?;
    raw.into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| match String::from_json(&value) {
            Some(text) => Ok((key, text)),
            None => Err(D::Error::custom(format!(
                "expected a string for {key:?}, found {value}"
            ))),
        })
        .collect()
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

impl LenientScalar for i64 {
    const JAVA_TYPE: &'static str = "long";
    fn from_null() -> Self {
        0
    }
    fn from_json(value: &Value) -> Option<Self> {
        integer(value)
    }
}

impl LenientScalar for i32 {
    const JAVA_TYPE: &'static str = "int";
    fn from_null() -> Self {
        0
    }
    fn from_json(value: &Value) -> Option<Self> {
        integer(value).and_then(|n| i32::try_from(n).ok())
    }
}

impl LenientScalar for f64 {
    const JAVA_TYPE: &'static str = "double";
    fn from_null() -> Self {
        0.0
    }
    fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl LenientScalar for bool {
    const JAVA_TYPE: &'static str = "boolean";
    fn from_null() -> Self {
        false
    }
    fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => n.as_i64().map(|n| n != 0),
            Value::String(s) if s.eq_ignore_ascii_case("true") || s == "1" => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") || s == "0" => Some(false),
            _ => None,
        }
    }
}

impl LenientScalar for String {
    const JAVA_TYPE: &'static str = "String";
    fn from_null() -> Self {
        String::new()
    }
    fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Declares a closed enum written as Java's constant names. Java sends exact names; a name this
/// build does not know is kept in `Unknown` so it survives a round trip. Ordinals, which
/// fastjson also reads, are accepted too.
macro_rules! java_enum {
    ($(#[$meta:meta])* $name:ident, default $default:ident { $($variant:ident = $java:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
            /// A name this build does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every known constant, in Java's declaration (ordinal) order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn java_name(&self) -> &str {
                match self {
                    $($name::$variant => $java,)+
                    $name::Unknown(name) => name,
                }
            }

            pub fn from_java_name(name: &str) -> $name {
                match name {
                    $($java => $name::$variant,)+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::$default
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.java_name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                use serde::de::Error as _;
                match serde_json::Value::deserialize(deserializer)? {
                    serde_json::Value::String(name) => Ok($name::from_java_name(&name)),
                    serde_json::Value::Null => Ok($name::default()),
                    serde_json::Value::Number(n) => n
                        .as_u64()
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| $name::ALL.get(i).cloned())
                        .ok_or_else(|| D::Error::custom(format!("no {} with ordinal {n}", stringify!($name)))),
                    other => Err(D::Error::custom(format!("expected a {} name, found {other}", stringify!($name)))),
                }
            }
        }
    };
}
pub(crate) use java_enum;

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::*;

    java_enum!(
        /// A test enum.
        Colour, default Red { Red = "RED", DarkBlue = "DARK_BLUE", }
    );

    #[derive(Debug, Default, Deserialize, Serialize, PartialEq)]
    #[serde(default, rename_all = "camelCase")]
    struct Sample {
        #[serde(deserialize_with = "lenient")]
        count: i32,
        #[serde(deserialize_with = "lenient")]
        offset: i64,
        #[serde(deserialize_with = "lenient")]
        tps: f64,
        #[serde(deserialize_with = "lenient")]
        order: bool,
        #[serde(deserialize_with = "lenient")]
        name: String,
        #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
        addr: Option<String>,
        colour: Colour,
    }

    fn sample(value: serde_json::Value) -> Result<Sample, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn scalars_accept_strings_numbers_and_null() {
        let got = sample(
            json!({"count":"7","offset":" 42 ","tps":"1.5","order":"TRUE","name":12,"addr":null,
            "colour":"DARK_BLUE","extra":[1]}),
        )
        .unwrap();
        assert_eq!((got.count, got.offset, got.tps, got.order), (7, 42, 1.5, true));
        assert_eq!(
            (got.name.as_str(), got.addr, got.colour),
            ("12", None, Colour::DarkBlue)
        );
        let nulls = sample(json!({"count":null,"order":null,"name":null,"colour":null})).unwrap();
        assert_eq!(nulls, Sample::default());
        assert_eq!(sample(json!({"order":1,"colour":1})).unwrap().colour, Colour::DarkBlue);
    }

    #[test]
    fn scalars_reject_wrong_shapes() {
        assert!(sample(json!({"count": 3_000_000_000i64})).is_err());
        assert!(sample(json!({"count": "x"})).is_err());
        assert!(sample(json!({"offset": 1.5})).is_err());
        assert!(sample(json!({"name": {}})).is_err());
        assert!(sample(json!({"order": "yes"})).is_err());
        assert!(sample(json!({"colour": 9})).is_err());
        assert!(sample(json!({"colour": []})).is_err());
    }

    #[test]
    fn unknown_enum_names_round_trip() {
        let got = sample(json!({"colour": "PURPLE"})).unwrap();
        assert_eq!(got.colour, Colour::Unknown("PURPLE".into()));
        assert_eq!(serde_json::to_value(&got).unwrap()["colour"], "PURPLE");
        assert_eq!(Colour::from_java_name("RED").java_name(), "RED");
    }

    #[test]
    fn bean_keys_parse_key_text() {
        #[derive(Deserialize)]
        struct Table {
            #[serde(deserialize_with = "bean_keys")]
            table: BTreeMap<Vec<i32>, i64>,
        }
        let table: Table = serde_json::from_value(json!({"table": {"[1,2]": 3, "[0]": 4}})).unwrap();
        assert_eq!(table.table, BTreeMap::from([(vec![0], 4), (vec![1, 2], 3)]));
        assert!(serde_json::from_value::<Table>(json!({"table": {"nope": 1}})).is_err());
    }

    #[test]
    fn string_map_converts_scalars() {
        #[derive(Deserialize)]
        struct Props {
            #[serde(deserialize_with = "string_map")]
            props: BTreeMap<String, String>,
        }
        let props: Props = serde_json::from_value(json!({"props": {"a": "x", "b": 20, "c": true, "d": null}})).unwrap();
        assert_eq!(
            props.props,
            BTreeMap::from([
                ("a".into(), "x".into()),
                ("b".into(), "20".into()),
                ("c".into(), "true".into())
            ])
        );
        assert!(serde_json::from_value::<Props>(json!({"props": {"a": {}}})).is_err());
    }
}
