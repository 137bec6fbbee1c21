//! `RegisterBrokerBody`: the REGISTER_BROKER request body (remoting.md §4.1.2), as JSON
//! (`compressed=false`, what 5.x brokers send) or as the zlib-compressed binary form.
//!
//! Compressed form: one zlib stream (Java `Deflater` level 9, zlib wrapper) whose content is
//!
//! ```text
//! +-------+-------------------+-------+--------------------------------------------+
//! | i32 n | DataVersion JSON  | i32 k | k × (i32 n, TopicConfig text form)         |
//! +-------+-------------------+-------+--------------------------------------------+
//! | i32 n | filter server list JSON array | version ≥ 409 only: i32 m,              |
//! |       |                               |   m × (i32 n, TopicQueueMappingInfo JSON)|
//! +-------+-------------------------------+-----------------------------------------+
//! ```
//!
//! The trailer and the attributes field of the text form exist from V5_0_0 (409): the request
//! `version` decides both, on both sides. Decompression is bounded by [`DECOMPRESSED_BYTES_MAX`]
//! and every declared length and count is checked against what is left.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde::{Deserialize, Serialize};

use super::{DataVersion, JsonBody, TopicConfig, TopicConfigSerializeWrapper, TopicQueueMappingInfo};
use crate::codes::version;
use crate::error::{WireError, WireResult};
use crate::json;
use crate::reader::Reader;

/// A broker's whole topic table decompresses to a few MiB (about 40 bytes per topic); 64 MiB,
/// four times the frame limit, leaves ample room while bounding a zlib bomb.
pub const DECOMPRESSED_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Smallest encoded topic entry: its length field alone. Bounds a declared count before looping.
const ENTRY_BYTES_MIN: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    /// Addresses of filter servers; always empty since 5.x.
    pub filter_server_list: Vec<String>,
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

impl JsonBody for RegisterBrokerBody {
    const JAVA_NAME: &'static str = "RegisterBrokerBody";
}

impl RegisterBrokerBody {
    /// Decodes a request body by the header's `compressed` flag and the request `version`.
    pub fn decode_request(body: &[u8], compressed: bool, request_version: i32) -> WireResult<RegisterBrokerBody> {
        if compressed {
            RegisterBrokerBody::decode_compressed(body, request_version)
        } else {
            RegisterBrokerBody::decode(body)
        }
    }

    /// Decodes the compressed form (see the module comment).
    pub fn decode_compressed(body: &[u8], request_version: i32) -> WireResult<RegisterBrokerBody> {
        let content = inflate(body)?;
        let mut reader = Reader::new(&content);
        let data_version = DataVersion::decode(sized_bytes(&mut reader, "dataVersion")?)?;
        let mut topic_config_table = BTreeMap::new();
        for _ in 0..count(&mut reader, "topicConfig count")? {
            let text = sized_utf8(&mut reader, "topicConfig")?;
            let config = TopicConfig::from_text(text)?;
            topic_config_table.insert(config.topic_name.clone(), config);
        }
        // Java logs a filter server list it cannot parse and goes on with an empty one.
        let filter_server_list =
            json::decode::<Vec<String>>("filterServerList", sized_bytes(&mut reader, "filterServerList")?)
                .unwrap_or_default();
        let mut wrapper = TopicConfigSerializeWrapper {
            data_version,
            topic_config_table,
            ..TopicConfigSerializeWrapper::default()
        };
        if request_version >= version::V5_0_0 {
            let mut infos = BTreeMap::new();
            for _ in 0..count(&mut reader, "topicQueueMapping count")? {
                let info = TopicQueueMappingInfo::decode(sized_bytes(&mut reader, "topicQueueMappingInfo")?)?;
                // Java keys the map by `topic`; a null topic makes its ConcurrentHashMap throw.
                let topic = info.topic.clone().ok_or(WireError::MissingField { field: "topic" })?;
                infos.insert(topic, info);
            }
            wrapper.topic_queue_mapping_info_map = Some(infos);
        }
        Ok(RegisterBrokerBody {
            filter_server_list,
            topic_config_serialize_wrapper: wrapper,
        })
    }

    /// Encodes the compressed form for a request of `request_version`.
    pub fn encode_compressed(&self, request_version: i32) -> WireResult<Vec<u8>> {
        let five_x = request_version >= version::V5_0_0;
        let wrapper = &self.topic_config_serialize_wrapper;
        let mut content = Vec::new();
        put_sized(&mut content, &wrapper.data_version.encode())?;
        put_count(&mut content, wrapper.topic_config_table.len())?;
        for config in wrapper.topic_config_table.values() {
            put_sized(&mut content, config.to_text(five_x).as_bytes())?;
        }
        put_sized(&mut content, &json::encode(&self.filter_server_list))?;
        if five_x {
            let infos = wrapper.topic_queue_mapping_info_map.iter().flat_map(BTreeMap::values);
            put_count(&mut content, infos.clone().count())?;
            for info in infos {
                put_sized(&mut content, &info.encode())?;
            }
        }
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
        encoder
            .write_all(&content)
            .map_err(|e| WireError::BadCompression(e.to_string()))?;
        encoder.finish().map_err(|e| WireError::BadCompression(e.to_string()))
    }
}

fn inflate(body: &[u8]) -> WireResult<Vec<u8>> {
    let mut content = Vec::new();
    ZlibDecoder::new(body)
        .take(DECOMPRESSED_BYTES_MAX as u64 + 1)
        .read_to_end(&mut content)
        .map_err(|e| WireError::BadCompression(e.to_string()))?;
    if content.len() > DECOMPRESSED_BYTES_MAX {
        return Err(WireError::BadCompression(format!(
            "register body inflates beyond {DECOMPRESSED_BYTES_MAX} bytes"
        )));
    }
    Ok(content)
}

fn sized_bytes<'a>(reader: &mut Reader<'a>, what: &'static str) -> WireResult<&'a [u8]> {
    let declared = reader.i32()?;
    let length = reader.length(what, declared.into(), DECOMPRESSED_BYTES_MAX)?;
    reader.bytes(length)
}

fn sized_utf8<'a>(reader: &mut Reader<'a>, what: &'static str) -> WireResult<&'a str> {
    let declared = reader.i32()?;
    let length = reader.length(what, declared.into(), DECOMPRESSED_BYTES_MAX)?;
    reader.utf8(what, length)
}

/// A declared entry count, checked against the bytes left before any loop runs.
fn count(reader: &mut Reader<'_>, what: &'static str) -> WireResult<usize> {
    let offset = reader.position();
    let declared = reader.i32()?;
    let limit = reader.remaining() / ENTRY_BYTES_MIN;
    usize::try_from(declared)
        .ok()
        .filter(|&n| n <= limit)
        .ok_or(WireError::BadLength {
            what,
            offset,
            length: declared.into(),
            limit: limit as i64,
        })
}

fn put_sized(out: &mut Vec<u8>, bytes: &[u8]) -> WireResult<()> {
    put_count(out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(())
}

fn put_count(out: &mut Vec<u8>, count: usize) -> WireResult<()> {
    let count = i32::try_from(count).map_err(|_| WireError::Unencodable {
        what: "register body length",
        reason: format!("{count} does not fit an int"),
    })?;
    out.extend_from_slice(&count.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    const EXAMPLE: &str = r#"{"filterServerList":[],
 "topicConfigSerializeWrapper":{
   "dataVersion":{"counter":12,"stateVersion":0,"timestamp":1700000000000},
   "mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":1700000000000},
   "topicConfigTable":{"TopicTest":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,
                        "topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,
                        "writeQueueNums":4}},
   "topicQueueMappingDetailMap":{},"topicQueueMappingInfoMap":{}}}"#;

    fn example() -> RegisterBrokerBody {
        round_trip(EXAMPLE)
    }

    #[test]
    fn json_example() {
        let body = example();
        let wrapper = &body.topic_config_serialize_wrapper;
        assert_eq!(wrapper.data_version.counter, 12);
        assert_eq!(wrapper.topic_config_table["TopicTest"].write_queue_nums, 4);
        assert_eq!(
            wrapper.topic_queue_mapping_info_map.as_ref().map(BTreeMap::len),
            Some(0)
        );
    }

    fn compressed_fixture() -> RegisterBrokerBody {
        let mut body = example();
        let wrapper = &mut body.topic_config_serialize_wrapper;
        // The compressed form carries neither the mapping version/details nor sysFlag/order.
        wrapper.mapping_data_version = None;
        wrapper.topic_queue_mapping_detail_map = None;
        let mut second = wrapper.topic_config_table["TopicTest"].clone();
        second.topic_name = "Attr".into();
        second.attributes.insert("+message.type".into(), "FIFO".into());
        wrapper.topic_config_table.insert("Attr".into(), second);
        let info = TopicQueueMappingInfo {
            bname: Some("broker-a".into()),
            curr_id_map: BTreeMap::from([(0, 0)]),
            epoch: 3,
            scope: Some("__global__".into()),
            topic: Some("Static".into()),
            total_queues: 1,
            ..TopicQueueMappingInfo::default()
        };
        wrapper.topic_queue_mapping_info_map = Some(BTreeMap::from([("Static".into(), info)]));
        body
    }

    #[test]
    fn compressed_round_trip_5_x() {
        let body = compressed_fixture();
        let bytes = body.encode_compressed(version::V5_3_3).unwrap();
        assert_eq!(
            RegisterBrokerBody::decode_request(&bytes, true, version::V5_3_3).unwrap(),
            body
        );
        for cut in 0..bytes.len() {
            let prefix = bytes.get(..cut).unwrap_or_default();
            assert!(
                RegisterBrokerBody::decode_compressed(prefix, version::V5_3_3).is_err(),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn compressed_round_trip_4_9_has_no_trailer_nor_attributes() {
        let mut body = compressed_fixture();
        let bytes = body.encode_compressed(version::V4_9_4).unwrap();
        let decoded = RegisterBrokerBody::decode_compressed(&bytes, version::V4_9_4).unwrap();
        let wrapper = &mut body.topic_config_serialize_wrapper;
        wrapper.topic_queue_mapping_info_map = None;
        wrapper
            .topic_config_table
            .values_mut()
            .for_each(|c| c.attributes.clear());
        assert_eq!(decoded, body);
        // A 5.x reader wants the trailer a 4.9.x writer leaves out.
        assert!(RegisterBrokerBody::decode_compressed(&bytes, version::V5_0_0).is_err());
    }

    fn deflate(content: &[u8]) -> Vec<u8> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(content).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn compressed_rejects_bad_lengths_and_counts() {
        let version_json = br#"{"counter":1,"stateVersion":0,"timestamp":2}"#;
        let mut content = Vec::new();
        put_sized(&mut content, version_json).unwrap();
        for bad_count in [-1i32, i32::MAX, 1] {
            let mut bad = content.clone();
            bad.extend_from_slice(&bad_count.to_be_bytes());
            assert!(
                RegisterBrokerBody::decode_compressed(&deflate(&bad), 0).is_err(),
                "{bad_count}"
            );
        }
        let mut negative_length = Vec::new();
        negative_length.extend_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(
            RegisterBrokerBody::decode_compressed(&deflate(&negative_length), 0),
            Err(WireError::BadLength { .. })
        ));
        assert!(RegisterBrokerBody::decode_compressed(b"not zlib at all", 0).is_err());
    }

    #[test]
    fn compressed_bomb_is_bounded() {
        // 65 MiB of zeros compress to about 64 KiB; inflating stops at the limit.
        let bomb = deflate(&vec![0u8; DECOMPRESSED_BYTES_MAX + 1024 * 1024]);
        assert!(matches!(
            RegisterBrokerBody::decode_compressed(&bomb, 0),
            Err(WireError::BadCompression(_))
        ));
    }
}
