//! Building and reading DynamoDB items: the attribute-level mapping, private to the store.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use rust_decimal::Decimal;

use super::StoreError;
use super::layout::{Key, PK, SK};
use crate::domain::{Money, Timestamp};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// An item under construction: `item(&layout::wallet(..)).s("mode", ..).money("balance", ..)`.
pub(crate) struct ItemBuilder(Item);

pub(crate) fn item(key: &Key) -> ItemBuilder {
    ItemBuilder(key.item())
}

impl ItemBuilder {
    pub(crate) fn s(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_owned(), AttributeValue::S(value.into()));
        self
    }

    pub(crate) fn s_opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.s(name, value),
            None => self,
        }
    }

    pub(crate) fn time(self, name: &str, value: Timestamp) -> Self {
        self.s(name, value.to_string())
    }

    pub(crate) fn time_opt(self, name: &str, value: Option<Timestamp>) -> Self {
        self.s_opt(name, value.map(|at| at.to_string()))
    }

    pub(crate) fn money(mut self, name: &str, value: Money) -> Self {
        self.0.insert(name.to_owned(), AttributeValue::N(value.to_string()));
        self
    }

    pub(crate) fn bool(mut self, name: &str, value: bool) -> Self {
        self.0.insert(name.to_owned(), AttributeValue::Bool(value));
        self
    }

    pub(crate) fn n(mut self, name: &str, value: i64) -> Self {
        self.0.insert(name.to_owned(), AttributeValue::N(value.to_string()));
        self
    }

    pub(crate) fn build(self) -> Item {
        self.0
    }
}

/// Reads typed attributes out of an item, naming the item when one is missing or wrong.
pub(crate) struct Reader<'a>(&'a Item);

pub(crate) fn read(item: &Item) -> Reader<'_> {
    Reader(item)
}

impl Reader<'_> {
    /// The error for this item, named by its key, holding `reason`.
    pub(crate) fn corrupt(&self, reason: String) -> StoreError {
        let part = |name| self.0.get(name).and_then(|v| v.as_s().ok()).map_or("?", String::as_str);
        StoreError::Corrupt { key: format!("{}/{}", part(PK), part(SK)), reason }
    }

    pub(crate) fn s(&self, name: &str) -> Result<&str, StoreError> {
        self.s_opt(name)?.ok_or_else(|| self.corrupt(format!("{name} is missing")))
    }

    pub(crate) fn s_opt(&self, name: &str) -> Result<Option<&str>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(self.corrupt(format!("{name} is not a string"))),
        }
    }

    /// Parses a string attribute with `T`'s own parser (ids, modes, …).
    pub(crate) fn parsed<T: FromStr>(&self, name: &str) -> Result<T, StoreError> {
        let raw = self.s(name)?;
        raw.parse().map_err(|_| self.corrupt(format!("{name} has an unexpected value")))
    }

    /// Parses a string attribute that may be absent (never written, or added after the
    /// item was) with `T`'s own parser; present but unreadable is still corrupt.
    pub(crate) fn parsed_opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.s_opt(name)?
            .map(|raw| raw.parse().map_err(|_| self.corrupt(format!("{name} has an unexpected value"))))
            .transpose()
    }

    /// Parses a string attribute with `parse`, for types whose parser is not `FromStr`.
    pub(crate) fn parsed_with<T>(&self, name: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, StoreError> {
        let raw = self.s(name)?;
        parse(raw).ok_or_else(|| self.corrupt(format!("{name} has an unexpected value")))
    }

    /// A time as the store writes it (`Timestamp::parse_written`).
    pub(crate) fn time(&self, name: &str) -> Result<Timestamp, StoreError> {
        self.parsed_with(name, |raw| Timestamp::parse_written(raw).ok())
    }

    pub(crate) fn time_opt(&self, name: &str) -> Result<Option<Timestamp>, StoreError> {
        self.s_opt(name)?
            .map(|raw| {
                Timestamp::parse_written(raw).map_err(|_| self.corrupt(format!("{name} has an unexpected value")))
            })
            .transpose()
    }

    pub(crate) fn bool(&self, name: &str) -> Result<bool, StoreError> {
        match self.0.get(name) {
            Some(AttributeValue::Bool(value)) => Ok(*value),
            _ => Err(self.corrupt(format!("{name} is not a boolean"))),
        }
    }

    /// A number attribute that may be absent (added after the item was written).
    pub(crate) fn number_opt(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.0.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(_) => self.number(name).map(Some),
        }
    }

    pub(crate) fn number(&self, name: &str) -> Result<i64, StoreError> {
        match self.0.get(name) {
            Some(AttributeValue::N(raw)) => raw.parse().map_err(|_| self.corrupt(format!("{name} is not an integer"))),
            _ => Err(self.corrupt(format!("{name} is not a number"))),
        }
    }

    pub(crate) fn money(&self, name: &str) -> Result<Money, StoreError> {
        let raw = match self.0.get(name) {
            Some(AttributeValue::N(raw)) => raw,
            _ => return Err(self.corrupt(format!("{name} is not a number"))),
        };
        Decimal::from_str(raw)
            .ok()
            .and_then(|value| Money::from_decimal(value).ok())
            .ok_or_else(|| self.corrupt(format!("{name} is not an amount of money")))
    }
}
