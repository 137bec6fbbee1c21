//! The JSON metadata files of both servers, as Java's `MixAll.string2File` writes them: the
//! broker's `<root>/config/` (`topics.json`, `consumerOffset.json`, `delayOffset.json`,
//! `subscriptionGroup.json`, …; store-and-ha.md §6.6) and the name server's `kvConfig.json`.
//! Crash-safe replacement with a `.bak` copy of the previous content, and loading that falls back
//! to the `.bak`. The one atomic file writer of the workspace lives here, in the lowest crate that
//! does file I/O (`wire` is pure), so the name server and the broker share it.
//!
//! ```text
//! persist:  <file>.tmp ← new text, fsync      (Java 4.x `MixAll.string2File` also starts here)
//!           <file>.bak ← current text, fsync   (skipped when there is no current text)
//!           rename <file>.tmp → <file>         (atomic; Java deletes then renames)
//!           fsync <dir>                        (the rename survives a crash)
//! ```
//! Invariant: at every instant `<file>` is either absent or a complete text we wrote (or Java
//! wrote); a crash can only leave a stale `.tmp` (never read) or a partial `.bak` beside an intact
//! `<file>`. Java 5.0–5.3.3 overwrites `<file>` in place, so a file left by a crashed Java broker
//! can be truncated; [`load_config_file`] then uses the `.bak`, as `ConfigManager.load` does, and
//! sets the bad file aside so the next persist cannot back it up over the good `.bak`. The
//! bodies themselves are decoded by the wire crate (`ferrocket_wire::body`), which reads
//! fastjson's unquoted integer keys.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{StoreError, StoreResult, io_error};

/// Appended to a file name for the copy of its previous content (`MixAll.string2File`).
pub const BACKUP_SUFFIX: &str = ".bak";
/// Appended to a file name for the new content before it replaces the file.
pub const TEMPORARY_SUFFIX: &str = ".tmp";
/// Appended to a file name when [`load_config_file`] sets a rejected file aside.
pub const CORRUPT_SUFFIX: &str = ".corrupt";
/// The largest metadata file read: offsets of tens of thousands of groups stay far below it, and
/// a larger file is not one the broker wrote.
pub const CONFIG_FILE_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// Replaces the content of `path` with `json_text` (text, or the bytes of a JSON encoder),
/// keeping the previous content in `<path>.bak`, crash-safely (see the module diagram). Creates
/// the parent directory.
pub fn persist_config_file(path: &Path, json_text: impl AsRef<[u8]>) -> StoreResult<()> {
    persist(path, json_text.as_ref(), None)
}

/// [`persist_config_file`] for a file holding secrets (the ACL users' keys): the file, its
/// temporary and its `.bak` are readable by the broker's user only (mode 0600).
pub fn persist_secret_config_file(path: &Path, json_text: impl AsRef<[u8]>) -> StoreResult<()> {
    persist(path, json_text.as_ref(), Some(SECRET_FILE_MODE))
}

/// Owner read and write, nothing for group and others.
const SECRET_FILE_MODE: u32 = 0o600;

fn persist(path: &Path, json_text: &[u8], mode: Option<u32>) -> StoreResult<()> {
    let dir = parent_dir(path);
    crate::durable_dir::create_dir_all_durably(&dir).map_err(io_error(&dir))?;
    let temporary = with_suffix(path, TEMPORARY_SUFFIX);
    write_synced(&temporary, json_text, mode)?;
    // The current file is complete (we only ever rename complete files over it), so it is the
    // right backup; an empty one (a Java crash mid-overwrite) would only destroy a good `.bak`.
    if let Some(previous) = read_bounded(path)?
        && !previous.is_empty()
    {
        write_synced(&with_suffix(path, BACKUP_SUFFIX), &previous, mode)?;
    }
    fs::rename(&temporary, path).map_err(io_error(path))?;
    File::open(&dir).and_then(|d| d.sync_all()).map_err(io_error(&dir))
}

/// Reads the text of `path`, falling back to `<path>.bak` when the file is missing, empty, not
/// UTF-8 or rejected by `is_valid` (the caller's decoder). `None`: neither exists (or the `.bak`
/// is empty), so the broker starts with an empty table, as Java does. A `.bak` that exists but
/// is rejected is an error, as in Java (`loadBak` fails the start).
///
/// When the `.bak` is used and a rejected file was present, that file is moved aside to
/// `<path>.corrupt`: Java keeps it, and its next persist would copy it over the good `.bak`.
pub fn load_config_file(path: &Path, is_valid: impl Fn(&str) -> bool) -> StoreResult<Option<String>> {
    let main = read_text(path)?;
    if let Some(text) = &main
        && !text.is_empty()
        && is_valid(text)
    {
        return Ok(main);
    }
    let backup = with_suffix(path, BACKUP_SUFFIX);
    let text = match read_text(&backup)? {
        None => return Ok(None),
        Some(text) if text.is_empty() => return Ok(None),
        Some(text) if is_valid(&text) => text,
        Some(_) => {
            return Err(StoreError::Corrupt {
                file: backup,
                offset: 0,
                reason: "neither the file nor its backup can be decoded".to_owned(),
            });
        }
    };
    if main.is_some() {
        let aside = with_suffix(path, CORRUPT_SUFFIX);
        fs::rename(path, &aside).map_err(io_error(path))?;
    }
    Ok(Some(text))
}

/// `path` with `suffix` appended to its file name (`topics.json` → `topics.json.bak`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The text of `path`; `None` when it is missing. Bytes that are not UTF-8 read as empty text,
/// so [`load_config_file`] treats them like an unparseable file.
fn read_text(path: &Path) -> StoreResult<Option<String>> {
    Ok(read_bounded(path)?.map(|bytes| String::from_utf8(bytes).unwrap_or_default()))
}

/// The bytes of `path`, at most [`CONFIG_FILE_BYTES_MAX`]; `None` when it is missing.
fn read_bounded(path: &Path) -> StoreResult<Option<Vec<u8>>> {
    let length = match fs::metadata(path) {
        Ok(metadata) => metadata.len(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(path)(error)),
    };
    if length > CONFIG_FILE_BYTES_MAX {
        return Err(StoreError::Corrupt {
            file: path.to_owned(),
            offset: 0,
            reason: format!("{length} bytes, more than {CONFIG_FILE_BYTES_MAX}"),
        });
    }
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error(path)(error)),
    }
}

/// Creates or truncates `path`, writes `bytes` and `fsync`s it.
/// Writes `bytes` to `path` and syncs; with `mode`, the file gets that mode before any byte is
/// written (also when it already existed with another).
fn write_synced(path: &Path, bytes: &[u8], mode: Option<u32>) -> StoreResult<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if let Some(mode) = mode {
        options.mode(mode);
    }
    let mut file = options.open(path).map_err(io_error(path))?;
    if let Some(mode) = mode {
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io_error(path))?;
    }
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_and_its_backup_are_for_the_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        fs::write(&path, "[]").unwrap();
        persist_secret_config_file(&path, "[1]").unwrap();
        for file in [path.clone(), with_suffix(&path, BACKUP_SUFFIX)] {
            let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), "[1]");
    }

    fn is_object(text: &str) -> bool {
        text.trim_start().starts_with('{') && text.trim_end().ends_with('}')
    }

    #[test]
    fn first_persist_writes_no_backup_and_the_second_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config").join("topics.json");
        persist_config_file(&path, "{\"a\":1}").unwrap();
        assert!(!with_suffix(&path, BACKUP_SUFFIX).exists());
        assert!(!with_suffix(&path, TEMPORARY_SUFFIX).exists());
        persist_config_file(&path, "{\"a\":2}").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":2}");
        assert_eq!(
            fs::read_to_string(with_suffix(&path, BACKUP_SUFFIX)).unwrap(),
            "{\"a\":1}"
        );
        assert_eq!(
            load_config_file(&path, is_object).unwrap().as_deref(),
            Some("{\"a\":2}")
        );
    }

    #[test]
    fn missing_files_load_as_none_and_a_bad_backup_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delayOffset.json");
        assert_eq!(load_config_file(&path, is_object).unwrap(), None);
        fs::write(with_suffix(&path, BACKUP_SUFFIX), "").unwrap();
        assert_eq!(load_config_file(&path, is_object).unwrap(), None);
        fs::write(with_suffix(&path, BACKUP_SUFFIX), "{\"x\"").unwrap();
        assert!(matches!(
            load_config_file(&path, is_object),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn bytes_that_are_not_utf8_fall_back_to_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("topics.json");
        fs::write(&path, [b'{', 0xff, b'}']).unwrap();
        fs::write(with_suffix(&path, BACKUP_SUFFIX), "{}").unwrap();
        assert_eq!(load_config_file(&path, is_object).unwrap().as_deref(), Some("{}"));
    }

    #[test]
    fn suffixes_append_to_the_whole_name() {
        assert_eq!(
            with_suffix(Path::new("/r/config/topics.json"), ".bak"),
            PathBuf::from("/r/config/topics.json.bak")
        );
        assert_eq!(parent_dir(Path::new("topics.json")), PathBuf::from("."));
    }
}
