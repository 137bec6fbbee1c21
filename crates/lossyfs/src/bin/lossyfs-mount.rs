//! A lossyfs mount as a process, for fault tests that are not Rust (the Java chaos suite cuts
//! the power under a Java-driven master, interop/java/chaos-it `MasterSlavePowerCutTest`).
//!
//! ```text
//! lossyfs-mount BACKING MOUNTPOINT STASH CONTROL
//!   prints "mounted MOUNTPOINT" once mounted, then watches the CONTROL directory:
//!   CONTROL/cut      → power cut (newest write torn); writes CONTROL/cut.done, prints "cut N"
//!   CONTROL/unmount  → unmounts (kill the writers first), prints "unmounted" and exits 0
//! ```
//! Files, not signals or stdin: any harness can create a file, and nothing here needs unsafe
//! code. The tear position is drawn at random (std's randomly keyed hasher: the project reads
//! clocks only in the store's clock module) and printed, so a failing cut can be told.
//! Root only, as the mount itself.

use std::hash::BuildHasher;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ferrocket_lossyfs::LossyMount;

/// How often the control directory is looked at: a cut lands within this of its request.
const POLL: Duration = Duration::from_millis(1);

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [backing, mountpoint, stash, control] = args.as_slice() else {
        eprintln!("usage: lossyfs-mount BACKING MOUNTPOINT STASH CONTROL");
        return ExitCode::from(2);
    };
    let mount = match LossyMount::mount(backing, mountpoint, stash) {
        Ok(mount) => mount,
        Err(error) => {
            eprintln!("lossyfs-mount: mounting {}: {error}", mountpoint.display());
            return ExitCode::FAILURE;
        }
    };
    println!("mounted {}", mountpoint.display());
    loop {
        if control.join("unmount").exists() {
            mount.unmount();
            println!("unmounted");
            return ExitCode::SUCCESS;
        }
        if control.join("cut").exists() && !control.join("cut.done").exists() {
            let tear = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
            let lost = mount.power_cut(Some(tear));
            if let Err(error) = std::fs::write(control.join("cut.done"), lost.to_string()) {
                eprintln!("lossyfs-mount: writing cut.done: {error}");
                return ExitCode::FAILURE;
            }
            println!("cut {lost} (tear {tear})");
        }
        std::thread::sleep(POLL);
    }
}
