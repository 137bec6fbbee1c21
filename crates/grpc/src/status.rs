//! The in-band status every answer carries, as Java's proxy builds it (`ResponseBuilder`): a
//! failed request still gets gRPC OK, with the failure in `status.code` and `status.message`.

use ferrocket_wire::ResponseCode;

use crate::proto::{Code, Status};

/// `Status{code, message}`.
pub fn status(code: Code, message: impl Into<String>) -> Status {
    Status {
        code: code as i32,
        message: message.into(),
    }
}

/// Success, with the code's name as its message, as Java answers.
pub fn ok() -> Status {
    status(Code::Ok, "OK")
}

/// Java's `ResponseBuilder.buildCode`: the few broker response codes the proxy maps; any other is
/// INTERNAL_SERVER_ERROR.
pub fn code_of_remoting(code: ResponseCode) -> Code {
    match code {
        ResponseCode::SUCCESS => Code::Ok,
        ResponseCode::SYSTEM_BUSY => Code::TooManyRequests,
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED => Code::NotImplemented,
        ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST => Code::ConsumerGroupNotFound,
        _ => Code::InternalServerError,
    }
}

/// A failure Java raises as a `ProxyException`: wrapped into a `GrpcProxyException` by its
/// cause, so the message the client sees is the cause's `toString()`, class name first.
pub fn proxy_exception(code: Code, message: &str) -> Status {
    status(
        code,
        format!("org.apache.rocketmq.proxy.common.ProxyException: {message}"),
    )
}

/// The client library's FAQ line, which its `MQClientException` appends (the broker's own
/// remarks end with a different one).
const CLIENT_FAQ_SUFFIX: &str =
    "\nFor more information, please visit the url, https://rocketmq.apache.org/docs/bestPractice/06FAQ";

/// Java's message for a topic with no route (`TopicRouteService`, through `MQClientException`,
/// which prefixes the response code and appends the FAQ line), as the 5.2.0 client shows it.
pub fn topic_not_found(topic: &str) -> Status {
    status(
        Code::TopicNotFound,
        format!("CODE: 17  DESC: No topic route info in name server for the topic: {topic}{CLIENT_FAQ_SUFFIX}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_four_broker_codes_are_mapped() {
        assert_eq!(code_of_remoting(ResponseCode::SUCCESS), Code::Ok);
        assert_eq!(code_of_remoting(ResponseCode::SYSTEM_BUSY), Code::TooManyRequests);
        assert_eq!(
            code_of_remoting(ResponseCode::REQUEST_CODE_NOT_SUPPORTED),
            Code::NotImplemented
        );
        assert_eq!(
            code_of_remoting(ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST),
            Code::ConsumerGroupNotFound
        );
        assert_eq!(code_of_remoting(ResponseCode::NO_PERMISSION), Code::InternalServerError);
        assert_eq!(
            code_of_remoting(ResponseCode::TOPIC_NOT_EXIST),
            Code::InternalServerError
        );
    }

    #[test]
    fn topic_not_found_reads_as_javas() {
        let status = topic_not_found("T");
        assert_eq!(status.code, 40402);
        assert_eq!(
            status.message,
            "CODE: 17  DESC: No topic route info in name server for the topic: T\n\
             For more information, please visit the url, https://rocketmq.apache.org/docs/bestPractice/06FAQ"
        );
    }
}
