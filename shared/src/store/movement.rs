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
use super::item::Item;
use super::layout::Key;
use super::ledger::BalanceChange;
use super::retry::ONE_TRY;
use super::transaction::{Slot, Transaction};
use super::{Store, StoreError, layout};
use crate::domain::{Mode, MoneyError, PartnerId, Wallet};

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

impl Store {
    /// Runs `attempt` on the wallet of `partner` in `mode` until its transaction commits.
    /// `attempt` may refuse (insufficient funds, an order already cancelled): that error
    /// is the answer, and nothing is written.
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
        self.move_money_reading(partner, mode, &[], |wallet, _| attempt(wallet)).await
    }

    /// As `move_money`, reading the items at `also` in the same call as the wallet each
    /// round (an order to cancel, a key's record): `attempt` gets them in that order,
    /// `None` where there is no item.
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
        // The movements of this wallet in this process, one at a time: each starts from
        // the balance the one before left, so they do not race each other.
        let _turn = self.wallet_turns.take(partner, mode, ONE_TRY).await.map_err(|_no_time_left| {
            tracing::warn!("the wallet's earlier movements left no time for this one; giving up with nothing written");
            StoreError::Contended
        })?;
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
            let Attempt { transaction, wallet: change, raced, claim, outcome } =
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
            let now = OnceLock::new();
            let written = self
                .transact(transaction, |cancelled| {
                    let others_failed = cancelled.failed(claim) || raced.iter().any(|slot| cancelled.failed(*slot));
                    if !others_failed && let Some(wallet) = cancelled.item_of(change.slot) {
                        let _ = now.set(wallet.clone());
                    }
                    // A key recorded first is read with the wallet next round.
                    if others_failed || cancelled.failed(change.slot) {
                        StoreError::Contended
                    } else {
                        cancelled.unexpected()
                    }
                })
                .await;
            match written {
                Ok(()) => {
                    self.known_wallets.remember(partner, change.after);
                    if race > 0 {
                        tracing::info!(races = race, "money moved after losing races to other changes of the wallet");
                    }
                    return Ok(outcome);
                }
                Err(StoreError::Contended) => {
                    let seen = now.into_inner().map(|item| wallet_from(&item)).transpose()?;
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
                Err(other) => {
                    // Whether it committed is unknown (a timeout): the balance is too.
                    self.known_wallets.forget(partner, mode);
                    return Err(other);
                }
            }
        }
        tracing::warn!(races = WALLET_RACES, "the wallet kept changing; giving up with nothing written");
        Err(StoreError::Contended)
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

/// The error for a wallet whose balance cannot take a movement. Only a corrupt wallet
/// gets here: every amount and balance is held far below the limit.
pub(crate) fn beyond_limit(partner: &PartnerId, mode: Mode) -> impl FnOnce(MoneyError) -> StoreError {
    let wallet = layout::wallet(partner, mode);
    move |error| StoreError::Corrupt {
        key: format!("{}/{}", wallet.pk, wallet.sk),
        reason: format!("the balance {error}"),
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
