//! dynoxide, the SQLite-backed DynamoDB emulator, embedded in-process on a loopback port:
//! the local server's default engine and the one most tests run on.

use std::path::Path;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Where the embedded engine keeps its data.
#[derive(Debug, Clone, Copy)]
pub enum Storage<'a> {
    /// Gone when the engine stops: for tests and `--in-memory`.
    Memory,
    /// A SQLite file, created with its folder when absent.
    File(&'a Path),
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot open the dynoxide database at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("cannot listen on a loopback port")]
    Listen(#[source] std::io::Error),
}

/// A running dynoxide server. Dropping it stops the server.
#[derive(Debug)]
pub struct EmbeddedEngine {
    endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
}

impl EmbeddedEngine {
    pub async fn start(storage: Storage<'_>) -> Result<Self, EngineError> {
        let database = match storage {
            Storage::Memory => dynoxide::Database::memory()
                .map_err(|e| EngineError::Open { path: ":memory:".into(), reason: e.to_string() })?,
            Storage::File(path) => {
                let open_failed = |reason: String| EngineError::Open { path: path.display().to_string(), reason };
                if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder).map_err(|e| open_failed(e.to_string()))?;
                }
                let text = path.to_str().ok_or_else(|| open_failed("the path is not UTF-8".into()))?;
                dynoxide::Database::new(text).map_err(|e| open_failed(e.to_string()))?
            }
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(EngineError::Listen)?;
        let address = listener.local_addr().map_err(EngineError::Listen)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(dynoxide::server::serve_with_shutdown(listener, database, shutdown));
        Ok(EmbeddedEngine { endpoint: format!("http://{address}"), stop: Some(stop), task: Some(task) })
    }

    /// The engine's URL, for the AWS SDK's `endpoint_url`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Stops accepting requests, lets running ones finish, and closes the database.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Err(error)) => tracing::warn!(%error, "dynoxide stopped with an error"),
                Err(error) => tracing::warn!(%error, "dynoxide task failed"),
                Ok(Ok(())) => {}
            }
        }
    }
}

impl Drop for EmbeddedEngine {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
