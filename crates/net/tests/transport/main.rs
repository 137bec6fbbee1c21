//! Integration tests of the transport over loopback TCP: our server and client against each
//! other, and raw sockets sending what a broken or hostile peer would.
//!
//! Tests that depend on time run with tokio's clock paused, so timeouts of seconds or minutes
//! pass instantly and deterministically; none sleeps to wait for a condition.

// Helpers outside `#[test]` functions unwrap too: a failed setup step should fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod backpressure;
mod callbacks;
mod client;
mod limits;
mod malformed;
mod round_trip;
mod support;
mod tls;
mod unfinished_frames;
