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
    /// PLAN-9: the repurchase expiry trigger for `product`'s plans expiring at `expires_at`
    /// (one per expiry instant: plans that expire together count once).
    PlanRepurchase {
        product: String,
        expires_at: jiff::Timestamp,
    },
    /// PAYG-2: the pay-as-you-go cycle of `product` ending at `cycle_end` is billed.
    BillCycle {
        product: String,
        cycle_end: jiff::Timestamp,
    },
    /// PLAN-10: an uncommitted reservation lapses.
    ReservationTimeout { reservation: ReservationId },
    /// OVD-5: `product` stops soon for the overdue episode `epoch` (`service.stop_warning`).
    OverdueStopWarning { product: String, epoch: u32 },
    /// OVD-2: `product` stops for the overdue episode `epoch` (`stop_after`).
    OverdueStop { product: String, epoch: u32 },
    /// OVD-3, OVD-5: `product`, stopped in the overdue episode `epoch`, is released soon.
    OverdueReleaseWarning { product: String, epoch: u32 },
    /// OVD-3: `product`, stopped in the overdue episode `epoch`, is released (final).
    OverdueRelease { product: String, epoch: u32 },
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
            DueKind::PlanRepurchase { .. } => "plan_repurchase",
            DueKind::BillCycle { .. } => "bill_cycle",
            DueKind::ReservationTimeout { .. } => "reservation_timeout",
            DueKind::OverdueStopWarning { .. } => "overdue_stop_warning",
            DueKind::OverdueStop { .. } => "overdue_stop",
            DueKind::OverdueReleaseWarning { .. } => "overdue_release_warning",
            DueKind::OverdueRelease { .. } => "overdue_release",
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
