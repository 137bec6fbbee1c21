//! The 5.x auth admin headers (AUTH_CREATE_USER 3001 ... AUTH_LIST_ACL 3010): every field is a
//! nullable string without `@CFNotNull`, so every one is optional here.

use crate::header::RpcFields;

custom_header! {
    /// AUTH_CREATE_USER, AUTH_UPDATE_USER, AUTH_DELETE_USER and AUTH_GET_USER (one shape).
    pub struct UserRequestHeader {
        "username" => username: Option<String>,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// AUTH_LIST_USER.
    pub struct ListUsersRequestHeader {
        "filter" => filter: Option<String>,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// AUTH_CREATE_ACL, AUTH_UPDATE_ACL and AUTH_GET_ACL (one shape).
    pub struct AclRequestHeader {
        "subject" => subject: Option<String>,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// AUTH_DELETE_ACL: without `resource`, the whole ACL goes.
    pub struct DeleteAclRequestHeader {
        "subject" => subject: Option<String>,
        "policyType" => policy_type: Option<String>,
        "resource" => resource: Option<String>,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// AUTH_LIST_ACL.
    pub struct ListAclsRequestHeader {
        "subjectFilter" => subject_filter: Option<String>,
        "resourceFilter" => resource_filter: Option<String>,
    }
    base rpc: RpcFields;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::testing::{check_header, required_keys};

    #[test]
    fn auth_headers_read_what_mqadmin_sends() {
        let header: DeleteAclRequestHeader = check_header(&[("subject", "User:alice"), ("resource", "Topic:t")]);
        assert_eq!(header.subject.as_deref(), Some("User:alice"));
        assert_eq!(header.policy_type, None);
        let header: UserRequestHeader = check_header(&[("username", "alice")]);
        assert_eq!(header.username.as_deref(), Some("alice"));
        assert!(required_keys::<ListAclsRequestHeader>(&[]).is_empty());
        assert!(required_keys::<UserRequestHeader>(&[]).is_empty());
    }
}
