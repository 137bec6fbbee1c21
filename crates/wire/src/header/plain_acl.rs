//! The ACL 1.0 admin headers of 4.9.x (UPDATE_AND_CREATE_ACL_CONFIG 50, DELETE_ACL_CONFIG 51,
//! GET_BROKER_CLUSTER_ACL_INFO 52's answer, UPDATE_GLOBAL_WHITE_ADDRS_CONFIG 53), as 4.9.8's
//! `DefaultMQAdminExt` and mqadmin send them. Java's `@CFNotNull` fields are required here.

use crate::header::RpcFields;

custom_header! {
    /// UPDATE_AND_CREATE_ACL_CONFIG: one account; the permission lists are comma-separated
    /// (`topicA=PUB,topicB=SUB`).
    pub struct CreateAccessConfigRequestHeader {
        "accessKey" => access_key: String,
        "secretKey" => secret_key: Option<String>,
        "whiteRemoteAddress" => white_remote_address: Option<String>,
        "admin" => admin: bool = false,
        "defaultTopicPerm" => default_topic_perm: Option<String>,
        "defaultGroupPerm" => default_group_perm: Option<String>,
        "topicPerms" => topic_perms: Option<String>,
        "groupPerms" => group_perms: Option<String>,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// DELETE_ACL_CONFIG.
    pub struct DeleteAccessConfigRequestHeader {
        "accessKey" => access_key: String,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG: the whole new list (comma-separated) for one file.
    /// mqadmin 4.9.8's `updateGlobalWhiteAddr` sends no path; the 4.9.x broker then updates its
    /// default file (observed), so the path is optional.
    pub struct UpdateGlobalWhiteAddrsConfigRequestHeader {
        "globalWhiteAddrs" => global_white_addrs: String,
        "aclFileFullPath" => acl_file_full_path: Option<String>,
    }
    base rpc: RpcFields;
}

custom_header! {
    /// GET_BROKER_CLUSTER_ACL_INFO's answer: `version` is the default file's `DataVersion` as
    /// JSON, `allAclFileVersion` a JSON object of every file's, by path.
    pub struct GetBrokerAclConfigResponseHeader {
        "version" => version: String,
        "allAclFileVersion" => all_acl_file_version: Option<String>,
        "brokerName" => broker_name: String,
        "brokerAddr" => broker_addr: String,
        "clusterName" => cluster_name: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::testing::check_header;

    #[test]
    fn plain_acl_headers_read_what_the_4_9_8_admin_sends() {
        let header: CreateAccessConfigRequestHeader = check_header(&[
            ("accessKey", "rocketmq2"),
            ("secretKey", "12345678"),
            ("admin", "false"),
            ("topicPerms", "topicA=PUB,topicB=SUB"),
        ]);
        assert_eq!(header.access_key, "rocketmq2");
        assert_eq!(header.topic_perms.as_deref(), Some("topicA=PUB,topicB=SUB"));
        assert!(!header.admin);
        assert_eq!(header.group_perms, None);
        let header: UpdateGlobalWhiteAddrsConfigRequestHeader = check_header(&[
            ("globalWhiteAddrs", "10.10.1.*,127.0.0.1"),
            ("aclFileFullPath", "/a.yml"),
        ]);
        assert_eq!(header.acl_file_full_path.as_deref(), Some("/a.yml"));
        let header: UpdateGlobalWhiteAddrsConfigRequestHeader =
            check_header(&[("globalWhiteAddrs", "10.10.1.*,127.0.0.1")]);
        assert_eq!(header.acl_file_full_path, None, "mqadmin 4.9.8 sends no path");
    }
}
