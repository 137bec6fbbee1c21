//! clusterList, brokerStatus, getBrokerConfig and updateBrokerConfig, printed as mqadmin prints
//! them.

use std::collections::BTreeMap;

use ferrocket_client::Admin;
use ferrocket_client::admin::Target;
use serde_json::{Value, json};

use super::output::{Output, left, right};

pub async fn cluster_list(admin: &Admin, out: &Output, only: Option<&str>) -> anyhow::Result<()> {
    let info = admin.cluster_info().await?;
    let mut rows = Vec::new();
    for (cluster, broker_names) in &info.cluster_addr_table {
        if only.is_some_and(|only| only != cluster) {
            continue;
        }
        for broker_name in broker_names {
            let Some(data) = info.broker_addr_table.get(broker_name) else {
                continue;
            };
            for (broker_id, addr) in &data.broker_addrs {
                // A broker that does not answer is listed with empty figures, as mqadmin does.
                let runtime = admin.broker_runtime_info(addr).await.unwrap_or_default();
                rows.push(ClusterRow {
                    cluster: cluster.clone(),
                    broker_name: broker_name.clone(),
                    broker_id: *broker_id,
                    addr: addr.clone(),
                    runtime,
                });
            }
        }
    }
    let document: Vec<Value> = rows.iter().map(ClusterRow::document).collect();
    out.emit(json!({ "brokers": document }), || {
        let mut text = format!(
            "{}  {}  {}  {} {}  {}  {}  {}\n",
            left("#Cluster Name", 22),
            left("#Broker Name", 22),
            left("#BID", 4),
            left("#Addr", 22),
            left("#Version", 16),
            right("#InTPS", 16),
            right("#OutTPS", 16),
            left("#SPACE", 8)
        );
        for row in &rows {
            text.push_str(&format!(
                "{}  {}  {}  {} {}  {}  {}  {}\n",
                left(&row.cluster, 22),
                left(&row.broker_name, 22),
                left(&row.broker_id.to_string(), 4),
                left(&row.addr, 22),
                left(row.version(), 16),
                right(&format!("{:.2}", row.in_tps()), 16),
                right(&format!("{:.2}", row.out_tps()), 16),
                left(&format!("{:.4}", row.space()), 8)
            ));
        }
        text
    })
}

/// One broker of `clusterList` with its runtime figures.
struct ClusterRow {
    cluster: String,
    broker_name: String,
    broker_id: i64,
    addr: String,
    runtime: BTreeMap<String, String>,
}

impl ClusterRow {
    fn version(&self) -> &str {
        self.runtime.get("brokerVersionDesc").map_or("", String::as_str)
    }

    /// Java's runtime info gives TPS as "last-10s last-60s last-600s"; mqadmin shows the first.
    fn first_figure(&self, key: &str) -> f64 {
        self.runtime
            .get(key)
            .and_then(|text| text.split_whitespace().next())
            .and_then(|first| first.parse().ok())
            .unwrap_or(0.0)
    }

    fn in_tps(&self) -> f64 {
        self.first_figure("putTps")
    }

    fn out_tps(&self) -> f64 {
        self.first_figure("getTransferredTps")
    }

    fn space(&self) -> f64 {
        self.first_figure("commitLogDiskRatio")
    }

    fn document(&self) -> Value {
        json!({
            "cluster": self.cluster,
            "brokerName": self.broker_name,
            "brokerId": self.broker_id,
            "addr": self.addr,
            "version": self.version(),
            "inTps": self.in_tps(),
            "outTps": self.out_tps(),
            "commitLogDiskRatio": self.space(),
        })
    }
}

pub async fn broker_status(admin: &Admin, out: &Output, target: &Target) -> anyhow::Result<()> {
    let mut tables = BTreeMap::new();
    for addr in admin.target_addrs(target).await? {
        let table = admin.broker_runtime_info(&addr).await?;
        tables.insert(addr, table);
    }
    let several = tables.len() > 1;
    out.emit(json!(tables), || {
        let mut text = String::new();
        for (addr, table) in &tables {
            for (key, value) in table {
                if several {
                    text.push_str(&format!("{} {}: {value}\n", left(addr, 24), left(key, 32)));
                } else {
                    text.push_str(&format!("{}: {value}\n", left(key, 32)));
                }
            }
        }
        text
    })
}

pub async fn get_broker_config(admin: &Admin, out: &Output, target: &Target) -> anyhow::Result<()> {
    let mut configs = BTreeMap::new();
    for addr in admin.target_addrs(target).await? {
        let config = admin.broker_config(&addr).await?;
        configs.insert(addr, config);
    }
    out.emit(json!(configs), || {
        let mut text = String::new();
        for (addr, config) in &configs {
            text.push_str(&format!("============{addr}============\n"));
            for (key, value) in config {
                text.push_str(&format!("{}=  {value}\n", left(key, 50)));
            }
            text.push('\n');
        }
        text
    })
}

pub async fn update_broker_config(
    admin: &Admin,
    out: &Output,
    target: &Target,
    key: &str,
    value: &str,
) -> anyhow::Result<()> {
    let addrs = admin.target_addrs(target).await?;
    for addr in &addrs {
        admin.update_broker_config(addr, key, value).await?;
    }
    out.emit(json!({ "brokers": addrs, "key": key, "value": value }), || {
        addrs
            .iter()
            .map(|addr| format!("update broker config success, {addr}\n"))
            .collect()
    })
}
