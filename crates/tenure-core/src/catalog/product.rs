//! A product: its meters, pay-as-you-go terms, plan specs, editions and their policies.

use super::plan::{PlanAutoRenew, PlanPolicy, PlanSpec};
use super::policy::{Overdue, Payg};
use super::subscription::{Edition, SubscriptionPolicy};
use serde::Serialize;

/// `[[product]]`: one thing a provider sells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    /// What usage is measured in. Meter ids are unique in the whole catalog.
    pub meters: Vec<Meter>,
    /// ACC-6: buying a plan or subscription of this product needs a verified account.
    pub purchase_requires_verified: bool,
    /// OVD-2: overdue impact on the product's plans, pay-as-you-go and editions that set none.
    pub overdue: Overdue,
    /// PAYG-1, PAYG-2: pay-as-you-go terms for the product's meters, if it offers them.
    pub payg: Option<Payg>,
    /// PLAN-3, PLAN-8, PLAN-13 (the defaults when the product has no plans).
    pub plan_policy: PlanPolicy,
    /// PLAN-9: repurchase, where the product allows it.
    pub plan_auto_renew: Option<PlanAutoRenew>,
    /// PLAN-1: the plan specs on sale.
    pub plans: Vec<PlanSpec>,
    /// SUB-*: present exactly when the product has editions.
    pub subscription: Option<SubscriptionPolicy>,
    /// SUB-1: the editions on sale.
    pub editions: Vec<Edition>,
}

/// `[[product.meter]]`: a unit of metered usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meter {
    pub id: String,
    pub name: String,
    /// What one unit is, for people ("message", "e-mail").
    pub unit: String,
}

impl Product {
    pub fn meter(&self, id: &str) -> Option<&Meter> {
        self.meters.iter().find(|m| m.id == id)
    }

    pub fn plan(&self, id: &str) -> Option<&PlanSpec> {
        self.plans.iter().find(|p| p.id == id)
    }

    pub fn edition(&self, id: &str) -> Option<&Edition> {
        self.editions.iter().find(|e| e.id == id)
    }

    /// The plan specs whose plans cover usage of `meter`.
    pub fn plans_covering<'p>(&'p self, meter: &'p str) -> impl Iterator<Item = &'p PlanSpec> {
        self.plans.iter().filter(move |p| p.covers(meter))
    }

    /// OVD-2: the impact in effect for an instance of `edition`, or for the product itself
    /// (plans, pay-as-you-go) when `edition` is `None` or names no edition of it.
    pub fn overdue_for(&self, edition: Option<&str>) -> &Overdue {
        edition
            .and_then(|id| self.edition(id))
            .map_or(&self.overdue, |e| &e.overdue)
    }
}
