//! Policy values shared by several parts of the catalog: the account-wide defaults, overdue
//! impact, pay-as-you-go terms, billing cycles and the funds a charge may use.

use crate::span::{Span, SpanUnit};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// `[defaults]`: account-wide policy, and the values products inherit when they set none.
/// `Default` gives the numbers of `spec/RULES.md`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Defaults {
    /// USE-1: an event timestamped further than this before now is refused (`late_event`).
    pub late_window: Span,
    /// PLAN-10: how long an uncommitted reservation lives when the caller names no timeout.
    pub reservation_timeout: Span,
    /// PAYG-2: time from a cycle's close to its bill (zero: the first scheduler run at or after
    /// the close).
    pub bill_delay: Span,
    /// ACC-7: low-balance notices in one episode, the first included.
    pub low_balance_notices: u32,
    /// ACC-7: time between two low-balance notices.
    pub low_balance_repeat: Span,
    /// SUB-10: handling fee kept on unsubscribe, percent of the current term's payment.
    pub unsubscribe_fee_percent: Decimal,
    /// OVD-5: the `service.stop_warning` notice goes out this long before an overdue stop.
    pub overdue_stop_warning_before: Span,
    /// OVD-3: resources stopped for overdue are released this long after the stop.
    pub overdue_release_after: Span,
    /// OVD-5, SUB-6: the release warning goes out this long before any release.
    pub release_warning_before: Span,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            late_window: Span::hours(48),
            reservation_timeout: Span::new(5, SpanUnit::Minute),
            bill_delay: Span::new(0, SpanUnit::Minute),
            low_balance_notices: 5,
            low_balance_repeat: Span::days(1),
            unsubscribe_fee_percent: Decimal::TEN,
            overdue_stop_warning_before: Span::hours(2),
            overdue_release_after: Span::days(15),
            release_warning_before: Span::days(3),
        }
    }
}

/// A calendar period in the account's zone: a pay-as-you-go cycle (PAYG-2) or the refill period
/// of a resetting plan (PLAN-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    Hour,
    Day,
    Month,
}

impl Cycle {
    /// The unit to pass to [`crate::span::next_boundary`].
    pub fn span_unit(self) -> SpanUnit {
        match self {
            Cycle::Hour => SpanUnit::Hour,
            Cycle::Day => SpanUnit::Day,
            Cycle::Month => SpanUnit::Month,
        }
    }
}

/// Where a charge may take money from. The order of use is always ACC-4's (one coupon, then
/// cash, then credit line); a policy only leaves sources out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Funding {
    Coupon,
    Cash,
    CreditLine,
}

/// Pay-as-you-go terms of a product or of one edition (PAYG-1, PAYG-2, ACC-1, ACC-6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payg {
    /// PAYG-2: the billing cycle.
    pub cycle: Cycle,
    /// PAYG-1: the account must activate pay-as-you-go for the product before it can bill.
    pub activation_required: bool,
    /// ACC-6: activation needs a verified account.
    pub activation_requires_verified: bool,
    /// ACC-1: unit price per meter id, at most six decimals.
    pub prices: BTreeMap<String, Decimal>,
}

/// What overdue does to a product or edition (OVD-2), with its notice and release timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overdue {
    #[serde(flatten)]
    pub impact: OverdueImpact,
    /// OVD-5: the stop warning goes out this long before the stop (for `stop_after` only).
    pub stop_warning_before: Span,
    /// OVD-3: release of what overdue stopped, counted from the stop.
    pub release_after: Span,
    /// OVD-5: the release warning goes out this long before the release.
    pub release_warning_before: Span,
}

/// OVD-2 impact kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "impact", rename_all = "snake_case")]
pub enum OverdueImpact {
    /// Nothing happens (a free public instance).
    None,
    /// Running subscriptions go on; buying, upgrading and renewing are refused while overdue.
    BlockFeeOperations,
    /// Service goes on for `after` from the start of overdue, then stops.
    StopAfter { after: Span },
    /// Service stops as soon as the account is overdue.
    StopImmediately,
}

impl OverdueImpact {
    /// Time from the start of overdue to the stop, or `None` when overdue never stops service.
    pub fn stop_delay(self) -> Option<Span> {
        match self {
            OverdueImpact::None | OverdueImpact::BlockFeeOperations => None,
            OverdueImpact::StopAfter { after } => Some(after),
            OverdueImpact::StopImmediately => Some(Span::new(0, SpanUnit::Minute)),
        }
    }

    /// Whether orders that cost money are refused while the account is overdue.
    pub fn blocks_fee_operations(self) -> bool {
        self == OverdueImpact::BlockFeeOperations
    }
}
