//! "Recent deliveries": the newest events of a mode, each with every delivery attempt and
//! a button to send it again.

use maud::{Markup, html};
use steller::domain::{DeliveryAttempt, EventRecord, Mode};

use crate::page::{Caption, csrf_field, scroll_table};

/// The events, newest first; the redeliver buttons only when there is a queue to send to.
pub(super) fn table(csrf: &str, mode: Mode, events: &[EventRecord], can_redeliver: bool) -> Markup {
    html! {
        @if events.is_empty() {
            p.muted { "No " (mode) " events yet. Each order, top-up and wallet credit makes one." }
        } @else {
            (scroll_table(&format!("The newest {mode} events and their delivery attempts, newest first"), Caption::Hidden, html! {
                // Three columns, so the redeliver button stays in sight at desktop width.
                thead { tr { th scope="col" { "Event" } th scope="col" { "Attempts" }
                    th scope="col" { span.visually-hidden { "Action" } } } }
                tbody {
                    @for record in events {
                        tr {
                            td {
                                code { (record.event.kind) } br;
                                span.muted { code { (record.event.id) } br;
                                    time datetime=(record.event.created_at) { (record.event.created_at) } }
                            }
                            td { (attempts(record)) }
                            td {
                                @if can_redeliver {
                                    form.inline method="post" action={ "/dashboard/" (mode) "/events/" (record.event.id) "/redeliver" } {
                                        (csrf_field(csrf))
                                        button type="submit" aria-label={ "Redeliver event " (record.event.id) } { "Redeliver" }
                                    }
                                }
                            }
                        }
                    }
                }
            }))
        }
    }
}

fn attempts(record: &EventRecord) -> Markup {
    html! {
        @if record.attempts.is_empty() {
            span.muted { @if record.dispatched { "No attempts yet" } @else { "Not sent yet" } }
        } @else {
            ol.attempts { @for attempt in &record.attempts { li { (attempt_line(attempt)) } } }
        }
    }
}

/// One attempt: when, to which endpoint, what came back (a status, or why nothing did),
/// how long it took. Success is said in words, not only in colour.
fn attempt_line(attempt: &DeliveryAttempt) -> Markup {
    html! {
        time datetime=(attempt.at) { (attempt.at) } " to " code { (attempt.endpoint_id) } ": "
        @match (attempt.status, &attempt.error) {
            (Some(code), _) if attempt.succeeded() => span.status-completed { "HTTP " (code) ", delivered" },
            (Some(code), _) => span.status-rejected { "HTTP " (code) ", failed" },
            (None, Some(error)) => span.status-rejected { "no answer: " (error) },
            (None, None) => span.status-rejected { "no answer" },
        }
        " in " (attempt.duration_ms) " ms"
    }
}
