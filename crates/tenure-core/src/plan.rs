//! Prepaid resource plans: purchase (PLAN-1, PLAN-2), the deduction order (PLAN-3, PLAN-4),
//! expiry (PLAN-6), resetting periods (PLAN-11), refund (PLAN-12) and renewal (PLAN-13).
//!
//! Quota conservation (PLAN-6) holds for every plan after every command:
//! `bought = consumed + expired + remaining + reserved`, where `bought` grows by the quota at
//! purchase and at every reset of a resetting plan. [`Plan::assert_conserved`] checks it.

use crate::account::{AccountPolicy, AccountState, Charge, Effects, PaySources};
use crate::catalog::{Overflow, PlanKind, PlanSource, PlanSpec, Product};
use crate::due::{DueAction, DueKind};
use crate::error::{ErrorCode, Refusal};
use crate::ids::{CouponId, PlanId};
use crate::ledger::{Book, Entry, QUOTA_UNIT};
use crate::message::MessageKind;
use crate::span::next_boundary;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How a plan ended before or at its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanEnd {
    Expired,
    Refunded,
}

/// A plan as the scenario format and the API name its state (`expect_plan status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Pending,
    Active,
    Exhausted,
    Expired,
    Refunded,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::Active => "active",
            PlanStatus::Exhausted => "exhausted",
            PlanStatus::Expired => "expired",
            PlanStatus::Refunded => "refunded",
        }
    }
}

/// One bought plan, with the terms it was bought under (CAT-1) and its quota counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    pub spec: String,
    pub product: String,
    pub meters: Vec<String>,
    pub quota: u64,
    pub kind: PlanKind,
    pub source: PlanSource,
    /// PLAN-3: the rank of `source` in the product's order when bought (0 first).
    pub source_rank: u32,
    pub overflow: Overflow,
    pub refundable: bool,
    pub price: Decimal,
    /// How it was paid: the coupon part is never returned by a refund (PLAN-12).
    pub paid_coupon: Option<(CouponId, Decimal)>,
    /// Paid from cash and credit line.
    pub paid_cash: Decimal,
    pub catalog_version: i64,
    pub purchased_at: Timestamp,
    pub effective_at: Timestamp,
    /// Exclusive: usable until this instant, not at it.
    pub expires_at: Timestamp,
    pub bought: u64,
    pub consumed: u64,
    pub reserved: u64,
    pub expired: u64,
    /// The current period: the whole validity (aggregate) or the current reset cycle.
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub end: Option<PlanEnd>,
    /// PLAN-13: the plan this one renews, and the one that renewed this one.
    pub renewal_of: Option<PlanId>,
    pub renewed_by: Option<PlanId>,
}

impl Plan {
    /// What new usage could still take: bought − consumed − reserved − expired.
    pub fn remaining(&self) -> u64 {
        self.bought - self.consumed - self.reserved - self.expired
    }

    pub fn status(&self, now: Timestamp) -> PlanStatus {
        match self.end {
            Some(PlanEnd::Expired) => PlanStatus::Expired,
            Some(PlanEnd::Refunded) => PlanStatus::Refunded,
            None if now < self.effective_at => PlanStatus::Pending,
            None if self.remaining() == 0 => PlanStatus::Exhausted,
            None => PlanStatus::Active,
        }
    }

    /// Whether the plan is in force at `at`: not ended, effective, not expired (PLAN-4: a plan
    /// never covers usage from before it took effect).
    pub fn in_force(&self, at: Timestamp) -> bool {
        self.end.is_none() && self.effective_at <= at && at < self.expires_at
    }

    /// Whether usage of `meter` at `at` can be taken from this plan's current period.
    pub fn covers(&self, meter: &str, at: Timestamp) -> bool {
        self.in_force(at)
            && self.period_start <= at
            && at < self.period_end
            && self.meters.iter().any(|m| m == meter)
    }

    /// PLAN-6: asserts quota conservation.
    pub fn assert_conserved(&self) {
        assert_eq!(
            self.bought,
            self.consumed + self.expired + self.reserved + self.remaining(),
            "quota conservation broken for {}",
            self.id
        );
    }

    /// PLAN-3: the deduction key: source, then end of the current period (expiry, or the
    /// current cycle's end for a resetting plan), then effective instant, then purchase order.
    pub fn deduction_key(&self) -> (u32, Timestamp, Timestamp, PlanId) {
        (
            self.source_rank,
            self.period_end.min(self.expires_at),
            self.effective_at,
            self.id,
        )
    }
}

/// One plan's share of a deduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Take {
    pub plan: PlanId,
    pub quantity: u64,
}

/// PLAN-3, PLAN-4: splits `quantity` of `meter` used at `at` across `plans`; returns the takes
/// and what no plan could cover. A pure function: the same inputs give the same split, always.
pub fn split(plans: &[Plan], meter: &str, quantity: u64, at: Timestamp) -> (Vec<Take>, u64) {
    let mut order: Vec<&Plan> = plans
        .iter()
        .filter(|p| p.covers(meter, at) && p.remaining() > 0)
        .collect();
    order.sort_by_key(|p| p.deduction_key());
    let mut left = quantity;
    let mut takes = Vec::new();
    for p in order {
        if left == 0 {
            break;
        }
        let q = p.remaining().min(left);
        takes.push(Take {
            plan: p.id,
            quantity: q,
        });
        left -= q;
    }
    (takes, left)
}

/// The arguments of a purchase, parsed at the boundary.
#[derive(Debug, Clone)]
pub struct BuyPlan<'c> {
    pub product: &'c Product,
    pub spec: &'c PlanSpec,
    pub catalog_version: i64,
    /// A later start (PLAN-2); `None` for now.
    pub start_at: Option<Timestamp>,
}

impl AccountState {
    pub fn plan(&self, id: PlanId) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    pub(crate) fn plan_mut(&mut self, id: PlanId) -> Option<&mut Plan> {
        self.plans.iter_mut().find(|p| p.id == id)
    }

    /// ACC-6 and OVD-2 gates of any fee operation on `product` (buying, renewing).
    pub fn check_fee_operation(&self, product: &Product) -> Result<(), Refusal> {
        if product.purchase_requires_verified && !self.verified {
            return Err(Refusal::new(
                ErrorCode::IdentityNotVerified,
                format!(
                    "{} requires a verified identity before purchase",
                    product.id
                ),
            ));
        }
        self.check_not_overdue_for(product)
    }

    /// OVD-2: while overdue, products whose impact is anything but `none` refuse fee
    /// operations. (`block_fee_operations` says so; for `stop_after` and `stop_immediately` a
    /// real billing center refuses new purchases too until the debt is settled.)
    pub fn check_not_overdue_for(&self, product: &Product) -> Result<(), Refusal> {
        use crate::catalog::OverdueImpact;
        if self.status() == crate::account::AccountStatus::Overdue
            && product.overdue.impact != OverdueImpact::None
        {
            return Err(Refusal::new(
                ErrorCode::AccountOverdue,
                format!(
                    "the account has unpaid bills ({}); settle them to buy or renew",
                    self.currency.format(self.unpaid())
                ),
            ));
        }
        Ok(())
    }

    /// PLAN-2: buys a plan, paid per ACC-4, effective at purchase or `start_at`, expiring at
    /// start + validity in the account's zone. Never extends another plan.
    pub fn buy_plan(
        &mut self,
        req: BuyPlan<'_>,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(PlanId, Effects), Refusal> {
        self.check_fee_operation(req.product)?;
        let start = match req.start_at {
            Some(s) if s < now => return Err(Refusal::invalid("start_at must not be in the past")),
            Some(s) => s,
            None => now,
        };
        let req = BuyPlan {
            start_at: Some(start),
            ..req
        };
        self.buy_plan_from(req, None, PaySources::ALL, policy, now)
    }

    /// The purchase itself, shared by buying, renewing (PLAN-13) and repurchase (PLAN-9, which
    /// pays from `sources` only), effective at `req.start_at` (already checked) or now.
    pub(crate) fn buy_plan_from(
        &mut self,
        req: BuyPlan<'_>,
        renewal_of: Option<PlanId>,
        sources: PaySources,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(PlanId, Effects), Refusal> {
        let start = req.start_at.unwrap_or(now);
        let zone = self.time_zone();
        let expires_at = req.spec.validity.add_to(start, &zone)?;
        let period_end = match req.spec.kind {
            PlanKind::Aggregate => expires_at,
            PlanKind::Resetting { reset } => {
                next_boundary(start, reset.span_unit(), &zone)?.min(expires_at)
            }
        };
        let id = PlanId(self.seq.plan + 1);
        let mut fx = Effects::default();
        let (paid_coupon, paid_cash) = if req.spec.price.is_zero() {
            (None, Decimal::ZERO)
        } else {
            let (split, charged) = self.charge(
                Charge {
                    product: req.product.id.clone(),
                    amount: req.spec.price,
                    sources,
                    kind: if renewal_of.is_some() {
                        "plan.renewal".into()
                    } else {
                        "plan.purchase".into()
                    },
                    data: json!({ "plan": id, "spec": req.spec.id }),
                },
                policy,
                now,
            )?;
            merge(&mut fx, charged);
            (split.coupon, split.cash + split.credit)
        };
        self.seq.plan += 1;
        let plan = Plan {
            id,
            spec: req.spec.id.clone(),
            product: req.product.id.clone(),
            meters: req.spec.meters.clone(),
            quota: req.spec.quota,
            kind: req.spec.kind,
            source: req.spec.source,
            source_rank: req.product.plan_policy.source_rank(req.spec.source) as u32,
            overflow: req.spec.overflow,
            refundable: req.spec.refundable,
            price: req.spec.price,
            paid_coupon,
            paid_cash,
            catalog_version: req.catalog_version,
            purchased_at: now,
            effective_at: start,
            expires_at,
            bought: req.spec.quota,
            consumed: 0,
            reserved: 0,
            expired: 0,
            period_start: start,
            period_end,
            end: None,
            renewal_of,
            renewed_by: None,
        };
        self.post_quota(
            &mut fx,
            now,
            "plan.quota_issued",
            vec![
                (Book::QuotaIssued, -(plan.quota as i64)),
                (Book::Plan(id), plan.quota as i64),
            ],
            json!({ "plan": id }),
        );
        self.schedule_plan_actions(&mut fx, &plan, req.product);
        self.plans.push(plan);
        if let Some(old) = renewal_of.and_then(|o| self.plan_mut(o)) {
            old.renewed_by = Some(id);
        }
        self.after_plan_bought(&mut fx, req.product, id, now);
        Ok((id, fx))
    }

    /// Expiry, the first reset and the expiry reminders of a new plan.
    fn schedule_plan_actions(&self, fx: &mut Effects, plan: &Plan, product: &Product) {
        let acct = &self.id;
        fx.schedule.push(DueAction {
            key: format!("plan_expiry:{acct}:{}", plan.id),
            account: acct.clone(),
            due_at: plan.expires_at,
            kind: DueKind::PlanExpiry { plan: plan.id },
        });
        if matches!(plan.kind, PlanKind::Resetting { .. }) && plan.period_end < plan.expires_at {
            fx.schedule.push(reset_action(acct, plan));
        }
        let zone = self.time_zone();
        for before in &product.plan_policy.expiry_reminders {
            if let Ok(at) = before.sub_from(plan.expires_at, &zone)
                && at >= plan.purchased_at
            {
                fx.schedule.push(DueAction {
                    key: format!("plan_reminder:{acct}:{}:{before}", plan.id),
                    account: acct.clone(),
                    due_at: at,
                    kind: DueKind::PlanReminder {
                        plan: plan.id,
                        before: *before,
                    },
                });
            }
        }
    }

    /// PLAN-6: at expiry the rest is forfeited and recorded; the plan stays queryable.
    pub(crate) fn expire_plan(
        &mut self,
        fx: &mut Effects,
        id: PlanId,
        remind: bool,
        now: Timestamp,
    ) {
        let Some(plan) = self.plan_mut(id) else {
            return;
        };
        if plan.end.is_some() || now < plan.expires_at {
            return;
        }
        let forfeited = plan.remaining() + plan.reserved;
        plan.expired += forfeited;
        plan.reserved = 0;
        plan.end = Some(PlanEnd::Expired);
        plan.assert_conserved();
        let product = plan.product.clone();
        let spec = plan.spec.clone();
        self.drop_reserved_on_plan(id, now);
        if forfeited > 0 {
            self.post_quota(
                fx,
                now,
                "plan.expired",
                vec![
                    (Book::Plan(id), -(forfeited as i64)),
                    (Book::QuotaForfeited, forfeited as i64),
                ],
                json!({ "plan": id, "forfeited": forfeited }),
            );
        }
        let data = json!({ "plan": id, "spec": spec, "product": product, "forfeited": forfeited });
        if remind {
            self.emit(
                fx,
                MessageKind::PlanExpired,
                &id.to_string(),
                &format!("plan_expired:{id}"),
                data,
                now,
            );
        } else {
            self.emit_event_only(
                fx,
                MessageKind::PlanExpired,
                &id.to_string(),
                &format!("plan_expired:{id}"),
                data,
                now,
            );
        }
    }

    /// PLAN-11: at the end of a resetting plan's period the rest is forfeited and the full quota
    /// comes back for the next period; nothing carries over.
    pub(crate) fn reset_plan(
        &mut self,
        fx: &mut Effects,
        id: PlanId,
        period_end: Timestamp,
        now: Timestamp,
    ) {
        let zone = self.time_zone();
        let acct = self.id.clone();
        let Some(plan) = self.plan_mut(id) else {
            return;
        };
        let PlanKind::Resetting { reset } = plan.kind else {
            return;
        };
        if plan.end.is_some() || plan.period_end != period_end || period_end >= plan.expires_at {
            return;
        }
        let forfeited = plan.remaining();
        plan.expired += forfeited;
        plan.bought += plan.quota;
        plan.period_start = period_end;
        plan.period_end = next_boundary(period_end, reset.span_unit(), &zone)
            .map_or(plan.expires_at, |b| b.min(plan.expires_at));
        plan.assert_conserved();
        let quota = plan.quota;
        let next = (plan.period_end < plan.expires_at).then(|| reset_action(&acct, plan));
        let product = plan.product.clone();
        self.post_quota(
            fx,
            now,
            "plan.reset",
            vec![
                (Book::Plan(id), quota as i64 - forfeited as i64),
                (Book::QuotaForfeited, forfeited as i64),
                (Book::QuotaIssued, -(quota as i64)),
            ],
            json!({ "plan": id, "forfeited": forfeited, "period_start": period_end }),
        );
        fx.schedule.extend(next);
        self.after_quota_added(fx, &product, now);
    }

    /// PLAN-12: refunds an unused, unexpired plan whose spec allows it, whole: the cash paid
    /// goes back to the balance; a coupon's part is not returned.
    pub fn refund_plan(
        &mut self,
        id: PlanId,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<Effects, Refusal> {
        let plan = self
            .plan(id)
            .ok_or_else(|| Refusal::not_found(format!("no plan {id}")))?;
        if !plan.refundable {
            return Err(Refusal::new(
                ErrorCode::NotRefundable,
                format!("{} plans are not refundable", plan.spec),
            ));
        }
        if plan.end.is_some() || now >= plan.expires_at || plan.consumed > 0 || plan.reserved > 0 {
            return Err(Refusal::new(
                ErrorCode::NotRefundable,
                format!(
                    "plan {id} is used, expired or refunded: only an unused, unexpired plan is refunded"
                ),
            ));
        }
        let (cash, product, remaining) = (plan.paid_cash, plan.product.clone(), plan.remaining());
        let mut fx = Effects::default();
        let unit = self.currency.code().to_string();
        if !cash.is_zero() {
            self.post_entries(
                &mut fx,
                now,
                "plan.refund",
                vec![
                    Entry {
                        book: Book::Revenue(product.clone()),
                        unit: unit.clone(),
                        amount: -cash,
                    },
                    Entry {
                        book: Book::Cash,
                        unit,
                        amount: cash,
                    },
                ],
                json!({ "plan": id, "refunded": cash }),
            );
        }
        self.post_quota(
            &mut fx,
            now,
            "plan.refund_quota",
            vec![
                (Book::Plan(id), -(remaining as i64)),
                (Book::QuotaForfeited, remaining as i64),
            ],
            json!({ "plan": id }),
        );
        if let Some(p) = self.plan_mut(id) {
            p.expired += remaining;
            p.end = Some(PlanEnd::Refunded);
            p.assert_conserved();
        }
        self.after_balance_change(&mut fx, policy, now);
        Ok(fx)
    }

    /// PLAN-13: buys a successor of the same spec, valid from the end of the chain (so renewing
    /// late gains no days), with the full quota. Allowed before expiry and during the grace and
    /// retention window after it; then `not_renewable`.
    pub fn renew_plan(
        &mut self,
        id: PlanId,
        product: &Product,
        spec: &PlanSpec,
        catalog_version: i64,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(PlanId, Effects), Refusal> {
        let mut last = self
            .plan(id)
            .ok_or_else(|| Refusal::not_found(format!("no plan {id}")))?;
        if last.end == Some(PlanEnd::Refunded) {
            return Err(Refusal::new(
                ErrorCode::NotRenewable,
                format!("plan {id} was refunded"),
            ));
        }
        while let Some(next) = last.renewed_by.and_then(|n| self.plan(n)) {
            last = next;
        }
        let zone = self.time_zone();
        let window_end = product.plan_policy.renewal_retention.add_to(
            product
                .plan_policy
                .renewal_grace
                .add_to(last.expires_at, &zone)?,
            &zone,
        )?;
        if now >= window_end {
            return Err(Refusal::new(
                ErrorCode::NotRenewable,
                format!(
                    "plan {} expired and its renewal window closed at {window_end}; buy a new plan",
                    last.id
                ),
            ));
        }
        self.check_fee_operation(product)?;
        let (start, of) = (last.expires_at, last.id);
        self.buy_plan_from(
            BuyPlan {
                product,
                spec,
                catalog_version,
                start_at: Some(start),
            },
            Some(of),
            PaySources::ALL,
            policy,
            now,
        )
    }

    /// Posts a quota movement (unit [`QUOTA_UNIT`]).
    pub(crate) fn post_quota(
        &mut self,
        fx: &mut Effects,
        at: Timestamp,
        kind: &str,
        moves: Vec<(Book, i64)>,
        data: serde_json::Value,
    ) {
        let entries = moves
            .into_iter()
            .filter(|(_, q)| *q != 0)
            .map(|(book, q)| Entry {
                book,
                unit: QUOTA_UNIT.to_string(),
                amount: Decimal::from(q),
            })
            .collect::<Vec<_>>();
        if !entries.is_empty() {
            self.post_entries(fx, at, kind, entries, data);
        }
    }
}

fn reset_action(acct: &crate::ids::AccountId, plan: &Plan) -> DueAction {
    DueAction {
        key: format!(
            "plan_reset:{acct}:{}:{}",
            plan.id,
            plan.period_end.as_second()
        ),
        account: acct.clone(),
        due_at: plan.period_end,
        kind: DueKind::PlanReset {
            plan: plan.id,
            period_end: plan.period_end,
        },
    }
}

/// Appends one decision's effects to another's.
pub fn merge(into: &mut Effects, from: Effects) {
    into.journal.extend(from.journal);
    into.messages.extend(from.messages);
    into.schedule.extend(from.schedule);
}
