//! The FUSE shell: every operation is passed through to the backing directory at once (so reads
//! see it), and journaled (crate::journal) with what it replaced until an fsync makes it
//! durable. One mutex around the state: an operation, a power cut and a delayed fsync's
//! completion never interleave.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    FileAttr, FileType, Filesystem, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
};

use crate::journal::{Journal, Undo};

/// The kernel re-asks for every name and attribute: a cut changes the tree under it.
const TTL: Duration = Duration::ZERO;
/// The root directory's inode number in FUSE.
const ROOT_INO: u64 = 1;

/// The state shared by the FUSE thread, delayed fsyncs and the controller.
pub(crate) struct State {
    backing: PathBuf,
    stash: PathBuf,
    stashed: u64,
    paths: HashMap<u64, PathBuf>,
    inos: HashMap<PathBuf, u64>,
    next_ino: u64,
    handles: HashMap<u64, (u64, Arc<File>)>,
    next_fh: u64,
    pub(crate) journal: Journal,
    /// After a cut every operation fails: nothing reaches the backing directory any more.
    pub(crate) dead: bool,
    pub(crate) fsync_delay: Duration,
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl State {
    pub(crate) fn new(backing: PathBuf, stash: PathBuf) -> State {
        let mut paths = HashMap::new();
        let mut inos = HashMap::new();
        paths.insert(ROOT_INO, backing.clone());
        inos.insert(backing.clone(), ROOT_INO);
        State {
            backing,
            stash,
            stashed: 0,
            paths,
            inos,
            next_ino: ROOT_INO + 1,
            handles: HashMap::new(),
            next_fh: 1,
            journal: Journal::default(),
            dead: false,
            fsync_delay: Duration::ZERO,
        }
    }

    fn path(&self, ino: u64) -> Result<PathBuf, i32> {
        self.paths.get(&ino).cloned().ok_or(libc::ENOENT)
    }

    fn child(&self, parent: u64, name: &OsStr) -> Result<PathBuf, i32> {
        Ok(self.path(parent)?.join(name))
    }

    fn ino_of(&mut self, path: &Path) -> u64 {
        if let Some(ino) = self.inos.get(path) {
            return *ino;
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.inos.insert(path.to_path_buf(), ino);
        self.paths.insert(ino, path.to_path_buf());
        ino
    }

    /// Moves the inode (and, for a directory, everything under it) from `from` to `to`.
    fn repath(&mut self, from: &Path, to: &Path) {
        let moved: Vec<(PathBuf, u64)> = self
            .inos
            .iter()
            .filter(|(path, _)| path.starts_with(from))
            .map(|(path, ino)| (path.clone(), *ino))
            .collect();
        for (path, ino) in moved {
            self.inos.remove(&path);
            let suffix = path.strip_prefix(from).map(Path::to_path_buf).unwrap_or_default();
            let new_path = if suffix.as_os_str().is_empty() {
                to.to_path_buf()
            } else {
                to.join(suffix)
            };
            self.inos.insert(new_path.clone(), ino);
            self.paths.insert(ino, new_path);
        }
    }

    fn forget_path(&mut self, path: &Path) {
        let gone: Vec<(PathBuf, u64)> = self
            .inos
            .iter()
            .filter(|(known, _)| known.starts_with(path))
            .map(|(known, ino)| (known.clone(), *ino))
            .collect();
        for (known, ino) in gone {
            self.inos.remove(&known);
            self.paths.remove(&ino);
        }
    }

    fn attr(&mut self, path: &Path) -> Result<FileAttr, i32> {
        let meta = fs::symlink_metadata(path).map_err(errno)?;
        let ino = self.ino_of(path);
        let kind = if meta.is_dir() {
            FileType::Directory
        } else {
            FileType::RegularFile
        };
        // The backing file's own times (no clock read here: the file system reports, never stamps).
        let modified = meta.modified().map_err(errno)?;
        let accessed = meta.accessed().unwrap_or(modified);
        Ok(FileAttr {
            ino,
            size: meta.len(),
            blocks: meta.blocks(),
            atime: accessed,
            mtime: modified,
            ctime: modified,
            crtime: modified,
            kind,
            perm: u16::try_from(meta.mode() & 0o7777).unwrap_or(0o644),
            nlink: u32::try_from(meta.nlink()).unwrap_or(1),
            uid: meta.uid(),
            gid: meta.gid(),
            rdev: 0,
            blksize: u32::try_from(meta.blksize()).unwrap_or(4096),
            flags: 0,
        })
    }

    fn handle(&self, fh: u64) -> Result<(u64, Arc<File>), i32> {
        self.handles.get(&fh).cloned().ok_or(libc::EBADF)
    }

    fn add_handle(&mut self, ino: u64, file: File) -> u64 {
        let fh = self.next_fh;
        self.next_fh += 1;
        self.handles.insert(fh, (ino, Arc::new(file)));
        fh
    }

    /// Opens `ino`'s backing file for a change made outside any handle.
    fn open_for_change(&self, ino: u64) -> Result<File, i32> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.path(ino)?)
            .map_err(errno)
    }

    /// Journals a length change of `file` (ino `ino`) to `new_len`, then applies it.
    fn set_len(&mut self, ino: u64, file: &File, new_len: u64) -> Result<(), i32> {
        let old_len = file.metadata().map_err(errno)?.len();
        let tail = read_range(file, new_len, old_len.saturating_sub(new_len))?;
        file.set_len(new_len).map_err(errno)?;
        self.journal.push(Undo::Length { ino, old_len, tail });
        Ok(())
    }

    fn next_stash(&mut self) -> PathBuf {
        self.stashed += 1;
        self.stash.join(self.stashed.to_string())
    }

    /// Moves what `path` names into the stash, keeping its inode so its data records still apply.
    fn stash_away(&mut self, path: &Path) -> Result<(PathBuf, u64), i32> {
        let stash = self.next_stash();
        let ino = self.ino_of(path);
        fs::rename(path, &stash).map_err(errno)?;
        self.repath(path, &stash);
        Ok((stash, ino))
    }

    /// The power cut: undoes every record not durable, newest first; `tear` keeps a prefix of
    /// the newest write (its length picked from the number given). From here on every
    /// operation fails.
    pub(crate) fn power_cut(&mut self, tear: Option<u64>) -> usize {
        self.dead = true;
        self.handles.clear();
        let records = self.journal.drain_newest_first();
        let undone = records.len();
        let mut tear = tear;
        for record in records {
            let torn = match record {
                Undo::Bytes { .. } => tear.take(),
                _ => None,
            };
            // Best effort: a path that a later durable operation removed has nothing to restore.
            let _ = self.undo(record, torn);
        }
        undone
    }

    fn undo(&mut self, record: Undo, torn: Option<u64>) -> Result<(), i32> {
        match record {
            Undo::Bytes {
                ino,
                offset,
                written,
                old,
                old_len,
            } => {
                let file = self.open_for_change(ino)?;
                let keep = torn.map_or(0, |random| crate::journal::torn_prefix(written, random));
                let restore_from = usize::try_from(keep).unwrap_or(usize::MAX).min(old.len());
                file.write_all_at(old.get(restore_from..).unwrap_or(&[]), offset + keep)
                    .map_err(errno)?;
                let now_len = file.metadata().map_err(errno)?.len();
                let len = old_len.max(offset + keep).min(now_len);
                file.set_len(len).map_err(errno)
            }
            Undo::Length { ino, old_len, tail } => {
                let file = self.open_for_change(ino)?;
                let now_len = file.metadata().map_err(errno)?.len();
                file.set_len(old_len).map_err(errno)?;
                file.write_all_at(&tail, now_len.min(old_len)).map_err(errno)
            }
            Undo::Created { path, .. } => {
                let removed = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                self.forget_path(&path);
                removed.map_err(errno)
            }
            Undo::Renamed {
                from, to, displaced, ..
            } => {
                fs::rename(&to, &from).map_err(errno)?;
                self.repath(&to, &from);
                if let Some((stash, _)) = displaced {
                    fs::rename(&stash, &to).map_err(errno)?;
                    self.repath(&stash, &to);
                }
                Ok(())
            }
            Undo::Removed { path, stash, .. } => {
                fs::rename(&stash, &path).map_err(errno)?;
                self.repath(&stash, &path);
                Ok(())
            }
        }
    }
}

fn read_range(file: &File, offset: u64, len: u64) -> Result<Vec<u8>, i32> {
    let mut buffer = vec![0; usize::try_from(len).map_err(|_| libc::EFBIG)?];
    let mut filled = 0;
    while filled < buffer.len() {
        let Some(rest) = buffer.get_mut(filled..) else { break };
        match file.read_at(rest, offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) => return Err(errno(error)),
        }
    }
    buffer.truncate(filled);
    Ok(buffer)
}

fn errno(error: io::Error) -> i32 {
    error.raw_os_error().unwrap_or(libc::EIO)
}

/// The FUSE file system: a handle on the shared state.
pub(crate) struct LossyFs {
    pub(crate) shared: Shared,
}

/// Runs `op` on the live state, or answers EIO after a cut.
fn live<T>(shared: &Shared, op: impl FnOnce(&mut State) -> Result<T, i32>) -> Result<T, i32> {
    let mut state = lock(shared);
    if state.dead {
        return Err(libc::EIO);
    }
    op(&mut state)
}

impl Filesystem for LossyFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        match live(&self.shared, |state| {
            let path = state.child(parent, name)?;
            state.attr(&path)
        }) {
            Ok(attr) => reply.entry(&TTL, &attr, 0),
            Err(code) => reply.error(code),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        match live(&self.shared, |state| {
            let path = state.path(ino)?;
            state.attr(&path)
        }) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(code) => reply.error(code),
        }
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        match live(&self.shared, |state| {
            let path = state.path(ino)?;
            if let Some(size) = size {
                let file = state.open_for_change(ino)?;
                state.set_len(ino, &file, size)?;
            }
            if let Some(mode) = mode {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777)).map_err(errno)?;
            }
            state.attr(&path)
        }) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(code) => reply.error(code),
        }
    }

    fn readdir(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, offset: i64, mut reply: ReplyDirectory) {
        let entries = live(&self.shared, |state| {
            let path = state.path(ino)?;
            let mut entries = vec![
                (ino, FileType::Directory, ".".into()),
                (ino, FileType::Directory, "..".into()),
            ];
            for entry in fs::read_dir(&path).map_err(errno)? {
                let entry = entry.map_err(errno)?;
                let kind = if entry.file_type().map_err(errno)?.is_dir() {
                    FileType::Directory
                } else {
                    FileType::RegularFile
                };
                entries.push((state.ino_of(&entry.path()), kind, entry.file_name()));
            }
            Ok(entries)
        });
        match entries {
            Ok(entries) => {
                let skip = usize::try_from(offset).unwrap_or(0);
                for (index, (ino, kind, name)) in entries.into_iter().enumerate().skip(skip) {
                    if reply.add(ino, i64::try_from(index + 1).unwrap_or(i64::MAX), kind, name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(code) => reply.error(code),
        }
    }

    fn mkdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, mode: u32, umask: u32, reply: ReplyEntry) {
        match live(&self.shared, |state| {
            let path = state.child(parent, name)?;
            fs::create_dir(&path).map_err(errno)?;
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(mode & !umask & 0o7777));
            let attr = state.attr(&path)?;
            state.journal.push(Undo::Created {
                parent,
                path,
                ino: attr.ino,
            });
            Ok(attr)
        }) {
            Ok(attr) => reply.entry(&TTL, &attr, 0),
            Err(code) => reply.error(code),
        }
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(reply, live(&self.shared, |state| remove(state, parent, name)));
    }

    fn rmdir(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(
            reply,
            live(&self.shared, |state| {
                let path = state.child(parent, name)?;
                if fs::read_dir(&path).map_err(errno)?.next().is_some() {
                    return Err(libc::ENOTEMPTY);
                }
                remove(state, parent, name)
            }),
        );
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        _flags: u32,
        reply: ReplyEmpty,
    ) {
        reply_empty(
            reply,
            live(&self.shared, |state| {
                let from = state.child(parent, name)?;
                let to = state.child(newparent, newname)?;
                let ino = state.ino_of(&from);
                fs::symlink_metadata(&from).map_err(errno)?;
                let displaced = if fs::symlink_metadata(&to).is_ok() {
                    Some(state.stash_away(&to)?)
                } else {
                    None
                };
                fs::rename(&from, &to).map_err(errno)?;
                state.repath(&from, &to);
                state.journal.push(Undo::Renamed {
                    new_parent: newparent,
                    from,
                    to,
                    ino,
                    displaced,
                });
                Ok(())
            }),
        );
    }

    fn open(&mut self, _req: &Request<'_>, ino: u64, flags: i32, reply: ReplyOpen) {
        match live(&self.shared, |state| {
            let path = state.path(ino)?;
            let file = open_backing(&path, flags, false, 0)?;
            if flags & libc::O_TRUNC != 0 {
                state.set_len(ino, &file, 0)?;
            }
            Ok(state.add_handle(ino, file))
        }) {
            Ok(fh) => reply.opened(fh, 0),
            Err(code) => reply.error(code),
        }
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match live(&self.shared, |state| {
            let path = state.child(parent, name)?;
            let file = open_backing(&path, flags, true, mode & !umask & 0o7777)?;
            let attr = state.attr(&path)?;
            state.journal.push(Undo::Created {
                parent,
                path,
                ino: attr.ino,
            });
            Ok((attr, state.add_handle(attr.ino, file)))
        }) {
            Ok((attr, fh)) => reply.created(&TTL, &attr, 0, fh, 0),
            Err(code) => reply.error(code),
        }
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        match live(&self.shared, |state| {
            let (_, file) = state.handle(fh)?;
            read_range(&file, u64::try_from(offset).map_err(|_| libc::EINVAL)?, u64::from(size))
        }) {
            Ok(data) => reply.data(&data),
            Err(code) => reply.error(code),
        }
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        match live(&self.shared, |state| {
            let (ino, file) = state.handle(fh)?;
            let offset = u64::try_from(offset).map_err(|_| libc::EINVAL)?;
            let old_len = file.metadata().map_err(errno)?.len();
            let written = data.len() as u64;
            let old = read_range(&file, offset, written.min(old_len.saturating_sub(offset)))?;
            file.write_all_at(data, offset).map_err(errno)?;
            state.journal.push(Undo::Bytes {
                ino,
                offset,
                written,
                old,
                old_len,
            });
            u32::try_from(data.len()).map_err(|_| libc::EINVAL)
        }) {
            Ok(written) => reply.written(written),
            Err(code) => reply.error(code),
        }
    }

    fn flush(&mut self, _req: &Request<'_>, _ino: u64, _fh: u64, _lock_owner: u64, reply: ReplyEmpty) {
        reply_empty(reply, live(&self.shared, |_| Ok(())));
    }

    fn release(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        lock(&self.shared).handles.remove(&fh);
        reply.ok();
    }

    fn fsync(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, _datasync: bool, reply: ReplyEmpty) {
        sync_later(&self.shared, ino, false, reply);
    }

    fn fsyncdir(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, _datasync: bool, reply: ReplyEmpty) {
        sync_later(&self.shared, ino, true, reply);
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: ReplyStatfs) {
        let backing = lock(&self.shared).backing.clone();
        match rustix::fs::statvfs(&backing) {
            Ok(stat) => reply.statfs(
                stat.f_blocks,
                stat.f_bfree,
                stat.f_bavail,
                stat.f_files,
                stat.f_ffree,
                u32::try_from(stat.f_bsize).unwrap_or(4096),
                u32::try_from(stat.f_namemax).unwrap_or(255),
                u32::try_from(stat.f_frsize).unwrap_or(4096),
            ),
            Err(code) => reply.error(code.raw_os_error()),
        }
    }

    fn fallocate(
        &mut self,
        _req: &Request<'_>,
        _ino: u64,
        fh: u64,
        offset: i64,
        length: i64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        reply_empty(
            reply,
            live(&self.shared, |state| {
                let (ino, file) = state.handle(fh)?;
                let old_len = file.metadata().map_err(errno)?.len();
                let flags = rustix::fs::FallocateFlags::from_bits_retain(u32::try_from(mode).unwrap_or(0));
                let offset = u64::try_from(offset).map_err(|_| libc::EINVAL)?;
                let length = u64::try_from(length).map_err(|_| libc::EINVAL)?;
                rustix::fs::fallocate(&*file, flags, offset, length).map_err(|code| code.raw_os_error())?;
                if file.metadata().map_err(errno)?.len() != old_len {
                    state.journal.push(Undo::Length {
                        ino,
                        old_len,
                        tail: Vec::new(),
                    });
                }
                Ok(())
            }),
        );
    }
}

fn remove(state: &mut State, parent: u64, name: &OsStr) -> Result<(), i32> {
    let path = state.child(parent, name)?;
    let (stash, ino) = state.stash_away(&path)?;
    state.journal.push(Undo::Removed {
        parent,
        path,
        stash,
        ino,
    });
    Ok(())
}

fn open_backing(path: &Path, flags: i32, create: bool, mode: u32) -> Result<File, i32> {
    let mut options = OpenOptions::new();
    // Always read and write: the journal reads what a write replaces, whatever the caller asked.
    options.read(true).write(true);
    if create {
        options.create_new(true).mode(mode);
    }
    // Appends arrive with the kernel's offset; the caller's other flags are the kernel's business.
    let _ = flags;
    options.open(path).map_err(errno)
}

fn reply_empty(reply: ReplyEmpty, result: Result<(), i32>) {
    match result {
        Ok(()) => reply.ok(),
        Err(code) => reply.error(code),
    }
}

/// An fsync: waits the configured delay (off the FUSE thread, so other operations go on, as
/// on a disk whose flush is slow), then makes durable what was journaled before it was asked.
fn sync_later(shared: &Shared, ino: u64, dir: bool, reply: ReplyEmpty) {
    let (watermark, delay) = {
        let state = lock(shared);
        if state.dead {
            reply.error(libc::EIO);
            return;
        }
        (state.journal.watermark(), state.fsync_delay)
    };
    let finish = {
        let shared = Arc::clone(shared);
        move || {
            if !delay.is_zero() {
                std::thread::sleep(delay);
            }
            let result = live(&shared, |state| {
                let path = state.path(ino)?;
                File::open(&path).and_then(|file| file.sync_all()).map_err(errno)?;
                if dir {
                    state.journal.dir_synced(ino, watermark);
                } else {
                    state.journal.file_synced(ino, watermark);
                }
                Ok(())
            });
            reply_empty(reply, result);
        }
    };
    if delay.is_zero() {
        finish();
    } else {
        std::thread::spawn(finish);
    }
}
