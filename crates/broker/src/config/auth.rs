//! Java's `AuthConfig` keys, read from `broker.conf` as Java's `BrokerStartup` reads them
//! (`MixAll.properties2Object(properties, authConfig)`). Java leaves them out of
//! GET_BROKER_CONFIG and UPDATE_BROKER_CONFIG, and so do we: they hold secrets, and switching
//! auth off at run time would be an attack, not a setting.
//!
//! Java needs `authenticationProvider` / `authenticationMetadataProvider` (and the authorization
//! pair) set to its classes as well; we have one provider and one store, so those keys are
//! accepted as unknown keys and change nothing.

use ferrocket_wire::settings::{Scope, Setting, parse_bool};
use serde::Deserialize;

use super::BrokerConfig;

/// Authentication and authorization, off unless configured (Java's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// `authenticationEnabled`: every request must carry a valid `AccessKey`/`Signature`.
    pub authentication_enabled: bool,
    /// `authorizationEnabled`: every request is checked against the user's ACL.
    pub authorization_enabled: bool,
    /// `authenticationWhitelist`: request codes (as numbers) exempt from authentication.
    pub authentication_whitelist: Vec<String>,
    /// `authorizationWhitelist`: request codes exempt from authorization.
    pub authorization_whitelist: Vec<String>,
    /// `initAuthenticationUser`: `{"username":..,"password":..}`, created as a super user at
    /// start when absent.
    pub init_user: Option<InitUser>,
    /// `innerClientAuthenticationCredentials`: `{"accessKey":..,"secretKey":..}`, the broker's
    /// own identity, created as a super user at start when absent.
    pub inner_credentials: Option<InnerCredentials>,
    /// `aclEnable`: ACL 1.0, the accounts of `${ROCKETMQ_HOME}/conf/plain_acl.yml` and
    /// `conf/acl/**/*.yml` checked before every request (state::plain_acl).
    pub acl_enable: bool,
    /// `plainAclFile` (ours): the one ACL 1.0 file to read instead of Java's locations, for
    /// brokers started without `ROCKETMQ_HOME`.
    pub plain_acl_file: Option<String>,
    /// `migrateAuthFromV1Enabled`: the ACL 1.0 accounts imported as 5.x users and ACLs at start
    /// (users already present are left alone), as Java 5.3.3's `AuthMigrator` does.
    pub migrate_auth_from_v1: bool,
}

/// `initAuthenticationUser`'s JSON (fastjson reads it into a `User`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InitUser {
    pub username: String,
    pub password: String,
}

/// `innerClientAuthenticationCredentials`' JSON (a `SessionCredentials`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnerCredentials {
    pub access_key: String,
    pub secret_key: String,
}

/// `StringUtils.split(list, ",")`, each trimmed.
fn parse_code_list(value: &str) -> Result<Vec<String>, String> {
    Ok(value
        .split(',')
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect())
}

fn parse_json<T: for<'de> Deserialize<'de>>(value: &str) -> Result<Option<T>, String> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(value)
        .map(Some)
        .map_err(|_| "a JSON object with both names set".to_owned())
}

/// The auth keys, sorted; not in [`super::SETTINGS`] so that neither GET_BROKER_CONFIG nor
/// UPDATE_BROKER_CONFIG sees them. `show` is never called.
pub const AUTH_SETTINGS: &[Setting<BrokerConfig>] = &[
    Setting {
        key: "aclEnable",
        scope: Scope::Startup,
        show: |c| c.auth.acl_enable.to_string(),
        set: |c, v| parse_bool(v).map(|x| c.auth.acl_enable = x),
    },
    Setting {
        key: "authenticationEnabled",
        scope: Scope::Startup,
        show: |c| c.auth.authentication_enabled.to_string(),
        set: |c, v| parse_bool(v).map(|x| c.auth.authentication_enabled = x),
    },
    Setting {
        key: "authenticationWhitelist",
        scope: Scope::Startup,
        show: |c| c.auth.authentication_whitelist.join(","),
        set: |c, v| parse_code_list(v).map(|x| c.auth.authentication_whitelist = x),
    },
    Setting {
        key: "authorizationEnabled",
        scope: Scope::Startup,
        show: |c| c.auth.authorization_enabled.to_string(),
        set: |c, v| parse_bool(v).map(|x| c.auth.authorization_enabled = x),
    },
    Setting {
        key: "authorizationWhitelist",
        scope: Scope::Startup,
        show: |c| c.auth.authorization_whitelist.join(","),
        set: |c, v| parse_code_list(v).map(|x| c.auth.authorization_whitelist = x),
    },
    Setting {
        key: "initAuthenticationUser",
        scope: Scope::Startup,
        show: |_| String::new(),
        set: |c, v| parse_json(v).map(|x| c.auth.init_user = x),
    },
    Setting {
        key: "innerClientAuthenticationCredentials",
        scope: Scope::Startup,
        show: |_| String::new(),
        set: |c, v| parse_json(v).map(|x| c.auth.inner_credentials = x),
    },
    Setting {
        key: "migrateAuthFromV1Enabled",
        scope: Scope::Startup,
        show: |c| c.auth.migrate_auth_from_v1.to_string(),
        set: |c, v| parse_bool(v).map(|x| c.auth.migrate_auth_from_v1 = x),
    },
    Setting {
        key: "plainAclFile",
        scope: Scope::Startup,
        show: |c| c.auth.plain_acl_file.clone().unwrap_or_default(),
        set: |c, v| {
            c.auth.plain_acl_file = Some(v.trim().to_owned()).filter(|path| !path.is_empty());
            Ok(())
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_keys_are_read_and_kept_out_of_get_broker_config() {
        let config = BrokerConfig::from_properties_text(
            "authenticationEnabled=true\nauthorizationEnabled=true\nauthenticationWhitelist=10, 34\n\
             initAuthenticationUser={\"username\":\"rocketmq\",\"password\":\"12345678\"}\n\
             innerClientAuthenticationCredentials={\"accessKey\":\"inner\",\"secretKey\":\"s3\"}\n",
        )
        .unwrap();
        assert!(config.auth.authentication_enabled && config.auth.authorization_enabled);
        assert_eq!(config.auth.authentication_whitelist, ["10", "34"]);
        assert_eq!(config.auth.init_user.as_ref().unwrap().password, "12345678");
        assert_eq!(config.auth.inner_credentials.as_ref().unwrap().access_key, "inner");
        let shown = config.to_properties();
        assert!(
            !shown.contains("12345678") && !shown.contains("authenticationEnabled"),
            "{shown}"
        );
        assert!(
            config
                .update_from_properties(&[("authenticationEnabled".into(), "false".into())], 1)
                .is_err()
        );
        assert!(BrokerConfig::from_properties_text("initAuthenticationUser={\"username\":1}").is_err());
    }

    #[test]
    fn auth_settings_are_sorted() {
        let keys: Vec<_> = AUTH_SETTINGS.iter().map(|s| s.key).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
    }
}
