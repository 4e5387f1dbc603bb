//! Who hears about a top-up request, and when: the partner on every step, ops on every
//! new live request. Shared by the top-ups and admin functions and the ops CLI, so a
//! decision made anywhere sends the same emails. Nothing here can fail the caller.

use crate::domain::{Mode, Partner, TopUpRequest, TopUpStatus};
use crate::email::{EmailSender, TopUpNotice, notify, templates};
use crate::{Config, Store};

fn notice(request: &TopUpRequest) -> TopUpNotice {
    TopUpNotice {
        id: request.id.to_string(),
        partner_id: request.partner_id.to_string(),
        mode: request.mode,
        amount: request.amount,
        payment_reference: request.payment_reference.clone(),
        note: request.note.clone(),
        created_at: request.created_at.to_string(),
    }
}

/// The address to send from, or `None` (logged) in a function configured without one:
/// the emails are skipped, the API answer stands.
fn sender<'a>(config: &'a Config, request: &TopUpRequest) -> Option<&'a str> {
    let sender = config.sender_email.as_deref();
    if sender.is_none() {
        tracing::error!(topup_id = %request.id, "STELLER_SENDER_EMAIL is not set: no email about the top-up was sent");
    }
    sender
}

/// The partner the request belongs to, or `None` (logged) when their profile cannot be
/// read: the emails are skipped, the API answer stands.
async fn partner_of(store: &Store, request: &TopUpRequest) -> Option<Partner> {
    match store.partner(&request.partner_id).await {
        Ok(partner) => Some(partner),
        Err(error) => {
            tracing::error!(%error, topup_id = %request.id, "cannot read the partner to email about a top-up");
            None
        }
    }
}

/// A new request: the partner hears it was received (live) or approved (sandbox, where
/// both happen at once); ops hear of every live one.
pub async fn top_up_requested(email: &dyn EmailSender, config: &Config, store: &Store, request: &TopUpRequest) {
    let Some(from) = sender(config, request) else { return };
    let Some(partner) = partner_of(store, request).await else { return };
    let to = partner.email.as_str();
    let notice = notice(request);
    let to_partner = match request.status {
        TopUpStatus::Approved => templates::top_up_approved(from, to, &notice),
        _ => templates::top_up_received(from, to, &notice),
    };
    notify(email, to_partner).await;
    if request.mode == Mode::Live {
        match &config.ops_email {
            Some(ops) => {
                notify(email, templates::ops_new_top_up(from, ops, &notice, partner.company_name.as_str())).await
            }
            None => tracing::warn!(topup_id = %request.id, "STELLER_OPS_EMAIL is not set: ops were not emailed"),
        }
    }
}

/// A decision by ops: the partner hears it, with the reason when rejected.
pub async fn top_up_decided(email: &dyn EmailSender, config: &Config, store: &Store, request: &TopUpRequest) {
    let Some(from) = sender(config, request) else { return };
    let Some(partner) = partner_of(store, request).await else { return };
    let (to, notice) = (partner.email.as_str(), notice(request));
    let message = match (request.status, request.reason.as_deref()) {
        (TopUpStatus::Approved, _) => templates::top_up_approved(from, to, &notice),
        (TopUpStatus::Rejected, reason) => templates::top_up_rejected(from, to, &notice, reason.unwrap_or("")),
        (TopUpStatus::Pending, _) => return,
    };
    notify(email, message).await;
}
