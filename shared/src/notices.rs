//! Who hears about what, and when: a new partner gets the welcome; on a top-up request the
//! partner hears of every step and ops of every new live request; a sign-in code goes to
//! the address it was asked for. Shared by the functions, the portal and the ops CLI, so
//! the same change sends the same emails wherever it is made. Nothing here can fail the
//! caller.
//!
//! A request sends them through [`Notices`], after its response (`crate::after_response`):
//! the partner does not wait for SES, nor for the profile read a top-up email needs. The
//! ops CLI, which has no response to give first, calls the functions directly.

use std::sync::Arc;

use crate::after_response::after_response;
use crate::domain::{CODE_MINUTES, Email, Endpoint, Mode, Partner, SignInCode, TopUpRequest, TopUpStatus};
use crate::email::{EmailKind, EmailSender, TopUpNotice, notify, templates};
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

/// A new partner: the welcome email, to the address they signed up with.
pub async fn signed_up(email: &dyn EmailSender, config: &Config, partner: &Partner) {
    match &config.sender_email {
        Some(sender) => notify(email, EmailKind::Welcome, templates::welcome(sender, partner)).await,
        None => tracing::error!(partner_id = %partner.id, "STELLER_SENDER_EMAIL is not set: no welcome email"),
    }
}

/// A sign-in code for the portal's `door` ("dashboard", "ops console"), to `to`.
pub async fn sign_in_code(email: &dyn EmailSender, config: &Config, to: &Email, code: &SignInCode, door: &str) {
    match &config.sender_email {
        Some(sender) => {
            let message = templates::sign_in_code(sender, to.as_str(), code.expose(), door, CODE_MINUTES);
            notify(email, EmailKind::SignInCode, message).await;
        }
        None => tracing::error!("STELLER_SENDER_EMAIL is not set: no sign-in code was sent"),
    }
}

/// A new request: the partner hears it was received (live) or approved (sandbox, where
/// both happen at once); ops hear of every live one.
pub async fn top_up_requested(email: &dyn EmailSender, config: &Config, store: &Store, request: &TopUpRequest) {
    let Some(from) = sender(config, request) else { return };
    let Some(partner) = partner_of(store, request).await else { return };
    let to = partner.email.as_str();
    let notice = notice(request);
    let (kind, to_partner) = match request.status {
        TopUpStatus::Approved => (EmailKind::TopUpApproved, templates::top_up_approved(from, to, &notice)),
        _ => (EmailKind::TopUpReceived, templates::top_up_received(from, to, &notice)),
    };
    notify(email, kind, to_partner).await;
    if request.mode == Mode::Live {
        match &config.ops_email {
            Some(ops) => {
                let message = templates::ops_new_top_up(from, ops, &notice, partner.company_name.as_str());
                notify(email, EmailKind::OpsNewTopUp, message).await;
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
    let (kind, message) = match (request.status, request.reason.as_deref()) {
        (TopUpStatus::Approved, _) => (EmailKind::TopUpApproved, templates::top_up_approved(from, to, &notice)),
        (TopUpStatus::Rejected, reason) => {
            (EmailKind::TopUpRejected, templates::top_up_rejected(from, to, &notice, reason.unwrap_or("")))
        }
        (TopUpStatus::Pending, _) => return,
    };
    notify(email, kind, message).await;
}

/// An endpoint disabled after five days of failed deliveries: its partner hears it.
pub async fn webhook_endpoint_disabled(email: &dyn EmailSender, config: &Config, store: &Store, endpoint: &Endpoint) {
    let Some(from) = config.sender_email.as_deref() else {
        tracing::error!(endpoint_id = %endpoint.id, "STELLER_SENDER_EMAIL is not set: no email about the disabled endpoint");
        return;
    };
    let partner = match store.partner(&endpoint.partner_id).await {
        Ok(partner) => partner,
        Err(error) => {
            tracing::error!(%error, endpoint_id = %endpoint.id, "cannot read the partner to email about a disabled endpoint");
            return;
        }
    };
    let since = endpoint.failing_since.map(|at| at.to_string()).unwrap_or_default();
    let message = templates::webhook_endpoint_disabled(
        from,
        partner.email.as_str(),
        &endpoint.id.to_string(),
        &endpoint.url,
        endpoint.mode,
        &since,
    );
    notify(email, EmailKind::WebhookEndpointDisabled, message).await;
}

/// The emails of one request, each sent after its response: what a handler calls.
#[derive(Clone)]
pub struct Notices {
    email: Arc<dyn EmailSender>,
    config: Arc<Config>,
    store: Store,
}

impl std::fmt::Debug for Notices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notices").finish_non_exhaustive()
    }
}

impl Notices {
    pub fn new(email: Arc<dyn EmailSender>, config: Arc<Config>, store: Store) -> Self {
        Notices { email, config, store }
    }

    /// [`signed_up`], after the response.
    pub async fn signed_up(&self, partner: &Partner) {
        let (this, partner) = (self.clone(), partner.clone());
        after_response(async move { signed_up(&*this.email, &this.config, &partner).await }).await;
    }

    /// [`sign_in_code`], after the response.
    pub async fn sign_in_code(&self, to: &Email, code: &SignInCode, door: &'static str) {
        let (this, to, code) = (self.clone(), to.clone(), code.clone());
        after_response(async move { sign_in_code(&*this.email, &this.config, &to, &code, door).await }).await;
    }

    /// [`top_up_requested`], after the response.
    pub async fn top_up_requested(&self, request: &TopUpRequest) {
        let (this, request) = (self.clone(), request.clone());
        after_response(async move { top_up_requested(&*this.email, &this.config, &this.store, &request).await }).await;
    }

    /// [`top_up_decided`], after the response.
    pub async fn top_up_decided(&self, request: &TopUpRequest) {
        let (this, request) = (self.clone(), request.clone());
        after_response(async move { top_up_decided(&*this.email, &this.config, &this.store, &request).await }).await;
    }
}
