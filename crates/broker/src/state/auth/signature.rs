//! The remoting signature, as Java's `DefaultAuthenticationContextBuilder` rebuilds what
//! `AclClientRPCHook` signed: the values (not the keys) of every ext field but `Signature`,
//! in key order, as UTF-8, then the body; HMAC-SHA1 keyed with the user's secret; sent as
//! standard padded base64. Java compares the base64 text with `MessageDigest.isEqual`; we
//! decode the text strictly (canonical padded base64 only, so exactly the texts Java accepts)
//! and let `ring` compare the tags in constant time.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferrocket_wire::RemotingCommand;
use ferrocket_wire::codes::version;
use ring::hmac;

use crate::config::AuthConfig;

/// The ext field naming the user (`SessionCredentials.ACCESS_KEY`).
pub const ACCESS_KEY: &str = "AccessKey";
/// The ext field carrying the signature (`SessionCredentials.SIGNATURE`).
pub const SIGNATURE: &str = "Signature";
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`: old clients (≤ 4.9.3) add it after signing.
const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

/// The bytes a request's signature covers.
pub fn signed_content(request: &RemotingCommand) -> Vec<u8> {
    let mut sorted = BTreeMap::new();
    if let Some(fields) = &request.ext_fields {
        for (key, value) in fields.entries() {
            let old_client_flag = request.version <= version::V4_9_3 && key == UNIQUE_MSG_QUERY_FLAG;
            if key != SIGNATURE && !old_client_flag {
                // A value we hold as absent is a zero-length one in the binary header (no
                // client sends a JSON null): the client signed "", so we count "". Java's
                // decoder makes it null and appends "null", refusing that client (acl.md §2.5).
                sorted.insert(key, value.unwrap_or(""));
            }
        }
    }
    let mut content: Vec<u8> = sorted.into_values().flat_map(str::as_bytes).copied().collect();
    if let Some(body) = &request.body {
        content.extend_from_slice(body);
    }
    content
}

/// What Java's `AclClientRPCHook` adds to a request: `AccessKey`, then `Signature` over the
/// request as the receiving server will rebuild it (every ext field, then the body).
pub fn sign_request(mut request: RemotingCommand, access_key: &str, secret_key: &str) -> RemotingCommand {
    let mut fields = request.ext_fields.take().unwrap_or_default();
    fields.remove(SIGNATURE);
    fields.insert(ACCESS_KEY, access_key);
    request.ext_fields = Some(fields);
    let signature = sign(&signed_content(&request), secret_key);
    if let Some(fields) = request.ext_fields.as_mut() {
        fields.insert(SIGNATURE, signature);
    }
    request
}

/// `request` signed with `innerClientAuthenticationCredentials` when they are set (Java's
/// `BrokerOuterAPI` registers an `AclClientRPCHook` for them), else as it is.
pub fn sign_as_broker(request: RemotingCommand, auth: &AuthConfig) -> RemotingCommand {
    match &auth.inner_credentials {
        Some(credentials) => sign_request(request, &credentials.access_key, &credentials.secret_key),
        None => request,
    }
}

/// `AclSigner.calSignature`: base64 of HMAC-SHA1(`secret`, `content`).
pub fn sign(content: &[u8], secret: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    STANDARD.encode(hmac::sign(&key, content).as_ref())
}

/// Whether `signature` is `sign(content, secret)`, compared in constant time.
pub fn verify(content: &[u8], secret: &str, signature: &str) -> bool {
    let Ok(tag) = STANDARD.decode(signature) else {
        return false;
    };
    verify_tag(content, secret, &tag)
}

/// Whether `tag` is HMAC-SHA1(`secret`, `content`), compared in constant time: the gRPC
/// `authorization` metadata carries the tag in hex, the remoting `Signature` in base64.
pub fn verify_tag(content: &[u8], secret: &str, tag: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    hmac::verify(&key, content, tag).is_ok()
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::{ExtFields, RequestCode};

    use super::*;

    /// Computed by Java 5.3.3's `AclSigner.calSignature(data.getBytes(UTF_8), secret)`
    /// (docs/protocol-notes.md, "ACL").
    const JAVA_VECTOR: (&str, &str, &str) = ("abcd", "12345678", "NNwD+RZKRfSLqnJvoWrICvA/hQo=");
    const JAVA_REQUEST_VECTOR: (&str, &str) = ("secret", "XaQZgvMrvX5u/JUhfHm3qYZlijg=");

    #[test]
    fn the_signature_is_javas() {
        let (data, secret, expected) = JAVA_VECTOR;
        assert_eq!(sign(data.as_bytes(), secret), expected);
        assert!(verify(data.as_bytes(), secret, expected));
        assert!(!verify(data.as_bytes(), "wrong", expected));
        assert!(!verify(data.as_bytes(), secret, "NNwD+RZKRfSLqnJvoWrICvA/hQo"));
        assert!(!verify(data.as_bytes(), secret, ""));
    }

    #[test]
    fn content_is_the_sorted_values_without_the_signature_then_the_body() {
        let mut fields = ExtFields::new();
        fields.insert("topic", "T");
        fields.insert(SIGNATURE, "ignored");
        fields.insert(ACCESS_KEY, "alice");
        fields.insert(UNIQUE_MSG_QUERY_FLAG, "true");
        let mut request = RemotingCommand::request(RequestCode::QUERY_MESSAGE)
            .with_ext_fields(fields)
            .with_body(&b"body"[..]);
        request.version = version::V4_9_3;
        assert_eq!(signed_content(&request), b"aliceTbody");
        let (secret, expected) = JAVA_REQUEST_VECTOR;
        assert_eq!(sign(&signed_content(&request), secret), expected);
        request.version = version::V4_9_4;
        assert_eq!(signed_content(&request), b"alicetrueTbody");
    }

    /// acl.md §2.4's vectors (checked there with Java's `TreeMap` and `Mac`), secret 12345678.
    #[test]
    fn the_shared_vectors_verify() {
        let request = |pairs: &[(&str, &str)], body: &'static [u8]| {
            RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
                .with_ext_fields(pairs.iter().copied().collect())
                .with_body(body)
        };
        let vectors = [
            (
                request(&[("AccessKey", "rocketmq2"), ("topic", "TBW102")], b""),
                "/u5P/wZUbhjanu4LM/UzEdo2u2I=",
            ),
            (
                request(&[("topic", "TopicTest"), ("AccessKey", "RocketMQ")], b""),
                "0jiwhsaYp5ObE5GObbZH1I8/FT4=",
            ),
            (
                request(
                    &[
                        ("b", "TopicTest"),
                        ("a", "ProducerGroupA"),
                        ("k", "false"),
                        ("e", "0"),
                        ("SecurityToken", "t0k"),
                        ("AccessKey", "RocketMQ"),
                    ],
                    b"Hello RocketMQ",
                ),
                "5PRVP4RkvXRuzCWsCHsv+L6u9jE=",
            ),
        ];
        for (request, expected) in vectors {
            assert_eq!(sign(&signed_content(&request), "12345678"), expected);
        }
    }

    #[test]
    fn a_zero_length_value_counts_as_empty() {
        let mut fields = ExtFields::new();
        fields.push_raw("tags", None);
        fields.insert("topic", "T");
        let request = RemotingCommand::request(RequestCode::SEND_MESSAGE).with_ext_fields(fields);
        assert_eq!(signed_content(&request), b"T");
    }

    #[test]
    fn a_signed_request_carries_the_key_and_a_signature_the_server_accepts() {
        let mut fields = ExtFields::new();
        fields.insert("topic", "T");
        let request = RemotingCommand::request(RequestCode::REGISTER_BROKER)
            .with_ext_fields(fields)
            .with_body(&b"body"[..]);
        let signed = sign_request(request, "alice", "secret");
        assert_eq!(signed.ext(ACCESS_KEY), Some("alice"));
        assert_eq!(signed.ext(SIGNATURE), Some("XaQZgvMrvX5u/JUhfHm3qYZlijg="));
        assert!(verify(
            &signed_content(&signed),
            "secret",
            signed.ext(SIGNATURE).unwrap()
        ));
        let resigned = sign_request(signed, "alice", "secret");
        assert_eq!(resigned.ext(SIGNATURE), Some("XaQZgvMrvX5u/JUhfHm3qYZlijg="));
        let unsigned = sign_as_broker(
            RemotingCommand::request(RequestCode::REGISTER_BROKER),
            &AuthConfig::default(),
        );
        assert_eq!(unsigned.ext(ACCESS_KEY), None);
    }
}
