//! The handlers, by resource.

pub(crate) mod accounts;
pub(crate) mod plans;
pub(crate) mod subscriptions;
pub(crate) mod system;
pub(crate) mod usage;
