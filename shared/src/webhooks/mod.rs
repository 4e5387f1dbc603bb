//! Webhooks: partners' endpoints are told of every committed change, signed per
//! Standard Webhooks, retried for about 28 hours, and never told of a change that
//! did not happen (the event is written in the change's own transaction).
//!
//! - `address`: the URL rules, and the address check made again at delivery.
//! - `delivery`: one attempt, and what follows it (retry, dead letter, disabling).
//! - `dispatch`: from a committed event to one queued delivery per endpoint.
//! - `in_process`: the local server's dispatcher and delivery tasks.
//! - `signing`: endpoint secrets and the `webhook-*` headers.
//! - `send`: the HTTPS client a delivery is one POST of.

pub mod address;
#[cfg(feature = "webhook-delivery")]
pub mod delivery;
pub mod dispatch;
#[cfg(all(feature = "webhook-delivery", feature = "tooling"))]
pub mod in_process;
#[cfg(feature = "webhook-delivery")]
pub mod send;
#[cfg(feature = "webhook-delivery")]
pub mod signing;
