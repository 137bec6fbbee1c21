//! `kvConfig.json` on disk: written atomically, read tolerantly. Blocking; the shell runs these
//! on tokio's blocking pool.
//!
//! Writing: the bytes go to `kvConfig.json.tmp`, are fsynced, renamed over `kvConfig.json`, and
//! the directory is fsynced, so a crash leaves either the old file or the new one, never a mix.
//! Reading: a missing file is an empty table; an unreadable, oversized or malformed one is moved
//! aside to `kvConfig.json.bad` (so the next write cannot destroy what an operator may want to
//! repair) and the server starts with an empty table, as Java does.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use tracing::{error, info};

use crate::kv_config::{KV_TOTAL_BYTES_MAX, KvConfig};

/// The JSON of a full table: data at most [`KV_TOTAL_BYTES_MAX`], escaping at most sixfold,
/// plus structure. Anything bigger is not a file we wrote.
const KV_FILE_BYTES_MAX: u64 = 8 * KV_TOTAL_BYTES_MAX as u64;

/// Reads the KV table at `path`, or an empty one (see the module comment).
pub fn load(path: &Path) -> KvConfig {
    match read(path) {
        Ok(Some(kv)) => {
            info!(path = %path.display(), "KV config loaded");
            kv
        }
        Ok(None) => KvConfig::new(),
        Err(reason) => {
            let aside = sibling(path, "bad");
            let moved = fs::rename(path, &aside);
            error!(path = %path.display(), %reason, aside = %aside.display(), moved = moved.is_ok(),
                "KV config unreadable; starting empty, the old file is set aside");
            KvConfig::new()
        }
    }
}

/// Replaces the file at `path` with `bytes`, atomically and durably.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = sibling(path, "tmp");
    let mut file = File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, path)?;
    sync_parent(path)
}

fn read(path: &Path) -> Result<Option<KvConfig>, String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut bytes = Vec::new();
    file.take(KV_FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > KV_FILE_BYTES_MAX {
        return Err(format!("larger than {KV_FILE_BYTES_MAX} bytes"));
    }
    KvConfig::from_json(&bytes).map(Some).map_err(|e| e.to_string())
}

/// `kvConfig.json` → `kvConfig.json.<suffix>`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

/// Makes the rename itself durable. Directories cannot be opened for syncing on every
/// platform; where they cannot, the rename is as durable as the platform makes it.
fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent().map(File::open) {
        Some(Ok(dir)) => dir.sync_all().or(Ok(())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
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
        kv.put("ns", "k2", "v2").unwrap();
        write(&path, &kv.to_json()).unwrap();
        assert_eq!(load(&path), kv);
        assert!(!sibling(&path, "tmp").exists());
    }

    #[test]
    fn a_bad_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        fs::write(&path, b"{\"configTable\":{\"ns\":").unwrap();
        assert_eq!(load(&path), KvConfig::new());
        assert!(!path.exists());
        assert_eq!(fs::read(sibling(&path, "bad")).unwrap(), b"{\"configTable\":{\"ns\":");
    }
}
