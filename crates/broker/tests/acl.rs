//! ACL over the wire: with `authenticationEnabled` and `authorizationEnabled` the broker refuses
//! unsigned and wrongly signed requests and requests outside a user's ACL with Java's answers,
//! the AUTH_* admin codes manage users and ACLs durably (a restart keeps them), and a slave
//! signs its metadata sync with `innerClientAuthenticationCredentials`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{ask, client, create_topic, start_broker};
use ferrocket_broker::config::{InitUser, InnerCredentials};
use ferrocket_broker::state::auth::signature::sign_request;
use ferrocket_broker::{BrokerConfig, BrokerRole};
use ferrocket_wire::body::{AclInfo, JsonBody, PolicyEntryInfo, PolicyInfo, UserInfo};
use ferrocket_wire::{RemotingCommand, RequestCode};

const ROOT: (&str, &str) = ("root", "rootsecret");
const ALICE: (&str, &str) = ("alice", "alicesecret");

fn acl_on(config: &mut BrokerConfig) {
    config.auth.authentication_enabled = true;
    config.auth.authorization_enabled = true;
    config.auth.init_user = Some(InitUser {
        username: ROOT.0.into(),
        password: ROOT.1.into(),
    });
}

fn signed(request: RemotingCommand, (user, secret): (&str, &str)) -> RemotingCommand {
    sign_request(request, user, secret)
}

fn with(code: RequestCode, pairs: &[(&str, &str)]) -> RemotingCommand {
    RemotingCommand::request(code).with_ext_fields(pairs.iter().copied().collect())
}

fn refused(response: &RemotingCommand, remark: &str) {
    assert_eq!((response.code, response.remark.as_deref()), (16, Some(remark)));
}

#[tokio::test(start_paused = true)]
async fn signatures_acls_and_the_user_store_as_java_answers_them() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), acl_on).await;
    let client = client();
    let all_topics = || RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG);

    refused(&ask(&client, &broker, all_topics()).await, "username cannot be null.");
    refused(
        &ask(&client, &broker, signed(all_topics(), (ROOT.0, "wrong"))).await,
        "check signature failed.",
    );
    assert_eq!(ask(&client, &broker, signed(all_topics(), ROOT)).await.code, 0);

    let alice = UserInfo {
        password: Some(ALICE.1.into()),
        ..UserInfo::default()
    };
    let create_user = with(RequestCode::AUTH_CREATE_USER, &[("username", ALICE.0)]).with_body(alice.encode());
    assert_eq!(ask(&client, &broker, signed(create_user.clone(), ROOT)).await.code, 0);
    let acl = AclInfo {
        policies: Some(vec![PolicyInfo {
            entries: Some(vec![PolicyEntryInfo {
                actions: Some(vec!["Pub".into(), "Create".into()]),
                decision: Some("Allow".into()),
                resource: Some("Topic:ok*".into()),
                source_ips: Some(vec!["127.0.0.0/8".into()]),
            }]),
            policy_type: None,
        }]),
        subject: Some("User:alice".into()),
    };
    let create_acl = with(RequestCode::AUTH_CREATE_ACL, &[("subject", "User:alice")]).with_body(acl.encode());
    assert_eq!(ask(&client, &broker, signed(create_acl, ROOT)).await.code, 0);

    // Alice may create ok* topics and nothing else; user management is the super user's.
    assert_eq!(
        ask(&client, &broker, signed(create_topic("ok-1", 1), ALICE)).await.code,
        0
    );
    refused(
        &ask(&client, &broker, signed(create_topic("other", 1), ALICE)).await,
        "User:alice has no permission to access Topic:other from 127.0.0.1, no matched policies.",
    );
    refused(
        &ask(&client, &broker, signed(create_user, ALICE)).await,
        "User:alice has no permission to access Cluster:DefaultCluster from 127.0.0.1, no matched policies.",
    );

    // Ours, stricter than Java: reading the broker's configuration or all its tables needs the
    // cluster (Java lets any authenticated user).
    refused(
        &ask(
            &client,
            &broker,
            signed(RemotingCommand::request(RequestCode::GET_BROKER_CONFIG), ALICE),
        )
        .await,
        "User:alice has no permission to access Cluster:DefaultCluster from 127.0.0.1, no matched policies.",
    );
    refused(
        &ask(&client, &broker, signed(all_topics(), ALICE)).await,
        "User:alice has no permission to access Cluster:DefaultCluster from 127.0.0.1, no matched policies.",
    );

    // Users and ACLs survive a restart.
    broker.shutdown().await;
    let broker = start_broker(dir.path(), acl_on).await;
    assert_eq!(
        ask(&client, &broker, signed(create_topic("ok-2", 1), ALICE)).await.code,
        0
    );
    let get_acl = with(RequestCode::AUTH_GET_ACL, &[("subject", "User:alice")]);
    let answer = ask(&client, &broker, signed(get_acl, ROOT)).await;
    assert_eq!(AclInfo::decode(answer.body.as_deref().unwrap()).unwrap(), {
        let mut expected = acl.clone();
        expected.policies.as_mut().unwrap()[0].policy_type = Some("Custom".into());
        expected
    });
    let list = ask(
        &client,
        &broker,
        signed(RemotingCommand::request(RequestCode::AUTH_LIST_USER), ROOT),
    )
    .await;
    let text = String::from_utf8(list.body.unwrap().to_vec()).unwrap();
    assert!(
        text.contains("\"username\":\"alice\"") && text.contains("\"userType\":\"Super\""),
        "{text}"
    );
    broker.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slave_signs_its_metadata_sync_with_the_inner_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let inner = || InnerCredentials {
        access_key: "inner".into(),
        secret_key: "innersecret".into(),
    };
    let master = start_broker(&dir.path().join("master"), |config| {
        acl_on(config);
        config.auth.inner_credentials = Some(inner());
    })
    .await;
    let client = client();
    let created = ask(
        &client,
        &master,
        signed(create_topic("synced", 1), ("inner", "innersecret")),
    )
    .await;
    assert_eq!(created.code, 0, "{:?}", created.remark);

    let slave = start_broker(&dir.path().join("slave"), |config| {
        config.broker_role = BrokerRole::Slave;
        config.broker_id = 1;
    })
    .await;
    slave.broker().master_addresses.lock().master_addr = Some(master.local_addr().to_string());
    let unsigned = slave.sync_from_master().await.unwrap_err().to_string();
    assert!(unsigned.contains("username cannot be null."), "{unsigned}");
    assert!(!slave.broker().topics.lock().contains("synced"));

    let mut config = (*slave.broker().config()).clone();
    config.auth.inner_credentials = Some(inner());
    slave.broker().replace_config(config);
    slave.sync_from_master().await.unwrap();
    assert!(slave.broker().topics.lock().contains("synced"));
    slave.shutdown().await;
    master.shutdown().await;
}
