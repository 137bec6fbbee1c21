use ferrocket_wire::body::{ConsumerData, HeartbeatData, JsonBody, SubscriptionData};
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode};

use super::address::AddressPattern;
use super::*;
use crate::state::auth::signature::sign_request;

const FILE: &str = "
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: appUser01
    secretKey: s3cretKey
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - orders=PUB|SUB
      - audit=SUB
      - closed=DENY
    groupPerms:
      - billing=SUB
      - frozen=DENY
  - accessKey: opsAdmin01
    secretKey: an0therKey
    whiteRemoteAddress: 192.168.1.*
    admin: true
  - accessKey: scopedAdmin
    secretKey: th1rdKey!
    admin: true
    topicPerms:
      - orders=SUB
  - accessKey: 12345678
    secretKey: 87654321
    defaultTopicPerm: ANY
    defaultGroupPerm: pub
";

fn acl() -> PlainAcl {
    PlainAcl::from_files(&[("plain_acl.yml".into(), file::parse(FILE).unwrap())]).unwrap()
}

fn request(code: RequestCode, pairs: &[(&str, &str)]) -> RemotingCommand {
    RemotingCommand::request(code).with_ext_fields(pairs.iter().copied().collect::<ExtFields>())
}

fn signed(code: RequestCode, pairs: &[(&str, &str)], key: &str, secret: &str) -> RemotingCommand {
    sign_request(request(code, pairs), key, secret)
}

fn as_user(code: RequestCode, pairs: &[(&str, &str)]) -> RemotingCommand {
    signed(code, pairs, "appUser01", "s3cretKey")
}

const CLIENT: &str = "127.0.0.1";

fn refusal(acl: &PlainAcl, request: &RemotingCommand) -> String {
    acl.validate(request, CLIENT).unwrap_err().to_string()
}

#[test]
fn the_file_reads_as_java_reads_it() {
    let config = file::parse(FILE).unwrap();
    assert_eq!(config.global_white_remote_addresses, ["10.10.103.*"]);
    assert_eq!(config.accounts.len(), 4);
    let user = &config.accounts[0];
    assert_eq!(user.white_remote_address, None);
    assert_eq!(user.topic_perms, ["orders=PUB|SUB", "audit=SUB", "closed=DENY"]);
    assert!(config.accounts[1].admin);
    // A number is its text, as fastjson makes it.
    assert_eq!(config.accounts[3].access_key, "12345678");
    assert_eq!(file::parse("").unwrap(), FileConfig::default());
    assert!(file::parse("- a\n- b").unwrap_err().contains("mapping"));
    assert!(
        file::parse("accounts: 3")
            .unwrap_err()
            .contains("accounts must be a list")
    );
    assert!(
        file::parse("accounts:\n  - accessKey: [a]\n")
            .unwrap_err()
            .contains("accounts[0]: accessKey must be text")
    );
    assert!(
        file::parse("accounts:\n  - admin: maybe\n")
            .unwrap_err()
            .contains("admin")
    );
    assert!(file::parse("accounts: [").unwrap_err().starts_with("not YAML"));
}

#[test]
fn short_keys_and_malformed_grants_are_refused_at_start() {
    let load = |text: &str| PlainAcl::from_files(&[("f.yml".into(), file::parse(text).unwrap())]);
    let short = load("accounts:\n  - accessKey: sixsix\n    secretKey: 1234567\n").unwrap_err();
    assert!(short.contains("length should longer than 6"), "{short}");
    assert!(!short.contains("1234567"), "the secret is not logged: {short}");
    assert!(load("accounts:\n  - accessKey: seven77\n    secretKey: 123456\n").is_err());
    assert!(load("accounts:\n  - accessKey: seven77\n    secretKey: 1234567\n").is_ok());
    let malformed = load("accounts:\n  - accessKey: seven77\n    secretKey: 1234567\n    topicPerms: [a=PUB=SUB]\n");
    assert!(
        malformed
            .unwrap_err()
            .contains("Parse resource permission failed for topic:a=PUB=SUB")
    );
    assert!(load("accounts:\n  - accessKey: seven77\n    secretKey: 1234567\n    groupPerms: [=SUB]\n").is_err());
    // Empty pieces are dropped, as StringUtils.split drops them.
    assert!(load("accounts:\n  - accessKey: seven77\n    secretKey: 1234567\n    topicPerms: [a==PUB]\n").is_ok());
    let bad_white = load("accounts:\n  - accessKey: seven77\n    secretKey: 1234567\n    whiteRemoteAddress: 1.2.3\n");
    assert!(bad_white.unwrap_err().contains("whiteRemoteAddress of seven77"));
    assert!(load("globalWhiteRemoteAddresses: [300.1.1.*]\n").is_err());
}

#[test]
fn the_first_file_naming_a_key_keeps_it() {
    let first = file::parse("accounts:\n  - accessKey: seven77\n    secretKey: first11\n").unwrap();
    let second = file::parse("accounts:\n  - accessKey: seven77\n    secretKey: second2\n").unwrap();
    let acl = PlainAcl::from_files(&[("a.yml".into(), first), ("plain_acl.yml".into(), second)]).unwrap();
    assert_eq!(acl.account_count(), 1);
    let request = signed(RequestCode::GET_BROKER_CONFIG, &[("x", "y")], "seven77", "first11");
    assert_eq!(acl.validate(&request, CLIENT), Ok(()));
}

#[test]
fn permissions_parse_and_grant_as_javas() {
    assert_eq!(Perm::parse(Some(" PUB ")), Perm::PUB);
    assert_eq!(Perm::parse(Some("SUB|PUB")), Perm::parse(Some("PUB|SUB")));
    for unknown in [None, Some("ANY"), Some("pub"), Some("PUB | SUB"), Some("")] {
        assert_eq!(Perm::parse(unknown), Perm::DENY, "{unknown:?}");
    }
    let both = Perm::parse(Some("PUB|SUB"));
    assert!(both.grants(Perm::PUB) && both.grants(Perm::SUB) && both.grants(Perm::ANY));
    assert!(!Perm::PUB.grants(Perm::SUB));
    assert!(Perm::SUB.grants(Perm::ANY));
    assert!(!Perm::DENY.grants(Perm::ANY));
    assert!(!Perm(Perm::DENY.0 | Perm::PUB.0).grants(Perm::PUB));
}

#[test]
fn address_patterns_match_as_javas() {
    let matches = |pattern: &str, ip: &str| AddressPattern::parse(pattern).unwrap().matches(ip);
    assert!(!matches("", "1.2.3.4") && !matches("  ", "1.2.3.4"));
    for any in ["*", "*.*.*.*", "*:*:*:*:*:*:*:*"] {
        assert!(matches(any, "1.2.3.4") && matches(any, "::1"));
    }
    assert!(matches("10.0.0.1", "10.0.0.1") && !matches("10.0.0.1", "10.0.0.2"));
    assert!(matches("::1", "0:0:0:0:0:0:0:1"));
    assert!(matches("10.0.0.1,10.0.0.2", "10.0.0.2") && !matches("10.0.0.1,10.0.0.2", "10.0.0.3"));
    assert!(matches("192.168.1.{1,2,3}", "192.168.1.3") && !matches("192.168.1.{1,2,3}", "192.168.1.4"));
    assert!(matches("fe80::{a,b}", "fe80::b"));
    assert!(matches("192.168.1.*", "192.168.1.200") && !matches("192.168.1.*", "192.168.2.1"));
    assert!(matches("192.168.1.1-100", "192.168.1.100") && !matches("192.168.1.1-100", "192.168.1.101"));
    assert!(matches("10.10.1-5.*", "10.10.5.9") && !matches("10.10.1-5.*", "10.10.6.9"));
    assert!(matches("10.*.*.*", "10.99.1.1") && !matches("10.*.*.*", "11.0.0.1"));
    // Parts after the deciding one are not checked (Java's quirk).
    assert!(matches("10.10.1-5.7", "10.10.3.8"));
    assert!(!matches("10.0.0.*", "::1") && !matches("10.0.0.*", "not-an-ip"));
    for refused in [
        "1.2.3",
        "300.1.1.1",
        "10.0.0.1,bogus",
        "192.168.{1,2}",
        "192.168.1.{1,300}",
        "192.168.*",
        "192.168.1.100-1",
        "192.168.1.-5",
        "1.2.3.4-300",
        "*.1.1.1",
        "fe80::1-ff",
        "a{1}",
    ] {
        assert!(AddressPattern::parse(refused).is_err(), "{refused}");
    }
}

/// Java 4.9.8's `RemoteAddressStrategyTest` IPv6 cases: the range is over the group after the
/// head, in hex, for every value from -10 to 65635 (`rangeIPv6NetaddressStrategyTest`).
#[test]
fn ipv6_ranges_match_as_javas() {
    let sweep = |pattern: &str, head: &str, low: i32, high: i32, inside: bool| {
        let strategy = AddressPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        for value in -10..65_536 + 100 {
            let hex = match value {
                v if v < 0 => format!("-{:x}", -v),
                v => format!("{v:x}"),
            };
            let address = format!("{head}{hex}");
            let expected = inside && (low..=high).contains(&value);
            assert_eq!(strategy.matches(&address), expected, "{pattern} against {address}");
        }
    };
    sweep("1050::0005:0600:300c:1-200", "1050::0005:0600:300c:", 1, 0x200, true);
    sweep("1050::0005:0600:300c:*", "1050::0005:0600:300c:", 0, 0xffff, true);
    sweep("1050::0005:0600:3001:*", "1050::0005:0600:300c:", 0, 0xffff, false);
    sweep(
        "1050::0005:0600:300c:1-200:*",
        "1050::0005:0600:300c:1:",
        0,
        0xffff,
        true,
    );
    sweep(
        "1050::0005:0600:300c:1-200:*",
        "1050::0005:0600:300c:201:",
        0,
        0xffff,
        false,
    );
    // A head without `::` is a prefix: later groups are not checked (Java's
    // "1050:0005:0600:300c:3261:*").
    let prefix = AddressPattern::parse("1050:0005:0600:300c:3261:*").unwrap();
    assert!(prefix.matches("1050:5:600:300c:3261:abcd:1:2"));
    assert!(!prefix.matches("1050:5:600:300c:3262:abcd:1:2") && !prefix.matches("10.0.0.1"));
    let six = AddressPattern::parse("1050::0005:0600:300c:3261:1-20:*").unwrap();
    assert!(six.matches("1050::5:600:300c:3261:20:ffff") && !six.matches("1050::5:600:300c:3261:21:0"));
    // The other IPv6 forms of the Java test: one address, a list, braces.
    assert!(
        AddressPattern::parse("1050:0000:0000:0000:0005:0600:300c:326b")
            .unwrap()
            .matches("1050::5:600:300C:326B")
    );
    let list = AddressPattern::parse("1050::0005:0600:300c:1,1050::0005:0600:300c:2,1050::0005:0600:300c:3").unwrap();
    let braces = AddressPattern::parse("1050::0005:0600:300c:{1,2,3}").unwrap();
    for strategy in [list, braces] {
        for last in 1..=3 {
            assert!(strategy.matches(&format!("1050:0000:0000:0000:0005:0600:300c:{last}")));
        }
        assert!(!strategy.matches("1050:0000:0000:0000:0005:0600:300c:4"));
        assert!(!strategy.matches("1050:0000:0000:0000:0005:0600:300c:0"));
    }
    for refused in [
        "::1ggg",
        "::1,2,3}",
        "1050::*:1",
        "1050::0005:1-200:5",
        "1050::0005:200-1",
        "1050::0005:1-10000",
        "1050::*",
        "1:2:3:4:5:6:7:8:1-2",
        "1:2:3:4:5:6:7:1-2:*",
    ] {
        assert!(AddressPattern::parse(refused).is_err(), "{refused}");
    }
}

#[test]
fn the_global_whitelist_lets_anything_in() {
    let acl = acl();
    let unsigned = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC);
    assert_eq!(acl.validate(&unsigned, "10.10.103.7"), Ok(()));
    assert_eq!(refusal(&acl, &unsigned), "No accessKey is configured");
    let no_key = request(RequestCode::SEND_MESSAGE, &[("topic", "orders")]);
    assert_eq!(refusal(&acl, &no_key), "No accessKey is configured");
}

#[test]
fn keys_and_signatures_are_checked() {
    let acl = acl();
    let unknown = signed(
        RequestCode::SEND_MESSAGE,
        &[("topic", "orders")],
        "nobody00",
        "whatever1",
    );
    assert_eq!(refusal(&acl, &unknown), "No acl config for nobody00");
    let wrong = signed(
        RequestCode::SEND_MESSAGE,
        &[("topic", "orders")],
        "appUser01",
        "wrong-secret",
    );
    let refused = acl.validate(&wrong, CLIENT).unwrap_err();
    assert_eq!(refused.to_string(), "Check signature failed for accessKey=appUser01");
    assert_eq!(
        refused.remark(),
        "org.apache.rocketmq.acl.common.AclException: Check signature failed for accessKey=appUser01, \
         org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:684)"
    );
    let unsigned = request(
        RequestCode::SEND_MESSAGE,
        &[("topic", "orders"), ("AccessKey", "appUser01")],
    );
    assert!(refusal(&acl, &unsigned).starts_with("Check signature failed"));
    let mut tampered = as_user(RequestCode::SEND_MESSAGE, &[("topic", "orders")]);
    tampered.body = Some(b"changed".to_vec().into());
    assert!(refusal(&acl, &tampered).starts_with("Check signature failed"));
    assert_eq!(
        acl.validate(&as_user(RequestCode::SEND_MESSAGE, &[("topic", "orders")]), CLIENT),
        Ok(())
    );
}

#[test]
fn an_accounts_whitelist_skips_signature_and_permissions() {
    let acl = acl();
    let forged = signed(
        RequestCode::DELETE_TOPIC_IN_BROKER,
        &[("topic", "x")],
        "opsAdmin01",
        "not-the-secret",
    );
    assert_eq!(acl.validate(&forged, "192.168.1.20"), Ok(()));
    assert!(acl.validate(&forged, "192.168.2.20").is_err());
}

#[test]
fn topics_use_explicit_grants_then_the_default() {
    let acl = acl();
    let send = |topic| as_user(RequestCode::SEND_MESSAGE_V2, &[("a", "producers"), ("b", topic)]);
    assert_eq!(acl.validate(&send("orders"), CLIENT), Ok(()));
    assert_eq!(refusal(&acl, &send("audit")), "No default permission for topic:audit");
    assert_eq!(refusal(&acl, &send("closed")), "No default permission for topic:closed");
    assert_eq!(refusal(&acl, &send("other")), "No default permission for topic:other");
    let explicit = acl.validate(&send("audit"), CLIENT).unwrap_err();
    assert!(
        explicit
            .remark()
            .ends_with("checkPerm(PlainPermissionManager.java:611)")
    );
    let default = acl.validate(&send("other"), CLIENT).unwrap_err();
    assert!(default.remark().ends_with("checkPerm(PlainPermissionManager.java:606)"));
    // 4.9.8 forgot SEND_BATCH_MESSAGE; we check it as SEND_MESSAGE_V2.
    let batch = as_user(RequestCode::SEND_BATCH_MESSAGE, &[("a", "producers"), ("b", "other")]);
    assert!(acl.validate(&batch, CLIENT).is_err());
    // The trace topic is let through for PUB.
    let trace = as_user(RequestCode::SEND_MESSAGE, &[("topic", "RMQ_SYS_TRACE_TOPIC")]);
    assert_eq!(acl.validate(&trace, CLIENT), Ok(()));
}

#[test]
fn groups_are_retry_topics() {
    let acl = acl();
    let pull = |topic, group| as_user(RequestCode::PULL_MESSAGE, &[("topic", topic), ("consumerGroup", group)]);
    assert_eq!(acl.validate(&pull("orders", "billing"), CLIENT), Ok(()));
    assert_eq!(
        acl.validate(&pull("orders", "anyone"), CLIENT),
        Ok(()),
        "defaultGroupPerm SUB"
    );
    assert_eq!(
        refusal(&acl, &pull("orders", "frozen")),
        "No default permission for group:frozen"
    );
    assert_eq!(
        refusal(&acl, &pull("other", "billing")),
        "No default permission for topic:other"
    );
    // A send to a retry topic needs SUB on the group: V2 names it in `a`.
    let retry = as_user(
        RequestCode::SEND_MESSAGE_V2,
        &[("a", "frozen"), ("b", "%RETRY%billing")],
    );
    assert_eq!(refusal(&acl, &retry), "No default permission for group:frozen");
    let retry_v1 = as_user(RequestCode::SEND_MESSAGE, &[("topic", "%RETRY%frozen")]);
    assert_eq!(refusal(&acl, &retry_v1), "No default permission for group:frozen");
    let back = as_user(RequestCode::CONSUMER_SEND_MSG_BACK, &[("group", "frozen")]);
    assert!(acl.validate(&back, CLIENT).is_err());
    let list = as_user(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &[("consumerGroup", "frozen")]);
    assert!(acl.validate(&list, CLIENT).is_err());
    let unregister = as_user(RequestCode::UNREGISTER_CLIENT, &[("clientID", "c")]);
    assert_eq!(
        acl.validate(&unregister, CLIENT),
        Ok(()),
        "a producer's unregister names no group"
    );
}

#[test]
fn a_heartbeat_needs_each_consumers_group_and_topics() {
    let acl = acl();
    let heartbeat = |group: &str, topic: &str| {
        let data = HeartbeatData {
            client_id: "c".into(),
            consumer_data_set: vec![ConsumerData {
                group_name: group.into(),
                subscription_data_set: vec![SubscriptionData {
                    topic: topic.into(),
                    ..SubscriptionData::default()
                }],
                ..ConsumerData::default()
            }],
            ..HeartbeatData::default()
        };
        sign_request(
            request(RequestCode::HEART_BEAT, &[("x", "y")]).with_body(data.encode()),
            "appUser01",
            "s3cretKey",
        )
    };
    assert_eq!(acl.validate(&heartbeat("billing", "audit"), CLIENT), Ok(()));
    assert_eq!(
        refusal(&acl, &heartbeat("billing", "other")),
        "No default permission for topic:other"
    );
    let garbage = sign_request(
        request(RequestCode::HEART_BEAT, &[("x", "y")]).with_body(&b"{"[..]),
        "appUser01",
        "s3cretKey",
    );
    let refused = acl.validate(&garbage, CLIENT).unwrap_err();
    assert!(matches!(refused, AclRefusal::Unparsable { .. }));
    assert!(
        refused
            .remark()
            .ends_with("PlainAccessValidator.parse(PlainAccessValidator.java:134)")
    );
}

#[test]
fn offsets_need_their_header_and_sub_on_both() {
    let acl = acl();
    let update = |pairs: &[(&str, &str)]| as_user(RequestCode::UPDATE_CONSUMER_OFFSET, pairs);
    let full = [
        ("consumerGroup", "billing"),
        ("topic", "audit"),
        ("queueId", "0"),
        ("commitOffset", "1"),
    ];
    assert_eq!(acl.validate(&update(&full), CLIENT), Ok(()));
    assert_eq!(
        refusal(&acl, &update(&full[..3])),
        "the custom field <commitOffset> is null"
    );
}

#[test]
fn admin_codes_need_an_admin_and_48_admins_keep_their_explicit_grants() {
    let acl = acl();
    let create = |key, secret| {
        signed(
            RequestCode::UPDATE_AND_CREATE_TOPIC,
            &[("topic", "orders")],
            key,
            secret,
        )
    };
    assert_eq!(
        refusal(&acl, &create("appUser01", "s3cretKey")),
        "Need admin permission for request code=17, but accessKey=appUser01 is not"
    );
    assert_eq!(acl.validate(&create("opsAdmin01", "an0therKey"), CLIENT), Ok(()));
    for code in [
        RequestCode::UPDATE_BROKER_CONFIG,
        RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
        RequestCode::AUTH_LIST_USER,
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
    ] {
        assert!(matches!(
            acl.validate(&as_user(code, &[("x", "y")]), CLIENT),
            Err(AclRefusal::NeedAdmin { .. })
        ));
    }
    // An admin without grants passes every resource check; one with grants is held to them,
    // with DENY for what it does not list (no defaults written).
    let admin_send = signed(
        RequestCode::SEND_MESSAGE,
        &[("topic", "anything")],
        "opsAdmin01",
        "an0therKey",
    );
    assert_eq!(acl.validate(&admin_send, CLIENT), Ok(()));
    let scoped = |topic| {
        signed(
            RequestCode::SEND_MESSAGE,
            &[("topic", topic)],
            "scopedAdmin",
            "th1rdKey!",
        )
    };
    assert_eq!(
        refusal(&acl, &scoped("orders")),
        "No default permission for topic:orders"
    );
    assert_eq!(
        refusal(&acl, &scoped("anything")),
        "No default permission for topic:anything"
    );
}

#[test]
fn unknown_default_permissions_are_deny() {
    let acl = acl();
    let send = signed(RequestCode::SEND_MESSAGE, &[("topic", "t")], "12345678", "87654321");
    assert_eq!(refusal(&acl, &send), "No default permission for topic:t");
    let pull = signed(
        RequestCode::PULL_MESSAGE,
        &[("topic", "t"), ("consumerGroup", "g")],
        "12345678",
        "87654321",
    );
    assert!(acl.validate(&pull, CLIENT).is_err());
    let other_code = signed(RequestCode::GET_MAX_OFFSET, &[("topic", "t")], "12345678", "87654321");
    assert_eq!(
        acl.validate(&other_code, CLIENT),
        Ok(()),
        "codes outside the table need a signature only"
    );
}

/// When two resources fail, the one named is the first in Java's `HashMap` order: for
/// `{"zzz", "%RETRY%g"}` (inserted in that order) Java iterates `%RETRY%g` (bucket 10 of 16)
/// before `zzz` (bucket 11).
#[test]
fn refusals_name_the_resource_java_walks_first() {
    let needed = vec![("zzz".to_owned(), Perm::SUB), ("%RETRY%g".to_owned(), Perm::SUB)];
    let ordered: Vec<&str> = java_hash_map_order(&needed).iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(ordered, ["%RETRY%g", "zzz"]);
    let acl = acl();
    let pull = as_user(
        RequestCode::PULL_MESSAGE,
        &[("topic", "zzz"), ("consumerGroup", "frozen")],
    );
    assert_eq!(refusal(&acl, &pull), "No default permission for group:frozen");
}
