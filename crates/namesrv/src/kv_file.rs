//! `kvConfig.json` on disk, through the workspace's one atomic file writer,
//! `ferrocket_store::persist_config_file` (Java's `KVConfigManager` goes through the same
//! `MixAll.string2File` as the broker's config files). Blocking; the shell runs these on tokio's
//! blocking pool.
//!
//! Writing: the bytes go to `kvConfig.json.tmp` and are fsynced, the previous content is copied
//! to `kvConfig.json.bak`, the `.tmp` is renamed over `kvConfig.json` and the directory is
//! fsynced, so a crash leaves either the old file or the new one, never a mix.
//! Reading: a missing file is an empty table; an unreadable, oversized or malformed one falls
//! back to the `.bak`. When neither serves, the file is moved aside to `kvConfig.json.corrupt`
//! (so the next write cannot destroy what an operator may want to repair) and the server starts
//! with an empty table, as Java does.

use std::fs;
use std::path::Path;

use ferrocket_store::{CORRUPT_SUFFIX, StoreResult, load_config_file, persist_config_file, with_suffix};
use tracing::{error, info};

use crate::kv_config::{KV_TOTAL_BYTES_MAX, KvConfig};

/// The JSON of a full table: data at most [`KV_TOTAL_BYTES_MAX`], escaping at most sixfold,
/// plus structure. Anything bigger is not a file we wrote.
const KV_FILE_BYTES_MAX: usize = 8 * KV_TOTAL_BYTES_MAX;

/// Reads the KV table at `path`, or an empty one (see the module comment).
pub fn load(path: &Path) -> KvConfig {
    let loaded = load_config_file(path, |text| decode(text).is_ok());
    let reason = match loaded.map(|text| text.as_deref().map(decode)) {
        Ok(Some(Ok(kv))) => {
            info!(path = %path.display(), "KV config loaded");
            return kv;
        }
        Ok(None) if !path.exists() => return KvConfig::new(),
        // The file is there but was rejected, and there is no backup to fall back to.
        Ok(None) => "cannot be decoded and has no backup".to_owned(),
        Ok(Some(Err(reason))) => reason,
        Err(error) => error.to_string(),
    };
    let aside = with_suffix(path, CORRUPT_SUFFIX);
    let moved = fs::rename(path, &aside);
    error!(path = %path.display(), %reason, aside = %aside.display(), moved = moved.is_ok(),
        "KV config unreadable; starting empty, the old file is set aside");
    KvConfig::new()
}

/// Replaces the file at `path` with `bytes`, atomically and durably, keeping a `.bak`.
pub fn write(path: &Path, bytes: &[u8]) -> StoreResult<()> {
    persist_config_file(path, bytes)
}

/// The table in `text`. The store bounds what it reads; this bounds it to what we write.
fn decode(text: &str) -> Result<KvConfig, String> {
    if text.len() > KV_FILE_BYTES_MAX {
        return Err(format!("larger than {KV_FILE_BYTES_MAX} bytes"));
    }
    KvConfig::from_json(text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use ferrocket_store::{BACKUP_SUFFIX, TEMPORARY_SUFFIX};

    use super::*;

    #[test]
    fn write_then_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        assert_eq!(load(&path), KvConfig::new());
        let mut kv = KvConfig::new();
        kv.put("ns", "k", "v").unwrap();
        write(&path, &kv.to_json()).unwrap();
        assert_eq!(load(&path), kv);
        let first = kv.to_json();
        kv.put("ns", "k2", "v2").unwrap();
        write(&path, &kv.to_json()).unwrap();
        assert_eq!(load(&path), kv);
        assert!(!with_suffix(&path, TEMPORARY_SUFFIX).exists());
        assert_eq!(fs::read(with_suffix(&path, BACKUP_SUFFIX)).unwrap(), first);
    }

    #[test]
    fn a_bad_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        fs::write(&path, b"{\"configTable\":{\"ns\":").unwrap();
        assert_eq!(load(&path), KvConfig::new());
        assert!(!path.exists());
        assert_eq!(
            fs::read(with_suffix(&path, CORRUPT_SUFFIX)).unwrap(),
            b"{\"configTable\":{\"ns\":"
        );
    }

    #[test]
    fn a_bad_file_falls_back_to_its_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        let mut kv = KvConfig::new();
        kv.put("ns", "k", "v").unwrap();
        fs::write(with_suffix(&path, BACKUP_SUFFIX), kv.to_json()).unwrap();
        fs::write(&path, b"{\"configTable\":{\"ns\":").unwrap();
        assert_eq!(load(&path), kv);
        assert!(with_suffix(&path, CORRUPT_SUFFIX).exists());
    }
}
