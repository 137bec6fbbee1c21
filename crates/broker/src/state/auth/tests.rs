//! The auth table: Java's answers for users, ACLs, signatures and denials.

use ferrocket_wire::body::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode, ResponseCode};

use super::model::{Action, Resource};
use super::policy::Need;
use super::signature::{ACCESS_KEY, SIGNATURE, sign, signed_content};
use super::*;
use crate::config::{AuthConfig, InitUser};

fn config() -> AuthConfig {
    AuthConfig {
        init_user: Some(InitUser {
            username: "root".into(),
            password: "rootsecret".into(),
        }),
        ..AuthConfig::default()
    }
}

fn table_with_alice() -> AuthTable {
    let (mut table, added) = AuthTable::load(Vec::new(), Vec::new(), &config()).unwrap();
    assert!(added);
    let alice = user_from_info(&UserInfo::default(), Some("alice")).map(|mut u| {
        u.password = "secret".into();
        u
    });
    table.create_user(alice.unwrap()).unwrap();
    table
}

fn acl(subject: &str, resource: &str, actions: &[&str], decision: &str) -> AclInfo {
    AclInfo {
        policies: Some(vec![PolicyInfo {
            entries: Some(vec![PolicyEntryInfo {
                actions: Some(actions.iter().map(|a| a.to_string()).collect()),
                decision: Some(decision.into()),
                resource: Some(resource.into()),
                source_ips: None,
            }]),
            policy_type: None,
        }]),
        subject: Some(subject.into()),
    }
}

fn signed(user: &str, secret: &str, topic: &str) -> RemotingCommand {
    let mut fields = ExtFields::new();
    fields.insert("topic", topic);
    fields.insert(ACCESS_KEY, user);
    let mut request = RemotingCommand::request(RequestCode::SEND_MESSAGE)
        .with_ext_fields(fields)
        .with_body(&b"hello"[..]);
    let signature = sign(&signed_content(&request), secret);
    if let Some(fields) = request.ext_fields.as_mut() {
        fields.insert(SIGNATURE, signature);
    }
    request
}

#[test]
fn authentication_answers_as_java() {
    let table = table_with_alice();
    assert_eq!(table.authenticate(&signed("alice", "secret", "T")), Ok(()));
    assert_eq!(table.authenticate(&signed("root", "rootsecret", "T")), Ok(()));
    let wrong = table.authenticate(&signed("alice", "nope", "T")).unwrap_err();
    assert_eq!(wrong.to_string(), "check signature failed.");
    assert_eq!(wrong.response_code(), ResponseCode::NO_PERMISSION);
    let unknown = table.authenticate(&signed("bob", "secret", "T")).unwrap_err();
    assert_eq!(unknown.to_string(), "User:bob is not found.");
    let anonymous = RemotingCommand::request(RequestCode::SEND_MESSAGE);
    assert_eq!(
        table.authenticate(&anonymous).unwrap_err().to_string(),
        "username cannot be null."
    );
    // A field changed after signing breaks the signature.
    let mut tampered = signed("alice", "secret", "T");
    if let Some(fields) = tampered.ext_fields.as_mut() {
        fields.insert("topic", "U");
    }
    assert_eq!(table.authenticate(&tampered), Err(AuthError::SignatureMismatch));
}

#[test]
fn authorization_answers_as_java() {
    let mut table = table_with_alice();
    table
        .upsert_acl(&acl("User:alice", "Topic:orders*", &["Pub"], "Allow"), None)
        .unwrap();
    let publish = |topic: &str| vec![Need::new(Resource::topic(Some(topic)), &[Action::Pub])];
    assert_eq!(
        table.authorize(Some("alice"), &publish("orders-1"), "127.0.0.1"),
        Ok(())
    );
    let denied = table
        .authorize(Some("alice"), &publish("secret"), "127.0.0.1")
        .unwrap_err();
    assert_eq!(
        denied.to_string(),
        "User:alice has no permission to access Topic:secret from 127.0.0.1, no matched policies."
    );
    assert_eq!(denied.response_code(), ResponseCode::NO_PERMISSION);
    table
        .upsert_acl(&acl("User:alice", "Topic:orders-9", &["Pub"], "Deny"), None)
        .unwrap();
    assert_eq!(
        table
            .authorize(Some("alice"), &publish("orders-9"), "10.0.0.1")
            .unwrap_err()
            .to_string(),
        "User:alice has no permission to access Topic:orders-9 from 10.0.0.1, the decision is deny."
    );
    // A super user needs no ACL; a request without AccessKey is refused as Java refuses it.
    assert_eq!(table.authorize(Some("root"), &publish("secret"), "127.0.0.1"), Ok(()));
    assert_eq!(
        table.authorize(None, &publish("x"), "127.0.0.1"),
        Err(AuthError::SubjectMissing)
    );
    assert_eq!(table.authorize(None, &[], "127.0.0.1"), Ok(()));
}

#[test]
fn users_are_managed_as_java_manages_them() {
    let mut table = table_with_alice();
    let again = user_from_info(&UserInfo::default(), Some("alice")).map(|mut u| {
        u.password = "x".into();
        u
    });
    assert_eq!(table.create_user(again.unwrap()), Err(AuthError::UserExists));
    let no_password = user_from_info(&UserInfo::default(), Some("carol")).unwrap();
    assert_eq!(table.create_user(no_password), Err(AuthError::PasswordBlank));
    let update = UserInfo {
        username: Some("alice".into()),
        password: Some("changed".into()),
        user_status: Some("DISABLE".into()),
        ..UserInfo::default()
    };
    table.update_user(&update, false).unwrap();
    let alice = table.user("alice").unwrap();
    assert_eq!(
        (alice.password.as_str(), alice.user_status),
        ("changed", UserStatus::Disable)
    );
    assert_eq!(
        table
            .authenticate(&signed("alice", "changed", "T"))
            .unwrap_err()
            .to_string(),
        "User:alice is disabled."
    );
    let root = UserInfo {
        username: Some("root".into()),
        password: Some("p".into()),
        ..UserInfo::default()
    };
    assert_eq!(
        table.update_user(&root, false),
        Err(AuthError::StoredSuperUserOnlyBySuperUser)
    );
    assert!(!table.is_super_login(Some("alice")) && table.is_super_login(Some("root")) && table.is_super_login(None));
    assert_eq!(table.list_users(Some("ali")).len(), 1);
    assert_eq!(table.list_users(None).len(), 2);
    table
        .upsert_acl(&acl("User:alice", "Topic:t", &["Sub"], "Allow"), None)
        .unwrap();
    table.delete_user("alice", false).unwrap();
    assert!(table.user("alice").is_none());
    assert!(table.list_acls(None, None).is_empty(), "the user's ACL goes with it");
    assert_eq!(table.delete_user("nobody", false), Ok(()));
}

#[test]
fn acls_merge_validate_and_delete_as_java_does() {
    let mut table = table_with_alice();
    table
        .upsert_acl(&acl("User:alice", "Topic:a", &["Pub"], "Allow"), None)
        .unwrap();
    table
        .upsert_acl(&acl("User:alice", "Topic:b", &["Sub"], "Allow"), None)
        .unwrap();
    table
        .upsert_acl(&acl("User:alice", "Topic:a", &["Sub", "Bogus"], "Deny"), None)
        .unwrap();
    let listed = table.acl(Some("User:alice")).unwrap().unwrap().to_info();
    let entries = listed.policies.unwrap()[0].entries.clone().unwrap();
    let summary: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.resource.clone().unwrap(),
                e.actions.clone().unwrap().join(","),
                e.decision.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Topic:a".into(), "Sub".into(), "Deny".into()),
            ("Topic:b".into(), "Sub".into(), "Allow".into())
        ]
    );
    let refused = |info: AclInfo| table.clone().upsert_acl(&info, None).unwrap_err();
    assert_eq!(
        refused(acl("User:bob", "Topic:a", &["Pub"], "Allow")).to_string(),
        "The subject of User:bob is not exist."
    );
    assert_eq!(
        refused(acl("User:alice", "Queue:a", &["Pub"], "Allow")),
        AuthError::ResourceMissing
    );
    assert_eq!(
        refused(acl("User:alice", "Topic:a", &["Bogus"], "Allow")),
        AuthError::ActionsEmpty
    );
    assert_eq!(
        refused(acl("User:alice", "Topic:a", &["Any"], "Allow")),
        AuthError::ActionsAny
    );
    assert_eq!(
        refused(acl("User:alice", "Topic:a", &["Pub"], "Maybe")),
        AuthError::DecisionIllegal
    );
    let mut bad_ip = acl("User:alice", "Topic:a", &["Pub"], "Allow");
    if let Some(entry) = bad_ip.policies.as_mut().and_then(|p| p[0].entries.as_mut()) {
        entry[0].source_ips = Some(vec!["10.0.0.0/40".into()]);
    }
    assert_eq!(refused(bad_ip), AuthError::SourceIpInvalid);
    assert_eq!(
        refused(AclInfo {
            subject: Some("User:alice".into()),
            ..AclInfo::default()
        }),
        AuthError::AclBodyMissing
    );
    assert_eq!(table.list_acls(Some("alice"), Some("Topic:b")).len(), 1);
    assert!(table.list_acls(Some("bob"), None).is_empty());
    table.delete_acl(Some("User:alice"), None, Some("Topic:a")).unwrap();
    assert_eq!(table.list_acls(None, Some("Topic:a")).len(), 0);
    table.delete_acl(Some("User:alice"), None, None).unwrap();
    assert_eq!(
        table.delete_acl(Some("User:alice"), None, None),
        Err(AuthError::AclNotExist)
    );
    assert_eq!(table.acl(Some("User:nobody")), Err(AuthError::AclSubjectNotExist));
}

#[test]
fn the_table_survives_its_files() {
    let mut table = table_with_alice();
    table
        .upsert_acl(&acl("User:alice", "Group:g*", &["Sub", "Get"], "Allow"), None)
        .unwrap();
    let (reloaded, added) = AuthTable::load(table.users_file_body(), table.acls_file_body(), &config()).unwrap();
    assert!(!added, "the initial user is already there");
    assert_eq!(reloaded, table);
}

#[test]
fn needs_are_read_as_javas_context_builder_reads_them() {
    let request =
        |code, pairs: &[(&str, &str)]| RemotingCommand::request(code).with_ext_fields(pairs.iter().copied().collect());
    let keys = |needs: Vec<Need>| -> Vec<String> {
        needs
            .iter()
            .map(|n| {
                format!(
                    "{} {}",
                    n.resource.key(),
                    n.actions.iter().map(|a| a.name()).collect::<Vec<_>>().join(",")
                )
            })
            .collect()
    };
    let send = request(RequestCode::SEND_MESSAGE_V2, &[("a", "pg"), ("b", "T")]);
    assert_eq!(keys(needs::needs(&send, "C").unwrap()), ["Topic:T Pub"]);
    let retry = request(RequestCode::SEND_MESSAGE_V2, &[("a", "cg"), ("b", "%RETRY%cg")]);
    assert_eq!(keys(needs::needs(&retry, "C").unwrap()), ["Group:cg Sub"]);
    let pull = request(RequestCode::PULL_MESSAGE, &[("topic", "T"), ("consumerGroup", "cg")]);
    assert_eq!(keys(needs::needs(&pull, "C").unwrap()), ["Topic:T Sub", "Group:cg Sub"]);
    let create = request(RequestCode::UPDATE_AND_CREATE_TOPIC, &[("topic", "T")]);
    assert_eq!(keys(needs::needs(&create, "C").unwrap()), ["Topic:T Create"]);
    let user = request(RequestCode::AUTH_CREATE_USER, &[("username", "u")]);
    assert_eq!(keys(needs::needs(&user, "C").unwrap()), ["Cluster:C Update"]);
    let stats = request(
        RequestCode::GET_CONSUME_STATS,
        &[("consumerGroup", "cg"), ("topicList", "a;b")],
    );
    assert_eq!(
        keys(needs::needs(&stats, "C").unwrap()),
        ["Group:cg Get", "Topic:a Get", "Topic:b Get"]
    );
    // Ours, stricter than Java (which checks nothing for these).
    let config = RemotingCommand::request(RequestCode::GET_BROKER_CONFIG);
    assert_eq!(keys(needs::needs(&config, "C").unwrap()), ["Cluster:C Get"]);
    let update = request(RequestCode::UPDATE_BROKER_CONFIG, &[("AccessKey", "a")]);
    assert_eq!(keys(needs::needs(&update, "C").unwrap()), ["Cluster:C Update"]);
    let lite = request(
        RequestCode::LITE_PULL_MESSAGE,
        &[("topic", "T"), ("consumerGroup", "cg")],
    );
    assert_eq!(keys(needs::needs(&lite, "C").unwrap()), ["Topic:T Sub", "Group:cg Sub"]);
    let group = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
        .with_body(&br#"{"groupName":"g1"}"#[..]);
    assert_eq!(keys(needs::needs(&group, "C").unwrap()), ["Group:g1 Create"]);
    let unannotated = request(RequestCode::CHECK_CLIENT_CONFIG, &[("x", "y")]);
    assert!(needs::needs(&unannotated, "C").unwrap().is_empty());
    let heartbeat = RemotingCommand::request(RequestCode::HEART_BEAT)
        .with_ext_fields([("AccessKey", "alice")].into_iter().collect())
        .with_body(&br#"{"clientID":"c","consumerDataSet":[{"groupName":"cg","subscriptionDataSet":[{"topic":"T"},{"topic":"%RETRY%cg"}]}],"producerDataSet":[]}"#[..]);
    assert_eq!(
        keys(needs::needs(&heartbeat, "C").unwrap()),
        ["Group:cg Sub", "Topic:T Sub"]
    );
    let broken = heartbeat.clone().with_body(&b"{"[..]);
    assert_eq!(needs::needs(&broken, "C"), Err(AuthError::ContextUnparsable));
}
