//! Where a broadcasting push consumer keeps its offsets: on the client's own disk, as Java's
//! `LocalFileOffsetStore` does. In broadcasting every member reads every queue, so the broker
//! keeps no offsets for the group, and without this file a restarted member would start over
//! from its `StartFrom` and see everything again (or miss what came while it was down).
//!
//! Java's path is `<dir>/<client id>/<group>/offsets.json`, the client id being `ip@instance`:
//! a member that comes back with the same instance name finds its offsets; one with a fresh name
//! (Java's default, `pid#nanoTime`) starts as new, in Java as here. The contents are our own
//! (a line per queue, tab-separated) rather than Java's fastjson map with object keys, which no
//! JSON reader but fastjson's takes; no other program reads this file.
//!
//! A save writes a temporary file, syncs it, moves the previous file to `.bak` and the new one
//! into place, then syncs the directory; a load that finds the file missing or unreadable takes
//! the `.bak`, so a crash between the two renames loses nothing.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ferrocket_wire::body::MessageQueue;

/// A file larger than this is not an offsets file we wrote (a queue's line is well under 512
/// bytes and a consumer owns at most `OWNED_QUEUES_MAX` queues).
pub const LOCAL_OFFSETS_FILE_BYTES_MAX: u64 = 8 * 1024 * 1024;

/// The first line, so that a file of something else is never read as offsets.
const HEADER: &str = "# ferrocket broadcasting offsets v1: topic, broker name, queue id, next offset";

/// One group's offsets file.
#[derive(Debug, Clone)]
pub struct LocalOffsets {
    file: PathBuf,
}

impl LocalOffsets {
    /// The file of `group` for the client `client_id` under `dir` (Java's layout). Path
    /// separators in either name are replaced, so neither can lead outside `dir`.
    pub fn new(dir: &Path, client_id: &str, group: &str) -> LocalOffsets {
        LocalOffsets {
            file: dir
                .join(path_safe(client_id))
                .join(path_safe(group))
                .join("offsets.json"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.file
    }

    /// What the last save left: the file, else its `.bak`, else nothing.
    pub fn load(&self) -> BTreeMap<MessageQueue, i64> {
        read(&self.file)
            .or_else(|| read(&backup(&self.file)))
            .unwrap_or_default()
    }

    /// Replaces the file with `offsets` durably (see the module's note on the order).
    pub fn save(&self, offsets: &BTreeMap<MessageQueue, i64>) -> io::Result<()> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let mut text = String::from(HEADER);
        text.push('\n');
        for (queue, offset) in offsets {
            // Names with a tab or a line break cannot be written back unambiguously; RocketMQ's
            // name rules do not allow them anyway.
            if [&queue.topic, &queue.broker_name]
                .iter()
                .any(|name| name.contains(['\t', '\n', '\r']))
            {
                continue;
            }
            text.push_str(&format!(
                "{}\t{}\t{}\t{offset}\n",
                queue.topic, queue.broker_name, queue.queue_id
            ));
        }
        let temporary = self.file.with_extension("json.tmp");
        let mut file = File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        if self.file.exists() {
            fs::rename(&self.file, backup(&self.file))?;
        }
        fs::rename(&temporary, &self.file)?;
        File::open(dir)?.sync_all()
    }
}

fn backup(file: &Path) -> PathBuf {
    file.with_extension("json.bak")
}

/// The offsets in `file`, or `None` when it is missing, too large, not ours or has a bad line:
/// a half-understood file is not trusted for any queue.
fn read(file: &Path) -> Option<BTreeMap<MessageQueue, i64>> {
    if fs::metadata(file).ok()?.len() > LOCAL_OFFSETS_FILE_BYTES_MAX {
        return None;
    }
    let text = fs::read_to_string(file).ok()?;
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let mut offsets = BTreeMap::new();
    for line in lines.filter(|line| !line.is_empty()) {
        let mut fields = line.split('\t');
        let (topic, broker_name, queue_id, offset) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
        if fields.next().is_some() || topic.is_empty() || broker_name.is_empty() {
            return None;
        }
        let queue = MessageQueue {
            topic: topic.to_owned(),
            broker_name: broker_name.to_owned(),
            queue_id: queue_id.parse().ok()?,
        };
        offsets.insert(queue, offset.parse::<i64>().ok().filter(|offset| *offset >= 0)?);
    }
    Some(offsets)
}

fn path_safe(name: &str) -> String {
    name.chars()
        .map(|c| if matches!(c, '/' | '\\' | '\0') { '_' } else { c })
        .collect::<String>()
        .replace("..", "__")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(topic: &str, id: i32) -> MessageQueue {
        MessageQueue {
            topic: topic.into(),
            broker_name: "broker-a".into(),
            queue_id: id,
        }
    }

    #[test]
    fn saved_offsets_are_loaded_back_and_the_previous_save_is_kept() {
        let dir = tempfile_dir();
        let store = LocalOffsets::new(dir.path(), "127.0.0.1@42#1", "cg");
        assert!(store.load().is_empty(), "nothing saved yet");
        let first: BTreeMap<_, _> = [(queue("T", 0), 5), (queue("T", 1), 7)].into();
        store.save(&first).unwrap();
        assert_eq!(store.load(), first);
        let second: BTreeMap<_, _> = [(queue("T", 0), 9), (queue("T", 1), 7)].into();
        store.save(&second).unwrap();
        assert_eq!(store.load(), second);
        assert_eq!(
            read(&backup(store.path())),
            Some(first),
            "the previous save is the .bak"
        );
    }

    #[test]
    fn a_missing_or_damaged_file_falls_back_to_the_backup() {
        let dir = tempfile_dir();
        let store = LocalOffsets::new(dir.path(), "c", "cg");
        let first: BTreeMap<_, _> = [(queue("T", 0), 5)].into();
        let second: BTreeMap<_, _> = [(queue("T", 0), 6)].into();
        store.save(&first).unwrap();
        store.save(&second).unwrap();
        // A crash between the two renames: only the .bak is there.
        fs::remove_file(store.path()).unwrap();
        assert_eq!(store.load(), first);
        for damaged in [
            "",
            "not ours\nT\tbroker-a\t0\t5\n",
            &format!("{HEADER}\nT\tbroker-a\t0\n"),
            &format!("{HEADER}\nT\tbroker-a\tx\t5\n"),
            &format!("{HEADER}\nT\tbroker-a\t0\t-3\n"),
            &format!("{HEADER}\nT\tbroker-a\t0\t5\textra\n"),
        ] {
            fs::write(store.path(), damaged).unwrap();
            assert_eq!(store.load(), first, "{damaged:?} is not trusted");
        }
    }

    #[test]
    fn names_cannot_lead_outside_the_directory() {
        let store = LocalOffsets::new(Path::new("/base"), "../../etc", "a/../../b");
        assert!(store.path().starts_with("/base"));
        assert_eq!(store.path().components().filter(|c| c.as_os_str() == "..").count(), 0);
    }

    fn tempfile_dir() -> TempDir {
        TempDir::new()
    }

    /// A directory removed on drop (the crate has no tempfile dependency).
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            let path = std::env::temp_dir().join(format!(
                "ferrocket-local-offsets-{}-{}",
                std::process::id(),
                crate::ids::random_u64()
            ));
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}
