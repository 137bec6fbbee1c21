//! Changes to one `plain_acl.yml`'s text, as Java 4.9.8's `PlainPermissionManager` makes them for
//! the admin codes (UPDATE_AND_CREATE_ACL_CONFIG, DELETE_ACL_CONFIG,
//! UPDATE_GLOBAL_WHITE_ADDRS_CONFIG): the file is read as a YAML mapping, one part changed, its
//! `dataVersion` moved on, and the whole mapping written back, so keys we do not know survive.
//!
//! Java's rules kept: an account updated in place keeps the keys the request leaves out (secret,
//! whitelist, default permissions, lists) and moves to the end of `accounts`; `admin` is always
//! written; a new account goes to the end; `dataVersion` is a one-element list of
//! `{counter, timestamp}`, the counter one more than the file's (0 when it has none), the
//! timestamp now. Pure: text in, text out; the caller writes the file.

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

use super::Perm;

/// What UPDATE_AND_CREATE_ACL_CONFIG asks for; `None` leaves the key as the file has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChange {
    pub access_key: String,
    pub secret_key: String,
    pub white_remote_address: Option<String>,
    pub admin: bool,
    pub default_topic_perm: Option<String>,
    pub default_group_perm: Option<String>,
    pub topic_perms: Option<Vec<String>>,
    pub group_perms: Option<Vec<String>>,
}

/// A file's `dataVersion` (Java's `DataVersion`: counter and timestamp, no state version).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileVersion {
    pub counter: i64,
    pub timestamp: i64,
}

/// Java's `String.split(",")` of a header value: trailing empty pieces dropped, `""` is `[""]`.
pub fn split_list(text: &str) -> Vec<String> {
    let mut pieces: Vec<String> = text.split(',').map(str::to_owned).collect();
    while pieces.len() > 1 && pieces.last().is_some_and(String::is_empty) {
        pieces.pop();
    }
    pieces
}

/// `Permission.checkResourcePerms`: each entry is `name=PERM` with a permission Java knows.
pub fn check_resource_perms(entries: &[String]) -> Result<(), String> {
    for entry in entries {
        let pieces: Vec<&str> = entry.split('=').filter(|p| !p.is_empty()).collect();
        let [_, perm] = pieces.as_slice() else {
            return Err(format!(
                "Parse Resource format error for {entry}.\nThe expected resource format is 'Res=Perm'. For example: topicA=SUB"
            ));
        };
        if perm.trim() != "DENY" && Perm::parse(Some(perm)) == Perm::DENY {
            return Err(format!(
                "Parse resource permission error for {entry}.\nThe expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'."
            ));
        }
    }
    Ok(())
}

/// The file's version as written (`dataVersion[0]`), if any.
pub fn version_of(root: &Yaml) -> Option<FileVersion> {
    let first = root["dataVersion"].as_vec()?.first()?;
    let number = |key: &str| match &first[key] {
        Yaml::Integer(n) => Some(*n),
        Yaml::String(s) | Yaml::Real(s) => s.trim().parse().ok(),
        _ => None,
    };
    Some(FileVersion {
        counter: number("counter").unwrap_or_default(),
        timestamp: number("timestamp").unwrap_or_default(),
    })
}

/// Adds or updates one account (found by access key) in the file's text.
pub fn upsert_account(text: &str, change: &AccountChange, now_ms: i64) -> Result<String, String> {
    let mut root = load(text)?;
    let accounts = accounts_of(&mut root)?;
    let existing = accounts
        .iter()
        .position(|account| account["accessKey"].as_str() == Some(change.access_key.as_str()));
    let mut account = match existing {
        Some(index) => match accounts.remove(index) {
            Yaml::Hash(hash) => hash,
            _ => Hash::new(),
        },
        None => Hash::new(),
    };
    put(&mut account, "accessKey", text_value(&change.access_key));
    if !change.secret_key.is_empty() {
        put(&mut account, "secretKey", text_value(&change.secret_key));
    }
    if let Some(white) = &change.white_remote_address {
        put(&mut account, "whiteRemoteAddress", text_value(white));
    }
    put(&mut account, "admin", Yaml::Boolean(change.admin));
    for (key, value) in [
        ("defaultTopicPerm", &change.default_topic_perm),
        ("defaultGroupPerm", &change.default_group_perm),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            put(&mut account, key, text_value(value));
        }
    }
    for (key, list) in [("topicPerms", &change.topic_perms), ("groupPerms", &change.group_perms)] {
        if let Some(list) = list {
            put(
                &mut account,
                key,
                Yaml::Array(list.iter().map(|e| text_value(e)).collect()),
            );
        }
    }
    accounts.push(Yaml::Hash(account));
    finish(root, now_ms)
}

/// Removes the account with `access_key`; `None` when the file has no such account.
pub fn delete_account(text: &str, access_key: &str, now_ms: i64) -> Result<Option<String>, String> {
    let mut root = load(text)?;
    let accounts = accounts_of(&mut root)?;
    let Some(index) = accounts
        .iter()
        .position(|account| account["accessKey"].as_str() == Some(access_key))
    else {
        return Ok(None);
    };
    accounts.remove(index);
    finish(root, now_ms).map(Some)
}

/// Replaces the file's `globalWhiteRemoteAddresses` with `addresses`.
pub fn set_global_white(text: &str, addresses: &[String], now_ms: i64) -> Result<String, String> {
    let mut root = load(text)?;
    if let Yaml::Hash(hash) = &mut root {
        put(
            hash,
            "globalWhiteRemoteAddresses",
            Yaml::Array(addresses.iter().map(|a| text_value(a)).collect()),
        );
    }
    finish(root, now_ms)
}

fn load(text: &str) -> Result<Yaml, String> {
    let documents = YamlLoader::load_from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    match documents.into_iter().next() {
        None | Some(Yaml::Null) => Ok(Yaml::Hash(Hash::new())),
        Some(root @ Yaml::Hash(_)) => Ok(root),
        Some(_) => Err("the top level must be a mapping (globalWhiteRemoteAddresses, accounts)".into()),
    }
}

/// The `accounts` list, created when the file has none.
fn accounts_of(root: &mut Yaml) -> Result<&mut Vec<Yaml>, String> {
    let Yaml::Hash(hash) = root else {
        return Err("the top level must be a mapping".into());
    };
    let key = Yaml::String("accounts".into());
    if !matches!(hash.get(&key), Some(Yaml::Array(_))) {
        if hash.get(&key).is_some_and(|v| !v.is_null()) {
            return Err("accounts must be a list".into());
        }
        hash.insert(key.clone(), Yaml::Array(Vec::new()));
    }
    match hash.get_mut(&key) {
        Some(Yaml::Array(accounts)) => Ok(accounts),
        _ => Err("accounts must be a list".into()),
    }
}

/// Moves `dataVersion` on and writes the mapping out.
fn finish(mut root: Yaml, now_ms: i64) -> Result<String, String> {
    let counter = version_of(&root).map_or(0, |v| v.counter).saturating_add(1);
    if let Yaml::Hash(hash) = &mut root {
        let mut version = Hash::new();
        put(&mut version, "counter", Yaml::Integer(counter));
        put(&mut version, "timestamp", Yaml::Integer(now_ms));
        put(hash, "dataVersion", Yaml::Array(vec![Yaml::Hash(version)]));
    }
    let mut out = String::new();
    YamlEmitter::new(&mut out)
        .dump(&root)
        .map_err(|e| format!("cannot write YAML: {e}"))?;
    let body = out.strip_prefix("---\n").unwrap_or(&out);
    Ok(format!("{body}\n"))
}

fn put(hash: &mut Hash, key: &str, value: Yaml) {
    hash.insert(Yaml::String(key.to_owned()), value);
}

fn text_value(text: &str) -> Yaml {
    Yaml::String(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::file;
    use super::*;

    const FILE: &str = "# kept keys survive\nextraKey: kept\nglobalWhiteRemoteAddresses:\n  - 10.10.103.*\naccounts:\n  - accessKey: aclUser01\n    secretKey: aclSecret01\n    whiteRemoteAddress: 192.168.1.*\n    defaultTopicPerm: DENY\n    topicPerms: [a=PUB]\n  - accessKey: aclAdmin01\n    secretKey: aclAdminSecret\n    admin: true\n";

    fn change(access_key: &str) -> AccountChange {
        AccountChange {
            access_key: access_key.into(),
            secret_key: "newSecret99".into(),
            ..AccountChange::default()
        }
    }

    #[test]
    fn an_update_keeps_what_the_request_leaves_out_and_moves_the_account_last() {
        let mut update = change("aclUser01");
        update.topic_perms = Some(vec!["b=SUB".into(), "*weird=PUB|SUB".into()]);
        let text = upsert_account(FILE, &update, 1_700_000_000_123).unwrap();
        let config = file::parse(&text).unwrap();
        assert_eq!(config.global_white_remote_addresses, ["10.10.103.*"]);
        let [admin, user] = config.accounts.as_slice() else {
            panic!("{text}")
        };
        assert_eq!(admin.access_key, "aclAdmin01");
        assert_eq!(user.secret_key, "newSecret99");
        assert_eq!(user.white_remote_address.as_deref(), Some("192.168.1.*"));
        assert_eq!(user.default_topic_perm.as_deref(), Some("DENY"));
        assert_eq!(user.topic_perms, ["b=SUB", "*weird=PUB|SUB"]);
        assert!(!user.admin);
        assert!(text.contains("extraKey: kept"), "{text}");
        let root = YamlLoader::load_from_str(&text).unwrap().remove(0);
        assert_eq!(
            version_of(&root),
            Some(FileVersion {
                counter: 1,
                timestamp: 1_700_000_000_123
            })
        );
        let again = upsert_account(&text, &change("aclNew0001"), 5).unwrap();
        let root = YamlLoader::load_from_str(&again).unwrap().remove(0);
        assert_eq!(version_of(&root).map(|v| v.counter), Some(2));
        assert_eq!(file::parse(&again).unwrap().accounts.len(), 3);
    }

    #[test]
    fn a_new_account_in_an_empty_file_and_a_delete() {
        let text = upsert_account("", &change("aclNew0001"), 7).unwrap();
        let config = file::parse(&text).unwrap();
        assert_eq!(config.accounts.len(), 1);
        assert_eq!(config.accounts[0].secret_key, "newSecret99");
        assert_eq!(delete_account(&text, "nobody00", 8).unwrap(), None);
        let deleted = delete_account(&text, "aclNew0001", 8).unwrap().unwrap();
        assert!(file::parse(&deleted).unwrap().accounts.is_empty());
        assert!(upsert_account("- a list", &change("aclNew0001"), 7).is_err());
    }

    #[test]
    fn the_global_whitelist_is_replaced_and_patterns_survive_quoting() {
        let addresses: Vec<String> = ["*", "10.10.*.*", "192.168.1.{1,2}", "::1", "fe80::1-ff"]
            .map(String::from)
            .to_vec();
        let text = set_global_white(FILE, &addresses, 9).unwrap();
        let config = file::parse(&text).unwrap();
        assert_eq!(config.global_white_remote_addresses, addresses);
        assert_eq!(config.accounts.len(), 2);
    }

    #[test]
    fn lists_split_and_permissions_check_as_java_does() {
        assert_eq!(split_list("a=PUB,b=SUB,,"), ["a=PUB", "b=SUB"]);
        assert_eq!(split_list(""), [""]);
        assert!(check_resource_perms(&split_list("a=PUB,b=SUB|PUB,c=DENY")).is_ok());
        let bad = check_resource_perms(&split_list("")).unwrap_err();
        assert!(bad.starts_with("Parse Resource format error for ."), "{bad}");
        let bad = check_resource_perms(&["a=ANY".to_owned()]).unwrap_err();
        assert!(bad.starts_with("Parse resource permission error for a=ANY."), "{bad}");
    }
}
