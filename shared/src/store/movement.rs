//! The loop every money movement runs: take the wallet, build the transaction that
//! moves the money (conditioned on exactly that balance), and when another movement
//! wins the race, pause and start again from the wallet as it is then.
//!
//! The wallet is read, or taken from what this instance knows (`known_wallets`): the
//! balance its own last movement left, or a cancellation brought. The condition makes a
//! stale one harmless: it loses, and its cancellation brings the wallet to try again
//! from at once. A race lost during the request means the wallet is busy: after a pause
//! the loop reads it again (ADR 0016). A refusal is only ever made on a wallet seen
//! during the request.
//!
//! Every lost race means another movement on the same wallet committed, so the loop
//! always makes progress; it is bounded all the same (then 503, nothing written), so a
//! wallet hammered by many writers answers quickly instead of running into the Lambda
//! timeout.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::Rng;

use super::accounts::wallet_from;
use super::batch::{self, Joined, Offer};
use super::item::Item;
use super::layout::Key;
use super::ledger::BalanceChange;
use super::retry::ONE_TRY;
use super::transaction::{Cancelled, Slot, Transaction};
use super::wallet_turns::{NoTimeLeft, Taken, Turn};
use super::{Store, StoreError, layout};
use crate::domain::{Mode, PartnerId, Wallet};

/// How many times a money movement re-reads a wallet that changed under it: also how
/// many concurrent movements on one wallet a request can outlast.
const WALLET_RACES: u32 = 40;

/// One try at a money movement, built from the wallet as just read.
#[derive(Debug)]
pub(crate) struct Attempt<T> {
    pub(crate) transaction: Transaction,
    /// The wallet's balance update (`ledger::push_balance_change`). Its failed condition
    /// means another movement won the race; the cancellation carries the wallet as it is
    /// now, which a round built on a remembered balance tries again from at once.
    pub(crate) wallet: BalanceChange,
    /// The other items whose failed condition means another change won the race (an
    /// order's status, a top-up request's): read everything again.
    pub(crate) raced: Vec<Slot>,
    /// The idempotency key's record, when the request has a key: its failed condition
    /// means another request recorded the key first. The attempt must have asked for
    /// the record with the wallet: the next round reads it and answers from it.
    pub(crate) claim: Option<Slot>,
    /// What the caller gets once the transaction commits.
    pub(crate) outcome: T,
}

/// What a round of the wallet loop starts from.
struct Known {
    wallet: Wallet,
    /// The items at `also`, in order.
    items: Vec<Option<Item>>,
    /// Whether the wallet is one this instance remembered from before the request, not
    /// one seen during it.
    remembered: bool,
}

/// Where a movement's own items are in its round's transaction.
#[derive(Debug)]
struct Own {
    wallet: Slot,
    claim: Option<Slot>,
    raced: Vec<Slot>,
    /// How many there are: the items of movements that joined follow.
    items: usize,
}

/// Why a round's transaction was cancelled, when it lost a race.
#[derive(Debug, PartialEq)]
enum Lost {
    /// The wallet changed: as the cancellation brought it, when the engine did.
    Wallet(Option<Item>),
    /// Another item of the movement changed (an order's status, a key recorded first):
    /// everything is read again.
    Other,
    /// Only movements that joined it could not be written.
    Joiners,
}

/// Which race a cancelled round lost, from the conditions that failed; `None` when no
/// condition explains it (a bug).
fn lost_race(cancelled: &Cancelled, own: &Own) -> Option<Lost> {
    if cancelled.failed(own.claim) || own.raced.iter().any(|slot| cancelled.failed(*slot)) {
        Some(Lost::Other)
    } else if cancelled.failed(own.wallet) {
        Some(Lost::Wallet(cancelled.item_of(own.wallet).cloned()))
    } else if cancelled.failed_from(own.items) {
        Some(Lost::Joiners)
    } else {
        None
    }
}

/// How a round's transaction went.
struct Written {
    written: Result<(), StoreError>,
    lost: Option<Lost>,
}

/// When a batch must be written by: the earliest deadline among this request's and those
/// of the movements that joined it. Read here, in the request's task: a task spawned to
/// write the batch has no deadline of its own.
fn batch_deadline(joined: &Joined) -> Option<Instant> {
    crate::deadline::due().into_iter().chain(joined.answer_by()).min()
}

/// `work`, with `answer_by` (when there is one) as its deadline.
async fn within<F: Future>(answer_by: Option<Instant>, work: F) -> F::Output {
    match answer_by {
        Some(answer_by) => crate::deadline::within(answer_by, work).await,
        None => work.await,
    }
}

/// Builds the movement `attempt` makes on the wallet `offer` brings, with `items` as read
/// during the request, and hands it to the holder of the turn (ADR 0018). `Some` is the
/// movement's answer: its outcome once the batch is written, its refusal, or the failure
/// of a batch whose fate is unknown; `None` when it must run alone after all (the batch
/// was not written; or it was refused too little money on a balance it did not read
/// itself, which it decides again alone).
async fn join<T, F, Fut>(offer: Offer, items: Vec<Option<Item>>, attempt: &mut F) -> Option<Result<T, StoreError>>
where
    F: FnMut(Wallet, Vec<Option<Item>>) -> Fut,
    Fut: Future<Output = Result<Attempt<T>, StoreError>>,
{
    match attempt(offer.wallet().clone(), items).await {
        Ok(Attempt { transaction, wallet, outcome, .. }) => {
            offer.join(transaction, wallet).await.map(|written| written.map(|()| outcome))
        }
        Err(StoreError::InsufficientFunds { .. }) => {
            offer.decline();
            None
        }
        Err(refused) => {
            offer.decline();
            Some(Err(refused))
        }
    }
}

fn no_time_left(_: NoTimeLeft) -> StoreError {
    tracing::warn!("the wallet's earlier movements left no time for this one; giving up with nothing written");
    StoreError::Contended
}

impl Store {
    /// Runs `attempt` on the wallet of `partner` in `mode` until its transaction commits.
    /// `attempt` may refuse (insufficient funds, an order already cancelled): that error
    /// is the answer, and nothing is written. `attempt` may await the store (read what it
    /// decides on), so the movement never joins another's transaction (ADR 0018).
    pub(crate) async fn move_money<T, F, Fut>(
        &self,
        partner: &PartnerId,
        mode: Mode,
        mut attempt: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut(Wallet) -> Fut,
        Fut: Future<Output = Result<Attempt<T>, StoreError>>,
    {
        let turn = self.wallet_turns.take(partner, mode, ONE_TRY).await.map_err(no_time_left)?;
        self.move_in_turn(turn, partner, mode, &[], |wallet, _| attempt(wallet)).await
    }

    /// As `move_money`, reading the items at `also` in the same call as the wallet each
    /// round (an order to cancel, a key's record): `attempt` gets them in that order,
    /// `None` where there is no item. `attempt` must not await anything: when the
    /// wallet's turn is taken, the movement waits to join the transaction of the one
    /// whose turn it is, which waits for it to be built (ADR 0018).
    pub(crate) async fn move_money_reading<T, F, Fut>(
        &self,
        partner: &PartnerId,
        mode: Mode,
        also: &[Key],
        mut attempt: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut(Wallet, Vec<Option<Item>>) -> Fut,
        Fut: Future<Output = Result<Attempt<T>, StoreError>>,
    {
        let turn = match self.wallet_turns.try_take(partner, mode) {
            Some(turn) => turn,
            None => {
                // The wallet is busy in this process: read the other items now, while its
                // turn is held, and wait to be asked into the holder's transaction.
                let items = if also.is_empty() { Vec::new() } else { self.get_many(also).await? };
                match self.wallet_turns.take_or_join(partner, mode, ONE_TRY).await.map_err(no_time_left)? {
                    Taken::Turn(turn) => turn,
                    Taken::Invited(offer) => match join(offer, items, &mut attempt).await {
                        Some(answer) => return answer,
                        None => self.wallet_turns.take(partner, mode, ONE_TRY).await.map_err(no_time_left)?,
                    },
                }
            }
        };
        self.move_in_turn(turn, partner, mode, also, attempt).await
    }

    /// The wallet loop, in the wallet's turn: each round builds the movement on the
    /// wallet, asks the movements waiting for the turn to join it, and writes them.
    async fn move_in_turn<T, F, Fut>(
        &self,
        turn: Turn<batch::Offer>,
        partner: &PartnerId,
        mode: Mode,
        also: &[Key],
        mut attempt: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut(Wallet, Vec<Option<Item>>) -> Fut,
        Fut: Future<Output = Result<Attempt<T>, StoreError>>,
    {
        // What the next round starts from, when it need not read: first, the wallet as this
        // instance last saw it (only when there is nothing else to read); after a stale
        // one lost, the wallet its cancellation brought.
        let mut known = also.is_empty().then(|| self.known_wallets.get(partner, mode)).flatten().map(|wallet| Known {
            wallet,
            items: Vec::new(),
            remembered: true,
        });
        for race in 0..WALLET_RACES {
            let round = Instant::now();
            let Known { wallet, items, remembered } = match known.take() {
                Some(known) => known,
                None => {
                    let (wallet, items) = self.wallet_with(partner, mode, also).await?;
                    Known { wallet, items, remembered: false }
                }
            };
            let before = wallet.clone();
            let Attempt { mut transaction, wallet: mut change, raced, claim, outcome } =
                match attempt(wallet, items.clone()).await {
                    Ok(attempt) => attempt,
                    // A remembered balance may be long out of date: a movement is only
                    // refused on the wallet as it is during this request.
                    Err(_) if remembered => {
                        self.known_wallets.forget(partner, mode);
                        continue;
                    }
                    Err(refused) => return Err(refused),
                };
            let own = Own { wallet: change.slot, claim, raced, items: transaction.len() };
            let joined = batch::gather(&turn, &mut transaction, partner, &before, &mut change).await?;
            let alone = joined.is_empty();
            let answer_by = batch_deadline(&joined);
            let commit = self.commit(transaction, own, *partner, change.after.clone(), joined);
            let Written { written, lost } = if alone {
                commit.await
            } else {
                // Written by a task of its own, so the movements that joined learn how it
                // went even if this request is dropped meanwhile; its retries stop in
                // time for the earliest of them to be answered.
                tokio::spawn(within(answer_by, commit)).await.unwrap_or_else(|panicked| Written {
                    written: Err(StoreError::Dynamo(Box::new(panicked))),
                    lost: None,
                })
            };
            match (written, lost) {
                (Ok(()), _) => {
                    if race > 0 {
                        tracing::info!(races = race, "money moved after losing races to other changes of the wallet");
                    }
                    return Ok(outcome);
                }
                // Only movements that joined lost (their own conditions): they run alone,
                // and this one tries again at once from the same wallet.
                (Err(StoreError::Contended), Some(Lost::Joiners)) => {
                    tracing::debug!("a movement that joined this one's transaction could not be written; trying alone");
                    known = Some(Known { wallet: before, items, remembered });
                }
                (Err(StoreError::Contended), lost) => {
                    let seen = match lost {
                        Some(Lost::Wallet(Some(item))) => Some(wallet_from(&item)?),
                        _ => None,
                    };
                    match &seen {
                        Some(wallet) => self.known_wallets.remember(partner, wallet.clone()),
                        None => self.known_wallets.forget(partner, mode),
                    }
                    // Expected under concurrency, and harmless: only the count matters.
                    if !crate::deadline::leaves_time_for(Duration::ZERO, ONE_TRY) {
                        tracing::warn!(
                            race,
                            "the wallet changed under this movement, and no time is left to try again"
                        );
                        return Err(StoreError::Contended);
                    }
                    if remembered {
                        // The balance this instance remembered from before the request was
                        // out of date: another instance moved the money since. The
                        // cancellation brought the wallet as it is now; try again from it at
                        // once (a refusal on it is made on a wallet seen in this request).
                        tracing::debug!(
                            "the remembered balance was out of date; trying again from the one brought back"
                        );
                        known = seen.map(|wallet| Known { wallet, items, remembered: false });
                        continue;
                    }
                    tracing::debug!(race, "the wallet changed under this movement; trying again");
                    pause_after_race(race, round.elapsed()).await;
                    // Another movement won a race run during this request, so the wallet
                    // is busy: by the end of the pause the balance the cancellation brought
                    // has most likely moved on, and a transaction built on it would lose
                    // for certain. Read the wallet (and the other items) again (ADR 0016).
                    known = None;
                }
                (Err(other), _) => return Err(other),
            }
        }
        tracing::warn!(races = WALLET_RACES, "the wallet kept changing; giving up with nothing written");
        Err(StoreError::Contended)
    }

    /// Writes a round's transaction: the movement's own items in the first `own.items`,
    /// then those of the movements that joined it, who are told how it went. The balance
    /// this instance knows follows: `after` once written, none when the fate is unknown.
    fn commit(
        &self,
        transaction: Transaction,
        own: Own,
        partner: PartnerId,
        after: Wallet,
        joined: Joined,
    ) -> impl Future<Output = Written> + Send + 'static {
        let store = self.clone();
        async move {
            let lost = OnceLock::new();
            let written = store
                .transact(transaction, |cancelled| match lost_race(cancelled, &own) {
                    Some(race) => {
                        let _ = lost.set(race);
                        StoreError::Contended
                    }
                    None => cancelled.unexpected(),
                })
                .await;
            match &written {
                Ok(()) => store.known_wallets.remember(&partner, after),
                // Nothing was written; the balance is settled by the caller.
                Err(StoreError::Contended) => {}
                // Whether it committed is unknown (a timeout): the balance is too.
                Err(_) => store.known_wallets.forget(&partner, after.mode),
            }
            joined.tell(&written);
            Written { written, lost: lost.into_inner() }
        }
    }

    /// The wallet and the items at `also`, in one call.
    async fn wallet_with(
        &self,
        partner: &PartnerId,
        mode: Mode,
        also: &[Key],
    ) -> Result<(Wallet, Vec<Option<Item>>), StoreError> {
        if also.is_empty() {
            return Ok((self.wallet(partner, mode).await?, Vec::new()));
        }
        let keys: Vec<Key> = std::iter::once(layout::wallet(partner, mode)).chain(also.iter().cloned()).collect();
        let mut items = self.get_many(&keys).await?.into_iter();
        let wallet = items.next().flatten().ok_or(StoreError::NotFound)?;
        Ok((wallet_from(&wallet)?, items.collect()))
    }
}

/// A random pause before re-reading a wallet that just changed: up to twice the length of
/// the round that lost (its read and its transaction), doubled with each further loss.
/// The round's length is what one writer holds the wallet for, so the writers of a busy
/// wallet spread out until about one tries at a time, on any engine and at any latency,
/// instead of all re-reading at once and all but one losing again. (`make bench`, hot
/// wallet: twice the round keeps cancelled transactions under one per committed order;
/// once the round cancels more, four times idles the wallet.)
async fn pause_after_race(race: u32, round: Duration) {
    let window = round.max(Duration::from_millis(1)).saturating_mul(2 << race.min(MAX_DOUBLINGS));
    let micros = u64::try_from(window.as_micros()).unwrap_or(u64::MAX);
    // The generator is not Send: draw before awaiting.
    let pause = Duration::from_micros(rand::rng().random_range(0..=micros));
    tokio::time::sleep(pause).await;
}

/// How many times the pause window doubles: up to 2 × 2^5 rounds, for 64 writers on one
/// wallet.
const MAX_DOUBLINGS: u32 = 5;

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};

    use super::*;

    /// A round of five items: the movement's own three (its wallet update, its entry, its
    /// key's record), then two of a movement that joined it.
    fn round() -> (Transaction, Own) {
        let mut transaction = Transaction::new("test", "table");
        let slots: Vec<Slot> = (0..5).map(|_| transaction.push(TransactWriteItem::builder().build())).collect();
        (transaction, Own { wallet: slots[0], claim: Some(slots[2]), raced: Vec::new(), items: 3 })
    }

    fn lost_with(codes: [&str; 5]) -> Option<Lost> {
        let (transaction, own) = round();
        let reasons = codes.iter().map(|code| CancellationReason::builder().code(*code).build()).collect();
        lost_race(&Cancelled::new(&transaction, reasons), &own)
    }

    const FAILED: &str = "ConditionalCheckFailed";

    #[test]
    fn a_round_lost_to_the_wallet_another_item_or_a_joiner_is_told_apart() {
        assert_eq!(lost_with([FAILED, "None", "None", "None", "None"]), Some(Lost::Wallet(None)));
        assert_eq!(lost_with(["None", "None", FAILED, "None", "None"]), Some(Lost::Other), "the key recorded first");
        assert_eq!(lost_with([FAILED, "None", FAILED, "None", "None"]), Some(Lost::Other), "the key decides");
        assert_eq!(lost_with(["None", "None", "None", "None", FAILED]), Some(Lost::Joiners));
        assert_eq!(
            lost_with([FAILED, "None", "None", FAILED, "None"]),
            Some(Lost::Wallet(None)),
            "a changed wallet is this movement's race, whoever else failed"
        );
        assert_eq!(lost_with(["None", "ValidationError", "None", "None", "None"]), None, "no condition explains it");
    }
}
