//! Portal sessions and the one-time codes that open them. A session id and a code are
//! secrets: only their SHA-256 is stored, and their `Debug` never shows them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::{Email, KeyId, PartnerId, Timestamp};

/// How long an emailed sign-in code can be used.
pub const CODE_MINUTES: i64 = 10;
/// Wrong tries after which a code is void.
pub const CODE_TRIES: u32 = 5;
/// Codes one address may be sent at one door per `CODE_WINDOW_MINUTES`. Each new code
/// starts its own `CODE_TRIES`, so this bounds guesses at an address to
/// `CODES_PER_WINDOW × CODE_TRIES` (25) an hour, and the emails it gets to 5 an hour.
pub const CODES_PER_WINDOW: u32 = 5;
/// The window `CODES_PER_WINDOW` counts in, from the first code asked for in it.
pub const CODE_WINDOW_MINUTES: i64 = 60;
/// How long a session lasts once opened.
pub const SESSION_HOURS: i64 = 12;

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A portal session's secret, held in the browser's cookie: 32 random bytes, base64url.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::rng().random();
        SessionId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The cookie's value, if it has the shape of a session id (anything else is no session).
    pub fn parse(raw: &str) -> Option<Self> {
        let well_formed = raw.len() == 43 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| SessionId(raw.to_owned()))
    }

    /// The only form the store keeps.
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }

    /// The value for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token every form of this session carries: derived from the session's secret,
    /// so the server keeps nothing more, and a page of another session (or a forged form
    /// on another site, which cannot read this one) cannot produce it.
    pub fn csrf_token(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(format!("csrf:{}", self.0).as_bytes()))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(…)")
    }
}

/// A one-time sign-in code: six digits, sent by email.
#[derive(Clone, PartialEq, Eq)]
pub struct SignInCode(String);

impl SignInCode {
    pub fn generate() -> Self {
        SignInCode(format!("{:06}", rand::rng().random_range(0..1_000_000u32)))
    }

    /// What a person typed: six digits, spaces and dashes ignored.
    pub fn parse(raw: &str) -> Option<Self> {
        let digits: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(SignInCode(digits))
    }

    /// The stored form, bound to the address it was sent to (however it is spelt).
    pub fn hash(&self, email: &Email) -> String {
        sha256_hex(&format!("{}:{}", email.canonical(), self.0))
    }

    /// The code, for the email that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SignInCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignInCode(…)")
    }
}

/// Which door a code opens: a partner's dashboard, or the ops console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Partner,
    Ops,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Partner => "partner",
            Audience::Ops => "ops",
        }
    }
}

/// Who a session acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOwner {
    /// The owner of a partner account, proven by a code sent to its email.
    Partner(PartnerId),
    /// An operator, by a code sent to the allow-listed ops address.
    OpsEmail(Email),
    /// An operator, by an ops key.
    OpsKey(KeyId),
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub owner: SessionOwner,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_long_random_and_never_shown_by_debug() {
        let id = SessionId::generate();
        assert_eq!(id.expose().len(), 43);
        assert_ne!(id, SessionId::generate());
        assert_eq!(SessionId::parse(id.expose()), Some(id.clone()));
        assert_eq!(SessionId::parse("short"), None);
        assert!(!format!("{id:?}").contains(id.expose()));
        assert_eq!(id.hash().len(), 64);
        assert_ne!(id.csrf_token(), SessionId::generate().csrf_token(), "each session has its own token");
    }

    #[test]
    fn codes_are_six_digits_and_bound_to_their_address() {
        let code = SignInCode::generate();
        assert_eq!(code.expose().len(), 6);
        assert_eq!(SignInCode::parse(" 123-456 ").map(|c| c.expose().to_owned()), Some("123456".into()));
        for bad in ["12345", "1234567", "12a456", ""] {
            assert_eq!(SignInCode::parse(bad), None, "{bad:?}");
        }
        let ada = Email::parse(Some("ada@acme.example")).expect("valid");
        let bob = Email::parse(Some("bob@acme.example")).expect("valid");
        assert_ne!(code.hash(&ada), code.hash(&bob));
        assert!(!format!("{code:?}").contains(code.expose()));
    }
}
