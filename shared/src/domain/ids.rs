//! Prefixed, time-sortable identifiers (`ptn_…`, `key_…`, `txn_…`): a ULID behind a
//! prefix that says what the id names, so ids of different things never mix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid {kind} id (expected `{prefix}_` followed by 26 base32 characters)")]
pub struct IdError {
    kind: &'static str,
    prefix: &'static str,
}

/// A ULID of the millisecond `at`, greater than any this process made before in the same
/// millisecond: ids made one after another sort in the order they were made even within
/// a millisecond, as the ledger entries of several movements written in one transaction
/// are (ADR 0018). An `at` earlier than the last id's millisecond gets a fresh one, so an
/// id always carries its own time.
fn ulid_at(at: std::time::SystemTime) -> ulid::Ulid {
    static LAST: std::sync::Mutex<ulid::Ulid> = std::sync::Mutex::new(ulid::Ulid::nil());
    let fresh = ulid::Ulid::from_datetime(at);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let made = if fresh.timestamp_ms() == last.timestamp_ms() { last.increment().unwrap_or(fresh) } else { fresh };
    if made > *last {
        *last = made;
    }
    made
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(ulid::Ulid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id; ids made later sort after ids made earlier.
            pub fn generate() -> Self {
                Self(ulid::Ulid::new())
            }

            /// A new id made at `at`: an item whose `created_at` is `at` then sorts by
            /// its id exactly as by its time, whenever the id is made.
            pub fn generate_at(at: crate::domain::Timestamp) -> Self {
                Self(ulid_at(std::time::SystemTime::from(at.datetime())))
            }

            /// The millisecond the id was made at (`None` past the years a timestamp holds).
            pub fn time(&self) -> Option<crate::domain::Timestamp> {
                let nanos = i128::from(self.0.timestamp_ms()) * 1_000_000;
                let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
                crate::domain::Timestamp::from_datetime(at).ok()
            }

            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let error = IdError { kind: $kind, prefix: $prefix };
                let body = raw
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .ok_or(error.clone())?;
                ulid::Ulid::from_string(body).map(Self).map_err(|_| error)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

prefixed_id!(
    /// A partner (company) account.
    PartnerId, "ptn", "partner"
);
prefixed_id!(
    /// An API key's public identifier (never the key itself).
    KeyId, "key", "key"
);
prefixed_id!(
    /// A ledger entry.
    TransactionId, "txn", "transaction"
);
prefixed_id!(
    /// A catalog product.
    ProductId, "prd", "product"
);
prefixed_id!(
    /// An order placed by a partner.
    OrderId, "ord", "order"
);
prefixed_id!(
    /// A request to top up a wallet.
    TopUpId, "tur", "top-up request"
);
prefixed_id!(
    /// A webhook endpoint a partner registered.
    EndpointId, "we", "webhook endpoint"
);
prefixed_id!(
    /// A webhook event: one committed change, delivered under this id to every endpoint.
    EventId, "evt", "event"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_text_form() {
        let id = PartnerId::generate();
        assert_eq!(PartnerId::parse(&id.to_string()), Ok(id));
        assert!(id.to_string().starts_with("ptn_"));
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let key = KeyId::generate().to_string();
        assert!(PartnerId::parse(&key).is_err());
        assert!(PartnerId::parse("ptn_").is_err());
        assert!(PartnerId::parse("ptn_not-a-ulid").is_err());
        assert!(PartnerId::parse("").is_err());
    }

    #[test]
    fn ids_made_in_one_millisecond_sort_in_the_order_they_were_made() {
        let at = crate::domain::Timestamp::parse("2026-11-23T10:00:00.456Z").expect("a time");
        let ids: Vec<TransactionId> = (0..50).map(|_| TransactionId::generate_at(at)).collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
        assert!(ids.iter().all(|id| id.time() == Some(at)), "each carries its time");
        let earlier = crate::domain::Timestamp::parse("2026-11-23T10:00:00.455Z").expect("a time");
        assert_eq!(OrderId::generate_at(earlier).time(), Some(earlier), "an earlier time is its own");
    }

    #[test]
    fn an_id_made_at_a_time_carries_that_time() {
        let at = crate::domain::Timestamp::parse("2026-11-23T10:00:00.123Z").expect("a time");
        let id = OrderId::generate_at(at);
        assert_eq!(id.time(), Some(at));
        assert!(OrderId::generate_at(at.plus_seconds(-1)) < id, "an id made at an earlier time sorts first");
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let first = TransactionId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = TransactionId::generate();
        assert!(first.to_string() < second.to_string());
    }
}
