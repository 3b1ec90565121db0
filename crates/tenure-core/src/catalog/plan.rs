//! Prepaid resource plan specs and the product-wide plan policy (PLAN-1 … PLAN-13).

use super::policy::{Cycle, Funding};
use crate::span::Span;
use rust_decimal::Decimal;
use serde::Serialize;

/// A plan spec (PLAN-1): what one purchase of it buys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSpec {
    /// Unique in the whole catalog (a purchase names the spec only).
    pub id: String,
    pub name: String,
    /// Meters whose usage the plan covers; all of its product.
    pub meters: Vec<String>,
    /// Units per validity (aggregate) or per reset period (resetting); at least 1.
    pub quota: u64,
    #[serde(flatten)]
    pub kind: PlanKind,
    /// Days, weeks, months or years, added in the account's zone (PLAN-2).
    pub validity: Span,
    /// Price of one purchase in the catalog currency; zero for a free plan.
    pub price: Decimal,
    /// PLAN-3: deduction order between plans of different sources.
    pub source: PlanSource,
    /// PLAN-5: what happens to usage no plan can cover.
    pub overflow: Overflow,
    /// PLAN-12: an unused, unexpired plan may be refunded.
    pub refundable: bool,
    /// Free text for people (e.g. "cn-mainland"); the engine does not interpret it.
    pub region: Option<String>,
}

impl PlanSpec {
    /// Whether usage of `meter` is taken from plans of this spec.
    pub fn covers(&self, meter: &str) -> bool {
        self.meters.iter().any(|m| m == meter)
    }
}

/// PLAN-1 kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanKind {
    /// One quota for the whole validity.
    Aggregate,
    /// The full quota every `reset` period (PLAN-11), nothing carried over.
    Resetting { reset: Cycle },
}

/// PLAN-3 sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    Free,
    Promotional,
    Purchased,
}

/// PLAN-5 overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Excess is rated at the pay-as-you-go price.
    PayPerUse,
    /// Excess is refused; `plan.exhausted` goes out once.
    StopBeforeExcess,
}

/// `[product.plan_policy]`: how a product's plans remind, renew and are used up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanPolicy {
    /// PLAN-8: reminders this long before a plan expires, longest first.
    pub expiry_reminders: Vec<Span>,
    /// PLAN-8: a reminder at the expiry instant too.
    pub remind_at_expiry: bool,
    /// PLAN-13: after expiry, the plan can be renewed during `renewal_grace` …
    pub renewal_grace: Span,
    /// … then during `renewal_retention`; after both, `not_renewable`.
    pub renewal_retention: Span,
    /// PLAN-3: sources in deduction order, each exactly once.
    pub source_order: Vec<PlanSource>,
}

impl Default for PlanPolicy {
    fn default() -> Self {
        PlanPolicy {
            expiry_reminders: vec![Span::days(7)],
            remind_at_expiry: true,
            renewal_grace: Span::days(15),
            renewal_retention: Span::days(15),
            source_order: vec![
                PlanSource::Free,
                PlanSource::Promotional,
                PlanSource::Purchased,
            ],
        }
    }
}

impl PlanPolicy {
    /// Position of `source` in the deduction order (0 is used first).
    pub fn source_rank(&self, source: PlanSource) -> usize {
        self.source_order
            .iter()
            .position(|s| *s == source)
            .expect("a loaded catalog lists every plan source in source_order")
    }
}

/// `[product.plan_auto_renew]` (PLAN-9): present only where the product allows repurchase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanAutoRenew {
    /// Specs an account may configure for repurchase; all of this product.
    pub specs: Vec<String>,
    /// The expiry trigger fires this long before an active plan expires.
    pub before_expiry: Span,
    /// Funds a repurchase may use (balance and coupons by default).
    pub pay_with: Vec<Funding>,
}

impl PlanAutoRenew {
    /// Whether `spec` may be configured for repurchase.
    pub fn allows(&self, spec: &str) -> bool {
        self.specs.iter().any(|s| s == spec)
    }
}
