//! Java's average allocation of a group's queues among its members
//! (`AllocateMessageQueueAveragely`), pure.
//!
//! Both lists are sorted first, so every member computes the same split from the same inputs:
//! with `q` queues and `c` members, the first `q % c` members get `q / c + 1` consecutive
//! queues and the rest `q / c`; with more members than queues the last members get none.

use ferrocket_wire::body::MessageQueue;

/// The queues `me` owns among `members`; empty if `me` is not listed.
pub fn allocate_averagely(queues: &[MessageQueue], members: &[String], me: &str) -> Vec<MessageQueue> {
    let mut queues = queues.to_vec();
    queues.sort();
    let mut members = members.to_vec();
    members.sort();
    members.dedup();
    let Some(index) = members.iter().position(|member| member == me) else {
        return Vec::new();
    };
    let (total, count) = (queues.len(), members.len());
    if total == 0 {
        return Vec::new();
    }
    let remainder = total % count;
    let share = if total <= count {
        1
    } else if remainder > 0 && index < remainder {
        total / count + 1
    } else {
        total / count
    };
    let start = if remainder > 0 && index < remainder {
        index * share
    } else {
        index * share + remainder
    };
    let take = share.min(total.saturating_sub(start));
    (0..take)
        .filter_map(|i| queues.get((start + i) % total).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|id| MessageQueue::new("T", "b", id)).collect()
    }

    fn ids(of: &[MessageQueue]) -> Vec<i32> {
        of.iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn splits_as_java_does() {
        let members: Vec<String> = ["c2", "c1", "c3"].map(String::from).to_vec();
        let all = queues(8);
        assert_eq!(ids(&allocate_averagely(&all, &members, "c1")), [0, 1, 2]);
        assert_eq!(ids(&allocate_averagely(&all, &members, "c2")), [3, 4, 5]);
        assert_eq!(ids(&allocate_averagely(&all, &members, "c3")), [6, 7]);
        assert!(allocate_averagely(&all, &members, "stranger").is_empty());
    }

    #[test]
    fn more_members_than_queues_leaves_the_last_idle() {
        let members: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let all = queues(2);
        assert_eq!(ids(&allocate_averagely(&all, &members, "a")), [0]);
        assert_eq!(ids(&allocate_averagely(&all, &members, "b")), [1]);
        assert!(allocate_averagely(&all, &members, "c").is_empty());
    }

    #[test]
    fn every_queue_has_exactly_one_owner() {
        for q in 0..12 {
            for c in 1..6 {
                let members: Vec<String> = (0..c).map(|i| format!("m{i}")).collect();
                let mut owned: Vec<i32> = members
                    .iter()
                    .flat_map(|m| ids(&allocate_averagely(&queues(q), &members, m)))
                    .collect();
                owned.sort();
                assert_eq!(owned, (0..q).collect::<Vec<_>>(), "{q} queues, {c} members");
            }
        }
    }
}
