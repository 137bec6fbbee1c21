//! ACL 1.0's admin codes, as Java 4.9.8's `AdminBrokerProcessor` answers them with `aclEnable`:
//! UPDATE_AND_CREATE_ACL_CONFIG (50), DELETE_ACL_CONFIG (51), GET_BROKER_CLUSTER_ACL_INFO (52)
//! and UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53). 4.9.8 has no GET_BROKER_CLUSTER_ACL_CONFIG (54)
//! and answers it REQUEST_CODE_NOT_SUPPORTED; so do we. The guard already made sure the caller
//! is an admin account (`plain_acl::ADMIN_CODES`, 52 and 53 included, which 4.9.8 leaves open).
//!
//! A failure is 209 / 210 / 211 with Java's remark: the reason for a refused account, "The
//! accesskey[k] corresponding to accessConfig has been deleted failed." for an unknown key, "The
//! globalWhiteAddresses[..] has been updated failed." for a file we do not read. Java also writes
//! global whitelists into any `.yml` under `ROCKETMQ_HOME`; we write only the ACL files. With
//! `aclEnable` off Java fails on a null validator (52: no answer at all); we say it is off.

use std::collections::BTreeMap;

use ferrocket_wire::header::{
    CreateAccessConfigRequestHeader, CustomHeader, DeleteAccessConfigRequestHeader, GetBrokerAclConfigResponseHeader,
    UpdateGlobalWhiteAddrsConfigRequestHeader,
};
use ferrocket_wire::{RemotingCommand, ResponseCode};
use serde::Serialize;

use crate::error::BrokerResult;
use crate::state::Broker;
use crate::state::plain_acl::PLAIN_ACL_KEY_CHARS_MIN;
use crate::state::plain_acl::edit::{self, AccountChange, FileVersion};
use crate::state::plain_acl_store::{PlainAclStore, Target};

const ACL_OFF: &str = "ACL 1.0 is off (aclEnable=false)";

fn answer(
    request: &RemotingCommand,
    result: Result<bool, String>,
    failed: ResponseCode,
    remark: String,
) -> RemotingCommand {
    match result {
        Ok(true) => RemotingCommand::response_to(request, ResponseCode::SUCCESS, None),
        Ok(false) => RemotingCommand::response_to(request, failed, Some(remark)),
        Err(reason) => {
            tracing::warn!(code = request.code, %reason, "ACL 1.0 change refused");
            RemotingCommand::response_to(request, failed, Some(reason))
        }
    }
}

fn store(broker: &Broker) -> Result<&PlainAclStore, String> {
    broker.plain_acl.as_ref().ok_or_else(|| ACL_OFF.to_owned())
}

/// UPDATE_AND_CREATE_ACL_CONFIG: one account added, or updated where it is written.
pub fn update_and_create(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = CreateAccessConfigRequestHeader::from_command(request)?;
    let failed = ResponseCode::UPDATE_AND_CREATE_ACL_CONFIG_FAILED;
    let remark = format!(
        "The accesskey[{}] corresponding to accessConfig has been updated failed.",
        header.access_key
    );
    let change = AccountChange {
        access_key: header.access_key.clone(),
        secret_key: header.secret_key.clone().unwrap_or_default(),
        white_remote_address: header.white_remote_address.clone(),
        admin: header.admin,
        default_topic_perm: header.default_topic_perm.clone(),
        default_group_perm: header.default_group_perm.clone(),
        topic_perms: header.topic_perms.as_deref().map(edit::split_list),
        group_perms: header.group_perms.as_deref().map(edit::split_list),
    };
    let result = check_account(&change).and_then(|()| {
        store(broker)?.edit(Target::Account(&change.access_key), |text| {
            edit::upsert_account(text, &change, broker.now_ms()).map(Some)
        })
    });
    Ok(answer(request, result, failed, remark))
}

/// `checkPlainAccessConfig` and `checkResourcePerms`, before anything is read (the secret is
/// not echoed, unlike Java's remark).
fn check_account(change: &AccountChange) -> Result<(), String> {
    if change.access_key.chars().count() < PLAIN_ACL_KEY_CHARS_MIN
        || change.secret_key.chars().count() < PLAIN_ACL_KEY_CHARS_MIN
    {
        return Err(format!(
            "The accessKey={} and secretKey=*** cannot be null and length should longer than 6",
            change.access_key
        ));
    }
    for list in [&change.topic_perms, &change.group_perms].into_iter().flatten() {
        edit::check_resource_perms(list)?;
    }
    Ok(())
}

/// DELETE_ACL_CONFIG: the account goes from its file.
pub fn delete(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = DeleteAccessConfigRequestHeader::from_command(request)?;
    let access_key = header.access_key;
    let remark = format!("The accesskey[{access_key}] corresponding to accessConfig has been deleted failed.");
    let result = store(broker).and_then(|store| {
        if access_key.is_empty() || store.current().file_of(&access_key).is_none() {
            return Ok(false);
        }
        store.edit(Target::Account(&access_key), |text| {
            edit::delete_account(text, &access_key, broker.now_ms())
        })
    });
    Ok(answer(request, result, ResponseCode::DELETE_ACL_CONFIG_FAILED, remark))
}

/// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG: one file's global whitelist replaced.
pub fn update_global_white(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let header = UpdateGlobalWhiteAddrsConfigRequestHeader::from_command(request)?;
    let remark = format!(
        "The globalWhiteAddresses[{}] has been updated failed.",
        header.global_white_addrs
    );
    let addresses = edit::split_list(&header.global_white_addrs);
    let result = store(broker).and_then(|store| {
        let default = store.default_file().map_err(|e| e.to_string())?;
        let file = match header.acl_file_full_path.as_deref().map_or("", str::trim) {
            "" => default.display().to_string(),
            path => path.to_owned(),
        };
        match store.edit(Target::File(&file), |text| {
            edit::set_global_white(text, &addresses, broker.now_ms()).map(Some)
        }) {
            Err(reason) if reason.ends_with("is not one of the ACL files") => Ok(false),
            other => other,
        }
    });
    Ok(answer(
        request,
        result,
        ResponseCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED,
        remark,
    ))
}

/// Java's `DataVersion` JSON (fastjson: keys in name order).
#[derive(Serialize)]
struct VersionJson {
    counter: i64,
    timestamp: i64,
}

impl From<FileVersion> for VersionJson {
    fn from(version: FileVersion) -> VersionJson {
        VersionJson {
            counter: version.counter,
            timestamp: version.timestamp,
        }
    }
}

/// GET_BROKER_CLUSTER_ACL_INFO: the default file's version and every file's, with the broker's
/// names and address.
pub fn cluster_acl_info(broker: &Broker, request: &RemotingCommand) -> BrokerResult<RemotingCommand> {
    let Some(store) = broker.plain_acl.as_ref() else {
        return Ok(RemotingCommand::response_to(
            request,
            ResponseCode::SYSTEM_ERROR,
            Some(ACL_OFF.to_owned()),
        ));
    };
    let acl = store.current();
    let default = store.default_file()?.display().to_string();
    let all: BTreeMap<&str, VersionJson> = acl
        .versions()
        .iter()
        .map(|(name, version)| (name.as_str(), VersionJson::from(*version)))
        .collect();
    let default_version = acl
        .versions()
        .iter()
        .find(|(name, _)| *name == default)
        .map(|(_, version)| *version)
        .unwrap_or_default();
    let config = broker.config();
    let header = GetBrokerAclConfigResponseHeader {
        version: json_text(&VersionJson::from(default_version)),
        all_acl_file_version: Some(json_text(&all)),
        broker_name: config.broker_name.clone(),
        broker_addr: broker.address().to_owned(),
        cluster_name: config.broker_cluster_name.clone(),
    };
    Ok(RemotingCommand::response_to(request, ResponseCode::SUCCESS, None).with_ext_fields(header.to_ext_fields()))
}

fn json_text<T: Serialize + ?Sized>(value: &T) -> String {
    String::from_utf8_lossy(&ferrocket_wire::json::encode(value)).into_owned()
}
