//! What a request needs, as Java 5.3.3's `DefaultAuthorizationContextBuilder` reads it: a
//! hand-written case for sends, pulls, heartbeats, offsets and locks, and for every other code
//! the `@RocketMQAction` / `@RocketMQResource` annotations of its request header (transcribed
//! below for the codes we serve). A code with neither needs nothing in Java, so any
//! authenticated user may call it; we close the two holes that makes (see [`stricter_than_java`]):
//! LITE_PULL_MESSAGE (Java's lite pull consumer reads any topic unchecked) needs what
//! PULL_MESSAGE needs, and the admin codes without an annotated header need the cluster.

use ferrocket_wire::body::{
    BatchAckMessageRequestBody, HeartbeatData, JsonBody, LockBatchRequestBody, QueryAssignmentRequestBody,
    SubscriptionGroupConfig,
};
use ferrocket_wire::{ExtFields, RemotingCommand, RequestCode};

use super::AuthError;
use super::model::{Action, RETRY_PREFIX, Resource, ResourceType};
use super::policy::Need;

use Action::{Create, Delete, Get, Pub, Sub, Update};
use ResourceType::{Group, Topic};

/// One annotated header field: its ext-field name, resource type and `splitter` (empty: none).
type Field = (&'static str, ResourceType, &'static str);

/// A header's `@RocketMQAction`: the actions, whether its resource is the cluster, and its
/// `@RocketMQResource` fields in declaration order.
struct Annotated {
    actions: &'static [Action],
    cluster: bool,
    fields: &'static [Field],
}

const fn fields(actions: &'static [Action], fields: &'static [Field]) -> Annotated {
    Annotated {
        actions,
        cluster: false,
        fields,
    }
}

const fn cluster(actions: &'static [Action]) -> Annotated {
    Annotated {
        actions,
        cluster: true,
        fields: &[],
    }
}

const TOPIC: &[Field] = &[("topic", Topic, "")];

/// The annotations of the headers of the codes we serve (from the 5.3.3 sources).
fn annotated(code: RequestCode) -> Option<Annotated> {
    Some(match code {
        RequestCode::POP_MESSAGE
        | RequestCode::ACK_MESSAGE
        | RequestCode::CHANGE_MESSAGE_INVISIBLETIME
        | RequestCode::NOTIFICATION => fields(&[Sub], &[("consumerGroup", Group, ""), ("topic", Topic, "")]),
        RequestCode::PEEK_MESSAGE => fields(&[Sub], &[("topic", Topic, ""), ("consumerGroup", Group, "")]),
        RequestCode::POLLING_INFO => fields(&[Get], &[("consumerGroup", Group, ""), ("topic", Topic, "")]),
        RequestCode::GET_CONSUMER_CONNECTION_LIST | RequestCode::GET_CONSUMER_RUNNING_INFO => {
            fields(&[Get], &[("consumerGroup", Group, "")])
        }
        RequestCode::GET_PRODUCER_CONNECTION_LIST => cluster(&[Get]),
        RequestCode::CONSUME_MESSAGE_DIRECTLY => fields(&[Sub], &[("consumerGroup", Group, ""), ("topic", Topic, "")]),
        RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS => {
            fields(&[Get], &[("topic", Topic, ""), ("group", Group, "")])
        }
        RequestCode::GET_MAX_OFFSET
        | RequestCode::GET_MIN_OFFSET
        | RequestCode::GET_EARLIEST_MSG_STORETIME
        | RequestCode::SEARCH_OFFSET_BY_TIMESTAMP
        | RequestCode::VIEW_MESSAGE_BY_ID
        | RequestCode::GET_TOPIC_STATS_INFO
        | RequestCode::QUERY_TOPIC_CONSUME_BY_WHO
        | RequestCode::GET_TOPIC_CONFIG => fields(&[Get], TOPIC),
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET => fields(&[Update], &[("group", Group, ""), ("topic", Topic, "")]),
        RequestCode::UPDATE_AND_CREATE_TOPIC => fields(&[Create], TOPIC),
        RequestCode::DELETE_TOPIC_IN_BROKER => fields(&[Delete], TOPIC),
        RequestCode::DELETE_SUBSCRIPTIONGROUP => fields(&[Delete], &[("groupName", Group, "")]),
        RequestCode::GET_CONSUME_STATS => fields(
            &[Get],
            &[
                ("consumerGroup", Group, ""),
                ("topic", Topic, ""),
                ("topicList", Topic, ";"),
            ],
        ),
        RequestCode::QUERY_CONSUME_TIME_SPAN => fields(&[Get], &[("topic", Topic, ""), ("group", Group, "")]),
        RequestCode::GET_SUBSCRIPTIONGROUP_CONFIG => fields(&[Get], &[("group", Group, "")]),
        RequestCode::AUTH_CREATE_USER
        | RequestCode::AUTH_UPDATE_USER
        | RequestCode::AUTH_DELETE_USER
        | RequestCode::AUTH_CREATE_ACL
        | RequestCode::AUTH_UPDATE_ACL
        | RequestCode::AUTH_DELETE_ACL => cluster(&[Update]),
        RequestCode::AUTH_GET_USER
        | RequestCode::AUTH_LIST_USER
        | RequestCode::AUTH_GET_ACL
        | RequestCode::AUTH_LIST_ACL => cluster(&[Get]),
        _ => return None,
    })
}

/// Ours, not Java's: admin codes whose Java header carries no `@RocketMQAction` (so Java checks
/// nothing) need Get or Update on the cluster, as Java's annotated admin codes do; only Super
/// users and users granted `Cluster:<name>` may read the whole broker or change its settings.
/// SET_MESSAGE_REQUEST_MODE (Java: unchecked) switches a group to POP: Update on the cluster.
/// (Also LITE_PULL_MESSAGE, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, BATCH_ACK_MESSAGE and
/// QUERY_ASSIGNMENT, handled in [`needs`].)
pub fn stricter_than_java(code: RequestCode) -> Option<&'static [Action]> {
    match code {
        RequestCode::GET_ALL_TOPIC_CONFIG
        | RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG
        | RequestCode::GET_ALL_CONSUMER_OFFSET
        | RequestCode::GET_ALL_DELAY_OFFSET
        | RequestCode::GET_BROKER_RUNTIME_INFO
        | RequestCode::GET_BROKER_CONFIG
        | RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER => Some(&[Get]),
        RequestCode::UPDATE_BROKER_CONFIG | RequestCode::SET_MESSAGE_REQUEST_MODE => Some(&[Update]),
        _ => None,
    }
}

fn is_retry(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with(RETRY_PREFIX))
}

fn is_blank(name: Option<&str>) -> bool {
    name.is_none_or(|n| n.trim().is_empty())
}

/// The needs of `request`, in Java's order; `cluster_name` names the Cluster resource.
pub fn needs(request: &RemotingCommand, cluster_name: &str) -> Result<Vec<Need>, AuthError> {
    let code = request.request_code();
    let ours = stricter_than_java(code).is_some()
        || matches!(
            code,
            RequestCode::LITE_PULL_MESSAGE
                | RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
                | RequestCode::BATCH_ACK_MESSAGE
                | RequestCode::QUERY_ASSIGNMENT
        );
    let no_fields = ExtFields::new();
    let ext = match request.ext_fields.as_ref().filter(|f| !f.is_empty()) {
        Some(fields) => fields,
        // Java checks nothing for a request without ext fields; our own needs still apply.
        None if ours => &no_fields,
        None => return Ok(Vec::new()),
    };
    let field = |key: &str| ext.get(key);
    let topic = |key: &str| Resource::topic(field(key));
    let group = |key: &str| Resource::group(field(key));
    let mut needs = Vec::new();
    let mut need = |resource, actions: &[Action]| needs.push(Need::new(resource, actions));
    match code {
        RequestCode::SEND_MESSAGE => match is_retry(field("topic")) {
            // Java reads `group`, a key SEND_MESSAGE never has: the retry topic names the group.
            true if !is_blank(field("group")) => need(group("group"), &[Sub]),
            true => need(group("topic"), &[Sub]),
            false => need(topic("topic"), &[Pub]),
        },
        RequestCode::SEND_MESSAGE_V2 | RequestCode::SEND_BATCH_MESSAGE => match is_retry(field("b")) {
            true if !is_blank(field("a")) => need(group("a"), &[Sub]),
            true => need(group("b"), &[Sub]),
            false => need(topic("b"), &[Pub]),
        },
        RequestCode::RECALL_MESSAGE => need(topic("topic"), &[Pub]),
        RequestCode::END_TRANSACTION => {
            if !is_blank(field("topic")) {
                need(topic("topic"), &[Pub]);
            }
        }
        RequestCode::CONSUMER_SEND_MSG_BACK => need(group("group"), &[Sub]),
        RequestCode::PULL_MESSAGE => {
            if !is_retry(field("topic")) {
                need(topic("topic"), &[Sub]);
            }
            need(group("consumerGroup"), &[Sub]);
        }
        RequestCode::QUERY_MESSAGE => need(topic("topic"), &[Sub, Get]),
        RequestCode::HEART_BEAT => {
            let body = request.body.as_deref().unwrap_or_default();
            let heartbeat = HeartbeatData::decode(body).map_err(|_| AuthError::ContextUnparsable)?;
            for consumer in &heartbeat.consumer_data_set {
                need(Resource::group(Some(&consumer.group_name)), &[Sub]);
                for subscription in &consumer.subscription_data_set {
                    if !is_retry(Some(&subscription.topic)) {
                        need(Resource::topic(Some(&subscription.topic)), &[Sub]);
                    }
                }
            }
        }
        RequestCode::UNREGISTER_CLIENT => {
            if !is_blank(field("consumerGroup")) {
                need(group("consumerGroup"), &[Sub]);
            }
        }
        RequestCode::GET_CONSUMER_LIST_BY_GROUP => need(group("consumerGroup"), &[Sub, Get]),
        RequestCode::QUERY_CONSUMER_OFFSET => {
            if !is_retry(field("topic")) {
                need(topic("topic"), &[Sub, Get]);
            }
            need(group("consumerGroup"), &[Sub, Get]);
        }
        RequestCode::UPDATE_CONSUMER_OFFSET => {
            if !is_retry(field("topic")) {
                need(topic("topic"), &[Sub, Update]);
            }
            need(group("consumerGroup"), &[Sub, Update]);
        }
        RequestCode::LOCK_BATCH_MQ | RequestCode::UNLOCK_BATCH_MQ => {
            let body = request.body.as_deref().unwrap_or_default();
            let lock = LockBatchRequestBody::decode(body).map_err(|_| AuthError::ContextUnparsable)?;
            need(Resource::group(Some(&lock.consumer_group)), &[Sub]);
            for queue in &lock.mq_set {
                if !is_retry(Some(&queue.topic)) {
                    need(Resource::topic(Some(&queue.topic)), &[Sub]);
                }
            }
        }
        // Java checks neither (no annotated header): any user could ack another group's
        // messages or learn its assignment. Ours needs what POP_MESSAGE needs.
        RequestCode::BATCH_ACK_MESSAGE => {
            let body = request.body.as_deref().unwrap_or_default();
            let batch = BatchAckMessageRequestBody::decode(body).map_err(|_| AuthError::ContextUnparsable)?;
            for ack in batch.acks.iter().flatten() {
                need(Resource::group(Some(&ack.consumer_group)), &[Sub]);
                if !is_retry(Some(&ack.topic)) {
                    need(Resource::topic(Some(&ack.topic)), &[Sub]);
                }
            }
        }
        RequestCode::QUERY_ASSIGNMENT => {
            let body = request.body.as_deref().unwrap_or_default();
            let query = QueryAssignmentRequestBody::decode(body).map_err(|_| AuthError::ContextUnparsable)?;
            need(Resource::group(Some(&query.consumer_group)), &[Sub]);
            if !is_retry(Some(&query.topic)) {
                need(Resource::topic(Some(&query.topic)), &[Sub]);
            }
        }
        RequestCode::LITE_PULL_MESSAGE => {
            if !is_retry(field("topic")) {
                need(topic("topic"), &[Sub]);
            }
            need(group("consumerGroup"), &[Sub]);
        }
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            let body = request.body.as_deref().unwrap_or_default();
            let config = SubscriptionGroupConfig::decode(body).map_err(|_| AuthError::ContextUnparsable)?;
            need(Resource::literal(Group, Some(&config.group_name)), &[Create]);
        }
        code if let Some(actions) = stricter_than_java(code) => {
            need(Resource::literal(ResourceType::Cluster, Some(cluster_name)), actions);
        }
        code => {
            if let Some(annotated) = annotated(code) {
                for &(key, kind, splitter) in annotated.fields {
                    let Some(value) = field(key) else { continue };
                    let values: Vec<&str> = match splitter.is_empty() {
                        true => vec![value],
                        false => value.split(splitter).filter(|v| !v.is_empty()).collect(),
                    };
                    for value in values {
                        let resource = match kind == Topic && is_retry(Some(value)) {
                            true => Resource::group(Some(value)),
                            false => Resource::literal(kind, Some(value)),
                        };
                        need(resource, annotated.actions);
                    }
                }
                if needs.is_empty() && annotated.cluster {
                    needs.push(Need::new(
                        Resource::literal(ResourceType::Cluster, Some(cluster_name)),
                        annotated.actions,
                    ));
                }
            }
        }
    }
    Ok(needs)
}

#[cfg(test)]
mod tests {
    use ferrocket_wire::body::BatchAck;

    use super::*;

    fn of(request: &RemotingCommand) -> Vec<Need> {
        needs(request, "C").unwrap()
    }

    #[test]
    fn pop_codes_need_sub_on_their_group_and_topic() {
        let mut fields = ExtFields::new();
        fields.insert("consumerGroup", "G");
        fields.insert("topic", "T");
        let sub = |resource| Need::new(resource, &[Sub]);
        for code in [
            RequestCode::POP_MESSAGE,
            RequestCode::ACK_MESSAGE,
            RequestCode::NOTIFICATION,
        ] {
            let request = RemotingCommand::request(code).with_ext_fields(fields.clone());
            assert_eq!(
                of(&request),
                vec![sub(Resource::group(Some("G"))), sub(Resource::topic(Some("T")))]
            );
        }
        let peek = RemotingCommand::request(RequestCode::PEEK_MESSAGE).with_ext_fields(fields.clone());
        assert_eq!(
            of(&peek),
            vec![sub(Resource::topic(Some("T"))), sub(Resource::group(Some("G")))]
        );
        // `PollingInfoRequestHeader`: `Action.GET` on the group, then the topic.
        let polling = RemotingCommand::request(RequestCode::POLLING_INFO).with_ext_fields(fields);
        let get = |resource| Need::new(resource, &[Get]);
        assert_eq!(
            of(&polling),
            vec![get(Resource::group(Some("G"))), get(Resource::topic(Some("T")))]
        );
    }

    #[test]
    fn a_batch_ack_without_ext_fields_still_needs_each_group_and_topic() {
        let body = BatchAckMessageRequestBody {
            acks: Some(vec![BatchAck {
                consumer_group: "G".into(),
                topic: "T".into(),
                ..BatchAck::default()
            }]),
            broker_name: None,
        };
        let request = RemotingCommand::request(RequestCode::BATCH_ACK_MESSAGE).with_body(body.encode());
        let needs = of(&request);
        assert_eq!(needs.len(), 2);
        assert_eq!(needs[0].resource, Resource::group(Some("G")));
        let mode = RemotingCommand::request(RequestCode::SET_MESSAGE_REQUEST_MODE);
        assert_eq!(of(&mode)[0].resource.kind, ResourceType::Cluster);
    }
}
