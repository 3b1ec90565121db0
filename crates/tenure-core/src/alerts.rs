//! Usage alerts (PLAN-7), expiry reminders (PLAN-8) and plan repurchase (PLAN-9), per account
//! and product.

use crate::account::{AccountPolicy, AccountState, Effects};
use crate::catalog::Catalog;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One product's alert and repurchase settings and what has fired.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductAlerts {
    /// `plan.exhausted` fired for the current period (re-armed when quota grows).
    pub exhausted_fired: bool,
}

impl AccountState {
    /// PLAN-5, PLAN-7: nothing is left in the product's plans: `plan.exhausted`, once per period.
    pub(crate) fn note_quota_exhausted(&mut self, fx: &mut Effects, product: &str, now: Timestamp) {
        let alerts = self.alerts.entry(product.to_string()).or_default();
        if alerts.exhausted_fired {
            return;
        }
        alerts.exhausted_fired = true;
        let id = self.id.to_string();
        let key = format!("exhausted:{product}:{}", self.seq.plan);
        self.emit(
            fx,
            crate::message::MessageKind::PlanExhausted,
            &id,
            &key,
            serde_json::json!({ "product": product }),
            now,
        );
    }

    /// After usage took quota from a product's plans.
    pub(crate) fn after_usage(
        &mut self,
        fx: &mut Effects,
        _catalog: &Catalog,
        product: &str,
        _policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let left: u64 = self
            .plans
            .iter()
            .filter(|p| p.product == product && p.end.is_none())
            .map(|p| p.remaining())
            .sum();
        if left == 0 {
            self.note_quota_exhausted(fx, product, now);
        }
    }

    /// After a product's total quota grew (purchase, renewal, reset): re-arm.
    pub(crate) fn after_quota_added(&mut self, _fx: &mut Effects, product: &str, _now: Timestamp) {
        if let Some(a) = self.alerts.get_mut(product) {
            a.exhausted_fired = false;
        }
    }
}

impl AccountState {
    /// PLAN-8: an expiry reminder for a plan still running.
    pub(crate) fn remind_plan_expiry(
        &mut self,
        fx: &mut Effects,
        plan: crate::ids::PlanId,
        before: crate::span::Span,
        now: Timestamp,
    ) {
        let Some(p) = self.plan(plan) else { return };
        if p.end.is_some() || p.renewed_by.is_some() {
            return;
        }
        let data = serde_json::json!({ "plan": plan, "spec": p.spec, "product": p.product, "expires_at": p.expires_at, "before": before });
        self.emit(
            fx,
            crate::message::MessageKind::PlanExpiring,
            &plan.to_string(),
            &format!("plan_expiring:{plan}:{before}"),
            data,
            now,
        );
    }
}
