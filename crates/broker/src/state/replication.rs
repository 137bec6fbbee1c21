//! Master/slave replication in the broker (store-and-ha.md §7, issue 6): a master listens on
//! its HA port and streams its commit log to slaves ([`HaMaster`]); a slave follows its master's
//! HA address ([`HaSlave`]), learnt from `haMasterAddress` or from the name servers' answers to
//! REGISTER_BROKER. [`after_put`] is Java's `CommitLog.handleHA`: what a SYNC_MASTER send waits
//! for, and the response code that replaces SUCCESS when it cannot.
//!
//! The replication core lives in its own crate and the shell starts it; this module feeds it
//! the addresses and the end offsets of puts, and stops it. [`Replication`] holds the running side
//! behind a lock taken for a moment (never across an `.await`): the send path reads it on every
//! put, shutdown takes it out. Lock order: after every table lock (it is never held with one).

use std::net::SocketAddr;
use std::time::Duration;

use ferrocket_replication::{HaMaster, HaSlave, SlaveProgress, SlaveStatus, TransferStats};
use ferrocket_store::CommitLogOffset;
use tracing::info;

use crate::config::{BrokerConfig, BrokerRole};
use crate::error::PutMessageStatus;
use crate::state::{Broker, Table};

/// What the name servers said about this broker's master (slaves only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterAddresses {
    pub master_addr: Option<String>,
    pub ha_server_addr: Option<String>,
}

/// The running replication side of a broker: nothing, a master's HA listener, or a slave's
/// follower.
pub struct Replication {
    master: Table<Option<HaMaster>>,
    slave: Table<Option<HaSlave>>,
    /// The bound HA address (masters only).
    ha_local_addr: Option<SocketAddr>,
}

impl Replication {
    /// A master's side: its bound HA listener.
    pub fn master(master: HaMaster) -> Replication {
        Replication {
            ha_local_addr: Some(master.local_addr()),
            master: Table::new(Some(master)),
            slave: Table::new(None),
        }
    }

    /// A slave's side: its follower.
    pub fn slave(slave: HaSlave) -> Replication {
        Replication {
            master: Table::new(None),
            slave: Table::new(Some(slave)),
            ha_local_addr: None,
        }
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
    pub fn notify_append(&self, max_offset: CommitLogOffset) {
        if let Some(master) = self.master.lock().as_ref() {
            master.notify_append(max_offset);
        }
    }

    /// Connected slaves and how far each acknowledged (masters only).
    pub fn slaves(&self) -> Vec<SlaveProgress> {
        self.master.lock().as_ref().map(HaMaster::slaves).unwrap_or_default()
    }

    /// What the master's slave connections sent and read (masters only).
    pub fn transfer_stats(&self) -> Option<TransferStats> {
        self.master.lock().as_ref().map(HaMaster::stats)
    }

    /// The slave's connection to its master (slaves only).
    pub fn slave_status(&self) -> Option<SlaveStatus> {
        self.slave.lock().as_ref().map(HaSlave::status)
    }

    /// The HA address the slave follows (slaves only).
    pub fn followed_master(&self) -> Option<String> {
        self.slave.lock().as_ref().and_then(HaSlave::master_address)
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
        if let Some(slave) = self.slave.lock().as_ref()
            && slave.master_address().as_deref() != Some(ha_server_addr.as_str())
        {
            info!(master_ha_addr = ha_server_addr, "following the master's ha address");
            slave.set_master_address(Some(ha_server_addr));
        }
    }

    /// Stops the listener or the follower (before the store closes).
    pub async fn shutdown(&self) {
        let master = self.master.lock().take();
        if let Some(master) = master {
            master.shutdown().await;
        }
        let slave = self.slave.lock().take();
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
/// SYNC_MASTER, waits for the slaves. Returns the status that replaces the put's own
/// (SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT; the message stays stored either way).
pub async fn after_put(
    broker: &Broker,
    config: &BrokerConfig,
    end_offset: CommitLogOffset,
    wait_store_msg_ok: bool,
) -> Option<PutMessageStatus> {
    let replication = &broker.replication;
    let acknowledged = {
        let master = replication.master.lock();
        let master = master.as_ref()?;
        master.notify_append(end_offset);
        match replica_wait(config, wait_store_msg_ok, master.is_slave_ok(end_offset)) {
            ReplicaWait::Nothing => return None,
            ReplicaWait::SlaveNotAvailable => return Some(PutMessageStatus::SlaveNotAvailable),
            ReplicaWait::Acks { replicas, timeout } => master.wait_for_replicas(end_offset, replicas, timeout),
        }
    };
    match acknowledged.await {
        true => None,
        false => Some(PutMessageStatus::FlushSlaveTimeout),
    }
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
}
