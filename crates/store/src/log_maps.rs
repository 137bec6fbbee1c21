//! Memory maps of the commit log's segment files (issue 13): a pull copies its records out of the
//! maps, where positioned I/O took one system call per record (measured in BENCHMARKS.md, store
//! section, 2026-12-07); an append is one positioned write per run on the last segment's own
//! descriptor, which the map shows at once (a copy into the map faulted every new page in under
//! the store lock: BENCHMARKS.md, session 8 batch section).
//!
//! Each segment is mapped once, whole; only the last (the one appends go to) keeps a descriptor
//! and may be written (with positioned writes on that descriptor: `mapped.rs`, `WriteVia`),
//! the others are read-only and hold none, so the open-files bound is
//! unchanged but for that one. The maps' soundness rests on `mapped.rs`'s invariants; what this
//! owner does for them:
//! * every write of a mapped segment goes through its `MappedFile` (no other write beside it);
//! * a truncation drops the maps first ([`SegmentMaps::clear`]) and maps again after;
//! * a deleted segment's map is dropped with it ([`SegmentMaps::forget`]).
//!
//! A segment that cannot be mapped (no descriptor left, a file system without `fallocate`) is
//! read and written with positioned I/O as before: a map is only ever a faster path.

use std::collections::BTreeMap;
use std::path::Path;

use crate::mapped::MappedFile;
use crate::segments::file_name;

#[derive(Default)]
pub(crate) struct SegmentMaps {
    /// By segment start.
    maps: BTreeMap<u64, MappedFile>,
    /// Mapping failed (logged once): positioned I/O from then on, as before maps.
    unavailable: bool,
}

impl SegmentMaps {
    /// Maps the segment at `start` in `dir`, writable when it is the last; a segment already
    /// mapped is left as it is, and an earlier writable map is sealed.
    pub(crate) fn map(&mut self, dir: &Path, start: u64, writable: bool) {
        if self.unavailable || self.maps.contains_key(&start) {
            return;
        }
        let path = dir.join(file_name(start));
        let opened = if writable {
            MappedFile::open_positioned(&path)
        } else {
            MappedFile::open_read_only(&path)
        };
        match opened {
            Ok(map) => {
                if writable {
                    for earlier in self.maps.values_mut() {
                        earlier.seal();
                    }
                }
                self.maps.insert(start, map);
            }
            Err(error) => {
                tracing::info!(%error, file = %path.display(), "commit log not memory-mapped; positioned I/O instead");
                self.clear();
                self.unavailable = true;
            }
        }
    }

    /// Drops every map (before a truncation, or when a map cannot be made).
    pub(crate) fn clear(&mut self) {
        self.maps.clear();
    }

    /// Drops the map of the segment at `start` (deleted by clean-up).
    pub(crate) fn forget(&mut self, start: u64) {
        self.maps.remove(&start);
    }

    /// The bytes at log offset `offset` (inside the segment starting at `start`), when that
    /// segment is mapped.
    pub(crate) fn slice(&self, start: u64, offset: u64, len: usize) -> Option<&[u8]> {
        self.maps.get(&start)?.slice(offset - start, len)
    }

    /// Writes `bytes` at log offset `offset` through the `MappedFile` of the segment at `start`
    /// (a positioned write on its descriptor; the map shows it at once): `None` when it is not
    /// mapped writable (the caller writes with positioned I/O itself), else the write's outcome
    /// (ENOSPC when the disk is full).
    pub(crate) fn write(&mut self, start: u64, offset: u64, bytes: &[u8]) -> Option<std::io::Result<()>> {
        let map = self.maps.get_mut(&start).filter(|map| map.is_writable())?;
        Some(map.write(offset - start, bytes))
    }
}
