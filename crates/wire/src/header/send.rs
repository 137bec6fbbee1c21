//! Send headers (remoting.md §4.2.1): SEND_MESSAGE (10) with long keys, SEND_MESSAGE_V2 (310) and
//! SEND_BATCH_MESSAGE (320) with the single-letter keys `a`..`n`, and the shared response.
//!
//! The two request forms carry the same facts; the broker works on the V1 form and converts V2
//! as Java's `createSendMessageRequestHeaderV1` does (`n` becomes `bname`). V2 has no 5.x
//! standard keys: its Java class inherits them, but its fast decoder never reads them.

use crate::codes::RequestCode;
use crate::command::RemotingCommand;
use crate::error::WireResult;
use crate::header::{CustomHeader, TopicRpcFields};

custom_header! {
    /// SEND_MESSAGE (10): `SendMessageRequestHeader`, also the broker's working form of V2.
    pub struct SendMessageRequestHeader {
        "producerGroup" => producer_group: String,
        "topic" => topic: String,
        /// Template for auto-creation, normally `TBW102`.
        "defaultTopic" => default_topic: String,
        /// Queue count for auto-creation.
        "defaultTopicQueueNums" => default_topic_queue_nums: i32,
        /// Below 0 lets the broker pick a writable queue.
        "queueId" => queue_id: i32,
        /// `MessageSysFlag` bits.
        "sysFlag" => sys_flag: i32,
        "bornTimestamp" => born_timestamp: i64,
        /// The user's `Message.flag`, stored as is.
        "flag" => flag: i32,
        /// The properties string (remoting.md §5.1).
        "properties" => properties: Option<String>,
        "reconsumeTimes" => reconsume_times: Option<i32>,
        "unitMode" => unit_mode: Option<bool>,
        /// The broker decides "batch or not" from this flag, not from the request code.
        "batch" => batch: Option<bool>,
        "maxReconsumeTimes" => max_reconsume_times: Option<i32>,
    }
    base rpc: TopicRpcFields;
}

custom_header! {
    /// SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320): `SendMessageRequestHeaderV2`.
    pub struct SendMessageRequestHeaderV2 {
        "a" => producer_group: String,
        "b" => topic: String,
        "c" => default_topic: String,
        "d" => default_topic_queue_nums: i32,
        "e" => queue_id: i32,
        "f" => sys_flag: i32,
        "g" => born_timestamp: i64,
        "h" => flag: i32,
        "i" => properties: Option<String>,
        "j" => reconsume_times: Option<i32>,
        "k" => unit_mode: Option<bool>,
        "l" => max_reconsume_times: Option<i32>,
        "m" => batch: Option<bool>,
        /// The target broker name (`bname` in V1).
        "n" => broker_name: Option<String>,
    }
}

impl SendMessageRequestHeader {
    /// Reads the header of any send request the way Java's `parseRequestHeader` does: the V2
    /// keys for SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE, the long keys otherwise.
    pub fn from_send_command(command: &RemotingCommand) -> WireResult<SendMessageRequestHeader> {
        match command.request_code() {
            RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE => {
                SendMessageRequestHeaderV2::from_command(command).map(SendMessageRequestHeader::from)
            }
            _ => SendMessageRequestHeader::from_command(command),
        }
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: v2.producer_group,
            topic: v2.topic,
            default_topic: v2.default_topic,
            default_topic_queue_nums: v2.default_topic_queue_nums,
            queue_id: v2.queue_id,
            sys_flag: v2.sys_flag,
            born_timestamp: v2.born_timestamp,
            flag: v2.flag,
            properties: v2.properties,
            reconsume_times: v2.reconsume_times,
            unit_mode: v2.unit_mode,
            batch: v2.batch,
            max_reconsume_times: v2.max_reconsume_times,
            rpc: TopicRpcFields {
                broker_name: v2.broker_name,
                ..TopicRpcFields::default()
            },
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    /// As Java's `createSendMessageRequestHeaderV2`: `unitMode` and `batch` go through Java's
    /// `isUnitMode()`/`isBatch()`, so null becomes an explicit `false`; other 5.x keys are dropped.
    fn from(v1: SendMessageRequestHeader) -> SendMessageRequestHeaderV2 {
        SendMessageRequestHeaderV2 {
            producer_group: v1.producer_group,
            topic: v1.topic,
            default_topic: v1.default_topic,
            default_topic_queue_nums: v1.default_topic_queue_nums,
            queue_id: v1.queue_id,
            sys_flag: v1.sys_flag,
            born_timestamp: v1.born_timestamp,
            flag: v1.flag,
            properties: v1.properties,
            reconsume_times: v1.reconsume_times,
            unit_mode: Some(v1.unit_mode.unwrap_or(false)),
            max_reconsume_times: v1.max_reconsume_times,
            batch: Some(v1.batch.unwrap_or(false)),
            broker_name: v1.rpc.broker_name,
        }
    }
}

custom_header! {
    /// Response to every send code: `SendMessageResponseHeader`, plus the two keys the broker
    /// adds outside the Java class and the Java client reads straight from `extFields`.
    pub struct SendMessageResponseHeader {
        /// The offset message id (remoting.md §5.7); comma-joined for batches.
        "msgId" => msg_id: String,
        "queueId" => queue_id: i32,
        "queueOffset" => queue_offset: i64,
        /// The message's UNIQ_KEY.
        "transactionId" => transaction_id: Option<String>,
        "batchUniqId" => batch_uniq_id: Option<String>,
        /// 5.3.2+, timer messages only.
        "recallHandle" => recall_handle: Option<String>,
        /// Broker `regionId`; a SUCCESS response must carry it (the client reads extFields).
        "MSG_REGION" => region_id: Option<String>,
        /// Broker `traceOn`; the client treats anything but "false" as on.
        "TRACE_ON" => trace_on: Option<bool>,
    }
}

custom_header! {
    /// RECALL_MESSAGE (370, 5.3.2+): `RecallMessageRequestHeader`, taking back a timer message
    /// before its time by the `recallHandle` its send returned.
    pub struct RecallMessageRequestHeader {
        "producerGroup" => producer_group: Option<String>,
        "topic" => topic: String,
        "recallHandle" => recall_handle: String,
    }
    base rpc: crate::header::TopicRpcFields;
}

custom_header! {
    /// RECALL_MESSAGE's answer: the recalled message's UNIQ_KEY.
    pub struct RecallMessageResponseHeader {
        "msgId" => msg_id: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireError;
    use crate::ext_fields::ExtFields;
    use crate::header::testing::{check_header, required_keys};

    /// The keys Java annotates `@CFNotNull`, in Java's declaration order.
    #[test]
    fn required_keys_are_javas_cf_not_null_fields() {
        assert_eq!(
            required_keys::<SendMessageRequestHeader>(&[]),
            [
                "producerGroup",
                "topic",
                "defaultTopic",
                "defaultTopicQueueNums",
                "queueId",
                "sysFlag",
                "bornTimestamp",
                "flag"
            ]
        );
        assert_eq!(
            required_keys::<SendMessageRequestHeaderV2>(&[]),
            ["a", "b", "c", "d", "e", "f", "g", "h"]
        );
        assert_eq!(
            required_keys::<SendMessageResponseHeader>(&[]),
            ["msgId", "queueId", "queueOffset"]
        );
        assert_eq!(
            required_keys::<RecallMessageRequestHeader>(&[]),
            ["topic", "recallHandle"]
        );
        assert_eq!(required_keys::<RecallMessageResponseHeader>(&[]), ["msgId"]);
    }

    const PROPERTIES: &str =
        "TAGS\u{1}TagA\u{2}KEYS\u{1}order-1\u{2}WAIT\u{1}true\u{2}UNIQ_KEY\u{1}AC11000100012A9F0000000000000001\u{2}";

    /// The V2 example of remoting.md §4.2.1.
    fn v2_example() -> Vec<(&'static str, &'static str)> {
        vec![
            ("a", "pg"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "2"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", PROPERTIES),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ]
    }

    #[test]
    fn v2_example_decodes_to_exact_values() {
        let v2: SendMessageRequestHeaderV2 = check_header(&v2_example());
        let expected = SendMessageRequestHeaderV2 {
            producer_group: "pg".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 2,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some(PROPERTIES.into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: Some("broker-a".into()),
        };
        assert_eq!(v2, expected);
    }

    #[test]
    fn v1_round_trips_with_long_keys() {
        let v1: SendMessageRequestHeader = check_header(&[
            ("producerGroup", "pg"),
            ("topic", "%RETRY%cg"),
            ("defaultTopic", "TBW102"),
            ("defaultTopicQueueNums", "4"),
            ("queueId", "-1"),
            ("sysFlag", "4"),
            ("bornTimestamp", "1700000000000"),
            ("flag", "7"),
            ("properties", PROPERTIES),
            ("reconsumeTimes", "3"),
            ("unitMode", "false"),
            ("batch", "true"),
            ("maxReconsumeTimes", "16"),
            ("ns", "n"),
            ("nsd", "true"),
            ("bname", "broker-a"),
            ("oway", "false"),
            ("lo", "true"),
        ]);
        assert_eq!((v1.queue_id, v1.sys_flag, v1.batch), (-1, 4, Some(true)));
        assert_eq!(v1.rpc.broker_name.as_deref(), Some("broker-a"));
    }

    #[test]
    fn conversion_moves_n_to_bname_and_back() {
        let fields: ExtFields = v2_example().into_iter().collect();
        let v2 = SendMessageRequestHeaderV2::read_from(&fields).unwrap();
        let v1 = SendMessageRequestHeader::from(v2.clone());
        assert_eq!(v1.rpc.broker_name.as_deref(), Some("broker-a"));
        assert_eq!(v1.topic, "TopicTest");
        assert_eq!(v1.properties.as_deref(), Some(PROPERTIES));
        assert_eq!(SendMessageRequestHeaderV2::from(v1.clone()), v2);

        // Java's isUnitMode()/isBatch() turn null into false on the way to V2.
        let bare = SendMessageRequestHeader {
            unit_mode: None,
            batch: None,
            ..v1
        };
        let converted = SendMessageRequestHeaderV2::from(bare);
        assert_eq!((converted.unit_mode, converted.batch), (Some(false), Some(false)));
    }

    #[test]
    fn from_send_command_picks_the_key_set_by_code() {
        let v2_fields: ExtFields = v2_example().into_iter().collect();
        for code in [RequestCode::SEND_MESSAGE_V2, RequestCode::SEND_BATCH_MESSAGE] {
            let command = RemotingCommand::request(code).with_ext_fields(v2_fields.clone());
            let header = SendMessageRequestHeader::from_send_command(&command).unwrap();
            assert_eq!(header.producer_group, "pg");
        }
        let command = RemotingCommand::request(RequestCode::SEND_MESSAGE).with_ext_fields(v2_fields);
        assert_eq!(
            SendMessageRequestHeader::from_send_command(&command),
            Err(WireError::MissingField { field: "producerGroup" })
        );
    }

    #[test]
    fn response_round_trips_with_broker_extras() {
        let response: SendMessageResponseHeader = check_header(&[
            ("msgId", "0A00000100002A9F0000000000000064"),
            ("queueId", "2"),
            ("queueOffset", "41"),
            ("transactionId", "AC11000100012A9F0000000000000001"),
            ("batchUniqId", "u"),
            ("recallHandle", "h"),
            ("MSG_REGION", "DefaultRegion"),
            ("TRACE_ON", "true"),
        ]);
        assert_eq!((response.queue_id, response.queue_offset), (2, 41));
        assert_eq!(response.trace_on, Some(true));
    }
}
