//! `make bench`: measures the release Lambda binaries side by side with a hello-world
//! Lambda in one run, and Steller's own code in process (usage query, request-log drain,
//! hot wallet, local server); prints tables and writes the figures as JSON
//! (docs/performance.md).

pub mod aws_calls;
pub mod cold_start;
pub mod drain;
pub mod embedded;
pub mod engine_proxy;
pub mod hot_wallet;
pub mod local_server;
pub mod recorder;
pub mod report;
pub mod runtime_api;
pub mod stats;
pub mod usage_query;
