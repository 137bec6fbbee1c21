//! The lost-writes model on a real mount: what an fsync covered survives a cut, nothing else
//! does (data, creates, renames, unlinks), and a torn write keeps only a prefix. Root and
//! /dev/fuse needed; skipped (with a note) without them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a panic is the failure report

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use ferrocket_lossyfs::LossyMount;

struct Dirs {
    _root: tempfile::TempDir,
    backing: std::path::PathBuf,
    mountpoint: std::path::PathBuf,
    stash: std::path::PathBuf,
}

fn dirs() -> Option<Dirs> {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("no /dev/fuse: skipped");
        return None;
    }
    let root = tempfile::tempdir().unwrap();
    let dirs = Dirs {
        backing: root.path().join("backing"),
        mountpoint: root.path().join("mnt"),
        stash: root.path().join("stash"),
        _root: root,
    };
    for dir in [&dirs.backing, &dirs.mountpoint, &dirs.stash] {
        fs::create_dir(dir).unwrap();
    }
    Some(dirs)
}

fn sync_dir(path: &Path) {
    File::open(path).unwrap().sync_all().unwrap();
}

#[test]
fn only_what_fsync_covered_survives_a_cut() {
    let Some(dirs) = dirs() else { return };
    let mount = LossyMount::mount(&dirs.backing, &dirs.mountpoint, &dirs.stash).unwrap();
    let m = &dirs.mountpoint;
    // A durable file: created, written, fsynced, its directory fsynced.
    let mut log = File::create(m.join("log")).unwrap();
    log.write_all(b"durable|").unwrap();
    log.sync_data().unwrap();
    sync_dir(m);
    // Then volatile: more data, an overwrite inside the durable part, a new file, a rename
    // over an existing name, an unlink.
    log.write_all(b"volatile").unwrap();
    log.write_all_at(b"D", 0).unwrap();
    fs::write(m.join("kept"), b"old").unwrap();
    File::open(m.join("kept")).unwrap().sync_all().unwrap();
    sync_dir(m);
    fs::write(m.join("new"), b"never synced dir").unwrap();
    File::open(m.join("new")).unwrap().sync_all().unwrap();
    fs::write(m.join("kept.tmp"), b"replacement").unwrap();
    fs::rename(m.join("kept.tmp"), m.join("kept")).unwrap();
    fs::create_dir(m.join("sub")).unwrap();
    drop(log);
    assert_eq!(fs::read(m.join("log")).unwrap(), b"Durable|volatile");

    let lost = mount.power_cut(None);
    assert!(lost >= 6, "{lost} changes lost");
    assert!(
        fs::read(m.join("log")).is_err(),
        "the mount must refuse everything after a cut"
    );
    mount.unmount();

    assert_eq!(fs::read(dirs.backing.join("log")).unwrap(), b"durable|");
    assert_eq!(fs::read(dirs.backing.join("kept")).unwrap(), b"old");
    assert!(!dirs.backing.join("new").exists());
    assert!(!dirs.backing.join("kept.tmp").exists());
    assert!(!dirs.backing.join("sub").exists());
}

#[test]
fn an_unlink_not_synced_comes_back_and_a_torn_write_keeps_a_prefix() {
    let Some(dirs) = dirs() else { return };
    fs::write(dirs.backing.join("gone"), b"still here").unwrap();
    fs::write(dirs.backing.join("torn"), b"").unwrap();
    let mount = LossyMount::mount(&dirs.backing, &dirs.mountpoint, &dirs.stash).unwrap();
    let m = &dirs.mountpoint;
    fs::remove_file(m.join("gone")).unwrap();
    let torn = OpenOptions::new().write(true).open(m.join("torn")).unwrap();
    torn.write_all_at(&[7; 1000], 0).unwrap();
    drop(torn);
    mount.power_cut(Some(123_457));
    mount.unmount();
    assert_eq!(fs::read(dirs.backing.join("gone")).unwrap(), b"still here");
    let kept = fs::read(dirs.backing.join("torn")).unwrap();
    assert_eq!(
        kept.len(),
        457,
        "the torn write keeps the prefix picked from the number"
    );
    assert!(kept.iter().all(|byte| *byte == 7));
}

#[test]
fn a_slow_disk_delays_fsync_not_writes() {
    let Some(dirs) = dirs() else { return };
    let mount = LossyMount::mount(&dirs.backing, &dirs.mountpoint, &dirs.stash).unwrap();
    mount.set_fsync_delay(Duration::from_millis(300));
    let mut file = File::create(dirs.mountpoint.join("f")).unwrap();
    let started = Instant::now();
    file.write_all(b"x").unwrap();
    assert!(started.elapsed() < Duration::from_millis(300));
    file.sync_data().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(mount.volatile().0, 1, "only the create is still volatile");
    drop(file);
    mount.unmount();
}

#[test]
fn fallocate_passes_through_and_its_growth_is_lost_at_a_cut() {
    let Some(dirs) = dirs() else { return };
    let mount = LossyMount::mount(&dirs.backing, &dirs.mountpoint, &dirs.stash).unwrap();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dirs.mountpoint.join("index"))
        .unwrap();
    file.sync_all().unwrap();
    sync_dir(&dirs.mountpoint);
    rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, 8192).unwrap();
    assert_eq!(file.metadata().unwrap().len(), 8192);
    drop(file);
    mount.power_cut(None);
    mount.unmount();
    assert_eq!(fs::metadata(dirs.backing.join("index")).unwrap().len(), 0);
}
