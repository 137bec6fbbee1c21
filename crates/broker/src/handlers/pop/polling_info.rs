//! POLLING_INFO (200055): Java 5.3.3's `PollingInfoProcessor`. How many pops and notifications
//! wait for the topic, group and queue (`pollingNum`), after the checks a pop makes, with the
//! peek's refusal when the broker is not readable.

use ferrocket_net::ConnectionHandle;
use ferrocket_wire::RemotingCommand;
use ferrocket_wire::ResponseCode;
use ferrocket_wire::header::{CustomHeader, PollingInfoRequestHeader, PollingInfoResponseHeader};
use ferrocket_wire::permissions::PERM_READ;

use super::{check_topic_and_group, polling_key};
use crate::error::{BrokerError, BrokerResult};
use crate::state::Broker;

/// POLLING_INFO: answered at once.
pub fn serve(b: &Broker, request: &RemotingCommand, connection: &ConnectionHandle) -> BrokerResult<RemotingCommand> {
    handle_polling_info(b, request, connection.peer_addr())
}

/// Serves POLLING_INFO: Java's checks in Java's order, then the count.
pub fn handle_polling_info(b: &Broker, request: &RemotingCommand, peer: &str) -> BrokerResult<RemotingCommand> {
    let header = PollingInfoRequestHeader::from_command(request)?;
    let config = b.config();
    if config.broker_permission & PERM_READ == 0 {
        return Err(BrokerError::PeekBrokerForbidden {
            broker_ip: config.broker_ip1.clone(),
        });
    }
    check_topic_and_group(
        b,
        &header.topic,
        &header.consumer_group,
        header.queue_id,
        peer,
        b.now_ms(),
    )?;
    let waiting = b
        .pop_wakers
        .polling_num(&polling_key(&header.topic, &header.consumer_group, header.queue_id));
    let fields = PollingInfoResponseHeader {
        polling_num: i32::try_from(waiting).unwrap_or(i32::MAX),
    }
    .to_ext_fields();
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_ext_fields(fields))
}
