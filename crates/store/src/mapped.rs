//! The repository's only `unsafe`: a shared, writable memory map of a whole store file, so that
//! the index's small random reads and writes (a 4-byte slot, a 20-byte entry and the header per
//! key, for every message) are memory accesses instead of four system calls (issue 13; measured
//! in BENCHMARKS.md, "Index writes through a memory map"), and so that a pull's commit-log
//! records are copied out of the page cache without a system call per record (BENCHMARKS.md,
//! store section, 2026-12-07). Commit-log appends are positioned writes on the map's own
//! descriptor instead (`WriteVia::Positioned`: first-touch faults cost more than the copy).
//!
//! Why the map is sound, invariant by invariant:
//! 1. **Bounds.** The map covers the file's length as it is when mapped; every access goes
//!    through [`MappedFile::read`] / [`MappedFile::write`], which check the range against the map
//!    (no access can fall outside it, whatever the caller's arithmetic).
//! 2. **No truncation while mapped.** Memory past a file's end raises SIGBUS. Mapped files have a
//!    fixed size from creation (index files: the geometry's size, checked at open) and the store
//!    never shrinks them; deleting (unlinking) a mapped file is harmless, the map keeps its pages.
//!    The store directory belongs to one broker process (as for Java, which maps these files
//!    too): a file truncated by another process behind our back is outside what is handled.
//! 3. **No SIGBUS from a full disk.** Index files are sparse; a store through the map into a hole
//!    needs a block, and with the disk full the kernel answers SIGBUS instead of ENOSPC. So
//!    every byte is allocated (`fallocate`) before it is first written through the map: writes
//!    below `allocated_end` only, which grows in [`ALLOCATION_CHUNK_BYTES`] steps, so a full disk
//!    turns into an ordinary I/O error from `fallocate`. A file system without `fallocate` gets
//!    no such map at all ([`MappedFile::open`] fails with `Unsupported`; callers use positioned
//!    I/O). A map whose writes are positioned writes ([`MappedFile::open_positioned`]) never
//!    stores through the map, so it needs no allocation ahead: a full disk is `pwrite`'s ENOSPC.
//!    A map opened [`MappedFile::open_read_only`] keeps no descriptor (none to bound) and
//!    refuses every write, so it never needs a block: reading a hole gives zeros, not SIGBUS.
//! 4. **No aliasing.** The map is owned by one [`MappedFile`]; reads take `&self`, writes
//!    `&mut self` (whether they copy into the map or `pwrite` the map's own descriptor), so
//!    Rust's borrow rules hold for the bytes as for any `Vec`. Another map of the same file in
//!    this process (the commit log maps each segment once) or a write to it from outside this
//!    type would change bytes under a `&[u8]` handed out by [`MappedFile::slice`]: the owner of
//!    a map never writes its file any other way while the map lives.
//! 5. **Truncation by the store itself.** An owner that truncates a mapped file (the commit log's
//!    tail after replicated bytes restart it) drops the map first and maps it again after, so
//!    no access meets the shortened file and the allocation record of invariant 3 is not stale.
//!
//! Durability is unchanged: `fsync` on the file writes back pages dirtied through the map, and
//! a positioned write lands in the same page cache the map shows (Linux keeps them one).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use memmap2::{MmapMut, MmapOptions};
use rustix::fs::{FallocateFlags, fallocate};

/// Allocation ahead of the writes: one `fallocate` per this many bytes written past the end.
pub const ALLOCATION_CHUNK_BYTES: u64 = 4 * 1024 * 1024;

/// Zeros written over a positioned write that failed part-way (see [`MappedFile::write`]).
const ZEROS: [u8; 4096] = [0; 4096];

/// How a writable map's writes reach its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteVia {
    /// Copied into the map, blocks allocated ahead (invariant 3): the index's small random
    /// writes, each a memory access instead of a system call.
    Map,
    /// `pwrite` on the map's own descriptor: the commit log's appends. A copy into the map
    /// first-touches every new page of the tail with a page fault and allocates blocks ahead,
    /// both under the store's write lock; measured, that cost batches of 32 x 128 B a quarter
    /// of their throughput and put p99 at 20-38 ms (BENCHMARKS.md, session 8). One `pwrite` per
    /// append run does neither, and the map still serves every read.
    Positioned,
}

pub struct MappedFile {
    map: MmapMut,
    /// Kept for writes (`fallocate` or `pwrite`); `None` for a read-only map, which refuses them.
    file: Option<File>,
    /// Every byte below this is allocated on disk (invariant 3; `WriteVia::Map` only).
    allocated_end: u64,
    via: WriteVia,
}

impl MappedFile {
    /// Maps the whole of the file at `path` and allocates its first `allocate_to` bytes.
    /// `Unsupported` when the file system cannot allocate ahead (see invariant 3).
    pub fn open(path: &Path, allocate_to: u64) -> io::Result<MappedFile> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        let map_len = usize::try_from(len).map_err(|_| io::Error::other("file too large to map"))?;
        if map_len == 0 {
            return Err(io::Error::other("an empty file cannot be mapped"));
        }
        // SAFETY: invariants 1 and 2 of the module doc: the map is exactly the file's length,
        // which the store never shrinks while it is mapped, and no other process writes it.
        let map = unsafe { MmapOptions::new().len(map_len).map_mut(&file)? };
        let mut mapped = MappedFile {
            map,
            file: Some(file),
            allocated_end: 0,
            via: WriteVia::Map,
        };
        mapped.allocate_to(allocate_to.min(len))?;
        Ok(mapped)
    }

    /// Maps the whole of the file at `path` for reads; its writes are positioned writes on the
    /// map's own descriptor (see [`WriteVia::Positioned`]), so nothing is allocated ahead.
    pub fn open_positioned(path: &Path) -> io::Result<MappedFile> {
        let mut mapped = MappedFile::open(path, 0)?;
        mapped.via = WriteVia::Positioned;
        Ok(mapped)
    }

    /// Maps the whole of the file at `path` for reading only and closes its descriptor (the map
    /// keeps the pages; see invariant 3).
    pub fn open_read_only(path: &Path) -> io::Result<MappedFile> {
        let mut mapped = MappedFile::open(path, 0)?;
        mapped.file = None;
        Ok(mapped)
    }

    pub fn is_writable(&self) -> bool {
        self.file.is_some()
    }

    /// Turns a writable map read-only, closing its descriptor.
    pub fn seal(&mut self) {
        self.file = None;
    }

    /// The bytes `[at, at + len)`; `None` when the range is not inside the file.
    pub fn slice(&self, at: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(at).ok()?;
        self.map.get(start..start.checked_add(len)?)
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Copies the bytes at `at` into `out`; `None` when the range is not inside the file.
    pub fn read(&self, at: u64, out: &mut [u8]) -> Option<()> {
        out.copy_from_slice(self.slice(at, out.len())?);
        Some(())
    }

    /// Writes `bytes` at `at`, allocating the file's blocks first where they are not yet.
    pub fn write(&mut self, at: u64, bytes: &[u8]) -> io::Result<()> {
        let Some(file) = &self.file else {
            return Err(io::Error::other("write to a read-only map"));
        };
        let end = at.saturating_add(bytes.len() as u64);
        if end > self.len() {
            return Err(io::Error::other(format!(
                "write of {} bytes at {at} past the mapped end",
                bytes.len()
            )));
        }
        if self.via == WriteVia::Positioned {
            return write_positioned(file, at, bytes);
        }
        if end > self.allocated_end {
            let ahead = end.saturating_add(ALLOCATION_CHUNK_BYTES).min(self.len());
            // Near a full disk the chunk ahead may not fit while the write itself does: the disk
            // fills to its last block, as it would with positioned writes.
            if self.allocate_to(ahead).is_err() {
                self.allocate_to(end)?;
            }
        }
        let start = usize::try_from(at).map_err(io::Error::other)?;
        let range = self
            .map
            .get_mut(start..start + bytes.len())
            .ok_or_else(|| io::Error::other("range outside the map"))?;
        range.copy_from_slice(bytes);
        Ok(())
    }

    /// Allocates `[allocated_end, end)`; a no-op for blocks already there.
    fn allocate_to(&mut self, end: u64) -> io::Result<()> {
        if end <= self.allocated_end {
            return Ok(());
        }
        let Some(file) = &self.file else {
            return Err(io::Error::other("write to a read-only map"));
        };
        let from = self.allocated_end;
        fallocate(file, FallocateFlags::empty(), from, end - from).map_err(|errno| {
            let error = io::Error::from(errno);
            if errno == rustix::io::Errno::OPNOTSUPP {
                io::Error::new(io::ErrorKind::Unsupported, error)
            } else {
                error
            }
        })?;
        self.allocated_end = end;
        Ok(())
    }
}

/// `pwrite`s all of `bytes` at `at`. A write that fails part-way (the disk filled) is zeroed
/// again as far as it reached, so no record bytes are left past the writer's end for recovery
/// to mistake for records: the zeros go to blocks the failed write allocated, in order, and
/// stop at the first that cannot be written, a hole that reads as zeros anyway.
fn write_positioned(file: &File, at: u64, bytes: &[u8]) -> io::Result<()> {
    let Err(error) = file.write_all_at(bytes, at) else {
        return Ok(());
    };
    let mut offset = at;
    let end = at.saturating_add(bytes.len() as u64);
    while offset < end {
        // At most ZEROS.len(), a usize.
        let len = (end - offset).min(ZEROS.len() as u64) as usize;
        if file.write_all_at(ZEROS.get(..len).unwrap_or_default(), offset).is_err() {
            break;
        }
        offset += len as u64;
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_stay_inside_the_file_and_reach_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        file.set_len(3 * ALLOCATION_CHUNK_BYTES).unwrap();
        let mut mapped = MappedFile::open(&path, 100).unwrap();
        assert_eq!(mapped.allocated_end, 100);
        mapped.write(10, b"abc").unwrap();
        let far = 2 * ALLOCATION_CHUNK_BYTES + 5;
        mapped.write(far, b"xyz").unwrap();
        assert_eq!(mapped.allocated_end, 3 * ALLOCATION_CHUNK_BYTES);
        let mut out = [0u8; 3];
        mapped.read(far, &mut out).unwrap();
        assert_eq!(&out, b"xyz");
        assert!(mapped.read(mapped.len() - 2, &mut out).is_none());
        assert!(mapped.read(u64::MAX, &mut out).is_none());
        assert!(mapped.write(mapped.len() - 2, b"xyz").is_err());
        assert!(mapped.write(u64::MAX - 1, b"xyz").is_err());
        drop(mapped);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[10..13], b"abc");
        assert_eq!(&on_disk[far as usize..far as usize + 3], b"xyz");
    }

    #[test]
    fn positioned_writes_allocate_nothing_ahead_and_show_through_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        File::create(&path)
            .unwrap()
            .set_len(2 * ALLOCATION_CHUNK_BYTES)
            .unwrap();
        let mut mapped = MappedFile::open_positioned(&path).unwrap();
        mapped.write(ALLOCATION_CHUNK_BYTES + 1, b"tail").unwrap();
        assert_eq!(mapped.allocated_end, 0);
        assert_eq!(mapped.slice(ALLOCATION_CHUNK_BYTES + 1, 4), Some(&b"tail"[..]));
        assert!(mapped.write(mapped.len() - 2, b"xyz").is_err());
        mapped.seal();
        assert!(mapped.write(0, b"x").is_err());
        // The file's blocks past the write are still a hole (nothing allocated ahead).
        let blocks = std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(&path).unwrap());
        assert!(blocks * 512 < ALLOCATION_CHUNK_BYTES, "{blocks} blocks allocated");
    }

    #[test]
    fn a_read_only_map_reads_the_file_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello world").unwrap();
        let mut mapped = MappedFile::open_read_only(&path).unwrap();
        assert_eq!(mapped.slice(6, 5), Some(&b"world"[..]));
        assert_eq!(mapped.slice(7, 5), None);
        assert!(mapped.write(0, b"j").is_err());
        let mut writable = MappedFile::open(&path, 0).unwrap();
        writable.write(0, b"j").unwrap();
        writable.seal();
        assert!(writable.write(0, b"h").is_err());
        assert_eq!(mapped.slice(0, 5), Some(&b"jello"[..]));
    }
}
