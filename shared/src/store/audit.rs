//! The ledger audit: for every wallet, the ledger sums to the balance.
//!
//! A full, strongly consistent `Scan` of the domain table, for ops (`steller-ops audit`)
//! and never on a request path: it reads every item. A scan is not a snapshot, so a
//! balance change committed while it runs can be seen half done (the wallet before it,
//! the ledger entry after it); a finding made while orders were being placed is only
//! confirmed by a second run.

use std::collections::BTreeMap;
use std::fmt;

use super::item::{Item, read};
use super::layout::{self, Counted, PK, SK};
use super::{Store, StoreError};
use crate::domain::{Mode, Money};

/// One wallet as the audit found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletAudit {
    pub partner_id: String,
    pub mode: Mode,
    pub balance: Money,
    /// The sum of the signed `amount` of the wallet's ledger entries (0 when there are none).
    pub ledger_sum: Money,
    pub entries: usize,
}

/// Ledger entries of a wallet that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanedLedger {
    pub partner_id: String,
    pub mode: Mode,
    pub ledger_sum: Money,
    pub entries: usize,
}

/// What the audit found, wallets ordered by partner id, then mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditReport {
    pub wallets: Vec<WalletAudit>,
    pub orphaned: Vec<OrphanedLedger>,
}

/// A broken money invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The balance is not what the ledger adds up to.
    BalanceMismatch { partner_id: String, mode: Mode, balance: Money, ledger_sum: Money, entries: usize },
    /// A balance below zero, which no debit may ever cause.
    NegativeBalance { partner_id: String, mode: Mode, balance: Money },
    /// Ledger entries whose wallet is missing.
    MissingWallet { partner_id: String, mode: Mode, ledger_sum: Money, entries: usize },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::BalanceMismatch { partner_id, mode, balance, ledger_sum, entries } => write!(
                f,
                "{partner_id} {mode} wallet holds {balance} USD but its ledger ({}) sums to {ledger_sum} USD \
                 (off by {} USD)",
                Entries(*entries),
                (*balance - *ledger_sum).map_or_else(|error| error.to_string(), |gap| gap.to_string())
            ),
            Finding::NegativeBalance { partner_id, mode, balance } => {
                write!(f, "{partner_id} {mode} wallet holds {balance} USD; a balance must never be negative")
            }
            Finding::MissingWallet { partner_id, mode, ledger_sum, entries } => write!(
                f,
                "{partner_id} has {mode} ledger entries ({}) summing to {ledger_sum} USD but no {mode} wallet",
                Entries(*entries)
            ),
        }
    }
}

/// "1 entry", "3 entries".
struct Entries(usize);

impl fmt::Display for Entries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0 == 1 { "entry" } else { "entries" };
        write!(f, "{} {noun}", self.0)
    }
}

impl WalletAudit {
    /// What is wrong with this wallet; empty when its ledger explains its balance.
    pub fn findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        if self.ledger_sum != self.balance {
            findings.push(Finding::BalanceMismatch {
                partner_id: self.partner_id.clone(),
                mode: self.mode,
                balance: self.balance,
                ledger_sum: self.ledger_sum,
                entries: self.entries,
            });
        }
        if self.balance.is_negative() {
            findings.push(Finding::NegativeBalance {
                partner_id: self.partner_id.clone(),
                mode: self.mode,
                balance: self.balance,
            });
        }
        findings
    }
}

impl OrphanedLedger {
    pub fn finding(&self) -> Finding {
        Finding::MissingWallet {
            partner_id: self.partner_id.clone(),
            mode: self.mode,
            ledger_sum: self.ledger_sum,
            entries: self.entries,
        }
    }
}

impl AuditReport {
    /// Every broken invariant: wallets first, then ledgers without a wallet.
    pub fn mismatches(&self) -> Vec<Finding> {
        let wallets = self.wallets.iter().flat_map(WalletAudit::findings);
        wallets.chain(self.orphaned.iter().map(OrphanedLedger::finding)).collect()
    }

    pub fn is_clean(&self) -> bool {
        self.mismatches().is_empty()
    }

    /// How many ledger entries were summed, with or without a wallet.
    pub fn ledger_entries(&self) -> usize {
        self.wallets.iter().map(|w| w.entries).sum::<usize>() + self.orphaned.iter().map(|o| o.entries).sum::<usize>()
    }
}

/// One wallet's running totals while the scan goes on.
struct Tally {
    mode: Mode,
    balance: Option<Money>,
    ledger_sum: Money,
    entries: usize,
}

/// Wallet balances and ledger sums by (partner id, mode), built item by item.
#[derive(Default)]
struct Ledgers(BTreeMap<(String, &'static str), Tally>);

impl Ledgers {
    fn tally(&mut self, partner_id: &str, mode: Mode) -> &mut Tally {
        self.0.entry((partner_id.to_owned(), mode.as_str())).or_insert(Tally {
            mode,
            balance: None,
            ledger_sum: Money::ZERO,
            entries: 0,
        })
    }

    /// Counts `item` if it is a wallet or a ledger entry; every other item is ignored.
    fn add(&mut self, item: &Item) -> Result<(), StoreError> {
        let text = |name| item.get(name).and_then(|v| v.as_s().ok()).map_or("", String::as_str);
        let (pk, sk) = (text(PK), text(SK));
        let corrupt = |reason: &str| StoreError::Corrupt { key: format!("{pk}/{sk}"), reason: reason.into() };
        let mode_of = |raw: &str| Mode::parse(raw).ok_or_else(|| corrupt("the sort key names no known mode"));
        match layout::counted(pk, sk) {
            Some(Counted::Wallet { partner, mode }) => {
                let balance = read(item).money("balance")?;
                self.tally(partner, mode_of(mode)?).balance = Some(balance);
            }
            Some(Counted::LedgerEntry { partner, mode }) => {
                let amount = read(item).money("amount")?;
                let tally = self.tally(partner, mode_of(mode)?);
                tally.ledger_sum =
                    (tally.ledger_sum + amount).map_err(|_| corrupt("the ledger sums beyond any amount"))?;
                tally.entries += 1;
            }
            None => {}
        }
        Ok(())
    }

    fn into_report(self) -> AuditReport {
        let mut report = AuditReport::default();
        for ((partner_id, _), tally) in self.0 {
            let Tally { mode, balance, ledger_sum, entries } = tally;
            match balance {
                Some(balance) => report.wallets.push(WalletAudit { partner_id, mode, balance, ledger_sum, entries }),
                None => report.orphaned.push(OrphanedLedger { partner_id, mode, ledger_sum, entries }),
            }
        }
        report
    }
}

impl Store {
    /// Checks every wallet against its ledger (see the module's note on consistency).
    /// An item that does not have the shape the store writes stops the audit with
    /// `StoreError::Corrupt` naming it.
    pub async fn audit(&self) -> Result<AuditReport, StoreError> {
        let mut ledgers = Ledgers::default();
        self.scan_each(
            |scan| {
                // Only what the audit reads: fewer bytes on the wire (a scan is billed for
                // whole items all the same).
                scan.projection_expression("#pk, #sk, #balance, #amount")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_names("#balance", "balance")
                    .expression_attribute_names("#amount", "amount")
            },
            |item| ledgers.add(item),
        )
        .await?;
        Ok(ledgers.into_report())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::super::item::item;
    use super::super::layout::Key;
    use super::*;

    /// An amount as DynamoDB hands it back: a number, possibly normalised (`941.5`).
    fn number(text: &str) -> AttributeValue {
        AttributeValue::N(text.to_owned())
    }

    const ALICE: &str = "ptn_01JNDKQJM0NF1XASZ2ZN5X1BEB";
    const BOB: &str = "ptn_01KA98PS0011V5TWS41HMPS366";

    fn wallet(partner: &str, mode: &str, balance: &str) -> Item {
        let mut wallet = item(&Key::raw(format!("PARTNER#{partner}"), format!("WALLET#{mode}"))).build();
        wallet.insert("balance".into(), number(balance));
        wallet
    }

    fn entry(partner: &str, mode: &str, txn: &str, amount: &str) -> Item {
        let mut entry = item(&Key::raw(format!("PARTNER#{partner}"), format!("LEDGER#{mode}#txn_{txn}"))).build();
        entry.insert("amount".into(), number(amount));
        entry
    }

    fn audit(items: &[Item]) -> Result<AuditReport, StoreError> {
        let mut ledgers = Ledgers::default();
        for item in items {
            ledgers.add(item)?;
        }
        Ok(ledgers.into_report())
    }

    fn money(text: &str) -> Money {
        Money::from_decimal(text.parse().expect("a decimal")).expect("an amount")
    }

    #[test]
    fn wallets_whose_ledgers_sum_to_their_balances_are_clean() {
        let report = audit(&[
            wallet(ALICE, "sandbox", "941.5"),
            entry(ALICE, "sandbox", "1", "1000.00"),
            entry(ALICE, "sandbox", "2", "-58.5"),
            wallet(ALICE, "live", "0"),
            item(&Key::raw(format!("PARTNER#{ALICE}"), "PROFILE")).build(),
            item(&Key::raw("CATALOG", "PRODUCT#prd_x")).build(),
        ])
        .expect("readable");

        assert!(report.is_clean(), "{:?}", report.mismatches());
        assert_eq!(report.wallets.len(), 2);
        assert_eq!(report.ledger_entries(), 2);
        let sandbox = report.wallets.iter().find(|w| w.mode == Mode::Sandbox).expect("the sandbox wallet");
        assert_eq!((sandbox.balance, sandbox.ledger_sum, sandbox.entries), (money("941.50"), money("941.50"), 2));
    }

    #[test]
    fn a_balance_its_ledger_does_not_explain_is_a_mismatch_naming_the_partner() {
        let report = audit(&[
            wallet(ALICE, "sandbox", "1500.00"),
            entry(ALICE, "sandbox", "1", "1000.00"),
            wallet(BOB, "live", "0"),
        ])
        .expect("readable");

        let findings = report.mismatches();
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(matches!(&findings[0], Finding::BalanceMismatch { partner_id, .. } if partner_id == ALICE));
        let text = findings[0].to_string();
        assert!(text.contains(ALICE) && text.contains("1500.00") && text.contains("off by 500.00"), "{text}");
    }

    #[test]
    fn a_negative_balance_is_a_finding_even_when_the_ledger_agrees() {
        let report = audit(&[wallet(BOB, "live", "-5.00"), entry(BOB, "live", "1", "-5.00")]).expect("readable");

        assert_eq!(
            report.mismatches(),
            [Finding::NegativeBalance { partner_id: BOB.into(), mode: Mode::Live, balance: money("-5.00") }]
        );
        assert!(!report.is_clean());
    }

    #[test]
    fn ledger_entries_without_their_wallet_are_reported() {
        let report = audit(&[wallet(ALICE, "sandbox", "0"), entry(ALICE, "live", "1", "25.00")]).expect("readable");

        assert_eq!(report.wallets.len(), 1);
        assert_eq!(report.ledger_entries(), 1);
        let findings = report.mismatches();
        assert_eq!(
            findings,
            [Finding::MissingWallet {
                partner_id: ALICE.into(),
                mode: Mode::Live,
                ledger_sum: money("25.00"),
                entries: 1
            }]
        );
        assert!(findings[0].to_string().contains("no live wallet"), "{}", findings[0]);
    }

    #[test]
    fn an_unreadable_wallet_or_entry_stops_the_audit_naming_the_item() {
        let mut no_balance = wallet(ALICE, "sandbox", "1");
        no_balance.remove("balance");
        for broken in [no_balance, wallet(ALICE, "demo", "1"), entry(ALICE, "sandbox", "1", "0.001")] {
            match audit(&[broken]) {
                Err(StoreError::Corrupt { key, .. }) => assert!(key.starts_with(&format!("PARTNER#{ALICE}/")), "{key}"),
                other => panic!("expected a corrupt item, got {other:?}"),
            }
        }
    }
}
