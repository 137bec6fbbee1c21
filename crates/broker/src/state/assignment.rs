//! Broker-side load balancing (Java 5.x `QueryAssignmentProcessor`): which queues of a topic a
//! consumer gets, and whether it pulls or pops them, by the mode set for the topic and group
//! (SET_MESSAGE_REQUEST_MODE; PULL when none was set, as Java's `defaultMessageRequestMode`).
//!
//! Pure: the caller passes the topic's queues and the group's client ids. The modes are kept in
//! `config/messageRequestMode.json` as Java keeps them (`crate::state::metadata`).

use std::collections::HashMap;

use ferrocket_wire::body::{
    MessageModel, MessageQueue, MessageRequestMode, MessageRequestModeWrapper, SetMessageRequestModeRequestBody,
};

/// Topic-and-group modes kept at most; each is set by an admin tool, one per POP group.
pub const REQUEST_MODES_MAX: usize = 10_000;

/// The modes set by SET_MESSAGE_REQUEST_MODE, by (topic, group).
#[derive(Debug, Default)]
pub struct RequestModes {
    modes: HashMap<(String, String), SetMessageRequestModeRequestBody>,
}

impl RequestModes {
    /// Sets a mode; false when the table is full and the pair is new.
    pub fn set(&mut self, body: SetMessageRequestModeRequestBody) -> bool {
        let key = (body.topic.clone(), body.consumer_group.clone());
        if !self.modes.contains_key(&key) && self.modes.len() >= REQUEST_MODES_MAX {
            return false;
        }
        self.modes.insert(key, body);
        true
    }

    /// The table as the file holds it.
    pub fn to_wrapper(&self) -> MessageRequestModeWrapper {
        let mut wrapper = MessageRequestModeWrapper::default();
        for ((topic, group), body) in &self.modes {
            wrapper
                .message_request_mode_map
                .entry(topic.clone())
                .or_default()
                .insert(group.clone(), body.clone());
        }
        wrapper
    }

    /// The table from the file, up to [`REQUEST_MODES_MAX`] entries.
    pub fn from_wrapper(wrapper: MessageRequestModeWrapper) -> RequestModes {
        let mut modes = RequestModes::default();
        for (topic, groups) in wrapper.message_request_mode_map {
            for (group, mut body) in groups {
                body.topic.clone_from(&topic);
                body.consumer_group = group;
                modes.set(body);
            }
        }
        modes
    }

    /// The mode and POP share count for a topic and group: the one set, else PULL (retry
    /// topics are always PULL).
    pub fn mode_of(&self, topic: &str, group: &str) -> (MessageRequestMode, i32) {
        match self.modes.get(&(topic.to_owned(), group.to_owned())) {
            Some(body) => (body.mode.clone(), body.pop_share_queue_num),
            None => (MessageRequestMode::Pull, 0),
        }
    }
}

/// What a consumer gets: `None` when the broker cannot say (unknown strategy, no clients),
/// which tells the client to keep its current queues.
pub fn assign(
    model: MessageModel,
    (mode, pop_share_queue_num): (MessageRequestMode, i32),
    strategy: &str,
    client_id: &str,
    mut queues: Vec<MessageQueue>,
    mut client_ids: Vec<String>,
) -> Option<Vec<MessageQueue>> {
    if model == MessageModel::Broadcasting {
        return Some(queues);
    }
    if client_ids.is_empty() {
        return None;
    }
    queues.sort();
    client_ids.sort();
    let allocate = |client: &str| allocate(strategy, client, &queues, &client_ids);
    if mode != MessageRequestMode::Pop {
        return allocate(client_id);
    }
    let share = usize::try_from(pop_share_queue_num).unwrap_or(0);
    if pop_share_queue_num <= 0 || share >= client_ids.len().saturating_sub(1) {
        // Every client pops every queue: one entry per broker, queue -1.
        let mut all: Vec<MessageQueue> = queues
            .iter()
            .map(|q| MessageQueue::new(q.topic.clone(), q.broker_name.clone(), -1))
            .collect();
        all.dedup();
        return Some(all);
    }
    let index = client_ids.iter().position(|c| c == client_id)?;
    let mut result = allocate(client_id)?;
    for step in 1..=share {
        let other = client_ids.get((index + step) % client_ids.len())?;
        result.extend(allocate(other)?);
    }
    result.sort();
    result.dedup();
    Some(result)
}

/// Java's `AllocateMessageQueueAveragely` (`AVG`) and `...ByCircle` (`AVG_BY_CIRCLE`).
fn allocate(
    strategy: &str,
    client_id: &str,
    queues: &[MessageQueue],
    client_ids: &[String],
) -> Option<Vec<MessageQueue>> {
    let Some(index) = client_ids.iter().position(|c| c == client_id) else {
        return Some(Vec::new());
    };
    let (n_queues, n_clients) = (queues.len(), client_ids.len());
    match strategy {
        "AVG" => {
            let rest = n_queues % n_clients;
            let size = if n_queues <= n_clients {
                1
            } else if rest > 0 && index < rest {
                n_queues / n_clients + 1
            } else {
                n_queues / n_clients
            };
            let start = if rest > 0 && index < rest {
                index * size
            } else {
                index * size + rest
            };
            let range = size.min(n_queues.saturating_sub(start));
            Some(queues.iter().skip(start).take(range).cloned().collect())
        }
        "AVG_BY_CIRCLE" => Some(
            queues
                .iter()
                .enumerate()
                .filter(|(i, _)| i % n_clients == index)
                .map(|(_, q)| q.clone())
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|q| MessageQueue::new("T", "b", q)).collect()
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|c| format!("c{c}")).collect()
    }

    fn queue_ids(result: Option<Vec<MessageQueue>>) -> Vec<i32> {
        result.unwrap().iter().map(|q| q.queue_id).collect()
    }

    #[test]
    fn pull_mode_allocates_as_javas_strategies() {
        let pull = || (MessageRequestMode::Pull, 0);
        let clustering = || MessageModel::Clustering;
        assert_eq!(
            queue_ids(assign(clustering(), pull(), "AVG", "c0", queues(5), ids(2))),
            [0, 1, 2]
        );
        assert_eq!(
            queue_ids(assign(clustering(), pull(), "AVG", "c1", queues(5), ids(2))),
            [3, 4]
        );
        assert_eq!(
            queue_ids(assign(clustering(), pull(), "AVG", "c2", queues(2), ids(3))),
            Vec::<i32>::new()
        );
        assert_eq!(
            queue_ids(assign(clustering(), pull(), "AVG_BY_CIRCLE", "c1", queues(5), ids(2))),
            [1, 3]
        );
        assert_eq!(assign(clustering(), pull(), "CONFIG", "c0", queues(5), ids(2)), None);
        assert_eq!(assign(clustering(), pull(), "AVG", "c0", queues(5), Vec::new()), None);
        assert_eq!(
            queue_ids(assign(
                MessageModel::Broadcasting,
                pull(),
                "AVG",
                "c0",
                queues(2),
                ids(2)
            )),
            [0, 1]
        );
    }

    #[test]
    fn pop_mode_hands_every_client_every_queue_or_its_share() {
        let all = assign(
            MessageModel::Clustering,
            (MessageRequestMode::Pop, 0),
            "AVG",
            "c0",
            queues(4),
            ids(3),
        );
        assert_eq!(all.unwrap(), [MessageQueue::new("T", "b", -1)]);
        let shared = assign(
            MessageModel::Clustering,
            (MessageRequestMode::Pop, 1),
            "AVG",
            "c0",
            queues(6),
            ids(3),
        );
        assert_eq!(queue_ids(shared), [0, 1, 2, 3]);
    }

    #[test]
    fn modes_are_remembered_and_bounded() {
        let mut modes = RequestModes::default();
        assert_eq!(modes.mode_of("T", "cg"), (MessageRequestMode::Pull, 0));
        let body = |n: usize| SetMessageRequestModeRequestBody {
            consumer_group: "cg".into(),
            mode: MessageRequestMode::Pop,
            pop_share_queue_num: 0,
            topic: format!("T{n}"),
        };
        for n in 0..REQUEST_MODES_MAX {
            assert!(modes.set(body(n)));
        }
        assert!(!modes.set(body(REQUEST_MODES_MAX)));
        assert!(modes.set(body(0)), "a known pair may change");
        assert_eq!(modes.mode_of("T0", "cg"), (MessageRequestMode::Pop, 0));
        let reloaded = RequestModes::from_wrapper(modes.to_wrapper());
        assert_eq!(reloaded.mode_of("T7", "cg"), (MessageRequestMode::Pop, 0));
        assert_eq!(reloaded.mode_of("T7", "other"), (MessageRequestMode::Pull, 0));
    }
}
