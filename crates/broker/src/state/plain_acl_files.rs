//! Where ACL 1.0's files are and reading them (at start, and again when they change:
//! `plain_acl_store`).
//!
//! Java's places, in Java's order: every `*.yml` / `*.yaml` under `${ROCKETMQ_HOME}/conf/acl/`
//! (sub-directories included; sorted by path here, Java takes the directory's order), then
//! `${ROCKETMQ_HOME}/conf/plain_acl.yml`; an access key keeps the account of the first file
//! naming it. `plainAclFile` (ours) names the one file to read instead, for a broker started
//! without `ROCKETMQ_HOME`. Java creates a missing `plain_acl.yml` and starts refusing every
//! request; we refuse to start, naming the file.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::BrokerConfig;
use crate::error::{BrokerError, BrokerResult};
use crate::state::plain_acl::{FileConfig, PlainAcl, file};

/// ACL files read: one `plain_acl.yml` and a few per-team files under `conf/acl/` in practice;
/// bounds the start-up walk of a directory an operator may have filled with other things.
pub const PLAIN_ACL_FILES_MAX: usize = 256;
/// Bytes of one ACL file: ten thousand accounts fit in a few MiB; a larger file is a mistake.
pub const PLAIN_ACL_FILE_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Directory levels walked under `conf/acl/`.
const ACL_DIR_DEPTH_MAX: usize = 8;

pub fn refuse(reason: String) -> BrokerError {
    BrokerError::PlainAclConfig { reason }
}

/// The ACL 1.0 files, read and parsed, in Java's order.
pub fn read(config: &BrokerConfig, rocketmq_home: Option<&str>) -> BrokerResult<Vec<(String, FileConfig)>> {
    let paths = paths(config, rocketmq_home)?;
    if let Some(last) = paths.last()
        && !paths.iter().any(|p| p.exists())
    {
        return Err(refuse(format!("{} does not exist", last.display())));
    }
    read_paths(&paths)
}

/// Reads and parses those of `paths` that exist.
pub fn read_paths(paths: &[PathBuf]) -> BrokerResult<Vec<(String, FileConfig)>> {
    let mut files = Vec::new();
    for path in paths.iter().filter(|p| p.exists()) {
        let text = read_text(path)?;
        let config = file::parse(&text).map_err(|e| refuse(format!("{}: {e}", path.display())))?;
        files.push((path.display().to_string(), config));
    }
    Ok(files)
}

/// Where the ACL 1.0 files are, in Java's order (whether or not they exist); the last is the
/// default file, where new accounts go.
pub fn paths(config: &BrokerConfig, rocketmq_home: Option<&str>) -> BrokerResult<Vec<PathBuf>> {
    if config.auth.acl_enable && config.auth.authentication_enabled {
        return Err(refuse(
            "aclEnable (ACL 1.0) and authenticationEnabled (5.x auth) are both on; pick one \
             (migrateAuthFromV1Enabled imports plain_acl.yml into 5.x auth)"
                .into(),
        ));
    }
    match (
        &config.auth.plain_acl_file,
        rocketmq_home.filter(|h| !h.trim().is_empty()),
    ) {
        (Some(file), _) => Ok(vec![PathBuf::from(file)]),
        (None, Some(home)) => {
            let conf = Path::new(home).join("conf");
            let mut paths = Vec::new();
            walk(&conf.join("acl"), 0, &mut paths)?;
            paths.sort();
            let default = conf.join("plain_acl.yml");
            paths.retain(|p| *p != default);
            paths.push(default);
            Ok(paths)
        }
        (None, None) => Err(refuse(
            "neither ROCKETMQ_HOME (for $ROCKETMQ_HOME/conf/plain_acl.yml) nor plainAclFile is set".into(),
        )),
    }
}

/// The validator's table of the files' accounts.
pub fn interpret(files: &[(String, FileConfig)]) -> BrokerResult<PlainAcl> {
    let acl = PlainAcl::from_files(files).map_err(refuse)?;
    tracing::info!(
        accounts = acl.account_count(),
        files = files.len(),
        "ACL 1.0 (aclEnable) on"
    );
    Ok(acl)
}

/// One file's text, bounded by [`PLAIN_ACL_FILE_BYTES_MAX`].
pub fn read_text(path: &Path) -> BrokerResult<String> {
    let name = path.display();
    let bytes = fs::metadata(path).map_err(|e| refuse(format!("{name}: {e}")))?.len();
    if bytes > PLAIN_ACL_FILE_BYTES_MAX {
        return Err(refuse(format!(
            "{name}: {bytes} bytes, more than PLAIN_ACL_FILE_BYTES_MAX = {PLAIN_ACL_FILE_BYTES_MAX}"
        )));
    }
    fs::read_to_string(path).map_err(|e| refuse(format!("{name}: {e}")))
}

fn walk(dir: &Path, depth: usize, paths: &mut Vec<PathBuf>) -> BrokerResult<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.to_string_lossy();
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            if paths.len() >= PLAIN_ACL_FILES_MAX {
                return Err(refuse(format!(
                    "more than PLAIN_ACL_FILES_MAX = {PLAIN_ACL_FILES_MAX} files under {}",
                    dir.display()
                )));
            }
            paths.push(path);
        } else if path.is_dir() && depth < ACL_DIR_DEPTH_MAX {
            walk(&path, depth + 1, paths)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl_config(file: Option<&Path>) -> BrokerConfig {
        let mut config = BrokerConfig::default();
        config.auth.acl_enable = true;
        config.auth.plain_acl_file = file.map(|f| f.display().to_string());
        config
    }

    const ONE: &str = "accounts:\n  - accessKey: sharedKey\n    secretKey: fromTeamFile\n";
    const TWO: &str = "accounts:\n  - accessKey: sharedKey\n    secretKey: fromPlainAcl\n  - accessKey: otherKey\n    secretKey: otherSecret\n";

    #[test]
    fn rocketmq_home_reads_conf_acl_first_then_plain_acl_yml() {
        let home = tempfile::tempdir().unwrap();
        let conf = home.path().join("conf");
        fs::create_dir_all(conf.join("acl/team")).unwrap();
        fs::write(conf.join("acl/team/a.yaml"), ONE).unwrap();
        fs::write(conf.join("acl/notes.txt"), "not yaml: [").unwrap();
        fs::write(conf.join("plain_acl.yml"), TWO).unwrap();
        let home_text = home.path().to_str().unwrap();
        let files = read(&acl_config(None), Some(home_text)).unwrap();
        assert_eq!(files.len(), 2);
        assert!(files[0].0.ends_with("a.yaml") && files[1].0.ends_with("plain_acl.yml"));
        let acl = interpret(&files).unwrap();
        assert_eq!(acl.account_count(), 2);
        let first = &files[0].1.accounts[0];
        assert_eq!(first.secret_key, "fromTeamFile");
    }

    #[test]
    fn plain_acl_file_names_the_one_file_and_missing_files_refuse_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("acl.yml");
        fs::write(&file, TWO).unwrap();
        let files = read(&acl_config(Some(&file)), Some("/nonexistent-home")).unwrap();
        assert_eq!(files.len(), 1);
        let missing = read(&acl_config(Some(&dir.path().join("nope.yml"))), None).unwrap_err();
        assert!(missing.to_string().contains("nope.yml does not exist"), "{missing}");
        let empty_home = tempfile::tempdir().unwrap();
        let no_file = read(&acl_config(None), empty_home.path().to_str()).unwrap_err();
        assert!(
            no_file.to_string().contains("plain_acl.yml does not exist"),
            "{no_file}"
        );
        assert!(
            read(&acl_config(None), None)
                .unwrap_err()
                .to_string()
                .contains("ROCKETMQ_HOME")
        );
        let mut both = acl_config(Some(&file));
        both.auth.authentication_enabled = true;
        assert!(read(&both, None).unwrap_err().to_string().contains("both on"));
        fs::write(&file, "accounts: [").unwrap();
        assert!(
            read(&acl_config(Some(&file)), None)
                .unwrap_err()
                .to_string()
                .contains("not YAML")
        );
    }
}
