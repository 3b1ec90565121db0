//! Metered usage: one event applied to one account (USE-1), split across plans (PLAN-3,
//! PLAN-4), the rest overflowing to pay-as-you-go or refused (PLAN-5), with daily statistics
//! (PAYG-4). Reservations (PLAN-10) are in [`crate::reservation`].

use crate::account::{AccountPolicy, AccountState, Effects};
use crate::catalog::{Catalog, Overflow, Product};
use crate::error::{ErrorCode, Refusal};
use crate::ledger::Book;
use crate::plan::{Take, split};
use crate::span::Span;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// USE-1: the largest quantity one event may carry (2^53, what a JSON number holds exactly).
pub const QUANTITY_MAX: u64 = 1 << 53;
/// USE-1: how far in the future an event's timestamp may lie (clock skew of the sender).
pub const FUTURE_TOLERANCE: Span = Span::new(5, crate::span::SpanUnit::Minute);
/// The longest event id accepted.
pub const EVENT_ID_LEN_MAX: usize = 128;

/// One usage event, parsed at the boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageEvent {
    pub id: String,
    pub meter: String,
    pub quantity: u64,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<serde_json::Value>,
}

/// What became of an event (USE-2). A duplicate is answered with the first outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum UsageOutcome {
    Applied {
        /// The split across plans, in deduction order.
        takes: Vec<Take>,
        /// What no plan covered, rated pay-as-you-go.
        payg_quantity: u64,
        /// `payg_quantity` × unit price, not rounded (rounding happens once, at the bill line).
        payg_amount: Decimal,
    },
    Refused {
        code: ErrorCode,
        detail: String,
    },
}

/// PAYG-4: one day's usage of one meter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageDay {
    pub from_plans: u64,
    pub payg_quantity: u64,
    pub payg_amount: Decimal,
    /// Quantity of refused events.
    pub refused: u64,
}

/// The key of a [`UsageDay`]: the local date in the account's zone, product and meter.
pub fn usage_day_key(date: jiff::civil::Date, product: &str, meter: &str) -> String {
    format!("{date}|{product}|{meter}")
}

/// Moved to [`crate::reservation`]; re-exported for callers that name it here.
pub use crate::reservation::Reservation;

impl AccountState {
    /// USE-1, PLAN-3…5: applies one event at `now`. A refused event changes no quota or money;
    /// its refusal is counted in the statistics and returned as the outcome.
    pub fn apply_usage(
        &mut self,
        catalog: &Catalog,
        ev: &UsageEvent,
        late_window: Span,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> (UsageOutcome, Effects) {
        let mut fx = Effects::default();
        let outcome = match self.try_apply_usage(&mut fx, catalog, ev, late_window, policy, now) {
            Ok(outcome) => outcome,
            Err(r) => {
                fx = Effects::default();
                if let Some((product, _)) = catalog.meter(&ev.meter) {
                    if r.code == ErrorCode::QuotaExhausted {
                        self.note_quota_exhausted(&mut fx, &product.id, now);
                    }
                    let key = usage_day_key(
                        ev.at.to_zoned_datetime(self.time_zone()).date(),
                        &product.id,
                        &ev.meter,
                    );
                    self.usage_stats.entry(key).or_default().refused += ev.quantity;
                }
                UsageOutcome::Refused {
                    code: r.code,
                    detail: r.detail,
                }
            }
        };
        (outcome, fx)
    }

    fn try_apply_usage(
        &mut self,
        fx: &mut Effects,
        catalog: &Catalog,
        ev: &UsageEvent,
        late_window: Span,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<UsageOutcome, Refusal> {
        let (product, _) = catalog
            .meter(&ev.meter)
            .ok_or_else(|| Refusal::not_found(format!("no meter {:?}", ev.meter)))?;
        self.check_event(ev, late_window, now)?;
        // SUB-9: a well-formed, timely event on a meter of the product is activity of its
        // instances, whatever becomes of it (state only: kept when the event is refused).
        self.note_subscription_activity(&product.id, ev.at);
        self.check_service_available(product, ev.at)?;
        let (takes, overflow) = split(&self.plans, &ev.meter, ev.quantity, ev.at);
        let (payg_quantity, payg_amount) = if overflow > 0 {
            self.rate_overflow(product, &ev.meter, overflow, ev.at)?
        } else {
            (0, Decimal::ZERO)
        };
        let mut moves = Vec::new();
        for t in &takes {
            if let Some(p) = self.plan_mut(t.plan) {
                p.consumed += t.quantity;
                p.assert_conserved();
            }
            moves.push((Book::Plan(t.plan), -(t.quantity as i64)));
        }
        let from_plans: u64 = takes.iter().map(|t| t.quantity).sum();
        if from_plans > 0 {
            moves.push((Book::QuotaUsed, from_plans as i64));
            self.post_quota(
                fx,
                now,
                "usage",
                moves,
                json!({ "event": ev.id, "meter": ev.meter }),
            );
        }
        if payg_quantity > 0 {
            self.accrue_payg(fx, product, &ev.meter, payg_quantity, ev.at, now)?;
        }
        let key = usage_day_key(
            ev.at.to_zoned_datetime(self.time_zone()).date(),
            &product.id,
            &ev.meter,
        );
        let day = self.usage_stats.entry(key).or_default();
        day.from_plans += from_plans;
        day.payg_quantity += payg_quantity;
        day.payg_amount += payg_amount;
        if from_plans > 0 {
            self.after_usage(fx, catalog, &product.id, policy, now);
        }
        Ok(UsageOutcome::Applied {
            takes,
            payg_quantity,
            payg_amount,
        })
    }

    /// USE-1: quantity bound, future tolerance and the late window.
    pub fn check_event(
        &self,
        ev: &UsageEvent,
        late_window: Span,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        if ev.id.is_empty() || ev.id.len() > EVENT_ID_LEN_MAX {
            return Err(Refusal::invalid(format!(
                "event id must be 1–{EVENT_ID_LEN_MAX} characters"
            )));
        }
        if ev.quantity > QUANTITY_MAX {
            return Err(Refusal::invalid(format!(
                "quantity {} is beyond 2^53",
                ev.quantity
            )));
        }
        let zone = self.time_zone();
        if ev.at > FUTURE_TOLERANCE.add_to(now, &zone)? {
            return Err(Refusal::invalid(format!(
                "timestamp {} is more than {FUTURE_TOLERANCE} in the future",
                ev.at
            )));
        }
        if ev.at < late_window.sub_from(now, &zone)? {
            return Err(Refusal::new(
                ErrorCode::LateEvent,
                format!(
                    "timestamp {} is older than the late window of {late_window}",
                    ev.at
                ),
            ));
        }
        Ok(())
    }

    /// PLAN-5: what no plan covers. Refused whole under `stop_before_excess` (any plan of the
    /// meter in force says so) and when pay-as-you-go is not available or not activated;
    /// otherwise rated at the pay-as-you-go price in force.
    pub(crate) fn rate_overflow(
        &self,
        product: &Product,
        meter: &str,
        quantity: u64,
        at: Timestamp,
    ) -> Result<(u64, Decimal), Refusal> {
        let stop = self.plans.iter().any(|p| {
            p.in_force(at)
                && p.meters.iter().any(|m| m == meter)
                && p.overflow == Overflow::StopBeforeExcess
        });
        if stop {
            return Err(Refusal::new(
                ErrorCode::QuotaExhausted,
                format!("the plans for {meter} stop before excess: {quantity} more than they hold"),
            ));
        }
        let payg = product
            .payg
            .as_ref()
            .filter(|p| p.prices.contains_key(meter));
        let Some(payg) = payg else {
            return Err(Refusal::new(
                ErrorCode::QuotaExhausted,
                format!("{meter} has no plan quota left and no pay-as-you-go price"),
            ));
        };
        if payg.activation_required && !self.payg.activated.contains(&product.id) {
            return Err(Refusal::new(
                ErrorCode::PaygNotActivated,
                format!("pay-as-you-go is not activated for {}", product.id),
            ));
        }
        let price = payg.prices[meter];
        Ok((quantity, price * Decimal::from(quantity)))
    }
}
