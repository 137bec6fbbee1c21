//! Maps request codes to async handlers, for servers and for clients alike.
//!
//! A handler receives the request and a handle to the connection it came on (so it can call the
//! peer back) and returns the response, or `None` to send nothing. The transport, not the
//! handler, fills the response's `opaque` and flag; a oneway request's response is dropped; a
//! code with no handler gets `REQUEST_CODE_NOT_SUPPORTED` with Java's remark. A handler's
//! response keeps its own serialize type (`RemotingCommand::response_to` mirrors the request's,
//! which Java peers accept) unless the router forces one.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use ferrocket_wire::codes::version;
use ferrocket_wire::command::FLAG_RESPONSE;
use ferrocket_wire::{LanguageCode, RemotingCommand, RequestCode, ResponseCode, SerializeType};

use crate::connection::ConnectionHandle;
use crate::tap::{Tap, TapMark};

pub type HandlerFuture = Pin<Box<dyn Future<Output = Option<RemotingCommand>> + Send + 'static>>;

/// Serves one request code. Implemented for every `Fn(RemotingCommand, ConnectionHandle) -> impl
/// Future<Output = Option<RemotingCommand>>`.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: RemotingCommand, connection: ConnectionHandle) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(RemotingCommand, ConnectionHandle) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<RemotingCommand>> + Send + 'static,
{
    fn handle(&self, request: RemotingCommand, connection: ConnectionHandle) -> HandlerFuture {
        Box::pin(self(request, connection))
    }
}

type ClosedCallback = Arc<dyn Fn(&ConnectionHandle) + Send + Sync>;

/// The request handlers and connection callbacks of one server or client.
#[derive(Clone, Default)]
pub struct Router {
    handlers: HashMap<i32, Arc<dyn Handler>>,
    on_closed: Vec<ClosedCallback>,
    response_serialize_type: Option<SerializeType>,
    tap: Option<Arc<Tap>>,
}

impl Router {
    pub fn new() -> Router {
        Router::default()
    }

    /// Serves `code` with `handler`, replacing any earlier handler for it.
    pub fn route(mut self, code: RequestCode, handler: impl Handler) -> Router {
        self.handlers.insert(code.0, Arc::new(handler));
        self
    }

    /// Runs `callback` once after each connection closes, for whatever reason (the name server
    /// drops a broker's routes, the broker forgets a client's channel).
    pub fn on_connection_closed(mut self, callback: impl Fn(&ConnectionHandle) + Send + Sync + 'static) -> Router {
        self.on_closed.push(Arc::new(callback));
        self
    }

    /// Writes every response, including the transport's own, in `serialize_type`, as a Java
    /// process configured with `rocketmq.serialize.type` does.
    pub fn response_serialize_type(mut self, serialize_type: SerializeType) -> Router {
        self.response_serialize_type = Some(serialize_type);
        self
    }

    /// Records every request this router is asked to serve in `tap` (while it is watched).
    pub fn tap(mut self, tap: Arc<Tap>) -> Router {
        self.tap = Some(tap);
        self
    }

    pub(crate) fn tap_ref(&self) -> Option<&Arc<Tap>> {
        self.tap.as_ref()
    }

    pub(crate) fn handler(&self, code: i32) -> Option<Arc<dyn Handler>> {
        self.handlers.get(&code).cloned()
    }

    pub(crate) fn forced_serialize_type(&self) -> Option<SerializeType> {
        self.response_serialize_type
    }

    pub(crate) fn connection_closed(&self, connection: &ConnectionHandle) {
        for callback in &self.on_closed {
            callback(connection);
        }
    }
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut codes: Vec<i32> = self.handlers.keys().copied().collect();
        codes.sort_unstable();
        f.debug_struct("Router")
            .field("codes", &codes)
            .field("on_closed", &self.on_closed.len())
            .field("response_serialize_type", &self.response_serialize_type)
            .field("tapped", &self.tap.is_some())
            .finish()
    }
}

/// Java's answer to a code no processor serves (`NettyRemotingAbstract.processRequestCommand`).
pub(crate) fn not_supported(request: &RemotingCommand) -> RemotingCommand {
    let remark = format!(" request type {} not supported", request.code);
    RemotingCommand::response_to(request, ResponseCode::REQUEST_CODE_NOT_SUPPORTED, Some(remark))
}

/// What Java sends when a processor throws; here, when a handler panics or its response cannot
/// be encoded.
pub(crate) fn system_error(request: &RequestSummary, remark: String) -> RemotingCommand {
    RemotingCommand {
        code: ResponseCode::SYSTEM_ERROR.0,
        language: LanguageCode::JAVA,
        version: version::CURRENT,
        opaque: request.opaque,
        flag: FLAG_RESPONSE,
        remark: Some(remark),
        ext_fields: None,
        body: None,
        serialize_type: request.serialize_type,
    }
}

/// What the transport keeps of a request while its handler runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestSummary {
    pub(crate) code: i32,
    pub(crate) opaque: i32,
    pub(crate) oneway: bool,
    pub(crate) serialize_type: SerializeType,
    /// The tap's record of the request, when someone watched as it arrived: its answer is
    /// recorded too.
    pub(crate) tap_mark: Option<TapMark>,
}

impl RequestSummary {
    pub(crate) fn of(request: &RemotingCommand) -> RequestSummary {
        RequestSummary {
            code: request.code,
            opaque: request.opaque,
            oneway: request.is_oneway(),
            serialize_type: request.serialize_type,
            tap_mark: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_supported_carries_javas_remark() {
        let mut request = RemotingCommand::request(RequestCode(9999));
        request.opaque = 42;
        request.serialize_type = SerializeType::RocketMq;
        let response = not_supported(&request);
        assert_eq!(response.code, 3);
        assert_eq!(response.opaque, 42);
        assert!(response.is_response());
        assert_eq!(response.remark.as_deref(), Some(" request type 9999 not supported"));
        assert_eq!(response.serialize_type, SerializeType::RocketMq);
    }
}
