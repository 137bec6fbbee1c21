//! The config-file writer under a power cut (crates/lossyfs): after a cut, a file persisted and
//! answered for is there, complete, also when its directory was new and when fsync is slow.
//! Regression test: `persist_config_file` once created its directory with `create_dir_all` and
//! never synced the parent, so a cut took `config/` and every fsynced file in it.
//! Root and /dev/fuse needed; skipped with a note without them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fs;
use std::path::Path;
use std::time::Duration;

use ferrocket_lossyfs::LossyMount;
use ferrocket_store::persist_config_file;

fn cut_after(fsync_delay: Duration, writes: &[&str]) -> Option<(tempfile::TempDir, usize)> {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("no /dev/fuse: skipped");
        return None;
    }
    let root = tempfile::tempdir().unwrap();
    for dir in ["backing", "mnt", "stash"] {
        fs::create_dir(root.path().join(dir)).unwrap();
    }
    let mount = LossyMount::mount(
        &root.path().join("backing"),
        &root.path().join("mnt"),
        &root.path().join("stash"),
    )
    .unwrap();
    mount.set_fsync_delay(fsync_delay);
    let file = root.path().join("mnt").join("store").join("config").join("topics.json");
    for text in writes {
        persist_config_file(&file, text).unwrap();
    }
    let lost = mount.power_cut(Some(7));
    mount.unmount();
    Some((root, lost))
}

fn backing_file(root: &tempfile::TempDir) -> std::io::Result<String> {
    fs::read_to_string(
        root.path()
            .join("backing")
            .join("store")
            .join("config")
            .join("topics.json"),
    )
}

#[test]
fn a_persisted_file_in_a_new_directory_survives_a_cut() {
    let Some((root, lost)) = cut_after(Duration::ZERO, &["{\"v\":1}"]) else {
        return;
    };
    assert_eq!(backing_file(&root).unwrap(), "{\"v\":1}");
    assert_eq!(lost, 0, "everything persist did was made durable");
}

#[test]
fn the_last_version_survives_with_a_slow_fsync() {
    let Some((root, _)) = cut_after(Duration::from_millis(100), &["{\"v\":1}", "{\"v\":2}"]) else {
        return;
    };
    assert_eq!(backing_file(&root).unwrap(), "{\"v\":2}");
}
