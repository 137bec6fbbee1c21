//! The send response: Java's `handlePutMessageResult` (the header of a stored put; the status's
//! code or failure comes from [`put_status_code`]).

use std::net::SocketAddr;

use ferrocket_store::PutOutcome;
use ferrocket_wire::ResponseCode;
use ferrocket_wire::header::SendMessageResponseHeader;

use super::message_build::offset_message_ids;
use super::{REGION_ID, TRACE_ON};
use crate::error::{BrokerError, BrokerResult, PutMessageStatus, put_status_code};

/// Java's `handlePutMessageResult`: the response code and header for a store outcome, with the
/// slaves' shortfall (`replicas`) replacing the code of a stored put.
pub fn put_response(
    outcome: PutOutcome,
    replicas: Option<PutMessageStatus>,
    store_host: SocketAddr,
    queue_id: i32,
    transaction_id: Option<String>,
    body_bytes_max: usize,
) -> BrokerResult<(ResponseCode, SendMessageResponseHeader)> {
    let status = PutMessageStatus::of(outcome.status, replicas);
    let code = put_status_code(status, outcome.error, body_bytes_max)?;
    let Some(result) = outcome.result else {
        return Err(BrokerError::PutResultMissing);
    };
    let offsets = if result.physical_offsets.is_empty() {
        vec![result.physical_offset]
    } else {
        result.physical_offsets
    };
    let header = SendMessageResponseHeader {
        msg_id: offset_message_ids(store_host, &offsets),
        queue_id,
        queue_offset: result.queue_offset.to_java_long(),
        transaction_id,
        region_id: Some(REGION_ID.to_owned()),
        trace_on: Some(TRACE_ON),
        ..SendMessageResponseHeader::default()
    };
    Ok((code, header))
}

#[cfg(test)]
mod tests {
    use ferrocket_store::PutResult;

    use ferrocket_store::{CommitLogOffset, PutStatus, QueueOffset};

    use super::*;
    use crate::handlers::send::socket_addr;

    fn outcome(status: PutStatus) -> PutOutcome {
        PutOutcome {
            status,
            result: Some(PutResult {
                physical_offset: CommitLogOffset(0x1234),
                wrote_bytes: 100,
                queue_offset: QueueOffset(41),
                msg_count: 1,
                store_timestamp_ms: 1,
                end_offset: CommitLogOffset(0x1298),
                physical_offsets: vec![CommitLogOffset(0x1234)],
            }),
            error: None,
        }
    }

    #[test]
    fn put_outcomes_map_to_javas_codes() {
        let host = socket_addr("192.168.1.10:10911");
        let (code, header) = put_response(outcome(PutStatus::PutOk), None, host, 2, Some("U".into()), 4096).unwrap();
        assert_eq!(code, ResponseCode::SUCCESS);
        assert_eq!(header.msg_id, "C0A8010A00002A9F0000000000001234");
        assert_eq!((header.queue_id, header.queue_offset), (2, 41));
        assert_eq!(header.transaction_id.as_deref(), Some("U"));
        let (code, _) = put_response(outcome(PutStatus::FlushDiskTimeout), None, host, 2, None, 4096).unwrap();
        assert_eq!(code, ResponseCode::FLUSH_DISK_TIMEOUT);
        for (status, expected) in [
            (PutStatus::MessageIllegal, ResponseCode::MESSAGE_ILLEGAL),
            (PutStatus::ServiceNotAvailable, ResponseCode::SERVICE_NOT_AVAILABLE),
            (PutStatus::OsPageCacheBusy, ResponseCode::SYSTEM_BUSY),
            (PutStatus::UnknownError, ResponseCode::SYSTEM_ERROR),
        ] {
            let error = put_response(outcome(status), None, host, 2, None, 4096).unwrap_err();
            assert_eq!(error.response_code(), expected);
        }
        let error = put_response(outcome(PutStatus::MessageIllegal), None, host, 2, None, 4096).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the message is illegal, maybe msg body or properties length not matched. msg body length limit 4096B, msg properties length limit 32KB."
        );
        let mut batch = outcome(PutStatus::PutOk);
        if let Some(result) = batch.result.as_mut() {
            result.physical_offsets = vec![CommitLogOffset(1), CommitLogOffset(2)];
        }
        let (_, header) = put_response(batch, None, host, 0, None, 4096).unwrap();
        assert_eq!(header.msg_id.split(',').count(), 2);
        let empty = PutOutcome {
            status: PutStatus::PutOk,
            result: None,
            error: None,
        };
        assert!(put_response(empty, None, host, 0, None, 4096).is_err());
    }

    #[test]
    fn a_slaves_shortfall_replaces_only_a_stored_puts_code() {
        let host = socket_addr("192.168.1.10:10911");
        let late = Some(PutMessageStatus::FlushSlaveTimeout);
        let (code, header) = put_response(outcome(PutStatus::FlushDiskTimeout), late, host, 2, None, 4096).unwrap();
        assert_eq!((code, header.queue_offset), (ResponseCode::FLUSH_SLAVE_TIMEOUT, 41));
        let none = Some(PutMessageStatus::SlaveNotAvailable);
        let (code, _) = put_response(outcome(PutStatus::PutOk), none, host, 2, None, 4096).unwrap();
        assert_eq!(code, ResponseCode::SLAVE_NOT_AVAILABLE);
        let busy = put_response(outcome(PutStatus::OsPageCacheBusy), none, host, 2, None, 4096).unwrap_err();
        assert_eq!(busy.response_code(), ResponseCode::SYSTEM_BUSY);
    }
}
