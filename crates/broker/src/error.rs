//! The broker's error: every way a request can fail, and the one function that turns a failure
//! into the response code and remark a Java client expects.
//!
//! Where Java answers with a specific code and text, the variant's `Display` is Java's remark
//! exactly (clients and mqadmin print it; some tests match it). Everything else is
//! `SYSTEM_ERROR` naming the cause, where Java would surface an exception's message.

use ferrocket_store::StoreError;
use ferrocket_wire::{RemotingCommand, ResponseCode, WireError};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BrokerError {
    /// A header field is missing or malformed, or a body does not decode.
    #[error(transparent)]
    Wire(#[from] WireError),

    /// The store failed; details in the message (disk, corruption, limits).
    #[error(transparent)]
    Store(#[from] StoreError),

    /// A code the broker does not serve; the text is Java's, leading space included.
    #[error(" request type {code} not supported")]
    RequestCodeNotSupported { code: i32 },

    /// Anything Java answers with its own code and a free-form remark. Handlers build the exact
    /// remark (often long, with the FAQ link) where they know the context.
    #[error("{remark}")]
    Coded { code: ResponseCode, remark: String },
}

pub type BrokerResult<T> = Result<T, BrokerError>;

impl BrokerError {
    /// A failure answered with `code` and Java's `remark`.
    pub fn coded(code: ResponseCode, remark: impl Into<String>) -> BrokerError {
        BrokerError::Coded {
            code,
            remark: remark.into(),
        }
    }

    /// The response code a Java client sees for this failure.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            BrokerError::Wire(_) | BrokerError::Store(_) => ResponseCode::SYSTEM_ERROR,
            BrokerError::RequestCodeNotSupported { .. } => ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            BrokerError::Coded { code, .. } => *code,
        }
    }
}

/// The response to `request` reporting `error`.
pub fn error_response(request: &RemotingCommand, error: &BrokerError) -> RemotingCommand {
    RemotingCommand::response_to(request, error.response_code(), Some(error.to_string()))
}

/// Turns a handler's result into the response the transport sends.
pub fn respond(request: &RemotingCommand, result: BrokerResult<RemotingCommand>) -> Option<RemotingCommand> {
    Some(match result {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(code = request.code, %error, "request failed");
            error_response(request, &error)
        }
    })
}
