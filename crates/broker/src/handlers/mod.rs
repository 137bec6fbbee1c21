//! Request handlers, one module per family of codes. Each module's `routes` adds its codes to
//! the router; a code nobody registers gets the transport's REQUEST_CODE_NOT_SUPPORTED.
//!
//! Ownership while the broker is being built: send, pull, client, offsets and query belong to
//! one author; admin to another.

pub mod admin;
pub mod client;
pub mod offsets;
pub mod pull;
pub mod query;
pub mod send;

use std::sync::Arc;

use ferrocket_net::Router;

use crate::broker::Broker;

/// Every route the broker serves.
pub fn router(broker: &Arc<Broker>) -> Router {
    let router = Router::new();
    let router = send::routes(router, broker);
    let router = pull::routes(router, broker);
    let router = client::routes(router, broker);
    let router = offsets::routes(router, broker);
    let router = query::routes(router, broker);
    admin::routes(router, broker)
}
