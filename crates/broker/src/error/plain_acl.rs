//! ACL 1.0 refusals (`crate::state::plain_acl`): Java 4.9.8 throws an `AclException` from its
//! server hook, which the remoting layer answers with SYSTEM_ERROR and the remark
//! `UtilAll.exceptionSimpleDesc(e)`: the exception's `toString()`, `, `, and its first stack
//! frame. [`AclRefusal::remark`] writes that remark with the frame a 4.9.8 broker writes (the
//! line numbers are those of the 4.9.8 sources), so clients that print it print Java's text.

use thiserror::Error;

/// Every way ACL 1.0 refuses a request; `Display` is Java's exception message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AclRefusal {
    #[error("No accessKey is configured")]
    NoAccessKey,
    #[error("No acl config for {access_key}")]
    UnknownAccessKey { access_key: String },
    #[error("Check signature failed for accessKey={access_key}")]
    SignatureMismatch { access_key: String },
    #[error("Need admin permission for request code={code}, but accessKey={access_key} is not")]
    NeedAdmin { code: i32, access_key: String },
    /// `resource` is `topic:<name>` or `group:<name>`; 4.9.8 says "default" for explicit grants
    /// too (`explicit`: the account lists the resource).
    #[error("No default permission for {resource}")]
    NoPermission { resource: String, explicit: bool },
    /// The header or body the needed resources are read from does not decode.
    #[error("{message}")]
    Unparsable { message: String },
}

const EXCEPTION: &str = "org.apache.rocketmq.acl.common.AclException";
const MANAGER: &str = "org.apache.rocketmq.acl.plain.PlainPermissionManager";

impl AclRefusal {
    /// Where 4.9.8 throws it: the remark's stack frame.
    fn frame(&self) -> String {
        let (method, line) = match self {
            AclRefusal::NoAccessKey => ("validate", 664),
            AclRefusal::UnknownAccessKey { .. } => ("validate", 668),
            AclRefusal::SignatureMismatch { .. } => ("validate", 684),
            AclRefusal::NeedAdmin { .. } => ("checkPerm", 581),
            AclRefusal::NoPermission { explicit: false, .. } => ("checkPerm", 606),
            AclRefusal::NoPermission { explicit: true, .. } => ("checkPerm", 611),
            AclRefusal::Unparsable { .. } => {
                return "org.apache.rocketmq.acl.plain.PlainAccessValidator.parse(PlainAccessValidator.java:134)"
                    .into();
            }
        };
        format!("{MANAGER}.{method}(PlainPermissionManager.java:{line})")
    }

    /// The response's remark, as Java's `exceptionSimpleDesc` writes it.
    pub fn remark(&self) -> String {
        format!("{EXCEPTION}: {self}, {}", self.frame())
    }
}
