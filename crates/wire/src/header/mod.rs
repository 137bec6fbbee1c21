//! Typed custom headers: the `extFields` each command carries, one struct per Java header class.
//!
//! Java flattens a header object into `extFields` by reflection (remoting.md §1.10): the key is
//! the Java *field* name, misspellings included (`clientID`, `isForce`, `proxyFrowardClientId`),
//! the value its `toString()`, and null fields are left out. Each struct here is declared once
//! with `custom_header!`, the Java key beside the Rust field, so a key's spelling lives in exactly
//! one place. The Rust type says how Java treats the field:
//!
//! * `T`: `@CFNotNull` in Java. Always written; absent ⇒ [`WireError::MissingField`] naming the
//!   Java key.
//! * `Option<T>`: a nullable field. `None` is not written, and an absent key reads as `None`.
//! * `T = v`: a Java primitive, or a boxed field with an initializer, that is not `@CFNotNull`.
//!   Always written, as Java writes it; absent ⇒ `v`, the value Java's field starts with.
//!
//! Values parse the way Java's decoder does ([`FieldValue`]); unknown keys are ignored; a
//! header's `checkFields()` runs after reading. Headers whose Java class extends
//! `RpcRequestHeader` or `TopicRequestHeader` embed [`RpcFields`] / [`TopicRpcFields`] (§1.11).

mod value;

pub use value::{BoundaryType, FieldValue};

use crate::command::RemotingCommand;
use crate::error::{WireError, WireResult};
use crate::ext_fields::ExtFields;

/// A command's custom header: a typed view of its `extFields`.
pub trait CustomHeader: Sized {
    /// Writes every non-null field, replacing keys already present and keeping all others.
    fn write_to(&self, fields: &mut ExtFields);

    /// Reads the header, ignoring keys it does not know.
    fn read_from(fields: &ExtFields) -> WireResult<Self>;

    fn to_ext_fields(&self) -> ExtFields {
        let mut fields = ExtFields::new();
        self.write_to(&mut fields);
        fields
    }

    /// Reads the header of a decoded command; a command without `extFields` reads as empty.
    fn from_command(command: &RemotingCommand) -> WireResult<Self> {
        match &command.ext_fields {
            Some(fields) => Self::read_from(fields),
            None => Self::read_from(&ExtFields::new()),
        }
    }
}

/// Declares a header struct from `"javaKey" => rust_field: Type [= initial]` lines, an optional
/// `base field: Type;` (the embedded 5.x standard fields) and an optional `check function;`
/// (Java's `checkFields()`, run after reading). Generates the struct, a `Default` that starts
/// every field where Java's does, and the [`CustomHeader`] impl.
macro_rules! custom_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $key:literal => $field:ident : $ty:ty $(= $initial:expr)?
            ),* $(,)?
        }
        $(base $base:ident : $base_ty:ty;)?
        $(check $check:path;)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
            $( pub $base: $base_ty, )?
        }

        impl Default for $name {
            fn default() -> $name {
                $name {
                    $( $field: custom_header!(@initial $($initial)?), )*
                    $( $base: <$base_ty>::default(), )?
                }
            }
        }

        impl $crate::header::CustomHeader for $name {
            fn write_to(&self, fields: &mut $crate::ext_fields::ExtFields) {
                $( $crate::header::HeaderField::write_field(&self.$field, fields, $key); )*
                $( $crate::header::CustomHeader::write_to(&self.$base, fields); )?
            }

            fn read_from(fields: &$crate::ext_fields::ExtFields) -> $crate::error::WireResult<$name> {
                let _ = &fields;
                let header = $name {
                    $( $field: custom_header!(@read fields, $key, $ty $(, $initial)?), )*
                    $( $base: <$base_ty as $crate::header::CustomHeader>::read_from(fields)?, )?
                };
                $( $check(&header)?; )?
                Ok(header)
            }
        }
    };

    (@initial) => { Default::default() };
    (@initial $initial:expr) => { $initial };

    (@read $fields:ident, $key:literal, $ty:ty) => {
        <$ty as $crate::header::HeaderField>::read_field($fields, $key)?
    };
    (@read $fields:ident, $key:literal, $ty:ty, $initial:expr) => {
        <Option<$ty> as $crate::header::HeaderField>::read_field($fields, $key)?.unwrap_or($initial)
    };
}

/// How a field's Rust type maps to presence on the wire: a bare value is required and always
/// written, an `Option` is neither.
trait HeaderField: Sized {
    fn read_field(fields: &ExtFields, key: &'static str) -> WireResult<Self>;
    fn write_field(&self, fields: &mut ExtFields, key: &'static str);
}

impl<T: FieldValue> HeaderField for T {
    fn read_field(fields: &ExtFields, key: &'static str) -> WireResult<T> {
        Option::<T>::read_field(fields, key)?.ok_or(WireError::MissingField { field: key })
    }

    fn write_field(&self, fields: &mut ExtFields, key: &'static str) {
        fields.insert(key, self.render());
    }
}

impl<T: FieldValue> HeaderField for Option<T> {
    fn read_field(fields: &ExtFields, key: &'static str) -> WireResult<Option<T>> {
        fields.get(key).map(|text| T::parse_field(key, text)).transpose()
    }

    fn write_field(&self, fields: &mut ExtFields, key: &'static str) {
        if let Some(value) = self {
            fields.insert(key, value.render());
        }
    }
}

mod rpc;

mod admin;
mod auth;
mod client;
mod namesrv;
mod offset;
mod plain_acl;
mod pop;
mod pull;
mod query;
mod send;
mod transaction;

pub use admin::*;
pub use auth::*;
pub use client::*;
pub use namesrv::*;
pub use offset::*;
pub use plain_acl::*;
pub use pop::*;
pub use pull::*;
pub use query::*;
pub use rpc::{RpcFields, TopicRpcFields};
pub use send::*;
pub use transaction::*;

/// Test support shared by the per-area files.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeMap;
    use std::fmt::Debug;

    use super::CustomHeader;
    use crate::error::WireError;
    use crate::ext_fields::ExtFields;

    pub fn map_of(fields: &ExtFields) -> BTreeMap<String, String> {
        fields
            .entries()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
            .collect()
    }

    /// Reads `pairs` (keys and values as Java writes them) into `H` and checks that writing it
    /// gives back exactly the same map, that reading that again gives the same value, and that
    /// without any one key the header either still reads or fails naming exactly that key.
    pub fn check_header<H: CustomHeader + Debug + PartialEq>(pairs: &[(&str, &str)]) -> H {
        let fields: ExtFields = pairs.iter().copied().collect();
        let header = H::read_from(&fields).unwrap_or_else(|e| panic!("read: {e}"));
        let written = header.to_ext_fields();
        assert_eq!(map_of(&written), map_of(&fields), "{header:?}");
        assert_eq!(H::read_from(&written).unwrap(), header);
        for (key, _) in pairs {
            let mut partial = fields.clone();
            partial.remove(key);
            match H::read_from(&partial) {
                Ok(_) => {}
                Err(WireError::MissingField { field }) => assert_eq!(field, *key),
                Err(other) => panic!("without {key}: {other}"),
            }
        }
        header
    }

    /// The keys `H` insists on, found by reading from nothing and adding a `"0"` for each key
    /// reported missing, until the header reads (a check may ask for one of `valid` instead).
    pub fn required_keys<H: CustomHeader>(valid: &[(&'static str, &'static str)]) -> Vec<&'static str> {
        let mut fields = ExtFields::new();
        let mut keys = Vec::new();
        loop {
            match H::read_from(&fields) {
                Ok(_) => return keys,
                Err(WireError::MissingField { field }) => {
                    assert!(!keys.contains(&field), "{field} asked for twice");
                    keys.push(field);
                    let value = valid.iter().find(|(k, _)| *k == field).map_or("0", |(_, v)| *v);
                    fields.insert(field, value);
                }
                Err(other) => panic!("{other}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{self, map_of};
    use super::*;

    custom_header! {
        /// Exercises every field kind and a check.
        pub struct Sample {
            "name" => name: String,
            "count" => count: i32,
            "total" => total: Option<i64>,
            "isOn" => on: bool = true,
            "queueId" => queue_id: i32 = -1,
        }
        base rpc: TopicRpcFields;
        check sample_check;
    }

    fn sample_check(header: &Sample) -> WireResult<()> {
        match header.count {
            0.. => Ok(()),
            _ => Err(WireError::BadField {
                field: "count",
                value: header.count.to_string(),
            }),
        }
    }

    #[test]
    fn default_starts_where_java_does() {
        let sample = Sample::default();
        assert_eq!((sample.on, sample.queue_id, sample.total), (true, -1, None));
        assert_eq!(testing::required_keys::<Sample>(&[]), ["name", "count"]);
    }

    #[test]
    fn writes_non_null_fields_only_and_keeps_other_keys() {
        let mut fields: ExtFields = [("MSG_REGION", "r"), ("name", "old")].into_iter().collect();
        let sample = Sample {
            name: "n".into(),
            count: 3,
            ..Sample::default()
        };
        sample.write_to(&mut fields);
        let expected: ExtFields = [
            ("MSG_REGION", "r"),
            ("name", "n"),
            ("count", "3"),
            ("isOn", "true"),
            ("queueId", "-1"),
        ]
        .into_iter()
        .collect();
        assert_eq!(map_of(&fields), map_of(&expected));
    }

    #[test]
    fn reads_defaults_ignores_unknown_keys_and_runs_the_check() {
        let fields: ExtFields = [
            ("name", "n"),
            ("count", "+7"),
            ("zzz", "?"),
            ("bname", "b"),
            ("lo", "TRUE"),
        ]
        .into_iter()
        .collect();
        let sample = Sample::read_from(&fields).unwrap();
        assert_eq!(sample.count, 7);
        assert!(sample.on);
        assert_eq!(sample.rpc.broker_name.as_deref(), Some("b"));
        assert_eq!(sample.rpc.logical, Some(true));

        let negative: ExtFields = [("name", "n"), ("count", "-1")].into_iter().collect();
        assert!(matches!(
            Sample::read_from(&negative),
            Err(WireError::BadField { field: "count", .. })
        ));
        let malformed: ExtFields = [("name", "n"), ("count", "1"), ("total", "x")].into_iter().collect();
        assert_eq!(
            Sample::read_from(&malformed),
            Err(WireError::BadField {
                field: "total",
                value: "x".into()
            })
        );
    }

    #[test]
    fn missing_required_field_names_the_java_key() {
        let fields: ExtFields = [("count", "1")].into_iter().collect();
        assert_eq!(
            Sample::read_from(&fields),
            Err(WireError::MissingField { field: "name" })
        );
    }

    #[test]
    fn null_values_read_as_absent() {
        let mut fields = ExtFields::new();
        fields.push_raw("name", None);
        fields.push_raw("count", Some("1"));
        assert_eq!(
            Sample::read_from(&fields),
            Err(WireError::MissingField { field: "name" })
        );
    }

    #[test]
    fn from_command_treats_absent_ext_fields_as_empty() {
        let command = RemotingCommand::request(crate::codes::RequestCode::HEART_BEAT);
        assert_eq!(
            HeartbeatRequestHeader::from_command(&command),
            Ok(HeartbeatRequestHeader::default())
        );
        assert_eq!(
            Sample::from_command(&command),
            Err(WireError::MissingField { field: "name" })
        );
    }
}
