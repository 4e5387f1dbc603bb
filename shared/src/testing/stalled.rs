//! A dependency that has stalled: it accepts connections and reads requests, and answers
//! none of them (for an hour). Pointing a function's DynamoDB at it shows what a partner
//! gets when a call hangs.

use std::time::Duration;

use axum::Router;

/// The stalled endpoint, serving on a loopback port while the test runs.
#[derive(Debug, Clone)]
pub struct Stalled {
    pub endpoint: String,
}

impl Stalled {
    pub async fn start() -> Self {
        let app = Router::new().fallback(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "too late"
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Stalled { endpoint }
    }
}
