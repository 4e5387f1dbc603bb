//! A row of the request-log table: a queued record, checked and given its key.
//!
//! A partner's requests share one partition per mode, sorted by time, so a date range is
//! one `Query` (docs/data-model.md):
//!
//! ```text
//! pk  USAGE#<partner_id>#<mode>      requests made with a partner key
//!     ANONYMOUS#<yyyy-mm-dd>         requests without a partner (no valid key, or an ops key)
//! sk  <timestamp>#<request_id>       e.g. 2026-11-23T10:00:00.123Z#req_01JD…
//! ```
//!
//! The key is a function of the record alone (its request id and its timestamp), so a
//! message delivered twice writes the same row twice: an overwrite, never a second row.

use super::RequestLogRecord;
use crate::store::layout;

/// How long a row is kept: DynamoDB's TTL deletes it 90 days after its request.
pub const ROW_TTL_DAYS: i64 = 90;

/// What a field holding something key-like is replaced with. The layer never logs a key;
/// this is the second line of defence for the free-text fields.
const REDACTED: &str = "[redacted]";
/// Every Steller API key starts with this, whatever its mode.
const KEY_MARK: &str = "stl_";
const MAX_USER_AGENT_CHARS: usize = 256;

/// A message body that is not a usable request-log record. Never quotes the body, which
/// could hold anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedRecord {
    #[error("the body is not a request-log record ({0})")]
    NotARecord(String),
    #[error("`{field}` {reason}")]
    Invalid { field: &'static str, reason: &'static str },
}

/// A record that can be written: its timestamp normalised to UTC with milliseconds (so
/// sort keys compare as time), its free text bounded and free of anything key-like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    record: RequestLogRecord,
}

impl LogRow {
    /// Parses a queued message's body.
    pub fn parse(body: &str) -> Result<Self, MalformedRecord> {
        let record: RequestLogRecord = serde_json::from_str(body).map_err(|error| {
            // serde's message can quote the offending value; its category and place cannot.
            MalformedRecord::NotARecord(format!(
                "{:?} error at line {} column {}",
                error.classify(),
                error.line(),
                error.column()
            ))
        })?;
        Self::from_record(record)
    }

    pub fn from_record(mut record: RequestLogRecord) -> Result<Self, MalformedRecord> {
        let invalid = |field, reason| MalformedRecord::Invalid { field, reason };
        let token = |text: &str, max: usize| {
            (1..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic()) && !text.contains(KEY_MARK)
        };
        if !token(&record.request_id, 128) {
            return Err(invalid("request_id", "must be 1-128 printable ASCII characters"));
        }
        if !token(&record.method, 16) {
            return Err(invalid("method", "must be 1-16 printable ASCII characters"));
        }
        if !(100..=599).contains(&record.status) {
            return Err(invalid("status", "must be an HTTP status, 100-599"));
        }
        if record.partner_id.is_some() != record.mode.is_some() {
            return Err(invalid("mode", "must be given exactly when partner_id is"));
        }
        if record.route.is_empty() || record.route.len() > 256 || record.route.chars().any(char::is_control) {
            return Err(invalid("route", "must be 1-256 characters without control characters"));
        }
        if record.route.contains(KEY_MARK) {
            record.route = REDACTED.to_owned();
        }
        record.user_agent = record.user_agent.map(|agent| {
            if agent.contains(KEY_MARK) {
                REDACTED.to_owned()
            } else {
                agent.chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT_CHARS).collect()
            }
        });
        Ok(LogRow { record })
    }

    pub fn record(&self) -> &RequestLogRecord {
        &self.record
    }

    pub fn request_id(&self) -> &str {
        &self.record.request_id
    }

    /// The row's key: the partner's and mode's usage partition (or the day's requests
    /// without a partner), then time and request id.
    pub(crate) fn key(&self) -> layout::Key {
        let partner = self.record.partner_id.as_ref().zip(self.record.mode);
        layout::logged_request(partner, self.record.timestamp, &self.record.request_id)
    }

    pub fn pk(&self) -> String {
        self.key().pk
    }

    pub fn sk(&self) -> String {
        self.key().sk
    }

    /// The request's UTC day, `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        self.record.timestamp.date()
    }

    /// When DynamoDB's TTL removes the row, in seconds since the epoch.
    pub fn expires_at(&self) -> i64 {
        self.record.timestamp.unix_seconds() + ROW_TTL_DAYS * 24 * 60 * 60
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(changes: serde_json::Value) -> String {
        let mut record = json!({
            "request_id": "req_01JD2X8Q9V4K7M3N5P6R8S0T2W",
            "timestamp": "2026-11-23T10:00:00.123Z",
            "partner_id": "ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W",
            "mode": "sandbox",
            "method": "GET",
            "route": "/api/orders/{id}",
            "status": 200,
            "latency_ms": 12,
            "user_agent": "curl/8.5"
        });
        for (name, value) in changes.as_object().into_iter().flatten() {
            record[name] = value.clone();
        }
        record.to_string()
    }

    #[test]
    fn a_partners_request_is_keyed_by_partner_mode_time_and_request_id() {
        let row = LogRow::parse(&body(json!({}))).expect("a valid record");
        assert_eq!(row.pk(), "USAGE#ptn_01JD2X8Q9V4K7M3N5P6R8S0T2W#sandbox");
        assert_eq!(row.sk(), "2026-11-23T10:00:00.123Z#req_01JD2X8Q9V4K7M3N5P6R8S0T2W");
        assert_eq!(row.date(), "2026-11-23");
        assert_eq!(row.expires_at(), 1_795_428_000 + 90 * 86_400);
    }

    #[test]
    fn a_request_without_a_partner_goes_to_its_days_anonymous_partition() {
        let row = LogRow::parse(&body(json!({"partner_id": null, "mode": null, "status": 401}))).expect("valid");
        assert_eq!(row.pk(), "ANONYMOUS#2026-11-23");
    }

    #[test]
    fn timestamps_are_normalised_to_utc_with_milliseconds_so_they_sort_as_text() {
        let row = LogRow::parse(&body(json!({"timestamp": "2026-11-23T23:30:00+01:00"}))).expect("valid");
        assert_eq!(row.record().timestamp.to_string(), "2026-11-23T22:30:00.000Z");
        let row = LogRow::parse(&body(json!({"timestamp": "2026-11-23T10:00:00.123456789Z"}))).expect("valid");
        assert_eq!(row.record().timestamp.to_string(), "2026-11-23T10:00:00.123Z");
    }

    #[test]
    fn malformed_bodies_and_fields_are_refused_without_quoting_them() {
        for bad in ["not json", "{}", "[1]", r#"{"request_id": "stl_sandbox_secret"}"#] {
            let error = LogRow::parse(bad).expect_err(bad);
            assert!(!error.to_string().contains("stl_"), "{error}");
        }
        let invalid = [
            json!({"request_id": ""}),
            json!({"request_id": "req with spaces"}),
            json!({"timestamp": "yesterday"}),
            json!({"status": 42}),
            json!({"method": ""}),
            json!({"route": ""}),
            json!({"mode": null}),
            json!({"partner_id": "stl_sandbox_0123456789abcdef0123456789abcdef"}),
        ];
        for changes in invalid {
            let error = LogRow::parse(&body(changes.clone())).expect_err("invalid");
            assert!(!error.to_string().contains("stl_sandbox_0123"), "{changes}: {error}");
        }
    }

    #[test]
    fn anything_key_like_in_free_text_is_redacted() {
        let key = "stl_live_0123456789abcdef0123456789abcdef";
        let row = LogRow::parse(&body(json!({"user_agent": format!("bot {key}"), "route": format!("/api/{key}")})))
            .expect("valid");
        assert_eq!(row.record().user_agent.as_deref(), Some("[redacted]"));
        assert_eq!(row.record().route, "[redacted]");
        let long = "a".repeat(1000);
        let row = LogRow::parse(&body(json!({"user_agent": long}))).expect("valid");
        assert_eq!(row.record().user_agent.as_ref().map(String::len), Some(256));
    }
}
