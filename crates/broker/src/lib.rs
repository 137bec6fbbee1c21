//! The broker: request handlers, topics, groups, offsets, long polling, registration and
//! replication. Not built yet: see the Broker issue.
