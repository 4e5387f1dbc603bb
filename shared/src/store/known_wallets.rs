//! The wallets this process last saw: after its own movements, and in the cancellations
//! of the movements that lost a race. A movement without other items to read starts from
//! the balance known here instead of reading the wallet first, so a warm instance moving
//! money on a wallet it just moved awaits one call fewer.
//!
//! Nothing here is trusted for an answer. Every transaction built from a known balance is
//! conditioned on the balance being exactly that (`ledger::push_balance_change`), so a
//! stale one only loses the race, and its cancellation brings the wallet as it is now.
//! A movement refused on a known balance (too little money) reads the wallet and decides
//! again: a refusal is always made on the wallet as it was during the request.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::domain::{Mode, PartnerId, Wallet};

/// How many wallets are remembered; past it the memory starts again empty, so it stays a
/// few hundred kilobytes however many partners an instance serves.
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct KnownWallets {
    wallets: Mutex<HashMap<(PartnerId, Mode), Wallet>>,
}

impl KnownWallets {
    pub(crate) fn get(&self, partner: &PartnerId, mode: Mode) -> Option<Wallet> {
        self.lock().get(&(*partner, mode)).cloned()
    }

    pub(crate) fn remember(&self, partner: &PartnerId, wallet: Wallet) {
        let mut wallets = self.lock();
        if wallets.len() >= CAPACITY && !wallets.contains_key(&(*partner, wallet.mode)) {
            wallets.clear();
        }
        wallets.insert((*partner, wallet.mode), wallet);
    }

    pub(crate) fn forget(&self, partner: &PartnerId, mode: Mode) {
        self.lock().remove(&(*partner, mode));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(PartnerId, Mode), Wallet>> {
        self.wallets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Money, Timestamp};

    fn wallet(mode: Mode, dollars: u32) -> Wallet {
        Wallet { mode, balance: Money::dollars(dollars), updated_at: Timestamp::now() }
    }

    #[test]
    fn a_wallet_is_known_by_partner_and_mode_until_forgotten() {
        let known = KnownWallets::default();
        let partner = PartnerId::generate();
        known.remember(&partner, wallet(Mode::Sandbox, 10));

        assert_eq!(known.get(&partner, Mode::Sandbox).map(|wallet| wallet.balance), Some(Money::dollars(10)));
        assert_eq!(known.get(&partner, Mode::Live), None, "the live wallet is another wallet");
        assert_eq!(known.get(&PartnerId::generate(), Mode::Sandbox), None, "another partner's is unknown");

        known.forget(&partner, Mode::Sandbox);
        assert_eq!(known.get(&partner, Mode::Sandbox), None);
    }

    #[test]
    fn past_its_capacity_the_memory_starts_again() {
        let known = KnownWallets::default();
        let first = PartnerId::generate();
        known.remember(&first, wallet(Mode::Sandbox, 1));
        for _ in 1..CAPACITY {
            known.remember(&PartnerId::generate(), wallet(Mode::Sandbox, 1));
        }
        assert!(known.get(&first, Mode::Sandbox).is_some(), "exactly full");

        let last = PartnerId::generate();
        known.remember(&last, wallet(Mode::Sandbox, 2));

        assert_eq!(known.get(&first, Mode::Sandbox), None);
        assert_eq!(known.get(&last, Mode::Sandbox).map(|wallet| wallet.balance), Some(Money::dollars(2)));
        assert_eq!(known.lock().len(), 1);
    }
}
