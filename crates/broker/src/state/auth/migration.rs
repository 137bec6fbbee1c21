//! `migrateAuthFromV1Enabled`: ACL 1.0 accounts become 5.x users and ACLs, as Java 5.3.3's
//! `AuthMigrator` makes them, once per access key (an existing user is left as it is):
//!
//! * the account → a user with its secret as password, Super when `admin`, else Normal;
//! * `topicPerms` then `groupPerms` → one Custom policy, an entry per resource (`Topic:<t>` /
//!   `Group:<g>`), `DENY` → Deny All, `PUB`/`SUB`/`PUB|SUB` → Allow those actions;
//! * `defaultTopicPerm` / `defaultGroupPerm` → a Default policy on `Topic:*` / `Group:*`.
//!
//! One difference, on purpose: Java turns a permission it does not know (`ANY`, `pub`) into
//! Allow All, granting everything where ACL 1.0 granted nothing; we make it Deny All, what the
//! account had. Whitelisted addresses are not carried over (Java drops them too: 5.x policies
//! name source IPs per entry, not per account).

use super::model::{
    Acl, Action, Decision, Policy, PolicyEntry, PolicyType, Resource, ResourceType, User, UserStatus, UserType,
};
use super::{AuthResult, AuthTable, subject_key};
use crate::state::plain_acl::FileConfig;

/// Imports every account not yet a user (first file wins, as in ACL 1.0); returns how many.
pub fn migrate(table: &mut AuthTable, files: &[(String, FileConfig)]) -> AuthResult<usize> {
    let mut migrated = 0;
    for account in files.iter().flat_map(|(_, file)| &file.accounts) {
        if account.access_key.trim().is_empty() || table.user(&account.access_key).is_some() {
            continue;
        }
        table.create_user(User {
            username: account.access_key.clone(),
            password: account.secret_key.clone(),
            user_type: if account.admin {
                UserType::Super
            } else {
                UserType::Normal
            },
            user_status: UserStatus::Enable,
        })?;
        let mut policies = Vec::new();
        let custom: Vec<PolicyEntry> = [
            (&account.topic_perms, ResourceType::Topic),
            (&account.group_perms, ResourceType::Group),
        ]
        .into_iter()
        .flat_map(|(perms, kind)| perms.iter().filter_map(move |text| resource_entry(text, kind)))
        .collect();
        if !custom.is_empty() {
            policies.push(Policy {
                policy_type: PolicyType::Custom,
                entries: custom,
            });
        }
        let defaults: Vec<PolicyEntry> = [
            (&account.default_topic_perm, ResourceType::Topic),
            (&account.default_group_perm, ResourceType::Group),
        ]
        .into_iter()
        .filter_map(|(perm, kind)| {
            let perm = perm.as_deref().map(str::trim).filter(|p| !p.is_empty())?;
            Some(entry(Resource::parse(&format!("{}:*", kind.name()))?, perm))
        })
        .collect();
        if !defaults.is_empty() {
            policies.push(Policy {
                policy_type: PolicyType::Default,
                entries: defaults,
            });
        }
        if !policies.is_empty() {
            table.insert_acl(Acl {
                subject: subject_key(&account.access_key),
                policies,
            })?;
        }
        migrated += 1;
    }
    Ok(migrated)
}

/// `name=PERM` (split on `=`, empty pieces dropped, exactly two); anything else is skipped.
fn resource_entry(text: &str, kind: ResourceType) -> Option<PolicyEntry> {
    let mut pieces = text.split('=').filter(|p| !p.is_empty());
    let (name, perm) = (pieces.next()?.trim(), pieces.next()?.trim());
    if pieces.next().is_some() {
        return None;
    }
    Some(entry(Resource::literal(kind, Some(name)), perm))
}

fn entry(resource: Resource, perm: &str) -> PolicyEntry {
    let (actions, decision) = match perm {
        "PUB" => (vec![Action::Pub], Decision::Allow),
        "SUB" => (vec![Action::Sub], Decision::Allow),
        "PUB|SUB" | "SUB|PUB" => (vec![Action::Pub, Action::Sub], Decision::Allow),
        _ => (vec![Action::All], Decision::Deny),
    };
    PolicyEntry {
        resource,
        actions,
        source_ips: Vec::new(),
        decision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthConfig;
    use crate::state::auth::model::Pattern;
    use crate::state::plain_acl::file;

    #[test]
    fn accounts_become_users_and_policies_as_java_migrates_them() {
        let text = "accounts:
  - accessKey: appUser01
    secretKey: s3cretKey
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms: [orders=PUB|SUB, closed=DENY, bad]
    groupPerms: [billing=SUB, odd=ANY]
  - accessKey: opsAdmin01
    secretKey: an0therKey
    admin: true
  - accessKey: existing
    secretKey: ignored1
";
        let files = vec![("plain_acl.yml".to_owned(), file::parse(text).unwrap())];
        let config = AuthConfig {
            init_user: Some(crate::config::InitUser {
                username: "existing".into(),
                password: "kept-password".into(),
            }),
            ..AuthConfig::default()
        };
        let (mut table, _) = AuthTable::load(Vec::new(), Vec::new(), &config).unwrap();
        assert_eq!(migrate(&mut table, &files).unwrap(), 2);
        assert_eq!(migrate(&mut table, &files).unwrap(), 0, "once per access key");
        assert_eq!(table.user("existing").unwrap().password, "kept-password");
        assert_eq!(table.user("opsAdmin01").unwrap().user_type, UserType::Super);
        let user = table.user("appUser01").unwrap();
        assert_eq!(
            (user.user_type, user.password.as_str()),
            (UserType::Normal, "s3cretKey")
        );
        assert!(
            table.acl(Some("User:opsAdmin01")).unwrap().is_none(),
            "an admin without grants has no ACL"
        );
        let acl = table.acl(Some("User:appUser01")).unwrap().unwrap();
        let custom = acl.policy(PolicyType::Custom).unwrap();
        let summary: Vec<(String, Vec<Action>, Decision)> = custom
            .entries
            .iter()
            .map(|e| (e.resource.key(), e.actions.clone(), e.decision))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "Topic:orders".to_owned(),
                    vec![Action::Pub, Action::Sub],
                    Decision::Allow
                ),
                ("Topic:closed".to_owned(), vec![Action::All], Decision::Deny),
                ("Group:billing".to_owned(), vec![Action::Sub], Decision::Allow),
                // Java: Allow All; ours keeps what ACL 1.0 granted (nothing).
                ("Group:odd".to_owned(), vec![Action::All], Decision::Deny),
            ]
        );
        let defaults = &acl.policy(PolicyType::Default).unwrap().entries;
        assert_eq!(defaults.len(), 2);
        assert_eq!(defaults[0].resource.key(), "Topic:*");
        assert_eq!(defaults[0].resource.pattern, Pattern::Any);
        assert_eq!(defaults[0].decision, Decision::Deny);
        assert_eq!(
            (defaults[1].resource.key(), defaults[1].decision),
            ("Group:*".to_owned(), Decision::Allow)
        );
        // The imported user is held to what the 1.0 account had.
        let may = |resource: Resource, action: Action| {
            let need = crate::state::auth::policy::Need::new(resource, &[action]);
            table.authorize(Some("appUser01"), &[need], "127.0.0.1").is_ok()
        };
        assert!(may(Resource::topic(Some("orders")), Action::Pub));
        assert!(!may(Resource::topic(Some("closed")), Action::Sub));
        assert!(
            !may(Resource::topic(Some("unlisted")), Action::Pub),
            "defaultTopicPerm DENY"
        );
        assert!(
            may(Resource::group(Some("anyGroup")), Action::Sub),
            "defaultGroupPerm SUB"
        );
        assert!(!may(Resource::group(Some("odd")), Action::Sub));
    }
}
