//! Looking messages up: VIEW_MESSAGE_BY_ID (33) by commit-log offset and QUERY_MESSAGE (12) by
//! key or unique key, as Java's `QueryMessageProcessor` (remoting.md §4.6.12, store-and-ha.md
//! §3.4). Both bodies are stored records exactly as the commit log holds them.

use bytes::{Bytes, BytesMut};
use ferrocket_store::CommitLogOffset;
use ferrocket_wire::header::{
    CustomHeader, QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use ferrocket_wire::{RemotingCommand, ResponseCode};

use crate::error::{BrokerError, BrokerResult};
use crate::state::Broker;

/// Java's `defaultQueryMaxNum`: how many records a unique-key query may return.
pub const DEFAULT_QUERY_MAX_NUM: i32 = 32;

/// VIEW_MESSAGE_BY_ID: the one record at the offset an offset message id names.
pub fn view_message(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = ViewMessageRequestHeader::from_command(request)?;
    let not_found = || BrokerError::MessageNotFoundAtOffset { offset: header.offset };
    let offset = CommitLogOffset::from_java_long(header.offset).ok_or_else(not_found)?;
    let record = b
        .store
        .read(|s| {
            let scanned = s.message_at(offset)?;
            s.record_bytes_at(scanned.physical_offset, scanned.size)
        })
        .map_err(|_| not_found())?;
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_body(record))
}

/// The `maxNum` a query uses: the broker's own limit for unique-key queries, else the request's.
pub fn query_max_num(header: &QueryMessageRequestHeader) -> usize {
    let max_num = if header.unique_key_query == Some(true) {
        DEFAULT_QUERY_MAX_NUM
    } else {
        header.max_num
    };
    usize::try_from(max_num).unwrap_or(0)
}

/// QUERY_MESSAGE: records indexed under `topic#key` stored within the time range.
pub fn query_message(b: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = QueryMessageRequestHeader::from_command(request)?;
    let max_num = query_max_num(&header);
    let found = b.store.read(|s| {
        s.query_by_key(
            &header.topic,
            &header.key,
            max_num,
            header.begin_timestamp,
            header.end_timestamp,
        )
    })?;
    let response_header = QueryMessageResponseHeader {
        index_last_update_timestamp: found.index_last_update_timestamp_ms,
        index_last_update_phyoffset: found.index_last_update_phy_offset,
    };
    let fields = response_header.to_ext_fields();
    if found.records.is_empty() {
        return Ok(RemotingCommand::response_to(
            request,
            ResponseCode::QUERY_NOT_FOUND,
            Some("can not find message, maybe time range not correct".into()),
        )
        .with_ext_fields(fields));
    }
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None)
        .with_ext_fields(fields)
        .with_body(concat(&found.records)))
}

fn concat(records: &[Bytes]) -> Bytes {
    let mut body = BytesMut::with_capacity(records.iter().map(Bytes::len).sum());
    for record in records {
        body.extend_from_slice(record);
    }
    body.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(max_num: i32, unique: Option<bool>) -> QueryMessageRequestHeader {
        QueryMessageRequestHeader {
            topic: "T".into(),
            key: "k".into(),
            max_num,
            unique_key_query: unique,
            ..QueryMessageRequestHeader::default()
        }
    }

    #[test]
    fn unique_key_queries_use_the_broker_limit() {
        assert_eq!(query_max_num(&header(64, None)), 64);
        assert_eq!(query_max_num(&header(64, Some(false))), 64);
        assert_eq!(query_max_num(&header(1, Some(true))), 32);
        assert_eq!(query_max_num(&header(-3, None)), 0);
    }

    #[test]
    fn records_are_concatenated_as_stored() {
        let records = [Bytes::from_static(b"ab"), Bytes::from_static(b"c")];
        assert_eq!(concat(&records), Bytes::from_static(b"abc"));
        assert!(concat(&[]).is_empty());
    }
}
