//! ACL 1.0's live table and its files: what the guard reads on every request, what the admin
//! codes change and what a file edited by hand turns into without a restart.
//!
//! Java 4.9.8 watches the files (`AclFileWatchService`: every 5 s, by modification time and the
//! number of files) and reloads a changed one; ours looks every [`PLAIN_ACL_RELOAD_CHECK_INTERVAL`]
//! at each file's modification time and length and the list of files, and rebuilds the whole
//! table from all files. A file that no longer reads (bad YAML, a key too short, a bad pattern)
//! keeps the table as it was and is logged, where Java applies half of it.
//!
//! The admin codes change one file's text (`plain_acl::edit`), check that every file still makes
//! a valid table, write the file crash-safely (temporary, fsync, rename, `.bak`, mode 0600;
//! Java 4.9.8 overwrites it in place, so a crash can leave it empty) and swap the table in before
//! they answer, so a success means the change is in force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use ferrocket_store::persist_secret_config_file;

use crate::config::BrokerConfig;
use crate::error::BrokerResult;
use crate::state::plain_acl::{FileConfig, PlainAcl, file};
use crate::state::plain_acl_files::{self, read_text, refuse};

/// How often the files are looked at for changes: Java's 5 s is long for an operator waiting on
/// a hand edit, and a look is one `stat` per file.
pub const PLAIN_ACL_RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What a look at the files saw: each path with its modification time and length (`None`:
/// missing).
type Fingerprint = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

/// The table and where it comes from.
#[derive(Debug)]
pub struct PlainAclStore {
    plain_acl_file: Option<String>,
    rocketmq_home: Option<String>,
    current: RwLock<Arc<PlainAcl>>,
    /// The files as last read; held for a whole reload or edit, so they never interleave.
    seen: Mutex<Fingerprint>,
}

/// Which file an admin change goes to.
pub enum Target<'a> {
    /// The file holding this access key's account, else the default file.
    Account(&'a str),
    /// This file, which must be one of those read or the default file.
    File(&'a str),
}

impl PlainAclStore {
    /// The store for the files already read at start (`files`, from `plain_acl_files::read`).
    pub fn new(
        config: &BrokerConfig,
        rocketmq_home: Option<&str>,
        files: &[(String, FileConfig)],
    ) -> BrokerResult<PlainAclStore> {
        let acl = plain_acl_files::interpret(files)?;
        let store = PlainAclStore {
            plain_acl_file: config.auth.plain_acl_file.clone(),
            rocketmq_home: rocketmq_home.map(str::to_owned),
            current: RwLock::new(Arc::new(acl)),
            seen: Mutex::new(Vec::new()),
        };
        *store.seen() = fingerprint(&store.paths()?);
        Ok(store)
    }

    /// The table in force.
    pub fn current(&self) -> Arc<PlainAcl> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The file new accounts go to (`plainAclFile`, else `$ROCKETMQ_HOME/conf/plain_acl.yml`).
    pub fn default_file(&self) -> BrokerResult<PathBuf> {
        self.paths()?
            .pop()
            .ok_or_else(|| refuse("no ACL file configured".into()))
    }

    /// Rebuilds the table when a file changed, appeared or went; `Ok(true)` when it did.
    pub fn reload_if_changed(&self) -> BrokerResult<bool> {
        let mut seen = self.seen();
        let paths = self.paths()?;
        let now = fingerprint(&paths);
        if now == *seen {
            return Ok(false);
        }
        *seen = now;
        let acl = plain_acl_files::read_paths(&paths).and_then(|files| plain_acl_files::interpret(&files))?;
        self.swap(acl);
        Ok(true)
    }

    /// Applies `change` to the target file's text (`Ok(None)` from it: nothing to change, the
    /// answer is `Ok(false)`), checks the whole table, writes the file and swaps the table in.
    /// `Err` is the reason for the answer's remark; nothing is written then.
    pub fn edit(
        &self,
        target: Target<'_>,
        change: impl FnOnce(&str) -> Result<Option<String>, String>,
    ) -> Result<bool, String> {
        let mut seen = self.seen();
        let paths = self.paths().map_err(|e| e.to_string())?;
        let default = paths.last().cloned().ok_or("no ACL file configured")?;
        let current = self.current();
        let path = match target {
            Target::Account(access_key) => current.file_of(access_key).map_or(default, PathBuf::from),
            Target::File(name) => paths
                .iter()
                .find(|p| Path::new(name) == p.as_path())
                .cloned()
                .ok_or_else(|| format!("{name} is not one of the ACL files"))?,
        };
        let text = match path.exists() {
            true => read_text(&path).map_err(|e| e.to_string())?,
            false => String::new(),
        };
        let Some(changed) = change(&text)? else {
            return Ok(false);
        };
        let mut files = Vec::new();
        for other in paths.iter().filter(|p| **p == path || p.exists()) {
            let text = match *other == path {
                true => changed.clone(),
                false => read_text(other).map_err(|e| e.to_string())?,
            };
            let config = file::parse(&text).map_err(|e| format!("{}: {e}", other.display()))?;
            files.push((other.display().to_string(), config));
        }
        let acl = PlainAcl::from_files(&files)?;
        persist_secret_config_file(&path, &changed).map_err(|e| format!("{}: {e}", path.display()))?;
        *seen = fingerprint(&paths);
        self.swap(acl);
        Ok(true)
    }

    fn swap(&self, acl: PlainAcl) {
        tracing::info!(accounts = acl.account_count(), "ACL 1.0 table reloaded");
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(acl);
    }

    fn seen(&self) -> MutexGuard<'_, Fingerprint> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn paths(&self) -> BrokerResult<Vec<PathBuf>> {
        let mut config = BrokerConfig::default();
        config.auth.plain_acl_file = self.plain_acl_file.clone();
        plain_acl_files::paths(&config, self.rocketmq_home.as_deref())
    }
}

fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    paths
        .iter()
        .map(|path| {
            let seen = std::fs::metadata(path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (path.clone(), seen)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::state::plain_acl::edit;

    const FILE: &str = "accounts:\n  - accessKey: aclUser01\n    secretKey: aclSecret01\n";

    fn store_for(path: &Path) -> PlainAclStore {
        let mut config = BrokerConfig::default();
        config.auth.acl_enable = true;
        config.auth.plain_acl_file = Some(path.display().to_string());
        let files = plain_acl_files::read(&config, None).unwrap();
        PlainAclStore::new(&config, None, &files).unwrap()
    }

    #[test]
    fn a_hand_edit_is_picked_up_and_a_broken_one_keeps_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        fs::write(&path, FILE).unwrap();
        let store = store_for(&path);
        assert!(!store.reload_if_changed().unwrap());
        fs::write(
            &path,
            format!("{FILE}  - accessKey: aclUser02\n    secretKey: aclSecret02\n"),
        )
        .unwrap();
        assert!(store.reload_if_changed().unwrap());
        assert_eq!(store.current().account_count(), 2);
        fs::write(&path, "accounts:\n  - accessKey: short\n    secretKey: s\n").unwrap();
        assert!(store.reload_if_changed().is_err());
        assert_eq!(store.current().account_count(), 2);
        assert!(!store.reload_if_changed().unwrap(), "a broken file is reported once");
    }

    #[test]
    fn an_edit_is_written_and_in_force_and_an_invalid_one_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        fs::write(&path, FILE).unwrap();
        let store = store_for(&path);
        let change = edit::AccountChange {
            access_key: "aclNew0001".into(),
            secret_key: "aclNewSecret".into(),
            ..Default::default()
        };
        let done = store.edit(Target::Account("aclNew0001"), |text| {
            edit::upsert_account(text, &change, 42).map(Some)
        });
        assert_eq!(done, Ok(true));
        assert_eq!(store.current().account_count(), 2);
        assert!(fs::read_to_string(&path).unwrap().contains("aclNew0001"));
        assert_eq!(store.current().versions()[0].1.counter, 1);
        assert!(!store.reload_if_changed().unwrap(), "our own write is not a change");
        let short = edit::AccountChange {
            access_key: "aclNew0002".into(),
            secret_key: "short".into(),
            ..Default::default()
        };
        let refused = store.edit(Target::Account("aclNew0002"), |text| {
            edit::upsert_account(text, &short, 43).map(Some)
        });
        assert!(refused.unwrap_err().contains("length should longer than 6"));
        assert!(!fs::read_to_string(&path).unwrap().contains("aclNew0002"));
        let elsewhere = store.edit(Target::File("/etc/passwd.yml"), |_| Ok(Some(String::new())));
        assert!(elsewhere.unwrap_err().contains("is not one of the ACL files"));
    }
}
