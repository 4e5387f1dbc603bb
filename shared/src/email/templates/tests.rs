//! What each email says, that it says it in both bodies, and that the HTML is escaped.

use super::*;
use crate::domain::{CompanyName, ContactName, Email as Address, PartnerId, Timestamp};

const FROM: &str = "no-reply@steller.example";

fn partner(company: &str) -> Partner {
    Partner {
        id: PartnerId::generate(),
        company_name: CompanyName::parse(Some(company)).expect("a valid name"),
        email: Address::parse(Some("dev@acme.example")).expect("a valid email"),
        contact_name: Some(ContactName::parse(Some("Ada <Lovelace>")).expect("a valid name")),
        created_at: Timestamp::now(),
        email_verified_at: None,
    }
}

fn notice() -> TopUpNotice {
    TopUpNotice {
        id: "tur_01JD2X8Q9V4K7M3N5P6R8S0T2W".into(),
        partner_id: "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W".into(),
        mode: crate::domain::Mode::Live,
        amount: Money::parse("1250.5").expect("an amount"),
        payment_reference: Some("WIRE <42> & co".into()),
        note: None,
        created_at: "2026-11-23T10:00:00Z".into(),
    }
}

/// Both bodies hold `text` (the HTML one escaped).
#[track_caller]
fn says(email: &Email, text: &str) {
    assert!(email.text.contains(text), "the text body lacks {text:?}:\n{}", email.text);
    let escaped = super::super::draft::escape(text);
    assert!(email.html.contains(&escaped), "the HTML body lacks {escaped:?}:\n{}", email.html);
}

/// No unescaped markup from a value reaches the HTML body.
#[track_caller]
fn html_is_escaped(email: &Email) {
    for raw in ["<Ltd>", "<Lovelace>", "<42>", "<script>"] {
        assert!(!email.html.contains(raw), "{raw} is not escaped:\n{}", email.html);
    }
}

#[test]
fn the_welcome_email_greets_the_partner_and_points_to_the_docs() {
    let partner = partner("Acme <Ltd> & Sons");

    let email = welcome(FROM, &partner);

    assert_eq!((email.from.as_str(), email.to.as_str()), (FROM, "dev@acme.example"));
    assert_eq!(email.subject, "Welcome to Steller, Acme <Ltd> & Sons");
    says(&email, "Acme <Ltd> & Sons");
    says(&email, "Hello Ada <Lovelace>,");
    says(&email, &partner.id.to_string());
    says(&email, OPENAPI_PATH);
    assert!(email.html.contains("Acme &lt;Ltd&gt; &amp; Sons"));
    html_is_escaped(&email);
}

#[test]
fn the_welcome_email_never_holds_an_api_key() {
    let email = welcome(FROM, &partner("Acme"));

    for body in [&email.subject, &email.text, &email.html] {
        assert!(!body.contains("stl_"), "a key-like string in:\n{body}");
    }
}

#[test]
fn the_welcome_email_greets_the_company_when_no_contact_is_named() {
    let mut partner = partner("Acme");
    partner.contact_name = None;

    says(&welcome(FROM, &partner), "Hello Acme,");
}

#[test]
fn a_received_top_up_email_lists_the_request() {
    let email = top_up_received(FROM, "dev@acme.example", &notice());

    assert_eq!(email.to, "dev@acme.example");
    assert!(email.subject.contains("1250.50 USD"), "{}", email.subject);
    says(&email, "tur_01JD2X8Q9V4K7M3N5P6R8S0T2W");
    says(&email, "WIRE <42> & co");
    assert!(email.text.contains("Payment reference: WIRE <42> & co"), "{}", email.text);
    assert!(!email.text.contains("Note:"), "an absent note is left out");
    html_is_escaped(&email);
}

#[test]
fn an_approved_top_up_email_says_the_live_wallet_is_credited() {
    let email = top_up_approved(FROM, "dev@acme.example", &notice());

    assert!(email.subject.contains("approved"), "{}", email.subject);
    says(&email, "1250.50 USD has been added to your live wallet");
    html_is_escaped(&email);
}

#[test]
fn a_rejected_top_up_email_gives_the_reason() {
    let email = top_up_rejected(FROM, "dev@acme.example", &notice(), "No <script> payment found & none expected");

    assert!(email.subject.contains("rejected"), "{}", email.subject);
    says(&email, "No <script> payment found & none expected");
    says(&email, "not credited");
    html_is_escaped(&email);
}

#[test]
fn the_ops_notice_names_the_company_and_how_to_decide() {
    let mut notice = notice();
    notice.note = Some("Urgent <please>".into());

    let email = ops_new_top_up(FROM, "ops@steller.example", &notice, "Acme <Ltd>");

    assert_eq!(email.to, "ops@steller.example");
    assert!(email.subject.contains("Acme <Ltd>") && email.subject.contains("1250.50 USD"), "{}", email.subject);
    says(&email, "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W");
    says(&email, "Urgent <please>");
    assert!(email.text.contains("Note: Urgent <please>"), "{}", email.text);
    says(&email, "/api/admin/top-up-requests/tur_01JD2X8Q9V4K7M3N5P6R8S0T2W/approve");
    // The command ops can paste for a deployed stack names its table (docs/ops.md).
    says(&email, "steller-ops top-ups approve tur_01JD2X8Q9V4K7M3N5P6R8S0T2W --table <DomainTableName output>");
    html_is_escaped(&email);
}
