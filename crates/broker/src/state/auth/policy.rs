//! Which entry decides a request, as Java 5.3.3's `AclAuthorizationHandler` picks it: the
//! Custom entries that match the resource, an action and the source address (the Default ones
//! only when no Custom entry matches), sorted with Java's comparator by Java's own sort, first
//! one wins.
//!
//! Java's comparator is not a consistent order (a literal and a prefixed entry each sort before
//! the other; a shorter prefix sorts before a longer one; an Allow sorts before a Deny of the
//! same rank), so the winner depends on the sort algorithm. [`java_list_sort`] is the part of
//! `TimSort` that runs for fewer than 32 elements (a run scan, then binary insertion), which
//! makes our pick Java's pick for any realistic policy.

use std::cmp::Ordering;

use super::Refusal;
use super::model::{Acl, Action, Decision, Pattern, PolicyEntry, PolicyType, Resource, ResourceType};

/// One thing a request needs: an action (any of `actions`) on `resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub resource: Resource,
    pub actions: Vec<Action>,
}

impl Need {
    pub fn new(resource: Resource, actions: &[Action]) -> Need {
        Need {
            resource,
            actions: actions.to_vec(),
        }
    }
}

/// `AclAuthorizationHandler.handle` for one need of a normal user (`acl` is the user's, if any).
pub fn decide(acl: Option<&Acl>, need: &Need, source_ip: &str) -> Result<(), Refusal> {
    let acl = acl.ok_or(Refusal::NoMatchedPolicies)?;
    let matching = |policy_type| -> Vec<&PolicyEntry> {
        acl.policy(policy_type)
            .map(|policy| {
                policy
                    .entries
                    .iter()
                    .filter(|e| {
                        e.resource.covers(&need.resource)
                            && e.covers_actions(&need.actions)
                            && e.covers_source(source_ip)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut entries = matching(PolicyType::Custom);
    if entries.is_empty() {
        entries = matching(PolicyType::Default);
    }
    let entries = java_list_sort(entries, |a, b| compare_entries(a, b));
    match entries.first() {
        None => Err(Refusal::NoMatchedPolicies),
        Some(entry) if entry.decision == Decision::Deny => Err(Refusal::DecisionIsDeny),
        Some(_) => Ok(()),
    }
}

/// `AclAuthorizationHandler.comparePolicyEntries`, quirks included.
fn compare_entries(o1: &PolicyEntry, o2: &PolicyEntry) -> Ordering {
    let (r1, r2) = (&o1.resource, &o2.resource);
    let mut compare = Ordering::Equal;
    if r1.kind != r2.kind {
        if r1.kind == ResourceType::Any {
            compare = Ordering::Greater;
        }
        if r2.kind == ResourceType::Any {
            compare = Ordering::Less;
        }
    } else if r1.pattern == r2.pattern {
        if r1.pattern == Pattern::Prefixed {
            let length = |r: &Resource| r.name.as_deref().map_or(0, |n| n.encode_utf16().count());
            compare = length(r1).cmp(&length(r2));
        }
    } else if matches!(r1.pattern, Pattern::Literal | Pattern::Prefixed) {
        // Java sets 1 then -1 for the same test, twice.
        compare = Ordering::Less;
    }
    if compare != Ordering::Equal {
        return compare;
    }
    match (o1.decision, o2.decision) {
        (Decision::Deny, _) => Ordering::Greater,
        (_, Decision::Deny) => Ordering::Less,
        _ => Ordering::Equal,
    }
}

/// `List.sort` as `java.util.TimSort` does it below `MIN_MERGE` (32): the ascending (or
/// strictly descending, then reversed) run at the front, then binary insertion of the rest.
pub fn java_list_sort<T>(items: Vec<T>, compare: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    let mut rest = items.into_iter();
    let mut sorted: Vec<T> = Vec::with_capacity(rest.len());
    sorted.extend(rest.next());
    // countRunAndMakeAscending
    let mut pending = None;
    if let Some(second) = rest.next() {
        let descending = sorted
            .last()
            .is_some_and(|first| compare(&second, first) == Ordering::Less);
        sorted.push(second);
        for item in rest.by_ref() {
            let continues = sorted.last().is_some_and(|last| match descending {
                true => compare(&item, last) == Ordering::Less,
                false => compare(&item, last) != Ordering::Less,
            });
            if !continues {
                pending = Some(item);
                break;
            }
            sorted.push(item);
        }
        if descending {
            sorted.reverse();
        }
    }
    // binarySort
    for pivot in pending.into_iter().chain(rest) {
        let (mut left, mut right) = (0, sorted.len());
        while left < right {
            let mid = (left + right) / 2;
            match sorted.get(mid) {
                Some(probe) if compare(&pivot, probe) == Ordering::Less => right = mid,
                _ => left = mid + 1,
            }
        }
        sorted.insert(left, pivot);
    }
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::auth::model::{Policy, Resource};

    fn entry(resource: &str, actions: &[Action], ips: &[&str], decision: Decision) -> PolicyEntry {
        PolicyEntry {
            resource: Resource::parse(resource).unwrap(),
            actions: actions.to_vec(),
            source_ips: ips.iter().map(|s| s.to_string()).collect(),
            decision,
        }
    }

    fn acl(custom: Vec<PolicyEntry>, default: Vec<PolicyEntry>) -> Acl {
        let mut policies = vec![Policy {
            policy_type: PolicyType::Custom,
            entries: custom,
        }];
        if !default.is_empty() {
            policies.push(Policy {
                policy_type: PolicyType::Default,
                entries: default,
            });
        }
        Acl {
            subject: "User:alice".into(),
            policies,
        }
    }

    fn pub_to(topic: &str) -> Need {
        Need::new(Resource::topic(Some(topic)), &[Action::Pub])
    }

    #[test]
    fn entries_match_by_resource_action_and_source() {
        let acl = acl(
            vec![
                entry("Topic:orders*", &[Action::Pub], &["10.0.0.0/8"], Decision::Allow),
                entry("Topic:audit", &[Action::All], &[], Decision::Allow),
                entry("Topic:secret", &[Action::Pub], &[], Decision::Deny),
            ],
            vec![],
        );
        assert_eq!(decide(Some(&acl), &pub_to("orders-eu"), "10.1.1.1"), Ok(()));
        assert_eq!(
            decide(Some(&acl), &pub_to("orders-eu"), "192.168.0.1"),
            Err(Refusal::NoMatchedPolicies)
        );
        let sub = Need::new(Resource::topic(Some("orders-eu")), &[Action::Sub]);
        assert_eq!(decide(Some(&acl), &sub, "10.1.1.1"), Err(Refusal::NoMatchedPolicies));
        assert_eq!(decide(Some(&acl), &pub_to("audit"), "1.2.3.4"), Ok(()));
        assert_eq!(
            decide(Some(&acl), &pub_to("secret"), "1.2.3.4"),
            Err(Refusal::DecisionIsDeny)
        );
        assert_eq!(
            decide(None, &pub_to("audit"), "1.2.3.4"),
            Err(Refusal::NoMatchedPolicies)
        );
    }

    #[test]
    fn default_entries_count_only_when_no_custom_entry_matches() {
        let acl = acl(
            vec![entry("Topic:a", &[Action::Pub], &[], Decision::Deny)],
            vec![entry("*", &[Action::All], &[], Decision::Allow)],
        );
        assert_eq!(
            decide(Some(&acl), &pub_to("a"), "1.1.1.1"),
            Err(Refusal::DecisionIsDeny)
        );
        assert_eq!(decide(Some(&acl), &pub_to("b"), "1.1.1.1"), Ok(()));
    }

    /// Java's comparator ranks `*` last, a shorter prefix before a longer one, the later of two
    /// different patterns first, and Allow before Deny at the same rank.
    #[test]
    fn the_winner_is_the_entry_java_sorts_first() {
        let specific_deny = acl(
            vec![
                entry("*", &[Action::All], &[], Decision::Allow),
                entry("Topic:or*", &[Action::Pub], &[], Decision::Allow),
                entry("Topic:orders*", &[Action::Pub], &[], Decision::Deny),
            ],
            vec![],
        );
        // The shorter prefix (Allow) wins over the longer one (Deny).
        assert_eq!(decide(Some(&specific_deny), &pub_to("orders"), "1.1.1.1"), Ok(()));
        // A literal and a prefix each sort before the other: the one listed later wins.
        let prefix_then_literal = acl(
            vec![
                entry("Topic:ord*", &[Action::Pub], &[], Decision::Deny),
                entry("Topic:orders", &[Action::Pub], &[], Decision::Allow),
            ],
            vec![],
        );
        assert_eq!(decide(Some(&prefix_then_literal), &pub_to("orders"), "1.1.1.1"), Ok(()));
        let literal_then_prefix = acl(
            vec![
                entry("Topic:orders", &[Action::Pub], &[], Decision::Allow),
                entry("Topic:ord*", &[Action::Pub], &[], Decision::Deny),
            ],
            vec![],
        );
        assert_eq!(
            decide(Some(&literal_then_prefix), &pub_to("orders"), "1.1.1.1"),
            Err(Refusal::DecisionIsDeny)
        );
        let same_rank = acl(
            vec![
                entry("Topic:orders", &[Action::Pub], &[], Decision::Deny),
                entry("Topic:orders", &[Action::All], &[], Decision::Allow),
            ],
            vec![],
        );
        assert_eq!(decide(Some(&same_rank), &pub_to("orders"), "1.1.1.1"), Ok(()));
    }

    #[test]
    fn small_sorts_follow_timsort_steps() {
        let by_value = |a: &i32, b: &i32| a.cmp(b);
        assert_eq!(java_list_sort(vec![3, 1, 2, 5, 4], by_value), vec![1, 2, 3, 4, 5]);
        assert_eq!(java_list_sort(vec![5, 4, 3, 1, 2], by_value), vec![1, 2, 3, 4, 5]);
        assert_eq!(java_list_sort(Vec::<i32>::new(), by_value), Vec::<i32>::new());
        // Stable: equal keys keep their order.
        let by_key = |a: &(i32, char), b: &(i32, char)| a.0.cmp(&b.0);
        assert_eq!(
            java_list_sort(vec![(1, 'a'), (0, 'b'), (1, 'c'), (0, 'd')], by_key),
            vec![(0, 'b'), (0, 'd'), (1, 'a'), (1, 'c')]
        );
    }
}
