//! The handlers, by resource.

pub(crate) mod accounts;
pub(crate) mod system;
