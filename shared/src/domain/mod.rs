//! Domain values, parsed once at the edge so everything behind it only sees valid data.

mod account;
mod api_key;
mod catalog;
mod ids;
mod mode;
mod money;
mod order;
mod text;
mod time;

pub use account::{KeySummary, NewKey, Partner, Principal, SignUp, Wallet};
pub use api_key::{ApiKey, KeyHash, KeyRole};
pub use catalog::Product;
pub use ids::{KeyId, OrderId, PartnerId, ProductId, TransactionId};
pub use mode::{Mode, UnknownMode};
pub use money::{Money, MoneyError};
pub use order::{
    BadIdempotencyKey, IdempotencyKey, LedgerEntry, LedgerKind, Order, OrderRefused, OrderStatus, PlaceOrder, Quantity,
    QuantityError,
};
pub use text::{ClientReference, CompanyName, ContactName, Email, KeyName, TextError};
pub use time::{Timestamp, now};
