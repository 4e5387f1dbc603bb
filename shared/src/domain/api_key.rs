//! API keys: `stl_<role>_<secret>`. The key is shown once; only its SHA-256 is stored.

use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};

use super::Mode;

const SECRET_CHARS: usize = 40;
const MIN_SECRET_CHARS: usize = 32;
const MAX_SECRET_CHARS: usize = 128;
/// How much of the secret a listing shows, enough to tell keys apart, too little to use.
const PREFIX_SECRET_CHARS: usize = 4;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a key may do: act for a partner in one mode, or operate Steller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRole {
    Partner(Mode),
    Ops,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Partner(mode) => mode.as_str(),
            KeyRole::Ops => "ops",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "ops" => Some(KeyRole::Ops),
            other => Mode::parse(other).map(KeyRole::Partner),
        }
    }
}

/// A secret API key. Its `Debug` never shows the secret, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    role: KeyRole,
    text: String,
}

/// The SHA-256 of a key, hex encoded: the only form a key is stored in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(String);

/// Why a text is not an API key. Deliberately vague: callers get a plain 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a Steller API key (expected stl_<sandbox|live|ops>_ and at least {MIN_SECRET_CHARS} characters)")]
pub struct NotAnApiKey;

impl ApiKey {
    /// A fresh key with 40 random base62 characters (about 238 bits).
    pub fn generate(role: KeyRole) -> Self {
        let mut rng = rand::rng();
        let secret: String = (0..SECRET_CHARS).map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())])).collect();
        ApiKey { role, text: format!("stl_{}_{secret}", role.as_str()) }
    }

    pub fn parse(raw: &str) -> Result<Self, NotAnApiKey> {
        let rest = raw.strip_prefix("stl_").ok_or(NotAnApiKey)?;
        let (role, secret) = rest.split_once('_').ok_or(NotAnApiKey)?;
        let role = KeyRole::parse(role).ok_or(NotAnApiKey)?;
        let secret_ok = (MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&secret.len())
            && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !secret_ok {
            return Err(NotAnApiKey);
        }
        Ok(ApiKey { role, text: raw.to_owned() })
    }

    pub fn role(&self) -> KeyRole {
        self.role
    }

    /// The whole key, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.text
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash(hex::encode(Sha256::digest(self.text.as_bytes())))
    }

    /// The recognisable start of the key (`stl_live_Ab3x`), safe to list.
    pub fn prefix(&self) -> String {
        let head = format!("stl_{}_", self.role.as_str());
        let secret_start: String = self.text[head.len()..].chars().take(PREFIX_SECRET_CHARS).collect();
        format!("{head}{secret_start}")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.prefix())
    }
}

impl KeyHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_back_with_its_role() {
        for role in [KeyRole::Partner(Mode::Sandbox), KeyRole::Partner(Mode::Live), KeyRole::Ops] {
            let key = ApiKey::generate(role);
            let parsed = ApiKey::parse(key.expose()).expect("a generated key parses");
            assert_eq!(parsed.role(), role);
            assert_eq!(parsed.hash(), key.hash());
            assert!(key.expose().starts_with(&format!("stl_{}_", role.as_str())));
        }
    }

    #[test]
    fn keys_are_unique_and_hashed_with_sha256() {
        let a = ApiKey::generate(KeyRole::Partner(Mode::Sandbox));
        let b = ApiKey::generate(KeyRole::Partner(Mode::Sandbox));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.hash().as_str().len(), 64);
        let known = ApiKey::parse("stl_ops_0123456789abcdef0123456789abcdef").expect("valid");
        assert_eq!(known.hash().as_str(), hex::encode(Sha256::digest(b"stl_ops_0123456789abcdef0123456789abcdef")));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "stl_",
            "stl_sandbox_",
            "stl_sandbox_short",
            "sk_live_0123456789abcdef0123456789abcdef",
            "stl_admin_0123456789abcdef0123456789abcdef",
            "stl_live_0123456789abcdef0123456789abcde!",
        ] {
            assert_eq!(ApiKey::parse(bad), Err(NotAnApiKey), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let key = ApiKey::generate(KeyRole::Partner(Mode::Live));
        let shown = format!("{key:?}");
        assert!(!shown.contains(key.expose()));
        assert!(shown.contains(&key.prefix()));
        assert_eq!(key.prefix().len(), "stl_live_".len() + 4);
    }
}
