//! Users and ACLs (Java 5.3.3's 5.x auth): the table, the two checks every request passes when
//! they are on (authentication, then authorization, as Java's `AuthenticationPipeline` and
//! `AuthorizationPipeline` run), and the admin operations behind AUTH_CREATE_USER ...
//! AUTH_LIST_ACL, each answering with Java's remark. Pure: the handlers persist the table.
//!
//! On disk: `config/users.json` and `config/acls.json`, JSON arrays of Java's `UserInfo` and
//! `AclInfo` bodies, written like every other config file (temporary file, then rename). Java
//! keeps the same records in RocksDB under `config/users` and `config/acls`.

pub mod migration;
pub mod model;
pub mod needs;
pub mod policy;
pub mod signature;

use std::collections::BTreeMap;

use ferrocket_wire::RemotingCommand;
use ferrocket_wire::body::{AclInfo, UserInfo};

use crate::config::AuthConfig;
pub use crate::error::{AuthError, Refusal};
use model::{Acl, Action, Decision, Policy, PolicyEntry, PolicyType, Resource, User, UserStatus, UserType};
use policy::Need;

pub const USERS_FILE: &str = "users.json";
pub const ACLS_FILE: &str = "acls.json";

/// Users kept: each is a secret an operator created; ten thousand is far beyond any deployment
/// Java's own 1,000-entry user cache is sized for, and bounds the file and the table.
pub const AUTH_USERS_MAX: usize = 10_000;
/// Entries in one subject's ACL: every matching entry is sorted on each request, so the list a
/// request walks stays short.
pub const ACL_ENTRIES_MAX: usize = 1_000;

pub type AuthResult<T> = Result<T, AuthError>;

/// The users and ACLs, keyed as Java's RocksDB keys them (user name; `User:<name>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthTable {
    users: BTreeMap<String, User>,
    acls: BTreeMap<String, Acl>,
}

impl AuthTable {
    /// The table from its files' bodies, plus `initAuthenticationUser` and
    /// `innerClientAuthenticationCredentials` as super users when absent (Java's `initUser`).
    /// Returns whether those were added (so the caller writes the files).
    pub fn load(users: Vec<UserInfo>, acls: Vec<AclInfo>, config: &AuthConfig) -> AuthResult<(AuthTable, bool)> {
        let mut table = AuthTable::default();
        for info in users.into_iter().take(AUTH_USERS_MAX) {
            let user = user_from_info(&info, None)?;
            table.users.insert(user.username.clone(), user);
        }
        for info in acls {
            let acl = acl_from_info(&info, None)?;
            table.acls.insert(acl.subject.clone(), acl);
        }
        let initial = [
            config.init_user.as_ref().map(|u| (&u.username, &u.password)),
            config
                .inner_credentials
                .as_ref()
                .map(|c| (&c.access_key, &c.secret_key)),
        ];
        let mut added = false;
        for (username, password) in initial.into_iter().flatten() {
            if !table.users.contains_key(username) {
                table.create_user(User {
                    username: username.clone(),
                    password: password.clone(),
                    user_type: UserType::Super,
                    user_status: UserStatus::Enable,
                })?;
                added = true;
            }
        }
        Ok((table, added))
    }

    pub fn users_file_body(&self) -> Vec<UserInfo> {
        self.users.values().map(User::to_info).collect()
    }

    pub fn acls_file_body(&self) -> Vec<AclInfo> {
        self.acls.values().map(Acl::to_info).collect()
    }

    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.get(username)
    }

    /// `DefaultAuthenticationHandler`: the request's `AccessKey` names an enabled user whose
    /// secret signs the request as `Signature` says.
    pub fn authenticate(&self, request: &RemotingCommand) -> AuthResult<()> {
        check_signature(request, &self.secret_for(request)?)
    }

    /// The secret of the enabled user the request's `AccessKey` names: the half of
    /// [`Self::authenticate`] that needs the table (the HMAC over the body does not).
    pub fn secret_for(&self, request: &RemotingCommand) -> AuthResult<String> {
        self.secret_of(request.ext(signature::ACCESS_KEY))
    }

    /// The secret of the enabled user `username` names (the remoting `AccessKey`, or the gRPC
    /// `authorization` metadata's `Credential`): Java's `DefaultAuthenticationHandler` lookups.
    pub fn secret_of(&self, username: Option<&str>) -> AuthResult<String> {
        let username = username
            .filter(|name| !name.is_empty())
            .ok_or(AuthError::UsernameMissing)?;
        let user = self.users.get(username).ok_or_else(|| AuthError::UserNotFound {
            username: username.to_owned(),
        })?;
        if user.user_status == UserStatus::Disable {
            return Err(AuthError::UserDisabled {
                username: username.to_owned(),
            });
        }
        Ok(user.password.clone())
    }

    /// `UserAuthorizationHandler` then `AclAuthorizationHandler`, for each need in order; the
    /// first refusal is the answer. A super user may do anything.
    pub fn authorize(&self, username: Option<&str>, needs: &[Need], source_ip: &str) -> AuthResult<()> {
        for need in needs {
            let username = username.ok_or(AuthError::SubjectMissing)?;
            let user = self
                .users
                .get(username)
                .ok_or_else(|| AuthError::AuthorizedUserNotFound {
                    username: username.to_owned(),
                })?;
            if user.user_type == UserType::Super {
                continue;
            }
            let subject = subject_key(username);
            policy::decide(self.acls.get(&subject), need, source_ip).map_err(|refusal| AuthError::Denied {
                subject,
                resource: need.resource.key(),
                source_ip: source_ip.to_owned(),
                refusal,
            })?;
        }
        Ok(())
    }

    /// Whether the signed-in user (the request's `AccessKey`) may manage super users: Java's
    /// `isNotSuperUserLogin` negated. Without an `AccessKey` (auth off) anyone may.
    pub fn is_super_login(&self, access_key: Option<&str>) -> bool {
        match access_key.filter(|k| !k.is_empty()) {
            None => true,
            Some(name) => self.users.get(name).is_some_and(|u| u.user_type == UserType::Super),
        }
    }

    /// AUTH_CREATE_USER (after the handler's header and super-user checks).
    pub fn create_user(&mut self, user: User) -> AuthResult<()> {
        if user.username.trim().is_empty() {
            return Err(AuthError::UsernameCanNotBeBlank);
        }
        if user.password.trim().is_empty() {
            return Err(AuthError::PasswordBlank);
        }
        if self.users.contains_key(&user.username) {
            return Err(AuthError::UserExists);
        }
        if self.users.len() >= AUTH_USERS_MAX {
            return Err(AuthError::TooMany {
                what: "users",
                limit: AUTH_USERS_MAX,
            });
        }
        self.users.insert(user.username.clone(), user);
        Ok(())
    }

    /// AUTH_UPDATE_USER: a non-blank password, and a type or status when given, replace the
    /// stored ones.
    pub fn update_user(&mut self, info: &UserInfo, super_login: bool) -> AuthResult<()> {
        let username = info.username.as_deref().unwrap_or_default();
        if username.trim().is_empty() {
            return Err(AuthError::UsernameCanNotBeBlank);
        }
        let old = self.users.get_mut(username).ok_or(AuthError::UserNotExist)?;
        if old.user_type == UserType::Super && !super_login {
            return Err(AuthError::StoredSuperUserOnlyBySuperUser);
        }
        if let Some(password) = info.password.as_deref().filter(|p| !p.trim().is_empty()) {
            old.password = password.to_owned();
        }
        if let Some(user_type) = info.user_type.as_deref().and_then(UserType::by_name) {
            old.user_type = user_type;
        }
        if let Some(status) = info.user_status.as_deref().and_then(UserStatus::by_name) {
            old.user_status = status;
        }
        Ok(())
    }

    /// AUTH_DELETE_USER: the user and its ACL; an unknown user is not an error.
    pub fn delete_user(&mut self, username: &str, super_login: bool) -> AuthResult<()> {
        if username.trim().is_empty() {
            return Err(AuthError::UsernameCanNotBeBlank);
        }
        let Some(user) = self.users.get(username) else {
            return Ok(());
        };
        if user.user_type == UserType::Super && !super_login {
            return Err(AuthError::StoredSuperUserOnlyBySuperUser);
        }
        self.users.remove(username);
        self.acls.remove(&subject_key(username));
        Ok(())
    }

    /// AUTH_LIST_USER: the users whose name contains `filter`, in name order.
    pub fn list_users(&self, filter: Option<&str>) -> Vec<&User> {
        let filter = filter.filter(|f| !f.trim().is_empty());
        self.users
            .values()
            .filter(|u| filter.is_none_or(|f| u.username.contains(f)))
            .collect()
    }

    /// AUTH_CREATE_ACL and AUTH_UPDATE_ACL (the same in Java): the body's policies merged into
    /// the subject's ACL, or a new ACL. `header_subject` is used when the body names none.
    pub fn upsert_acl(&mut self, info: &AclInfo, header_subject: Option<&str>) -> AuthResult<()> {
        if info.policies.as_ref().is_none_or(Vec::is_empty) {
            return Err(AuthError::AclBodyMissing);
        }
        let acl = acl_from_info(info, header_subject)?;
        let username = user_of_subject(&acl.subject).ok_or(AuthError::Internal)?;
        if !self.users.contains_key(username) {
            return Err(AuthError::AclSubjectOfNotExist { subject: acl.subject });
        }
        let mut merged = self.acls.get(&acl.subject).cloned().unwrap_or_else(|| Acl {
            subject: acl.subject.clone(),
            policies: Vec::new(),
        });
        merged.merge(acl.policies);
        let entries: usize = merged.policies.iter().map(|p| p.entries.len()).sum();
        if entries > ACL_ENTRIES_MAX {
            return Err(AuthError::TooMany {
                what: "ACL entries",
                limit: ACL_ENTRIES_MAX,
            });
        }
        self.acls.insert(merged.subject.clone(), merged);
        Ok(())
    }

    /// A whole ACL, replacing the subject's (the 1.0 migration, whose user was just created).
    pub fn insert_acl(&mut self, acl: Acl) -> AuthResult<()> {
        let entries: usize = acl.policies.iter().map(|p| p.entries.len()).sum();
        if entries > ACL_ENTRIES_MAX {
            return Err(AuthError::TooMany {
                what: "ACL entries",
                limit: ACL_ENTRIES_MAX,
            });
        }
        self.acls.insert(acl.subject.clone(), acl);
        Ok(())
    }

    /// AUTH_DELETE_ACL: one entry (of `policy_type`, Custom by default) when `resource` is
    /// given, else the whole ACL; an ACL left without policies goes too.
    pub fn delete_acl(
        &mut self,
        subject: Option<&str>,
        policy_type: Option<&str>,
        resource: Option<&str>,
    ) -> AuthResult<()> {
        let subject = subject
            .filter(|s| user_of_subject(s).is_some())
            .ok_or(AuthError::AclSubjectNull)?;
        let policy_type = policy_type.and_then(PolicyType::by_name).unwrap_or(PolicyType::Custom);
        let resource = resource.and_then(Resource::parse);
        let username = user_of_subject(subject).unwrap_or_default();
        if !self.users.contains_key(username) {
            return Err(AuthError::AclSubjectNotExist);
        }
        let acl = self.acls.get_mut(subject).ok_or(AuthError::AclNotExist)?;
        match resource {
            Some(resource) => {
                acl.delete_entry(policy_type, &resource);
                if acl.policies.is_empty() {
                    self.acls.remove(subject);
                }
            }
            None => {
                self.acls.remove(subject);
            }
        }
        Ok(())
    }

    /// AUTH_GET_ACL: the subject's ACL, `None` when it has none.
    pub fn acl(&self, subject: Option<&str>) -> AuthResult<Option<&Acl>> {
        let username = subject.and_then(user_of_subject).ok_or(AuthError::Internal)?;
        if !self.users.contains_key(username) {
            return Err(AuthError::AclSubjectNotExist);
        }
        Ok(subject.and_then(|s| self.acls.get(s)))
    }

    /// AUTH_LIST_ACL: ACLs whose subject contains `subject_filter`; with `resource_filter`, only
    /// the entries whose resource contains it (unless the subject does), ACLs left empty dropped.
    pub fn list_acls(&self, subject_filter: Option<&str>, resource_filter: Option<&str>) -> Vec<Acl> {
        let subject_filter = subject_filter.filter(|f| !f.trim().is_empty());
        let resource_filter = resource_filter.filter(|f| !f.trim().is_empty());
        self.acls
            .values()
            .filter(|acl| subject_filter.is_none_or(|f| acl.subject.contains(f)))
            .filter_map(|acl| {
                let mut acl = acl.clone();
                if let Some(filter) = resource_filter.filter(|f| !acl.subject.contains(f)) {
                    for policy in &mut acl.policies {
                        policy.entries.retain(|e| e.resource.key().contains(filter));
                    }
                }
                acl.policies.retain(|p| !p.entries.is_empty());
                (!acl.policies.is_empty()).then_some(acl)
            })
            .collect()
    }
}

/// Whether `Signature` signs the request with `secret` (constant-time comparison).
pub fn check_signature(request: &RemotingCommand, secret: &str) -> AuthResult<()> {
    let sent = request.ext(signature::SIGNATURE).ok_or(AuthError::SignatureMismatch)?;
    match signature::verify(&signature::signed_content(request), secret, sent) {
        true => Ok(()),
        false => Err(AuthError::SignatureMismatch),
    }
}

/// `User:<name>`, the subject key of a user.
pub fn subject_key(username: &str) -> String {
    format!("User:{username}")
}

/// `Subject.of`: the user a `User:<name>` key names (the type matched case-insensitively).
pub fn user_of_subject(subject: &str) -> Option<&str> {
    let (kind, name) = subject.split_once(':').unwrap_or((subject, ""));
    kind.eq_ignore_ascii_case("User").then_some(name)
}

/// `UserConverter.convertUser`, with the defaults `createUser` fills in.
pub fn user_from_info(info: &UserInfo, header_username: Option<&str>) -> AuthResult<User> {
    let username = header_username.or(info.username.as_deref()).unwrap_or_default();
    Ok(User {
        username: username.to_owned(),
        password: info.password.clone().unwrap_or_default(),
        user_type: info
            .user_type
            .as_deref()
            .and_then(UserType::by_name)
            .unwrap_or(UserType::Normal),
        user_status: info
            .user_status
            .as_deref()
            .and_then(UserStatus::by_name)
            .unwrap_or(UserStatus::Enable),
    })
}

/// `AclConverter.convertAcl` then the manager's `validate`: unknown action names are dropped,
/// empty policies skipped, a missing policy type is Custom.
pub fn acl_from_info(info: &AclInfo, header_subject: Option<&str>) -> AuthResult<Acl> {
    let subject = info
        .subject
        .as_deref()
        .filter(|s| user_of_subject(s).is_some())
        .or(header_subject.filter(|s| user_of_subject(s).is_some()))
        .ok_or(AuthError::Internal)?;
    let mut policies = Vec::new();
    for policy in info.policies.iter().flatten() {
        let Some(entries) = policy.entries.as_ref().filter(|e| !e.is_empty()) else {
            continue;
        };
        let mut converted = Vec::new();
        for entry in entries {
            let resource = entry
                .resource
                .as_deref()
                .and_then(Resource::parse)
                .ok_or(AuthError::ResourceMissing)?;
            let actions: Vec<Action> = entry
                .actions
                .iter()
                .flatten()
                .filter_map(|a| Action::by_name(a))
                .collect();
            if actions.is_empty() {
                return Err(AuthError::ActionsEmpty);
            }
            if actions.contains(&Action::Any) {
                return Err(AuthError::ActionsAny);
            }
            let source_ips = entry.source_ips.clone().unwrap_or_default();
            for ip in &source_ips {
                if ip.trim().is_empty() {
                    return Err(AuthError::SourceIpEmpty);
                }
                if !model::is_ip_or_cidr(ip) {
                    return Err(AuthError::SourceIpInvalid);
                }
            }
            let decision = entry
                .decision
                .as_deref()
                .and_then(Decision::by_name)
                .ok_or(AuthError::DecisionIllegal)?;
            converted.push(PolicyEntry {
                resource,
                actions,
                source_ips,
                decision,
            });
        }
        policies.push(Policy {
            policy_type: policy
                .policy_type
                .as_deref()
                .and_then(PolicyType::by_name)
                .unwrap_or(PolicyType::Custom),
            entries: converted,
        });
    }
    if policies.is_empty() {
        return Err(AuthError::PoliciesEmpty);
    }
    Ok(Acl {
        subject: subject.to_owned(),
        policies,
    })
}

#[cfg(test)]
mod tests;
