//! The abort file `<root>/abort` (store-and-ha.md §4.2): created when the store opens, deleted
//! on a clean shutdown. Finding it at open means the last run ended abnormally, so recovery must
//! not trust what was only in memory (index files newer than the checkpoint are rebuilt).
//!
//! Invariant: while a store is open its abort file exists; 5.x writes the process id into it
//! ([4.x] left it empty), which nothing reads back.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{StoreResult, io_error};

/// The file's name under the store root (`StorePathConfigHelper.getAbortFile`).
pub const ABORT_FILE_NAME: &str = "abort";

pub struct AbortFile {
    path: PathBuf,
}

impl AbortFile {
    /// The abort file of the store in `root`; touches nothing.
    pub fn new(root: &Path) -> AbortFile {
        AbortFile {
            path: root.join(ABORT_FILE_NAME),
        }
    }

    /// Whether the file is there: the previous run did not shut down cleanly.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Creates (or rewrites) the file with this process's id, synced so a crash right after
    /// start-up still finds it.
    pub fn create(&self) -> StoreResult<()> {
        if let Some(dir) = self.path.parent() {
            crate::durable_dir::create_dir_all_durably(dir).map_err(io_error(dir))?;
        }
        fs::write(&self.path, std::process::id().to_string()).map_err(io_error(&self.path))?;
        // The name too: an abort file lost at a power cut would pass the crash for a clean stop.
        fs::File::open(&self.path)
            .and_then(|file| file.sync_all())
            .and_then(|()| crate::durable_dir::sync_parent_dir(&self.path))
            .map_err(io_error(&self.path))
    }

    /// Deletes the file: the store shut down cleanly. A missing file is fine.
    pub fn remove(&self) -> StoreResult<()> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io_error(&self.path)(error)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_remove() {
        let dir = tempfile::tempdir().unwrap();
        let abort = AbortFile::new(dir.path());
        assert!(!abort.exists());
        abort.create().unwrap();
        assert!(abort.exists());
        assert_eq!(
            fs::read_to_string(abort.path()).unwrap(),
            std::process::id().to_string()
        );
        abort.remove().unwrap();
        assert!(!abort.exists());
        abort.remove().unwrap();
    }
}
