//! Partners, their wallets and their keys, as the domain sees them, and the signup command.

use serde::Serialize;

use super::{
    ApiKey, CompanyName, ContactName, Email, KeyId, KeyName, KeyRole, LedgerEntry, LedgerKind, Mode, Money, MoneyError,
    PartnerId, Timestamp, TransactionId,
};

/// A company that signed up to use the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: PartnerId,
    pub company_name: CompanyName,
    pub email: Email,
    pub contact_name: Option<ContactName>,
    pub created_at: Timestamp,
    /// When the owner of `email` first proved they read it, by signing in to the portal
    /// with an emailed code. Live keys and live top-ups need it.
    pub email_verified_at: Option<Timestamp>,
}

impl Partner {
    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

/// One of a partner's two wallets. USD only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    pub mode: Mode,
    pub balance: Money,
    pub updated_at: Timestamp,
}

impl Wallet {
    /// The ledger entry that moves `amount` (negative for a debit) into this wallet as it
    /// is now, and so its `balance_after`. A balance beyond the amount limit is refused.
    pub fn entry(
        &self,
        kind: LedgerKind,
        amount: Money,
        reference: impl ToString,
        at: Timestamp,
    ) -> Result<LedgerEntry, MoneyError> {
        Ok(LedgerEntry {
            // Made at `at`, so the ledger, listed by id, is also in `created_at` order.
            id: TransactionId::generate_at(at),
            mode: self.mode,
            kind,
            amount,
            balance_after: (self.balance + amount)?,
            reference: reference.to_string(),
            created_at: at,
        })
    }
}

/// What listing a key shows: never the key, only its recognisable prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeySummary {
    pub id: KeyId,
    pub name: Option<String>,
    pub mode: Mode,
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// What listing an ops key shows: who holds it and its recognisable prefix, never the
/// key. Ops keys have no mode (they act for no partner), so they are not `KeySummary`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsKeySummary {
    pub id: KeyId,
    pub name: String,
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// Who a valid key acts for; the auth layer puts it in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Partner { partner_id: PartnerId, mode: Mode, key_id: KeyId },
    Ops { key_id: KeyId },
}

/// A freshly made key: the secret to show once, and what will be stored about it.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub key: ApiKey,
    pub summary: KeySummary,
}

impl NewKey {
    pub fn generate(mode: Mode, name: Option<KeyName>) -> Self {
        let key = ApiKey::generate(KeyRole::Partner(mode));
        let summary = KeySummary {
            id: KeyId::generate(),
            name: name.map(|name| name.to_string()),
            mode,
            prefix: key.prefix(),
            created_at: Timestamp::now(),
            revoked_at: None,
        };
        NewKey { key, summary }
    }
}

/// Who asks to sign up, as their signup form names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub company_name: CompanyName,
    pub email: Email,
    pub contact_name: Option<ContactName>,
}

/// A key a partner asks for: the mode whose wallet and data it reaches, and a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRequest {
    pub mode: Mode,
    pub name: Option<KeyName>,
}

/// The signup command: everything one atomic write creates for a new partner.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub partner: Partner,
    pub sandbox_credit: Money,
    pub credit_id: TransactionId,
    pub first_key: NewKey,
}

impl SignUp {
    pub fn new(applicant: Applicant, sandbox_credit: Money) -> Self {
        let Applicant { company_name, email, contact_name } = applicant;
        let partner = Partner {
            id: PartnerId::generate(),
            company_name,
            email,
            contact_name,
            created_at: Timestamp::now(),
            email_verified_at: None,
        };
        SignUp {
            partner,
            sandbox_credit,
            credit_id: TransactionId::generate(),
            first_key: NewKey::generate(Mode::Sandbox, Some(KeyName::first_key())),
        }
    }

    /// The ledger entry of the sandbox credit (none when the credit is zero).
    pub fn credit_entry(&self) -> Option<LedgerEntry> {
        (!self.sandbox_credit.is_zero()).then(|| LedgerEntry {
            id: self.credit_id,
            mode: Mode::Sandbox,
            kind: LedgerKind::SignupCredit,
            amount: self.sandbox_credit,
            balance_after: self.sandbox_credit,
            reference: self.partner.id.to_string(),
            created_at: self.partner.created_at,
        })
    }

    /// The sandbox wallet as signup leaves it.
    pub fn sandbox_wallet(&self) -> Wallet {
        Wallet { mode: Mode::Sandbox, balance: self.sandbox_credit, updated_at: self.partner.created_at }
    }
}
