//! Certificate reload without restart, as Java's `FileWatchService` does for the TLS files.
//!
//! Every [`TLS_RELOAD_CHECK_INTERVAL`] the certificate, key and CA files are read (each at most
//! `TLS_FILE_BYTES_MAX`) and compared with what was last served. When they differ and the new
//! files make a valid configuration, new connections get it; open connections keep theirs.
//! Files that do not (a certificate replaced before its key, say) leave the old configuration in
//! place and are tried again on the next check, with one warning per distinct content.

use std::path::PathBuf;
use std::time::Duration;

use tracing::{info, warn};

use super::ServerTls;
use super::settings::{TlsSettings, read_bounded};

/// Java's `FileWatchService` checks every 500 ms; three small files read that often cost nothing.
pub const TLS_RELOAD_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// What the watched files held: `None` for a file that could not be read.
type Snapshot = Vec<Option<Vec<u8>>>;

/// Reloads `tls` whenever `settings`' certificate files change; runs until its task is aborted.
/// Returns at once when nothing is watched (TLS disabled, or test mode's generated certificate).
pub async fn reload_on_change(settings: TlsSettings, tls: ServerTls) {
    let files = settings.server_files();
    if files.is_empty() {
        return;
    }
    let mut served = snapshot(files.clone()).await;
    let mut refused = None;
    loop {
        tokio::time::sleep(TLS_RELOAD_CHECK_INTERVAL).await;
        let now = snapshot(files.clone()).await;
        if now == served || refused.as_ref() == Some(&now) {
            continue;
        }
        let built = {
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || settings.server_config()).await
        };
        match built {
            Ok(Ok(Some(config))) => {
                tls.replace_config(config);
                info!(files = ?files, "TLS certificate reloaded");
                served = now;
                refused = None;
            }
            Ok(Ok(None)) => return,
            Ok(Err(error)) => {
                warn!(%error, "changed TLS files refused; still serving the previous certificate");
                refused = Some(now);
            }
            Err(error) => warn!(%error, "TLS reload task failed"),
        }
    }
}

async fn snapshot(files: Vec<PathBuf>) -> Snapshot {
    let read = move || files.iter().map(|path| read_bounded(path).ok()).collect();
    tokio::task::spawn_blocking(read).await.unwrap_or_default()
}
