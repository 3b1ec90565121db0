//! PLAN-7 usage alerts: thresholds on a product's plan quota, each edge-triggered.

use super::ProductQuota;
use crate::account::{AccountState, Effects};
use crate::catalog::Product;
use crate::error::Refusal;
use crate::message::MessageKind;
use crate::usage::QUANTITY_MAX;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// PLAN-7: the most thresholds one usage alert may hold (percentages and quantities together).
pub const USAGE_ALERT_THRESHOLDS_MAX: usize = 16;

/// PLAN-7: one threshold of a usage alert. Serialized as `{"percent_used": 80}` or
/// `{"remaining": 100}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    /// Reached when used × 100 ≥ percent × total: 80 is reached at exactly 800 of 1,000.
    PercentUsed(u32),
    /// Reached when remaining ≤ the quantity.
    Remaining(u64),
}

impl Threshold {
    /// Whether `quota` has reached this threshold. A product without quota reaches none.
    pub fn reached(self, quota: ProductQuota) -> bool {
        if quota.total == 0 {
            return false;
        }
        match self {
            // u128: 2^64 × 100 does not fit in u64.
            Threshold::PercentUsed(percent) => {
                u128::from(quota.used()) * 100 >= u128::from(percent) * u128::from(quota.total)
            }
            Threshold::Remaining(quantity) => quota.remaining <= quantity,
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::PercentUsed(p) => write!(f, "percent_used={p}"),
            Threshold::Remaining(q) => write!(f, "remaining={q}"),
        }
    }
}

/// PLAN-7: a threshold and whether it may fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdState {
    pub threshold: Threshold,
    /// It fires at the next evaluation that finds it reached, then disarms until it is found out
    /// of reach again.
    pub armed: bool,
    /// The arming period: unique per product, part of the notice's key (NTF-2).
    pub period: u32,
}

/// PLAN-7: an account's usage alert on one product. It watches the product's total quota,
/// so it covers plans bought after it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageAlert {
    /// Percentages ascending, then quantities descending: the order usage crosses them.
    pub thresholds: Vec<ThresholdState>,
}

impl AccountState {
    /// PLAN-7: sets (or replaces) the usage alert of `product`: `percent_used` thresholds
    /// (1–100) and `remaining` thresholds (quantities), at least one in all, duplicates merged.
    /// The product must sell plans; the account need not have bought any yet.
    ///
    /// Setting it never notifies, also when the quota is already past a threshold: every
    /// threshold starts armed, and the next usage of the product fires each one then reached,
    /// once. This is how a billing center that checks on usage behaves, and how the
    /// low-balance alert (ACC-7) treats being enabled while below: nothing until the next
    /// change. Replacing an alert starts every threshold afresh (armed, new period).
    pub fn set_usage_alert(
        &mut self,
        product: &Product,
        percent_used: Vec<u32>,
        remaining: Vec<u64>,
    ) -> Result<Effects, Refusal> {
        if product.plans.is_empty() {
            return Err(Refusal::invalid(format!(
                "{} sells no plans: usage alerts watch plan quota",
                product.id
            )));
        }
        if percent_used.is_empty() && remaining.is_empty() {
            return Err(Refusal::invalid(
                "a usage alert needs at least one percent_used or remaining threshold",
            ));
        }
        if percent_used.len() + remaining.len() > USAGE_ALERT_THRESHOLDS_MAX {
            return Err(Refusal::invalid(format!(
                "a usage alert holds at most {USAGE_ALERT_THRESHOLDS_MAX} thresholds"
            )));
        }
        if let Some(p) = percent_used.iter().find(|p| !(1..=100).contains(*p)) {
            return Err(Refusal::invalid(format!(
                "percent_used {p} is outside 1–100"
            )));
        }
        if let Some(q) = remaining.iter().find(|q| **q > QUANTITY_MAX) {
            return Err(Refusal::invalid(format!("remaining {q} is beyond 2^53")));
        }
        let mut percent_used = percent_used;
        percent_used.sort_unstable();
        percent_used.dedup();
        let mut remaining = remaining;
        remaining.sort_unstable_by(|a, b| b.cmp(a));
        remaining.dedup();
        let alerts = self.alerts.entry(product.id.clone()).or_default();
        let thresholds = percent_used
            .into_iter()
            .map(Threshold::PercentUsed)
            .chain(remaining.into_iter().map(Threshold::Remaining))
            .map(|threshold| {
                alerts.alert_periods += 1;
                ThresholdState {
                    threshold,
                    armed: true,
                    period: alerts.alert_periods,
                }
            })
            .collect();
        alerts.usage_alert = Some(UsageAlert { thresholds });
        Ok(Effects::default())
    }

    /// PLAN-7: removes the usage alert of `product`, if any. Exhaustion (`plan.exhausted`) is
    /// not part of it and goes on.
    pub fn clear_usage_alert(&mut self, product: &Product) -> Effects {
        if let Some(a) = self.alerts.get_mut(&product.id) {
            a.usage_alert = None;
        }
        Effects::default()
    }

    /// PLAN-7: evaluates the usage alert of `product` against `quota`. A threshold out of reach
    /// is re-armed with a new period; with `fire`, an armed one that is reached fires
    /// `plan.usage_alert` and disarms. Several thresholds crossed by one change each fire
    /// (one crossing, one message: NTF-2).
    pub(super) fn check_usage_alert(
        &mut self,
        fx: &mut Effects,
        product: &str,
        quota: ProductQuota,
        fire: bool,
        now: Timestamp,
    ) {
        let Some(alerts) = self.alerts.get_mut(product) else {
            return;
        };
        let Some(alert) = alerts.usage_alert.as_mut() else {
            return;
        };
        let mut crossed = Vec::new();
        for t in &mut alert.thresholds {
            let reached = t.threshold.reached(quota);
            if !reached && !t.armed {
                alerts.alert_periods += 1;
                t.armed = true;
                t.period = alerts.alert_periods;
            } else if reached && t.armed && fire {
                t.armed = false;
                crossed.push(*t);
            }
        }
        let id = self.id.to_string();
        for t in crossed {
            self.emit(
                fx,
                MessageKind::PlanUsageAlert,
                &id,
                &format!("plan_usage_alert:{product}:{}:{}", t.threshold, t.period),
                json!({
                    "product": product,
                    "threshold": t.threshold,
                    "period": t.period,
                    "total": quota.total,
                    "used": quota.used(),
                    "remaining": quota.remaining,
                }),
                now,
            );
        }
    }
}
