//! The pure core of the lost-writes model: an ordered journal of what each operation changed,
//! kept until an fsync makes the change durable, and undone newest first at a power cut.
//!
//! ```text
//! write/setattr/fallocate on ino  ──► Bytes/Length record   durable on fsync(ino)
//! create/mkdir, rename, unlink     ──► Created/Renamed/Removed   durable on fsyncdir(parent)
//! power cut: undo every record still here, newest first (the last write optionally torn)
//! ```
//! Records carry a sequence number: an fsync covers only what was journaled before it was
//! asked for, so a write racing a slow fsync stays volatile. Undoing strictly newest first means
//! the tree each record is undone against is the tree right after its operation, except for
//! operations already made durable, which a real disk would keep too.

use std::path::PathBuf;

/// What one operation changed, with what undoing it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// `written` bytes were written at `offset` of `ino`; `old` holds the bytes they replaced
    /// (those below the old length) and `old_len` the length before.
    Bytes {
        ino: u64,
        offset: u64,
        written: u64,
        old: Vec<u8>,
        old_len: u64,
    },
    /// The length of `ino` changed from `old_len`; `tail` holds the bytes a shrink cut off.
    Length { ino: u64, old_len: u64, tail: Vec<u8> },
    /// A file or directory was created at `path` in directory `parent`.
    Created { parent: u64, path: PathBuf, ino: u64 },
    /// `from` was renamed to `to` (in directory `new_parent`); what `to` named before was moved
    /// to `displaced`.
    Renamed {
        new_parent: u64,
        from: PathBuf,
        to: PathBuf,
        ino: u64,
        displaced: Option<(PathBuf, u64)>,
    },
    /// `path` (in directory `parent`) was unlinked or removed; its content was moved to `stash`.
    Removed {
        parent: u64,
        path: PathBuf,
        stash: PathBuf,
        ino: u64,
    },
}

impl Undo {
    /// The file whose data this record is about, if it is a data record.
    fn data_ino(&self) -> Option<u64> {
        match self {
            Undo::Bytes { ino, .. } | Undo::Length { ino, .. } => Some(*ino),
            _ => None,
        }
    }

    /// The directory whose fsync makes this record durable, if it is a name record.
    fn dir_ino(&self) -> Option<u64> {
        match self {
            Undo::Created { parent, .. } | Undo::Removed { parent, .. } => Some(*parent),
            Undo::Renamed { new_parent, .. } => Some(*new_parent),
            _ => None,
        }
    }

    /// Bytes held by the record, for the journal's bound.
    fn held_bytes(&self) -> usize {
        match self {
            Undo::Bytes { old, .. } => old.len(),
            Undo::Length { tail, .. } => tail.len(),
            _ => 0,
        }
    }
}

/// Every change not yet durable, oldest first.
#[derive(Debug, Default)]
pub struct Journal {
    records: Vec<(u64, Undo)>,
    next_seq: u64,
    held_bytes: usize,
}

impl Journal {
    /// Appends a record; returns its sequence number.
    pub fn push(&mut self, undo: Undo) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.held_bytes += undo.held_bytes();
        self.records.push((seq, undo));
        seq
    }

    /// The sequence number the next record gets: an fsync asked for now covers records below it.
    pub fn watermark(&self) -> u64 {
        self.next_seq
    }

    /// An fsync/fdatasync of `ino` asked for at `watermark` completed: its data records before
    /// the watermark are durable.
    pub fn file_synced(&mut self, ino: u64, watermark: u64) {
        self.retain(|seq, undo| !(seq < watermark && undo.data_ino() == Some(ino)));
    }

    /// An fsync of directory `ino` asked for at `watermark` completed: the names it holds are durable.
    pub fn dir_synced(&mut self, ino: u64, watermark: u64) {
        self.retain(|seq, undo| !(seq < watermark && undo.dir_ino() == Some(ino)));
    }

    /// Whether `ino` has data records (a file with writes a cut would lose).
    pub fn has_data_of(&self, ino: u64) -> bool {
        self.records.iter().any(|(_, undo)| undo.data_ino() == Some(ino))
    }

    /// Bytes of old content the journal holds.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Number of records not yet durable.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether everything is durable.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Empties the journal, newest record first: the order a power cut undoes them in.
    pub fn drain_newest_first(&mut self) -> Vec<Undo> {
        self.held_bytes = 0;
        let mut records: Vec<Undo> = self.records.drain(..).map(|(_, undo)| undo).collect();
        records.reverse();
        records
    }

    fn retain(&mut self, mut keep: impl FnMut(u64, &Undo) -> bool) {
        let mut freed = 0;
        self.records.retain(|(seq, undo)| {
            let kept = keep(*seq, undo);
            if !kept {
                freed += undo.held_bytes();
            }
            kept
        });
        self.held_bytes -= freed;
    }
}

/// How much of a torn write reaches the disk: the first `keep` of its `written` bytes, `keep`
/// picked from `random` (any number) in `0..written`.
pub fn torn_prefix(written: u64, random: u64) -> u64 {
    if written == 0 { 0 } else { random % written }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(ino: u64, offset: u64) -> Undo {
        Undo::Bytes {
            ino,
            offset,
            written: 4,
            old: vec![0; 4],
            old_len: 100,
        }
    }

    #[test]
    fn fsync_covers_only_its_file_and_what_came_before_it() {
        let mut journal = Journal::default();
        journal.push(bytes(1, 0));
        journal.push(bytes(2, 0));
        let watermark = journal.watermark();
        journal.push(bytes(1, 4));
        journal.file_synced(1, watermark);
        assert_eq!(journal.drain_newest_first(), vec![bytes(1, 4), bytes(2, 0)]);
    }

    #[test]
    fn a_directory_sync_makes_names_durable_not_data() {
        let mut journal = Journal::default();
        let created = Undo::Created {
            parent: 7,
            path: "d/x".into(),
            ino: 9,
        };
        journal.push(created);
        journal.push(bytes(9, 0));
        journal.dir_synced(7, journal.watermark());
        assert!(journal.has_data_of(9));
        assert_eq!(journal.len(), 1);
        assert_eq!(journal.held_bytes(), 4);
        journal.file_synced(9, journal.watermark());
        assert!(journal.is_empty());
        assert_eq!(journal.held_bytes(), 0);
    }

    #[test]
    fn a_torn_write_keeps_less_than_all_of_it() {
        assert_eq!(torn_prefix(0, 5), 0);
        assert!((0..100).all(|random| torn_prefix(7, random) < 7));
    }
}
