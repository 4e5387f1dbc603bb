//! Domain values, parsed once at the edge so everything behind it only sees valid data.

mod account;
mod api_key;
mod catalog;
mod ids;
mod mode;
mod money;
mod order;
mod rate_limit;
mod session;
mod text;
mod time;
mod top_up;
mod webhook;

pub use account::{Applicant, KeyRequest, KeySummary, NewKey, OpsKeySummary, Partner, Principal, SignUp, Wallet};
pub use api_key::{ApiKey, KeyHash, KeyRole};
pub use catalog::Product;
pub use ids::{EndpointId, EventId, KeyId, OrderId, PartnerId, ProductId, TopUpId, TransactionId};
pub use mode::{Mode, UnknownMode};
pub use money::{Money, MoneyError};
pub use order::{
    BadIdempotencyKey, IdempotencyKey, LedgerEntry, LedgerKind, Order, OrderRefused, OrderRequest, OrderStatus,
    PlaceOrder, Quantity, QuantityError,
};
pub use rate_limit::{
    BadQuota, ModeQuota, POLICY as RATE_LIMIT_POLICY, QuotaSource, QuotaUse, RateLimits, RequestsPerSecond,
    WINDOW_SECONDS,
};
pub use session::{
    Audience, CODE_MINUTES, CODE_TRIES, CODE_WINDOW_MINUTES, CODES_PER_WINDOW, SESSION_HOURS, Session, SessionId,
    SessionOwner, SignInCode,
};
pub(crate) use text::{ATEXT_SYMBOLS, OTHER_FULL_STOPS};
pub use text::{
    ClientReference, CompanyName, ContactName, Email, EndpointDescription, KeyName, OperatorName, PaymentReference,
    RejectionReason, TextError, TopUpNote, ascii_address,
};
pub use time::{Timestamp, TimestampError};
pub use top_up::{
    Decider, RequestTopUp, TopUpAmount, TopUpAmountError, TopUpDetails, TopUpRequest, TopUpStatus, UnknownDecider,
    UnknownStatus, UnsupportedCurrency, parse_currency,
};
pub use webhook::{
    DeliveryAttempt, Endpoint, EndpointStatus, Event, EventRecord, EventType, MAX_ATTEMPTS_KEPT, NewEndpoint,
    SECRET_OVERLAP_HOURS, SecretError, UnknownEventType, WebhookSecret,
};
