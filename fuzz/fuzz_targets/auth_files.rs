//! The ACL store's files and checks: `users.json` and `acls.json` (the input split at its first
//! NUL byte) load or are refused, never panic; a loaded table lists, authenticates a request
//! signed over the input and authorizes the input's needs without panicking.
#![no_main]
use ferrocket_broker::config::AuthConfig;
use ferrocket_broker::state::auth::policy::Need;
use ferrocket_broker::state::auth::signature::{sign_request, signed_content, verify};
use ferrocket_broker::state::auth::{AuthTable, model::Action, model::Resource};
use ferrocket_wire::body::{AclInfo, JsonBody, UserInfo};
use ferrocket_wire::{RemotingCommand, RequestCode};

fn list<T: JsonBody>(text: &[u8]) -> Option<Vec<T>> {
    let values: Vec<serde_json::Value> = serde_json::from_slice(text).ok()?;
    values.iter().map(|v| T::decode(v.to_string().as_bytes()).ok()).collect()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (users, acls) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"[]"[..]),
    };
    let text = String::from_utf8_lossy(data);
    let _ = verify(data, &text, &text);
    let (Some(users), Some(acls)) = (list::<UserInfo>(users), list::<AclInfo>(acls)) else {
        return;
    };
    let Ok((table, _)) = AuthTable::load(users, acls, &AuthConfig::default()) else {
        return;
    };
    let _ = table.list_acls(Some(&text), Some(&text));
    for user in table.list_users(None) {
        let request = RemotingCommand::request(RequestCode::SEND_MESSAGE).with_body(data.to_vec());
        let request = sign_request(request, &user.username, &user.password);
        assert!(table.authenticate(&request).is_ok() || user.user_status.name() == "disable");
        let _ = signed_content(&request);
        let need = Need::new(Resource::topic(Some(&text)), &[Action::Pub, Action::Sub]);
        let _ = table.authorize(Some(&user.username), &[need], &text);
    }
});
