//! The new-endpoint form: its fields as a browser posts them, read by the rules of
//! `POST /api/webhook-endpoints` into a `NewEndpoint`, and drawn again with what is wrong
//! next to each field.

use maud::{Markup, html};
use steller::domain::{EndpointDescription, EventType, Mode, NewEndpoint, PartnerId};
use steller::webhooks::address::{UrlPolicy, check_url_resolved};

use crate::page::{csrf_field, error_summary, field};

/// The form's fields as typed, kept to show them again when something is wrong.
#[derive(Debug, Default)]
pub(super) struct EndpointForm {
    pub(super) csrf: String,
    /// The form's one-time token (`submission_token`): one endpoint per form shown.
    pub(super) submission: String,
    url: String,
    /// One per ticked box, as posted: unknown names are refused, not dropped.
    events: Vec<String>,
    description: String,
}

impl EndpointForm {
    /// The posted fields. `serde_urlencoded` reads no repeated field into a list, so the
    /// body comes as pairs: `events` once for each ticked box; unknown fields are ignored.
    pub(super) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = EndpointForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "csrf" => form.csrf = value,
                "submission" => form.submission = value,
                "url" => form.url = value,
                "events" => form.events.push(value),
                "description" => form.description = value,
                _ => {}
            }
        }
        form
    }

    /// The endpoint asked for, or every invalid field named at once. The URL is held to
    /// `policy`, after DNS resolution where it asks for public addresses, as the API does.
    pub(super) async fn checked(
        &self,
        partner: PartnerId,
        mode: Mode,
        policy: UrlPolicy,
    ) -> Result<NewEndpoint, Problems> {
        let mut fields = Vec::new();
        let url = match self.url.trim() {
            "" => Err("URL is required".to_owned()),
            url => check_url_resolved(url, policy).await.map(|url| url.to_string()).map_err(|e| format!("URL {e}")),
        }
        .map_err(|message| fields.push(("url", message)))
        .ok();
        let events = event_types(&self.events).map_err(|message| fields.push(("events", message))).ok();
        let description = match self.description.trim() {
            "" => Ok(None),
            text => EndpointDescription::parse(Some(text)).map(Some),
        }
        .map_err(|e| fields.push(("description", format!("Description {e}"))))
        .ok();
        match (url, events, description) {
            (Some(url), Some(events), Some(description)) => {
                Ok(NewEndpoint { partner_id: partner, mode, url, events, description })
            }
            _ => Err(Problems { fields, general: None }),
        }
    }
}

/// The event types ticked, by the API's rule: at least one, each known, in `EventType`
/// order without repeats.
fn event_types(raw: &[String]) -> Result<Vec<EventType>, String> {
    if raw.is_empty() {
        return Err("Events: choose at least one event type".into());
    }
    let mut events = raw
        .iter()
        .map(|name| EventType::parse(name).map_err(|error| format!("Events hold {name:?}, which {error}")))
        .collect::<Result<Vec<_>, _>>()?;
    events.sort();
    events.dedup();
    Ok(events)
}

/// What is wrong with the form: each field's message, or one about the whole request
/// (the mode has all the endpoints it may have).
#[derive(Debug, Default)]
pub(super) struct Problems {
    fields: Vec<(&'static str, String)>,
    general: Option<String>,
}

impl Problems {
    /// A problem with the whole request, whatever the fields say.
    pub(super) fn general(reason: String) -> Self {
        Problems { fields: Vec::new(), general: Some(reason) }
    }

    fn of(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(field, _)| *field == name).map(|(_, message)| message.as_str())
    }
}

/// The form, with `values` filled in, each problem next to its field and `submission` as
/// its one-time token.
pub(super) fn render(
    csrf: &str,
    submission: &str,
    mode: Mode,
    policy: UrlPolicy,
    values: &EndpointForm,
    problems: &Problems,
) -> Markup {
    let url_hint = match policy {
        UrlPolicy::PublicOnly => "Where each event is POSTed: https://, on the public internet.",
        UrlPolicy::AllowLoopbackHttp => {
            "Where each event is POSTed: https://, or plain http:// to 127.0.0.1 or localhost while you run Steller locally."
        }
    };
    html! {
        @if let Some(general) = &problems.general {
            div.summary role="alert" { p { "The endpoint was not created: " (general) "." } }
        }
        (error_summary(&problems.fields))
        form method="post" action={ "/dashboard/" (mode) "/webhooks" } novalidate {
            (csrf_field(csrf))
            input type="hidden" name="submission" value=(submission);
            (field("URL", "url", "text", &values.url, problems.of("url"), Some(url_hint)))
            (event_boxes(&values.events, problems.of("events")))
            (field("Description", "description", "text", &values.description, problems.of("description"),
                Some(&format!("Optional, up to {} characters: what the endpoint is for.", EndpointDescription::MAX_CHARS))))
            button type="submit" { "Add " (mode) " endpoint" }
        }
    }
}

/// A box for each event type in a group named by its legend; the group's error sits
/// under the legend and is read with it.
fn event_boxes(ticked: &[String], error: Option<&str>) -> Markup {
    let described = if error.is_some() { "events-error events-hint" } else { "events-hint" };
    html! {
        fieldset.field.invalid[error.is_some()] #events aria-describedby=(described) {
            legend { "Events" }
            p.hint #events-hint { "The changes to send it: at least one." }
            @if let Some(error) = error { p.error #events-error { (error) } }
            @for kind in EventType::ALL {
                label {
                    input type="checkbox" name="events" value=(kind)
                        checked[ticked.iter().any(|name| name == kind.as_str())]
                        aria-invalid=[error.map(|_| "true")];
                    " " code { (kind) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn every_ticked_box_is_read_and_unknown_fields_are_ignored() {
        let pairs =
            [("csrf", "t"), ("submission", "s"), ("url", "https://a.example"), ("events", "order.created"), ("x", "y")]
                .into_iter()
                .chain([("events", "wallet.credited"), ("description", "sync")])
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect();

        let form = EndpointForm::from_pairs(pairs);

        assert_eq!(
            (form.csrf.as_str(), form.submission.as_str(), form.url.as_str(), form.description.as_str()),
            ("t", "s", "https://a.example", "sync")
        );
        assert_eq!(form.events, names(&["order.created", "wallet.credited"]));
    }

    #[test]
    fn event_types_are_at_least_one_known_name_kept_once_in_order() {
        assert_eq!(
            event_types(&names(&["wallet.credited", "order.created", "order.created"])),
            Ok(vec![EventType::OrderCreated, EventType::WalletCredited])
        );
        assert_eq!(event_types(&[]), Err("Events: choose at least one event type".to_owned()));
        let unknown = event_types(&names(&["order.created", "order.updated"])).expect_err("unknown");
        assert!(unknown.starts_with("Events hold \"order.updated\", which is not an event type"), "{unknown}");
    }

    #[tokio::test]
    async fn every_invalid_field_is_named_at_once() {
        let form = EndpointForm {
            csrf: String::new(),
            submission: String::new(),
            url: "ftp://x".into(),
            events: Vec::new(),
            description: "d".repeat(EndpointDescription::MAX_CHARS + 1),
        };

        let problems =
            form.checked(PartnerId::generate(), Mode::Sandbox, UrlPolicy::PublicOnly).await.expect_err("bad");

        assert_eq!(
            problems.fields,
            [
                ("url", "URL must use https".to_owned()),
                ("events", "Events: choose at least one event type".to_owned()),
                ("description", "Description must be at most 200 characters".to_owned()),
            ]
        );
    }

    #[tokio::test]
    async fn a_valid_form_is_the_endpoint_the_api_would_register() {
        let form = EndpointForm {
            csrf: String::new(),
            submission: String::new(),
            url: " http://127.0.0.1:9/hook ".into(),
            events: names(&["top_up.approved", "order.created"]),
            description: "  ".into(),
        };
        let partner = PartnerId::generate();

        let new = form.checked(partner, Mode::Live, UrlPolicy::AllowLoopbackHttp).await.expect("valid");

        assert_eq!((new.partner_id, new.mode, new.url.as_str()), (partner, Mode::Live, "http://127.0.0.1:9/hook"));
        assert_eq!(new.events, [EventType::OrderCreated, EventType::TopUpApproved]);
        assert!(new.description.is_none(), "blank is no description");
    }
}
