//! Java 5.3.3's auth model (`User`, `Resource`, `PolicyEntry`, `Policy`, `Acl`) and how one
//! entry matches a request: names are Java's, parsed case-insensitively as Java's `getByName`
//! does, and written back in Java's spelling.

use std::net::IpAddr;

use ferrocket_wire::body::{AclInfo, PolicyEntryInfo, PolicyInfo, UserInfo};

/// `NamespaceUtil.RETRY_PREFIX`: a retry topic names its group, which is the resource checked.
pub const RETRY_PREFIX: &str = "%RETRY%";

/// A Java enum read with `getByName` (case-insensitive) and written with `getName`.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn by_name(name: &str) -> Option<$name> {
                [$($name::$variant),+].into_iter().find(|v| v.name().eq_ignore_ascii_case(name))
            }
        }
    };
}

named_enum!(UserType { Super = "Super", Normal = "Normal" });
named_enum!(UserStatus { Enable = "enable", Disable = "disable" });
named_enum!(
    /// `ResourceType`; `Any` is the type of the resource `*`.
    ResourceType {
        Unknown = "Unknown",
        Any = "Any",
        Cluster = "Cluster",
        Namespace = "Namespace",
        Topic = "Topic",
        Group = "Group",
    }
);
named_enum!(
    /// `Action`; `Any` is only ever asked for (gRPC), `All` only ever granted.
    Action {
        Unknown = "Unknown",
        All = "All",
        Any = "Any",
        Pub = "Pub",
        Sub = "Sub",
        Create = "Create",
        Update = "Update",
        Delete = "Delete",
        Get = "Get",
        List = "List",
    }
);
named_enum!(Decision { Allow = "Allow", Deny = "Deny" });
named_enum!(
    /// Custom entries are consulted first; Default ones only when no Custom entry matches.
    PolicyType { Custom = "Custom", Default = "Default" }
);

/// A user and its secret (the HMAC key, so it is kept as given, as Java keeps it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub password: String,
    pub user_type: UserType,
    pub user_status: UserStatus,
}

impl User {
    pub fn to_info(&self) -> UserInfo {
        UserInfo {
            password: Some(self.password.clone()),
            user_status: Some(self.user_status.name().to_owned()),
            user_type: Some(self.user_type.name().to_owned()),
            username: Some(self.username.clone()),
        }
    }
}

/// `ResourcePattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Any,
    Literal,
    Prefixed,
}

/// A resource as granted (`Topic:orders*`) or as asked for (always literal). `name` is `None`
/// for `*` patterns, and for a request whose header lacked the field (Java's `null`, which
/// matches no literal or prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: ResourceType,
    pub name: Option<String>,
    pub pattern: Pattern,
}

impl Resource {
    pub fn literal(kind: ResourceType, name: Option<&str>) -> Resource {
        Resource {
            kind,
            name: name.map(str::to_owned),
            pattern: Pattern::Literal,
        }
    }

    pub fn topic(name: Option<&str>) -> Resource {
        Resource::literal(ResourceType::Topic, name)
    }

    /// `Resource.ofGroup`: a retry topic's name stands for its group.
    pub fn group(name: Option<&str>) -> Resource {
        let name = name.map(|n| n.strip_prefix(RETRY_PREFIX).unwrap_or(n));
        Resource::literal(ResourceType::Group, name)
    }

    /// `Resource.of(String)`: `*`, `Type:*`, `Type:prefix*` or `Type:name`; `None` for a blank
    /// key or an unknown type.
    pub fn parse(key: &str) -> Option<Resource> {
        if key.trim().is_empty() {
            return None;
        }
        if key == "*" {
            return Some(Resource {
                kind: ResourceType::Any,
                name: None,
                pattern: Pattern::Any,
            });
        }
        let (kind, name) = key.split_once(':').unwrap_or((key, ""));
        let kind = ResourceType::by_name(kind)?;
        Some(if name == "*" {
            Resource {
                kind,
                name: None,
                pattern: Pattern::Any,
            }
        } else if let Some(prefix) = name.strip_suffix('*') {
            // Java keeps what precedes the first `*`.
            let prefix = name.split('*').next().unwrap_or(prefix);
            Resource {
                kind,
                name: Some(prefix.to_owned()),
                pattern: Pattern::Prefixed,
            }
        } else {
            Resource::literal(kind, Some(name))
        })
    }

    /// `getResourceKey`, as policies are listed and denials name the resource.
    pub fn key(&self) -> String {
        let name = self.name.as_deref().unwrap_or("null");
        match (self.kind, self.pattern) {
            (ResourceType::Any, _) => "*".to_owned(),
            (kind, Pattern::Any) => format!("{}:*", kind.name()),
            (kind, Pattern::Literal) => format!("{}:{name}", kind.name()),
            (kind, Pattern::Prefixed) => format!("{}:{name}*", kind.name()),
        }
    }

    /// `Resource.isMatch`: does this granted resource cover `asked`?
    pub fn covers(&self, asked: &Resource) -> bool {
        if self.kind == ResourceType::Any {
            return true;
        }
        if self.kind != asked.kind {
            return false;
        }
        match (self.pattern, &self.name, &asked.name) {
            (Pattern::Any, _, _) => true,
            (Pattern::Literal, Some(granted), Some(asked)) => granted == asked,
            (Pattern::Prefixed, Some(prefix), Some(asked)) => asked.starts_with(prefix.as_str()),
            _ => false,
        }
    }
}

/// One grant or denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    pub resource: Resource,
    pub actions: Vec<Action>,
    /// Addresses or CIDR blocks; empty means any source.
    pub source_ips: Vec<String>,
    pub decision: Decision,
}

impl PolicyEntry {
    /// `isMatchAction`: any asked action granted, or `All` granted.
    pub fn covers_actions(&self, asked: &[Action]) -> bool {
        if self.actions.is_empty() {
            return false;
        }
        if asked.contains(&Action::Any) {
            return true;
        }
        asked
            .iter()
            .any(|a| self.actions.contains(a) || self.actions.contains(&Action::All))
    }

    /// `isMatchEnvironment`.
    pub fn covers_source(&self, source_ip: &str) -> bool {
        self.source_ips.is_empty() || self.source_ips.iter().any(|range| ip_in_range(source_ip, range))
    }

    fn to_info(&self) -> PolicyEntryInfo {
        PolicyEntryInfo {
            actions: (!self.actions.is_empty()).then(|| self.actions.iter().map(|a| a.name().to_owned()).collect()),
            decision: Some(self.decision.name().to_owned()),
            resource: Some(self.resource.key()),
            source_ips: (!self.source_ips.is_empty()).then(|| self.source_ips.clone()),
        }
    }
}

/// The entries of one type for one subject, in the order they were granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub policy_type: PolicyType,
    pub entries: Vec<PolicyEntry>,
}

/// A subject's policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// `User:<name>`.
    pub subject: String,
    pub policies: Vec<Policy>,
}

impl Acl {
    pub fn policy(&self, policy_type: PolicyType) -> Option<&Policy> {
        self.policies.iter().find(|p| p.policy_type == policy_type)
    }

    /// `Acl.updatePolicy`: a new type is appended; within a known type an entry for the same
    /// resource is replaced in place and a new resource appended.
    pub fn merge(&mut self, policies: Vec<Policy>) {
        for policy in policies {
            match self.policies.iter_mut().find(|p| p.policy_type == policy.policy_type) {
                None => self.policies.push(policy),
                Some(old) => {
                    for entry in policy.entries {
                        match old.entries.iter_mut().find(|e| e.resource == entry.resource) {
                            Some(existing) => *existing = entry,
                            None => old.entries.push(entry),
                        }
                    }
                }
            }
        }
    }

    /// `Acl.deletePolicy`: drops the entry for `resource`, and the policy once it is empty.
    pub fn delete_entry(&mut self, policy_type: PolicyType, resource: &Resource) {
        if let Some(index) = self.policies.iter().position(|p| p.policy_type == policy_type) {
            let emptied = self.policies.get_mut(index).is_some_and(|policy| {
                policy.entries.retain(|e| &e.resource != resource);
                policy.entries.is_empty()
            });
            if emptied {
                self.policies.remove(index);
            }
        }
    }

    pub fn to_info(&self) -> AclInfo {
        let policies = self
            .policies
            .iter()
            .map(|p| PolicyInfo {
                entries: (!p.entries.is_empty()).then(|| p.entries.iter().map(PolicyEntry::to_info).collect()),
                policy_type: Some(p.policy_type.name().to_owned()),
            })
            .collect::<Vec<_>>();
        AclInfo {
            policies: (!policies.is_empty()).then_some(policies),
            subject: Some(self.subject.clone()),
        }
    }
}

/// `IPAddressUtils.isIPInRange`: an address is compared as text; a CIDR block by value.
pub fn ip_in_range(ip: &str, range: &str) -> bool {
    let Some((base, prefix)) = range.split_once('/') else {
        return ip == range;
    };
    let (Ok(base), Ok(prefix), Ok(ip)) = (base.parse::<IpAddr>(), prefix.parse::<u32>(), ip.parse::<IpAddr>()) else {
        return false;
    };
    let (base, ip, bits) = match (base, ip) {
        (IpAddr::V4(b), IpAddr::V4(i)) => (u128::from(u32::from(b)), u128::from(u32::from(i)), 32),
        (IpAddr::V6(b), IpAddr::V6(i)) => (u128::from(b), u128::from(i), 128),
        _ => return false,
    };
    if prefix > bits {
        return false;
    }
    let host_bits = bits - prefix;
    let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
    base & mask == ip & mask
}

/// `IPAddressUtils.isValidIPOrCidr`.
pub fn is_ip_or_cidr(text: &str) -> bool {
    match text.split_once('/') {
        None => text.parse::<IpAddr>().is_ok(),
        Some((base, prefix)) => match (base.parse::<IpAddr>(), prefix.parse::<u32>()) {
            (Ok(IpAddr::V4(_)), Ok(p)) => p <= 32,
            (Ok(IpAddr::V6(_)), Ok(p)) => p <= 128,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_keys_parse_as_java_reads_them() {
        let any = Resource::parse("*").unwrap();
        assert_eq!(
            (any.kind, any.pattern, any.key()),
            (ResourceType::Any, Pattern::Any, "*".into())
        );
        let all_topics = Resource::parse("topic:*").unwrap();
        assert_eq!((all_topics.pattern, all_topics.key()), (Pattern::Any, "Topic:*".into()));
        let prefix = Resource::parse("Group:gid_*").unwrap();
        assert_eq!(
            (prefix.pattern, prefix.name.as_deref()),
            (Pattern::Prefixed, Some("gid_"))
        );
        assert_eq!(Resource::parse("Topic:t1").unwrap().key(), "Topic:t1");
        assert_eq!(Resource::parse("Queue:t1"), None);
        assert_eq!(Resource::parse(" "), None);
    }

    #[test]
    fn patterns_cover_what_java_matches() {
        let asked = Resource::topic(Some("orders-eu"));
        assert!(Resource::parse("*").unwrap().covers(&asked));
        assert!(Resource::parse("Topic:*").unwrap().covers(&asked));
        assert!(Resource::parse("Topic:orders*").unwrap().covers(&asked));
        assert!(Resource::parse("Topic:orders-eu").unwrap().covers(&asked));
        assert!(!Resource::parse("Topic:orders").unwrap().covers(&asked));
        assert!(!Resource::parse("Group:*").unwrap().covers(&asked));
        assert!(!Resource::parse("Topic:orders*").unwrap().covers(&Resource::topic(None)));
        assert_eq!(Resource::group(Some("%RETRY%cg")).name.as_deref(), Some("cg"));
    }

    #[test]
    fn source_ranges_are_compared_as_java_compares_them() {
        assert!(ip_in_range("10.1.2.3", "10.0.0.0/8"));
        assert!(!ip_in_range("11.1.2.3", "10.0.0.0/8"));
        assert!(ip_in_range("127.0.0.1", "127.0.0.1"));
        assert!(!ip_in_range("127.0.0.1", "127.0.0.2"));
        assert!(ip_in_range("::1", "::1/128"));
        assert!(ip_in_range("1.2.3.4", "0.0.0.0/0"));
        assert!(is_ip_or_cidr("10.0.0.0/8") && is_ip_or_cidr("::1") && !is_ip_or_cidr("10.0.0.0/33"));
    }
}
