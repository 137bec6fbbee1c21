//! The auth failures (`crate::state::auth`): each variant's `Display` is Java 5.3.3's remark,
//! [`AuthError::response_code`] its code (NO_PERMISSION for Java's `AuthenticationException`
//! and `AuthorizationException`, the codes `AdminBrokerProcessor` picks otherwise).

use ferrocket_wire::ResponseCode;
use thiserror::Error;

/// Why a need is refused: the detail Java appends to its denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoMatchedPolicies,
    DecisionIsDeny,
}

impl Refusal {
    pub fn detail(self) -> &'static str {
        match self {
            Refusal::NoMatchedPolicies => "no matched policies.",
            Refusal::DecisionIsDeny => "the decision is deny.",
        }
    }
}

/// Every way an auth check or admin operation fails; `Display` is Java's remark.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    // Authentication (`DefaultAuthenticationHandler`).
    #[error("username cannot be null.")]
    UsernameMissing,
    #[error("User:{username} is not found.")]
    UserNotFound { username: String },
    #[error("User:{username} is disabled.")]
    UserDisabled { username: String },
    #[error("check signature failed.")]
    SignatureMismatch,

    // Authorization (`UserAuthorizationHandler`, `AclAuthorizationHandler`).
    /// A request without `AccessKey` reaches Java's handler with a null subject, which fails
    /// with a NullPointerException that Java wraps in this remark.
    #[error("Authorization failed. Please verify your access rights and try again.")]
    SubjectMissing,
    #[error("User:{username} not found.")]
    AuthorizedUserNotFound { username: String },
    #[error("{subject} has no permission to access {resource} from {source_ip}, {}", .refusal.detail())]
    Denied {
        subject: String,
        resource: String,
        source_ip: String,
        refusal: Refusal,
    },
    /// A header or body the needs are read from does not decode.
    #[error("parse authorization context error.")]
    ContextUnparsable,

    // Admin operations (`AuthenticationMetadataManagerImpl`, `AuthorizationMetadataManagerImpl`).
    #[error("The username is blank")]
    UsernameBlank,
    #[error("username can not be blank")]
    UsernameCanNotBeBlank,
    #[error("password can not be blank")]
    PasswordBlank,
    #[error("The user is existed")]
    UserExists,
    #[error("The user is not exist")]
    UserNotExist,
    /// Refused before the store is asked (SYSTEM_ERROR in Java).
    #[error("The super user can only be {verb} by super user")]
    SuperUserOnlyBySuperUser { verb: &'static str },
    /// Refused after the store is asked (NO_PERMISSION in Java).
    #[error("The super user can only be update by super user")]
    StoredSuperUserOnlyBySuperUser,
    #[error("The body of acl is null")]
    AclBodyMissing,
    #[error("The subject of {subject} is not exist.")]
    AclSubjectOfNotExist { subject: String },
    #[error("The subject is not exist.")]
    AclSubjectNotExist,
    #[error("The subject is null.")]
    AclSubjectNull,
    #[error("The acl is not exist.")]
    AclNotExist,
    #[error("The policies is empty.")]
    PoliciesEmpty,
    #[error("The resource is null.")]
    ResourceMissing,
    #[error("The actions is empty.")]
    ActionsEmpty,
    #[error("The actions can not be Any.")]
    ActionsAny,
    #[error("The source ip is empty.")]
    SourceIpEmpty,
    #[error("The source ip is invalid.")]
    SourceIpInvalid,
    #[error("The decision is null or illegal.")]
    DecisionIllegal,
    /// Java's answer to anything it did not foresee (a missing subject type, say).
    #[error("An system error occurred, please try again later.")]
    Internal,
    /// Ours: `AUTH_USERS_MAX` or `ACL_ENTRIES_MAX` (state::auth) reached.
    #[error("too many {what} (limit {limit})")]
    TooMany { what: &'static str, limit: usize },
}

impl AuthError {
    pub fn response_code(&self) -> ResponseCode {
        match self {
            AuthError::UsernameBlank => ResponseCode::INVALID_PARAMETER,
            AuthError::SuperUserOnlyBySuperUser { .. }
            | AuthError::AclBodyMissing
            | AuthError::Internal
            | AuthError::TooMany { .. } => ResponseCode::SYSTEM_ERROR,
            _ => ResponseCode::NO_PERMISSION,
        }
    }
}
