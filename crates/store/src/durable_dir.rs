//! Directories that survive a power cut. A new directory (or file) is only durable once the
//! directory holding its name is fsynced: `create_dir_all` alone can leave, after a power cut,
//! no `config/` (and so no `topics.json`) although every file in it was fsynced. Found by the
//! power-loss test (crates/cli/tests/powerloss.rs on crates/lossyfs).
//!
//! ```text
//! create_dir_all_durably(a/b/c), a existing:  mkdir a/b, fsync a;  mkdir a/b/c, fsync a/b
//! ```

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// `fs::create_dir_all`, and each directory it creates is made durable in its parent.
pub fn create_dir_all_durably(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all_durably(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => sync_parent_dir(dir),
        // Created meanwhile by another thread or process: its creator syncs it.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(error) => Err(error),
    }
}

/// fsyncs the directory holding `path`'s name, so a create or rename of `path` survives a cut.
pub fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_every_missing_level_and_accepts_an_existing_one() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a").join("b").join("c");
        create_dir_all_durably(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_all_durably(&deep).unwrap();
        std::fs::write(root.path().join("file"), b"x").unwrap();
        assert!(create_dir_all_durably(&root.path().join("file")).is_err());
    }
}
