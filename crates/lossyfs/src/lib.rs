//! Test support for power loss: a FUSE pass-through file system that keeps, per file, every
//! write not yet covered by an fsync/fdatasync (and every create, rename and unlink not yet
//! covered by an fsync of its directory, as LazyFS does), and throws all of it away at a
//! simulated power cut, optionally tearing the newest write at a random byte.
//!
//! ```text
//! test ── LossyMount::mount(backing, mountpoint) ── FUSE thread (fs.rs) ── backing dir
//!           .power_cut(tear)   every later operation fails (EIO); the journal (journal.rs)
//!                              is undone newest first: the backing dir is what was durable
//!           .unmount()         kill the writers first; a fresh mount sees only durable data
//!           .set_fsync_delay() a slow disk: each fsync answers after the delay
//! ```
//! Root only: the mount is made with mount(2) directly (fuser's pure-Rust mount), so no
//! `fusermount` helper is needed. The writers must be killed between the cut and the unmount:
//! the cut makes the mount refuse everything, so their dying writes reach nothing.

mod fs;
mod journal;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::thread::JoinHandle;

use fuser::{MountOption, Session, SessionUnmounter};

pub use journal::{Journal, Undo, torn_prefix};

/// A mounted lossy file system over a backing directory.
pub struct LossyMount {
    /// The FUSE loop's thread and what unmounts it; `None` once unmounted.
    session: Option<(JoinHandle<io::Result<()>>, SessionUnmounter)>,
    shared: fs::Shared,
    mountpoint: PathBuf,
}

impl LossyMount {
    /// Mounts `backing` at `mountpoint` (both existing directories); `stash` is an empty
    /// directory outside both, where unlinked and overwritten files wait until they are durable.
    pub fn mount(backing: &Path, mountpoint: &Path, stash: &Path) -> io::Result<LossyMount> {
        let shared = std::sync::Arc::new(std::sync::Mutex::new(fs::State::new(
            backing.to_path_buf(),
            stash.to_path_buf(),
        )));
        let filesystem = fs::LossyFs {
            shared: std::sync::Arc::clone(&shared),
        };
        let options = [MountOption::FSName("lossyfs".into()), MountOption::DefaultPermissions];
        let mut session = Session::new(filesystem, mountpoint, &options)?;
        let unmounter = session.unmount_callable();
        let thread = std::thread::spawn(move || session.run());
        Ok(LossyMount {
            session: Some((thread, unmounter)),
            shared,
            mountpoint: mountpoint.to_path_buf(),
        })
    }

    /// The power cut: from now on every operation on the mount fails, and every change not made
    /// durable is undone in the backing directory. `tear`: keep a prefix (its length picked from
    /// this number) of the newest write. Returns how many changes were lost.
    pub fn power_cut(&self, tear: Option<u64>) -> usize {
        fs::lock(&self.shared).power_cut(tear)
    }

    /// Each fsync (of a file or a directory) from now on completes after `delay`.
    pub fn set_fsync_delay(&self, delay: Duration) {
        fs::lock(&self.shared).fsync_delay = delay;
    }

    /// Changes not yet durable, and the bytes of old content the journal holds for them.
    pub fn volatile(&self) -> (usize, usize) {
        let state = fs::lock(&self.shared);
        (state.journal.len(), state.journal.held_bytes())
    }

    /// Where the file system is mounted.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Unmounts and waits for the FUSE thread to end.
    pub fn unmount(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if let Some((thread, mut unmounter)) = self.session.take() {
            let _ = unmounter.unmount();
            // The loop ends with ENODEV, or ECONNABORTED when the kernel tore the connection
            // down first (fuser's own join would panic on that): either way it is over.
            let _ = thread.join();
        }
    }
}

impl Drop for LossyMount {
    fn drop(&mut self) {
        self.end();
    }
}
