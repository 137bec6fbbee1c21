//! ACL 1.0's `plain_acl.yml` (the input as the file's text): it parses or is refused, never
//! panics; a loaded table validates a request signed by each account's keys from an address the
//! input spells, and every address pattern the file names parses and matches without panicking.
#![no_main]
use ferrocket_broker::state::auth::signature::sign_request;
use ferrocket_broker::state::plain_acl::address::AddressPattern;
use ferrocket_broker::state::plain_acl::{PlainAcl, file};
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode};

/// The file is the operator's, read once at start, not a peer's input: inputs are kept to a few
/// KiB so that YAML nested thousands of levels deep (which yaml-rust2 builds, and drops, by
/// recursion) does not turn a stack limit of the fuzzer's into a finding.
const INPUT_BYTES_FUZZED: usize = 8 * 1024;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.len() > INPUT_BYTES_FUZZED {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let _ = AddressPattern::parse(&text).map(|p| p.matches(&text));
    let Ok(config) = file::parse(&text) else {
        return;
    };
    for pattern in &config.global_white_remote_addresses {
        let _ = AddressPattern::parse(pattern).map(|p| p.matches("10.0.0.1"));
    }
    let accounts = config.accounts.clone();
    let Ok(acl) = PlainAcl::from_files(&[("fuzz.yml".into(), config)]) else {
        return;
    };
    for account in accounts.iter().take(16) {
        let mut fields = ExtFields::new();
        fields.insert("topic", text.as_ref());
        fields.insert("consumerGroup", text.as_ref());
        for code in [RequestCode::SEND_MESSAGE, RequestCode::PULL_MESSAGE, RequestCode::UPDATE_AND_CREATE_TOPIC] {
            let request = RemotingCommand::request(code).with_ext_fields(fields.clone());
            let request = sign_request(request, &account.access_key, &account.secret_key);
            let _ = acl.validate(&request, "127.0.0.1");
            let _ = acl.validate(&request, &text);
        }
    }
});
