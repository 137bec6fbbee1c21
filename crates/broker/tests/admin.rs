//! Admin requests against a real broker (and a real name server) on 127.0.0.1, driven by our
//! transport client as mqadmin drives a Java broker: topics and groups created, listed, shown
//! in routes and statistics, deleted; the configuration read and guarded; metadata kept across
//! a restart in Java's files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::time::Duration;

use ferrocket_broker::{BrokerConfig, BrokerHandle};
use ferrocket_namesrv::{NamesrvConfig, NamesrvHandle};
use ferrocket_net::{Client, ClientConfig, Router};
use ferrocket_wire::body::{
    ConsumeStats, ConsumerOffsetSerializeWrapper, GroupList, JsonBody, KvTable, SubscriptionGroupConfig,
    SubscriptionGroupWrapper, TopicConfig, TopicConfigSerializeWrapper, TopicList, TopicRouteData, TopicStatsTable,
};
use ferrocket_wire::header::{
    CreateTopicRequestHeader, CustomHeader, DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader,
    GetConsumeStatsRequestHeader, GetRouteInfoRequestHeader, GetSubscriptionGroupConfigRequestHeader,
    GetTopicConfigRequestHeader, GetTopicStatsInfoRequestHeader, QueryTopicConsumeByWhoRequestHeader,
};
use ferrocket_wire::{RemotingCommand, RequestCode, ResponseCode};

const TIMEOUT: Duration = Duration::from_secs(5);

struct Cluster {
    namesrv: NamesrvHandle,
    broker: BrokerHandle,
    client: Client,
}

impl Cluster {
    async fn start(dir: &Path) -> Cluster {
        let namesrv = ferrocket_namesrv::start(
            NamesrvConfig::default(),
            "127.0.0.1:0".parse().unwrap(),
            &dir.join("namesrv"),
            None,
        )
        .await
        .unwrap();
        let broker = start_broker(dir, &namesrv.local_addr().to_string()).await;
        Cluster {
            namesrv,
            broker,
            client: Client::new(Router::new(), ClientConfig::default()),
        }
    }

    fn broker_addr(&self) -> String {
        self.broker.local_addr().to_string()
    }

    async fn ask(&self, request: RemotingCommand) -> RemotingCommand {
        self.client.invoke(&self.broker_addr(), request, TIMEOUT).await.unwrap()
    }

    async fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.into(),
            ..Default::default()
        };
        let request = with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let addr = self.namesrv.local_addr().to_string();
        let response = self.client.invoke(&addr, request, TIMEOUT).await.unwrap();
        (response.code == ResponseCode::SUCCESS.0)
            .then(|| TopicRouteData::decode(response.body.as_deref().unwrap()).unwrap())
    }

    async fn stop(self) {
        self.broker.shutdown().await;
        self.namesrv.shutdown().await;
        self.client.shutdown().await;
    }
}

async fn start_broker(dir: &Path, namesrv_addr: &str) -> BrokerHandle {
    let mut config = BrokerConfig::standalone(dir, "127.0.0.1", 0, namesrv_addr);
    // Small files: the tests write a handful of messages at most.
    config.store.commit_log_segment_bytes = 1 << 20;
    config.store.consume_queue_file_entries = 1000;
    ferrocket_broker::start(
        config,
        ferrocket_broker::Clock::manual(ferrocket_broker::Clock::system().now_ms()),
        None,
    )
    .await
    .unwrap()
}

fn with_header(code: RequestCode, header: &impl CustomHeader) -> RemotingCommand {
    RemotingCommand::request(code).with_ext_fields(header.to_ext_fields())
}

fn create_topic(topic: &str, queues: i32) -> RemotingCommand {
    let header = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        ..Default::default()
    };
    with_header(RequestCode::UPDATE_AND_CREATE_TOPIC, &header)
}

fn remark(response: &RemotingCommand) -> &str {
    response.remark.as_deref().unwrap_or("")
}

#[tokio::test(start_paused = true)]
async fn topics_are_created_registered_shown_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path()).await;

    let created = cluster.ask(create_topic("AdminTopic", 4)).await;
    assert_eq!(created.code, ResponseCode::SUCCESS.0, "{}", remark(&created));
    // Registered before the answer: the name server routes it at once.
    let route = cluster.route("AdminTopic").await.expect("route after updateTopic");
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.broker_datas[0].broker_name, "broker-a");
    // Java registers the cluster- and broker-named topics too.
    assert!(cluster.route("broker-a").await.is_some());
    assert!(cluster.route("DefaultCluster").await.is_some());

    let all = cluster
        .ask(RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG))
        .await;
    let wrapper = TopicConfigSerializeWrapper::decode(all.body.as_deref().unwrap()).unwrap();
    assert_eq!(wrapper.topic_config_table["AdminTopic"].read_queue_nums, 4);
    assert!(wrapper.topic_config_table.contains_key("TBW102"));
    let header = GetTopicConfigRequestHeader {
        topic: "AdminTopic".into(),
        ..Default::default()
    };
    let one = cluster.ask(with_header(RequestCode::GET_TOPIC_CONFIG, &header)).await;
    let one = TopicConfig::decode(one.body.as_deref().unwrap()).unwrap();
    assert_eq!(one, wrapper.topic_config_table["AdminTopic"]);

    let stats_request = |topic: &str| {
        let header = GetTopicStatsInfoRequestHeader {
            topic: topic.into(),
            ..Default::default()
        };
        with_header(RequestCode::GET_TOPIC_STATS_INFO, &header)
    };
    let stats = cluster.ask(stats_request("AdminTopic")).await;
    assert_eq!(stats.code, ResponseCode::SUCCESS.0);
    let table = TopicStatsTable::decode(stats.body.as_deref().unwrap()).unwrap();
    assert_eq!(table.offset_table.len(), 4);
    assert!(table.offset_table.values().all(|queue| queue.max_offset == 0));

    let missing = cluster.ask(stats_request("NoSuchTopic")).await;
    assert_eq!(missing.code, ResponseCode::TOPIC_NOT_EXIST.0);
    assert_eq!(remark(&missing), "topic[NoSuchTopic] not exist");

    let system = cluster.ask(create_topic("SCHEDULE_TOPIC_XXXX", 4)).await;
    assert_eq!(system.code, ResponseCode::INVALID_PARAMETER.0);
    assert_eq!(
        remark(&system),
        "The topic[SCHEDULE_TOPIC_XXXX] is conflict with system topic."
    );
    let illegal = cluster.ask(create_topic("bad.topic", 4)).await;
    assert_eq!(illegal.code, ResponseCode::INVALID_PARAMETER.0);

    let header = DeleteTopicRequestHeader {
        topic: "AdminTopic".into(),
        ..Default::default()
    };
    let deleted = cluster
        .ask(with_header(RequestCode::DELETE_TOPIC_IN_BROKER, &header))
        .await;
    assert_eq!(deleted.code, ResponseCode::SUCCESS.0, "{}", remark(&deleted));
    let gone = cluster.ask(stats_request("AdminTopic")).await;
    assert_eq!(gone.code, ResponseCode::TOPIC_NOT_EXIST.0);

    let header = GetTopicConfigRequestHeader {
        topic: "AdminTopic".into(),
        ..Default::default()
    };
    let topic_config = cluster.ask(with_header(RequestCode::GET_TOPIC_CONFIG, &header)).await;
    assert_eq!(topic_config.code, ResponseCode::TOPIC_NOT_EXIST.0);
    assert_eq!(remark(&topic_config), "No topic in this broker. topic: AdminTopic");

    let system_list = cluster
        .ask(RemotingCommand::request(RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER))
        .await;
    let list = TopicList::decode(system_list.body.as_deref().unwrap()).unwrap();
    assert!(list.topic_list.iter().any(|topic| topic == "broker-a"));
    cluster.stop().await;
}

#[tokio::test(start_paused = true)]
async fn groups_offsets_and_consume_stats() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path()).await;
    assert_eq!(
        cluster.ask(create_topic("StatsTopic", 2)).await.code,
        ResponseCode::SUCCESS.0
    );

    let group = SubscriptionGroupConfig {
        group_name: "admin_group".into(),
        retry_max_times: 3,
        ..Default::default()
    };
    let request = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).with_body(group.encode());
    assert_eq!(cluster.ask(request).await.code, ResponseCode::SUCCESS.0);
    let all = cluster
        .ask(RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG))
        .await;
    let wrapper = SubscriptionGroupWrapper::decode(all.body.as_deref().unwrap()).unwrap();
    assert_eq!(wrapper.subscription_group_table["admin_group"].retry_max_times, 3);
    assert!(wrapper.subscription_group_table.contains_key("TOOLS_CONSUMER"));
    let header = GetSubscriptionGroupConfigRequestHeader {
        group: "admin_group".into(),
        ..Default::default()
    };
    let one = cluster
        .ask(with_header(RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG, &header))
        .await;
    assert_eq!(
        SubscriptionGroupConfig::decode(one.body.as_deref().unwrap())
            .unwrap()
            .retry_max_times,
        3
    );

    // An offset committed through the table shows in the admin views.
    {
        let broker = cluster.broker.broker();
        let now_ms = broker.now_ms();
        broker.offsets.lock().commit("admin_group", "StatsTopic", 1, 0, now_ms);
    }
    let offsets = cluster
        .ask(RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET))
        .await;
    let offsets = ConsumerOffsetSerializeWrapper::decode(offsets.body.as_deref().unwrap()).unwrap();
    assert_eq!(offsets.offset_table["StatsTopic@admin_group"][&1], 0);

    let header = GetConsumeStatsRequestHeader {
        consumer_group: "admin_group".into(),
        ..Default::default()
    };
    let stats = cluster.ask(with_header(RequestCode::GET_CONSUME_STATS, &header)).await;
    assert_eq!(stats.code, ResponseCode::SUCCESS.0, "{}", remark(&stats));
    let stats = ConsumeStats::decode(stats.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        stats.offset_table.len(),
        2,
        "both read queues of the one topic with offsets"
    );

    let header = QueryTopicConsumeByWhoRequestHeader {
        topic: "StatsTopic".into(),
        ..Default::default()
    };
    let who = cluster
        .ask(with_header(RequestCode::QUERY_TOPIC_CONSUME_BY_WHO, &header))
        .await;
    assert_eq!(
        GroupList::decode(who.body.as_deref().unwrap()).unwrap().group_list,
        ["admin_group"]
    );

    let header = DeleteSubscriptionGroupRequestHeader {
        group_name: "admin_group".into(),
        clean_offset: true,
        ..Default::default()
    };
    assert_eq!(
        cluster
            .ask(with_header(RequestCode::DELETE_SUBSCRIPTIONGROUP, &header))
            .await
            .code,
        ResponseCode::SUCCESS.0
    );
    let offsets = cluster
        .ask(RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET))
        .await;
    let offsets = ConsumerOffsetSerializeWrapper::decode(offsets.body.as_deref().unwrap()).unwrap();
    assert!(offsets.offset_table.is_empty());
    cluster.stop().await;
}

#[tokio::test(start_paused = true)]
async fn runtime_info_and_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path()).await;

    let info = cluster
        .ask(RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO))
        .await;
    let table = KvTable::decode(info.body.as_deref().unwrap()).unwrap().table;
    for key in ferrocket_broker::handlers::admin::RUNTIME_INFO_KEYS {
        assert!(table.contains_key(*key), "{key} missing");
    }
    // What mqadmin clusterList parses with Long.parseLong / Double.parseDouble.
    for key in [
        "msgPutTotalTodayNow",
        "msgGetTotalTodayMorning",
        "timerReadBehind",
        "earliestMessageTimeStamp",
    ] {
        table[key]
            .parse::<i64>()
            .unwrap_or_else(|_| panic!("{key}={}", table[key]));
    }
    for key in ["commitLogDiskRatio", "timerEnqueueTps"] {
        table[key].parse::<f64>().unwrap();
    }
    table["putTps"].split(' ').next().unwrap().parse::<f64>().unwrap();
    assert_eq!(table["brokerVersionDesc"], "V5_3_3");

    let config = cluster
        .ask(RemotingCommand::request(RequestCode::GET_BROKER_CONFIG))
        .await;
    let text = String::from_utf8(config.body.as_deref().unwrap().to_vec()).unwrap();
    assert!(text.contains("brokerName=broker-a\n") && text.contains("brokerClusterName=DefaultCluster\n"));
    assert!(config.ext("version").unwrap().contains("\"counter\":0"));

    let update = |body: &str| RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG).with_body(body.to_owned());
    let denied = cluster.ask(update("storePathRootDir=/tmp/elsewhere\n")).await;
    assert_eq!(denied.code, ResponseCode::NO_PERMISSION.0);
    assert_eq!(remark(&denied), "Can not update config in black list.");
    let accepted = cluster.ask(update("autoCreateTopicEnable=false\n")).await;
    assert_eq!(accepted.code, ResponseCode::SUCCESS.0, "{}", remark(&accepted));
    assert!(!cluster.broker.broker().config().auto_create_topic_enable);
    let config = cluster
        .ask(RemotingCommand::request(RequestCode::GET_BROKER_CONFIG))
        .await;
    assert!(config.ext("version").unwrap().contains("\"counter\":1"));
    cluster.stop().await;
}

#[tokio::test(start_paused = true)]
async fn metadata_survives_a_restart_in_javas_files() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path()).await;
    assert_eq!(
        cluster.ask(create_topic("KeptTopic", 3)).await.code,
        ResponseCode::SUCCESS.0
    );
    {
        let broker = cluster.broker.broker();
        let now_ms = broker.now_ms();
        broker.offsets.lock().commit("kept_group", "KeptTopic", 2, 17, now_ms);
    }
    let namesrv_addr = cluster.namesrv.local_addr().to_string();
    cluster.broker.shutdown().await;
    let config_dir = dir.path().join("store").join("config");
    for file in [
        "topics.json",
        "subscriptionGroup.json",
        "consumerOffset.json",
        "delayOffset.json",
    ] {
        assert!(config_dir.join(file).exists(), "{file} not written");
    }

    let broker = start_broker(dir.path(), &namesrv_addr).await;
    let addr = broker.local_addr().to_string();
    let client = &cluster.client;
    let all = client
        .invoke(
            &addr,
            RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG),
            TIMEOUT,
        )
        .await
        .unwrap();
    let wrapper = TopicConfigSerializeWrapper::decode(all.body.as_deref().unwrap()).unwrap();
    assert_eq!(wrapper.topic_config_table["KeptTopic"].write_queue_nums, 3);
    assert_eq!(
        broker.broker().offsets.lock().query("kept_group", "KeptTopic", 2),
        Some(17)
    );
    broker.shutdown().await;
    cluster.namesrv.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn topics_created_by_sends_and_compressed_registrations_reach_the_name_server() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path()).await;
    // What a send to an unknown topic does; the registration task notices the new version.
    {
        let broker = cluster.broker.broker();
        let now_ms = broker.now_ms();
        let created = broker
            .topics
            .lock()
            .create_on_send("SentTopic", "TBW102", 4, 0, "test", now_ms);
        assert!(created.unwrap().is_some());
    }
    // The task wakes every 200 ms; allow it generous time on a loaded machine.
    let mut route = None;
    for _ in 0..60 {
        route = cluster.route("SentTopic").await;
        if route.is_some() {
            break;
        }
        tokio::time::advance(Duration::from_millis(50)).await;
    }
    assert_eq!(
        route.expect("registered by the watch").queue_datas[0].read_queue_nums,
        4
    );

    let update = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG).with_body("compressedRegister=true\n");
    assert_eq!(cluster.ask(update).await.code, ResponseCode::SUCCESS.0);
    assert_eq!(
        cluster.ask(create_topic("ZippedTopic", 2)).await.code,
        ResponseCode::SUCCESS.0
    );
    let route = cluster
        .route("ZippedTopic")
        .await
        .expect("route through a compressed registration");
    assert_eq!(route.queue_datas[0].write_queue_nums, 2);
    cluster.stop().await;
}
