//! Due actions: every time-driven rule is one of these, stored in a durable queue indexed by due
//! time (TIME-4). The key makes scheduling idempotent; the handler that runs one is written so
//! that running it twice has the effect of running it once.

use crate::ids::{AccountId, CouponId, PlanId, ReservationId};
use crate::span::Span;
use serde::{Deserialize, Serialize};

/// What a due action does when it falls due. Handlers live next to the rule they implement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DueKind {
    /// ACC-7: the `n`th low-balance notice of arming period `epoch`.
    LowBalanceRepeat { epoch: u32, n: u32 },
    /// A coupon's remaining value lapses.
    CouponExpiry { coupon: CouponId },
    /// PLAN-6: a plan expires; the rest is forfeited.
    PlanExpiry { plan: PlanId },
    /// PLAN-11: a resetting plan's period ends.
    PlanReset {
        plan: PlanId,
        period_end: jiff::Timestamp,
    },
    /// PLAN-8: an expiry reminder `before` the plan expires.
    PlanReminder { plan: PlanId, before: Span },
    /// PAYG-2: the pay-as-you-go cycle of `product` ending at `cycle_end` is billed.
    BillCycle {
        product: String,
        cycle_end: jiff::Timestamp,
    },
    /// PLAN-10: an uncommitted reservation lapses.
    ReservationTimeout { reservation: ReservationId },
}

impl DueKind {
    /// The kind's stable name, stored beside the payload for operators and indexes.
    pub fn name(&self) -> &'static str {
        match self {
            DueKind::LowBalanceRepeat { .. } => "low_balance_repeat",
            DueKind::CouponExpiry { .. } => "coupon_expiry",
            DueKind::PlanExpiry { .. } => "plan_expiry",
            DueKind::PlanReset { .. } => "plan_reset",
            DueKind::PlanReminder { .. } => "plan_reminder",
            DueKind::BillCycle { .. } => "bill_cycle",
            DueKind::ReservationTimeout { .. } => "reservation_timeout",
        }
    }
}

/// One scheduled action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueAction {
    /// Unique forever: scheduling the same key twice schedules it once.
    pub key: String,
    pub account: AccountId,
    pub due_at: jiff::Timestamp,
    pub kind: DueKind,
}
