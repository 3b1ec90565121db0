//! Usage alerts (PLAN-7), exhaustion (PLAN-5, PLAN-7), expiry reminders (PLAN-8) and plan
//! repurchase (PLAN-9), per account and product.
//!
//! Everything here watches one number pair per product, [`ProductQuota`]: the quota of the
//! product's plans not yet expired (exhausted and pending ones included) and what of it is left.
//! Three hooks feed it, called by the plan and usage code:
//! - [`AccountState::after_usage`]: usage took quota. Alerts fire, exhaustion fires, the
//!   repurchase threshold may buy.
//! - [`AccountState::after_quota_added`]: total quota grew (purchase, renewal, reset). Whatever
//!   the new total puts back out of reach is re-armed; nothing fires.
//! - [`AccountState::after_plan_bought`]: a plan was bought; re-arms as above and schedules the
//!   repurchase expiry trigger for it.
//!
//! *Invariant:* a settings command (`set_usage_alert`, `set_plan_auto_renew`) never notifies and
//! never buys; only usage and due actions do.
//! *Invariant:* every message here is keyed by (rule, product, threshold, arming period), and an
//! arming period number is never reused for a product (NTF-2: one crossing, one message).

mod repurchase;
mod usage_alert;

pub use repurchase::{Repurchase, RepurchaseTrigger};
pub use usage_alert::{Threshold, ThresholdState, USAGE_ALERT_THRESHOLDS_MAX, UsageAlert};

use crate::account::{AccountPolicy, AccountState, Effects};
use crate::catalog::{Catalog, Product};
use crate::ids::PlanId;
use crate::message::MessageKind;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One product's alert and repurchase settings and what has fired.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductAlerts {
    /// PLAN-5, PLAN-7: `plan.exhausted` fired for the current period (re-armed when quota grows).
    pub exhausted_fired: bool,
    /// PLAN-7: the exhaustion period, bumped at every re-arm; part of the notice's key (NTF-2).
    #[serde(default)]
    pub exhausted_period: u32,
    /// PLAN-7: the usage alert, if the account set one.
    #[serde(default)]
    pub usage_alert: Option<UsageAlert>,
    /// PLAN-7: arming periods handed out to usage-alert thresholds so far. Kept when the alert
    /// is cleared or replaced, so a period number is never reused (NTF-2).
    #[serde(default)]
    pub alert_periods: u32,
    /// PLAN-9: the repurchase setting, once the account set one (on or off).
    #[serde(default)]
    pub repurchase: Option<Repurchase>,
}

/// PLAN-7: a product's quota over its plans not yet expired: exhausted and pending plans
/// included, expired and refunded ones not. A resetting plan counts with its current period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProductQuota {
    pub total: u64,
    /// What new usage could still take (reserved units are not part of it).
    pub remaining: u64,
}

impl ProductQuota {
    /// Quota taken: consumed, or held by a reservation, in the current periods.
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.remaining)
    }
}

impl AccountState {
    /// PLAN-7: the quota of `product`'s plans not yet expired at `now`.
    pub fn product_quota(&self, product: &str, now: Timestamp) -> ProductQuota {
        self.plans
            .iter()
            .filter(|p| p.product == product && p.end.is_none() && now < p.expires_at)
            .fold(ProductQuota::default(), |q, p| ProductQuota {
                total: q.total + p.quota,
                remaining: q.remaining + p.remaining(),
            })
    }

    /// PLAN-5, PLAN-7: nothing is left in the product's plans: `plan.exhausted`, once per
    /// validity or reset period (re-armed by [`Self::after_quota_added`]).
    pub(crate) fn note_quota_exhausted(&mut self, fx: &mut Effects, product: &str, now: Timestamp) {
        let alerts = self.alerts.entry(product.to_string()).or_default();
        if alerts.exhausted_fired {
            return;
        }
        alerts.exhausted_fired = true;
        let period = alerts.exhausted_period;
        let id = self.id.to_string();
        self.emit(
            fx,
            MessageKind::PlanExhausted,
            &id,
            &format!("plan_exhausted:{product}:{period}"),
            json!({ "product": product, "period": period }),
            now,
        );
    }

    /// After usage took quota from a product's plans: PLAN-7 alerts that usage reached fire
    /// (and those found out of reach are re-armed), then exhaustion, then the PLAN-9 threshold
    /// trigger. In that order, so a customer reads "100 left", then "renewed".
    pub(crate) fn after_usage(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        product: &str,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let quota = self.product_quota(product, now);
        if quota.total == 0 {
            return;
        }
        self.check_usage_alert(fx, product, quota, true, now);
        if quota.remaining == 0 {
            self.note_quota_exhausted(fx, product, now);
        }
        self.repurchase_on_threshold(fx, catalog, product, quota, policy, now);
    }

    /// After a product's total quota grew (purchase, renewal, reset): every PLAN-7 threshold
    /// the new total puts back out of reach is re-armed, exhaustion is re-armed for a new period,
    /// and the PLAN-9 threshold trigger is re-armed if remaining rose above it. Nothing fires.
    pub(crate) fn after_quota_added(&mut self, fx: &mut Effects, product: &str, now: Timestamp) {
        let quota = self.product_quota(product, now);
        if let Some(a) = self.alerts.get_mut(product)
            && a.exhausted_fired
            && quota.remaining > 0
        {
            a.exhausted_fired = false;
            a.exhausted_period += 1;
        }
        self.check_usage_alert(fx, product, quota, false, now);
        self.rearm_repurchase(product, quota);
    }

    /// After a plan of `product` was bought (a purchase, a renewal or a repurchase): re-arm as
    /// [`Self::after_quota_added`] does, and schedule the PLAN-9 expiry trigger for it when
    /// repurchase is on.
    pub(crate) fn after_plan_bought(
        &mut self,
        fx: &mut Effects,
        product: &Product,
        plan: PlanId,
        now: Timestamp,
    ) {
        self.after_quota_added(fx, &product.id, now);
        self.schedule_repurchase_for_plan(fx, product, plan, now);
    }
}

impl AccountState {
    /// PLAN-8: an expiry reminder (`plan.expiring`) `before` a plan expires, scheduled at
    /// purchase for each span of the product's `expiry_reminders` that is still ahead. Nothing
    /// for a plan that ended (expired, refunded) or was renewed (PLAN-13): its successor carries
    /// on, so there is nothing to remind of. The notice at expiry itself is `plan.expired`,
    /// sent by the expiry (PLAN-6) when the product's `remind_at_expiry` is on.
    pub(crate) fn remind_plan_expiry(
        &mut self,
        fx: &mut Effects,
        plan: PlanId,
        before: crate::span::Span,
        now: Timestamp,
    ) {
        let Some(p) = self.plan(plan) else { return };
        if p.end.is_some() || p.renewed_by.is_some() {
            return;
        }
        let data = json!({ "plan": plan, "spec": p.spec, "product": p.product, "expires_at": p.expires_at, "before": before });
        self.emit(
            fx,
            MessageKind::PlanExpiring,
            &plan.to_string(),
            &format!("plan_expiring:{plan}:{before}"),
            data,
            now,
        );
    }
}
