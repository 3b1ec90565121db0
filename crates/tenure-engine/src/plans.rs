//! Prepaid plans (PLAN-1…13), pay-as-you-go (PAYG-1…4), usage alerts and repurchase (PLAN-7,
//! PLAN-9), reservations (PLAN-10) and service entitlement (OVD-2) as the engine offers them:
//! arguments parsed at the boundary, one account transaction each.

use crate::commands::PAGE_LIMIT_MAX;
use crate::engine::{Engine, Idem};
use crate::error::EngineError;
use crate::views::{
    AccountView, BillView, Page, PlanView, ReservationView, ServiceView, UsageDayView,
    UsageResultView,
};
use tenure_core::account::AccountState;
use tenure_core::catalog::{PlanSpec, Product};
use tenure_core::ids::{AccountId, PlanId, ReservationId};
use tenure_core::plan::BuyPlan;
use tenure_core::usage::UsageOutcome;
use tenure_core::{Refusal, Span, Timestamp};

impl Engine {
    pub(crate) fn product(&self, id: &str) -> Result<&Product, Refusal> {
        self.catalog
            .product(id)
            .ok_or_else(|| Refusal::not_found(format!("no product {id:?}")))
    }

    fn spec(&self, id: &str) -> Result<(&Product, &PlanSpec), Refusal> {
        self.catalog
            .plan_spec(id)
            .ok_or_else(|| Refusal::not_found(format!("no plan spec {id:?}")))
    }

    /// PLAN-2: buys a plan of `spec`, effective now or at `start_at`, under the engine's catalog
    /// version (CAT-1).
    pub fn buy_plan(
        &self,
        account: &AccountId,
        spec: &str,
        start_at: Option<Timestamp>,
        idem: Option<&Idem>,
    ) -> Result<PlanView, EngineError> {
        let (product, spec) = self.spec(spec)?;
        let policy = self.policy.clone();
        let catalog_version = self.catalog_version;
        self.mutate(account, idem, |s, now| {
            let (id, fx) = s.buy_plan(
                BuyPlan {
                    product,
                    spec,
                    catalog_version,
                    start_at,
                },
                &policy,
                now,
            )?;
            Ok((plan_view(s, id, now)?, fx))
        })
    }

    /// Every plan of the account, expired and refunded ones included (PLAN-6), in purchase order.
    pub fn plans(&self, account: &AccountId) -> Result<Vec<PlanView>, EngineError> {
        let state = self.load(account)?;
        let now = self.now();
        Ok(state
            .plans
            .iter()
            .map(|p| PlanView::of(&state, p, now))
            .collect())
    }

    /// One plan of the account.
    pub fn plan(&self, account: &AccountId, plan: PlanId) -> Result<PlanView, EngineError> {
        let state = self.load(account)?;
        Ok(plan_view(&state, plan, self.now())?)
    }

    /// PLAN-12: refunds an unused, unexpired plan whose spec allows it.
    pub fn refund_plan(
        &self,
        account: &AccountId,
        plan: PlanId,
        idem: Option<&Idem>,
    ) -> Result<PlanView, EngineError> {
        let policy = self.policy.clone();
        self.mutate(account, idem, |s, now| {
            let fx = s.refund_plan(plan, &policy, now)?;
            Ok((plan_view(s, plan, now)?, fx))
        })
    }

    /// PLAN-13: renews a plan; answers with the successor.
    pub fn renew_plan(
        &self,
        account: &AccountId,
        plan: PlanId,
        idem: Option<&Idem>,
    ) -> Result<PlanView, EngineError> {
        let policy = self.policy.clone();
        let catalog_version = self.catalog_version;
        self.mutate(account, idem, |s, now| {
            let spec_id = s
                .plan(plan)
                .ok_or_else(|| Refusal::not_found(format!("no plan {plan}")))?
                .spec
                .clone();
            let (product, spec) = self.spec(&spec_id)?;
            let (id, fx) = s.renew_plan(plan, product, spec, catalog_version, &policy, now)?;
            Ok((plan_view(s, id, now)?, fx))
        })
    }

    /// PAYG-1: activates pay-as-you-go for a product.
    pub fn activate_payg(
        &self,
        account: &AccountId,
        product: &str,
        idem: Option<&Idem>,
    ) -> Result<AccountView, EngineError> {
        let product = self.product(product)?;
        self.mutate(account, idem, |s, now| {
            let fx = s.activate_payg(product)?;
            Ok((AccountView::of(s, now), fx))
        })
    }

    /// PLAN-7: sets the usage alert of a product: thresholds of percentage used and/or absolute
    /// remaining quantity.
    pub fn set_usage_alert(
        &self,
        account: &AccountId,
        product: &str,
        percent_used: Vec<u32>,
        remaining: Vec<u64>,
        idem: Option<&Idem>,
    ) -> Result<AccountView, EngineError> {
        let product = self.product(product)?;
        self.mutate(account, idem, |s, now| {
            let fx = s.set_usage_alert(product, percent_used.clone(), remaining.clone())?;
            Ok((AccountView::of(s, now), fx))
        })
    }

    /// PLAN-9: switches plan repurchase of a product on or off, buying `spec` when the remaining
    /// quota reaches `threshold` and before the plans expire.
    pub fn set_plan_auto_renew(
        &self,
        account: &AccountId,
        product: &str,
        spec: &str,
        threshold: u64,
        enabled: bool,
        idem: Option<&Idem>,
    ) -> Result<AccountView, EngineError> {
        let product = self.product(product)?;
        let spec = product.plan(spec).ok_or_else(|| {
            Refusal::not_found(format!("no plan spec {spec:?} in {}", product.id))
        })?;
        let catalog_version = self.catalog_version;
        self.mutate(account, idem, |s, now| {
            let fx =
                s.set_plan_auto_renew(product, spec, threshold, enabled, catalog_version, now)?;
            Ok((AccountView::of(s, now), fx))
        })
    }

    /// PLAN-10: holds `quantity` units of `meter` on the plans in force until now + `timeout`.
    pub fn reserve(
        &self,
        account: &AccountId,
        meter: &str,
        quantity: u64,
        timeout: Span,
        idem: Option<&Idem>,
    ) -> Result<ReservationView, EngineError> {
        let catalog = self.catalog.clone();
        self.mutate(account, idem, |s, now| {
            let (id, fx) = s.reserve(&catalog, meter, quantity, timeout, now)?;
            let r = s
                .reservation(id)
                .ok_or_else(|| Refusal::not_found(format!("no reservation {id}")))?;
            Ok((ReservationView::of(s, r), fx))
        })
    }

    /// PLAN-10: uses `quantity` of a reservation (at most what it holds) and gives the rest back.
    /// Answers like a usage event applied from plans.
    pub fn commit_reservation(
        &self,
        account: &AccountId,
        reservation: ReservationId,
        quantity: u64,
        idem: Option<&Idem>,
    ) -> Result<UsageResultView, EngineError> {
        let catalog = self.catalog.clone();
        let policy = self.policy.clone();
        self.mutate(account, idem, |s, now| {
            let (takes, fx) = s.commit(&catalog, reservation, quantity, &policy, now)?;
            let outcome = UsageOutcome::Applied {
                takes,
                payg_quantity: 0,
                payg_amount: tenure_core::Decimal::ZERO,
            };
            let view =
                UsageResultView::of(&reservation.to_string(), s.id.as_str(), &outcome, false);
            Ok((view, fx))
        })
    }

    /// PLAN-10: gives every held unit of a reservation back.
    pub fn release_reservation(
        &self,
        account: &AccountId,
        reservation: ReservationId,
        idem: Option<&Idem>,
    ) -> Result<ReservationView, EngineError> {
        self.mutate(account, idem, |s, now| {
            let view = s
                .reservation(reservation)
                .map(|r| ReservationView::of(s, r));
            let fx = s.release(reservation, now)?;
            let view =
                view.ok_or_else(|| Refusal::not_found(format!("no reservation {reservation}")))?;
            Ok((view, fx))
        })
    }

    /// OVD-2: may the account use `product` now.
    pub fn service(&self, account: &AccountId, product: &str) -> Result<ServiceView, EngineError> {
        let state = self.load(account)?;
        let status = state.service_status(&self.catalog, product, self.now())?;
        Ok(ServiceView::of(&state, &status))
    }

    /// PAYG-2, PAYG-3: the account's pay-as-you-go bills, oldest first, after the bill sequence
    /// number `after`, with what each still owes.
    pub fn bills(
        &self,
        account: &AccountId,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<BillView>, EngineError> {
        let state = self.load(account)?;
        let limit = limit.clamp(1, PAGE_LIMIT_MAX);
        let after = after.unwrap_or(0);
        let mut rest = state
            .payg
            .bills
            .iter()
            .filter(|b| i64::try_from(b.id.0).is_ok_and(|n| n > after));
        let page: Vec<_> = rest.by_ref().take(limit).collect();
        let next = match rest.next() {
            Some(_) => page.last().map(|b| b.id.0.to_string()),
            None => None,
        };
        let items = page.into_iter().map(|b| BillView::of(&state, b)).collect();
        Ok(Page { items, next })
    }

    /// PAYG-4: usage per day (in the account's zone), product and meter, between two local
    /// dates inclusive, oldest first.
    pub fn usage_stats(
        &self,
        account: &AccountId,
        from: Option<jiff::civil::Date>,
        to: Option<jiff::civil::Date>,
    ) -> Result<Vec<UsageDayView>, EngineError> {
        let state = self.load(account)?;
        let mut days = Vec::new();
        for (key, day) in &state.usage_stats {
            let mut parts = key.splitn(3, '|');
            let (Some(date), Some(product), Some(meter)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(EngineError::Corrupt(format!(
                    "usage statistics key {key:?}"
                )));
            };
            let d: jiff::civil::Date = date.parse().map_err(|e| {
                EngineError::Corrupt(format!("usage statistics date {date:?}: {e}"))
            })?;
            if from.is_some_and(|f| d < f) || to.is_some_and(|t| d > t) {
                continue;
            }
            days.push(UsageDayView {
                date: date.to_string(),
                product: product.to_string(),
                meter: meter.to_string(),
                from_plans: day.from_plans,
                payg_quantity: day.payg_quantity,
                payg_amount: day.payg_amount.normalize().to_string(),
                refused: day.refused,
            });
        }
        Ok(days)
    }
}

fn plan_view(s: &AccountState, id: PlanId, now: Timestamp) -> Result<PlanView, Refusal> {
    let plan = s
        .plan(id)
        .ok_or_else(|| Refusal::not_found(format!("no plan {id}")))?;
    Ok(PlanView::of(s, plan, now))
}
