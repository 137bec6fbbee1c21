//! The Rust client SDK: producer, consumers, rebalance and admin API. Not built yet.
