//! Auth at the dispatch seam, and the auth admin codes.
//!
//! [`guard`] runs before every handler of [`super::ROUTES`] (codes we do not serve are refused
//! before it, as Java refuses them before its pipelines): authentication when
//! `authenticationEnabled`, then authorization when `authorizationEnabled`, each skipping the
//! codes of its whitelist, as Java 5.3.3's `AuthenticationPipeline` and `AuthorizationPipeline`
//! do. A failure is NO_PERMISSION with Java's remark.
//!
//! AUTH_CREATE_USER ... AUTH_LIST_ACL answer as `AdminBrokerProcessor` does; a change is written
//! to `config/` before the answer.

use ferrocket_net::ConnectionHandle;
use ferrocket_wire::body::{AclInfo, JsonBody, UserInfo};
use ferrocket_wire::header::{
    AclRequestHeader, CustomHeader, DeleteAclRequestHeader, ListAclsRequestHeader, ListUsersRequestHeader,
    UserRequestHeader,
};
use ferrocket_wire::{RemotingCommand, ResponseCode, json};

use crate::error::BrokerResult;
use crate::state::Broker;
use crate::state::auth::model::UserType;
use crate::state::auth::signature::ACCESS_KEY;
use crate::state::auth::{AuthError, AuthResult, AuthTable, check_signature, needs, user_from_info};
use crate::state::metadata;

/// The checks every served request passes before its handler: ACL 1.0 when `aclEnable` (Java
/// 4.9.8's hook), else 5.x authentication and authorization when on (the two never run together:
/// start-up refuses that).
pub fn guard(broker: &Broker, request: &RemotingCommand, connection: &ConnectionHandle) -> BrokerResult<()> {
    if let Some(acl) = &broker.plain_acl {
        return Ok(acl.current().validate(request, source_ip(connection))?);
    }
    let config = broker.config();
    let auth = &config.auth;
    if !auth.authentication_enabled && !auth.authorization_enabled {
        return Ok(());
    }
    let code = request.code.to_string();
    let authenticate = auth.authentication_enabled && !auth.authentication_whitelist.contains(&code);
    let authorize = auth.authorization_enabled && !auth.authorization_whitelist.contains(&code);
    if authenticate {
        // The table lock covers the lookup only, not the HMAC over a body of up to megabytes.
        let secret = broker.auth.lock().secret_for(request)?;
        check_signature(request, &secret)?;
    }
    if authorize {
        let needs = needs::needs(request, &config.broker_cluster_name)?;
        broker
            .auth
            .lock()
            .authorize(request.ext(ACCESS_KEY), &needs, source_ip(connection))?;
    }
    Ok(())
}

/// The ACL 1.0 half of [`guard`] alone, for requests whose 5.x auth was checked upstream
/// (`super::dispatch_authorized`).
pub fn guard_plain_acl(broker: &Broker, request: &RemotingCommand, connection: &ConnectionHandle) -> BrokerResult<()> {
    match &broker.plain_acl {
        Some(acl) => Ok(acl.current().validate(request, source_ip(connection))?),
        None => Ok(()),
    }
}

/// The client's address without its port (and without an IPv6 address's brackets).
fn source_ip(connection: &ConnectionHandle) -> &str {
    let peer = connection.peer_addr();
    let source_ip = peer.rsplit_once(':').map_or(peer, |(ip, _)| ip);
    source_ip.trim_start_matches('[').trim_end_matches(']')
}

fn ok(request: &RemotingCommand, body: Option<Vec<u8>>) -> RemotingCommand {
    let response = RemotingCommand::response_to(request, ResponseCode::SUCCESS, None);
    match body {
        Some(body) => response.with_body(body),
        None => response,
    }
}

fn body_of<T: JsonBody + Default>(request: &RemotingCommand) -> BrokerResult<T> {
    match request.body.as_deref() {
        Some(body) if !body.is_empty() => Ok(T::decode(body)?),
        _ => Ok(T::default()),
    }
}

/// Applies `change` to the table and writes the files; nothing changes when `change` fails.
fn change(broker: &Broker, change: impl FnOnce(&mut AuthTable) -> AuthResult<()>) -> BrokerResult<()> {
    {
        let mut table = broker.auth.lock();
        let mut changed = table.clone();
        change(&mut changed)?;
        *table = changed;
    }
    metadata::persist_auth(broker)
}

fn is_super_login(broker: &Broker, request: &RemotingCommand) -> bool {
    broker.auth.lock().is_super_login(request.ext(ACCESS_KEY))
}

/// AUTH_CREATE_USER.
pub fn create_user(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = UserRequestHeader::from_command(request)?;
    let username = header
        .username
        .filter(|u| !u.is_empty())
        .ok_or(AuthError::UsernameBlank)?;
    let user = user_from_info(&body_of::<UserInfo>(request)?, Some(&username))?;
    if user.user_type == UserType::Super && !is_super_login(broker, request) {
        return Err(AuthError::SuperUserOnlyBySuperUser { verb: "create" }.into());
    }
    change(broker, |table| table.create_user(user))?;
    Ok(ok(request, None))
}

/// AUTH_UPDATE_USER.
pub fn update_user(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = UserRequestHeader::from_command(request)?;
    let username = header
        .username
        .filter(|u| !u.is_empty())
        .ok_or(AuthError::UsernameBlank)?;
    let mut info = body_of::<UserInfo>(request)?;
    info.username = Some(username);
    let asks_super = info.user_type.as_deref().and_then(UserType::by_name) == Some(UserType::Super);
    let super_login = is_super_login(broker, request);
    if asks_super && !super_login {
        return Err(AuthError::SuperUserOnlyBySuperUser { verb: "update" }.into());
    }
    change(broker, |table| table.update_user(&info, super_login))?;
    Ok(ok(request, None))
}

/// AUTH_DELETE_USER.
pub fn delete_user(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = UserRequestHeader::from_command(request)?;
    let username = header.username.unwrap_or_default();
    let super_login = is_super_login(broker, request);
    change(broker, |table| table.delete_user(&username, super_login))?;
    Ok(ok(request, None))
}

/// AUTH_GET_USER: the user, or no body when there is none.
pub fn get_user(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = UserRequestHeader::from_command(request)?;
    let username = header
        .username
        .filter(|u| !u.trim().is_empty())
        .ok_or(AuthError::UsernameBlank)?;
    let body = broker.auth.lock().user(&username).map(|user| user.to_info().encode());
    Ok(ok(request, body))
}

/// AUTH_LIST_USER: the users whose name contains the filter; no body when there are none.
pub fn list_users(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = ListUsersRequestHeader::from_command(request)?;
    let users: Vec<UserInfo> = broker
        .auth
        .lock()
        .list_users(header.filter.as_deref())
        .into_iter()
        .map(|u| u.to_info())
        .collect();
    Ok(ok(request, (!users.is_empty()).then(|| json::encode(&users))))
}

/// AUTH_CREATE_ACL and AUTH_UPDATE_ACL (Java merges in both).
pub fn upsert_acl(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = AclRequestHeader::from_command(request)?;
    let info = body_of::<AclInfo>(request)?;
    change(broker, |table| table.upsert_acl(&info, header.subject.as_deref()))?;
    Ok(ok(request, None))
}

/// AUTH_DELETE_ACL.
pub fn delete_acl(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = DeleteAclRequestHeader::from_command(request)?;
    change(broker, |table| {
        table.delete_acl(
            header.subject.as_deref(),
            header.policy_type.as_deref(),
            header.resource.as_deref(),
        )
    })?;
    Ok(ok(request, None))
}

/// AUTH_GET_ACL: the subject's ACL, or no body when it has none.
pub fn get_acl(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = AclRequestHeader::from_command(request)?;
    let body = broker
        .auth
        .lock()
        .acl(header.subject.as_deref())?
        .map(|acl| acl.to_info().encode());
    Ok(ok(request, body))
}

/// AUTH_LIST_ACL.
pub fn list_acls(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = ListAclsRequestHeader::from_command(request)?;
    let acls: Vec<AclInfo> = broker
        .auth
        .lock()
        .list_acls(header.subject_filter.as_deref(), header.resource_filter.as_deref())
        .iter()
        .map(|acl| acl.to_info())
        .collect();
    Ok(ok(request, (!acls.is_empty()).then(|| json::encode(&acls))))
}
