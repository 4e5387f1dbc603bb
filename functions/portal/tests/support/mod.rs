//! A browser in miniature for the portal's in-process tests: it sends requests to the
//! portal router with `oneshot`, keeps the cookies the pages set, and finds form tokens
//! in the HTML it gets back.
#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use steller::testing::TestApp;
use tower::ServiceExt;

/// What a page answered.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|value| value.to_str().ok())
    }

    /// The `value` of the hidden input named `name`, as the page renders it.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')? + start;
        Some(self.html[start..end].to_owned())
    }

    /// The `Set-Cookie` line for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|line| line.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// One visitor: their cookies, the host they believe they talk to.
pub struct Visitor {
    router: Router,
    cookies: BTreeMap<String, String>,
    pub host: String,
}

impl Visitor {
    /// A visitor of the portal served over `app`'s state, talking plain http to loopback
    /// as with the local server.
    pub fn new(app: &TestApp) -> Self {
        Visitor { router: portal::router(app.state.clone()), cookies: BTreeMap::new(), host: "127.0.0.1:3000".into() }
    }

    /// The same visitor (cookies and all) of the portal served over `state`.
    pub fn now_over(self, state: steller::AppState) -> Self {
        Visitor { router: portal::router(state), ..self }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    pub fn forget_cookies(&mut self) {
        self.cookies.clear();
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// Posts a form of `fields`, URL-encoded as a browser would.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields.iter().map(|(name, value)| format!("{}={}", encode(name), encode(value))).collect::<Vec<_>>();
        self.send(Method::POST, path, Some(body.join("&"))).await
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<String>) -> Page {
        let mut request = Request::builder().method(method).uri(path).header(header::HOST, &self.host);
        if !self.cookies.is_empty() {
            let cookies = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>();
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        let request = match form {
            Some(form) => {
                request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(form))
            }
            None => request.body(Body::empty()),
        };
        let response = self.router.clone().oneshot(request.expect("a valid request")).await.expect("an answer");
        let status = response.status();
        let headers = response.headers().clone();
        for line in headers.get_all(header::SET_COOKIE).iter().filter_map(|value| value.to_str().ok()) {
            let pair = line.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let removed = value.is_empty() || line.to_ascii_lowercase().contains("max-age=0");
                if removed {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let bytes = response.into_body().collect().await.expect("the body reads").to_bytes();
        Page { status, headers, html: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// Signs up through the form; the page that shows the key.
    pub async fn sign_up(&mut self, company: &str, email: &str) -> Page {
        let form = self.get("/signup").await;
        let token = form.hidden("form_token").expect("the sign-up form carries a token");
        self.post("/signup", &[("form_token", &token), ("company_name", company), ("email", email)]).await
    }

    /// Asks for a code at `door` (`/signin` or `/ops/signin`); the page after.
    pub async fn ask_code(&mut self, door: &str, email: &str) -> Page {
        let form = self.get(door).await;
        let token = form.hidden("form_token").expect("the sign-in form carries a token");
        self.post(door, &[("form_token", &token), ("email", email)]).await
    }

    /// Types `code` at `door` for `email`; the answer.
    pub async fn type_code(&mut self, door: &str, email: &str, code: &str) -> Page {
        let token = self.cookie("steller_form").expect("a form cookie").to_owned();
        self.post(&format!("{door}/code"), &[("form_token", &token), ("email", email), ("code", code)]).await
    }

    /// Signs in at `door` with the code emailed to `email` (read from `app`'s outbox).
    pub async fn sign_in(&mut self, app: &TestApp, door: &str, email: &str) -> Page {
        self.ask_code(door, email).await;
        let code = last_code(app, email).expect("a code was emailed");
        self.type_code(door, email, &code).await
    }
}

/// The code in the last sign-in email sent to `email`.
pub fn last_code(app: &TestApp, email: &str) -> Option<String> {
    app.outbox()
        .iter()
        .rev()
        .filter(|sent| sent.to == email)
        .find_map(|sent| sent.subject.strip_prefix("Your Steller sign-in code: ").map(str::to_owned))
}

/// Form encoding (`application/x-www-form-urlencoded`).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
