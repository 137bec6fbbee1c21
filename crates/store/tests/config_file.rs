//! The `<root>/config/*.json` files as a Java 5.3.3 broker leaves them, read through
//! `load_config_file` and the wire crate's decoders, and the crash behaviour of `persist_config_file`.
//!
//! The samples are written byte for byte as fastjson 1.2.83 `JSON.toJSONString(manager, true)`
//! (`ConfigManager.persist` → `encode(prettyFormat=true)`) lays them out: beans and string-keyed
//! maps one property per line, tab-indented; integer-keyed maps inline and unquoted with only the
//! closing brace on its own line (`MapSerializer` prints a newline before string keys only); sets
//! inline; empty maps `{}`; no trailing newline. The data is that of the wire golden bodies in
//! `crates/wire/tests/golden/bodies/` (real Java output, compact form). Each sample was compared
//! byte for byte with what the real classes print (rocketmq-broker 5.3.3 `TopicConfigManager`,
//! `ConsumerOffsetManager`, `SubscriptionGroupManager`, `DelayOffsetSerializeWrapper` with
//! fastjson 1.2.83, `encode(true)`/`toJson(true)`), hash-map order included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::Path;

use ferrocket_store::StoreError;
use ferrocket_store::{
    BACKUP_SUFFIX, CORRUPT_SUFFIX, TEMPORARY_SUFFIX, load_config_file, persist_config_file, with_suffix,
};
use ferrocket_wire::body::{
    ConsumerOffsetSerializeWrapper, DataVersion, DelayOffsetSerializeWrapper, JsonBody, SubscriptionGroupWrapper,
    TopicConfigSerializeWrapper, TopicFilterType,
};

/// `TopicConfigManager.encode(true)`: a `TopicConfigSerializeWrapper`.
const TOPICS_JSON: &str = "{\n\t\"dataVersion\":{\n\t\t\"counter\":12,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"topicConfigTable\":{\n\t\t\"TopicTest\":{\n\t\t\t\"attributes\":{\n\t\t\t\t\"+message.type\":\"NORMAL\"\n\t\t\t},\n\t\t\t\"order\":false,\n\t\t\t\"perm\":6,\n\t\t\t\"readQueueNums\":4,\n\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n\t\t\t\"topicName\":\"TopicTest\",\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":4\n\t\t},\n\t\t\"%RETRY%cg_demo\":{\n\t\t\t\"attributes\":{},\n\t\t\t\"order\":false,\n\t\t\t\"perm\":6,\n\t\t\t\"readQueueNums\":1,\n\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n\t\t\t\"topicName\":\"%RETRY%cg_demo\",\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":1\n\t\t},\n\t\t\"TBW102\":{\n\t\t\t\"attributes\":{},\n\t\t\t\"order\":false,\n\t\t\t\"perm\":7,\n\t\t\t\"readQueueNums\":8,\n\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n\t\t\t\"topicName\":\"TBW102\",\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":8\n\t\t}\n\t}\n}";

/// `ConsumerOffsetManager.encode(true)`: the manager itself, so `groupTopicMap` (a derived
/// getter) is written too; keys `topic@group`, queue ids unquoted.
const CONSUMER_OFFSET_JSON: &str = "{\n\t\"dataVersion\":{\n\t\t\"counter\":5,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"groupTopicMap\":{\n\t\t\"cg_demo\":[\"%RETRY%cg_demo\",\"TopicTest\"]\n\t},\n\t\"offsetTable\":{\n\t\t\"TopicTest@cg_demo\":{0:42,1:40,2:41,3:39\n\t\t},\n\t\t\"%RETRY%cg_demo@cg_demo\":{0:0\n\t\t}\n\t}\n}";

/// `ScheduleMessageService.encode(true)`: a `DelayOffsetSerializeWrapper`, delay levels unquoted.
const DELAY_OFFSET_JSON: &str = "{\n\t\"dataVersion\":{\n\t\t\"counter\":3,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"offsetTable\":{1:0,2:17,3:4\n\t}\n}";

/// `SubscriptionGroupManager.encode(true)`: the manager itself.
const SUBSCRIPTION_GROUP_JSON: &str = "{\n\t\"dataVersion\":{\n\t\t\"counter\":2,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"forbiddenTable\":{},\n\t\"subscriptionGroupTable\":{\n\t\t\"cg_demo\":{\n\t\t\t\"attributes\":{},\n\t\t\t\"brokerId\":0,\n\t\t\t\"consumeBroadcastEnable\":true,\n\t\t\t\"consumeEnable\":true,\n\t\t\t\"consumeFromMinEnable\":true,\n\t\t\t\"consumeMessageOrderly\":false,\n\t\t\t\"consumeTimeoutMinute\":15,\n\t\t\t\"groupName\":\"cg_demo\",\n\t\t\t\"groupRetryPolicy\":{\n\t\t\t\t\"type\":\"CUSTOMIZED\"\n\t\t\t},\n\t\t\t\"groupSysFlag\":0,\n\t\t\t\"notifyConsumerIdsChangedEnable\":true,\n\t\t\t\"retryMaxTimes\":16,\n\t\t\t\"retryQueueNums\":1,\n\t\t\t\"whichBrokerWhenConsumeSlowly\":1\n\t\t},\n\t\t\"cg_orderly\":{\n\t\t\t\"attributes\":{},\n\t\t\t\"brokerId\":0,\n\t\t\t\"consumeBroadcastEnable\":true,\n\t\t\t\"consumeEnable\":true,\n\t\t\t\"consumeFromMinEnable\":true,\n\t\t\t\"consumeMessageOrderly\":true,\n\t\t\t\"consumeTimeoutMinute\":15,\n\t\t\t\"groupName\":\"cg_orderly\",\n\t\t\t\"groupRetryPolicy\":{\n\t\t\t\t\"type\":\"CUSTOMIZED\"\n\t\t\t},\n\t\t\t\"groupSysFlag\":0,\n\t\t\t\"notifyConsumerIdsChangedEnable\":true,\n\t\t\t\"retryMaxTimes\":16,\n\t\t\t\"retryQueueNums\":1,\n\t\t\t\"whichBrokerWhenConsumeSlowly\":1\n\t\t}\n\t}\n}";

fn version(counter: i64) -> DataVersion {
    DataVersion {
        counter,
        state_version: 0,
        timestamp: 1_700_000_000_000,
    }
}

fn decodes<T: JsonBody>(text: &str) -> bool {
    T::decode(text.as_bytes()).is_ok()
}

/// Writes `text` as Java would at `config/<name>`, loads it back and decodes it.
fn load_java_file<T: JsonBody>(name: &str, text: &str) -> T {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("config").join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    let loaded = load_config_file(&path, decodes::<T>).unwrap().expect("file present");
    assert_eq!(loaded, text);
    T::decode(loaded.as_bytes()).unwrap()
}

/// Every proper prefix of a Java file is refused by its decoder, and `load` then takes the
/// `.bak` (here the full text), never panicking.
fn every_cut_falls_back<T: JsonBody>(name: &str, text: &str) {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join(name);
    for cut in 0..text.len() {
        let Some(prefix) = text.get(..cut) else { continue };
        assert!(
            T::decode(prefix.as_bytes()).is_err(),
            "{name}: prefix of {cut} bytes decoded"
        );
        fs::write(&path, prefix).unwrap();
        fs::write(with_suffix(&path, BACKUP_SUFFIX), text).unwrap();
        assert_eq!(
            load_config_file(&path, decodes::<T>).unwrap().as_deref(),
            Some(text),
            "{name} cut at {cut}"
        );
    }
}

#[test]
fn java_topics_json_loads() {
    let wrapper: TopicConfigSerializeWrapper = load_java_file("topics.json", TOPICS_JSON);
    assert_eq!(wrapper.data_version, version(12));
    assert_eq!(wrapper.topic_config_table.len(), 3);
    let topic = &wrapper.topic_config_table["TopicTest"];
    assert_eq!(topic.topic_name, "TopicTest");
    assert_eq!((topic.read_queue_nums, topic.write_queue_nums, topic.perm), (4, 4, 6));
    assert_eq!(topic.topic_filter_type, TopicFilterType::SingleTag);
    assert_eq!(
        topic.attributes.get("+message.type").map(String::as_str),
        Some("NORMAL")
    );
    assert_eq!(wrapper.topic_config_table["TBW102"].perm, 7);
    every_cut_falls_back::<TopicConfigSerializeWrapper>("topics.json", TOPICS_JSON);
}

#[test]
fn java_consumer_offset_json_with_unquoted_queue_ids_loads() {
    let wrapper: ConsumerOffsetSerializeWrapper = load_java_file("consumerOffset.json", CONSUMER_OFFSET_JSON);
    assert_eq!(wrapper.data_version, Some(version(5)));
    let offsets = &wrapper.offset_table["TopicTest@cg_demo"];
    assert_eq!(
        offsets.iter().map(|(&q, &o)| (q, o)).collect::<Vec<_>>(),
        [(0, 42), (1, 40), (2, 41), (3, 39)]
    );
    assert_eq!(wrapper.offset_table["%RETRY%cg_demo@cg_demo"][&0], 0);
    every_cut_falls_back::<ConsumerOffsetSerializeWrapper>("consumerOffset.json", CONSUMER_OFFSET_JSON);
}

#[test]
fn java_delay_offset_json_with_unquoted_levels_loads() {
    let wrapper: DelayOffsetSerializeWrapper = load_java_file("delayOffset.json", DELAY_OFFSET_JSON);
    assert_eq!(wrapper.data_version, Some(version(3)));
    assert_eq!(
        wrapper.offset_table.into_iter().collect::<Vec<_>>(),
        [(1, 0), (2, 17), (3, 4)]
    );
    every_cut_falls_back::<DelayOffsetSerializeWrapper>("delayOffset.json", DELAY_OFFSET_JSON);
}

#[test]
fn java_subscription_group_json_loads() {
    let wrapper: SubscriptionGroupWrapper = load_java_file("subscriptionGroup.json", SUBSCRIPTION_GROUP_JSON);
    assert_eq!(wrapper.data_version, version(2));
    assert!(wrapper.forbidden_table.is_empty());
    let orderly = &wrapper.subscription_group_table["cg_orderly"];
    assert_eq!(orderly.group_name, "cg_orderly");
    assert!(orderly.consume_message_orderly);
    assert_eq!((orderly.retry_max_times, orderly.retry_queue_nums), (16, 1));
    assert!(!wrapper.subscription_group_table["cg_demo"].consume_message_orderly);
    every_cut_falls_back::<SubscriptionGroupWrapper>("subscriptionGroup.json", SUBSCRIPTION_GROUP_JSON);
}

#[test]
fn what_we_persist_is_read_back_by_the_same_decoders() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("config").join("delayOffset.json");
    let mut wrapper = DelayOffsetSerializeWrapper::decode(DELAY_OFFSET_JSON.as_bytes()).unwrap();
    persist_config_file(&path, String::from_utf8(wrapper.encode()).unwrap()).unwrap();
    wrapper.offset_table.insert(4, 99);
    persist_config_file(&path, String::from_utf8(wrapper.encode()).unwrap()).unwrap();
    let loaded = load_config_file(&path, decodes::<DelayOffsetSerializeWrapper>)
        .unwrap()
        .unwrap();
    assert_eq!(DelayOffsetSerializeWrapper::decode(loaded.as_bytes()).unwrap(), wrapper);
    let backup = fs::read(with_suffix(&path, BACKUP_SUFFIX)).unwrap();
    assert_eq!(
        DelayOffsetSerializeWrapper::decode(&backup)
            .unwrap()
            .offset_table
            .get(&4),
        None,
        "the backup holds the previous content"
    );
}

/// A crash between writing `.tmp` and the rename leaves the old file in place; a Java 5.3.3
/// broker killed during its in-place overwrite leaves it truncated. Either way the loaded table
/// is a complete one, and the next persist keeps the good backup.
#[test]
fn a_crash_leaves_a_stale_tmp_or_a_truncated_file_and_load_recovers() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("config").join("topics.json");
    let mut wrapper = TopicConfigSerializeWrapper::decode(TOPICS_JSON.as_bytes()).unwrap();
    let first = String::from_utf8(wrapper.encode()).unwrap();
    persist_config_file(&path, &first).unwrap();
    wrapper.data_version.counter += 1;
    let second = String::from_utf8(wrapper.encode()).unwrap();
    persist_config_file(&path, &second).unwrap();

    // Killed after writing the new `.tmp` (half of it): the file is still the second version.
    let third_half = &second[..second.len() / 2];
    fs::write(with_suffix(&path, TEMPORARY_SUFFIX), third_half).unwrap();
    assert_eq!(
        load_config_file(&path, decodes::<TopicConfigSerializeWrapper>)
            .unwrap()
            .as_deref(),
        Some(second.as_str())
    );

    // The file truncated (Java's in-place overwrite): the backup, the first version, is used and
    // the truncated file set aside.
    fs::write(&path, &second[..100]).unwrap();
    assert_eq!(
        load_config_file(&path, decodes::<TopicConfigSerializeWrapper>)
            .unwrap()
            .as_deref(),
        Some(first.as_str())
    );
    assert!(!path.exists());
    assert_eq!(
        fs::read_to_string(with_suffix(&path, CORRUPT_SUFFIX)).unwrap(),
        &second[..100]
    );

    // The next persist replaces the stale `.tmp` and leaves the good backup alone.
    persist_config_file(&path, &second).unwrap();
    assert!(!with_suffix(&path, TEMPORARY_SUFFIX).exists());
    assert_eq!(fs::read_to_string(&path).unwrap(), second);
    assert_eq!(fs::read_to_string(with_suffix(&path, BACKUP_SUFFIX)).unwrap(), first);

    // An empty file (killed right after Java's truncate-on-open) also falls back.
    fs::write(&path, "").unwrap();
    assert_eq!(
        load_config_file(&path, decodes::<TopicConfigSerializeWrapper>)
            .unwrap()
            .as_deref(),
        Some(first.as_str())
    );
}

#[test]
fn both_copies_unreadable_is_an_error_and_none_at_all_is_empty() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("subscriptionGroup.json");
    assert_eq!(
        load_config_file(&path, decodes::<SubscriptionGroupWrapper>).unwrap(),
        None
    );
    fs::write(&path, &SUBSCRIPTION_GROUP_JSON[..50]).unwrap();
    assert_eq!(
        load_config_file(&path, decodes::<SubscriptionGroupWrapper>).unwrap(),
        None,
        "no backup: start empty"
    );
    fs::write(with_suffix(&path, BACKUP_SUFFIX), &SUBSCRIPTION_GROUP_JSON[..60]).unwrap();
    assert!(matches!(
        load_config_file(&path, decodes::<SubscriptionGroupWrapper>),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(path.exists(), "nothing is moved aside when no copy is good");
    assert!(!Path::new(&with_suffix(&path, CORRUPT_SUFFIX)).exists());
}
