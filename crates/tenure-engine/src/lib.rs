//! The engine: the imperative shell around `tenure-core`. For each command it loads one account,
//! asks the core for a decision at the clock's instant, and persists the new state with every
//! effect (journal, messages, due actions, idempotency record) in one transaction of one account.
//! It also runs the due-action queue (TIME-3, TIME-4). HTTP, `simulate` and `bench` all call it.

mod cache;
mod clock;
mod commands;
mod engine;
mod error;
mod parallel;
mod plans;
mod queries;
mod scheduler;
mod subscriptions;
mod usage;
pub mod views;

pub use cache::CACHE_ACCOUNTS_MAX;
pub use clock::SystemClock;
pub use commands::{CouponExpiry, PAGE_LIMIT_MAX};
pub use engine::{Engine, Idem, LOAD_ACCOUNTS_PER_TX_MAX};
pub use error::EngineError;
pub use scheduler::{
    AdvanceReport, DUE_ADVANCE_CLAIM_MAX, DUE_CLAIM_BATCH_MAX, PG_DUE_WORKERS_MAX, SANDBOX_NOW_KEY,
    Scheduler,
};
pub use subscriptions::{EXPIRES_WITHIN_DAYS_MAX, RenewItem, RenewalQuery, SUB_BATCH_ITEMS_MAX};
pub use usage::{IncomingEvent, PG_INGEST_WORKERS_MAX, USAGE_BATCH_EVENTS_MAX};
