//! `ferrocket admin`: the mqadmin subcommands operators use most, with mqadmin's names and flags
//! (`-n`, `-t`, `-g`, `-b`, `-c` ...) so muscle memory works, built on the Rust SDK
//! (`ferrocket-client`), against our servers or Java's.
//!
//! Unlike mqadmin, every failure exits non-zero with a message naming what was wrong, and
//! `--json` prints one JSON document for scripts instead of the tables.

mod brokers;
mod groups;
mod messages;
mod offsets;
mod output;
mod topics;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use ferrocket_client::admin::Target;
use ferrocket_client::{Admin, ClientOptions};

pub use output::Output;

/// Options every subcommand takes.
#[derive(Args, Debug)]
pub struct AdminArgs {
    /// Name server addresses, `host:port[;host:port]` (mqadmin's `-n`); `NAMESRV_ADDR` when absent.
    #[arg(short = 'n', long = "namesrvAddr", global = true)]
    namesrv: Option<String>,
    /// Print one JSON document instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

/// mqadmin's `-b` / `-c` pair: one broker, or every master of a cluster.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct TargetArgs {
    /// A broker address, `host:port`.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// A cluster name: every master of it.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

impl TargetArgs {
    fn target(&self) -> Target {
        match (&self.broker, &self.cluster) {
            (Some(addr), _) => Target::Broker(addr.trim().to_owned()),
            (None, Some(name)) => Target::Cluster(name.trim().to_owned()),
            // clap's group makes one of the two required.
            (None, None) => Target::Cluster(String::new()),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Brokers of every cluster with version, TPS and disk use.
    #[command(name = "clusterList")]
    ClusterList {
        /// Only this cluster.
        #[arg(short = 'c', long = "clusterName")]
        cluster: Option<String>,
    },
    /// Every topic the name servers know.
    #[command(name = "topicList")]
    TopicList,
    /// A topic's route: brokers, addresses and queues.
    #[command(name = "topicRoute")]
    TopicRoute {
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// A topic's min and max offset on every queue.
    #[command(name = "topicStatus")]
    TopicStatus {
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// Creates or updates a topic.
    #[command(name = "updateTopic")]
    UpdateTopic(topics::UpdateTopicArgs),
    /// Deletes a topic from every master of a cluster and from the name servers.
    #[command(name = "deleteTopic")]
    DeleteTopic {
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// The cluster.
        #[arg(short = 'c', long = "clusterName")]
        cluster: String,
    },
    /// Creates or updates a subscription group.
    #[command(name = "updateSubGroup")]
    UpdateSubGroup(groups::UpdateSubGroupArgs),
    /// Deletes a subscription group.
    #[command(name = "deleteSubGroup")]
    DeleteSubGroup {
        /// The consumer group.
        #[arg(short = 'g', long = "groupName")]
        group: String,
        #[command(flatten)]
        target: TargetArgs,
        /// Also remove the group's offsets (`true|false`).
        #[arg(short = 'r', long = "removeOffset", value_parser = parse_bool, default_value = "false")]
        remove_offset: bool,
    },
    /// A group's offsets and lag on every queue of its topics.
    #[command(name = "consumerProgress")]
    ConsumerProgress {
        /// The consumer group.
        #[arg(short = 'g', long = "groupName")]
        group: String,
        /// Only this topic (default: every topic the group subscribes to, and its retry topic).
        #[arg(short = 't', long = "topicName")]
        topic: Option<String>,
    },
    /// A group's clients and subscriptions.
    #[command(name = "consumerConnection")]
    ConsumerConnection {
        /// The consumer group.
        #[arg(short = 'g', long = "consumerGroup")]
        group: String,
    },
    /// A producer group's clients connected to a topic's broker.
    #[command(name = "producerConnection")]
    ProducerConnection {
        /// The producer group.
        #[arg(short = 'g', long = "producerGroup")]
        group: String,
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// Moves a group's offsets on a topic to a point in time.
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime {
        /// The consumer group.
        #[arg(short = 'g', long = "group")]
        group: String,
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// `now`, milliseconds since the epoch, or `yyyy-MM-dd#HH:mm:ss:SSS` (UTC).
        #[arg(short = 's', long = "timestamp")]
        timestamp: String,
        /// Also move offsets forward (`true|false`).
        #[arg(short = 'f', long = "force", value_parser = parse_bool, default_value = "true")]
        force: bool,
    },
    /// A broker's runtime figures.
    #[command(name = "brokerStatus")]
    BrokerStatus {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// A broker's effective configuration.
    #[command(name = "getBrokerConfig")]
    GetBrokerConfig {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Changes one broker setting at run time.
    #[command(name = "updateBrokerConfig")]
    UpdateBrokerConfig {
        #[command(flatten)]
        target: TargetArgs,
        /// The setting's name.
        #[arg(short = 'k', long = "key")]
        key: String,
        /// The setting's new value.
        #[arg(short = 'v', long = "value")]
        value: String,
    },
    /// Sends one message and prints where it went.
    #[command(name = "sendMessage")]
    SendMessage(messages::SendMessageArgs),
    /// Finds a topic's messages by key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey {
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// The message key.
        #[arg(short = 'k', long = "msgKey")]
        key: String,
        /// At most this many from each broker.
        #[arg(short = 'm', long = "maxNum", default_value_t = ferrocket_client::admin::QUERY_BY_KEY_DEFAULT)]
        max_num: i32,
    },
    /// Prints a topic's stored messages from the oldest, committing nothing.
    #[command(name = "consumeMessage")]
    ConsumeMessage(messages::ConsumeMessageArgs),
    /// Send round-trip time to every broker.
    #[command(name = "clusterRT")]
    ClusterRt(messages::ClusterRtArgs),
    /// Shows messages by id (client-made or offset id; several comma separated).
    #[command(name = "queryMsgById")]
    QueryMsgById {
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Message ids, client-made or offset ids, comma separated.
        #[arg(short = 'i', long = "msgId")]
        msg_id: String,
    },
    /// Shows the message at an offset of one queue.
    #[command(name = "queryMsgByOffset")]
    QueryMsgByOffset {
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// The broker's name.
        #[arg(short = 'b', long = "brokerName")]
        broker_name: String,
        /// The queue id.
        #[arg(short = 'i', long = "queueId")]
        queue_id: i32,
        /// The queue offset.
        #[arg(short = 'o', long = "offset")]
        offset: i64,
    },
}

/// `true` or `false`, as mqadmin's flags take them; anything else is an error (Java reads it as false).
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

/// Runs one subcommand; any failure is an error (non-zero exit), unlike mqadmin.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let namesrv = match args.namesrv.or_else(|| std::env::var("NAMESRV_ADDR").ok()) {
        Some(addrs) if !addrs.trim().is_empty() => addrs,
        _ => bail!("no name server: give -n host:port (or set NAMESRV_ADDR)"),
    };
    let admin = Admin::start(ClientOptions::new(namesrv.trim())).context("starting the admin client")?;
    let out = Output::new(args.json);
    let result = dispatch(&admin, &out, args.command).await;
    admin.shutdown().await;
    result
}

async fn dispatch(admin: &Admin, out: &Output, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::ClusterList { cluster } => brokers::cluster_list(admin, out, cluster.as_deref()).await,
        AdminCommand::TopicList => topics::topic_list(admin, out).await,
        AdminCommand::TopicRoute { topic } => topics::topic_route(admin, out, topic.trim()).await,
        AdminCommand::TopicStatus { topic } => topics::topic_status(admin, out, topic.trim()).await,
        AdminCommand::UpdateTopic(update) => topics::update_topic(admin, out, update).await,
        AdminCommand::DeleteTopic { topic, cluster } => {
            topics::delete_topic(admin, out, topic.trim(), cluster.trim()).await
        }
        AdminCommand::UpdateSubGroup(update) => groups::update_sub_group(admin, out, update).await,
        AdminCommand::DeleteSubGroup {
            group,
            target,
            remove_offset,
        } => groups::delete_sub_group(admin, out, group.trim(), &target.target(), remove_offset).await,
        AdminCommand::ConsumerProgress { group, topic } => {
            groups::consumer_progress(admin, out, group.trim(), topic.as_deref().map(str::trim)).await
        }
        AdminCommand::ConsumerConnection { group } => groups::consumer_connection(admin, out, group.trim()).await,
        AdminCommand::ProducerConnection { group, topic } => {
            groups::producer_connection(admin, out, group.trim(), topic.trim()).await
        }
        AdminCommand::ResetOffsetByTime {
            group,
            topic,
            timestamp,
            force,
        } => offsets::reset_offset_by_time(admin, out, group.trim(), topic.trim(), timestamp.trim(), force).await,
        AdminCommand::BrokerStatus { target } => brokers::broker_status(admin, out, &target.target()).await,
        AdminCommand::GetBrokerConfig { target } => brokers::get_broker_config(admin, out, &target.target()).await,
        AdminCommand::UpdateBrokerConfig { target, key, value } => {
            brokers::update_broker_config(admin, out, &target.target(), key.trim(), value.trim()).await
        }
        AdminCommand::SendMessage(send) => messages::send_message(admin, out, send).await,
        AdminCommand::QueryMsgByKey { topic, key, max_num } => {
            messages::query_by_key(admin, out, topic.trim(), key.trim(), max_num).await
        }
        AdminCommand::ConsumeMessage(consume) => messages::consume_message(admin, out, consume).await,
        AdminCommand::ClusterRt(rt) => messages::cluster_rt(admin, out, rt).await,
        AdminCommand::QueryMsgById { topic, msg_id } => messages::query_by_id(admin, out, topic.trim(), &msg_id).await,
        AdminCommand::QueryMsgByOffset {
            topic,
            broker_name,
            queue_id,
            offset,
        } => messages::query_by_offset(admin, out, topic.trim(), broker_name.trim(), queue_id, offset).await,
    }
}
