//! The written mark `<root>/ferrocket-written-end` (issue 13, recovery after a process kill): a
//! commit-log offset below which every record, consume-queue entry and index entry had been
//! handed to the kernel (page cache) by the process that wrote the mark, never `fsync`ed.
//!
//! ```text
//!  0 "FRCKWM01"   8 writtenEnd (i64)   16 abort-file inode (u64)   24 abort-file mtime ns (i64)
//! 32 boot id (36 ASCII bytes, /proc/sys/kernel/random/boot_id)     68 crc32 of bytes 0..68 (i32)
//! ```
//! Why it may be trusted after a SIGKILL and never after a power cut:
//! * A killed process loses only its own memory; what it wrote to files stays in the page cache
//!   and every later read sees it. So after a kill, records below the mark are whole and their
//!   queue and index entries are there (the mark is written only after the queues' write-behind
//!   tails are written), and recovery need only check and re-dispatch from the mark on.
//! * A power cut loses the page cache, and the machine boots again: the boot id differs, so the
//!   mark is ignored whatever of it reached the disk, and recovery starts at the checkpoint's
//!   synced end (data `fsync`ed) as before.
//! * The mark is never `fsync`ed, so a disk that loses unsynced writes without a reboot (the
//!   FUSE power-loss tests, crates/lossyfs) loses the mark with them; a torn mark fails its CRC.
//! * It is tied to the abort file the writing process created (inode and mtime): any broker that
//!   opened the store since (ours and Java 5.3.3 both rewrite it with their pid) invalidates it, so a mark never speaks for a log someone else has recovered or written.
//! * A mark is only consulted after an abnormal exit (abort file present).
//!
//! After recovering from a mark, the data between the checkpoint's synced end and the mark is
//! still only in the page cache: the commit log stays dirty from the synced end, and every
//! consume-queue and index file is synced once ([`sync_queue_and_index_files`]) before the next
//! checkpoint claims any of it (the recovering process never wrote most of them, so they are not
//! in its dirty lists).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ferrocket_wire::message::record::body_crc;

use crate::error::{StoreResult, io_error};
use crate::offsets::CommitLogOffset;

/// The file's name under the store root (Java ignores files it does not know).
pub const WRITTEN_MARK_FILE_NAME: &str = "ferrocket-written-end";
/// Where Linux says which boot this is; it changes at every boot.
const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";
const MAGIC: [u8; 8] = *b"FRCKWM01";
/// A boot id is a UUID in its 36-character text form.
const BOOT_ID_BYTES: usize = 36;
const CRC_POSITION: usize = 32 + BOOT_ID_BYTES;
const MARK_BYTES: usize = CRC_POSITION + 4;

/// What a mark is valid for: this boot and this opening of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkIdentity {
    boot_id: [u8; BOOT_ID_BYTES],
    abort_inode: u64,
    abort_mtime_ns: i64,
}

impl MarkIdentity {
    /// The current boot and the abort file at `abort_path` as it is now; `None` when either is
    /// unknown (no boot id on this system, no abort file): then no mark is written or trusted.
    pub fn current(abort_path: &Path) -> Option<MarkIdentity> {
        MarkIdentity::with_boot_id(&std::fs::read_to_string(BOOT_ID_PATH).ok()?, abort_path)
    }

    /// The identity for boot `boot_id` (its text form) and the abort file at `abort_path`.
    pub fn with_boot_id(boot_id: &str, abort_path: &Path) -> Option<MarkIdentity> {
        let boot_id: [u8; BOOT_ID_BYTES] = boot_id.trim().as_bytes().try_into().ok()?;
        let metadata = std::fs::metadata(abort_path).ok()?;
        Some(MarkIdentity {
            boot_id,
            abort_inode: metadata.ino(),
            abort_mtime_ns: metadata
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(metadata.mtime_nsec()),
        })
    }
}

/// Encodes the mark for `written_end` under `identity`.
fn encode(written_end: CommitLogOffset, identity: &MarkIdentity) -> [u8; MARK_BYTES] {
    let mut out = [0u8; MARK_BYTES];
    let (head, rest) = out.split_at_mut(32);
    let (boot_id, _crc) = rest.split_at_mut(BOOT_ID_BYTES);
    let fields = [
        u64::from_be_bytes(MAGIC),
        u64::try_from(written_end.to_java_long()).unwrap_or(0),
        identity.abort_inode,
        identity.abort_mtime_ns as u64,
    ];
    for (chunk, value) in head.chunks_exact_mut(8).zip(fields) {
        chunk.copy_from_slice(&value.to_be_bytes());
    }
    boot_id.copy_from_slice(&identity.boot_id);
    let sum = body_crc(out.get(..CRC_POSITION).unwrap_or_default());
    if let Some(crc) = out.get_mut(CRC_POSITION..) {
        crc.copy_from_slice(&sum.to_be_bytes());
    }
    out
}

/// The written end in `bytes` if it is a whole mark made under `identity`.
fn decode(bytes: &[u8; MARK_BYTES], identity: &MarkIdentity) -> Option<CommitLogOffset> {
    let (body, crc) = bytes.split_at(CRC_POSITION);
    if i32::from_be_bytes(crc.try_into().ok()?) != body_crc(body) {
        return None;
    }
    // Magic, abort file and boot id: everything but the offset must be `identity`'s.
    let expected = encode(CommitLogOffset(0), identity);
    if bytes.get(..8) != expected.get(..8) || bytes.get(16..CRC_POSITION) != expected.get(16..CRC_POSITION) {
        return None;
    }
    CommitLogOffset::from_java_long(i64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?))
}

/// Reads the mark of the store at `root`; `None` unless it is whole and made under `identity`.
pub fn load(root: &Path, identity: &MarkIdentity) -> Option<CommitLogOffset> {
    let file = File::open(root.join(WRITTEN_MARK_FILE_NAME)).ok()?;
    let mut bytes = [0u8; MARK_BYTES];
    file.read_exact_at(&mut bytes, 0).ok()?;
    decode(&bytes, identity)
}

/// Directory levels below `consumequeue/` (topic, queue id, file).
const QUEUE_TREE_DEPTH: usize = 3;

/// `fsync`s every file under `<root>/consumequeue` and `<root>/index`: what a killed process
/// wrote there and never synced (a file with nothing dirty costs little).
pub fn sync_queue_and_index_files(root: &Path) -> io::Result<()> {
    sync_files_under(&root.join("consumequeue"), QUEUE_TREE_DEPTH)?;
    sync_files_under(&root.join("index"), 1)
}

/// `fsync`s the files `depth` levels below `dir` (a missing directory has none).
fn sync_files_under(dir: &Path, depth: usize) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() && depth > 1 {
            sync_files_under(&entry.path(), depth - 1)?;
        } else if kind.is_file() {
            match File::open(entry.path()) {
                Ok(file) => file.sync_data()?,
                // Deleted meanwhile (clean-up, a deleted topic): nothing left to sync.
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// Writes marks for one opening of the store.
pub struct MarkWriter {
    file: File,
    path: PathBuf,
    identity: MarkIdentity,
    /// The end last written (`u64::MAX`: none or cleared), so an idle store writes nothing.
    last: AtomicU64,
}

impl MarkWriter {
    /// Opens (creating) the mark file of the store at `root` for marks under `identity`.
    pub fn open(root: &Path, identity: MarkIdentity) -> StoreResult<MarkWriter> {
        let path = root.join(WRITTEN_MARK_FILE_NAME);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error(&path))?;
        Ok(MarkWriter {
            file,
            path,
            identity,
            last: AtomicU64::new(u64::MAX),
        })
    }

    /// Says everything below `written_end` was handed to the kernel: one positioned write into
    /// the page cache, never synced (see the module doc for why that is the point).
    pub fn write(&self, written_end: CommitLogOffset) -> StoreResult<()> {
        if self.last.load(Ordering::Relaxed) == written_end.0 {
            return Ok(());
        }
        self.file
            .write_all_at(&encode(written_end, &self.identity), 0)
            .map_err(io_error(&self.path))?;
        self.last.store(written_end.0, Ordering::Relaxed);
        Ok(())
    }

    /// Withdraws the mark (the log is about to lose records below it).
    pub fn clear(&self) -> StoreResult<()> {
        self.last.store(u64::MAX, Ordering::Relaxed);
        self.file
            .write_all_at(&[0u8; MARK_BYTES], 0)
            .map_err(io_error(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: &str = "0b7e1c3a-2f7d-4d43-9a50-6a1e2b3c4d5e\n";
    const OTHER_BOOT: &str = "1b7e1c3a-2f7d-4d43-9a50-6a1e2b3c4d5e";

    #[test]
    fn a_mark_is_read_back_only_under_the_identity_it_was_written_with() {
        let dir = tempfile::tempdir().unwrap();
        let abort = dir.path().join("abort");
        std::fs::write(&abort, "1").unwrap();
        let identity = MarkIdentity::with_boot_id(BOOT, &abort).unwrap();
        assert_eq!(load(dir.path(), &identity), None);
        let writer = MarkWriter::open(dir.path(), identity.clone()).unwrap();
        writer.write(CommitLogOffset(123_456)).unwrap();
        assert_eq!(load(dir.path(), &identity), Some(CommitLogOffset(123_456)));
        // Another boot: the page cache the mark spoke for is gone.
        let rebooted = MarkIdentity::with_boot_id(OTHER_BOOT, &abort).unwrap();
        assert_eq!(load(dir.path(), &rebooted), None);
        // Another opening of the store (here a new abort file; rewriting it moves its mtime).
        std::fs::write(dir.path().join("abort.tmp"), "2").unwrap();
        std::fs::rename(dir.path().join("abort.tmp"), &abort).unwrap();
        let reopened = MarkIdentity::with_boot_id(BOOT, &abort).unwrap();
        assert_ne!(reopened, identity);
        assert_eq!(load(dir.path(), &reopened), None);
        writer.clear().unwrap();
        assert_eq!(load(dir.path(), &identity), None);
        assert_eq!(MarkIdentity::with_boot_id("short", &abort), None);
        assert_eq!(MarkIdentity::with_boot_id(BOOT, &dir.path().join("none")), None);
    }

    #[test]
    fn a_torn_or_altered_mark_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let abort = dir.path().join("abort");
        std::fs::write(&abort, "1").unwrap();
        let identity = MarkIdentity::with_boot_id(BOOT, &abort).unwrap();
        let whole = encode(CommitLogOffset(4096), &identity);
        let path = dir.path().join(WRITTEN_MARK_FILE_NAME);
        for cut in 0..MARK_BYTES {
            // A power cut that keeps a prefix of the newest write over an older, zeroed mark.
            let mut torn = [0u8; MARK_BYTES];
            torn[..cut].copy_from_slice(&whole[..cut]);
            if torn == whole {
                continue;
            }
            std::fs::write(&path, torn).unwrap();
            assert_eq!(load(dir.path(), &identity), None, "prefix of {cut} bytes");
        }
        let mut flipped = whole;
        flipped[10] ^= 1;
        std::fs::write(&path, flipped).unwrap();
        assert_eq!(load(dir.path(), &identity), None);
        std::fs::write(&path, whole).unwrap();
        assert_eq!(load(dir.path(), &identity), Some(CommitLogOffset(4096)));
    }
}
