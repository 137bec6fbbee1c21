//! A bounded cache of open file handles, one per kind of store file (commit-log segments,
//! consume-queue files, index files): a file is opened when it is read or written and closed when
//! the cache needs room, so a store of any number of queues holds at most the cache's limit of
//! descriptors. (Holding one descriptor per queue file forever took a broker with 5,000 queue ids
//! to the process's open-file limit, after which every put failed.)
//!
//! Eviction is least recently used. A handle a caller still holds (an `Arc`) stays valid after
//! eviction and is closed when the caller drops it, so descriptors in use never exceed the limit
//! plus the operations in flight. When the system refuses an open (EMFILE, ENFILE), the cache
//! closes every idle handle and tries once more; if that fails too the caller gets
//! [`StoreError::OpenFilesExhausted`], a refusal of that one operation, never a lasting state.
//!
//! Any descriptor of a file syncs all of its dirty pages, so a file written through one handle
//! and evicted is flushed later through a fresh one.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{StoreError, StoreResult, io_error};

/// Consume-queue files open at once. A broker writes to a few hundred active queues at a time
/// and reopening a cold one costs one `open(2)` (microseconds); 256 leaves most of a default
/// 1,024-descriptor limit to client connections and the other files.
pub const QUEUE_FILES_OPEN_MAX: usize = 256;
/// Commit-log segments open at once: the one being written, the ones pulls and replication read
/// near the end, and a few older ones for consumers catching up.
pub const COMMIT_LOG_FILES_OPEN_MAX: usize = 16;
/// Index files open at once: the newest takes every put; a query walks a few older ones.
pub const INDEX_FILES_OPEN_MAX: usize = 8;
/// A cache holds at most this fraction (1/4) of the process's open-file limit, whatever its own
/// maximum: under a low limit most descriptors must stay free for client connections and for
/// the opens that do not go through a cache (directories, the checkpoint).
const PROCESS_LIMIT_DIVISOR: u64 = 4;
/// The smallest cache: the files one put touches, and a few more.
const CACHE_MIN: usize = 4;

pub(crate) struct OpenFiles {
    limit: usize,
    state: Mutex<State>,
    next_key: AtomicU64,
}

/// A file's path and its key in one [`OpenFiles`] cache: every read and write looks its handle
/// up by the number, since hashing the path each time costs more than many reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CachedPath {
    key: u64,
    path: PathBuf,
}

impl CachedPath {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Default)]
struct State {
    handles: HashMap<u64, Slot>,
    /// Increases on every use; the slot with the smallest `last_used` goes first.
    clock: u64,
}

struct Slot {
    file: Arc<File>,
    /// For [`OpenFiles::forget_under`].
    path: PathBuf,
    last_used: u64,
}

impl OpenFiles {
    /// A cache of at most `limit` open handles, and at most a quarter of the process's current
    /// open-file limit ([`PROCESS_LIMIT_DIVISOR`]), but never fewer than [`CACHE_MIN`].
    pub(crate) fn new(limit: usize) -> Arc<OpenFiles> {
        let process_limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let share = process_limit.map_or(usize::MAX, |soft| {
            usize::try_from(soft / PROCESS_LIMIT_DIVISOR).unwrap_or(usize::MAX)
        });
        Arc::new(OpenFiles {
            limit: limit.min(share).max(CACHE_MIN),
            state: Mutex::new(State::default()),
            next_key: AtomicU64::new(0),
        })
    }

    /// `path` with a key of its own in this cache (opens nothing).
    pub(crate) fn key(&self, path: PathBuf) -> CachedPath {
        CachedPath {
            key: self.next_key.fetch_add(1, Ordering::Relaxed),
            path,
        }
    }

    /// The handle of the existing file, opened read-write if it is not open.
    pub(crate) fn get(&self, file: &CachedPath) -> StoreResult<Arc<File>> {
        self.get_or_open(file, false)
    }

    /// Creates the file, which must not exist, and caches its handle.
    pub(crate) fn create_new(&self, file: &CachedPath) -> StoreResult<Arc<File>> {
        self.get_or_open(file, true)
    }

    /// Closes the file's handle if open (before the file is deleted).
    pub(crate) fn forget(&self, file: &CachedPath) {
        self.lock().handles.remove(&file.key);
    }

    /// Closes the handles of every file under `dir` (before the directory is deleted).
    pub(crate) fn forget_under(&self, dir: &Path) {
        self.lock().handles.retain(|_, slot| !slot.path.starts_with(dir));
    }

    /// Handles open now (for tests and stats).
    pub(crate) fn open_count(&self) -> usize {
        self.lock().handles.len()
    }

    /// The most handles this cache keeps open.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    fn get_or_open(&self, cached: &CachedPath, create: bool) -> StoreResult<Arc<File>> {
        let path = cached.path();
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        if !create && let Some(slot) = state.handles.get_mut(&cached.key) {
            slot.last_used = now;
            return Ok(Arc::clone(&slot.file));
        }
        if state.handles.len() >= self.limit {
            state.evict_oldest();
        }
        let file = match open(path, create) {
            Err(StoreError::OpenFilesExhausted { .. }) => {
                // Our idle handles may be what fills the table: give them all back, once.
                state.handles.retain(|_, slot| Arc::strong_count(&slot.file) > 1);
                open(path, create)?
            }
            other => other?,
        };
        let file = Arc::new(file);
        state.handles.insert(
            cached.key,
            Slot {
                file: Arc::clone(&file),
                path: path.to_owned(),
                last_used: now,
            },
        );
        Ok(file)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the map leaves it consistent (every step is one map operation).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn evict_oldest(&mut self) {
        let oldest = self
            .handles
            .iter()
            .min_by_key(|(_, slot)| slot.last_used)
            .map(|(key, _)| *key);
        if let Some(key) = oldest {
            self.handles.remove(&key);
        }
    }
}

fn open(path: &Path, create: bool) -> StoreResult<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(create)
        .open(path)
        .map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;

    use super::*;

    #[test]
    fn at_most_the_limit_stays_open_and_the_least_recent_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let files = OpenFiles::new(CACHE_MIN);
        let paths: Vec<CachedPath> = (0..=CACHE_MIN)
            .map(|n| files.key(dir.path().join(n.to_string())))
            .collect();
        for path in &paths {
            files.create_new(path).unwrap().write_all_at(b"x", 0).unwrap();
        }
        assert_eq!(files.open_count(), CACHE_MIN);
        // 0 was evicted; reopening it evicts 1 (the others are more recent).
        files.get(&paths[0]).unwrap();
        assert!(files.lock().handles.contains_key(&paths[2].key));
        assert!(!files.lock().handles.contains_key(&paths[1].key));
        let mut byte = [0u8; 1];
        files.get(&paths[1]).unwrap().read_exact_at(&mut byte, 0).unwrap();
        assert_eq!(&byte, b"x");
        assert!(files.create_new(&paths[1]).is_err(), "create_new never reopens");
        files.forget_under(dir.path());
        assert_eq!(files.open_count(), 0);
    }

    #[test]
    fn a_held_handle_outlives_its_eviction() {
        let dir = tempfile::tempdir().unwrap();
        let files = OpenFiles::new(CACHE_MIN);
        let a = files.key(dir.path().join("a"));
        let held = files.create_new(&a).unwrap();
        for name in ["b", "c", "d", "e"] {
            files.create_new(&files.key(dir.path().join(name))).unwrap();
        }
        assert_eq!(files.open_count(), CACHE_MIN);
        assert!(!files.lock().handles.contains_key(&a.key));
        held.write_all_at(b"still open", 0).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"still open");
    }
}
