//! Who is at the keyboard: the session cookie, the extractors that admit only a signed-in
//! partner (`Owner`) or operator (`Operator`), and the CSRF checks of forms.
//!
//! The session cookie holds a random id whose SHA-256 is the session's key in the store;
//! it is `HttpOnly` (no script reads it), `SameSite=Lax` (no other site's form sends it),
//! and `Secure` except on plain-http loopback (the local server). Every form that changes
//! something carries a token derived from the session id; forms shown before sign-in
//! (sign-up, sign-in) carry a random token that must match a cookie set with the form.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use steller::AppState;
use steller::domain::{Decider, Email, PartnerId, Session, SessionId, SessionOwner, Timestamp};

use crate::page::ErrorPage;

pub(crate) const SESSION_COOKIE: &str = "steller_session";
/// The cookie a form shown before sign-in is checked against (double submit).
pub(crate) const FORM_COOKIE: &str = "steller_form";

/// Whether cookies may drop `Secure`: only when the browser talks plain http to this
/// machine, as with `cargo run -p steller-local`; everywhere else they need https.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loopback(pub(crate) bool);

impl<S: Send + Sync> FromRequestParts<S> for Loopback {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let host = parts.headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
        let name = host
            .rsplit_once(':')
            .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host });
        let https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        Ok(Loopback(!https && matches!(name, "127.0.0.1" | "localhost" | "[::1]")))
    }
}

/// A cookie only this site's pages send back, never readable by scripts.
pub(crate) fn private_cookie(name: &'static str, value: String, loopback: Loopback) -> Cookie<'static> {
    Cookie::build((name, value)).path("/").http_only(true).same_site(SameSite::Lax).secure(!loopback.0).build()
}

/// The session the request's cookie names, if it is still open.
pub(crate) async fn session_of(jar: &CookieJar, state: &AppState) -> Result<Option<(SessionId, Session)>, ErrorPage> {
    let Some(id) = jar.get(SESSION_COOKIE).and_then(|cookie| SessionId::parse(cookie.value())) else {
        return Ok(None);
    };
    Ok(state.store.session(&id, Timestamp::now()).await?.map(|session| (id, session)))
}

/// The query a sign-in page is sent with when the session its visitor held has ended, so
/// the page can say why they are there.
pub(crate) const SESSION_ENDED: &str = "session=ended";

/// Why a page for signed-in people was refused: sign in first (at the door's path), or an
/// error page.
#[derive(Debug)]
pub(crate) enum Refused {
    /// No session cookie: a visitor who has not signed in.
    SignIn(&'static str),
    /// A session cookie that opens nothing any more (expired, signed out, or ended by
    /// ops), in the request's cookies: the cookie is dropped and the sign-in page says the
    /// session ended.
    SessionEnded(&'static str, CookieJar),
    Error(ErrorPage),
}

impl Refused {
    /// Sign in at `door`, for a request whose cookie opened no session: saying the
    /// session ended when it held one. (A session of the other door's is no reason to
    /// drop its cookie: it goes on working there.)
    fn sign_in(jar: &CookieJar, door: &'static str) -> Self {
        if jar.get(SESSION_COOKIE).is_some() { Refused::SessionEnded(door, jar.clone()) } else { Refused::SignIn(door) }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::SignIn(path) => Redirect::to(path).into_response(),
            Refused::SessionEnded(path, jar) => {
                let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
                (jar, Redirect::to(&format!("{path}?{SESSION_ENDED}"))).into_response()
            }
            Refused::Error(page) => page.into_response(),
        }
    }
}

impl From<ErrorPage> for Refused {
    fn from(page: ErrorPage) -> Self {
        Refused::Error(page)
    }
}

/// A signed-in partner owner, and their session (for the forms' CSRF token).
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub(crate) partner: PartnerId,
    pub(crate) session: SessionId,
}

impl Owner {
    pub(crate) fn csrf(&self) -> String {
        self.session.csrf_token()
    }

    /// Checks a posted form's token against this session's.
    pub(crate) fn check(&self, posted: &str) -> Result<(), ErrorPage> {
        check_csrf(&self.session, posted)
    }
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        match session_of(&jar, state).await? {
            Some((session, Session { owner: SessionOwner::Partner(partner), .. })) => Ok(Owner { partner, session }),
            Some(_) => Err(Refused::SignIn("/signin")),
            None => Err(Refused::sign_in(&jar, "/signin")),
        }
    }
}

/// A signed-in operator, and who they are as a decider of top-ups.
#[derive(Debug, Clone)]
pub(crate) struct Operator {
    pub(crate) decider: Decider,
    pub(crate) session: SessionId,
}

impl Operator {
    pub(crate) fn csrf(&self) -> String {
        self.session.csrf_token()
    }

    pub(crate) fn check(&self, posted: &str) -> Result<(), ErrorPage> {
        check_csrf(&self.session, posted)
    }
}

/// An operator's session is honoured only while what opened it still would: its ops key
/// unrevoked (one read of the key's list entry per console request), or its address still
/// the configured ops address. Otherwise the session is ended, so revoking a key or
/// changing `STELLER_OPS_EMAIL` shuts the console from the very next request.
impl FromRequestParts<AppState> for Operator {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let (session, decider, still_allowed) = match session_of(&jar, state).await? {
            Some((session, Session { owner: SessionOwner::OpsEmail(email), .. })) => {
                let allowed = ops_address(state).as_ref() == Some(&email);
                (session, Decider::Console(email), allowed)
            }
            Some((session, Session { owner: SessionOwner::OpsKey(key_id), .. })) => {
                let allowed = state.store.ops_key_unrevoked(&key_id).await.map_err(ErrorPage::from)?;
                (session, Decider::OpsKey(key_id), allowed)
            }
            Some(_) => return Err(Refused::SignIn("/ops/signin")),
            None => return Err(Refused::sign_in(&jar, "/ops/signin")),
        };
        if !still_allowed {
            // The decider's kind only: a console decider is an address, which logs never hold.
            let opened_by = match &decider {
                Decider::OpsKey(key_id) => format!("ops_key:{key_id}"),
                _ => "ops_email".to_owned(),
            };
            tracing::info!(opened_by, "console session ended: what opened it no longer may");
            state.store.end_session(&session).await.map_err(ErrorPage::from)?;
            return Err(Refused::SessionEnded("/ops/signin", jar));
        }
        Ok(Operator { session, decider })
    }
}

/// The configured ops address (`STELLER_OPS_EMAIL`), the only one a console code opens.
pub(crate) fn ops_address(state: &AppState) -> Option<Email> {
    state.config.ops_email.as_deref().and_then(|ops| Email::parse(Some(ops)).ok())
}

/// A form of `session` must carry its token: compared in constant time, so the answer's
/// timing tells nothing about how much of a guess was right.
pub(crate) fn check_csrf(session: &SessionId, posted: &str) -> Result<(), ErrorPage> {
    if same(session.csrf_token().as_bytes(), posted.as_bytes()) { Ok(()) } else { Err(ErrorPage::forged()) }
}

/// A token for a form shown before sign-in: the cookie's, or a new one with the cookie
/// to set.
pub(crate) fn form_token(jar: CookieJar, loopback: Loopback) -> (CookieJar, String) {
    if let Some(token) = jar.get(FORM_COOKIE).map(|cookie| cookie.value().to_owned()).filter(|t| t.len() == 43) {
        return (jar, token);
    }
    let bytes: [u8; 32] = rand_bytes();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    (jar.add(private_cookie(FORM_COOKIE, token.clone(), loopback)), token)
}

/// A form shown before sign-in must come back with the token its cookie holds.
pub(crate) fn check_form_token(jar: &CookieJar, posted: &str) -> Result<(), ErrorPage> {
    match jar.get(FORM_COOKIE) {
        Some(cookie) if same(cookie.value().as_bytes(), posted.as_bytes()) => Ok(()),
        _ => Err(ErrorPage::forged()),
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn rand_bytes() -> [u8; 32] {
    use rand::Rng;
    rand::rng().random()
}
