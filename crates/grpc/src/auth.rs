//! 5.x auth over gRPC, as Java 5.3.3's proxy runs it before every RPC (its `AuthenticationPipeline`
//! then `AuthorizationPipeline`): the client signs each call with the `authorization` metadata,
//! `MQv2-HMAC-SHA1 Credential=<user>, SignedHeaders=x-mq-date-time, Signature=<hex>`, the
//! signature being HMAC-SHA1 of the `x-mq-date-time` value keyed with the user's secret; the
//! resources an RPC needs are read from its message (`DefaultAuthorizationContextBuilder`). A
//! failure is answered in band with UNAUTHORIZED and Java's message. The users, ACLs, lookup,
//! policy decision and constant-time tag comparison are the broker's (`state::auth`).
//!
//! Stricter than Java: Java takes the subject it authorizes from the `x-mq-authorization-ak`
//! metadata and the source address from `rpc-remote-address`, and only fills them in when the
//! client did not send them (`putHeaderIfNotExist`), so a client can name another subject or
//! address than its own; we take the authenticated user and the socket's address, always.

use ferrocket_broker::Broker;
use ferrocket_broker::state::auth::AuthError;
use ferrocket_broker::state::auth::model::{Action, Resource};
use ferrocket_broker::state::auth::policy::Need;
use ferrocket_broker::state::auth::signature::verify_tag;
use thiserror::Error;
use tonic::metadata::MetadataMap;

use crate::proto::*;
use crate::status::status;

/// The metadata carrying the signature (`GrpcConstants.AUTHORIZATION`).
const AUTHORIZATION_KEY: &str = "authorization";
/// The metadata the signature covers (`GrpcConstants.DATE_TIME`).
const DATE_TIME_KEY: &str = "x-mq-date-time";
/// The longest hex signature read: HMAC-SHA1 is 40 digits; anything longer cannot match.
const SIGNATURE_HEX_MAX: usize = 128;

/// Why a call is refused; `Display` is Java's message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GrpcAuthError {
    #[error("datetime is null.")]
    DatetimeMissing,
    #[error("authentication header is incorrect.")]
    HeaderIncorrect,
    #[error("authentication keyValues length is incorrect, actual length={actual}.")]
    KeyValueLength { actual: usize },
    #[error("authentication credential length is incorrect, actual length=0.")]
    CredentialEmpty,
    /// The signature is not hex (Java's decoder throws; the builder wraps it so).
    #[error("create authentication context error.")]
    ContextError,
    #[error("message is null.")]
    MessageMissing,
    #[error("messageQueue is null.")]
    MessageQueueMissing,
    #[error("topic is null.")]
    TopicMissing,
    #[error("group is null.")]
    GroupMissing,
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl GrpcAuthError {
    /// Java's `ResponseBuilder` for an `AuthenticationException` or `AuthorizationException`.
    pub fn status(&self) -> Status {
        status(Code::Unauthorized, self.to_string())
    }
}

/// What the `authorization` metadata says: `None` fields when it is absent, as Java's context
/// without a username.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: Option<String>,
    /// The raw HMAC tag (hex-decoded).
    pub tag: Option<Vec<u8>>,
    /// The signed content: the `x-mq-date-time` value.
    pub datetime: String,
}

fn text<'a>(metadata: &'a MetadataMap, key: &str) -> &'a str {
    metadata
        .get(key)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// `DefaultAuthenticationContextBuilder.build(Metadata, ...)`, its checks and messages.
pub fn credentials(metadata: &MetadataMap) -> Result<Credentials, GrpcAuthError> {
    let authorization = text(metadata, AUTHORIZATION_KEY);
    if authorization.is_empty() {
        return Ok(Credentials::default());
    }
    let datetime = text(metadata, DATE_TIME_KEY);
    if datetime.is_empty() {
        return Err(GrpcAuthError::DatetimeMissing);
    }
    let (_scheme, items) = authorization.split_once(' ').ok_or(GrpcAuthError::HeaderIncorrect)?;
    let mut found = Credentials {
        datetime: datetime.to_owned(),
        ..Credentials::default()
    };
    for item in items.split(',') {
        let (key, value) = item
            .trim()
            .split_once('=')
            .ok_or(GrpcAuthError::KeyValueLength { actual: 1 })?;
        match key {
            "Credential" => {
                // Java's `split("/")` drops trailing empty parts: only slashes leave none.
                let username = value.split('/').next().unwrap_or_default();
                if value.chars().all(|c| c == '/') && !value.is_empty() {
                    return Err(GrpcAuthError::CredentialEmpty);
                }
                found.username = Some(username.to_owned());
            }
            "Signature" => found.tag = Some(hex(value).ok_or(GrpcAuthError::ContextError)?),
            _ => {}
        }
    }
    Ok(found)
}

/// Hex digits of either case to bytes (commons-codec `Hex.decodeHex`); `None` when not hex.
fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > SIGNATURE_HEX_MAX {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [high, low] => Some((digit(*high)? << 4) | digit(*low)?),
            _ => None,
        })
        .collect()
}

/// An RPC's message: its full name (what the whitelists list) and the resources it needs
/// (`None`: nothing to authorize, as Java's builder returning null).
pub trait Needs {
    const RPC: &'static str;
    fn needs(&self) -> Result<Option<Vec<Need>>, GrpcAuthError>;
}

fn topic_name(resource: Option<&crate::proto::Resource>) -> Result<&str, GrpcAuthError> {
    resource
        .map(|r| r.name.as_str())
        .filter(|name| !name.trim().is_empty())
        .ok_or(GrpcAuthError::TopicMissing)
}

fn group_name(resource: Option<&crate::proto::Resource>) -> Result<&str, GrpcAuthError> {
    resource
        .map(|r| r.name.as_str())
        .filter(|name| !name.trim().is_empty())
        .ok_or(GrpcAuthError::GroupMissing)
}

fn publish(topic: Option<&crate::proto::Resource>) -> Result<Vec<Need>, GrpcAuthError> {
    Ok(vec![Need::new(
        Resource::topic(Some(topic_name(topic)?)),
        &[Action::Pub],
    )])
}

fn subscribe_group(group: Option<&crate::proto::Resource>) -> Result<Vec<Need>, GrpcAuthError> {
    Ok(vec![Need::new(
        Resource::group(Some(group_name(group)?)),
        &[Action::Sub],
    )])
}

/// The group's need, then the topic's.
fn subscribe(
    group: Option<&crate::proto::Resource>,
    topic: Option<&crate::proto::Resource>,
) -> Result<Vec<Need>, GrpcAuthError> {
    let mut needs = subscribe_group(group)?;
    needs.push(Need::new(Resource::topic(Some(topic_name(topic)?)), &[Action::Sub]));
    Ok(needs)
}

macro_rules! needs {
    ($($message:ident => |$request:ident| $body:expr;)+) => {$(
        impl Needs for $message {
            const RPC: &'static str = concat!("apache.rocketmq.v2.", stringify!($message));
            fn needs(&self) -> Result<Option<Vec<Need>>, GrpcAuthError> {
                let $request = self;
                $body
            }
        }
    )+};
}

needs! {
    QueryRouteRequest => |r| Ok(Some(vec![Need::new(
        Resource::topic(Some(topic_name(r.topic.as_ref())?)),
        &[Action::Pub, Action::Sub],
    )]));
    SendMessageRequest => |r| {
        let first = r.messages.first().ok_or(GrpcAuthError::MessageMissing)?;
        publish(first.topic.as_ref()).map(Some)
    };
    EndTransactionRequest => |r| publish(r.topic.as_ref()).map(Some);
    RecallMessageRequest => |r| publish(r.topic.as_ref()).map(Some);
    HeartbeatRequest => |r| {
        let consumer = matches!(
            ClientType::try_from(r.client_type),
            Ok(ClientType::PushConsumer | ClientType::SimpleConsumer | ClientType::PullConsumer)
        );
        if consumer { subscribe_group(r.group.as_ref()).map(Some) } else { Ok(None) }
    };
    ReceiveMessageRequest => |r| {
        let queue = r.message_queue.as_ref().ok_or(GrpcAuthError::MessageQueueMissing)?;
        subscribe(r.group.as_ref(), queue.topic.as_ref()).map(Some)
    };
    AckMessageRequest => |r| subscribe(r.group.as_ref(), r.topic.as_ref()).map(Some);
    ForwardMessageToDeadLetterQueueRequest => |r| subscribe(r.group.as_ref(), r.topic.as_ref()).map(Some);
    NotifyClientTerminationRequest => |r| match r.group.as_ref().filter(|g| !g.name.trim().is_empty()) {
        Some(group) => subscribe_group(Some(group)).map(Some),
        None => Ok(None),
    };
    ChangeInvisibleDurationRequest => |r| subscribe_group(r.group.as_ref()).map(Some);
    QueryAssignmentRequest => |r| subscribe(r.group.as_ref(), r.topic.as_ref()).map(Some);
    TelemetryCommand => |r| {
        let Some(telemetry_command::Command::Settings(settings)) = &r.command else {
            return Ok(None);
        };
        let mut needs = Vec::new();
        match &settings.pub_sub {
            // Answered by the settings check after this (Java: an AclException).
            None => return Ok(None),
            Some(settings::PubSub::Publishing(publishing)) => {
                for topic in &publishing.topics {
                    needs.extend(publish(Some(topic))?);
                }
            }
            Some(settings::PubSub::Subscription(subscription)) => {
                needs.extend(subscribe_group(subscription.group.as_ref())?);
                for entry in &subscription.subscriptions {
                    let topic = topic_name(entry.topic.as_ref())?;
                    needs.push(Need::new(Resource::topic(Some(topic)), &[Action::Sub]));
                }
            }
        }
        Ok(Some(needs))
    };
    PullMessageRequest => |_r| Ok(None);
    UpdateOffsetRequest => |_r| Ok(None);
    GetOffsetRequest => |_r| Ok(None);
    QueryOffsetRequest => |_r| Ok(None);
    SyncLiteSubscriptionRequest => |_r| Ok(None);
}

/// The client's address without its port or an IPv6 address's brackets.
fn source_ip(peer: &str) -> &str {
    let ip = peer.rsplit_once(':').map_or(peer, |(ip, _)| ip);
    ip.trim_start_matches('[').trim_end_matches(']')
}

/// Authentication then authorization for one call, when they are on: `Err` is the in-band
/// status to answer with.
pub fn check<M: Needs>(broker: &Broker, metadata: &MetadataMap, peer: &str, message: &M) -> Result<(), Status> {
    check_or_error(broker, metadata, peer, message).map_err(|error| error.status())
}

fn check_or_error<M: Needs>(
    broker: &Broker,
    metadata: &MetadataMap,
    peer: &str,
    message: &M,
) -> Result<(), GrpcAuthError> {
    let config = broker.config();
    let auth = &config.auth;
    let listed = |list: &[String]| list.iter().any(|rpc| rpc == M::RPC);
    let authenticate = auth.authentication_enabled && !listed(&auth.authentication_whitelist);
    let authorize = auth.authorization_enabled && !listed(&auth.authorization_whitelist);
    if !authenticate && !authorize {
        return Ok(());
    }
    let credentials = credentials(metadata)?;
    if authenticate {
        // The table lock covers the lookup only.
        let secret = broker.auth.lock().secret_of(credentials.username.as_deref())?;
        let signed = credentials
            .tag
            .as_deref()
            .is_some_and(|tag| verify_tag(credentials.datetime.as_bytes(), &secret, tag));
        if !signed {
            return Err(AuthError::SignatureMismatch.into());
        }
    }
    if authorize && let Some(needs) = message.needs()? {
        broker
            .auth
            .lock()
            .authorize(credentials.username.as_deref(), &needs, source_ip(peer))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
