//! The frame every page shares (head, navigation, main, footer) and the pieces forms are
//! built from: labelled fields with their error next to them, the hidden CSRF token,
//! money as the API writes it, and the error pages.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use steller::domain::{Mode, Money};

/// Where a page sits, for the navigation: a signed-in partner (with the mode the
/// dashboard shows), an operator, or nobody yet.
/// The signed-in ones carry their session's CSRF token, for the sign-out form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav<'a> {
    Visitor,
    /// Pages that do not know who is reading (an error answered before or without the
    /// session): links that suit anyone, signed in or not.
    Anyone,
    Partner {
        mode: Mode,
        csrf: &'a str,
        /// Where the reader is: marked in the navigation, and kept when switching mode.
        section: Section,
    },
    Operator {
        csrf: &'a str,
    },
}

/// The sections of a partner's dashboard, in the order the navigation lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Wallet,
    Orders,
    Keys,
    TopUps,
    Usage,
    Requests,
    Webhooks,
}

impl Section {
    const ALL: [Section; 7] = [
        Section::Wallet,
        Section::Orders,
        Section::Keys,
        Section::TopUps,
        Section::Usage,
        Section::Requests,
        Section::Webhooks,
    ];

    /// The section's path under `/dashboard/{mode}`.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Section::Wallet => "",
            Section::Orders => "/orders",
            Section::Keys => "/keys",
            Section::TopUps => "/top-ups",
            Section::Usage => "/usage",
            Section::Requests => "/requests",
            Section::Webhooks => "/webhooks",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Section::Wallet => "Wallet",
            Section::Orders => "Orders",
            Section::Keys => "API keys",
            Section::TopUps => "Top-ups",
            Section::Usage => "Usage",
            Section::Requests => "Requests",
            Section::Webhooks => "Webhooks",
        }
    }
}

/// What the tab of a page answering an error starts with: a screen reader reads the title
/// first, so the error is known before the page is read (WCAG 2.4.2, as GOV.UK does).
const ERROR_TITLE: &str = "Error: ";

/// A whole page: `title` in the tab and as the heading, `body` in `<main>`. Sent with an
/// error status (a form again with its errors, a conflict), its tab says "Error: " first
/// (`as_page`).
pub(crate) fn page(title: &str, nav: Nav<'_>, body: Markup) -> Markup {
    framed(title, title, nav, body)
}

/// A whole page whose tab (`tab`) may say more than its heading (`title`).
fn framed(tab: &str, title: &str, nav: Nav<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (tab) " · Steller" }
                link rel="stylesheet" href="/assets/portal.css";
                script src="/assets/portal.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Steller" }
                    nav aria-label="Main" { (navigation(nav)) }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer {
                    a href="/api/public/docs" { "API docs" } " · "
                    a href="/api/public/openapi.json" { "OpenAPI document" }
                }
            }
        }
    }
}

fn navigation(nav: Nav<'_>) -> Markup {
    match nav {
        Nav::Visitor => html! {
            a href="/signup" { "Sign up" }
            a href="/signin" { "Sign in" }
            a href="/api/public/docs" { "Docs" }
        },
        Nav::Anyone => html! {
            a href="/" { "Home" }
            a href="/api/public/docs" { "Docs" }
        },
        Nav::Partner { mode, csrf, section } => {
            let other = match mode {
                Mode::Sandbox => Mode::Live,
                Mode::Live => Mode::Sandbox,
            };
            html! {
                @for each in Section::ALL {
                    a href={ "/dashboard/" (mode) (each.path()) } aria-current=[(each == section).then_some("page")] {
                        (each.label())
                    }
                }
                span.mode { "Mode: " strong.{ "mode-" (mode) } { (mode) } }
                // The same section in the other mode: a partner switching on the keys page
                // means the other mode's keys.
                a.switch href={ "/dashboard/" (other) (section.path()) } { "Switch to " (other) }
                (sign_out(csrf))
            }
        }
        Nav::Operator { csrf } => html! {
            a href="/ops" { "Pending top-ups" }
            a href="/ops/decided" { "Decided" }
            (sign_out(csrf))
        },
    }
}

fn sign_out(csrf: &str) -> Markup {
    html! {
        form.inline method="post" action="/signout" {
            (csrf_field(csrf))
            button.link type="submit" { "Sign out" }
        }
    }
}

/// The hidden field every form that changes something carries.
pub(crate) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A labelled input with its error (if any) right under it, tied to it for screen readers.
pub(crate) fn field(
    label: &str,
    name: &str,
    kind: &str,
    value: &str,
    error: Option<&str>,
    hint: Option<&str>,
) -> Markup {
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    let described = [error.map(|_| error_id.as_str()), hint.map(|_| hint_id.as_str())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    // What the browser may fill in: an email field is the person's own address; the
    // emailed sign-in code is offered by phones and password managers, on a digit keypad;
    // an amount gets a keypad with a decimal point.
    let (autocomplete, inputmode) = match (kind, name) {
        ("email", _) => (Some("email"), None),
        (_, "code") => (Some("one-time-code"), Some("numeric")),
        (_, "amount") => (None, Some("decimal")),
        _ => (None, None),
    };
    html! {
        div.field.invalid[error.is_some()] {
            label for=(name) { (label) }
            @if let Some(hint) = hint { p.hint #(hint_id) { (hint) } }
            input #(name) name=(name) type=(kind) value=(value)
                autocomplete=[autocomplete] inputmode=[inputmode]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[(!described.is_empty()).then_some(described.as_str())];
            @if let Some(error) = error { p.error #(error_id) { (error) } }
        }
    }
}

/// An action that cannot be undone, behind a second click and with no script: a
/// disclosure whose summary (`label`, read out as `described`) opens `warning` and the
/// `form` that does it.
pub(crate) fn confirmed(label: &str, described: &str, warning: &str, form: Markup) -> Markup {
    html! {
        details.confirm {
            summary aria-label=(described) { (label) }
            div.confirm-body { p { (warning) } (form) }
        }
    }
}

/// A button that copies the value of the element `target` (an id) to the clipboard. It
/// is drawn hidden and shown by portal.js: without JavaScript it could do nothing, and
/// the text beside it is there to select.
pub(crate) fn copy_button(target: &str, label: &str) -> Markup {
    html! { button type="button" data-copy=(target) hidden { (label) } }
}

/// What the action just taken did, announced politely to a screen reader
/// (`role="status"`): a key revoked, an order cancelled, a request received.
pub(crate) fn notice(message: Markup) -> Markup {
    html! { div.notice role="status" { p { (message) } } }
}

/// Why the action just taken did nothing, announced at once (`role="alert"`), styled as
/// a form's error summary.
pub(crate) fn alert(message: Markup) -> Markup {
    html! { div.summary role="alert" { p { (message) } } }
}

/// A list of what is wrong, at the top of a form, for whoever reads from the top. It
/// takes the focus when the page loads (no script needed), so a keyboard or screen-reader
/// user starts at what to fix, and Tab reaches each error's link to its field.
pub(crate) fn error_summary(errors: &[(&str, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.summary role="alert" tabindex="-1" autofocus {
                p { "Please fix the following:" }
                ul { @for (name, message) in errors { li { a href={ "#" (name) } { (message) } } } }
            }
        }
    }
}

/// Whether a table's caption is seen, or only read out (the heading above says it already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caption {
    Shown,
    Hidden,
}

/// A table named `name` (its caption) in a box that scrolls sideways where the table is
/// wider than the screen. The box takes the keyboard's focus and is a region named like
/// the table (WCAG 2.1.1): otherwise a keyboard could not scroll to the columns beyond
/// the edge, and a screen reader would announce a focus stop without a name.
pub(crate) fn scroll_table(name: &str, caption: Caption, head_and_body: Markup) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label=(name) {
            table {
                @match caption {
                    Caption::Shown => caption { (name) },
                    Caption::Hidden => caption.visually-hidden { (name) },
                }
                (head_and_body)
            }
        }
    }
}

/// Money exactly as the API writes it: two places, the currency after.
pub(crate) fn money(amount: Money) -> Markup {
    html! { span.money { (amount) " USD" } }
}

/// A page that says something went wrong, with the status it stands for.
#[derive(Debug)]
pub(crate) struct ErrorPage {
    pub(crate) status: StatusCode,
    pub(crate) title: &'static str,
    pub(crate) message: String,
    /// Where to go from here, besides home: a path and the link's words.
    pub(crate) onward: Option<(String, &'static str)>,
}

impl ErrorPage {
    pub(crate) fn not_found() -> Self {
        ErrorPage {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: "There is nothing here, or nothing you can see.".into(),
            onward: None,
        }
    }

    /// The page for an error some extractor or the router answered (a wrong method, a
    /// body that is not a form, too large or unreadable), in words a person can act on.
    pub(crate) fn for_status(status: StatusCode) -> Self {
        let (title, message) = match status {
            StatusCode::NOT_FOUND => return ErrorPage::not_found(),
            StatusCode::METHOD_NOT_ALLOWED => (
                "This address does not take that request",
                "Use the links and buttons of the pages: a form here is sent by its button, a page is opened by its link.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "This form could not be read",
                "It was not sent as a web form (application/x-www-form-urlencoded). Go back, reload the page and send it again.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "This form is too large",
                "What was sent is over 64 KiB. Go back, shorten what you typed and send it again.",
            ),
            status if status.is_client_error() => (
                "This form could not be read",
                "Some of what was sent is not what this form takes. Go back, reload the page and try again.",
            ),
            _ => (
                "Something went wrong",
                "We logged what happened. Please try again; if it keeps failing, tell us the time.",
            ),
        };
        ErrorPage { status, title, message: message.into(), onward: None }
    }

    /// A form sent again (a double click, a reload of its answer) whose first sending
    /// was already done: nothing more was made.
    pub(crate) fn already_sent(list: &str) -> Self {
        ErrorPage {
            status: StatusCode::CONFLICT,
            title: "This form was already sent",
            message: "Nothing more was made. What the first sending made is on the list; a key or a secret was shown once, then."
                .into(),
            onward: Some((list.to_owned(), "Go to the list")),
        }
    }

    /// A form that came without its CSRF token, or with another session's.
    pub(crate) fn forged() -> Self {
        ErrorPage {
            status: StatusCode::FORBIDDEN,
            title: "This form has expired",
            message: "The form was not sent from this page of your session. Go back, reload the page and try again."
                .into(),
            onward: None,
        }
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let tab = format!("{ERROR_TITLE}{}", self.title);
        // An error page is drawn without reading the session, so its links suit anyone:
        // "/" takes a signed-in reader on to their dashboard.
        let body = framed(
            &tab,
            self.title,
            Nav::Anyone,
            html! {
                p { (self.message) }
                @if let Some((path, words)) = &self.onward {
                    p { a href=(path) { (words) } }
                }
                p { a href="/" { "Home" } }
            },
        );
        (self.status, body).into_response()
    }
}

/// An error response that is not a page (an extractor's plain-text rejection) becomes the
/// page for its status, and a page sent with an error status (a form again with its
/// errors, 422; a conflict, 409) gets "Error: " at the start of its title; redirects and
/// successes pass as they are.
pub(crate) async fn as_page(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_page = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if !is_page {
        return ErrorPage::for_status(status).into_response();
    }
    titled_as_error(response).await
}

/// `response`, a page, with "Error: " at the start of its `<title>` unless it is there. The
/// handler chose the status after drawing the page, so the title is set here, once for all.
async fn titled_as_error(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    // A page is a string already in memory: reading it cannot fail or be large.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ErrorPage::for_status(parts.status).into_response();
    };
    let html = String::from_utf8_lossy(&bytes);
    let titled = if html.contains(&format!("<title>{ERROR_TITLE}")) {
        html.into_owned()
    } else {
        html.replacen("<title>", &format!("<title>{ERROR_TITLE}"), 1)
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(titled))
}

impl From<steller::store::StoreError> for ErrorPage {
    fn from(error: steller::store::StoreError) -> Self {
        use steller::store::StoreError;
        match error {
            StoreError::NotFound => ErrorPage::not_found(),
            StoreError::Unavailable(_) | StoreError::Contended => {
                tracing::warn!(error = %steller::telemetry::chain(&error), "a page could not be served");
                ErrorPage {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    title: "Temporarily unavailable",
                    message: "Nothing was changed. Please try again in a moment.".into(),
                    onward: None,
                }
            }
            other => {
                tracing::error!(error = %steller::telemetry::chain(&other), "a page failed");
                ErrorPage {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    title: "Something went wrong",
                    message: "We logged what happened. Please try again; if it keeps failing, tell us the time.".into(),
                    onward: None,
                }
            }
        }
    }
}

impl From<steller::store::PageError> for ErrorPage {
    fn from(error: steller::store::PageError) -> Self {
        match error {
            steller::store::PageError::Cursor(_) => ErrorPage::not_found(),
            steller::store::PageError::Store(store) => store.into(),
        }
    }
}
