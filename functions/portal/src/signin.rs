//! Signing in with an emailed one-time code, to the partner dashboard (`/signin`) or the
//! ops console (`/ops/signin`), and signing out (`/signout`).
//!
//! The answers never tell whether an address has an account (or is an ops address): a
//! code is kept for every address asked for, and sent only where it may open something,
//! so asking, typing a wrong code, running out of tries and asking too often look the
//! same either way.

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use maud::{Markup, html};
use serde::Deserialize;
use steller::AppState;
use steller::domain::{
    Audience, CODE_MINUTES, CODE_WINDOW_MINUTES, CODES_PER_WINDOW, Email, SESSION_HOURS, Session, SessionId,
    SessionOwner, SignInCode, TextError, Timestamp,
};
use steller::store::{Asked, Redeemed};

use crate::auth::{
    Loopback, SESSION_COOKIE, SESSION_ENDED, check_csrf, check_form_token, form_token, ops_address, private_cookie,
    session_of,
};
use crate::page::{ErrorPage, Nav, error_summary, field, notice, page};

/// The two doors a code opens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Door {
    audience: Audience,
    /// Where its forms post: `/signin` or `/ops/signin`.
    path: &'static str,
    title: &'static str,
    /// How the emails name it.
    name: &'static str,
    /// Where a session of this door starts.
    home: &'static str,
    /// The form that asks for an address here, with the address typed and its error.
    email_step: fn(token: &str, email: &str, error: Option<&str>) -> Markup,
    /// An address as this door expects one, for the error of one that is not.
    example: &'static str,
}

pub(crate) const PARTNERS: Door = Door {
    audience: Audience::Partner,
    path: "/signin",
    title: "Sign in",
    name: "dashboard",
    home: "/dashboard/sandbox",
    email_step: partner_email_form,
    example: "dev@acme.example",
};

pub(crate) const OPS: Door = Door {
    audience: Audience::Ops,
    path: "/ops/signin",
    title: "Ops sign-in",
    name: "ops console",
    home: "/ops",
    email_step: crate::ops::sign_in_form,
    example: "ops@steller.example",
};

/// The title of the step that takes the code, at either door.
const CODE_TITLE: &str = "Enter your code";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    form_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

fn partner_email_form(token: &str, email: &str, error: Option<&str>) -> Markup {
    let errors: Vec<(&str, String)> = error.map(|e| ("email", e.to_owned())).into_iter().collect();
    html! {
        p { "We email you a one-time code; no password to remember." }
        (error_summary(&errors))
        form method="post" action=(PARTNERS.path) novalidate {
            input type="hidden" name="form_token" value=(token);
            (field("Email", "email", "email", email, error, None))
            button type="submit" { "Email me a code" }
        }
    }
}

fn code_form(door: Door, token: &str, email: &str, error: Option<&str>) -> Markup {
    html! {
        p role="status" {
            "If " strong { (email) } " can sign in here, a code is on its way. It works for " (CODE_MINUTES) " minutes."
        }
        (code_entry(door, token, email, error))
    }
}

/// The answer to an address that was sent `CODES_PER_WINDOW` codes within the window:
/// no new code, and the form for the one sent earlier, which still works.
fn too_often_form(door: Door, token: &str, email: &str) -> Markup {
    html! {
        p role="alert" {
            "No new code was sent: " strong { (email) } " was asked a code for " (CODES_PER_WINDOW)
            " times within " (CODE_WINDOW_MINUTES) " minutes, the most we send. A code sent earlier still works for "
            (CODE_MINUTES) " minutes after it was sent. Otherwise, ask again later."
        }
        (code_entry(door, token, email, None))
    }
}

fn code_entry(door: Door, token: &str, email: &str, error: Option<&str>) -> Markup {
    let errors: Vec<(&str, String)> = error.map(|e| ("code", e.to_owned())).into_iter().collect();
    html! {
        (error_summary(&errors))
        form method="post" action={ (door.path) "/code" } novalidate {
            input type="hidden" name="form_token" value=(token);
            input type="hidden" name="email" value=(email);
            (field("Code from the email", "code", "text", "", error, Some("Six digits.")))
            button type="submit" { "Sign in" }
        }
        p { a href=(door.path) { "Use another address, or ask for a new code" } }
    }
}

fn nav() -> Nav<'static> {
    Nav::Visitor
}

/// The door's first step. Sent here because a session ended (`?session=ended`), it says
/// so first: otherwise a partner whose session ran out mid-task would wonder why the
/// dashboard turned into a sign-in form.
pub(crate) async fn show(door: Door, jar: CookieJar, loopback: Loopback, query: Option<String>) -> Response {
    let (jar, token) = form_token(jar, loopback);
    let ended = query.as_deref() == Some(SESSION_ENDED);
    let body = html! {
        @if ended {
            (notice(html! {
                "Your session has ended: sessions last " (SESSION_HOURS) " hours, and signing out ends them. Sign in again to go on."
            }))
        }
        ((door.email_step)(&token, "", None))
    };
    (jar, page(door.title, nav(), body)).into_response()
}

/// Keeps a code for the address either way, and emails it only where it can open
/// something: a partner's address at the dashboard, the ops address at the console. An
/// address asked for too often gets no new code, whether it has an account or not.
pub(crate) async fn ask(door: Door, state: AppState, jar: CookieJar, values: EmailForm) -> Result<Response, ErrorPage> {
    check_form_token(&jar, &values.form_token)?;
    let email = match Email::parse(Some(&values.email)) {
        Ok(email) => email,
        Err(refused) => {
            let error = match refused {
                // An address no email reaches: say why, as signup does.
                TextError::NotAsciiBeforeAt => format!("Email {refused}."),
                _ => format!("Enter an email address, like {}.", door.example),
            };
            let body = (door.email_step)(&values.form_token, &values.email, Some(&error));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(door.title, nav(), body)).into_response());
        }
    };
    let code = SignInCode::generate();
    match state.store.issue_sign_in_code(door.audience, &email, &code, Timestamp::now()).await? {
        Asked::Kept => {}
        Asked::TooOften { retry_after } => {
            tracing::info!(door = door.name, "sign-in code refused: the address was sent the most codes in the window");
            let body = too_often_form(door, &values.form_token, email.as_str());
            let wait = [(header::RETRY_AFTER, retry_after.to_string())];
            return Ok((StatusCode::TOO_MANY_REQUESTS, wait, page(CODE_TITLE, nav(), body)).into_response());
        }
    }
    if may_open(door, &state, &email).await?.is_some() {
        state.notices().sign_in_code(&email, &code, door.name).await;
    }
    Ok(page(CODE_TITLE, nav(), code_form(door, &values.form_token, email.as_str(), None)).into_response())
}

/// Who a session of `door` for `email` would act for, if anyone.
async fn may_open(door: Door, state: &AppState, email: &Email) -> Result<Option<SessionOwner>, ErrorPage> {
    Ok(match door.audience {
        Audience::Partner => state.store.partner_by_email(email).await?.map(SessionOwner::Partner),
        Audience::Ops => (ops_address(state).as_ref() == Some(email)).then(|| SessionOwner::OpsEmail(email.clone())),
    })
}

pub(crate) async fn redeem(
    door: Door,
    state: AppState,
    jar: CookieJar,
    loopback: Loopback,
    values: CodeForm,
) -> Result<Response, ErrorPage> {
    check_form_token(&jar, &values.form_token)?;
    let again = |status: StatusCode, error: &str| {
        let body = code_form(door, &values.form_token, &values.email, Some(error));
        (status, page(CODE_TITLE, nav(), body)).into_response()
    };
    let Ok(email) = Email::parse(Some(&values.email)) else { return Ok(Redirect::to(door.path).into_response()) };
    let Some(typed) = SignInCode::parse(&values.code) else {
        return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, "Enter the six digits from the email."));
    };
    let owner = may_open(door, &state, &email).await?;
    let id = SessionId::generate();
    match state.store.redeem_sign_in_code(door.audience, &email, &typed, &id, owner, Timestamp::now()).await? {
        Redeemed::Opened(_) => {
            tracing::info!(door = door.name, "signed in");
            let jar = jar.add(private_cookie(SESSION_COOKIE, id.expose().to_owned(), loopback));
            Ok((jar, Redirect::to(door.home)).into_response())
        }
        Redeemed::Wrong { tries_left: 0 } | Redeemed::Void => Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This code no longer works: it expired, was used, or was tried too often. Ask for a new one.",
        )),
        Redeemed::Wrong { tries_left } => Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!(
                "That code is not right. {tries_left} more {} before it stops working.",
                if tries_left == 1 { "try" } else { "tries" }
            ),
        )),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session on the server (its cookie opens nothing afterwards) and forgets it.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(values): Form<SignOutForm>,
) -> Result<Response, ErrorPage> {
    let Some((id, Session { owner, .. })) = session_of(&jar, &state).await? else {
        return Ok(Redirect::to("/signin").into_response());
    };
    check_csrf(&id, &values.csrf)?;
    state.store.end_session(&id).await?;
    let to = match owner {
        SessionOwner::Partner(_) => PARTNERS.path,
        SessionOwner::OpsEmail(_) | SessionOwner::OpsKey(_) => OPS.path,
    };
    Ok((jar.remove(Cookie::build(SESSION_COOKIE).path("/")), Redirect::to(to)).into_response())
}

pub(crate) async fn show_partners(jar: CookieJar, loopback: Loopback, RawQuery(query): RawQuery) -> Response {
    show(PARTNERS, jar, loopback, query).await
}

pub(crate) async fn ask_partners(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(values): Form<EmailForm>,
) -> Result<Response, ErrorPage> {
    ask(PARTNERS, state, jar, values).await
}

pub(crate) async fn redeem_partners(
    State(state): State<AppState>,
    jar: CookieJar,
    loopback: Loopback,
    Form(values): Form<CodeForm>,
) -> Result<Response, ErrorPage> {
    redeem(PARTNERS, state, jar, loopback, values).await
}
