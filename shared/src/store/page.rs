//! Cursor pagination over a partition: newest first, `limit` items a page, and an opaque
//! cursor that can only continue the listing it came from.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::item::Item;
use super::layout::{self, Index, PK, Prefix, SK};
use super::{Store, StoreError};
use crate::domain::{PartnerId, Timestamp};

/// How many items a page holds: 1–100, 20 unless the caller asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u8);

impl Limit {
    pub const MAX: u8 = 100;
    pub const DEFAULT: Limit = Limit(20);
    /// The largest page, for callers that read a whole (small) listing page by page.
    pub const LARGEST: Limit = Limit(Self::MAX);

    /// Exactly as api.md writes it: ASCII digits without a sign, spaces or a leading zero.
    /// `str::parse` alone would also take `+5` and `05`, and `trim` spaces.
    pub fn parse(raw: &str) -> Result<Self, LimitError> {
        let plain = raw.bytes().all(|b| b.is_ascii_digit()) && !raw.starts_with('0');
        match raw.parse::<u8>() {
            Ok(n) if plain && (1..=Self::MAX).contains(&n) => Ok(Limit(n)),
            _ => Err(LimitError),
        }
    }

    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a whole number from 1 to 100")]
pub struct LimitError;

/// Where the previous page stopped: the key of its last item, base64url-encoded JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(BTreeMap<String, String>);

/// A cursor that was not produced by this listing (edited, truncated or from elsewhere).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid for this listing")]
pub struct InvalidCursor;

impl Cursor {
    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| InvalidCursor)?;
        serde_json::from_slice(&bytes).map(Cursor).map_err(|_| InvalidCursor)
    }

    pub fn encode(&self) -> String {
        // Serialising a map of strings cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&self.0).unwrap_or_default())
    }

    /// A cursor at `key`, an item (or a `LastEvaluatedKey`) of a table keyed `pk`/`sk`:
    /// for listings the store does not run itself (the request log's, on its own table).
    pub(crate) fn at_key(key: &Item) -> Option<Self> {
        Self::from_item(key, &[PK, SK])
    }

    /// The start key this cursor names in `partition` of a table keyed `pk`/`sk`; a
    /// cursor of another partition (another partner's, another mode's) is refused.
    pub(crate) fn start_key_in(&self, partition: &str) -> Result<Item, InvalidCursor> {
        let listing =
            Listing { index: None, partition: (PK, partition), sort_prefix: (SK, ""), newest_first: true, only: None };
        self.start_key(&listing)
    }

    fn from_item(item: &Item, names: &[&str]) -> Option<Self> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        names.iter().map(|name| Some(((*name).to_owned(), text(name)?))).collect::<Option<_>>().map(Cursor)
    }

    /// The cursor as a start key, if it continues `listing`: a cursor naming another
    /// partition (another partner's data) or another listing is refused, not followed.
    fn start_key(&self, listing: &Listing<'_>) -> Result<Item, InvalidCursor> {
        let names = listing.key_names();
        let (partition_name, partition) = listing.partition;
        let (sort_name, prefix) = listing.sort_prefix;
        let fits = self.0.len() == names.len()
            && names.iter().all(|name| self.0.contains_key(*name))
            && self.0.get(partition_name).is_some_and(|value| value == partition)
            && self.0.get(sort_name).is_some_and(|value| value.starts_with(prefix))
            && self.names_a_listed_item(listing);
        if !fits {
            return Err(InvalidCursor);
        }
        Ok(self.0.iter().map(|(name, value)| (name.clone(), AttributeValue::S(value.clone()))).collect())
    }

    /// Whether the cursor's sort keys are written as those of an item `listing` holds,
    /// not merely inside its range: a cursor edited to `ORDER#sandbox#` or to a
    /// truncated id is refused. One edited to another well-formed id still names a
    /// position in the caller's own listing, and is followed like any other.
    fn names_a_listed_item(&self, listing: &Listing<'_>) -> bool {
        let value = |name: &str| self.0.get(name).map(String::as_str);
        let (sort_name, prefix) = listing.sort_prefix;
        if !prefix.is_empty() {
            // The table's own listings: the prefix, then the id of an item of its kind.
            let id = value(sort_name).and_then(|sort_key| sort_key.strip_prefix(prefix));
            return id.is_some_and(|id| layout::is_listed_id(prefix, id));
        }
        // The listings of a whole partition sort by time: `<timestamp>#<id>` (the request
        // log's rows, the `by_status` index of top-up requests).
        let Some((at, id)) = value(sort_name).and_then(|sort_key| sort_key.split_once('#')) else {
            return false;
        };
        if Timestamp::parse_written(at).is_err() || !is_written_id(id) {
            return false;
        }
        match listing.index {
            None => true,
            // An index's item is a partner's table item: its table key names the same id.
            Some(_) => {
                let partner = value(PK).and_then(|pk| pk.strip_prefix("PARTNER#"));
                let partner_fits = partner
                    .is_some_and(|partner| PartnerId::parse(partner).is_ok_and(|parsed| parsed.to_string() == partner));
                let table_prefix = value(SK).and_then(|sort_key| sort_key.strip_suffix(id));
                partner_fits
                    && table_prefix.is_some_and(|table| table.ends_with('#') && layout::is_listed_id(table, id))
            }
        }
    }
}

/// `<kind>_<ULID>`, the ULID in its canonical upper-case form: how every id is written.
fn is_written_id(id: &str) -> bool {
    let Some((kind, ulid)) = id.split_once('_') else { return false };
    !kind.is_empty()
        && kind.bytes().all(|b| b.is_ascii_lowercase())
        && ulid::Ulid::from_string(ulid).is_ok_and(|parsed| parsed.to_string() == ulid)
}

/// One listing: a partition of the table or of an index, the items whose sort key
/// starts with a prefix, in one direction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listing<'a> {
    /// A global secondary index, or the table itself.
    pub index: Option<Index>,
    /// The partition key's attribute and value.
    pub partition: (&'static str, &'a str),
    /// The sort key's attribute and the prefix every listed sort key starts with.
    pub sort_prefix: (&'static str, &'a str),
    pub newest_first: bool,
    /// Only the items whose attribute holds this value. DynamoDB filters after it reads,
    /// so a page may take more than one read: meant for small partitions (a partner's keys).
    pub only: Option<(&'static str, &'a str)>,
}

impl<'a> Listing<'a> {
    /// The table's items under `prefix`, newest first (sort keys end in ULIDs).
    pub(crate) fn newest_first(prefix: &'a Prefix) -> Self {
        Listing {
            index: None,
            partition: (PK, &prefix.pk),
            sort_prefix: (SK, &prefix.sk_prefix),
            newest_first: true,
            only: None,
        }
    }

    /// The same listing, of the items whose `attribute` holds `value` only.
    pub(crate) fn only(self, attribute: &'static str, value: &'a str) -> Self {
        Listing { only: Some((attribute, value)), ..self }
    }

    /// The attributes a start key needs: the table's key, plus the index's if any.
    fn key_names(&self) -> Vec<&'static str> {
        match self.index {
            Some(index) => vec![PK, SK, index.pk, index.sk],
            None => vec![PK, SK],
        }
    }
}

/// What to list: a page size and where to continue from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: Limit,
    pub after: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { limit: Limit::DEFAULT, after: None }
    }
}

/// One page of a listing; `next` is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Why a page could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Cursor(#[from] InvalidCursor),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// The items under `prefix`, newest first (sort keys end in ULIDs), read strongly
    /// consistently and each turned into a `T` by `read`.
    pub(crate) async fn newest_first<T>(
        &self,
        prefix: &Prefix,
        page: &PageRequest,
        read: impl Fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, PageError> {
        self.list(Listing::newest_first(prefix), page, read).await
    }

    /// One page of `listing`, each item turned into a `T` by `read`. Index reads are
    /// eventually consistent (DynamoDB offers no other); table reads are strongly consistent.
    pub(crate) async fn list<T>(
        &self,
        listing: Listing<'_>,
        page: &PageRequest,
        read: impl Fn(&Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, PageError> {
        let mut start = page.after.as_ref().map(|cursor| cursor.start_key(&listing)).transpose()?;
        let limit = page.limit.get();
        // One item more than asked tells whether another page exists, so the last page
        // never carries a cursor to an empty one. A filtered listing, or a read cut at
        // 1 MB, reads on from where the last read stopped until it has that many.
        let mut items: Vec<Item> = Vec::new();
        while items.len() <= limit {
            let wanted = i32::try_from(limit + 1 - items.len()).unwrap_or(i32::MAX);
            let output = self.query(&listing, wanted, start).await?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().and_then(|item| Cursor::from_item(item, &listing.key_names()))
        } else {
            None
        };
        let items = items.iter().map(read).collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }

    /// One `Query` of `listing`, reading at most `limit` items from `start`.
    async fn query(
        &self,
        listing: &Listing<'_>,
        limit: i32,
        start: Option<Item>,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput, StoreError> {
        let (partition_name, partition) = listing.partition;
        let (sort_name, prefix) = listing.sort_prefix;
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(listing.index.map(|index| index.name.to_owned()))
            .expression_attribute_names("#partition", partition_name)
            .expression_attribute_values(":partition", AttributeValue::S(partition.to_owned()));
        // DynamoDB refuses `begins_with` with an empty prefix: a whole partition has none.
        let query = if prefix.is_empty() {
            query.key_condition_expression("#partition = :partition")
        } else {
            query
                .key_condition_expression("#partition = :partition AND begins_with(#sort, :prefix)")
                .expression_attribute_names("#sort", sort_name)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
        };
        let query = match listing.only {
            Some((name, value)) => query
                .filter_expression("#only = :only")
                .expression_attribute_names("#only", name)
                .expression_attribute_values(":only", AttributeValue::S(value.to_owned())),
            None => query,
        };
        query
            .scan_index_forward(!listing.newest_first)
            .consistent_read(listing.index.is_none())
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(pk: &str, sk: &str) -> Cursor {
        Cursor(BTreeMap::from([(PK.to_owned(), pk.to_owned()), (SK.to_owned(), sk.to_owned())]))
    }

    const KEY_ID: &str = "key_01M8RYXQ2W2Z87SRQ7GJQG0M48";

    fn listing<'a>(pk: &'a str, prefix: &'a str) -> Listing<'a> {
        Listing { index: None, partition: (PK, pk), sort_prefix: (SK, prefix), newest_first: true, only: None }
    }

    #[test]
    fn a_cursor_round_trips_and_only_continues_its_own_listing() {
        let original = cursor("PARTNER#ptn_a", &format!("KEY#{KEY_ID}"));
        let decoded = Cursor::decode(&original.encode()).expect("decodes");
        assert_eq!(decoded, original);
        assert!(decoded.start_key(&listing("PARTNER#ptn_a", "KEY#")).is_ok());
        assert_eq!(decoded.start_key(&listing("PARTNER#ptn_b", "KEY#")), Err(InvalidCursor), "another partner");
        assert_eq!(decoded.start_key(&listing("PARTNER#ptn_a", "ORDER#")), Err(InvalidCursor), "another listing");
        let on_index = Listing { index: Some(super::super::layout::BY_STATUS), ..listing("PARTNER#ptn_a", "KEY#") };
        assert_eq!(decoded.start_key(&on_index), Err(InvalidCursor), "a table cursor on an index listing");
    }

    #[test]
    fn a_cursor_edited_within_its_own_listing_is_refused() {
        let orders = listing("PARTNER#ptn_a", "ORDER#sandbox#");
        let at = |sk: &str| cursor("PARTNER#ptn_a", sk).start_key(&orders);
        assert!(at("ORDER#sandbox#ord_01M8RYXQ2W2Z87SRQ7GJQG0M48").is_ok());
        for edited in [
            "ORDER#sandbox#",
            "ORDER#sandbox#ord_7ZZZZ",
            "ORDER#sandbox#ord_01m8ryxq2w2z87srq7gjqg0m48",
            "ORDER#sandbox#txn_01M8RYXQ2W2Z87SRQ7GJQG0M48",
            "ORDER#sandbox#ord_01M8RYXQ2W2Z87SRQ7GJQG0M48#",
            "ORDER#sandbox#ord_01M8RYXQ2W2Z87SRQ7GJQG0M48 ",
        ] {
            assert_eq!(at(edited), Err(InvalidCursor), "{edited:?}");
        }
        let mut extra = cursor("PARTNER#ptn_a", "ORDER#sandbox#ord_01M8RYXQ2W2Z87SRQ7GJQG0M48");
        extra.0.insert("extra".into(), "x".into());
        assert_eq!(extra.start_key(&orders), Err(InvalidCursor), "a field no key has");
    }

    #[test]
    fn a_cursor_of_a_whole_partition_names_a_time_and_an_id() {
        let row = |sk: &str| cursor("USAGE#ptn_a", sk).start_key_in("USAGE#ptn_a");
        assert!(row("2026-11-23T10:00:00.123Z#req_01M8RYXQ2W2Z87SRQ7GJQG0M48").is_ok());
        for edited in ["", "2026-11-23T10:00:00.123Z#", "2026-11-23#req_01M8RYXQ2W2Z87SRQ7GJQG0M48", "x#req_1"] {
            assert_eq!(row(edited), Err(InvalidCursor), "{edited:?}");
        }

        let index = super::super::layout::BY_STATUS;
        let queue = Listing { index: Some(index), ..listing("TOPUP#pending", "") };
        let queue = Listing { partition: (index.pk, "TOPUP#pending"), sort_prefix: (index.sk, ""), ..queue };
        let tur = "tur_01M8RYXQ2W2Z87SRQ7GJQG0M48";
        let position = |pk: &str, sk: &str, gsi1sk: &str| {
            Cursor(BTreeMap::from([
                (PK.to_owned(), pk.to_owned()),
                (SK.to_owned(), sk.to_owned()),
                (index.pk.to_owned(), "TOPUP#pending".to_owned()),
                (index.sk.to_owned(), gsi1sk.to_owned()),
            ]))
            .start_key(&queue)
        };
        let partner = "PARTNER#ptn_01M8RYXQ2W2Z87SRQ7GJQG0M49";
        let at = format!("2026-11-23T10:00:00.123Z#{tur}");
        assert!(position(partner, &format!("TOPUP#live#{tur}"), &at).is_ok());
        assert!(position("PARTNER#ptn_a", &format!("TOPUP#live#{tur}"), &at).is_err(), "not a partner id");
        assert!(position(partner, "TOPUP#live#tur_01M8RYXQ2W2Z87SRQ7GJQG0M47", &at).is_err(), "another request");
        assert!(position(partner, &format!("TOPUP#live#{tur}"), &format!("2026-11-23#{tur}")).is_err(), "no time");
    }

    #[test]
    fn a_tampered_cursor_is_invalid() {
        assert_eq!(Cursor::decode("not base64!"), Err(InvalidCursor));
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"[1,2]")), Err(InvalidCursor));
        let mut text = cursor("PARTNER#ptn_a", &format!("KEY#{KEY_ID}")).encode();
        text.truncate(text.len() - 3);
        assert_eq!(Cursor::decode(&text), Err(InvalidCursor));
    }

    #[test]
    fn limits_are_1_to_100() {
        assert_eq!(Limit::parse("1").map(Limit::get), Ok(1));
        assert_eq!(Limit::parse("100").map(Limit::get), Ok(100));
        for bad in ["0", "101", "-1", "ten", "", "1.5", "+5", "05", "007", " 20", "20 ", "\u{ff15}", "00"] {
            assert_eq!(Limit::parse(bad), Err(LimitError), "{bad:?}");
        }
    }
}
