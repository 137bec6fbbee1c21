//! The 5.x auth admin bodies (AUTH_CREATE_USER ... AUTH_LIST_ACL): Java's `UserInfo` and
//! `AclInfo`. Every property is nullable in Java and left out when null, so each is an `Option`
//! here; lists of them (AUTH_LIST_USER, AUTH_LIST_ACL) are plain JSON arrays.

use serde::{Deserialize, Serialize};

use super::JsonBody;
use crate::json::field::lenient_opt;

/// A user as mqadmin sends and reads it: `userType` is `Super` or `Normal`, `userStatus`
/// `enable` or `disable` (Java matches both case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub user_status: Option<String>,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl JsonBody for UserInfo {
    const JAVA_NAME: &'static str = "UserInfo";
}

/// One subject's policies: `subject` is `User:<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AclInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<PolicyInfo>>,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl JsonBody for AclInfo {
    const JAVA_NAME: &'static str = "AclInfo";
}

/// `policyType` is `Custom` or `Default` (a missing one is `Custom`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<PolicyEntryInfo>>,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
}

/// `resource` is `*`, `Type:*`, `Type:name` or `Type:prefix*`; `actions` are Java's `Action`
/// names; `decision` is `Allow` or `Deny`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyEntryInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(deserialize_with = "lenient_opt", skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ips: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::testing::round_trip;

    /// What mqadmin 5.3.3's `createUser -u alice -p secret` and `createAcl -s User:alice
    /// -r Topic:t* -a Pub,Sub -d Allow -i 10.0.0.0/8` send (fastjson, alphabetical).
    #[test]
    fn user_and_acl_bodies_round_trip() {
        let user: UserInfo = round_trip(r#"{"password":"secret","userType":"Normal","username":"alice"}"#);
        assert_eq!(user.username.as_deref(), Some("alice"));
        assert_eq!(user.user_status, None);
        let acl: AclInfo = round_trip(
            r#"{"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:t*","sourceIps":["10.0.0.0/8"]}],"policyType":"Custom"}],"subject":"User:alice"}"#,
        );
        let entry = &acl.policies.unwrap()[0].entries.clone().unwrap()[0];
        assert_eq!(entry.resource.as_deref(), Some("Topic:t*"));
        assert_eq!(entry.source_ips.as_deref(), Some(&["10.0.0.0/8".to_owned()][..]));
    }
}
