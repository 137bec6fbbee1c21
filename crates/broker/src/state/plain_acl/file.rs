//! One `plain_acl.yml` read into typed records, as Java 4.9.8 reads it (SnakeYAML into a map,
//! then fastjson into `PlainAccessConfig`s): scalars are taken as text (`accessKey: 12345678`
//! is the key "12345678"), `admin` as a boolean (`true`/`false`, quoted or not), unknown keys are
//! ignored. A key of the wrong shape (a list where text belongs) is an error naming it.
//!
//! ```yaml
//! globalWhiteRemoteAddresses: [10.10.103.*]
//! accounts:
//!   - accessKey: appUser01          # at least 7 characters, as is secretKey
//!     secretKey: s3cretKey
//!     whiteRemoteAddress:           # blank: never matches
//!     admin: false
//!     defaultTopicPerm: DENY        # missing or unknown: DENY
//!     defaultGroupPerm: SUB
//!     topicPerms: [orders=PUB|SUB]
//!     groupPerms: [billing=SUB]
//! ```

use yaml_rust2::{Yaml, YamlLoader};

use super::edit::{FileVersion, version_of};

/// An account as written, before its permissions are interpreted (the 5.x migration reads the
/// texts, the validator their meaning).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountConfig {
    pub access_key: String,
    pub secret_key: String,
    pub white_remote_address: Option<String>,
    pub admin: bool,
    pub default_topic_perm: Option<String>,
    pub default_group_perm: Option<String>,
    pub topic_perms: Vec<String>,
    pub group_perms: Vec<String>,
}

/// What one file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileConfig {
    pub global_white_remote_addresses: Vec<String>,
    pub accounts: Vec<AccountConfig>,
    /// `dataVersion[0]`, which the admin codes move on (absent in a hand-written file).
    pub version: Option<FileVersion>,
}

/// Reads one file's text; an empty file (Java creates one) holds nothing.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    let documents = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let Some(root) = documents.into_iter().next() else {
        return Ok(FileConfig::default());
    };
    if root.is_null() {
        return Ok(FileConfig::default());
    }
    if root.as_hash().is_none() {
        return Err("the top level must be a mapping (globalWhiteRemoteAddresses, accounts)".into());
    }
    let global_white_remote_addresses = texts(&root, "globalWhiteRemoteAddresses")?;
    let accounts = match &root["accounts"] {
        Yaml::Null | Yaml::BadValue => Vec::new(),
        Yaml::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| account(item).map_err(|e| format!("accounts[{index}]: {e}")))
            .collect::<Result<_, _>>()?,
        _ => return Err("accounts must be a list".into()),
    };
    Ok(FileConfig {
        global_white_remote_addresses,
        accounts,
        version: version_of(&root),
    })
}

fn account(item: &Yaml) -> Result<AccountConfig, String> {
    if item.as_hash().is_none() {
        return Err("an account must be a mapping".into());
    }
    Ok(AccountConfig {
        access_key: text(item, "accessKey")?.unwrap_or_default(),
        secret_key: text(item, "secretKey")?.unwrap_or_default(),
        white_remote_address: text(item, "whiteRemoteAddress")?,
        admin: match &item["admin"] {
            Yaml::Null | Yaml::BadValue => false,
            Yaml::Boolean(admin) => *admin,
            Yaml::String(s) if s.eq_ignore_ascii_case("true") => true,
            Yaml::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => return Err("admin must be true or false".into()),
        },
        default_topic_perm: text(item, "defaultTopicPerm")?,
        default_group_perm: text(item, "defaultGroupPerm")?,
        topic_perms: texts(item, "topicPerms")?,
        group_perms: texts(item, "groupPerms")?,
    })
}

/// A scalar as Java's fastjson would turn it into a String; `None` when absent or null.
fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text(map: &Yaml, key: &str) -> Result<Option<String>, String> {
    match &map[key] {
        Yaml::Null | Yaml::BadValue => Ok(None),
        value => scalar(value).map(Some).ok_or_else(|| format!("{key} must be text")),
    }
}

fn texts(map: &Yaml, key: &str) -> Result<Vec<String>, String> {
    match &map[key] {
        Yaml::Null | Yaml::BadValue => Ok(Vec::new()),
        Yaml::Array(items) => items
            .iter()
            .map(|item| scalar(item).ok_or_else(|| format!("{key} must be a list of text")))
            .collect(),
        _ => Err(format!("{key} must be a list")),
    }
}
