//! Partners and wallets: signup as one transaction, and strongly consistent wallet reads.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, item, read};
use super::keys::push_new_key;
use super::ledger::push_entry;
use super::transaction::{Slot, Transaction};
use super::{Store, StoreError, layout};
use crate::domain::{CompanyName, ContactName, Email, Mode, Money, Partner, PartnerId, SignUp, Timestamp, Wallet};

fn wallet_item(partner: &PartnerId, wallet: &Wallet) -> Item {
    item(&layout::wallet(partner, wallet.mode))
        .s("mode", wallet.mode.as_str())
        .s("currency", "USD")
        .money("balance", wallet.balance)
        .time("updated_at", wallet.updated_at)
        .build()
}

pub(crate) fn wallet_from(item: &Item) -> Result<Wallet, StoreError> {
    let item = read(item);
    Ok(Wallet { mode: item.parsed("mode")?, balance: item.money("balance")?, updated_at: item.time("updated_at")? })
}

/// Stamps `email_verified_at` on the partner's profile, keeping an earlier stamp; the
/// slot fails when there is no such partner.
pub(crate) fn push_email_verified(
    transaction: &mut Transaction,
    partner: &PartnerId,
    at: Timestamp,
) -> Result<Slot, StoreError> {
    transaction.update(&layout::partner_profile(partner), |update| {
        update
            .update_expression("SET email_verified_at = if_not_exists(email_verified_at, :at)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
    })
}

impl Store {
    /// Creates the partner, the email claim, both wallets, the sandbox credit's ledger
    /// entry and the first key in ONE transaction: a failed or duplicate signup leaves
    /// nothing behind, and the ledger sums to the balance from the first write.
    #[tracing::instrument(skip_all, fields(partner_id = %signup.partner.id))]
    pub async fn sign_up(&self, signup: &SignUp) -> Result<(), StoreError> {
        let partner = &signup.partner;
        let profile = item(&layout::partner_profile(&partner.id))
            .s("partner_id", partner.id.to_string())
            .s("company_name", partner.company_name.as_str())
            .s("email", partner.email.as_str())
            .s_opt("contact_name", partner.contact_name.as_ref().map(|n| n.to_string()))
            .time("created_at", partner.created_at)
            .build();
        let email_claim =
            item(&layout::email_claim(&partner.email.canonical())).s("partner_id", partner.id.to_string()).build();
        let live = Wallet { mode: Mode::Live, balance: Money::ZERO, updated_at: partner.created_at };

        let mut transaction = self.transaction("signup");
        transaction.put_new(profile)?;
        let email = transaction.put_new(email_claim)?;
        let mut earlier = Vec::new();
        for spelling in partner.email.earlier_claims() {
            earlier.push(transaction.check(&layout::email_claim(&spelling), |check| {
                check.condition_expression("attribute_not_exists(pk)")
            })?);
        }
        transaction.put_new(wallet_item(&partner.id, &signup.sandbox_wallet()))?;
        transaction.put_new(wallet_item(&partner.id, &live))?;
        if let Some(credit) = signup.credit_entry() {
            push_entry(&mut transaction, &partner.id, &credit)?;
        }
        // A new partner has no quota override yet.
        push_new_key(&mut transaction, &partner.id, &signup.first_key, None)?;

        self.transact(transaction, |cancelled| {
            if cancelled.failed(email) || earlier.iter().any(|slot| cancelled.failed(*slot)) {
                StoreError::EmailTaken
            } else {
                cancelled.unexpected()
            }
        })
        .await
    }

    /// A partner's profile (for the emails that go to them).
    pub async fn partner(&self, id: &PartnerId) -> Result<Partner, StoreError> {
        let item = self.existing(&layout::partner_profile(id)).await?;
        let item = read(&item);
        let invalid = |field: &str| item.corrupt(format!("{field} is invalid"));
        Ok(Partner {
            id: *id,
            company_name: CompanyName::parse(Some(item.s("company_name")?)).map_err(|_| invalid("company_name"))?,
            email: Email::kept(item.s("email")?).map_err(|_| invalid("email"))?,
            contact_name: item.s_opt("contact_name")?.and_then(|name| ContactName::parse(Some(name)).ok()),
            created_at: item.time("created_at")?,
            email_verified_at: item.time_opt("email_verified_at")?,
        })
    }

    /// Records that the partner's owner proved they read its email (`at`, unless an
    /// earlier proof is on record already). Unknown partner: `NotFound`.
    pub async fn verify_email(&self, partner: &PartnerId, at: Timestamp) -> Result<(), StoreError> {
        let mut transaction = self.transaction("email verification");
        let exists = push_email_verified(&mut transaction, partner, at)?;
        self.transact(
            transaction,
            |cancelled| {
                if cancelled.failed(exists) { StoreError::NotFound } else { cancelled.unexpected() }
            },
        )
        .await
    }

    /// The wallet of `mode`, read strongly consistently so a balance is never stale.
    pub async fn wallet(&self, partner: &PartnerId, mode: Mode) -> Result<Wallet, StoreError> {
        wallet_from(&self.existing(&layout::wallet(partner, mode)).await?)
    }
}
