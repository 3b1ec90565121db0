//! One module per table: its row types and its `Tx` methods.

pub(crate) mod accounts;
pub(crate) mod api_keys;
pub(crate) mod catalogs;
pub(crate) mod due;
pub(crate) mod due_batch;
pub(crate) mod idempotency;
pub(crate) mod journal;
pub(crate) mod messages;
pub(crate) mod meta;
pub(crate) mod subscriptions;
pub(crate) mod usage_events;
