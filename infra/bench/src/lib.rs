//! `make bench`: measures the release Lambda binaries side by side with a hello-world
//! Lambda in one run, prints tables and writes the figures as JSON (docs/performance.md).

pub mod aws_calls;
pub mod cold_start;
pub mod recorder;
pub mod report;
pub mod runtime_api;
pub mod stats;
