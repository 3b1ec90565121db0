//! The engine: the imperative shell around `tenure-core`. For each command it loads one account,
//! asks the core for a decision at the clock's instant, and persists the new state with every
//! effect (journal, messages, due actions, idempotency record) in one transaction of one account.
//! It also runs the due-action queue (TIME-3, TIME-4). HTTP, `simulate` and `bench` all call it.

mod cache;
mod clock;
mod commands;
mod engine;
mod plans;
mod queries;
mod error;
mod scheduler;
mod usage;
pub mod views;

pub use cache::CACHE_ACCOUNTS_MAX;
pub use clock::SystemClock;
pub use commands::{CouponExpiry, PAGE_LIMIT_MAX};
pub use engine::{Engine, Idem, LOAD_ACCOUNTS_PER_TX_MAX};
pub use error::EngineError;
pub use usage::{IncomingEvent, PG_INGEST_WORKERS_MAX, USAGE_BATCH_EVENTS_MAX};
pub use scheduler::{AdvanceReport, SANDBOX_NOW_KEY, Scheduler};
