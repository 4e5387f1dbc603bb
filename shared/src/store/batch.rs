//! A busy wallet's movements committed together within a process (ADR 0018).
//!
//! One process's movements of a wallet take turns (`wallet_turns`). A movement that finds
//! the turn taken waits as a *joiner*; when the holder has built its own transaction, it
//! asks the joiners, oldest first, to build theirs on the balance the movements before
//! them leave (an `Offer`), takes in each one's items but its wallet update, and writes
//! one wallet update for them all, from the balance it read to the balance the last one
//! leaves, on the same condition as ever: the balance is still exactly the one read. So
//! every ledger entry keeps its exact `balance_after`, each movement's items and its
//! events are written together with the others or not at all, and the wallet commits
//! several movements per transaction instead of one.
//!
//! Nothing is decided for a joiner that it would not decide alone. It builds its own
//! movement (its refusal is its own, made on items it read during its request); when the
//! batch does not commit (a condition failed, its own or anyone's), nothing was written
//! and every joiner runs alone, as if it had never joined. Only a transaction whose fate
//! is unknown (a timeout) answers every joiner with that failure, as it does the holder.

use std::collections::HashSet;
use std::time::Instant;

use tokio::sync::oneshot;

use super::StoreError;
use super::ledger::{BalanceChange, replace_balance_change};
use super::transaction::Transaction;
use super::wallet_turns::Turn;
use crate::domain::{PartnerId, Wallet};

/// What the holder of a wallet's turn asks a joiner: build your movement on `wallet`.
#[derive(Debug)]
pub(crate) struct Offer {
    /// The wallet as the holder's movement and the joiners asked before leave it.
    wallet: Wallet,
    /// Where the joiner sends its movement, or `None` when it builds none after all.
    reply: oneshot::Sender<Option<Part>>,
    /// How the batch went, once it is written.
    verdict: oneshot::Receiver<Verdict>,
}

impl Offer {
    /// The wallet to build on.
    pub(crate) fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// Hands the holder the movement built on the wallet offered (`transaction`, with its
    /// wallet update `wallet`), and waits for the batch: `Some(Ok)` once written,
    /// `Some(Err)` when its fate is unknown, `None` when the movement must run alone.
    /// The joiner's own deadline goes with it: the batch is written within the earliest
    /// of its movements' (`Joined::answer_by`).
    pub(crate) async fn join(self, transaction: Transaction, wallet: BalanceChange) -> Option<Result<(), StoreError>> {
        self.reply.send(Some(Part { transaction, wallet, answer_by: crate::deadline::due() })).ok()?;
        match self.verdict.await {
            Ok(Verdict::Committed) => Some(Ok(())),
            Ok(Verdict::Unknown(why)) => Some(Err(StoreError::Unavailable(why.into()))),
            // Dropped unsent: the holder was gone before writing anything.
            Ok(Verdict::Alone) | Err(_) => None,
        }
    }

    /// Builds nothing after all: the holder goes on without it.
    pub(crate) fn decline(self) {
        let _ = self.reply.send(None);
    }
}

/// A joiner's movement, as it built it on the wallet offered.
#[derive(Debug)]
pub(crate) struct Part {
    transaction: Transaction,
    wallet: BalanceChange,
    /// When the joiner's request must be answered by, if it has a deadline.
    answer_by: Option<Instant>,
}

/// How a batch went, for each movement that joined it.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Written: the movement's answer is its outcome.
    Committed,
    /// Not written (a condition failed, or the movement could not be taken in): it runs
    /// alone.
    Alone,
    /// Whether it was written is unknown: the answer is this failure.
    Unknown(String),
}

/// DynamoDB's limit on the items of one transaction.
const MOST_ITEMS: usize = 100;

/// The most items one joiner adds to a batch, its wallet update aside: an order with its
/// idempotency key adds four (its ledger entry, the order, its event, the key's record),
/// a cancellation four (the order's status, the refund entry, two events), a sandbox
/// top-up with its key seven (the request, its pointer, the entry, three events, the
/// key's record). A part with more runs alone.
const MOST_PART_ITEMS: usize = 7;

/// The movements that joined a holder's transaction, to tell how it went.
#[derive(Debug, Default)]
pub(crate) struct Joined {
    verdicts: Vec<oneshot::Sender<Verdict>>,
    /// The earliest deadline among the joiners'.
    answer_by: Option<Instant>,
}

impl Joined {
    pub(crate) fn is_empty(&self) -> bool {
        self.verdicts.is_empty()
    }

    /// The earliest deadline among the movements that joined, if any has one: the batch
    /// must be written (or given up) by then, so none of them answers late.
    pub(crate) fn answer_by(&self) -> Option<Instant> {
        self.answer_by
    }

    /// Tells every joiner how the batch went: `written` is the transaction's result.
    pub(crate) fn tell(self, written: &Result<(), StoreError>) {
        for verdict in self.verdicts {
            // A joiner whose request was dropped has nobody to tell.
            let _ = verdict.send(match written {
                Ok(()) => Verdict::Committed,
                Err(StoreError::Contended) => Verdict::Alone,
                Err(other) => Verdict::Unknown(other.to_string()),
            });
        }
    }
}

/// Asks the movements waiting for `turn` into `transaction`, the holder's own, built on
/// `before` with its wallet update `own`: each joiner builds on the wallet the ones
/// before it leave, and the holder's wallet update becomes one from `before` to the
/// wallet the last one leaves, which `own.after` then is.
pub(crate) async fn gather(
    turn: &Turn<Offer>,
    transaction: &mut Transaction,
    partner: &PartnerId,
    before: &Wallet,
    own: &mut BalanceChange,
) -> Result<Joined, StoreError> {
    let mut joined = Joined::default();
    let mut after = own.after.clone();
    // One at a time while the largest part still fits: the others wait for the next turn.
    while transaction.len() + MOST_PART_ITEMS <= MOST_ITEMS {
        let Some(invite) = turn.next_joiner() else { break };
        let (reply, replied) = oneshot::channel();
        let (verdict, awaited) = oneshot::channel();
        // A joiner whose request was dropped is gone.
        if invite.send(Offer { wallet: after.clone(), reply, verdict: awaited }).is_err() {
            continue;
        }
        let Ok(Some(part)) = replied.await else { continue };
        if !fits(transaction, &part) {
            let _ = verdict.send(Verdict::Alone);
            continue;
        }
        after = part.wallet.after.clone();
        transaction.absorb(part.transaction, part.wallet.slot);
        joined.verdicts.push(verdict);
        joined.answer_by = joined.answer_by.into_iter().chain(part.answer_by).min();
    }
    if !joined.is_empty() {
        replace_balance_change(transaction, own.slot, partner, before, &after)?;
        own.after = after;
    }
    Ok(joined)
}

/// Whether `part` can join `transaction`: it is no larger than a movement is, and it
/// touches no item the transaction already does but the wallet (two cancellations of
/// one order, two orders under one idempotency key).
fn fits(transaction: &Transaction, part: &Part) -> bool {
    let Part { transaction: theirs, wallet, .. } = part;
    if theirs.len() > MOST_PART_ITEMS + 1 {
        return false;
    }
    let taken: HashSet<_> = transaction.keys().collect();
    let wallet_slot = wallet.slot.index();
    theirs
        .keys()
        .enumerate()
        .filter(|(index, _)| *index != wallet_slot)
        .all(|(_, key)| key.is_some() && !taken.contains(&key))
}
