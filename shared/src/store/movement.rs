//! The loop every money movement runs: read the wallet, build the transaction that
//! moves the money (conditioned on the balance just read), and when another movement
//! wins the race, read again.
//!
//! Every lost race means another movement on the same wallet committed, so the loop
//! always makes progress; it is bounded all the same (then 503, nothing written), so a
//! wallet hammered by many writers answers quickly instead of running into the Lambda
//! timeout.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

use super::accounts::wallet_from;
use super::item::Item;
use super::layout::Key;
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
    /// The items whose failed condition means another change won the race (the wallet's
    /// balance update, an order's status): read everything again.
    pub(crate) raced: Vec<Slot>,
    /// The idempotency key's record, when the request has a key: its failed condition
    /// means another request recorded the key first. The attempt must have asked for
    /// the record with the wallet: the next round reads it and answers from it.
    pub(crate) claim: Option<Slot>,
    /// What the caller gets once the transaction commits.
    pub(crate) outcome: T,
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
        for race in 0..WALLET_RACES {
            let round = Instant::now();
            let (wallet, items) = self.wallet_with(partner, mode, also).await?;
            let Attempt { transaction, raced, claim, outcome } = attempt(wallet, items).await?;
            let written = self
                .transact(transaction, |cancelled| {
                    // A key recorded first is read with the wallet next round.
                    if cancelled.failed(claim) || raced.iter().any(|slot| cancelled.failed(*slot)) {
                        StoreError::Contended
                    } else {
                        cancelled.unexpected()
                    }
                })
                .await;
            match written {
                Ok(()) => {
                    if race > 0 {
                        tracing::info!(races = race, "money moved after losing races to other changes of the wallet");
                    }
                    return Ok(outcome);
                }
                // Expected under concurrency, and harmless: only the count matters.
                Err(StoreError::Contended) if !crate::deadline::leaves_time_for(Duration::ZERO, ONE_TRY) => {
                    tracing::warn!(
                        race,
                        "the wallet changed under this movement, and no time is left to read it again"
                    );
                    return Err(StoreError::Contended);
                }
                Err(StoreError::Contended) => {
                    tracing::debug!(race, "the wallet changed under this movement; reading it again");
                    pause_after_race(race, round.elapsed()).await;
                }
                Err(other) => return Err(other),
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
