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

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::domain::{Mode, PartnerId};

type WalletId = (PartnerId, Mode);

/// The queue of each wallet with a movement under way in this process, shared by every
/// clone. A wallet's entry lives while a movement holds or awaits its turn, so the map
/// stays as small as the number of wallets being moved at once. `I` is what a turn's
/// holder sends a movement it asks into its transaction (`batch::Offer`).
#[derive(Debug)]
pub(crate) struct WalletTurns<I> {
    queues: Arc<Mutex<HashMap<WalletId, Arc<Queue<I>>>>>,
}

impl<I> Default for WalletTurns<I> {
    fn default() -> Self {
        WalletTurns { queues: Arc::default() }
    }
}

impl<I> Clone for WalletTurns<I> {
    fn clone(&self) -> Self {
        WalletTurns { queues: Arc::clone(&self.queues) }
    }
}

/// One wallet's turn, and the movements waiting for it that would rather join the
/// holder's transaction than wait (ADR 0018), in the order they came.
#[derive(Debug)]
struct Queue<I> {
    turn: Arc<AsyncMutex<()>>,
    joiners: Mutex<VecDeque<Joiner<I>>>,
}

impl<I> Default for Queue<I> {
    fn default() -> Self {
        Queue { turn: Arc::default(), joiners: Mutex::default() }
    }
}

#[derive(Debug)]
struct Joiner<I> {
    id: u64,
    invite: oneshot::Sender<I>,
}

/// Numbers the joiners, so one can leave the queue.
static NEXT_JOINER: AtomicU64 = AtomicU64::new(0);

/// A wallet's turn, held until dropped.
#[derive(Debug)]
pub(crate) struct Turn<I> {
    wallet: WalletId,
    turns: WalletTurns<I>,
    queue: Arc<Queue<I>>,
    guard: Option<OwnedMutexGuard<()>>,
    /// While the movement waits as a joiner: its number in the queue's joiners.
    joiner: Option<u64>,
}

/// What a movement that would join got: the turn, or the holder's invitation.
#[derive(Debug)]
pub(crate) enum Taken<I> {
    Turn(Turn<I>),
    Invited(I),
}

/// Why no turn was had: the wait would not leave time for a try before the deadline.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NoTimeLeft;

impl<I> WalletTurns<I> {
    /// Waits for the wallet's turn, at most as long as the request's deadline leaves
    /// `one_try` after it (without a deadline, as long as it takes: every movement before
    /// it is bounded).
    pub(crate) async fn take(&self, partner: &PartnerId, mode: Mode, one_try: Duration) -> Result<Turn<I>, NoTimeLeft> {
        let mut turn = self.turn_of(partner, mode);
        let waiting = Arc::clone(&turn.queue.turn).lock_owned();
        let wait = time_to_wait(one_try)?;
        turn.guard = Some(match wait {
            None => waiting.await,
            Some(wait) => tokio::time::timeout(wait, waiting).await.map_err(|_elapsed| NoTimeLeft)?,
        });
        Ok(turn)
    }

    /// The wallet's turn if nobody holds or awaits it.
    pub(crate) fn try_take(&self, partner: &PartnerId, mode: Mode) -> Option<Turn<I>> {
        let mut turn = self.turn_of(partner, mode);
        turn.guard = Some(Arc::clone(&turn.queue.turn).try_lock_owned().ok()?);
        Some(turn)
    }

    /// Waits for the wallet's turn as `take` does, unless the holder of the turn asks this
    /// movement into its own transaction first: then its invitation.
    pub(crate) async fn take_or_join(
        &self,
        partner: &PartnerId,
        mode: Mode,
        one_try: Duration,
    ) -> Result<Taken<I>, NoTimeLeft> {
        let mut turn = self.turn_of(partner, mode);
        let (invite, mut invited) = oneshot::channel();
        let id = NEXT_JOINER.fetch_add(1, Ordering::Relaxed);
        lock(&turn.queue.joiners).push_back(Joiner { id, invite });
        turn.joiner = Some(id);
        let waiting = Arc::clone(&turn.queue.turn).lock_owned();
        let wait = async {
            tokio::select! {
                biased;
                asked = &mut invited => Woken::Asked(asked.ok()),
                guard = waiting => Woken::Turn(guard),
            }
        };
        let woken = match time_to_wait(one_try)? {
            None => wait.await,
            Some(wait_for) => {
                let woken = tokio::time::timeout(wait_for, wait).await;
                match woken {
                    Ok(woken) => woken,
                    // Out of time, unless the holder has taken the invitation: it asks at once.
                    Err(_elapsed) if turn.leave_joiners() => return Err(NoTimeLeft),
                    Err(_elapsed) => Woken::Asked((&mut invited).await.ok()),
                }
            }
        };
        match woken {
            Woken::Asked(Some(offer)) => {
                turn.joiner = None;
                Ok(Taken::Invited(offer))
            }
            // The holder that took the invitation was gone before asking: wait again.
            Woken::Asked(None) => {
                drop(turn);
                self.take(partner, mode, one_try).await.map(Taken::Turn)
            }
            Woken::Turn(guard) => {
                turn.guard = Some(guard);
                if turn.leave_joiners() {
                    return Ok(Taken::Turn(turn));
                }
                // Taken out of the queue by a holder that was gone before asking; or asked
                // just as the turn came.
                match invited.try_recv() {
                    Ok(offer) => Ok(Taken::Invited(offer)),
                    Err(_) => Ok(Taken::Turn(turn)),
                }
            }
        }
    }

    fn turn_of(&self, partner: &PartnerId, mode: Mode) -> Turn<I> {
        let wallet = (*partner, mode);
        // Dropped without its guard when the wait is given up: the entry is cleaned up too.
        let queue = Arc::clone(lock(&self.queues).entry(wallet).or_default());
        Turn { wallet, turns: self.clone(), queue, guard: None, joiner: None }
    }

    #[cfg(test)]
    fn queued_wallets(&self) -> usize {
        lock(&self.queues).len()
    }
}

/// What woke a movement waiting as a joiner.
enum Woken<I> {
    /// The holder's invitation (`None`: the holder was gone before sending it).
    Asked(Option<I>),
    Turn(OwnedMutexGuard<()>),
}

/// How long a movement may wait for its turn: `None` without a deadline;
/// `Err` when the deadline does not leave `one_try`.
fn time_to_wait(one_try: Duration) -> Result<Option<Duration>, NoTimeLeft> {
    crate::deadline::remaining().map(|left| left.checked_sub(one_try).ok_or(NoTimeLeft)).transpose()
}

impl<I> Turn<I> {
    /// Takes the invitation of the movement waiting longest for this turn: it is the
    /// holder's to ask, and no longer waits for the turn.
    pub(crate) fn next_joiner(&self) -> Option<oneshot::Sender<I>> {
        lock(&self.queue.joiners).pop_front().map(|joiner| joiner.invite)
    }

    /// Leaves the joiners; `false` when a holder had already taken this one's invitation.
    fn leave_joiners(&mut self) -> bool {
        let Some(id) = self.joiner.take() else { return false };
        let mut joiners = lock(&self.queue.joiners);
        let before = joiners.len();
        joiners.retain(|joiner| joiner.id != id);
        joiners.len() < before
    }
}

impl<I> Drop for Turn<I> {
    fn drop(&mut self) {
        self.leave_joiners();
        let mut queues = lock(&self.turns.queues);
        // The map's reference and this turn's are the only ones: nobody holds or awaits
        // this wallet's turn (a waiter clones the queue under the same lock), so the entry
        // goes. The guard is released after, as the fields drop.
        if Arc::strong_count(&self.queue) <= 2 {
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
        let turns = Arc::new(WalletTurns::<u32>::default());
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
        let turns = WalletTurns::<u32>::default();
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

    /// A movement that finds the turn held waits as a joiner: the holder takes its
    /// invitation and asks it, and it never takes the turn.
    #[tokio::test]
    async fn a_joiner_is_asked_by_the_holder_of_the_turn() {
        let turns = WalletTurns::<u32>::default();
        let partner = PartnerId::generate();
        let held = turns.try_take(&partner, Mode::Sandbox).expect("a free turn is taken at once");
        assert!(turns.try_take(&partner, Mode::Sandbox).is_none(), "a held turn is not taken");

        let joining = tokio::spawn({
            let turns = turns.clone();
            async move { turns.take_or_join(&partner, Mode::Sandbox, ONE_TRY).await }
        });
        let invite = loop {
            if let Some(invite) = held.next_joiner() {
                break invite;
            }
            tokio::task::yield_now().await;
        };
        assert!(held.next_joiner().is_none(), "one movement waits");
        invite.send(7).expect("the joiner waits for its invitation");
        let taken = joining.await.expect("the joiner ran");
        assert!(matches!(taken, Ok(Taken::Invited(7))), "{taken:?}");
        drop(held);
        assert_eq!(turns.queued_wallets(), 0, "nothing is left queued");
    }

    /// A joiner nobody asks takes the turn when it is released, as `take` would; so does
    /// one whose invitation the holder took and dropped without asking.
    #[tokio::test]
    async fn a_joiner_not_asked_takes_the_turn_when_it_comes() {
        let turns = WalletTurns::<u32>::default();
        let partner = PartnerId::generate();
        for drop_invitation in [false, true] {
            let held = turns.try_take(&partner, Mode::Live).expect("a free turn");
            let joining = tokio::spawn({
                let turns = turns.clone();
                async move { turns.take_or_join(&partner, Mode::Live, ONE_TRY).await }
            });
            while lock(&held.queue.joiners).is_empty() {
                tokio::task::yield_now().await;
            }
            if drop_invitation {
                drop(held.next_joiner());
            }
            drop(held);
            let taken = joining.await.expect("the joiner ran");
            let Ok(Taken::Turn(turn)) = taken else { panic!("the turn: {taken:?}") };
            assert!(turns.try_take(&partner, Mode::Live).is_none(), "the joiner holds the turn");
            assert!(turn.next_joiner().is_none(), "and waits no more");
            drop(turn);
            assert_eq!(turns.queued_wallets(), 0, "nothing is left queued");
        }
    }

    /// A joiner out of time leaves the queue: the holder finds nobody to ask.
    #[tokio::test]
    async fn a_joiner_out_of_time_leaves_the_queue() {
        let turns = WalletTurns::<u32>::default();
        let partner = PartnerId::generate();
        let held = turns.try_take(&partner, Mode::Sandbox).expect("a free turn");

        let by = std::time::Instant::now() + Duration::from_millis(150);
        let waited = crate::deadline::within(by, turns.take_or_join(&partner, Mode::Sandbox, ONE_TRY)).await;
        assert!(matches!(waited, Err(NoTimeLeft)), "50 ms to wait, and nobody asks: {waited:?}");
        assert!(held.next_joiner().is_none(), "the joiner left");
        drop(held);
        assert_eq!(turns.queued_wallets(), 0, "nothing is left queued");
    }
}
