//! Partners and wallets: signup as one transaction, and strongly consistent wallet reads.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::item::{Item, item, key, partner_pk, read};
use super::keys::key_items;
use super::ledger::put_entry;
use super::{Store, StoreError, condition_failed_at};
use crate::domain::{CompanyName, ContactName, Email, Mode, Partner, PartnerId, SignUp, Wallet};

const PROFILE: &str = "PROFILE";

pub(crate) fn wallet_sk(mode: Mode) -> String {
    format!("WALLET#{mode}")
}

fn email_pk(canonical: &str) -> String {
    format!("EMAIL#{canonical}")
}

/// A put that only succeeds if no item has this key yet.
pub(crate) fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(StoreError::dynamo)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Position of the email-uniqueness item in the signup transaction.
const EMAIL_ITEM: usize = 1;

impl Store {
    /// Creates the partner, the email claim, both wallets, the sandbox credit's ledger
    /// entry and the first key in ONE transaction: a failed or duplicate signup leaves
    /// nothing behind, and the ledger sums to the balance from the first write.
    #[tracing::instrument(skip_all, fields(partner_id = %signup.partner.id))]
    pub async fn sign_up(&self, signup: &SignUp) -> Result<(), StoreError> {
        let partner = &signup.partner;
        let pk = partner_pk(&partner.id);
        let at = &partner.created_at;
        let sandbox = signup.sandbox_wallet();

        let profile = item(&pk, PROFILE)
            .s("partner_id", partner.id.to_string())
            .s("company_name", partner.company_name.as_str())
            .s("email", partner.email.as_str())
            .s_opt("contact_name", partner.contact_name.as_ref().map(|n| n.to_string()))
            .s("created_at", at)
            .build();
        let email = item(email_pk(&partner.email.canonical()), "EMAIL").s("partner_id", partner.id.to_string()).build();
        let wallet = |wallet: &Wallet| {
            item(&pk, wallet_sk(wallet.mode))
                .s("mode", wallet.mode.as_str())
                .s("currency", "USD")
                .money("balance", wallet.balance)
                .s("updated_at", &wallet.updated_at)
                .build()
        };
        let live = Wallet { mode: Mode::Live, balance: crate::domain::Money::ZERO, updated_at: at.clone() };

        let mut items = vec![
            put_new(&self.table, profile)?,
            put_new(&self.table, email)?,
            put_new(&self.table, wallet(&sandbox))?,
            put_new(&self.table, wallet(&live))?,
        ];
        if let Some(credit) = signup.credit_entry() {
            items.push(put_entry(&self.table, &partner.id, &credit)?);
        }
        items.extend(key_items(&self.table, &partner.id, &signup.first_key)?);

        self.transact(items, |reasons| {
            if condition_failed_at(reasons, EMAIL_ITEM) {
                StoreError::EmailTaken
            } else {
                StoreError::Dynamo(format!("signup transaction cancelled: {reasons:?}").into())
            }
        })
        .await
    }

    /// A partner's profile (for the emails that go to them).
    pub async fn partner(&self, id: &PartnerId) -> Result<Partner, StoreError> {
        let item = self.get(key(partner_pk(id), PROFILE)).await?.ok_or(StoreError::NotFound)?;
        let item = read(&item);
        let text = |name: &str| item.s(name).map(str::to_owned);
        let corrupt =
            |field: &str| StoreError::Corrupt { key: format!("PARTNER#{id}"), reason: format!("{field} is invalid") };
        Ok(Partner {
            id: *id,
            company_name: CompanyName::parse(Some(&text("company_name")?)).map_err(|_| corrupt("company_name"))?,
            email: Email::parse(Some(&text("email")?)).map_err(|_| corrupt("email"))?,
            contact_name: item.s_opt("contact_name")?.and_then(|name| ContactName::parse(Some(name)).ok()),
            created_at: text("created_at")?,
        })
    }

    /// The wallet of `mode`, read strongly consistently so a balance is never stale.
    pub async fn wallet(&self, partner: &PartnerId, mode: Mode) -> Result<Wallet, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(partner_pk(partner), wallet_sk(mode))))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let item = output.item.ok_or(StoreError::NotFound)?;
        let item = read(&item);
        Ok(Wallet {
            mode: item.parsed("mode")?,
            balance: item.money("balance")?,
            updated_at: item.s("updated_at")?.to_owned(),
        })
    }
}
