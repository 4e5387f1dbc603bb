//! The `webhook-*` headers of a delivery, signed per Standard Webhooks so a partner can
//! check them with any of its libraries.

use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP, Webhook};

use crate::domain::WebhookSecret;

/// Why a delivery could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// A header with no signature in it would only be refused by the partner.
    #[error("there is no secret to sign with")]
    NoSecret,
    /// Cannot happen for a parsed [`WebhookSecret`]; kept so a bad one is an error, not a
    /// panic in the delivery loop.
    #[error("the signing secret could not be used")]
    Secret(#[source] standardwebhooks::WebhookError),
}

/// The `webhook-signature` header value: one `v1,<signature>` per secret, space-separated,
/// current secret first. During a rotation both secrets sign, so the partner's receiver
/// accepts the delivery whichever of them it holds.
pub fn signature(secrets: &[&WebhookSecret], id: &str, timestamp: i64, body: &str) -> Result<String, SigningError> {
    if secrets.is_empty() {
        return Err(SigningError::NoSecret);
    }
    let signatures =
        secrets.iter().map(|secret| sign_with(secret.expose(), id, timestamp, body)).collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

/// Every header a delivery carries besides the transport's own: `webhook-id`,
/// `webhook-timestamp` (unix seconds), `webhook-signature` and the content type.
pub fn headers(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<Vec<(&'static str, String)>, SigningError> {
    let signature = signature(secrets, id, timestamp, body)?;
    Ok(vec![
        (HEADER_WEBHOOK_ID, id.to_owned()),
        (HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string()),
        (HEADER_WEBHOOK_SIGNATURE, signature),
        ("content-type", "application/json".to_owned()),
    ])
}

/// One `v1,<signature>` from a secret in its `whsec_` form. Takes the text rather than a
/// [`WebhookSecret`] so the Standard Webhooks reference vector, whose secret is shorter
/// than ours, checks the very code deliveries use.
fn sign_with(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, SigningError> {
    Webhook::new(secret).and_then(|webhook| webhook.sign(id, timestamp, body.as_bytes())).map_err(SigningError::Secret)
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderName, HeaderValue};

    use super::*;

    const BODY: &str = r#"{"type":"order.created","data":{"id":"ord_1"}}"#;

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn header_map(headers: &[(&'static str, String)]) -> HeaderMap {
        headers
            .iter()
            .map(|(name, value)| {
                (HeaderName::from_static(name), HeaderValue::from_str(value).expect("headers are visible ASCII"))
            })
            .collect()
    }

    fn verify(secret: &WebhookSecret, body: &str, headers: &HeaderMap) -> Result<(), standardwebhooks::WebhookError> {
        Webhook::new(secret.expose()).expect("a valid secret").verify(body.as_bytes(), headers)
    }

    #[test]
    fn the_standard_webhooks_reference_vector_is_reproduced() {
        let signature = sign_with(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .expect("signed");
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_delivery_carries_the_four_headers() {
        let secret = WebhookSecret::generate();
        let headers = headers(&[&secret], "evt_1", 1614265330, BODY).expect("signed");
        let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type"]);
        assert_eq!(headers[0].1, "evt_1");
        assert_eq!(headers[1].1, "1614265330");
        assert!(headers[2].1.starts_with("v1,"), "{}", headers[2].1);
        assert_eq!(headers[3].1, "application/json");
    }

    #[test]
    fn a_signed_delivery_verifies_with_the_standard_webhooks_library() {
        let secret = WebhookSecret::generate();
        let headers = header_map(&headers(&[&secret], "evt_1", now(), BODY).expect("signed"));
        verify(&secret, BODY, &headers).expect("verified");
    }

    #[test]
    fn during_a_rotation_either_secret_alone_verifies() {
        let current = WebhookSecret::generate();
        let previous = WebhookSecret::generate();
        let signed = headers(&[&current, &previous], "evt_1", now(), BODY).expect("signed");
        let signature = &signed[2].1;
        assert_eq!(signature.split(' ').count(), 2);
        assert!(signature.starts_with(&sign_with(current.expose(), "evt_1", now_of(&signed), BODY).expect("signed")));
        let headers = header_map(&signed);
        verify(&current, BODY, &headers).expect("the current secret verifies");
        verify(&previous, BODY, &headers).expect("the previous secret verifies");
        let stranger = WebhookSecret::generate();
        assert!(verify(&stranger, BODY, &headers).is_err());
    }

    #[test]
    fn a_changed_body_fails_verification() {
        let secret = WebhookSecret::generate();
        let headers = header_map(&headers(&[&secret], "evt_1", now(), BODY).expect("signed"));
        let tampered = BODY.replace("ord_1", "ord_2");
        assert!(verify(&secret, &tampered, &headers).is_err());
    }

    #[test]
    fn signing_without_a_secret_is_an_error() {
        assert!(matches!(signature(&[], "evt_1", now(), BODY), Err(SigningError::NoSecret)));
    }

    /// The timestamp a set of headers was signed at.
    fn now_of(headers: &[(&'static str, String)]) -> i64 {
        headers[1].1.parse().expect("unix seconds")
    }
}
