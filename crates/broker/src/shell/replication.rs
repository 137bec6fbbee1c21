//! Starting the replication side (store-and-ha.md §7): Java's role rules for broker ids, the
//! store's in-memory window by role, and binding the master's HA port or starting the slave's
//! follower. What runs afterwards is [`Replication`], in the broker's state.

use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_replication::{HaMaster, HaSlave, OnSlaveRefused, SLAVES_MAX, TAIL_RECOVERY_TIMEOUT};
use ferrocket_store::{Clock, MessageStoreConfig, StoreHandle};
use ferrocket_wire::broker_id::MASTER_ID;
use tracing::info;

use crate::config::{BrokerConfig, BrokerRole};
use crate::error::{BrokerError, BrokerResult};
use crate::limit_warnings::{LimitWarning, limit_warning};
use crate::state::replication::Replication;

/// Java's `BrokerStartup` lowers a slave's `accessMessageInMemoryMaxRatio` by this much, so a
/// slave points lagging consumers elsewhere a little sooner than its master would.
const SLAVE_IN_MEMORY_RATIO_DISCOUNT: u32 = 10;
/// What Java assumes when it cannot read the machine's RAM (and what the store assumed before).
const PHYSICAL_MEMORY_BYTES_FALLBACK: u64 = 16 << 30;
/// `/proc/meminfo` is a few kilobytes; a larger one is not the file we know.
const MEMINFO_BYTES_MAX: u64 = 64 * 1024;

/// Connections to the HA port beyond [`SLAVES_MAX`], refused by the master.
static SLAVES_FULL: LimitWarning = limit_warning!(SLAVES_MAX);

/// Starts the side `config.broker_role` asks for: a master binds
/// `listen_host:effective_ha_listen_port` (port 0 = any); a slave starts following
/// `haMasterAddress`, or nobody until a name server names its master.
pub async fn start(config: &BrokerConfig, store: &StoreHandle, clock: &Clock) -> BrokerResult<Replication> {
    if !config.is_master() {
        let slave = HaSlave::spawn(Arc::new(store.clone()), config.ha_master_address.clone(), config.ha);
        return Ok(Replication::slave(slave));
    }
    let port = config.effective_ha_listen_port();
    let bind_addr: SocketAddr =
        format!("{}:{port}", config.listen_host)
            .parse()
            .map_err(|error| BrokerError::BadHaListenAddress {
                host: config.listen_host.clone(),
                port,
                error,
            })?;
    let clock = clock.clone();
    let on_refused: OnSlaveRefused = Arc::new(move |addr| {
        SLAVES_FULL.hit(clock.now_ms(), &addr.to_string(), "ha connection refused");
    });
    let master = HaMaster::bind(bind_addr, Arc::new(store.clone()), config.ha, on_refused)
        .await
        .map_err(|error| BrokerError::HaListenFailed {
            address: bind_addr,
            error,
        })?;
    info!(ha_addr = %master.local_addr(), role = config.broker_role.java_name(), "ha master listening");
    // After a crash a SYNC_MASTER's slave may hold acknowledged records this log lost (a power
    // cut under ASYNC_FLUSH): no put until the slave is back and they are (docs/protocol-notes.md).
    if config.broker_role == BrokerRole::SyncMaster && store.read(|s| s.recovered_abnormally()) {
        info!(
            wait_ms = TAIL_RECOVERY_TIMEOUT.as_millis() as u64,
            "recovered from a crash: puts wait for the slave"
        );
        master.hold_puts_for_tail(TAIL_RECOVERY_TIMEOUT);
    }
    Ok(Replication::master(master))
}

/// Java's `BrokerStartup` role rules: a master's `brokerId` is forced to 0; a slave needs one
/// above 0.
pub fn settle_role(config: &mut BrokerConfig) -> BrokerResult<()> {
    match config.broker_role {
        BrokerRole::AsyncMaster | BrokerRole::SyncMaster => config.broker_id = MASTER_ID,
        BrokerRole::Slave if config.broker_id <= MASTER_ID => {
            return Err(BrokerError::SlaveIdNotPositive {
                broker_id: config.broker_id,
            });
        }
        BrokerRole::Slave => {}
    }
    Ok(())
}

/// The store configuration with Java's in-memory window: `accessMessageInMemoryMaxRatio` percent
/// of the machine's RAM (10 points less on a slave). Pulls reading further back than this from
/// the log's end are told to go to the slave.
pub fn store_config(config: &BrokerConfig) -> MessageStoreConfig {
    let ratio = match config.broker_role {
        BrokerRole::Slave => config
            .access_message_in_memory_max_ratio
            .saturating_sub(SLAVE_IN_MEMORY_RATIO_DISCOUNT),
        _ => config.access_message_in_memory_max_ratio,
    };
    let mut store = config.store.clone();
    store.in_memory_window_bytes = in_memory_window_bytes(physical_memory_bytes(), ratio);
    store
}

/// `ram × ratio / 100` without overflow.
pub fn in_memory_window_bytes(physical_memory_bytes: u64, ratio_percent: u32) -> u64 {
    let window = u128::from(physical_memory_bytes) * u128::from(ratio_percent.min(100)) / 100;
    u64::try_from(window).unwrap_or(u64::MAX)
}

/// The machine's RAM from `/proc/meminfo` (Java's `TOTAL_PHYSICAL_MEMORY_SIZE`); 16 GiB where
/// it cannot be read.
fn physical_memory_bytes() -> u64 {
    use std::io::Read;
    let mut text = String::new();
    let read = std::fs::File::open("/proc/meminfo")
        .and_then(|file| file.take(MEMINFO_BYTES_MAX).read_to_string(&mut text))
        .is_ok();
    let from_file = read.then(|| parse_mem_total(&text)).flatten();
    from_file.unwrap_or(PHYSICAL_MEMORY_BYTES_FALLBACK)
}

/// `MemTotal:       16384 kB` → bytes.
fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(role: BrokerRole, in_sync_replicas: u32) -> BrokerConfig {
        BrokerConfig {
            broker_role: role,
            in_sync_replicas,
            ..BrokerConfig::default()
        }
    }

    #[test]
    fn roles_fix_broker_ids_as_java_does() {
        let mut master = BrokerConfig {
            broker_id: 3,
            ..config(BrokerRole::SyncMaster, 1)
        };
        settle_role(&mut master).unwrap();
        assert_eq!(master.broker_id, 0);
        let mut slave = config(BrokerRole::Slave, 1);
        assert_eq!(
            settle_role(&mut slave).unwrap_err().to_string(),
            "Slave's brokerId must be > 0"
        );
        slave.broker_id = 1;
        settle_role(&mut slave).unwrap();
    }

    #[test]
    fn the_in_memory_window_is_a_share_of_ram_and_smaller_on_a_slave() {
        assert_eq!(in_memory_window_bytes(1000, 40), 400);
        assert_eq!(in_memory_window_bytes(u64::MAX, 100), u64::MAX);
        assert_eq!(in_memory_window_bytes(1000, 250), 1000);
        assert_eq!(
            parse_mem_total("MemFree: 1 kB\nMemTotal:       16384 kB\n"),
            Some(16 << 20)
        );
        assert_eq!(parse_mem_total("MemTotal: lots\n"), None);
        let master = store_config(&config(BrokerRole::AsyncMaster, 1));
        let slave = store_config(&BrokerConfig {
            broker_id: 1,
            ..config(BrokerRole::Slave, 1)
        });
        assert!(slave.in_memory_window_bytes < master.in_memory_window_bytes);
    }
}
