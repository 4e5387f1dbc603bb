//! The time a request has: on Lambda, the invocation's deadline less a margin for
//! answering. The edge answers 503 `unavailable` (with `Retry-After`) when a handler is
//! still waiting on a slow or throttled dependency as it comes, and the store gives up
//! retrying a transaction when the next try could not finish in time. So a partner gets
//! a problem+json answer, never a Lambda timeout (API Gateway's bare 503 after the full
//! function timeout).
//!
//! `steller::lambda::run` opens a [`within`] scope per invocation. Outside any scope (the
//! local server, tests calling a router) there is no deadline, and SDK timeouts alone
//! bound a call.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

/// What is kept back from the invocation's deadline: time to build the 503, post it to
/// the Runtime API and log, before Lambda would stop the process.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(500);

tokio::task_local! {
    static ANSWER_BY: Instant;
}

/// When an invocation due at `deadline` (wall clock, as Lambda gives it) must have its
/// answer ready: the deadline less `ANSWER_MARGIN`, on the monotonic clock.
pub fn answer_by(deadline: SystemTime, now: SystemTime, now_instant: Instant) -> Instant {
    let left = deadline.duration_since(now).unwrap_or_default().saturating_sub(ANSWER_MARGIN);
    now_instant + left
}

/// What is kept back from the invocation's deadline for the work after the response:
/// time to log that it was stopped, and for the runtime to ask for the next invocation.
pub const FINISH_MARGIN: Duration = Duration::from_millis(100);

/// When the work after an invocation's response must have ended: its deadline less
/// `FINISH_MARGIN`, on the monotonic clock (so a Lambda never times out over it).
pub fn finish_by(deadline: SystemTime, now: SystemTime, now_instant: Instant) -> Instant {
    now_instant + deadline.duration_since(now).unwrap_or_default().saturating_sub(FINISH_MARGIN)
}

/// Runs `work` with `answer_by` as the request's deadline.
pub async fn within<F: Future>(answer_by: Instant, work: F) -> F::Output {
    ANSWER_BY.scope(answer_by, work).await
}

/// When the answer must be ready, when a deadline is set: to hand to work that runs on
/// a task of its own, where this task's deadline is not set.
pub fn due() -> Option<Instant> {
    ANSWER_BY.try_with(|by| *by).ok()
}

/// How long is left before the answer must be ready, when a deadline is set.
pub fn remaining() -> Option<Duration> {
    ANSWER_BY.try_with(|by| by.saturating_duration_since(Instant::now())).ok()
}

/// Whether waiting `pause` and then trying something that takes up to `attempt` still
/// fits before the deadline (always, without one).
pub fn leaves_time_for(pause: Duration, attempt: Duration) -> bool {
    remaining().is_none_or(|left| left > pause + attempt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_due_a_margin_before_the_deadline() {
        let (now, instant) = (SystemTime::now(), Instant::now());
        let due = answer_by(now + Duration::from_secs(10), now, instant);
        assert_eq!(due - instant, Duration::from_secs(10) - ANSWER_MARGIN);
        let past = answer_by(now - Duration::from_secs(1), now, instant);
        assert_eq!(past, instant, "a deadline already gone leaves nothing");
    }

    #[tokio::test]
    async fn inside_a_scope_the_time_left_shrinks_and_outside_there_is_no_deadline() {
        assert_eq!(remaining(), None);
        assert!(leaves_time_for(Duration::from_secs(3600), Duration::from_secs(3600)));
        within(Instant::now() + Duration::from_secs(2), async {
            let left = remaining().expect("a deadline");
            assert!(left <= Duration::from_secs(2) && left > Duration::from_secs(1), "{left:?}");
            assert!(leaves_time_for(Duration::from_millis(100), Duration::from_millis(100)));
            assert!(!leaves_time_for(Duration::from_secs(1), Duration::from_secs(1)));
        })
        .await;
    }
}
