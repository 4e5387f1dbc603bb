//! The rules the code enforces on request fields and parameters, written into the
//! document as JSON Schema keywords (`pattern`, lengths, bounds), so a client generator
//! or schemathesis sees exactly what the server accepts.
//!
//! Each pattern restates a parser: the domain's text values (`shared/src/domain/text.rs`:
//! trimmed, then at most N characters, no control characters, for names no invisible
//! ones), ids (`domain/ids.rs`: a prefix and a ULID in Crockford base32, either case),
//! `IdempotencyKey::parse`, `TopUpAmount::parse` and the usage dates. Patterns are
//! ECMA-262 and use only classes that Python's, Rust's and JavaScript's engines read
//! alike (`\uXXXX` escapes, no `\s`, no lookaround), since schemathesis generates with
//! one and validates with another. Characters outside the Basic Multilingual Plane are
//! not classified: the few invisible ones there (tags, musical formatting) pass the
//! pattern and are refused by the server.

use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, OpenApi, RefOr};

use crate::domain::{ATEXT_SYMBOLS, OTHER_FULL_STOPS};
use crate::domain::{
    ClientReference, CompanyName, ContactName, EndpointDescription, EndpointId, EventId, KeyId, KeyName, OrderId,
    PartnerId, PaymentReference, ProductId, RejectionReason, TopUpId, TopUpNote,
};
use crate::webhooks::address::MAX_URL_CHARS;

/// Rust's `char::is_control` (Unicode Cc).
const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F";
/// Rust's `str::trim` and `char::is_whitespace` (Unicode White_Space).
const WHITE_SPACE: &str = r"\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Unicode Cf in the Basic Multilingual Plane: what `text.rs` calls invisible.
const INVISIBLE: &str = r"\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB";
/// A ULID as `ulid::Ulid::from_string` reads it: 26 Crockford base32 digits, either case.
const ULID: &str = "[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}";

/// Whether a text value may hold invisible characters (`Visible` in text.rs).
#[derive(Clone, Copy)]
enum Shown {
    /// Free text: controls refused.
    Printable,
    /// A name: invisible characters refused too.
    Only,
}

/// A text field's pattern: any white space around (it is trimmed), then 1..=max
/// characters that neither start nor end with white space and hold no control (nor, for
/// names, invisible) character. An optional field may be blank: it counts as absent.
fn text_pattern(max: usize, required: bool, shown: Shown) -> String {
    let refused = match shown {
        Shown::Printable => CONTROL.to_owned(),
        Shown::Only => format!("{CONTROL}{INVISIBLE}"),
    };
    let edge = format!("[^{refused}{WHITE_SPACE}]");
    let inner = format!("[^{refused}]");
    let text = format!("{edge}(?:{inner}{{0,{}}}{edge})?", max - 2);
    let text = if required { text } else { format!("(?:{text})?") };
    format!("^[{WHITE_SPACE}]*{text}[{WHITE_SPACE}]*$")
}

/// `Email::parse`: one `@`, 1–64 ASCII letters, digits, dots and RFC 5322 `atext` symbols
/// before it (not starting or ending with a dot), a dotted domain after it with no white
/// space, control or invisible character, nor a full stop other than `.`
/// (`OTHER_FULL_STOPS`). (The 254-character cap on the trimmed address is in the
/// description: with the white space around it allowed, no `maxLength` can say it.)
fn email_pattern() -> String {
    let atext = format!("[A-Za-z0-9{ATEXT_SYMBOLS}]");
    let local = format!("{atext}(?:[A-Za-z0-9.{ATEXT_SYMBOLS}]{{0,62}}{atext})?");
    let full_stops: String = OTHER_FULL_STOPS.iter().map(|stop| format!("\\u{:04X}", u32::from(*stop))).collect();
    let label = format!("[^@.{full_stops}{CONTROL}{INVISIBLE}{WHITE_SPACE}]");
    format!("^[{WHITE_SPACE}]*{local}@{label}+(?:\\.{label}+)+[{WHITE_SPACE}]*$")
}

/// An id of one kind, as `PathId` and the id types parse it. A request id
/// (`LoggedRequestId::parse`) is also refused when its first digit is over 7, as a ULID
/// past 128 bits would decode to another id.
pub fn id_pattern(prefix: &str) -> String {
    if prefix == "req" {
        format!("^{prefix}_[0-7]{}{{25}}$", ULID.trim_end_matches("{26}"))
    } else {
        format!("^{prefix}_{ULID}$")
    }
}

/// `TopUpAmount::parse`: money in canonical form (`Money::parse`: `^\d+(\.\d{1,2})?$`, no
/// redundant leading zero) from 10 to 100000.
pub const TOP_UP_AMOUNT_PATTERN: &str = r"^(?:[1-9][0-9]{1,4}(?:\.[0-9]{1,2})?|100000(?:\.0{1,2})?)$";
/// `IdempotencyKey::parse`: 1–255 printable ASCII characters, not all spaces.
pub const IDEMPOTENCY_KEY_PATTERN: &str = r"^[\x20-\x7E]*[\x21-\x7E][\x20-\x7E]*$";
/// The usage dates: `YYYY-MM-DD`.
pub const DATE_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}$";
/// A webhook URL: not blank. What else the server takes is the WHATWG URL parser's
/// (`check_url`), which reads far more spellings than any pattern could list (it drops
/// tabs and newlines anywhere, takes `https:host`), and when deployed it also resolves the
/// host; the field's description says the rule, and a valid-looking URL may still be 422.
fn url_pattern() -> String {
    format!("[^{WHITE_SPACE}]")
}

/// The rule for one request-body property.
enum Rule {
    Text { max: usize, required: bool, shown: Shown },
    Email,
    Pattern(String),
    Url,
    MinItems(usize),
}

fn body_rules() -> Vec<(&'static str, &'static str, Rule)> {
    use Rule::*;
    use Shown::*;
    let text = |max, required, shown| Text { max, required, shown };
    vec![
        ("SignupRequest", "company_name", text(CompanyName::MAX_CHARS, true, Only)),
        ("SignupRequest", "email", Email),
        ("SignupRequest", "contact_name", text(ContactName::MAX_CHARS, false, Only)),
        ("CreateKeyRequest", "name", text(KeyName::MAX_CHARS, false, Only)),
        // A malformed product id is answered like an unknown one (404), after trimming.
        (
            "CreateOrderRequest",
            "product_id",
            Pattern(format!("^[{WHITE_SPACE}]*{}_{ULID}[{WHITE_SPACE}]*$", ProductId::PREFIX)),
        ),
        ("CreateOrderRequest", "client_reference", text(ClientReference::MAX_CHARS, false, Printable)),
        ("TopUpRequestBody", "amount", Pattern(TOP_UP_AMOUNT_PATTERN.to_owned())),
        ("TopUpRequestBody", "currency", Pattern("^USD$".to_owned())),
        ("TopUpRequestBody", "payment_reference", text(PaymentReference::MAX_CHARS, false, Printable)),
        ("TopUpRequestBody", "note", text(TopUpNote::MAX_CHARS, false, Printable)),
        ("RejectBody", "reason", text(RejectionReason::MAX_CHARS, true, Printable)),
        ("CreateEndpointRequest", "url", Url),
        ("CreateEndpointRequest", "events", MinItems(1)),
        ("CreateEndpointRequest", "description", text(EndpointDescription::MAX_CHARS, false, Printable)),
    ]
}

/// The id kind a path's `{id}` names, by the route's first segment after `/api`.
fn path_id_prefix(path: &str) -> Option<&'static str> {
    let kinds = [
        ("/api/orders/", OrderId::PREFIX),
        ("/api/products/", ProductId::PREFIX),
        ("/api/keys/", KeyId::PREFIX),
        ("/api/wallet/top-up-requests/", TopUpId::PREFIX),
        ("/api/admin/top-up-requests/", TopUpId::PREFIX),
        ("/api/admin/partners/", PartnerId::PREFIX),
        ("/api/webhook-endpoints/", EndpointId::PREFIX),
        ("/api/events/", EventId::PREFIX),
        ("/api/requests/", "req"),
    ];
    kinds.into_iter().find(|(start, _)| path.starts_with(start)).map(|(_, prefix)| prefix)
}

fn string_schema(pattern: String) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).pattern(Some(pattern))
}

/// Writes the body rules into the component schemas and the parameter rules into every
/// operation. Panics in tests (never at run time: the document is built at start-up and
/// a test builds it) when a named schema or property is missing, so a rename cannot
/// silently drop a rule.
pub(super) fn apply(openapi: &mut OpenApi) {
    let schemas = &mut openapi.components.get_or_insert_with(Default::default).schemas;
    for (schema, property, rule) in body_rules() {
        let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(schema) else {
            debug_assert!(false, "no schema {schema}");
            continue;
        };
        let field = match (object.properties.get_mut(property), rule) {
            (Some(RefOr::T(Schema::Array(array))), Rule::MinItems(min)) => {
                array.min_items = Some(min);
                continue;
            }
            (Some(RefOr::T(Schema::Object(field))), rule) => (field, rule),
            _ => {
                debug_assert!(false, "no string property {schema}.{property}");
                continue;
            }
        };
        match field {
            (field, Rule::Text { max, required, shown }) => field.pattern = Some(text_pattern(max, required, shown)),
            (field, Rule::Email) => field.pattern = Some(email_pattern()),
            (field, Rule::Pattern(pattern)) => field.pattern = Some(pattern),
            (field, Rule::Url) => {
                field.pattern = Some(url_pattern());
                field.max_length = Some(MAX_URL_CHARS);
            }
            (_, Rule::MinItems(_)) => debug_assert!(false, "{schema}.{property} is not an array"),
        }
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter {
                    parameter_rule(path, parameter);
                }
            }
        }
    }
}

fn parameter_rule(path: &str, parameter: &mut Parameter) {
    let schema = match (&parameter.parameter_in, parameter.name.as_str()) {
        (ParameterIn::Path, "id" | "request_id") => match path_id_prefix(path) {
            Some(prefix) => string_schema(id_pattern(prefix)),
            None => {
                debug_assert!(false, "{path}: which kind of id is its {{id}}?");
                return;
            }
        },
        (ParameterIn::Header, "Idempotency-Key") => {
            string_schema(IDEMPOTENCY_KEY_PATTERN.to_owned()).min_length(Some(1)).max_length(Some(255))
        }
        (ParameterIn::Query, "from" | "to") => string_schema(DATE_PATTERN.to_owned())
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .min_length(Some(10))
            .max_length(Some(10)),
        // A list parameter given with no value is a 422 (`ListQuery`).
        (ParameterIn::Query, "cursor") => {
            ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)).min_length(Some(1))
        }
        _ => return,
    };
    parameter.schema = Some(RefOr::T(Schema::Object(schema.build())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_pattern_bounds_the_trimmed_text() {
        assert_eq!(text_pattern(3, true, Shown::Printable).matches("{0,1}").count(), 1);
        assert!(text_pattern(200, false, Shown::Only).contains(INVISIBLE));
        assert!(!text_pattern(200, false, Shown::Printable).contains(INVISIBLE));
    }

    #[test]
    fn every_id_route_names_its_kind() {
        assert_eq!(path_id_prefix("/api/orders/{id}/cancel"), Some("ord"));
        assert_eq!(id_pattern("ord"), "^ord_[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$");
        assert_eq!(id_pattern("req"), "^req_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$");
    }
}
