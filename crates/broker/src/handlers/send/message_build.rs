//! Turning a send request into the records the store appends (Java's `buildInnerMsg`,
//! `MessageExtBatch` and `MessageExtEncoder.encodeBatch`), and the ids a send response carries.
//!
//! Pure: hosts, clocks, counters and random seeds come in as arguments. Invariants: every record
//! gets the sysFlag host bits matching its addresses, Java's body CRC, the V1 or V2 layout its
//! topic length calls for, and properties written in 5.x form (0x02 after every pair).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{REGION_ID, TRACE_ON};
use bytes::Bytes;
use ferrocket_store::CommitLogOffset;
use ferrocket_wire::WireResult;
use ferrocket_wire::message::calendar::ms_since_month_start;
use ferrocket_wire::message::properties::keys;
use ferrocket_wire::message::record::body_crc;
use ferrocket_wire::message::{
    FinalSeparator, MessageProperties, MessageVersion, OffsetMessageId, StoredMessage, UniqueId, decode_batch_shared,
    sysflag,
};

/// What every record of one send shares.
#[derive(Debug, Clone)]
pub struct SendFacts<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub sys_flag: i32,
    pub flag: i32,
    pub born_timestamp_ms: i64,
    pub born_host: SocketAddr,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
}

/// One record from a single-message send; `properties` are final (UNIQ_KEY, CLUSTER added).
pub fn single_message(facts: &SendFacts<'_>, mut properties: MessageProperties, body: Bytes) -> StoredMessage {
    properties.set_final_separator(FinalSeparator::Present);
    StoredMessage {
        version: MessageVersion::for_topic_bytes(facts.topic.len()),
        body_crc: body_crc(&body),
        queue_id: facts.queue_id,
        flag: facts.flag,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: sysflag::with_host_flags(facts.sys_flag, &facts.born_host, &facts.store_host),
        born_timestamp_ms: facts.born_timestamp_ms,
        born_host: facts.born_host,
        store_timestamp_ms: 0,
        store_host: facts.store_host,
        reconsume_times: facts.reconsume_times,
        prepared_transaction_offset: 0,
        body,
        topic: facts.topic.to_owned(),
        properties,
    }
}

/// The records of a batch body: each member's flag, body and properties, followed by the
/// batch's own properties (the header's, with CLUSTER), as Java's batch encoder appends them.
/// Members' bodies are slices of the request's body, never copied.
pub fn batch_messages(
    facts: &SendFacts<'_>,
    batch_properties: &MessageProperties,
    body: &Bytes,
) -> WireResult<Vec<StoredMessage>> {
    let members = decode_batch_shared(body)?;
    Ok(members
        .into_iter()
        .map(|member| {
            let mut properties = member.properties;
            properties.reserve(batch_properties.encoded_len(), batch_properties.len());
            for (name, value) in batch_properties.iter() {
                properties.insert(name, value);
            }
            let member_facts = SendFacts {
                flag: member.flag,
                ..facts.clone()
            };
            single_message(&member_facts, properties, member.body)
        })
        .collect())
}

/// The header's properties with `MSG_REGION` and `TRACE_ON` set, as 5.3.3's `buildMsgContext`
/// rewrites them for every send before anything else reads them. A consumer's trace hook
/// skips a message without `MSG_REGION`, so without these no consumer trace is ever written.
fn header_properties(header_properties: Option<&str>) -> MessageProperties {
    let mut properties = MessageProperties::parse(header_properties.unwrap_or(""));
    properties.insert(keys::MSG_REGION, REGION_ID);
    properties.insert(keys::TRACE_ON, TRACE_ON.to_string());
    properties
}

/// The properties of a single message as Java's `sendMessage` leaves them: region and trace
/// switch set, POP_CK removed, UNIQ_KEY generated when missing, CLUSTER set.
pub fn single_message_properties(
    header_properties: Option<&str>,
    cluster: &str,
    new_unique_id: impl FnOnce() -> String,
) -> MessageProperties {
    let mut properties = self::header_properties(header_properties);
    properties.remove(keys::POP_CK);
    if properties.get(keys::UNIQ_KEY).is_none_or(str::is_empty) {
        properties.insert(keys::UNIQ_KEY, new_unique_id());
    }
    properties.insert(keys::CLUSTER, cluster);
    properties
}

/// The batch-level properties: the header's with region and trace switch, POP_CK removed,
/// CLUSTER set.
pub fn batch_properties(header_properties: Option<&str>, cluster: &str) -> MessageProperties {
    let mut properties = self::header_properties(header_properties);
    properties.remove(keys::POP_CK);
    properties.insert(keys::CLUSTER, cluster);
    properties
}

/// A UNIQ_KEY for a message whose producer sent none (`MessageClientIDSetter.createUniqID`,
/// with the broker's address and pid). The month is the UTC month (Java uses local time).
pub fn unique_id(ip: IpAddr, pid: u32, class_loader_hash: i32, counter: u16, now_ms: i64) -> String {
    UniqueId {
        ip,
        pid: (pid & 0xFFFF) as u16,
        class_loader_hash,
        ms_since_month_start: ms_since_month_start(now_ms),
        counter,
    }
    .to_string()
}

/// Java's `randomQueueId`: a queue in `[0, write_queue_nums)` from `seed`; `None` when the topic
/// has no writable queue.
pub fn random_queue_id(seed: u64, write_queue_nums: i32) -> Option<i32> {
    let count = u64::try_from(write_queue_nums).ok().filter(|n| *n > 0)?;
    i32::try_from(seed % count).ok()
}

/// `ip:port` as a socket address; an unparsable peer (never from a TCP socket) reads as
/// `0.0.0.0:0` so the record still encodes.
pub fn socket_addr(text: &str) -> SocketAddr {
    text.parse()
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
}

/// The send response's `msgId`: the offset message id of each record, comma-joined, written
/// into one string (a batch of 32 answers 32 ids).
pub fn offset_message_ids(store_host: SocketAddr, physical_offsets: &[CommitLogOffset]) -> String {
    use std::fmt::Write;
    // An IPv4 id is 32 hex digits, an IPv6 one 56; the comma makes 33 or 57.
    let mut ids = String::with_capacity(physical_offsets.len() * 57);
    for (i, offset) in physical_offsets.iter().enumerate() {
        if i > 0 {
            ids.push(',');
        }
        let id = OffsetMessageId {
            store_host,
            physical_offset: offset.to_java_long(),
        };
        // Writing into a String cannot fail.
        let _ = write!(ids, "{id}");
    }
    ids
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use ferrocket_wire::message::{BatchMember, encode_batch};

    use super::*;

    fn facts() -> SendFacts<'static> {
        SendFacts {
            topic: "TopicTest",
            queue_id: 2,
            sys_flag: 0,
            flag: 7,
            born_timestamp_ms: 1_700_000_000_000,
            born_host: socket_addr("10.0.0.9:53412"),
            store_host: socket_addr("192.168.1.10:10911"),
            reconsume_times: 0,
        }
    }

    #[test]
    fn a_single_message_encodes_and_decodes_back() {
        let properties = single_message_properties(
            Some("TAGS\u{1}TagA\u{2}POP_CK\u{1}x\u{2}WAIT\u{1}true"),
            "DefaultCluster",
            || "ID".to_owned(),
        );
        assert_eq!(properties.get(keys::POP_CK), None);
        assert_eq!(properties.get(keys::UNIQ_KEY), Some("ID"));
        assert_eq!(properties.get(keys::CLUSTER), Some("DefaultCluster"));
        assert_eq!(properties.get(keys::MSG_REGION), Some("DefaultRegion"));
        assert_eq!(properties.get(keys::TRACE_ON), Some("true"));
        let message = single_message(&facts(), properties, Bytes::from_static(b"hello"));
        assert_eq!(message.body_crc, body_crc(b"hello"));
        let mut bytes = BytesMut::new();
        message.encode(&mut bytes).unwrap();
        let (decoded, used) = StoredMessage::decode(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(decoded, message);
        assert!(bytes.ends_with(b"DefaultCluster\x02"));
    }

    #[test]
    fn an_existing_unique_key_is_kept_and_ipv6_hosts_set_their_bits() {
        let properties = single_message_properties(Some("UNIQ_KEY\u{1}KEEP\u{2}"), "c", || unreachable!());
        assert_eq!(properties.get(keys::UNIQ_KEY), Some("KEEP"));
        let v6 = SendFacts {
            born_host: socket_addr("[::1]:1"),
            ..facts()
        };
        let message = single_message(&v6, properties, Bytes::new());
        assert_eq!(message.sys_flag, sysflag::BORNHOST_V6);
    }

    #[test]
    fn batch_members_keep_their_own_properties_and_get_the_batch_ones() {
        let members: Vec<BatchMember> = (0..3)
            .map(|i| BatchMember {
                flag: i,
                body: Bytes::from(format!("m{i}")),
                properties: [("UNIQ_KEY", format!("U{i}")), ("TAGS", "T".to_owned())]
                    .into_iter()
                    .collect(),
            })
            .collect();
        let mut body = BytesMut::new();
        encode_batch(&members, &mut body).unwrap();
        let batch = batch_properties(Some("WAIT\u{1}true\u{2}"), "DefaultCluster");
        let body = body.freeze();
        let messages = batch_messages(&facts(), &batch, &body).unwrap();
        assert_eq!(messages.len(), 3);
        for (i, message) in messages.iter().enumerate() {
            assert_eq!(message.flag, i as i32);
            assert_eq!(message.body, format!("m{i}").as_bytes());
            assert_eq!(message.properties.get("UNIQ_KEY"), Some(format!("U{i}").as_str()));
            assert_eq!(message.properties.get("WAIT"), Some("true"));
            assert_eq!(message.properties.get("CLUSTER"), Some("DefaultCluster"));
            assert_eq!(message.properties.get("MSG_REGION"), Some("DefaultRegion"));
            assert_eq!(message.queue_id, 2);
        }
        // A cut inside a member fails; a cut between members leaves fewer members.
        for cut in 0..body.len() {
            let decoded = batch_messages(&facts(), &batch, &body.slice(..cut));
            assert!(decoded.is_err() || decoded.is_ok_and(|m| m.len() < 3), "cut {cut}");
        }
    }

    #[test]
    fn unique_ids_decode_to_their_parts() {
        // The time field's arithmetic is tested with `calendar::ms_since_month_start`.
        let now_ms = 1_700_000_000_000;
        let id = unique_id(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 0x1_2345, 99, 7, now_ms);
        assert_eq!(id.len(), 32);
        let parts = UniqueId::decode(&id).unwrap();
        assert_eq!((parts.pid, parts.class_loader_hash, parts.counter), (0x2345, 99, 7));
    }

    #[test]
    fn random_queue_ids_stay_in_range() {
        assert_eq!(random_queue_id(10, 4), Some(2));
        assert_eq!(random_queue_id(u64::MAX, 8), Some(7));
        assert_eq!(random_queue_id(1, 0), None);
        assert_eq!(random_queue_id(1, -3), None);
    }

    #[test]
    fn offset_ids_are_javas_and_comma_joined() {
        let host = socket_addr("192.168.1.10:10911");
        assert_eq!(
            offset_message_ids(host, &[CommitLogOffset(0x1234)]),
            "C0A8010A00002A9F0000000000001234"
        );
        assert_eq!(
            offset_message_ids(host, &[CommitLogOffset(1), CommitLogOffset(2)]),
            "C0A8010A00002A9F0000000000000001,C0A8010A00002A9F0000000000000002"
        );
        assert_eq!(socket_addr("nonsense").port(), 0);
    }
}
