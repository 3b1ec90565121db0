//! PLAN-9 plan auto-renewal (repurchase): two independent triggers buy the configured spec, as a
//! new purchase valid from now, paid only from the funds the product's `pay_with` names
//! (coupons and cash by default, never the credit line).
//!
//! - Threshold trigger: usage brings the remaining quota of the product's plans not yet expired
//!   to the threshold or below (≤, as the remaining-quota alert of PLAN-7). One purchase per
//!   crossing: the trigger disarms when it fires, whatever the outcome, and re-arms only when
//!   remaining is found above the threshold again (a purchase, renewal or reset). So a failed
//!   attempt is not retried by further usage.
//! - Expiry trigger: the instant `before_expiry` (10 days) before a plan of the product
//!   expires, a due action ([`DueKind::PlanRepurchase`]) keyed by the expiry instant, so plans
//!   that expire together count once; each expiry instant buys at most once.

use super::ProductQuota;
use crate::account::{AccountPolicy, AccountState, Effects, PaySources};
use crate::catalog::{Catalog, Funding, PlanSpec, Product};
use crate::due::{DueAction, DueKind};
use crate::error::{ErrorCode, Refusal};
use crate::ids::PlanId;
use crate::message::MessageKind;
use crate::plan::{BuyPlan, PlanStatus, merge};
use crate::usage::QUANTITY_MAX;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// PLAN-9: an account's repurchase setting for one product and the state of its triggers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repurchase {
    pub enabled: bool,
    /// The spec bought, one of the product's `plan_auto_renew.specs`.
    pub spec: String,
    /// The threshold trigger fires when remaining ≤ this.
    pub threshold: u64,
    /// CAT-1: the catalog version in force when the setting was last saved, recorded with every
    /// plan it buys.
    pub catalog_version: i64,
    /// The threshold trigger may fire: remaining was above the threshold since it last fired,
    /// or the setting was saved since.
    pub armed: bool,
    /// Arming periods of the threshold trigger so far; part of its notices' key (NTF-2).
    pub period: u32,
    /// Bumped each time repurchase is switched on, so the expiry triggers scheduled then get
    /// fresh due-action keys (a key is scheduled once, forever).
    pub epoch: u32,
    /// Expiry instants whose trigger has run, until they are past: each buys at most once.
    pub expiries_done: Vec<Timestamp>,
}

/// PLAN-9: what made a repurchase attempt, as its notices report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RepurchaseTrigger {
    /// Remaining quota reached the threshold; `period` is the trigger's arming period.
    Threshold {
        threshold: u64,
        remaining: u64,
        period: u32,
    },
    /// Plans of the product expire at `expires_at`.
    Expiry { expires_at: Timestamp },
}

impl RepurchaseTrigger {
    /// The dedup key of the attempt's notice: one per arming period or expiry instant (NTF-2).
    fn key(&self, product: &str) -> String {
        match self {
            RepurchaseTrigger::Threshold { period, .. } => {
                format!("plan_auto_renew:{product}:threshold:{period}")
            }
            RepurchaseTrigger::Expiry { expires_at } => {
                format!("plan_auto_renew:{product}:expiry:{expires_at}")
            }
        }
    }
}

impl AccountState {
    /// PLAN-9: switches repurchase of `product` on or off, with the spec to buy and the
    /// remaining-quota threshold. Refused with `auto_renew_not_allowed` unless the product has
    /// `plan_auto_renew` and lists `spec` (the spec is checked when switching off too, as the
    /// setting is saved either way). `catalog_version` is recorded with the plans it buys.
    ///
    /// Saving it never buys. Switched on, the threshold trigger starts armed (already at or
    /// below the threshold, the next usage buys) and expiry triggers are scheduled for the
    /// product's current plans; for a plan whose trigger instant has passed but which has not
    /// expired, at `now`, as SUB-4 does for auto-renewal enabled late. Switched off, scheduled
    /// triggers find it off and do nothing.
    pub fn set_plan_auto_renew(
        &mut self,
        product: &Product,
        spec: &PlanSpec,
        threshold: u64,
        enabled: bool,
        catalog_version: i64,
        now: Timestamp,
    ) -> Result<Effects, Refusal> {
        let Some(auto) = product.plan_auto_renew.as_ref() else {
            return Err(Refusal::new(
                ErrorCode::AutoRenewNotAllowed,
                format!("{} does not offer plan auto-renewal", product.id),
            ));
        };
        if !auto.allows(&spec.id) {
            return Err(Refusal::new(
                ErrorCode::AutoRenewNotAllowed,
                format!(
                    "{} plans cannot be renewed automatically; {} allows {}",
                    spec.id,
                    product.id,
                    auto.specs.join(", ")
                ),
            ));
        }
        if threshold > QUANTITY_MAX {
            return Err(Refusal::invalid(format!(
                "threshold {threshold} is beyond 2^53"
            )));
        }
        let alerts = self.alerts.entry(product.id.clone()).or_default();
        let r = alerts.repurchase.get_or_insert_with(|| Repurchase {
            enabled: false,
            spec: spec.id.clone(),
            threshold,
            catalog_version,
            armed: false,
            period: 0,
            epoch: 0,
            expiries_done: Vec::new(),
        });
        let switched_on = enabled && !r.enabled;
        r.enabled = enabled;
        r.spec = spec.id.clone();
        r.threshold = threshold;
        r.catalog_version = catalog_version;
        if enabled {
            r.armed = true;
            r.period += 1;
        }
        if switched_on {
            r.epoch += 1;
        }
        let mut fx = Effects::default();
        if switched_on {
            let mut expiries: Vec<Timestamp> = self
                .plans
                .iter()
                .filter(|p| {
                    p.product == product.id
                        && p.end.is_none()
                        && p.renewed_by.is_none()
                        && now < p.expires_at
                })
                .map(|p| p.expires_at)
                .collect();
            expiries.sort_unstable();
            expiries.dedup();
            for expires_at in expiries {
                self.schedule_repurchase_expiry(&mut fx, product, expires_at, true, now);
            }
        }
        Ok(fx)
    }

    /// PLAN-9: schedules the expiry trigger of a plan just bought, when repurchase is on.
    pub(super) fn schedule_repurchase_for_plan(
        &self,
        fx: &mut Effects,
        product: &Product,
        plan: PlanId,
        now: Timestamp,
    ) {
        if let Some(p) = self.plan(plan) {
            self.schedule_repurchase_expiry(fx, product, p.expires_at, false, now);
        }
    }

    /// PLAN-9: schedules the expiry trigger for plans of `product` expiring at `expires_at`,
    /// `before_expiry` ahead, when repurchase is on. A trigger instant already past is moved to
    /// `now` when `late_at_once` (switching on); otherwise (a plan bought with a validity shorter
    /// than `before_expiry`) it is skipped, since triggering at once would buy again at every
    /// purchase.
    fn schedule_repurchase_expiry(
        &self,
        fx: &mut Effects,
        product: &Product,
        expires_at: Timestamp,
        late_at_once: bool,
        now: Timestamp,
    ) {
        let Some(auto) = product.plan_auto_renew.as_ref() else {
            return;
        };
        let Some(r) = self.repurchase(&product.id).filter(|r| r.enabled) else {
            return;
        };
        let Ok(at) = auto.before_expiry.sub_from(expires_at, &self.time_zone()) else {
            return;
        };
        let due_at = match at {
            at if at >= now => at,
            _ if late_at_once && now < expires_at => now,
            _ => return,
        };
        fx.schedule.push(DueAction {
            key: format!(
                "plan_repurchase:{}:{}:{}:{expires_at}",
                self.id, product.id, r.epoch
            ),
            account: self.id.clone(),
            due_at,
            kind: DueKind::PlanRepurchase {
                product: product.id.clone(),
                expires_at,
            },
        });
    }

    /// PLAN-9: the repurchase setting of `product`, on or off.
    pub fn repurchase(&self, product: &str) -> Option<&Repurchase> {
        self.alerts.get(product)?.repurchase.as_ref()
    }

    fn repurchase_mut(&mut self, product: &str) -> Option<&mut Repurchase> {
        self.alerts.get_mut(product)?.repurchase.as_mut()
    }

    /// PLAN-9: re-arms the threshold trigger once remaining is above the threshold again.
    pub(super) fn rearm_repurchase(&mut self, product: &str, quota: ProductQuota) {
        if let Some(r) = self.repurchase_mut(product)
            && r.enabled
            && !r.armed
            && quota.remaining > r.threshold
        {
            r.armed = true;
            r.period += 1;
        }
    }

    /// PLAN-9 threshold trigger, after usage: remaining at or below the threshold and armed
    /// buys once and disarms; above it, re-arms.
    pub(super) fn repurchase_on_threshold(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        product: &str,
        quota: ProductQuota,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        self.rearm_repurchase(product, quota);
        let Some(r) = self.repurchase_mut(product) else {
            return;
        };
        if !r.enabled || !r.armed || quota.remaining > r.threshold {
            return;
        }
        r.armed = false;
        let trigger = RepurchaseTrigger::Threshold {
            threshold: r.threshold,
            remaining: quota.remaining,
            period: r.period,
        };
        self.attempt_repurchase(fx, catalog, product, trigger, policy, now);
    }

    /// PLAN-9 expiry trigger, a due action: buys once per expiry instant if repurchase is still
    /// on and a plan of the product expiring then is still active (in force, not exhausted,
    /// not renewed by PLAN-13: an exhausted plan forfeits nothing, and a renewed one has its
    /// successor). Stale or repeated runs do nothing (TIME-4).
    pub(crate) fn repurchase_before_expiry(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        product: &str,
        expires_at: Timestamp,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        if now >= expires_at {
            return;
        }
        let active = self.plans.iter().any(|p| {
            p.product == product
                && p.expires_at == expires_at
                && p.renewed_by.is_none()
                && p.status(now) == PlanStatus::Active
        });
        let Some(r) = self.repurchase_mut(product) else {
            return;
        };
        r.expiries_done.retain(|t| now < *t);
        if !r.enabled || !active || r.expiries_done.contains(&expires_at) {
            return;
        }
        r.expiries_done.push(expires_at);
        let trigger = RepurchaseTrigger::Expiry { expires_at };
        self.attempt_repurchase(fx, catalog, product, trigger, policy, now);
    }

    /// PLAN-9: one repurchase attempt. Success: the plan is bought and
    /// `plan.auto_renew_succeeded` goes out; failure (funds, overdue, identity, a spec no longer
    /// on sale): nothing is bought and `plan.auto_renew_failed` goes out with the reason.
    fn attempt_repurchase(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        product: &str,
        trigger: RepurchaseTrigger,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let Some(r) = self.repurchase(product) else {
            return;
        };
        let (spec, catalog_version) = (r.spec.clone(), r.catalog_version);
        let id = self.id.to_string();
        let key = trigger.key(product);
        match self.repurchase_plan(catalog, product, &spec, catalog_version, policy, now) {
            Ok((plan, bought)) => {
                merge(fx, bought);
                let price = self.plan(plan).map(|p| p.price);
                self.emit(
                    fx,
                    MessageKind::PlanAutoRenewSucceeded,
                    &id,
                    &key,
                    json!({ "product": product, "spec": spec, "plan": plan, "price": price, "trigger": trigger }),
                    now,
                );
            }
            Err(refusal) => self.emit(
                fx,
                MessageKind::PlanAutoRenewFailed,
                &id,
                &key,
                json!({ "product": product, "spec": spec, "trigger": trigger, "code": refusal.code, "detail": refusal.detail }),
                now,
            ),
        }
    }

    /// PLAN-9: buys `spec` of `product` from the catalog in force, valid from now, paid from the
    /// product's `pay_with` sources only. The fee-operation gates (ACC-6, OVD-2) apply.
    fn repurchase_plan(
        &mut self,
        catalog: &Catalog,
        product: &str,
        spec: &str,
        catalog_version: i64,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(PlanId, Effects), Refusal> {
        let product = catalog
            .product(product)
            .ok_or_else(|| Refusal::not_found(format!("no product {product}")))?;
        let auto = product
            .plan_auto_renew
            .as_ref()
            .filter(|a| a.allows(spec))
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::AutoRenewNotAllowed,
                    format!("{spec} is no longer renewed automatically"),
                )
            })?;
        let plan_spec = product
            .plan(spec)
            .ok_or_else(|| Refusal::not_found(format!("no plan spec {spec}")))?;
        self.check_fee_operation(product)?;
        let sources = PaySources {
            coupon: auto.pay_with.contains(&Funding::Coupon),
            cash: auto.pay_with.contains(&Funding::Cash),
            credit: auto.pay_with.contains(&Funding::CreditLine),
        };
        self.buy_plan_from(
            BuyPlan {
                product,
                spec: plan_spec,
                catalog_version,
                start_at: None,
            },
            None,
            sources,
            policy,
            now,
        )
    }
}
