//! Work a request leaves for after its response: the request-log record and the emails.
//! A partner waits for the money to move, not for SQS or SES.
//!
//! Code that has such work calls [`after_response`]. Inside a [`collecting`] scope the
//! work is kept, and whoever opened the scope runs it once the response is out:
//!
//! - on Lambda, `steller::lambda::run` wraps each invocation: the runtime posts the
//!   response, then the kept work runs to the end, and only then does the runtime ask for
//!   the next invocation, so nothing is left running when the environment freezes (see
//!   docs/adr/0010-after-response-work-in-the-runtime.md);
//! - the local server spawns the kept work as the response goes out.
//!
//! Outside any scope (a router called directly, as many tests do) the work runs at once,
//! before the caller continues, so nothing is ever dropped.
//!
//! The work cannot change the answer: it returns nothing, and each piece logs its own
//! failure (with the request id it is about).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

type Work = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

tokio::task_local! {
    static KEPT: Kept;
}

/// The work kept in one scope, run by [`Kept::run`].
#[derive(Clone, Default)]
pub struct Kept(Arc<Mutex<Vec<Work>>>);

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Kept").field(&self.len()).finish()
    }
}

impl Kept {
    fn take(&self) -> Vec<Work> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// How many pieces of work are waiting.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs every kept piece concurrently, and returns when all have ended. A piece that
    /// panics is logged; the others still finish.
    pub async fn run(self) {
        join_all(&mut self.spawned()).await;
    }

    /// [`Kept::run`], stopped at `by` (an invocation's deadline): whether every piece
    /// ended. Pieces still running then are dropped and logged, so the work never runs
    /// the invocation past its timeout (which would kill the environment and its caches).
    pub async fn run_until(self, by: tokio::time::Instant) -> bool {
        let mut running = self.spawned();
        if tokio::time::timeout_at(by, join_all(&mut running)).await.is_ok() {
            return true;
        }
        tracing::warn!(
            unfinished = running.len(),
            "work after the response was stopped at the invocation's deadline (a request-log record or email is lost)"
        );
        running.abort_all();
        false
    }

    fn spawned(self) -> tokio::task::JoinSet<()> {
        let mut running = tokio::task::JoinSet::new();
        for work in self.take() {
            running.spawn(work);
        }
        running
    }
}

/// Waits for every piece of `running`; a piece that panics is logged.
async fn join_all(running: &mut tokio::task::JoinSet<()>) {
    while let Some(ended) = running.join_next().await {
        if let Err(error) = ended {
            tracing::error!(%error, "work after the response panicked");
        }
    }
}

/// Runs `work` after the response when a [`collecting`] scope is open, else now.
pub async fn after_response<F>(work: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut work = Some(work);
    let kept = KEPT.try_with(|kept| {
        if let Some(work) = work.take() {
            kept.0.lock().unwrap_or_else(PoisonError::into_inner).push(Box::pin(work));
        }
    });
    if kept.is_err()
        && let Some(work) = work
    {
        work.await;
    }
}

/// Runs `request` (the whole handling of one request), keeping the work it leaves for
/// after the response instead of running it; returns the answer and the kept work.
pub async fn collecting<F: Future>(request: F) -> (F::Output, Kept) {
    let kept = Kept::default();
    let output = KEPT.scope(kept.clone(), request).await;
    (output, kept)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(done: &Arc<AtomicUsize>) -> impl Future<Output = ()> + Send + 'static {
        let done = done.clone();
        async move {
            tokio::task::yield_now().await;
            done.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn work_still_running_at_the_deadline_is_stopped_and_the_rest_finishes() {
        let done = Arc::new(AtomicUsize::new(0));
        let (_, kept) = collecting(async {
            after_response(counting(&done)).await;
            after_response(async { tokio::time::sleep(std::time::Duration::from_secs(30)).await }).await;
        })
        .await;
        let started = std::time::Instant::now();

        let all = kept.run_until(tokio::time::Instant::now() + std::time::Duration::from_millis(50)).await;

        assert!(!all, "the sleeping piece did not end");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "stopped at the deadline: {:?}",
            started.elapsed()
        );
        assert_eq!(done.load(Ordering::SeqCst), 1, "the quick piece finished");
        let (_, quick) = collecting(async { after_response(counting(&done)).await }).await;
        assert!(quick.run_until(tokio::time::Instant::now() + std::time::Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn outside_a_scope_the_work_runs_before_the_caller_goes_on() {
        let done = Arc::new(AtomicUsize::new(0));
        after_response(counting(&done)).await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn inside_a_scope_the_work_waits_until_it_is_run() {
        let done = Arc::new(AtomicUsize::new(0));
        let (answer, kept) = collecting(async {
            after_response(counting(&done)).await;
            after_response(counting(&done)).await;
            "answer"
        })
        .await;
        assert_eq!(answer, "answer");
        assert_eq!(done.load(Ordering::SeqCst), 0, "nothing ran before the answer");
        assert_eq!(kept.len(), 2);
        kept.clone().run().await;
        assert_eq!(done.load(Ordering::SeqCst), 2, "all of it ran");
        assert!(kept.is_empty(), "and it runs once");
    }

    #[tokio::test]
    async fn a_panicking_piece_does_not_stop_the_others() {
        let done = Arc::new(AtomicUsize::new(0));
        let ((), kept) = collecting(async {
            after_response(async { panic!("a broken sender") }).await;
            after_response(counting(&done)).await;
        })
        .await;
        kept.run().await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn work_in_a_nested_future_is_kept_by_the_scope() {
        let done = Arc::new(AtomicUsize::new(0));
        let inner = {
            let done = done.clone();
            async move { after_response(counting(&done)).await }
        };
        let ((), kept) = collecting(inner).await;
        assert_eq!(done.load(Ordering::SeqCst), 0);
        kept.run().await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
