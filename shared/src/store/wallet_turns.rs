//! Money movements on one wallet take turns within a process: a movement waits until the
//! one before it on the same wallet has committed (or given up), then starts from the
//! balance that one left (`known_wallets`). So concurrent requests of one process (the
//! local server, or any instance serving several requests at once) never race each
//! other for a wallet: each builds one transaction, and it commits unless another
//! process moved the money meanwhile. Without turns they would all build on the same
//! balance, all but one lose, and pause and try again (ADR 0015).
//!
//! Nothing depends on the turns for correctness: every transaction is still conditioned
//! on the exact balance it was built from, and processes (Lambda instances) that share
//! nothing still race, as before. A turn is only a queue in front of the race.
//!
//! A movement waits for its turn only as long as its request's deadline leaves time for a
//! try after it; past that it gives up (`Contended`, 503), nothing written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::domain::{Mode, PartnerId};

type WalletId = (PartnerId, Mode);

/// The queue of each wallet with a movement under way in this process, shared by every
/// clone. A wallet's entry lives while a movement holds or awaits its turn, so the map
/// stays as small as the number of wallets being moved at once.
#[derive(Debug, Default, Clone)]
pub(crate) struct WalletTurns {
    queues: Arc<Mutex<HashMap<WalletId, Arc<AsyncMutex<()>>>>>,
}

/// A wallet's turn, held until dropped.
#[derive(Debug)]
pub(crate) struct Turn {
    wallet: WalletId,
    turns: WalletTurns,
    queue: Arc<AsyncMutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

/// Why no turn was had: the wait would not leave time for a try before the deadline.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NoTimeLeft;

impl WalletTurns {
    /// Waits for the wallet's turn, at most as long as the request's deadline leaves
    /// `one_try` after it (without a deadline, as long as it takes: every movement before
    /// it is bounded).
    pub(crate) async fn take(&self, partner: &PartnerId, mode: Mode, one_try: Duration) -> Result<Turn, NoTimeLeft> {
        let wallet = (*partner, mode);
        let queue = Arc::clone(lock(&self.queues).entry(wallet).or_default());
        // Dropped without its guard when the wait is given up: the entry is cleaned up too.
        let mut turn = Turn { wallet, turns: self.clone(), queue, guard: None };
        let waiting = Arc::clone(&turn.queue).lock_owned();
        let guard = match crate::deadline::remaining() {
            None => waiting.await,
            Some(left) => {
                let wait = left.checked_sub(one_try).ok_or(NoTimeLeft)?;
                tokio::time::timeout(wait, waiting).await.map_err(|_elapsed| NoTimeLeft)?
            }
        };
        turn.guard = Some(guard);
        Ok(turn)
    }

    #[cfg(test)]
    fn queued_wallets(&self) -> usize {
        lock(&self.queues).len()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut queues = lock(&self.turns.queues);
        // The map's reference and this turn's are the only ones: nobody holds or awaits
        // this wallet's turn (a waiter clones the queue under the same lock), so the entry
        // goes. The guard is released after, as the fields drop.
        if Arc::strong_count(&self.queue) <= 2 + usize::from(self.guard.is_some()) {
            queues.remove(&self.wallet);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const ONE_TRY: Duration = Duration::from_millis(100);

    #[tokio::test]
    async fn movements_on_one_wallet_take_turns_and_other_wallets_do_not_wait() {
        let turns = Arc::new(WalletTurns::default());
        let partner = PartnerId::generate();
        let holding = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let movements = (0..8).map(|_| {
            let (turns, holding, most) = (Arc::clone(&turns), Arc::clone(&holding), Arc::clone(&most));
            tokio::spawn(async move {
                let _turn = turns.take(&partner, Mode::Sandbox, ONE_TRY).await.expect("no deadline");
                let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                holding.fetch_sub(1, Ordering::SeqCst);
            })
        });
        let first = turns.take(&partner, Mode::Sandbox, ONE_TRY).await.expect("no deadline");
        let spawned: Vec<_> = movements.collect();
        // While the sandbox wallet's turn is held, the live wallet and another partner's
        // are free.
        let live = turns.take(&partner, Mode::Live, ONE_TRY).await.expect("another wallet");
        let other = turns.take(&PartnerId::generate(), Mode::Sandbox, ONE_TRY).await.expect("another wallet");
        drop((live, other, first));
        for movement in spawned {
            movement.await.expect("the movement ran");
        }

        assert_eq!(most.load(Ordering::SeqCst), 1, "one movement at a time on the wallet");
        assert_eq!(turns.queued_wallets(), 0, "no wallet is queued once every movement is done");
    }

    #[tokio::test]
    async fn a_wait_that_would_leave_no_time_for_a_try_is_given_up() {
        let turns = WalletTurns::default();
        let partner = PartnerId::generate();
        let held = turns.take(&partner, Mode::Sandbox, ONE_TRY).await.expect("no deadline");

        let by = std::time::Instant::now() + Duration::from_millis(150);
        let waited = crate::deadline::within(by, turns.take(&partner, Mode::Sandbox, ONE_TRY)).await;
        assert_eq!(waited.err(), Some(NoTimeLeft), "50 ms to wait, and the turn stays held");
        let past = std::time::Instant::now() + Duration::from_millis(50);
        let hopeless = crate::deadline::within(past, turns.take(&partner, Mode::Sandbox, ONE_TRY)).await;
        assert_eq!(hopeless.err(), Some(NoTimeLeft), "less time left than one try");

        drop(held);
        assert_eq!(turns.queued_wallets(), 0, "a given-up wait leaves nothing queued");
        let by = std::time::Instant::now() + Duration::from_secs(5);
        let free = crate::deadline::within(by, turns.take(&partner, Mode::Sandbox, ONE_TRY)).await;
        assert!(free.is_ok(), "a free turn is taken at once");
    }
}
