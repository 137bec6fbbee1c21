//! JSON as Java's fastjson 1.x writes and reads it (remoting.md §3).
//!
//! Reading goes through [`lenient::parse`], which accepts fastjson's non-standard output (bare
//! integer keys, bean objects as keys, `$ref`) into a `serde_json::Value`, and then serde, with
//! the field readers of [`field`] where fastjson is lenient. Writing is compact standard JSON
//! with quoted keys, plus the few fastjson renderings of [`write`] that Java needs.

pub mod field;
pub mod lenient;
pub mod write;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{WireError, WireResult};

/// Decodes a body of type `T`; `what` names it in errors. The caller bounds `bytes`.
pub fn decode<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> WireResult<T> {
    let value = lenient::parse(what, bytes)?;
    T::deserialize(value).map_err(|e| WireError::BadJson {
        what,
        reason: e.to_string(),
    })
}

/// Encodes a body as compact JSON (properties in declaration order, which our types keep
/// alphabetical like fastjson).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    write::compact(value)
}
