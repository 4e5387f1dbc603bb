//! Steller's shared core: domain values, the DynamoDB store, the ports, and the HTTP
//! plumbing every function's router is built from. Nothing here knows about Lambda.

pub mod after_response;
pub mod aws;
pub mod config;
pub mod deadline;
pub mod domain;
pub mod email;
#[cfg(feature = "embedded")]
pub mod engine;
pub mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod notices;
pub mod request_log;
#[cfg(feature = "tooling")]
pub mod schema;
#[cfg(feature = "tooling")]
pub mod seed;
pub mod store;
pub mod telemetry;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod views;
pub mod webhooks;

pub use config::Config;
pub use http::AppState;
pub use store::Store;
