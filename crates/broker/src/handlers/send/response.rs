//! The send response: Java's `handlePutMessageResult` (store status → response code, remark and
//! header) and the texts Java's send refusals embed.

use std::net::SocketAddr;

use ferrocket_store::{PutOutcome, PutStatus};
use ferrocket_wire::ResponseCode;
use ferrocket_wire::body::{TopicConfig, TopicFilterType};
use ferrocket_wire::header::SendMessageResponseHeader;

use super::message_build::offset_message_ids;
use super::{REGION_ID, TRACE_ON};
use crate::error::{BrokerError, BrokerResult};
use crate::topics::{PERM_INHERIT, PERM_READ, PERM_WRITE};

/// Java's `handlePutMessageResult`: the response code and header for a store outcome.
pub fn put_response(
    outcome: &PutOutcome,
    store_host: SocketAddr,
    queue_id: i32,
    transaction_id: Option<String>,
    body_bytes_max: usize,
) -> BrokerResult<(ResponseCode, SendMessageResponseHeader)> {
    let code = match outcome.status {
        PutStatus::PutOk => ResponseCode::SUCCESS,
        PutStatus::FlushDiskTimeout => ResponseCode::FLUSH_DISK_TIMEOUT,
        PutStatus::MessageIllegal => {
            return Err(BrokerError::coded(
                ResponseCode::MESSAGE_ILLEGAL,
                illegal_remark(body_bytes_max),
            ));
        }
        PutStatus::ServiceNotAvailable => {
            let cause = outcome.error.as_deref().unwrap_or("unknown");
            return Err(BrokerError::coded(
                ResponseCode::SERVICE_NOT_AVAILABLE,
                format!(
                    "service not available now. It may be caused by one of the following reasons: the broker's disk is full [{cause}], messages are put to the slave, message store has been shut down, etc."
                ),
            ));
        }
        PutStatus::OsPageCacheBusy => {
            return Err(BrokerError::coded(
                ResponseCode::SYSTEM_BUSY,
                "[PC_SYNCHRONIZED]broker busy, start flow control for a while",
            ));
        }
        PutStatus::UnknownError => return Err(BrokerError::coded(ResponseCode::SYSTEM_ERROR, "UNKNOWN_ERROR")),
    };
    let Some(result) = outcome.result.as_ref() else {
        return Err(BrokerError::coded(
            ResponseCode::SYSTEM_ERROR,
            "store putMessage return null",
        ));
    };
    let offsets = if result.physical_offsets.is_empty() {
        vec![result.physical_offset]
    } else {
        result.physical_offsets.clone()
    };
    let header = SendMessageResponseHeader {
        msg_id: offset_message_ids(store_host, &offsets),
        queue_id,
        queue_offset: i64::try_from(result.queue_offset).unwrap_or(i64::MAX),
        transaction_id,
        region_id: Some(REGION_ID.to_owned()),
        trace_on: Some(TRACE_ON),
        ..SendMessageResponseHeader::default()
    };
    Ok((code, header))
}

/// Java's remark for `MESSAGE_ILLEGAL` and `PROPERTIES_SIZE_EXCEEDED`.
pub fn illegal_remark(body_bytes_max: usize) -> String {
    format!(
        "the message is illegal, maybe msg body or properties length not matched. msg body length limit {body_bytes_max}B, msg properties length limit 32KB."
    )
}

/// Java's `TopicConfig.toString()`, as the queue-id remark embeds it.
pub fn topic_config_text(config: &TopicConfig) -> String {
    let perm = [(PERM_READ, 'R'), (PERM_WRITE, 'W'), (PERM_INHERIT, 'X')]
        .iter()
        .map(|(bit, letter)| if config.perm & bit != 0 { *letter } else { '-' })
        .collect::<String>();
    let attributes = config
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={perm}, topicFilterType={}, topicSysFlag={}, order={}, attributes={{{attributes}}}]",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        filter_type_name(&config.topic_filter_type),
        config.topic_sys_flag,
        config.order
    )
}

fn filter_type_name(filter_type: &TopicFilterType) -> &str {
    match filter_type {
        TopicFilterType::SingleTag => "SINGLE_TAG",
        TopicFilterType::MultiTag => "MULTI_TAG",
        TopicFilterType::Unknown(name) => name,
    }
}

#[cfg(test)]
mod tests {
    use ferrocket_store::PutResult;

    use super::*;
    use crate::handlers::send::socket_addr;
    use crate::topics;

    fn outcome(status: PutStatus) -> PutOutcome {
        PutOutcome {
            status,
            result: Some(PutResult {
                physical_offset: 0x1234,
                wrote_bytes: 100,
                queue_offset: 41,
                msg_count: 1,
                store_timestamp_ms: 1,
                end_offset: 0x1298,
                physical_offsets: vec![0x1234],
            }),
            error: None,
        }
    }

    #[test]
    fn put_outcomes_map_to_javas_codes() {
        let host = socket_addr("192.168.1.10:10911");
        let (code, header) = put_response(&outcome(PutStatus::PutOk), host, 2, Some("U".into()), 4096).unwrap();
        assert_eq!(code, ResponseCode::SUCCESS);
        assert_eq!(header.msg_id, "C0A8010A00002A9F0000000000001234");
        assert_eq!((header.queue_id, header.queue_offset), (2, 41));
        assert_eq!(header.transaction_id.as_deref(), Some("U"));
        let (code, _) = put_response(&outcome(PutStatus::FlushDiskTimeout), host, 2, None, 4096).unwrap();
        assert_eq!(code, ResponseCode::FLUSH_DISK_TIMEOUT);
        for (status, expected) in [
            (PutStatus::MessageIllegal, ResponseCode::MESSAGE_ILLEGAL),
            (PutStatus::ServiceNotAvailable, ResponseCode::SERVICE_NOT_AVAILABLE),
            (PutStatus::OsPageCacheBusy, ResponseCode::SYSTEM_BUSY),
            (PutStatus::UnknownError, ResponseCode::SYSTEM_ERROR),
        ] {
            let error = put_response(&outcome(status), host, 2, None, 4096).unwrap_err();
            assert_eq!(error.response_code(), expected);
        }
        let error = put_response(&outcome(PutStatus::MessageIllegal), host, 2, None, 4096).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the message is illegal, maybe msg body or properties length not matched. msg body length limit 4096B, msg properties length limit 32KB."
        );
        let mut batch = outcome(PutStatus::PutOk);
        if let Some(result) = batch.result.as_mut() {
            result.physical_offsets = vec![1, 2];
        }
        let (_, header) = put_response(&batch, host, 0, None, 4096).unwrap();
        assert_eq!(header.msg_id.split(',').count(), 2);
        let empty = PutOutcome {
            status: PutStatus::PutOk,
            result: None,
            error: None,
        };
        assert!(put_response(&empty, host, 0, None, 4096).is_err());
    }

    #[test]
    fn topic_config_text_is_javas_to_string() {
        let mut config = topics::new_topic("T", 2, 7);
        config.attributes.insert("+message.type".into(), "NORMAL".into());
        assert_eq!(
            topic_config_text(&config),
            "TopicConfig [topicName=T, readQueueNums=2, writeQueueNums=2, perm=RWX, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false, attributes={+message.type=NORMAL}]"
        );
    }
}
