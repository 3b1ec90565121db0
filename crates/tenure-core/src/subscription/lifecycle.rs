//! The life of an instance: subscribe (SUB-1), the expiry flows (SUB-6) and pay-as-you-go after
//! expiry (SUB-7), idle freeze and continue trial (SUB-9), upgrade (SUB-9), unsubscribe
//! (SUB-10).

use super::machine::SubEvent;
use super::renewal::{check_mode, sub_policy};
use super::{BoughtTerms, RenewalMode, SubStatus, Subscription};
use crate::account::{AccountPolicy, AccountState, AccountStatus, Charge, Effects, PaySources};
use crate::catalog::{Catalog, Edition, ExpiryFlow, OverdueImpact, Product};
use crate::due::DueKind;
use crate::error::{ErrorCode, Refusal};
use crate::ids::SubscriptionId;
use crate::ledger::{Book, Entry};
use crate::payg::{Bill, BillLine};
use crate::plan::merge;
use crate::span::Span;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;

/// SUB-10: how an unsubscribe refund was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnsubscribeRefund {
    /// Cash (and credit line) paid for the current term; coupons are not returned.
    pub cash_paid: Decimal,
    /// Whole hours of the term elapsed, and the term's length in hours.
    pub hours_used: i64,
    pub hours_total: Decimal,
    /// `cash_paid × hours_used ÷ hours_total` (all of it once the term has ended).
    pub used: Decimal,
    /// The handling fee: `unsubscribe_fee_percent` of `cash_paid`.
    pub fee: Decimal,
    /// `cash_paid − used − fee`, rounded half-up once, floored at 0.
    pub refund: Decimal,
}

const SECONDS_PER_HOUR: i64 = 3600;

/// SUB-10: the refund of `sub` at `now` (pure).
fn refund_for(
    sub: &Subscription,
    fee_percent: Decimal,
    currency: crate::Currency,
    now: Timestamp,
) -> UnsubscribeRefund {
    let cash = sub.term_cash;
    let start = sub.term_started_at.as_second();
    let total_seconds = sub.expires_at.map_or(0, |e| e.as_second() - start);
    let hours_used = (now.as_second() - start).max(0) / SECONDS_PER_HOUR;
    let hours_total = Decimal::from(total_seconds.max(0)) / Decimal::from(SECONDS_PER_HOUR);
    let used = if total_seconds <= 0 || hours_used * SECONDS_PER_HOUR >= total_seconds {
        cash
    } else {
        cash * Decimal::from(hours_used * SECONDS_PER_HOUR) / Decimal::from(total_seconds)
    };
    let fee = cash * fee_percent / Decimal::ONE_HUNDRED;
    let refund = currency.round(cash - used - fee).max(Decimal::ZERO);
    UnsubscribeRefund {
        cash_paid: cash,
        hours_used,
        hours_total,
        used,
        fee,
        refund,
    }
}

impl AccountState {
    /// ACC-6 and OVD-2 gates of a fee operation (subscribe, renew, upgrade) on an instance of
    /// `edition`: a verified account where the product requires one, and not overdue unless
    /// the edition's impact is `none`.
    pub fn check_subscription_fee(&self, product: &Product, edition: &str) -> Result<(), Refusal> {
        if product.purchase_requires_verified && !self.verified {
            return Err(Refusal::new(
                ErrorCode::IdentityNotVerified,
                format!(
                    "{} requires a verified identity before purchase",
                    product.id
                ),
            ));
        }
        let impact = product.overdue_for(Some(edition)).impact;
        if self.status() == AccountStatus::Overdue && impact != OverdueImpact::None {
            return Err(Refusal::new(
                ErrorCode::AccountOverdue,
                format!(
                    "the account has unpaid bills ({}); settle them to subscribe, renew or upgrade",
                    self.currency.format(self.unpaid())
                ),
            ));
        }
        Ok(())
    }

    /// SUB-1: subscribes to `edition` of `product`. A paid edition needs a `term` it sells
    /// (`invalid_term`), charged per ACC-4; the instance expires at start + term in the
    /// account's zone (clamped, exclusive). An edition with a trial, subscribed with no term,
    /// starts in `trial` for its length at price 0. A free edition has no term and no expiry.
    /// Gated by ACC-6 and OVD-2 ([`AccountState::check_subscription_fee`]); the mode is checked
    /// as by [`AccountState::set_renewal_mode`].
    #[allow(clippy::too_many_arguments)]
    pub fn subscribe(
        &mut self,
        product: &Product,
        edition: &Edition,
        term: Option<Span>,
        mode: RenewalMode,
        catalog_version: i64,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(SubscriptionId, Effects), Refusal> {
        sub_policy(product)?;
        check_edition_of(product, edition)?;
        self.check_subscription_fee(product, &edition.id)?;
        let terms = BoughtTerms::of(edition);
        let zone = self.time_zone();
        let invalid_term = |detail: String| Refusal::new(ErrorCode::InvalidTerm, detail);
        let (status, trial, expires_at, price) = match (edition.is_free(), edition.trial, term) {
            (true, _, None) => (SubStatus::Active, false, None, Decimal::ZERO),
            (true, _, Some(t)) => {
                return Err(invalid_term(format!(
                    "{} is free: it has no term (got {t})",
                    edition.id
                )));
            }
            (false, Some(length), None) => (
                SubStatus::Trial,
                true,
                Some(length.add_to(now, &zone)?),
                Decimal::ZERO,
            ),
            (false, None, None) => {
                return Err(invalid_term(format!(
                    "{} needs a term ({})",
                    edition.id,
                    allowed_terms(&terms)
                )));
            }
            (false, _, Some(t)) => {
                let price = terms.price_for(t).ok_or_else(|| {
                    invalid_term(format!(
                        "{t} is not a term of {} ({})",
                        edition.id,
                        allowed_terms(&terms)
                    ))
                })?;
                (SubStatus::Active, false, Some(t.add_to(now, &zone)?), price)
            }
        };
        check_mode(&terms, edition.is_free(), mode)?;
        let id = SubscriptionId(self.seq.subscription + 1);
        let mut fx = Effects::default();
        let cash = if price.is_zero() {
            Decimal::ZERO
        } else {
            let (split, charged) = self.charge(
                Charge {
                    product: product.id.clone(),
                    amount: price,
                    sources: PaySources::ALL,
                    kind: "subscription.purchase".into(),
                    data: json!({
                        "subscription": id,
                        "edition": edition.id,
                        "term": term,
                        "expires_at": expires_at,
                    }),
                },
                policy,
                now,
            )?;
            merge(&mut fx, charged);
            split.cash + split.credit
        };
        self.seq.subscription += 1;
        let idle_check_at = if trial || edition.is_free() {
            Some(terms.idle_freeze_after.add_to(now, &zone)?)
        } else {
            None
        };
        self.subscriptions.push(Subscription {
            id,
            product: product.id.clone(),
            edition: edition.id.clone(),
            status,
            status_since: now,
            mode,
            term: if trial { edition.trial } else { term },
            free: edition.is_free(),
            trial,
            started_at: now,
            expires_at,
            paid_total: price,
            refunded: Decimal::ZERO,
            catalog_version,
            terms,
            term_started_at: now,
            term_cash: cash,
            last_activity_at: now,
            idle_check_at,
            reminders_sent: Vec::new(),
            attempt_days: Vec::new(),
            release_warned: false,
            payg_billed_through: None,
            released_at: None,
        });
        if let Some(at) = idle_check_at {
            fx.schedule.push(self.sub_due(
                at,
                DueKind::SubscriptionIdleCheck {
                    sub: id,
                    due_at: at,
                },
            ));
        }
        self.schedule_cycle(&mut fx, product, id, now);
        Ok((id, fx))
    }

    // ---- SUB-6, SUB-7: expiry ---------------------------------------------------------------

    /// SUB-6, SUB-7: the instance reaches `expires_at`: into `payg` in mode
    /// `payg_after_expiry`, else into the product's flow (`stopped` or `grace`), whose next
    /// steps are scheduled from the expiry.
    pub(crate) fn subscription_expiry(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        id: SubscriptionId,
        expires_at: Timestamp,
        now: Timestamp,
    ) {
        let Some(sub) = self.subscription(id) else {
            return;
        };
        if sub.expires_at != Some(expires_at) {
            return;
        }
        let Some(policy) = catalog
            .product(&sub.product)
            .and_then(|p| p.subscription.as_ref())
        else {
            return;
        };
        let zone = self.time_zone();
        let (retention_at, release_at) = match policy.expiry {
            ExpiryFlow::StopThenRelease { release_after } => {
                (None, release_after.add_to(expires_at, &zone).ok())
            }
            ExpiryFlow::GraceRetentionRelease { grace, retention } => {
                let r = grace.add_to(expires_at, &zone).ok();
                (r, r.and_then(|r| retention.add_to(r, &zone).ok()))
            }
        };
        let price_per_day = sub
            .terms
            .payg_price_per_day(policy.prorate_days_per_month, policy.prorate_days_per_year);
        let (event, data) = match (sub.mode, policy.expiry) {
            (RenewalMode::PaygAfterExpiry, _) => (
                SubEvent::ExpirePayg,
                json!({ "at_expiry": true, "price_per_day": price_per_day }),
            ),
            (_, ExpiryFlow::StopThenRelease { .. }) => (
                SubEvent::ExpireStop,
                json!({ "at_expiry": true, "release_at": release_at }),
            ),
            (_, ExpiryFlow::GraceRetentionRelease { .. }) => (
                SubEvent::ExpireGrace,
                json!({ "at_expiry": true, "retention_at": retention_at, "release_at": release_at }),
            ),
        };
        let release_warning_before = policy.release_warning_before;
        let key = expires_at.as_microsecond().to_string();
        let Some(t) = self.fire(fx, id, event, &key, data, now) else {
            return;
        };
        if t.to == SubStatus::Payg {
            if let Some(sub) = self.subscription_mut(id) {
                // The prepaid term is over: nothing of it is refundable any more.
                sub.term_cash = Decimal::ZERO;
            }
            if let Ok(day_end) = Span::days(1).add_to(expires_at, &zone) {
                fx.schedule
                    .push(self.sub_due(day_end, DueKind::SubscriptionPaygDay { sub: id, day_end }));
            }
            return;
        }
        if let Some(at) = retention_at {
            fx.schedule.push(self.sub_due(
                at,
                DueKind::SubscriptionGraceEnd {
                    sub: id,
                    expires_at,
                },
            ));
        }
        let Some(release_at) = release_at else {
            return;
        };
        if let Ok(warn_at) = release_warning_before.sub_from(release_at, &zone)
            && warn_at < release_at
        {
            fx.schedule.push(self.sub_due(
                warn_at.max(now),
                DueKind::SubscriptionReleaseWarning {
                    sub: id,
                    expires_at,
                },
            ));
        }
        fx.schedule.push(self.sub_due(
            release_at,
            DueKind::SubscriptionRelease {
                sub: id,
                expires_at,
            },
        ));
    }

    /// SUB-6: grace after `expires_at` ends; retention (frozen, data kept) begins.
    pub(crate) fn subscription_grace_end(
        &mut self,
        fx: &mut Effects,
        id: SubscriptionId,
        expires_at: Timestamp,
        now: Timestamp,
    ) {
        if self.subscription(id).and_then(|s| s.expires_at) != Some(expires_at) {
            return;
        }
        let key = expires_at.as_microsecond().to_string();
        self.fire(fx, id, SubEvent::GraceEnd, &key, json!({}), now);
    }

    /// SUB-6: `subscription.release_warning`, once per expiry, if still unrenewed.
    pub(crate) fn subscription_release_warning(
        &mut self,
        fx: &mut Effects,
        id: SubscriptionId,
        expires_at: Timestamp,
        now: Timestamp,
    ) {
        let Some(sub) = self.subscription(id) else {
            return;
        };
        if sub.expires_at != Some(expires_at) || sub.release_warned {
            return;
        }
        let key = expires_at.as_microsecond().to_string();
        if self
            .fire(fx, id, SubEvent::ReleaseWarning, &key, json!({}), now)
            .is_some()
            && let Some(sub) = self.subscription_mut(id)
        {
            sub.release_warned = true;
        }
    }

    /// SUB-6: the release after `expires_at`, if still unrenewed: final, data deleted.
    pub(crate) fn subscription_release(
        &mut self,
        fx: &mut Effects,
        id: SubscriptionId,
        expires_at: Timestamp,
        now: Timestamp,
    ) {
        if self.subscription(id).and_then(|s| s.expires_at) != Some(expires_at) {
            return;
        }
        let key = expires_at.as_microsecond().to_string();
        let data = json!({ "reason": "expired" });
        self.fire(fx, id, SubEvent::Release, &key, data, now);
    }

    /// SUB-7: bills the pay-as-you-go day of a converted instance that ends at `day_end`
    /// (one bill, one line, PAYG-3 in part if need be) and schedules the next day.
    pub(crate) fn subscription_payg_day(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        id: SubscriptionId,
        day_end: Timestamp,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let Some(sub) = self.subscription(id) else {
            return;
        };
        if sub.status != SubStatus::Payg || sub.payg_billed_through.is_some_and(|t| t >= day_end) {
            return;
        }
        let Some(sub_policy) = catalog
            .product(&sub.product)
            .and_then(|p| p.subscription.as_ref())
        else {
            return;
        };
        let unit_price = sub.terms.payg_price_per_day(
            sub_policy.prorate_days_per_month,
            sub_policy.prorate_days_per_year,
        );
        let product = sub.product.clone();
        let zone = self.time_zone();
        let day = Span::days(1);
        let (Ok(day_start), Ok(next_end)) =
            (day.sub_from(day_end, &zone), day.add_to(day_end, &zone))
        else {
            return;
        };
        if let Some(sub) = self.subscription_mut(id) {
            sub.payg_billed_through = Some(day_end);
        }
        let amount = unit_price.map_or(Decimal::ZERO, |p| self.currency.round(p));
        if let Some(unit_price) = unit_price
            && amount > Decimal::ZERO
        {
            let line = BillLine {
                meter: format!("subscription:{id}"),
                cycle_start: day_start,
                cycle_end: day_end,
                quantity: 1,
                unit_price,
                amount,
                late: false,
            };
            let data = json!({
                "product": product,
                "subscription": id,
                "cycle_end": day_end,
                "lines": [line],
            });
            match self.issue_bill(&product, amount, data, policy, now) {
                Ok((bill, _, bill_fx)) => {
                    merge(fx, bill_fx);
                    self.payg.bills.push(Bill {
                        id: bill,
                        product: product.clone(),
                        cycle_end: day_end,
                        issued_at: now,
                        lines: vec![line],
                        total: amount,
                    });
                    self.after_bill(fx, bill, now);
                }
                Err(e) => unreachable!("a positive bill is always issued, in part if need be: {e}"),
            }
        }
        fx.schedule.push(self.sub_due(
            next_end,
            DueKind::SubscriptionPaygDay {
                sub: id,
                day_end: next_end,
            },
        ));
    }

    // ---- SUB-9: idle freeze, continue trial, upgrade ----------------------------------------

    /// SUB-9: notes activity of `product`'s instances at `at` (any usage event on a meter of
    /// the product that passes USE-1's checks). A frozen instance's clock is not moved: only
    /// continue trial unfreezes it. State only, no effects.
    pub fn note_subscription_activity(&mut self, product: &str, at: Timestamp) {
        let live = self
            .subscriptions
            .iter_mut()
            .filter(|s| s.product == product && s.is_live() && s.status != SubStatus::Frozen);
        for sub in live {
            sub.last_activity_at = sub.last_activity_at.max(at);
        }
    }

    /// SUB-9: the idle check planned for `due_at`. Idle for `idle_freeze_after` since the last
    /// activity: frozen. Otherwise the check moves to the instant it would be idle.
    pub(crate) fn subscription_idle_check(
        &mut self,
        fx: &mut Effects,
        id: SubscriptionId,
        due_at: Timestamp,
        now: Timestamp,
    ) {
        let zone = self.time_zone();
        let Some(sub) = self.subscription_mut(id) else {
            return;
        };
        if sub.idle_check_at != Some(due_at) {
            return;
        }
        sub.idle_check_at = None;
        if !sub.freezes_when_idle() || !matches!(sub.status, SubStatus::Trial | SubStatus::Active) {
            return;
        }
        let last_activity_at = sub.last_activity_at;
        let Ok(idle_at) = sub.terms.idle_freeze_after.add_to(last_activity_at, &zone) else {
            return;
        };
        if idle_at <= now {
            let key = format!("idle:{}", due_at.as_microsecond());
            let data = json!({ "reason": "idle", "last_activity_at": last_activity_at });
            self.fire(fx, id, SubEvent::IdleFreeze, &key, data, now);
        } else {
            sub.idle_check_at = Some(idle_at);
            fx.schedule.push(self.sub_due(
                idle_at,
                DueKind::SubscriptionIdleCheck {
                    sub: id,
                    due_at: idle_at,
                },
            ));
        }
    }

    /// SUB-9: "continue trial": an idle-frozen trial or free instance runs again (as `trial`
    /// or `active`), its idle clock restarting now. Refused (`invalid_input`) when not frozen.
    pub fn continue_trial(
        &mut self,
        id: SubscriptionId,
        now: Timestamp,
    ) -> Result<Effects, Refusal> {
        let sub = self.subscription_or_not_found(id)?;
        let on = if sub.free {
            SubEvent::ContinueFree
        } else {
            SubEvent::ContinueTrial
        };
        self.require_transition(id, on)?;
        let idle_at = sub.terms.idle_freeze_after.add_to(now, &self.time_zone())?;
        let mut fx = Effects::default();
        if let Some(sub) = self.subscription_mut(id) {
            sub.last_activity_at = now;
            sub.idle_check_at = Some(idle_at);
        }
        let key = format!("continue:{}", now.as_microsecond());
        let data = json!({ "reason": "continue_trial" });
        self.fire(&mut fx, id, on, &key, data, now);
        fx.schedule.push(self.sub_due(
            idle_at,
            DueKind::SubscriptionIdleCheck {
                sub: id,
                due_at: idle_at,
            },
        ));
        Ok(fx)
    }

    /// SUB-9: upgrades a trial or free instance to the paid `edition` of the same product for
    /// `term`, charged per ACC-4; the term starts now; the instance is `active`. Gated as a
    /// purchase (ACC-6, OVD-2). Only trials and free instances (`invalid_input` otherwise);
    /// released or converted ones refuse (`not_renewable`).
    #[allow(clippy::too_many_arguments)]
    pub fn upgrade(
        &mut self,
        product: &Product,
        id: SubscriptionId,
        edition: &Edition,
        term: Span,
        catalog_version: i64,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<Effects, Refusal> {
        let sub = self.subscription_of(product, id)?;
        check_edition_of(product, edition)?;
        if !sub.freezes_when_idle() {
            return Err(Refusal::invalid(format!(
                "subscription {id} is already paid: only a trial or free instance is upgraded; renew it instead"
            )));
        }
        if edition.is_free() {
            return Err(Refusal::invalid(format!(
                "{} is free: an upgrade is to a paid edition",
                edition.id
            )));
        }
        let (from_edition, mode) = (sub.edition.clone(), sub.mode);
        self.require_transition(id, SubEvent::Upgrade)?;
        self.check_subscription_fee(product, &edition.id)?;
        let terms = BoughtTerms::of(edition);
        let price = terms.price_for(term).ok_or_else(|| {
            Refusal::new(
                ErrorCode::InvalidTerm,
                format!(
                    "{term} is not a term of {} ({})",
                    edition.id,
                    allowed_terms(&terms)
                ),
            )
        })?;
        let expires_at = term.add_to(now, &self.time_zone())?;
        let mut fx = Effects::default();
        let (split, charged) = self.charge(
            Charge {
                product: product.id.clone(),
                amount: price,
                sources: PaySources::ALL,
                kind: "subscription.upgrade".into(),
                data: json!({
                    "subscription": id,
                    "from_edition": from_edition,
                    "edition": edition.id,
                    "term": term,
                    "expires_at": expires_at,
                }),
            },
            policy,
            now,
        )?;
        merge(&mut fx, charged);
        let mode = match mode {
            RenewalMode::Auto { period } if !terms.allows_auto_renew(period) => RenewalMode::Manual,
            m => m,
        };
        if let Some(sub) = self.subscription_mut(id) {
            sub.edition = edition.id.clone();
            sub.terms = terms;
            sub.catalog_version = catalog_version;
            sub.mode = mode;
            sub.term = Some(term);
            sub.free = false;
            sub.trial = false;
            sub.expires_at = Some(expires_at);
            sub.term_started_at = now;
            sub.term_cash = split.cash + split.credit;
            sub.paid_total += price;
            sub.idle_check_at = None;
            sub.new_cycle();
        }
        let key = format!("upgrade:{}", now.as_microsecond());
        let data = json!({
            "reason": "upgrade",
            "from_edition": from_edition,
            "term": term,
            "amount": price,
        });
        self.fire(&mut fx, id, SubEvent::Upgrade, &key, data, now);
        self.schedule_cycle(&mut fx, product, id, now);
        Ok(fx)
    }

    // ---- SUB-10 -------------------------------------------------------------------------------

    /// SUB-10: unsubscribes: refunds the cash paid for the current term less its used share
    /// (whole hours) and the handling fee, floored at 0 (coupons are not returned), journaled
    /// Revenue(product) → Cash; the instance is released at once (`subscription.released`).
    pub fn unsubscribe(
        &mut self,
        product: &Product,
        id: SubscriptionId,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(UnsubscribeRefund, Effects), Refusal> {
        let sub = self.subscription_of(product, id)?;
        self.require_transition(id, SubEvent::Unsubscribe)?;
        let fee_percent = sub_policy(product)?.unsubscribe_fee_percent;
        let refund = refund_for(sub, fee_percent, self.currency, now);
        let mut fx = Effects::default();
        if refund.refund > Decimal::ZERO {
            let unit = self.currency.code().to_string();
            self.post_entries(
                &mut fx,
                now,
                "subscription.refund",
                vec![
                    Entry {
                        book: Book::Revenue(product.id.clone()),
                        unit: unit.clone(),
                        amount: -refund.refund,
                    },
                    Entry {
                        book: Book::Cash,
                        unit,
                        amount: refund.refund,
                    },
                ],
                json!({ "subscription": id, "refund": refund }),
            );
        }
        if let Some(sub) = self.subscription_mut(id) {
            sub.refunded += refund.refund;
            sub.term_cash = Decimal::ZERO;
            sub.idle_check_at = None;
        }
        let data = json!({ "reason": "unsubscribed", "refund": refund.refund });
        self.fire(&mut fx, id, SubEvent::Unsubscribe, "unsubscribe", data, now);
        self.after_balance_change(&mut fx, policy, now);
        Ok((refund, fx))
    }
}

/// `not_found` unless `edition` is one of `product`'s.
fn check_edition_of(product: &Product, edition: &Edition) -> Result<(), Refusal> {
    if product.edition(&edition.id).is_none() {
        return Err(Refusal::not_found(format!(
            "{} has no edition {:?}",
            product.id, edition.id
        )));
    }
    Ok(())
}

/// The terms on sale, for refusals ("1–9 months, 1–3 years").
fn allowed_terms(terms: &BoughtTerms) -> String {
    let list = |v: &[u32], unit: &str| {
        (!v.is_empty()).then(|| {
            let items: Vec<String> = v.iter().map(u32::to_string).collect();
            format!("{} {unit}", items.join("/"))
        })
    };
    let parts: Vec<String> = [
        list(&terms.term_months, "months"),
        list(&terms.term_years, "years"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "no terms on sale".into()
    } else {
        format!("terms: {}", parts.join(", "))
    }
}
