//! The emails Steller sends, each with a text and an HTML body. Values come in as they
//! are and are escaped by `Draft`; no template takes an API key, so none can leak one.

use super::Email;
use super::draft::Draft;
use crate::domain::{Mode, Money, Partner};

/// Where the API reference is served, on the API's own host.
pub const OPENAPI_PATH: &str = "/api/public/openapi.json";

/// What the top-up emails say about a request. Plain values, so the emails do not depend
/// on how top-ups are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopUpNotice {
    pub id: String,
    pub partner_id: String,
    /// Which wallet the request tops up: sandbox ones are fake USD, approved at once.
    pub mode: Mode,
    pub amount: Money,
    pub payment_reference: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
}

impl TopUpNotice {
    fn amount(&self) -> String {
        format!("{} USD", self.amount)
    }

    /// The request's details, as every top-up email lists them.
    fn rows(&self) -> [(&'static str, Option<String>); 5] {
        [
            ("Request", Some(self.id.clone())),
            ("Amount", Some(self.amount())),
            ("Payment reference", self.payment_reference.clone()),
            ("Note", self.note.clone()),
            ("Requested at", Some(self.created_at.clone())),
        ]
    }
}

/// Borrows owned rows as `Draft::details` takes them.
fn borrowed<'a>(rows: &'a [(&'a str, Option<String>)]) -> Vec<(&'a str, Option<&'a str>)> {
    rows.iter().map(|(label, value)| (*label, value.as_deref())).collect()
}

/// To a new partner, at signup. Never holds the key: it was shown once, in the response.
pub fn welcome(from: &str, partner: &Partner) -> Email {
    let company = partner.company_name.as_str();
    let greeting = partner.contact_name.as_ref().map_or(company, |name| name.as_str());
    Draft::new(format!("Welcome to Steller, {company}"))
        .paragraph(&format!("Hello {greeting},"))
        .paragraph(&format!(
            "{company} now has a Steller partner account, with a sandbox wallet holding fake USD so \
             you can try every call before any real money moves."
        ))
        .details(&[
            ("Company", Some(company)),
            ("Partner id", Some(&partner.id.to_string())),
            ("Account email", Some(partner.email.as_str())),
        ])
        .paragraph(
            "Your sandbox API key was shown once, in the signup response. We never send keys by \
             email: keep it in your secret store, and create more keys with POST /api/keys.",
        )
        .paragraph(&format!(
            "The API reference (OpenAPI 3.1) is served at {OPENAPI_PATH} on the API's host. Send your \
             key as \"Authorization: Bearer <key>\" on every call outside /api/public."
        ))
        .paragraph("Happy building,\nthe Steller team")
        .into_email(from, partner.email.as_str())
}

/// A sign-in code for the portal (the partner dashboard or the ops console), to the
/// address it was asked for. Says what to do if someone else asked.
pub fn sign_in_code(from: &str, to: &str, code: &str, door: &str, minutes: i64) -> Email {
    Draft::new(format!("Your Steller sign-in code: {code}"))
        .paragraph("Hello,")
        .paragraph(&format!("Your code to sign in to the Steller {door} is:"))
        .paragraph(code)
        .paragraph(&format!(
            "It works once, for {minutes} minutes. If you did not ask to sign in, ignore this email: \
             nobody can sign in without the code, and five wrong tries void it."
        ))
        .paragraph("The Steller team")
        .into_email(from, to)
}

/// To the partner, when a top-up request is recorded and waits for ops.
pub fn top_up_received(from: &str, to: &str, request: &TopUpNotice) -> Email {
    let rows = request.rows();
    Draft::new(format!("We received your top-up request for {}", request.amount()))
        .paragraph("Hello,")
        .paragraph(&format!(
            "We received your request to add {} to your {} wallet. {}",
            request.amount(),
            request.mode,
            match request.mode {
                Mode::Live =>
                    "Our team checks the payment and then approves or rejects the request; we email you either way.",
                Mode::Sandbox => "Sandbox requests are approved at once with fake USD, so you can try the whole flow.",
            }
        ))
        .details(&borrowed(&rows))
        .paragraph("The Steller team")
        .into_email(from, to)
}

/// To the partner, when ops approve a request and the live wallet is credited.
pub fn top_up_approved(from: &str, to: &str, request: &TopUpNotice) -> Email {
    let rows = request.rows();
    Draft::new(format!("Your top-up of {} is approved", request.amount()))
        .paragraph("Hello,")
        .paragraph(&format!(
            "Your top-up request is approved: {} has been added to your {mode} wallet. GET /api/wallet \
             with a {mode} key shows the new balance, and GET /api/wallet/transactions the credit.",
            request.amount(),
            mode = request.mode
        ))
        .details(&borrowed(&rows))
        .paragraph("The Steller team")
        .into_email(from, to)
}

/// To the partner, when ops reject a request; no money moved.
pub fn top_up_rejected(from: &str, to: &str, request: &TopUpNotice, reason: &str) -> Email {
    let mut rows = request.rows().to_vec();
    rows.push(("Reason", Some(reason.to_owned())));
    Draft::new(format!("Your top-up request for {} was rejected", request.amount()))
        .paragraph("Hello,")
        .paragraph("Your top-up request was rejected and your live wallet was not credited. The reason:")
        .paragraph(reason)
        .details(&borrowed(&rows))
        .paragraph("The Steller team")
        .into_email(from, to)
}

/// To ops, for every new live top-up request waiting for a decision.
pub fn ops_new_top_up(from: &str, ops_to: &str, request: &TopUpNotice, company_name: &str) -> Email {
    let mut rows = vec![("Company", Some(company_name.to_owned())), ("Partner id", Some(request.partner_id.clone()))];
    rows.extend(request.rows());
    Draft::new(format!("New top-up request: {} from {company_name}", request.amount()))
        .paragraph(&format!(
            "{company_name} asks for {} to be added to its live wallet. Check that the payment \
             arrived, then decide:",
            request.amount()
        ))
        .details(&borrowed(&rows))
        .paragraph(&format!(
            "steller-ops top-ups approve {id} --table <DomainTableName output>\nsteller-ops top-ups reject \
             {id} --reason \"…\" --table <DomainTableName output>\n(with STELLER_SENDER_EMAIL set to the \
             stack's SenderEmail; docs/ops.md, section 4)\nor, with an ops key: POST \
             /api/admin/top-up-requests/{id}/approve (or /reject with a reason)",
            id = request.id
        ))
        .into_email(from, ops_to)
}

/// To the partner, when an endpoint that failed every delivery for days is disabled.
pub fn webhook_endpoint_disabled(from: &str, to: &str, endpoint_id: &str, url: &str, mode: Mode, since: &str) -> Email {
    let rows = [
        ("Endpoint", Some(endpoint_id)),
        ("URL", Some(url)),
        ("Mode", Some(mode.as_str())),
        ("Failing since", Some(since)),
    ];
    Draft::new("A webhook endpoint was disabled")
        .paragraph("Hello,")
        .paragraph(
            "Every delivery to one of your webhook endpoints has failed for five days, so Steller has \
             stopped sending it events. GET /api/events lists what it missed, with each attempt's \
             answer; once the endpoint answers 2xx again, create it anew (POST /api/webhook-endpoints) \
             and redeliver the events you need (POST /api/events/{id}/redeliver).",
        )
        .details(&rows)
        .paragraph("The Steller team")
        .into_email(from, to)
}

#[cfg(test)]
mod tests;
