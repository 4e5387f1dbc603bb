//! Domain values, parsed once at the edge so everything behind it only sees valid data.

mod account;
mod api_key;
mod ids;
mod mode;
mod money;
mod text;
mod time;

pub use account::{KeySummary, NewKey, Partner, Principal, SignUp, Wallet};
pub use api_key::{ApiKey, KeyHash, KeyRole};
pub use ids::{KeyId, PartnerId, TransactionId};
pub use mode::{Mode, UnknownMode};
pub use money::{Money, MoneyError};
pub use text::{CompanyName, ContactName, Email, KeyName, TextError};
pub use time::{Timestamp, now};
