//! ACL 1.0 (`aclEnable=true`): the accounts of the 4.x `plain_acl.yml` files and the check Java
//! 4.9.8's `PlainAccessValidator` runs before every request (acl.md §3–§6). Pure: the shell
//! reads the files ([`PlainAcl::from_files`] takes their texts) and the guard calls
//! [`PlainAcl::validate`] with the request and the client's address.
//!
//! The order of checks is Java's: the resources the request needs (a body or header that does
//! not decode is refused), the global whitelist (accept), the `AccessKey` (missing, unknown), the
//! account's whitelist (accept without signature or permission check), the signature, a send to
//! the trace topic (accept), the admin codes, then each needed resource in the order Java's
//! `HashMap` walks them (so the resource named in a refusal is Java's).
//!
//! Where 4.9.8 checks less than it should we check more, as 5.x does or beyond:
//! SEND_BATCH_MESSAGE needs PUB like SEND_MESSAGE_V2 (4.9.8 forgot the code); a send to a retry
//! topic without a group names the retry topic's group; the signature is compared in constant
//! time and `_UNIQUE_KEY_QUERY` is signed as the 5.x rule says; and every code that changes
//! topics, groups, offsets of other groups, settings or credentials is admin-only
//! ([`ADMIN_CODES`]). Admin accounts with explicit `topicPerms`/`groupPerms` are still held to
//! them, as in 4.9.8 (5.x lets admins do anything).

pub mod address;
pub mod edit;
pub mod file;

use std::collections::BTreeMap;

use ferrocket_wire::body::{HeartbeatData, JsonBody};
use ferrocket_wire::system_topics::TRACE_TOPIC;
use ferrocket_wire::{RemotingCommand, RequestCode};

use super::auth::model::RETRY_PREFIX;
use super::auth::signature;
pub use crate::error::AclRefusal;
use address::AddressPattern;
use edit::FileVersion;
pub use file::{AccountConfig, FileConfig};

/// Accounts kept over all files: each is a secret an operator wrote by hand; far beyond any
/// deployment, and bounds the table (the same figure as 5.x users, `AUTH_USERS_MAX`).
pub const PLAIN_ACL_ACCOUNTS_MAX: usize = 10_000;
/// Characters an access or secret key needs: Java refuses 6 or fewer ("length should longer than 6").
pub const PLAIN_ACL_KEY_CHARS_MIN: usize = 7;

/// `Permission`: the bits a grant holds or a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm(u8);

impl Perm {
    pub const DENY: Perm = Perm(1);
    pub const ANY: Perm = Perm(2);
    pub const PUB: Perm = Perm(4);
    pub const SUB: Perm = Perm(8);

    /// `parsePermFromString`: the trimmed text exactly; anything else (or nothing) is DENY.
    pub fn parse(text: Option<&str>) -> Perm {
        match text.map(str::trim) {
            Some("PUB") => Perm::PUB,
            Some("SUB") => Perm::SUB,
            Some("PUB|SUB" | "SUB|PUB") => Perm(Perm::PUB.0 | Perm::SUB.0),
            _ => Perm::DENY,
        }
    }

    /// `checkPermission(needed, owned)`.
    pub fn grants(self, needed: Perm) -> bool {
        if self.0 & Perm::DENY.0 != 0 {
            return false;
        }
        if needed.0 & Perm::ANY.0 != 0 {
            return self.0 & (Perm::PUB.0 | Perm::SUB.0) != 0;
        }
        needed.0 & self.0 != 0
    }
}

/// The codes only an admin account may call: Java 4.9.8's five, 5.3.2's four more, and ours
/// (Java leaves them open): the global whitelist and ACL reads, offset resets, request modes,
/// and the 5.x user and ACL codes, which change or show secrets.
pub const ADMIN_CODES: &[RequestCode] = &[
    RequestCode::UPDATE_AND_CREATE_TOPIC,
    RequestCode::UPDATE_BROKER_CONFIG,
    RequestCode::DELETE_TOPIC_IN_BROKER,
    RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
    RequestCode::DELETE_SUBSCRIPTIONGROUP,
    RequestCode::UPDATE_AND_CREATE_STATIC_TOPIC,
    RequestCode::UPDATE_AND_CREATE_ACL_CONFIG,
    RequestCode::DELETE_ACL_CONFIG,
    RequestCode::GET_BROKER_CLUSTER_ACL_INFO,
    RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
    RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG,
    RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
    RequestCode::SET_MESSAGE_REQUEST_MODE,
    RequestCode::AUTH_CREATE_USER,
    RequestCode::AUTH_UPDATE_USER,
    RequestCode::AUTH_DELETE_USER,
    RequestCode::AUTH_GET_USER,
    RequestCode::AUTH_LIST_USER,
    RequestCode::AUTH_CREATE_ACL,
    RequestCode::AUTH_UPDATE_ACL,
    RequestCode::AUTH_DELETE_ACL,
    RequestCode::AUTH_GET_ACL,
    RequestCode::AUTH_LIST_ACL,
];

/// One account, interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub access_key: String,
    secret_key: String,
    white: AddressPattern,
    admin: bool,
    default_topic: Perm,
    default_group: Perm,
    /// Topic names, and groups as `%RETRY%<group>` (one namespace, as in Java).
    resources: BTreeMap<String, Perm>,
}

/// Every account of every file, and the global whitelist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainAcl {
    global_white: Vec<AddressPattern>,
    accounts: BTreeMap<String, Account>,
    /// The file each account came from (Java's `accessKeyTable`): the admin codes change it there.
    file_of: BTreeMap<String, String>,
    /// Every file read and its `dataVersion` (0 when it has none), in reading order.
    versions: Vec<(String, FileVersion)>,
}

impl PlainAcl {
    /// The files' configs in Java's order (`conf/acl/**` first, `plain_acl.yml` last): an
    /// access key already seen keeps its first account. `Err` names the file and the fault.
    pub fn from_files(files: &[(String, FileConfig)]) -> Result<PlainAcl, String> {
        let mut acl = PlainAcl::default();
        for (name, config) in files {
            acl.versions.push((name.clone(), config.version.unwrap_or_default()));
            for pattern in &config.global_white_remote_addresses {
                acl.global_white.push(
                    AddressPattern::parse(pattern).map_err(|e| format!("{name}: globalWhiteRemoteAddresses: {e}"))?,
                );
            }
            for account in &config.accounts {
                let account = Account::from_config(account).map_err(|e| format!("{name}: {e}"))?;
                if acl.accounts.contains_key(&account.access_key) {
                    tracing::warn!(file = %name, access_key = %account.access_key, "access key repeated; the first account is kept");
                    continue;
                }
                if acl.accounts.len() >= PLAIN_ACL_ACCOUNTS_MAX {
                    return Err(format!("{name}: more than {PLAIN_ACL_ACCOUNTS_MAX} accounts"));
                }
                acl.file_of.insert(account.access_key.clone(), name.clone());
                acl.accounts.insert(account.access_key.clone(), account);
            }
        }
        Ok(acl)
    }

    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// The file holding `access_key`'s account, if any file does.
    pub fn file_of(&self, access_key: &str) -> Option<&str> {
        self.file_of.get(access_key).map(String::as_str)
    }

    /// Every file read, with its `dataVersion`, in reading order.
    pub fn versions(&self) -> &[(String, FileVersion)] {
        &self.versions
    }

    /// `PlainAccessValidator.parse` then `PlainPermissionManager.validate`; `source_ip` is the
    /// client's address without its port.
    pub fn validate(&self, request: &RemotingCommand, source_ip: &str) -> Result<(), AclRefusal> {
        let fields = request.ext_fields.as_ref().filter(|f| !f.is_empty());
        let needed = match fields {
            Some(_) => needed_resources(request)?,
            None => Vec::new(),
        };
        if self.global_white.iter().any(|p| p.matches(source_ip)) {
            return Ok(());
        }
        let access_key = request
            .ext(signature::ACCESS_KEY)
            .filter(|_| fields.is_some())
            .ok_or(AclRefusal::NoAccessKey)?;
        let account = self
            .accounts
            .get(access_key)
            .ok_or_else(|| AclRefusal::UnknownAccessKey {
                access_key: access_key.to_owned(),
            })?;
        if account.white.matches(source_ip) {
            return Ok(());
        }
        let signed = request
            .ext(signature::SIGNATURE)
            .is_some_and(|sent| signature::verify(&signature::signed_content(request), &account.secret_key, sent));
        if !signed {
            return Err(AclRefusal::SignatureMismatch {
                access_key: access_key.to_owned(),
            });
        }
        if needed
            .iter()
            .any(|(resource, perm)| resource == TRACE_TOPIC && *perm == Perm::PUB)
        {
            return Ok(());
        }
        account.check(request.request_code(), &needed)
    }
}

impl Account {
    /// `buildPlainAccessResource`: keys of 7+ characters, permissions interpreted, the
    /// whitelist parsed; groups first, then topics, into one map.
    pub fn from_config(config: &AccountConfig) -> Result<Account, String> {
        if config.access_key.chars().count() < PLAIN_ACL_KEY_CHARS_MIN
            || config.secret_key.chars().count() < PLAIN_ACL_KEY_CHARS_MIN
        {
            return Err(format!(
                "The accessKey={} and secretKey=*** cannot be null and length should longer than 6",
                config.access_key
            ));
        }
        let mut resources = BTreeMap::new();
        for (texts, is_group) in [(&config.group_perms, true), (&config.topic_perms, false)] {
            for text in texts {
                let (name, perm) = resource_perm(text).ok_or_else(|| {
                    let kind = if is_group { "group" } else { "topic" };
                    format!("Parse resource permission failed for {kind}:{text}")
                })?;
                let name = if is_group {
                    format!("{RETRY_PREFIX}{name}")
                } else {
                    name.to_owned()
                };
                resources.insert(name, perm);
            }
        }
        let white = AddressPattern::parse(config.white_remote_address.as_deref().unwrap_or_default())
            .map_err(|e| format!("whiteRemoteAddress of {}: {e}", config.access_key))?;
        Ok(Account {
            access_key: config.access_key.clone(),
            secret_key: config.secret_key.clone(),
            white,
            admin: config.admin,
            default_topic: Perm::parse(config.default_topic_perm.as_deref()),
            default_group: Perm::parse(config.default_group_perm.as_deref()),
            resources,
        })
    }

    /// 4.9.8's `checkPerm`.
    fn check(&self, code: RequestCode, needed: &[(String, Perm)]) -> Result<(), AclRefusal> {
        if ADMIN_CODES.contains(&code) && !self.admin {
            return Err(AclRefusal::NeedAdmin {
                code: code.0,
                access_key: self.access_key.clone(),
            });
        }
        if needed.is_empty() || (self.resources.is_empty() && self.admin) {
            return Ok(());
        }
        for (resource, perm) in java_hash_map_order(needed) {
            let group = resource.strip_prefix(RETRY_PREFIX);
            let explicit = self.resources.get(resource);
            let owned = match (explicit, group) {
                (Some(owned), _) => *owned,
                (None, Some(_)) => self.default_group,
                (None, None) => self.default_topic,
            };
            if !owned.grants(*perm) {
                return Err(AclRefusal::NoPermission {
                    resource: match group {
                        Some(group) => format!("group:{group}"),
                        None => format!("topic:{resource}"),
                    },
                    explicit: explicit.is_some(),
                });
            }
        }
        Ok(())
    }
}

/// `StringUtils.split(text, "=")` (empty pieces dropped) into exactly a name and a permission.
fn resource_perm(text: &str) -> Option<(&str, Perm)> {
    let mut pieces = text.split('=').filter(|p| !p.is_empty());
    let (name, perm) = (pieces.next()?, pieces.next()?);
    match pieces.next() {
        Some(_) => None,
        None => Some((name.trim(), Perm::parse(Some(perm)))),
    }
}

/// Java's `getRetryTopic`: a group's resource name.
fn retry(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// `PlainAccessValidator.parse`'s switch: what the request needs, a later need of the same
/// resource replacing the earlier one (Java's `HashMap.put`).
fn needed_resources(request: &RemotingCommand) -> Result<Vec<(String, Perm)>, AclRefusal> {
    let mut needed: Vec<(String, Perm)> = Vec::new();
    let mut need = |resource: Option<String>, perm: Perm| {
        let Some(resource) = resource else { return };
        match needed.iter_mut().find(|(r, _)| *r == resource) {
            Some(entry) => entry.1 = perm,
            None => needed.push((resource, perm)),
        }
    };
    let field = |key: &str| request.ext(key);
    let required = |key: &'static str| {
        field(key).ok_or_else(|| AclRefusal::Unparsable {
            message: format!("the custom field <{key}> is null"),
        })
    };
    let send = |topic: Option<&str>, group: Option<&str>| match topic {
        Some(topic) if topic.starts_with(RETRY_PREFIX) => {
            (Some(group.map_or_else(|| topic.to_owned(), retry)), Perm::SUB)
        }
        topic => (topic.map(str::to_owned), Perm::PUB),
    };
    match request.request_code() {
        RequestCode::SEND_MESSAGE => {
            let (resource, perm) = send(field("topic"), field("group"));
            need(resource, perm);
        }
        RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE => {
            let (resource, perm) = send(field("b"), field("a"));
            need(resource, perm);
        }
        RequestCode::CONSUMER_SEND_MSG_BACK => need(field("group").map(retry), Perm::SUB),
        RequestCode::PULL_MESSAGE => {
            need(field("topic").map(str::to_owned), Perm::SUB);
            need(field("consumerGroup").map(retry), Perm::SUB);
        }
        RequestCode::QUERY_MESSAGE => need(field("topic").map(str::to_owned), Perm::SUB),
        RequestCode::HEART_BEAT => {
            let body = request.body.as_deref().unwrap_or_default();
            let heartbeat =
                HeartbeatData::decode(body).map_err(|e| AclRefusal::Unparsable { message: e.to_string() })?;
            for consumer in &heartbeat.consumer_data_set {
                need(Some(retry(&consumer.group_name)), Perm::SUB);
                for subscription in &consumer.subscription_data_set {
                    need(Some(subscription.topic.clone()), Perm::SUB);
                }
            }
        }
        RequestCode::UNREGISTER_CLIENT => need(field("consumerGroup").map(retry), Perm::SUB),
        RequestCode::GET_CONSUMER_LIST_BY_GROUP => need(Some(retry(required("consumerGroup")?)), Perm::SUB),
        RequestCode::UPDATE_CONSUMER_OFFSET => {
            let group = required("consumerGroup")?;
            let topic = required("topic")?;
            required("queueId")?;
            required("commitOffset")?;
            need(Some(retry(group)), Perm::SUB);
            need(Some(topic.to_owned()), Perm::SUB);
        }
        _ => {}
    }
    Ok(needed)
}

/// The order Java's `HashMap<String, Byte>` iterates `entries` in (insertion order given): by
/// bucket, `(h ^ h >>> 16) & (capacity - 1)` of `String.hashCode`, ties in insertion order;
/// the capacity is 16, doubled while the entries exceed three quarters of it.
fn java_hash_map_order(entries: &[(String, Perm)]) -> Vec<&(String, Perm)> {
    let mut capacity: u32 = 16;
    while entries.len() as u64 * 4 > u64::from(capacity) * 3 {
        capacity = capacity.saturating_mul(2);
    }
    let bucket = |key: &str| {
        let hash = key
            .encode_utf16()
            .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit))) as u32;
        (hash ^ (hash >> 16)) & (capacity - 1)
    };
    let mut ordered: Vec<&(String, Perm)> = entries.iter().collect();
    ordered.sort_by_key(|(key, _)| bucket(key));
    ordered
}

#[cfg(test)]
mod tests;
