//! Text values a partner gives us: email addresses, company, contact and key names.
//!
//! Names and addresses are what people recognise each other by (in the ops console, in
//! an email), so they may hold nothing invisible: no control character, no zero-width
//! space or soft hyphen, no bidirectional override that makes `gro\u{202E}kcab` read
//! as something else. An email address is also normalised (Unicode NFC, lower case)
//! before it is compared, so one address cannot sign up twice in two spellings.

use std::fmt;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Why a text field was refused; the message completes "`field` …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("is required")]
    Missing,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacters,
    #[error("must not contain invisible or bidirectional control characters")]
    InvisibleCharacters,
    #[error("is not a valid email address")]
    NotAnEmail,
    #[error(
        "must have only ASCII letters, digits and symbols such as . _ + - before the @ (no accents: email cannot be delivered to such addresses)"
    )]
    NotAsciiBeforeAt,
}

/// Whether the text checks refuse invisible characters as well as controls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visible {
    /// Free text (a note, a reference): controls are refused; a zero-width joiner in an
    /// emoji sequence is fine.
    Printable,
    /// A name: what is shown must be all there is.
    Only,
}

/// An invisible formatting character (Unicode category Cf): zero-width spaces and
/// joiners, the soft hyphen, bidirectional marks and overrides, the byte-order mark.
fn is_invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
}

/// Trims the text and checks it is present, short enough and printable (and, for names,
/// free of invisible characters).
fn clean(raw: Option<&str>, max: usize, visible: Visible) -> Result<String, TextError> {
    let text = raw.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(TextError::Missing);
    }
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if text.chars().any(char::is_control) {
        return Err(TextError::ControlCharacters);
    }
    if visible == Visible::Only && text.chars().any(is_invisible) {
        return Err(TextError::InvisibleCharacters);
    }
    Ok(text.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, max = $max:literal) => {
        text_value!($(#[$doc])* $name, max = $max, Visible::Printable);
    };
    ($(#[$doc:meta])* $name:ident, max = $max:literal, $visible:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: Option<&str>) -> Result<Self, TextError> {
                clean(raw, $max, $visible).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_value!(
    /// The partner's company name, as they wrote it.
    CompanyName, max = 200, Visible::Only
);
text_value!(
    /// The person to contact at the partner.
    ContactName, max = 200, Visible::Only
);
text_value!(
    /// A label a partner gives an API key ("production backend").
    KeyName, max = 100, Visible::Only
);
text_value!(
    /// The partner's own reference for an order (their order number, say).
    ClientReference, max = 255
);
text_value!(
    /// The bank transfer or payment a top-up is paid with, as the partner gives it.
    PaymentReference, max = 255
);
text_value!(
    /// A free-text note on a top-up request, for ops.
    TopUpNote, max = 1000
);
text_value!(
    /// Why ops rejected a top-up request; the partner is told.
    RejectionReason, max = 1000
);
text_value!(
    /// The operator who decides a top-up request with `steller-ops` (`--by`, or their
    /// login): kept on the request so finance can tell who let money into a live wallet.
    OperatorName, max = 64, Visible::Only
);

text_value!(
    /// A partner's note on a webhook endpoint ("order sync, production").
    EndpointDescription, max = 200
);

impl KeyName {
    /// The name of the key signup creates.
    pub fn first_key() -> Self {
        KeyName("default".to_owned())
    }
}

/// An email address, normalised: Unicode NFC and lower case, with nothing invisible in
/// it, so that two spellings of one address are one address. The part before the `@` is
/// ASCII (SES speaks no SMTPUTF8, so no email could reach anything else); the domain may
/// be internationalised, and is one address with its ASCII (`xn--`) form: two `Email`s
/// are equal when their canonical forms are, however each is spelt.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 || self.canonical() == other.canonical()
    }
}

impl Eq for Email {}

/// How strictly `Email::parse_as` reads the part before the `@`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BeforeAt {
    /// What a person types now: ASCII only.
    Ascii,
    /// An address kept before the part before the `@` had to be ASCII: read back as it
    /// was accepted then, so its account stays readable.
    AsKept,
}

impl Email {
    /// RFC 5321 caps a forward path at 254 characters.
    pub const MAX_CHARS: usize = 254;

    /// A deliberately plain check (one `@`, a dotted domain, no spaces, only RFC 5322's
    /// `atext` and dots before the `@`, neither starting nor ending with a dot): the real
    /// proof of an address is the sign-in code reaching it.
    pub fn parse(raw: Option<&str>) -> Result<Self, TextError> {
        Self::parse_as(raw, BeforeAt::Ascii)
    }

    /// An address read back from the store, which may have been kept before `parse`
    /// refused anything but ASCII before the `@`.
    pub fn kept(raw: &str) -> Result<Self, TextError> {
        Self::parse_as(Some(raw), BeforeAt::AsKept)
    }

    fn parse_as(raw: Option<&str>, before_at: BeforeAt) -> Result<Self, TextError> {
        let written = clean(raw, Self::MAX_CHARS, Visible::Only)?;
        // Judged as written: normalising could make ASCII of what was not (the Kelvin
        // sign is a "K" in NFC).
        let ascii_before_at = written.split_once('@').is_none_or(|(local, _)| local.chars().all(is_atext_or_dot));
        // The 254 characters are counted as typed (`clean`), as the OpenAPI document can
        // say; NFC and lower case may add one or two (`İ` is `i̇` in lower case).
        let text: String = written.nfc().collect::<String>().to_lowercase();
        let (local, domain) = text.split_once('@').ok_or(TextError::NotAnEmail)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        let no_spaces = !text.chars().any(char::is_whitespace);
        if local.is_empty() || local.chars().count() > 64 || !domain_ok || !no_spaces {
            return Err(TextError::NotAnEmail);
        }
        if before_at == BeforeAt::Ascii {
            if !ascii_before_at {
                return Err(TextError::NotAsciiBeforeAt);
            }
            // A dot may not start or end the part before the `@` (RFC 5322's dot-atom),
            // and the domain's dots are full stops: IDNA reads the ideographic and
            // full-width ones as dots too, which would make `dev@acme.example。` another
            // spelling of an address whose domain ends with a dot.
            if local.starts_with('.') || local.ends_with('.') || domain.contains(OTHER_FULL_STOPS) {
                return Err(TextError::NotAnEmail);
            }
        }
        Ok(Email(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is decided on: the address with its domain in ASCII, so
    /// `dev@bücher.example` and `dev@xn--bcher-kva.example`, one mailbox, are one
    /// address. An ASCII address is its own canonical form.
    pub fn canonical(&self) -> String {
        ascii_address(&self.0)
    }

    /// The other spellings an account of this address may have been claimed under:
    /// until 2 December 2026 an internationalised domain was claimed as typed (NFC, lower
    /// case), not in ASCII. So `dev@xn--bcher-kva.example` may have been claimed as
    /// `dev@bücher.example`, and the other way round. Empty for most addresses.
    pub fn earlier_claims(&self) -> Vec<String> {
        let canonical = self.canonical();
        let mut spellings = Vec::new();
        if self.0 != canonical {
            spellings.push(self.0.clone());
        }
        if let Some((local, domain)) = canonical.rsplit_once('@') {
            let (unicode, converted) = idna::domain_to_unicode(domain);
            let spelling = format!("{local}@{unicode}");
            if converted.is_ok() && unicode != domain && !spellings.contains(&spelling) {
                spellings.push(spelling);
            }
        }
        spellings
    }
}

/// `address` with an internationalised domain in its ASCII (IDNA, `xn--`) form, as mail
/// servers and SES take it; as it is when its domain is ASCII or has no such form.
pub fn ascii_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) if !domain.is_ascii() => match idna::domain_to_ascii(domain) {
            Ok(ascii) => format!("{local}@{ascii}"),
            Err(_) => address.to_owned(),
        },
        _ => address.to_owned(),
    }
}

/// The characters IDNA maps to a full stop besides `.` itself (ideographic, full-width and
/// half-width ideographic full stops): refused in a new address's domain, as the OpenAPI
/// pattern says (`openapi::rules::email_pattern`).
pub(crate) const OTHER_FULL_STOPS: [char; 3] = ['\u{3002}', '\u{FF0E}', '\u{FF61}'];

/// The symbols of RFC 5322's `atext`, which may stand before an address's `@` with ASCII
/// letters, digits and dots. The OpenAPI pattern's classes are built from it
/// (`openapi::rules::email_pattern`), so `-` comes last and `^` not first.
pub(crate) const ATEXT_SYMBOLS: &str = "!#$%&'*+/=?^_`{|}~-";

fn is_atext_or_dot(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || ATEXT_SYMBOLS.contains(c)
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_to_nfc_and_lower_case() {
        let email = Email::parse(Some("  Ada.Lovelace@Example.COM ")).expect("valid");
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
        assert_eq!(email.canonical(), "ada.lovelace@example.com");
        // "ü" as one code point, and as "u" with a combining diaeresis: one address.
        let composed = Email::parse(Some("dev@b\u{fc}cher.example")).expect("valid");
        let decomposed = Email::parse(Some("dev@bu\u{308}cher.example")).expect("valid");
        assert_eq!(composed, decomposed);
        assert_eq!(composed.as_str(), "dev@b\u{fc}cher.example", "kept as typed, in NFC");
    }

    #[test]
    fn an_internationalised_domain_is_one_address_with_its_ascii_form() {
        let unicode = Email::parse(Some("Dev@B\u{dc}cher.example")).expect("valid");
        let ascii = Email::parse(Some("dev@xn--bcher-kva.example")).expect("valid");
        assert_ne!(unicode.as_str(), ascii.as_str(), "each is shown as it was typed");
        assert_eq!(unicode, ascii, "one address");
        assert_eq!(unicode.canonical(), "dev@xn--bcher-kva.example");
        assert_eq!(unicode.canonical(), ascii.canonical());
        // Full-width letters are the ASCII domain they stand for.
        let wide = Email::parse(Some("dev@\u{ff41}\u{ff43}\u{ff4d}\u{ff45}.example")).expect("valid");
        assert_eq!(wide.canonical(), "dev@acme.example");
        let plain = Email::parse(Some("dev@acme.example")).expect("valid");
        assert_eq!(plain.canonical(), "dev@acme.example", "an ASCII address is its own canonical form");
        assert!(plain.earlier_claims().is_empty());
        // Claimed as typed before the ASCII form decided: both spellings find that claim.
        assert_eq!(unicode.earlier_claims(), ["dev@b\u{fc}cher.example"]);
        assert_eq!(ascii.earlier_claims(), ["dev@b\u{fc}cher.example"]);
    }

    #[test]
    fn only_ascii_atext_and_dots_stand_before_the_at() {
        for fine in ["o'brien+orders@acme.example", "a!#$%&'*+-/=?^_`{|}~.B@acme.example", "first.last@acme.example"] {
            assert!(Email::parse(Some(fine)).is_ok(), "{fine:?} should be accepted");
        }
        // SES cannot deliver to these; the Kelvin sign would be a "k" after NFC.
        for unreachable in
            ["ren\u{e9}e@acme.example", "\u{212a}@acme.example", "a\"b@acme.example", "a(b)@acme.example"]
        {
            assert_eq!(Email::parse(Some(unreachable)), Err(TextError::NotAsciiBeforeAt), "{unreachable:?}");
        }
        let kept = Email::kept("ren\u{e9}e@acme.example").expect("an address kept before the rule reads back");
        assert_eq!(kept.as_str(), "ren\u{e9}e@acme.example");
        assert_eq!(Email::kept("ada@example"), Err(TextError::NotAnEmail), "the shape is still checked");
        assert!(Email::kept("ada.@example.com").is_ok(), "kept before dots were checked");
        for dotted in ["dev@acme.example\u{3002}", "dev@\u{ff0e}acme.example", "dev@acme\u{ff61}example"] {
            assert_eq!(Email::parse(Some(dotted)), Err(TextError::NotAnEmail), "{dotted:?}: IDNA reads a dot");
        }
    }

    #[test]
    fn emails_and_names_with_invisible_characters_are_refused() {
        for hidden in ['\u{200B}', '\u{202E}', '\u{00AD}', '\u{2066}', '\u{FEFF}', '\u{200D}'] {
            let email = format!("{hidden}dev@acme.example");
            assert_eq!(Email::parse(Some(&email)), Err(TextError::InvisibleCharacters), "{hidden:?}");
            let inside = format!("dev{hidden}@acme.example");
            assert_eq!(Email::parse(Some(&inside)), Err(TextError::InvisibleCharacters), "{hidden:?}");
            let name = format!("Acme{hidden}Ltd");
            assert_eq!(CompanyName::parse(Some(&name)), Err(TextError::InvisibleCharacters), "{hidden:?}");
            assert_eq!(ContactName::parse(Some(&name)), Err(TextError::InvisibleCharacters), "{hidden:?}");
            assert_eq!(KeyName::parse(Some(&name)), Err(TextError::InvisibleCharacters), "{hidden:?}");
        }
        assert_eq!(KeyName::parse(Some("prod\u{7}")), Err(TextError::ControlCharacters));
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert!(TopUpNote::parse(Some(family)).is_ok(), "free text keeps emoji sequences");
    }

    #[test]
    fn invalid_emails_are_refused() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada lovelace@example.com",
            "ada@.example.com",
            "ada@example..com",
            "ada@example.com.",
            ".ada@example.com",
            "ada.@example.com",
        ] {
            assert!(Email::parse(Some(bad)).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Email::parse(None), Err(TextError::Missing));
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(Some(&long)).is_err());
    }

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(CompanyName::parse(Some("  Acme  ")).map(|n| n.to_string()), Ok("Acme".into()));
        assert_eq!(CompanyName::parse(Some("")), Err(TextError::Missing));
        assert_eq!(CompanyName::parse(None), Err(TextError::Missing));
        assert_eq!(CompanyName::parse(Some(&"x".repeat(201))), Err(TextError::TooLong(200)));
        assert!(CompanyName::parse(Some(&"é".repeat(200))).is_ok(), "limits count characters, not bytes");
        assert_eq!(ContactName::parse(Some("Ada\u{0}")), Err(TextError::ControlCharacters));
        assert_eq!(KeyName::parse(Some(&"k".repeat(101))), Err(TextError::TooLong(100)));
        assert_eq!(OperatorName::parse(Some(" alice ")).map(|n| n.to_string()), Ok("alice".into()));
        assert_eq!(OperatorName::parse(Some(&"o".repeat(65))), Err(TextError::TooLong(64)));
        assert_eq!(OperatorName::parse(Some("al\nice")), Err(TextError::ControlCharacters));
    }
}
