//! Due actions: every time-driven rule is one of these, stored in a durable queue indexed by due
//! time (TIME-4). The key makes scheduling idempotent; the handler that runs one is written so
//! that running it twice has the effect of running it once.

use crate::ids::{AccountId, CouponId, PlanId, ReservationId, SubscriptionId};
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
    /// SUB-2: the `subscription.expiring` reminder `before` the expiry `expires_at`.
    SubscriptionReminder {
        sub: SubscriptionId,
        expires_at: jiff::Timestamp,
        before: Span,
    },
    /// SUB-4: the auto-renewal attempt of local day `day` for the expiry `expires_at`.
    SubscriptionAutoRenew {
        sub: SubscriptionId,
        expires_at: jiff::Timestamp,
        day: jiff::civil::Date,
    },
    /// SUB-6, SUB-7: the instance reaches its expiry `expires_at`.
    SubscriptionExpiry {
        sub: SubscriptionId,
        expires_at: jiff::Timestamp,
    },
    /// SUB-6: the grace after the expiry `expires_at` ends; retention begins.
    SubscriptionGraceEnd {
        sub: SubscriptionId,
        expires_at: jiff::Timestamp,
    },
    /// SUB-6: `subscription.release_warning` before the release that follows `expires_at`.
    SubscriptionReleaseWarning {
        sub: SubscriptionId,
        expires_at: jiff::Timestamp,
    },
    /// SUB-6: the release (final) that follows the expiry `expires_at`.
    SubscriptionRelease {
        sub: SubscriptionId,
        expires_at: jiff::Timestamp,
    },
    /// SUB-9: the idle check planned for `due_at` (frozen if idle since long enough).
    SubscriptionIdleCheck {
        sub: SubscriptionId,
        due_at: jiff::Timestamp,
    },
    /// SUB-7: the pay-as-you-go day of a converted instance ending at `day_end` is billed.
    SubscriptionPaygDay {
        sub: SubscriptionId,
        day_end: jiff::Timestamp,
    },
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
            DueKind::SubscriptionReminder { .. } => "subscription_reminder",
            DueKind::SubscriptionAutoRenew { .. } => "subscription_auto_renew",
            DueKind::SubscriptionExpiry { .. } => "subscription_expiry",
            DueKind::SubscriptionGraceEnd { .. } => "subscription_grace_end",
            DueKind::SubscriptionReleaseWarning { .. } => "subscription_release_warning",
            DueKind::SubscriptionRelease { .. } => "subscription_release",
            DueKind::SubscriptionIdleCheck { .. } => "subscription_idle_check",
            DueKind::SubscriptionPaygDay { .. } => "subscription_payg_day",
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
