//! Renewal: modes (SUB-2), expiry reminders (SUB-2), quotes and manual renewal (SUB-3), the
//! common renewal day (SUB-5) and auto-renewal attempts (SUB-4).

use super::machine::{SubEvent, transition};
use super::{BoughtTerms, RenewalMode, SubStatus};
use crate::account::{AccountPolicy, AccountState, Charge, Effects, PaySources};
use crate::catalog::{Catalog, Funding, Product, SubscriptionPolicy};
use crate::due::DueKind;
use crate::error::{ErrorCode, Refusal};
use crate::ids::SubscriptionId;
use crate::plan::merge;
use crate::span::{Span, SpanUnit};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;

/// SUB-5: a common renewal day: a day of the month from 1 to [`CoTermDay::DAY_MAX`], or the
/// month's last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoTermDay {
    Day(u8),
    Last,
}

impl CoTermDay {
    /// The last numbered day allowed: every month has it.
    pub const DAY_MAX: u8 = 28;

    /// Parses `"1"`…`"28"` or `"last"`; anything else is `invalid_input`.
    pub fn parse(text: &str) -> Result<CoTermDay, Refusal> {
        let t = text.trim();
        if t == "last" {
            return Ok(CoTermDay::Last);
        }
        match t.parse::<i64>() {
            Ok(n) => CoTermDay::from_number(n),
            Err(_) => Err(Refusal::invalid(format!(
                "co_term_day {text:?} is neither a day from 1 to {} nor \"last\"",
                CoTermDay::DAY_MAX
            ))),
        }
    }

    /// A numbered day, 1 to [`CoTermDay::DAY_MAX`]; `invalid_input` otherwise.
    pub fn from_number(n: i64) -> Result<CoTermDay, Refusal> {
        match u8::try_from(n) {
            Ok(d) if (1..=CoTermDay::DAY_MAX).contains(&d) => Ok(CoTermDay::Day(d)),
            _ => Err(Refusal::invalid(format!(
                "co_term_day {n} is not a day from 1 to {}",
                CoTermDay::DAY_MAX
            ))),
        }
    }

    /// The first date on or after `date` that falls on this day.
    pub fn on_or_after(self, date: Date) -> Date {
        match self {
            CoTermDay::Last => date.last_of_month(),
            CoTermDay::Day(d) => {
                let d = d as i8;
                if date.day() <= d {
                    date.first_of_month()
                        .saturating_add(jiff::Span::new().days(d - 1))
                } else {
                    let next = date
                        .last_of_month()
                        .saturating_add(jiff::Span::new().days(1));
                    next.saturating_add(jiff::Span::new().days(d - 1))
                }
            }
        }
    }
}

impl std::fmt::Display for CoTermDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoTermDay::Day(d) => write!(f, "{d}"),
            CoTermDay::Last => f.write_str("last"),
        }
    }
}

impl std::str::FromStr for CoTermDay {
    type Err = Refusal;
    fn from_str(s: &str) -> Result<CoTermDay, Refusal> {
        CoTermDay::parse(s)
    }
}

/// SUB-3, SUB-5: what a renewal costs and where it ends, before paying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenewalQuote {
    /// The price of the term (as bought, CAT-1).
    pub price: Decimal,
    /// SUB-5: days added to reach the common renewal day.
    pub extra_days: u32,
    /// SUB-5: their pro-rata price, rounded once.
    pub extra_price: Decimal,
    pub total: Decimal,
    /// The new (exclusive) expiry.
    pub new_expires_at: Timestamp,
}

/// SUB-3, SUB-5: the quote of renewing `term` from `expires_at` (pure).
fn quote(
    terms: &BoughtTerms,
    policy: &SubscriptionPolicy,
    currency: crate::Currency,
    zone: &TimeZone,
    expires_at: Timestamp,
    term: Span,
    co_term_day: Option<CoTermDay>,
) -> Result<RenewalQuote, Refusal> {
    let price = terms.price_for(term).ok_or_else(|| {
        Refusal::new(
            ErrorCode::InvalidTerm,
            format!("{term} is not a term this subscription may be renewed for"),
        )
    })?;
    let normal_end = term.add_to(expires_at, zone)?;
    let Some(day) = co_term_day else {
        return Ok(RenewalQuote {
            price,
            extra_days: 0,
            extra_price: Decimal::ZERO,
            total: price,
            new_expires_at: normal_end,
        });
    };
    if !policy.co_term {
        return Err(Refusal::invalid(
            "this product does not offer a common renewal day (co_term)",
        ));
    }
    let end = normal_end.to_zoned_datetime(zone.clone());
    let target = day.on_or_after(end.date());
    let new_expires_at = target
        .to_datetime(end.time())
        .to_zoned_datetime(zone.clone())
        .map_err(|e| Refusal::invalid(format!("no instant for {target}: {e}")))?
        .timestamp();
    let extra_days = (target - end.date()).get_days().max(0) as u32;
    // SUB-5: the monthly price ÷ 30 per day for month terms, the yearly price ÷ 365 for year
    // terms (the catalog's divisors), rounded once at the end.
    let (per_unit, divisor) = match term.unit {
        SpanUnit::Year => (terms.price_per_year, policy.prorate_days_per_year),
        _ => (terms.price_per_month, policy.prorate_days_per_month),
    };
    let extra_price = match per_unit {
        Some(p) if extra_days > 0 => {
            currency.round(p * Decimal::from(extra_days) / Decimal::from(divisor.max(1)))
        }
        _ => Decimal::ZERO,
    };
    Ok(RenewalQuote {
        price,
        extra_days,
        extra_price,
        total: price + extra_price,
        new_expires_at,
    })
}

/// SUB-2: whether `mode` is possible for an instance with `terms` (`free`: no expiry).
pub(super) fn check_mode(
    terms: &BoughtTerms,
    free: bool,
    mode: RenewalMode,
) -> Result<(), Refusal> {
    match mode {
        RenewalMode::Manual => Ok(()),
        RenewalMode::Auto { .. } if terms.auto_renew_periods.is_empty() => Err(Refusal::new(
            ErrorCode::AutoRenewNotAllowed,
            "this edition has no auto-renewal",
        )),
        RenewalMode::Auto { period } if !terms.allows_auto_renew(period) => Err(Refusal::new(
            ErrorCode::InvalidTerm,
            format!(
                "{period} is not an auto-renew period of this edition ({})",
                terms
                    .auto_renew_periods
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        RenewalMode::Auto { .. } => Ok(()),
        RenewalMode::PaygAfterExpiry | RenewalMode::Canceled if free => Err(Refusal::invalid(
            "a free instance never expires: its renewal mode is manual",
        )),
        RenewalMode::PaygAfterExpiry | RenewalMode::Canceled => Ok(()),
    }
}

/// SUB-4: the sources an auto-renewal may pay from (the product's `pay_with`).
fn pay_sources(pay_with: &[Funding]) -> PaySources {
    PaySources {
        coupon: pay_with.contains(&Funding::Coupon),
        cash: pay_with.contains(&Funding::Cash),
        credit: pay_with.contains(&Funding::CreditLine),
    }
}

/// A span of whole days (`day_span` values of the catalog) as a day count.
fn whole_days(span: Span) -> i32 {
    let days = match span.unit {
        SpanUnit::Week => span.count * 7,
        SpanUnit::Day => span.count,
        SpanUnit::Hour => span.count / 24,
        SpanUnit::Minute => span.count / (24 * 60),
        SpanUnit::Month => span.count * 30,
        SpanUnit::Year => span.count * 365,
    };
    i32::try_from(days).unwrap_or(i32::MAX)
}

/// SUB-4: the attempt days for the expiry `expires_at`: from `first_attempt_before` the expiry
/// day to `last_attempt_before` it, calendar days in the account's zone.
fn attempt_days(
    expires_at: Timestamp,
    policy: &SubscriptionPolicy,
    zone: &TimeZone,
) -> (Date, Date) {
    let day = expires_at.to_zoned_datetime(zone.clone()).date();
    let back = |span: Span| day.saturating_sub(jiff::Span::new().days(whole_days(span)));
    (
        back(policy.auto_renew.first_attempt_before),
        back(policy.auto_renew.last_attempt_before),
    )
}

/// SUB-4: the instant of the attempt of `day`, at the run time in the account's zone (a run
/// time in a DST gap moves forward).
fn attempt_instant(day: Date, run_time: Time, zone: &TimeZone) -> Option<Timestamp> {
    day.to_datetime(run_time)
        .to_zoned_datetime(zone.clone())
        .ok()
        .map(|z| z.timestamp())
}

impl AccountState {
    /// SUB-2: sets the renewal mode. `auto` needs a period from the edition's list
    /// (`invalid_term`); any mode may move back to `manual` before expiry; `payg_after_expiry`
    /// only before expiry. Enabling `auto` at or after the first attempt time attempts at once
    /// (SUB-4): a due action at `now`. Released and converted instances refuse
    /// (`not_renewable`).
    pub fn set_renewal_mode(
        &mut self,
        product: &Product,
        id: SubscriptionId,
        mode: RenewalMode,
        now: Timestamp,
    ) -> Result<Effects, Refusal> {
        let sub = self.subscription_of(product, id)?;
        if matches!(sub.status, SubStatus::Released | SubStatus::Payg) {
            return Err(Refusal::new(
                ErrorCode::NotRenewable,
                format!("subscription {id} is {}: its renewal is over", sub.status),
            ));
        }
        check_mode(&sub.terms, sub.free, mode)?;
        let expired = sub.expires_at.is_some_and(|e| e <= now);
        if mode == RenewalMode::PaygAfterExpiry && expired {
            return Err(Refusal::invalid(format!(
                "subscription {id} has expired: payg_after_expiry applies at expiry"
            )));
        }
        let mut fx = Effects::default();
        if let Some(sub) = self.subscription_mut(id) {
            sub.mode = mode;
        }
        if let Some(policy) = product.subscription.as_ref() {
            self.schedule_auto_renew(&mut fx, policy, id, now);
        }
        Ok(fx)
    }

    /// SUB-3, SUB-5: the price quote of renewing `term` (optionally to a common renewal day),
    /// from the current expiry. Nothing moves.
    pub fn renewal_quote(
        &self,
        product: &Product,
        id: SubscriptionId,
        term: Span,
        co_term_day: Option<CoTermDay>,
        _now: Timestamp,
    ) -> Result<RenewalQuote, Refusal> {
        let sub = self.subscription_of(product, id)?;
        self.require_transition(id, SubEvent::Renew)?;
        let Some(expires_at) = sub.expires_at else {
            return Err(Refusal::new(
                ErrorCode::NotRenewable,
                format!("subscription {id} is free and never expires"),
            ));
        };
        let policy = sub_policy(product)?;
        quote(
            &sub.terms,
            policy,
            self.currency,
            &self.time_zone(),
            expires_at,
            term,
            co_term_day,
        )
    }

    /// SUB-3: renews by `term` from the current expiry (also in grace, retention or stopped:
    /// the gap is paid for), optionally to a common renewal day (SUB-5), paid per ACC-4. Refused
    /// when released or converted (`not_renewable`), overdue under an impact that blocks fee
    /// operations (`account_overdue`), or for a term not sold (`invalid_term`). Emits
    /// `subscription.renewed`; pending auto-renew attempts of the old expiry become stale
    /// (SUB-4: a manual renewal skips that cycle).
    pub fn renew_subscription(
        &mut self,
        product: &Product,
        id: SubscriptionId,
        term: Span,
        co_term_day: Option<CoTermDay>,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(RenewalQuote, Effects), Refusal> {
        let sub = self.subscription_of(product, id)?;
        let edition = sub.edition.clone();
        let old_expires_at = sub.expires_at;
        self.require_transition(id, SubEvent::Renew)?;
        if old_expires_at.is_none() {
            return Err(Refusal::new(
                ErrorCode::NotRenewable,
                format!("subscription {id} is free and never expires"),
            ));
        }
        self.check_subscription_fee(product, &edition)?;
        let q = self.renewal_quote(product, id, term, co_term_day, now)?;
        let mut fx = Effects::default();
        let cash = if q.total.is_zero() {
            Decimal::ZERO
        } else {
            let (split, charged) = self.charge(
                Charge {
                    product: product.id.clone(),
                    amount: q.total,
                    sources: PaySources::ALL,
                    kind: "subscription.renewal".into(),
                    data: json!({
                        "subscription": id,
                        "term": term,
                        "co_term_day": co_term_day.map(|d| d.to_string()),
                        "new_expires_at": q.new_expires_at,
                    }),
                },
                policy,
                now,
            )?;
            merge(&mut fx, charged);
            split.cash + split.credit
        };
        let old = old_expires_at.expect("checked above");
        self.extend_paid(id, q.new_expires_at, term, q.total, cash, now);
        let data = json!({
            "previous_expires_at": old,
            "term": term,
            "amount": q.total,
            "extra_days": q.extra_days,
            "reason": "manual",
        });
        let key = old.as_microsecond().to_string();
        self.fire(&mut fx, id, SubEvent::Renew, &key, data, now);
        self.schedule_cycle(&mut fx, product, id, now);
        Ok((q, fx))
    }

    /// A paid extension (renewal, auto-renewal) to `new_expires_at`: the money, and the SUB-10
    /// term accounting: before expiry the payment is added to the term in force; after expiry,
    /// or when nothing was paid in cash for it (a trial), a new term starts at the old expiry.
    pub(super) fn extend_paid(
        &mut self,
        id: SubscriptionId,
        new_expires_at: Timestamp,
        term: Span,
        charged: Decimal,
        cash: Decimal,
        now: Timestamp,
    ) {
        let Some(sub) = self.subscription_mut(id) else {
            return;
        };
        let old = sub.expires_at.unwrap_or(now);
        if sub.term_cash.is_zero() || old <= now {
            sub.term_started_at = old;
            sub.term_cash = cash;
        } else {
            sub.term_cash += cash;
        }
        sub.expires_at = Some(new_expires_at);
        sub.term = Some(term);
        if sub.trial {
            sub.trial = false;
            sub.idle_check_at = None;
        }
        sub.paid_total += charged;
        sub.new_cycle();
    }

    /// Everything a new expiry needs: its expiry action, its reminders (SUB-2) and, in `auto`,
    /// its first attempt (SUB-4).
    pub(super) fn schedule_cycle(
        &self,
        fx: &mut Effects,
        product: &Product,
        id: SubscriptionId,
        now: Timestamp,
    ) {
        let Some(sub) = self.subscription(id) else {
            return;
        };
        let Some(expires_at) = sub.expires_at else {
            return;
        };
        let Some(policy) = product.subscription.as_ref() else {
            return;
        };
        fx.schedule.push(self.sub_due(
            expires_at,
            DueKind::SubscriptionExpiry {
                sub: id,
                expires_at,
            },
        ));
        let zone = self.time_zone();
        let mut befores = policy.expiry_reminders.clone();
        if !befores.contains(&policy.canceled_notice_before) {
            befores.push(policy.canceled_notice_before);
        }
        for before in befores {
            if let Ok(at) = before.sub_from(expires_at, &zone)
                && now <= at
                && at < expires_at
            {
                fx.schedule.push(self.sub_due(
                    at,
                    DueKind::SubscriptionReminder {
                        sub: id,
                        expires_at,
                        before,
                    },
                ));
            }
        }
        self.schedule_auto_renew(fx, policy, id, now);
    }

    /// SUB-4: the next attempt of an `auto` instance: the first attempt instant if it is still
    /// ahead, else at once (as today's attempt), or tomorrow's if today was attempted.
    fn schedule_auto_renew(
        &self,
        fx: &mut Effects,
        policy: &SubscriptionPolicy,
        id: SubscriptionId,
        now: Timestamp,
    ) {
        let Some(sub) = self.subscription(id) else {
            return;
        };
        let (RenewalMode::Auto { .. }, Some(expires_at)) = (sub.mode, sub.expires_at) else {
            return;
        };
        if now >= expires_at || transition(sub.status, SubEvent::AutoRenew).is_none() {
            return;
        }
        let zone = self.time_zone();
        let run_time = policy.auto_renew.run_time;
        let (first, last) = attempt_days(expires_at, policy, &zone);
        let Some(first_at) = attempt_instant(first, run_time, &zone) else {
            return;
        };
        let (at, day) = if now < first_at {
            (first_at, first)
        } else {
            let today = now.to_zoned_datetime(zone.clone()).date();
            if !sub.attempt_days.contains(&today) {
                (now, today)
            } else {
                let Ok(next) = today.tomorrow() else {
                    return;
                };
                match attempt_instant(next, run_time, &zone) {
                    Some(at) if next <= last && at < expires_at => (at, next),
                    _ => return,
                }
            }
        };
        fx.schedule.push(self.sub_due(
            at,
            DueKind::SubscriptionAutoRenew {
                sub: id,
                expires_at,
                day,
            },
        ));
    }

    /// SUB-4: the attempt of `day` for the expiry `expires_at`. Stale (renewed meanwhile, mode
    /// changed, released) or already made: nothing. Pays from the product's `pay_with`; success
    /// extends by the auto-renew period and schedules the next cycle; a failure is notified and
    /// the next day's attempt scheduled, up to the last attempt day.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn subscription_auto_renew(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        id: SubscriptionId,
        expires_at: Timestamp,
        day: Date,
        policy: &AccountPolicy,
        now: Timestamp,
    ) {
        let Some(sub) = self.subscription(id) else {
            return;
        };
        let RenewalMode::Auto { period } = sub.mode else {
            return;
        };
        if sub.expires_at != Some(expires_at)
            || sub.attempt_days.contains(&day)
            || transition(sub.status, SubEvent::AutoRenew).is_none()
        {
            return;
        }
        let Some(product) = catalog.product(&sub.product) else {
            return;
        };
        let Some(sub_policy) = product.subscription.as_ref() else {
            return;
        };
        let (edition, price) = (sub.edition.clone(), sub.terms.price_for(period));
        let attempt = {
            let sub = self.subscription_mut(id).expect("found above");
            sub.attempt_days.push(day);
            sub.attempt_days.len()
        };
        let paid = price
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::InvalidTerm,
                    format!("{period} is no longer a term of this subscription"),
                )
            })
            .and_then(|price| {
                self.check_subscription_fee(product, &edition)?;
                Ok(price)
            })
            .and_then(|price| {
                self.charge(
                    Charge {
                        product: product.id.clone(),
                        amount: price,
                        sources: pay_sources(&sub_policy.auto_renew.pay_with),
                        kind: "subscription.auto_renewal".into(),
                        data: json!({ "subscription": id, "period": period, "attempt": attempt }),
                    },
                    policy,
                    now,
                )
                .map(|(split, charged)| (price, split, charged))
            });
        let zone = self.time_zone();
        let key = expires_at.as_microsecond().to_string();
        match paid.and_then(|ok| Ok((ok, period.add_to(expires_at, &zone)?))) {
            Ok(((price, split, charged), new_expires_at)) => {
                merge(fx, charged);
                self.extend_paid(
                    id,
                    new_expires_at,
                    period,
                    price,
                    split.cash + split.credit,
                    now,
                );
                let data = json!({
                    "previous_expires_at": expires_at,
                    "term": period,
                    "amount": price,
                    "attempt": attempt,
                    "reason": "auto",
                });
                self.fire(fx, id, SubEvent::AutoRenew, &key, data, now);
                self.schedule_cycle(fx, product, id, now);
            }
            Err(refusal) => {
                let data = json!({
                    "attempt": attempt,
                    "day": day,
                    "reason": refusal.code,
                    "detail": refusal.detail,
                });
                let key = format!("{key}:{day}");
                self.fire(fx, id, SubEvent::AutoRenewFail, &key, data, now);
                self.schedule_auto_renew(fx, sub_policy, id, now);
            }
        }
    }

    /// SUB-2: the reminder `before` the expiry `expires_at`, if it applies to the mode now
    /// (`canceled`: only `canceled_notice_before`; the others: the catalog's list) and was not
    /// sent for this expiry.
    pub(crate) fn subscription_reminder(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        id: SubscriptionId,
        expires_at: Timestamp,
        before: Span,
        now: Timestamp,
    ) {
        let Some(sub) = self.subscription(id) else {
            return;
        };
        if sub.expires_at != Some(expires_at) || sub.reminders_sent.contains(&before) {
            return;
        }
        let Some(policy) = catalog
            .product(&sub.product)
            .and_then(|p| p.subscription.as_ref())
        else {
            return;
        };
        let canceled = sub.mode == RenewalMode::Canceled;
        let applies = if canceled {
            before == policy.canceled_notice_before
        } else {
            policy.expiry_reminders.contains(&before)
        };
        if !applies {
            return;
        }
        let key = format!("{}:{before}", expires_at.as_microsecond());
        let data = json!({ "before": before, "canceled": canceled });
        if self
            .fire(fx, id, SubEvent::Remind, &key, data, now)
            .is_some()
            && let Some(sub) = self.subscription_mut(id)
        {
            sub.reminders_sent.push(before);
        }
    }
}

/// The product's subscription policy; `invalid_input` for a product that sells none.
pub(super) fn sub_policy(product: &Product) -> Result<&SubscriptionPolicy, Refusal> {
    product
        .subscription
        .as_ref()
        .ok_or_else(|| Refusal::invalid(format!("{} sells no subscriptions", product.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn sub_5_the_common_day_is_taken_on_or_after_the_date() {
        let d = date(2026, 4, 25);
        assert_eq!(CoTermDay::Last.on_or_after(d), date(2026, 4, 30));
        assert_eq!(CoTermDay::Day(1).on_or_after(d), date(2026, 5, 1));
        assert_eq!(CoTermDay::Day(25).on_or_after(d), d);
        assert_eq!(CoTermDay::Day(28).on_or_after(d), date(2026, 4, 28));
        assert_eq!(
            CoTermDay::Day(5).on_or_after(date(2026, 12, 31)),
            date(2027, 1, 5)
        );
        assert_eq!(
            CoTermDay::Last.on_or_after(date(2028, 2, 3)),
            date(2028, 2, 29)
        );
    }

    #[test]
    fn sub_5_co_term_days_parse_from_1_to_28_or_last() {
        assert_eq!(CoTermDay::parse("last").unwrap(), CoTermDay::Last);
        assert_eq!(CoTermDay::parse("1").unwrap(), CoTermDay::Day(1));
        assert_eq!(CoTermDay::parse("28").unwrap(), CoTermDay::Day(28));
        for bad in ["0", "29", "31", "-1", "first", "", "1.5"] {
            assert_eq!(
                CoTermDay::parse(bad).unwrap_err().code,
                ErrorCode::InvalidInput,
                "{bad:?}"
            );
        }
    }
}
