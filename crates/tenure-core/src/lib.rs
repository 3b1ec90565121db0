//! Tenure's pure domain core: no I/O, no clock reads, no async. Given state, a command and an
//! instant it returns decisions as data. See `ARCHITECTURE.md` at the repository root.

pub mod catalog;
pub mod error;
pub mod money;
pub mod span;

pub use catalog::Catalog;
pub use error::{ErrorCode, Refusal};
pub use jiff::{Timestamp, tz::TimeZone};
pub use money::Currency;
pub use rust_decimal::Decimal;
pub use span::{Span, SpanUnit};

pub mod account;
pub mod alerts;
pub mod clock;
pub mod due;
pub mod ids;
pub mod ledger;
pub mod low_balance;
pub mod message;
pub mod overdue;
pub mod payg;
pub mod plan;
pub mod reservation;
pub mod subscription;
pub mod usage;
