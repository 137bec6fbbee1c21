//! Master/slave replication in the broker (store-and-ha.md §7, issue 6): a master listens on
//! its HA port and streams its commit log to slaves ([`HaMaster`]); a slave follows its master's
//! HA address ([`HaSlave`]), learnt from `haMasterAddress` or from the name servers' answers to
//! REGISTER_BROKER. [`after_put`] is Java's `CommitLog.handleHA`: what a SYNC_MASTER send waits
//! for, and the response code that replaces SUCCESS when it cannot.
//!
//! The replication core lives in the store crate; this module only starts it, feeds it the
//! addresses and the end offsets of puts, and stops it. [`Replication`] holds the running side
//! behind a lock taken for a moment (never across an `.await`): the send path reads it on every
//! put, shutdown takes it out. Lock order: after every table lock (it is never held with one).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrocket_store::ha::acks::SlaveProgress;
use ferrocket_store::ha::master::HaMaster;
use ferrocket_store::ha::slave::{HaSlave, SlaveStatus};
use ferrocket_store::{MessageStoreConfig, StoreHandle};
use ferrocket_wire::ResponseCode;
use tracing::info;

use crate::broker::{Broker, lock};
use crate::config::{BrokerConfig, BrokerRole};
use crate::error::{BrokerError, BrokerResult};
use crate::registration::MasterAddresses;

/// Java's `MixAll.MASTER_ID`.
pub const MASTER_ID: i64 = 0;
/// Java's `BrokerStartup` lowers a slave's `accessMessageInMemoryMaxRatio` by this much, so a
/// slave points lagging consumers elsewhere a little sooner than its master would.
const SLAVE_IN_MEMORY_RATIO_DISCOUNT: u32 = 10;
/// What Java assumes when it cannot read the machine's RAM (and what the store assumed before).
const PHYSICAL_MEMORY_BYTES_FALLBACK: u64 = 16 << 30;
/// `/proc/meminfo` is a few kilobytes; a larger one is not the file we know.
const MEMINFO_BYTES_MAX: u64 = 64 * 1024;

/// The running replication side of a broker: nothing, a master's HA listener, or a slave's
/// follower.
pub struct Replication {
    master: Mutex<Option<HaMaster>>,
    slave: Mutex<Option<HaSlave>>,
    /// The bound HA address (masters only).
    ha_local_addr: Option<SocketAddr>,
}

impl Replication {
    /// Starts the side `config.broker_role` asks for: a master binds
    /// `listen_host:effective_ha_listen_port` (port 0 = any); a slave starts following
    /// `haMasterAddress`, or nobody until a name server names its master.
    pub async fn start(config: &BrokerConfig, store: &StoreHandle) -> BrokerResult<Replication> {
        let mut replication = Replication {
            master: Mutex::new(None),
            slave: Mutex::new(None),
            ha_local_addr: None,
        };
        if config.is_master() {
            let port = config.effective_ha_listen_port();
            let bind_addr: SocketAddr = format!("{}:{port}", config.listen_host).parse().map_err(|error| {
                system_error(format!("bad HA listen address {}:{port}: {error}", config.listen_host))
            })?;
            let master = HaMaster::bind(bind_addr, Arc::new(store.clone()), config.ha)
                .await
                .map_err(|error| system_error(format!("cannot listen for slaves on {bind_addr}: {error}")))?;
            replication.ha_local_addr = Some(master.local_addr());
            info!(ha_addr = %master.local_addr(), role = config.broker_role.java_name(), "ha master listening");
            *lock(&replication.master) = Some(master);
        } else {
            let slave = HaSlave::spawn(Arc::new(store.clone()), config.ha_master_address.clone(), config.ha);
            *lock(&replication.slave) = Some(slave);
        }
        Ok(replication)
    }

    /// The bound HA address (masters only; tests connect slaves to it).
    pub fn ha_local_addr(&self) -> Option<SocketAddr> {
        self.ha_local_addr
    }

    /// REGISTER_BROKER's `haServerAddr`: `brokerIP2` and the HA port actually bound.
    pub fn announced_ha_addr(&self, config: &BrokerConfig) -> String {
        match self.ha_local_addr {
            Some(bound) => config.ha_server_addr_with_port(bound.port()),
            None => config.ha_server_addr(),
        }
    }

    /// Wakes the master's idle writers: the commit log now ends at `max_offset`.
    pub fn notify_append(&self, max_offset: u64) {
        if let Some(master) = lock(&self.master).as_ref() {
            master.notify_append(max_offset);
        }
    }

    /// Connected slaves and how far each acknowledged (masters only).
    pub fn slaves(&self) -> Vec<SlaveProgress> {
        lock(&self.master).as_ref().map(HaMaster::slaves).unwrap_or_default()
    }

    /// The slave's connection to its master (slaves only).
    pub fn slave_status(&self) -> Option<SlaveStatus> {
        lock(&self.slave).as_ref().map(HaSlave::status)
    }

    /// The HA address the slave follows (slaves only).
    pub fn followed_master(&self) -> Option<String> {
        lock(&self.slave).as_ref().and_then(HaSlave::master_address)
    }

    /// Java's `updateHaMasterAddress` after a registration: the slave follows the master's HA
    /// address the name server named, unless `haMasterAddress` pins it.
    pub fn on_master_addresses(&self, config: &BrokerConfig, addresses: &MasterAddresses) {
        if config.ha_master_address.is_some() {
            return;
        }
        let Some(ha_server_addr) = addresses.ha_server_addr.clone() else {
            return;
        };
        if let Some(slave) = lock(&self.slave).as_ref()
            && slave.master_address().as_deref() != Some(ha_server_addr.as_str())
        {
            info!(master_ha_addr = ha_server_addr, "following the master's ha address");
            slave.set_master_address(Some(ha_server_addr));
        }
    }

    /// Stops the listener or the follower (before the store closes).
    pub async fn shutdown(&self) {
        let master = lock(&self.master).take();
        if let Some(master) = master {
            master.shutdown().await;
        }
        let slave = lock(&self.slave).take();
        if let Some(slave) = slave {
            slave.shutdown().await;
        }
    }
}

/// What a stored put still has to wait for before its send is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaWait {
    /// Answer now (ASYNC_MASTER, a slave, or a message that does not wait).
    Nothing,
    /// 4.x SYNC_MASTER with no slave connected or the best one too far behind.
    SlaveNotAvailable,
    /// Wait until this many copies (the master's included) hold the put, at most `timeout`.
    Acks { replicas: usize, timeout: Duration },
}

/// Java's `handleHA` decision. `inSyncReplicas` ≤ 1 is the 4.x rule (one slave must hold it,
/// SLAVE_NOT_AVAILABLE when none is fit); above 1 the 5.x ack count, which never answers
/// SLAVE_NOT_AVAILABLE.
pub fn replica_wait(config: &BrokerConfig, wait_store_msg_ok: bool, slave_ok: bool) -> ReplicaWait {
    if config.broker_role != BrokerRole::SyncMaster || !wait_store_msg_ok {
        return ReplicaWait::Nothing;
    }
    let timeout = Duration::from_millis(config.slave_timeout_ms);
    if config.in_sync_replicas > 1 {
        return ReplicaWait::Acks {
            replicas: config.in_sync_replicas as usize,
            timeout,
        };
    }
    match slave_ok {
        true => ReplicaWait::Acks { replicas: 1, timeout },
        false => ReplicaWait::SlaveNotAvailable,
    }
}

/// After a put stored records ending at `end_offset`: wakes the HA writers and, on a
/// SYNC_MASTER, waits for the slaves. Returns the code that replaces the put's own
/// (SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT; the message stays stored either way).
pub async fn after_put(
    broker: &Broker,
    config: &BrokerConfig,
    end_offset: u64,
    wait_store_msg_ok: bool,
) -> Option<ResponseCode> {
    let replication = &broker.replication;
    let acknowledged = {
        let master = lock(&replication.master);
        let master = master.as_ref()?;
        master.notify_append(end_offset);
        match replica_wait(config, wait_store_msg_ok, master.is_slave_ok(end_offset)) {
            ReplicaWait::Nothing => return None,
            ReplicaWait::SlaveNotAvailable => return Some(ResponseCode::SLAVE_NOT_AVAILABLE),
            ReplicaWait::Acks { replicas, timeout } => master.wait_for_replicas(end_offset, replicas, timeout),
        }
    };
    match acknowledged.await {
        true => None,
        false => Some(ResponseCode::FLUSH_SLAVE_TIMEOUT),
    }
}

/// Java's `BrokerStartup` role rules: a master's `brokerId` is forced to 0; a slave needs one
/// above 0.
pub fn settle_role(config: &mut BrokerConfig) -> BrokerResult<()> {
    match config.broker_role {
        BrokerRole::AsyncMaster | BrokerRole::SyncMaster => config.broker_id = MASTER_ID,
        BrokerRole::Slave if config.broker_id <= MASTER_ID => {
            return Err(system_error("Slave's brokerId must be > 0".to_owned()));
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

fn system_error(remark: String) -> BrokerError {
    BrokerError::coded(ResponseCode::SYSTEM_ERROR, remark)
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
    fn only_a_sync_master_waits_and_only_for_messages_that_ask() {
        let timeout = Duration::from_millis(3_000);
        let sync = config(BrokerRole::SyncMaster, 1);
        assert_eq!(
            replica_wait(&sync, true, true),
            ReplicaWait::Acks { replicas: 1, timeout }
        );
        assert_eq!(replica_wait(&sync, true, false), ReplicaWait::SlaveNotAvailable);
        assert_eq!(replica_wait(&sync, false, false), ReplicaWait::Nothing);
        assert_eq!(
            replica_wait(&config(BrokerRole::AsyncMaster, 1), true, false),
            ReplicaWait::Nothing
        );
        assert_eq!(
            replica_wait(&config(BrokerRole::Slave, 1), true, false),
            ReplicaWait::Nothing
        );
        // 5.x ack counting never answers SLAVE_NOT_AVAILABLE; it times out instead.
        assert_eq!(
            replica_wait(&config(BrokerRole::SyncMaster, 2), true, false),
            ReplicaWait::Acks { replicas: 2, timeout }
        );
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
