//! Overdue (OVD-1…5): per-product impact, stop, restoration and release.

use crate::account::{AccountState, Effects};
use crate::catalog::Product;
use crate::error::{ErrorCode, Refusal};
use crate::ids::BillId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A product's service state for one account under overdue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceState {
    /// Stopped for overdue since.
    pub stopped_at: Option<Timestamp>,
    /// Released (data deleted) after a long stop (OVD-3): final.
    pub released_at: Option<Timestamp>,
}

impl AccountState {
    /// OVD-2: a stopped product refuses usage.
    pub fn check_service_available(&self, product: &Product) -> Result<(), Refusal> {
        match self.services.get(&product.id) {
            Some(s) if s.released_at.is_some() || s.stopped_at.is_some() => Err(Refusal::new(
                ErrorCode::ServiceStopped,
                format!(
                    "{} is stopped for this account: settle the unpaid bills",
                    product.id
                ),
            )),
            _ => Ok(()),
        }
    }

    /// After a bill was issued: the account may have become overdue.
    pub(crate) fn after_bill(&mut self, _fx: &mut Effects, _bill: BillId, _now: Timestamp) {}
}
