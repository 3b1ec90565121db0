//! Reservations of plan quota (PLAN-10): a service holds units before use, then commits what it
//! used (the rest returns to the plans) or releases them; an uncommitted reservation lapses at
//! its timeout.
//!
//! - Units are taken in PLAN-3 order ([`crate::plan::split`]) and counted in `Plan::reserved`,
//!   which [`crate::plan::Plan::remaining`] already subtracts: nobody else can use them.
//! - Only plan quota is held. A reservation that the plans in force cannot hold whole is refused
//!   (`quota_exhausted`) and holds nothing; pay-as-you-go is never reserved (there is nothing to
//!   hold: it is billed after use).
//! - Any plan may be reserved on, `stop_before_excess` or `pay_per_use`: PLAN-10 names
//!   `stop_before_excess` because there a service *must* know before use whether it may go on,
//!   but holding prepaid quota is as meaningful on a `pay_per_use` plan (a real billing center
//!   allows it on any package).
//! - Holding moves nothing in the journal: held units are still the plan's (`Book::Plan`). A
//!   commit journals what was used, like usage does (`Book::Plan` −q, `Book::QuotaUsed` +q).
//! - The timeout is exclusive: a reservation can be committed until `expires_at`, not at it;
//!   from then on a commit or release answers `reservation_expired`, and the due action
//!   [`DueKind::ReservationTimeout`] gives the units back.
//! - A stopped product (OVD-2) refuses reservations and commits (`service_stopped`): a commit is
//!   usage. Its open reservations may still be released, and lapse at their timeout.
//! - When a plan expires, its held units are forfeited with the rest of it (PLAN-6); the
//!   reservations that held them shrink to what other plans still hold, and one left with
//!   nothing counts as expired.
//! - A resetting plan may reset while units are held (PLAN-11): they stay held, and a commit may
//!   still use them (they were taken before the reset), but what returns is forfeited with the
//!   old period, never carried into the new one.

use crate::account::{AccountPolicy, AccountState, Effects};
use crate::catalog::Catalog;
use crate::due::{DueAction, DueKind};
use crate::error::{ErrorCode, Refusal};
use crate::ids::{PlanId, ReservationId};
use crate::ledger::Book;
use crate::plan::{Take, split};
use crate::span::{Span, SpanUnit};
use crate::usage::{QUANTITY_MAX, usage_day_key};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The most reservations one account may hold open at once.
pub const RESERVATIONS_OPEN_MAX: usize = 1_000;
/// The longest timeout a reservation may ask for: quota is not parked for days.
pub const RESERVATION_TIMEOUT_MAX: Span = Span::new(24, SpanUnit::Hour);
/// Lapsed reservations remembered per account (the newest), so that a late commit hears
/// `reservation_expired` rather than `not_found`.
pub const RESERVATIONS_LAPSED_KEPT_MAX: usize = 100;

/// PLAN-10: units held on plans for a later commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: ReservationId,
    pub product: String,
    pub meter: String,
    /// Units held: always the sum of `takes`.
    pub quantity: u64,
    /// Where the units are held, in PLAN-3 order: the order a commit consumes them in.
    pub takes: Vec<Take>,
    pub at: Timestamp,
    /// Exclusive: it can be committed until this instant, not at it.
    pub expires_at: Timestamp,
    /// When it lapsed (its units went back); `None` while open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lapsed_at: Option<Timestamp>,
}

impl Reservation {
    /// Holding units (not lapsed). It may still be past its timeout, waiting for the lapse.
    pub fn is_open(&self) -> bool {
        self.lapsed_at.is_none()
    }
}

impl AccountState {
    pub fn reservation(&self, id: ReservationId) -> Option<&Reservation> {
        self.reservations.iter().find(|r| r.id == id)
    }

    /// PLAN-10: holds `quantity` units of `meter` on the plans in force now, in PLAN-3 order,
    /// until now + `timeout`. Refused whole (`quota_exhausted`) when they cannot hold all of it.
    pub fn reserve(
        &mut self,
        catalog: &Catalog,
        meter: &str,
        quantity: u64,
        timeout: Span,
        now: Timestamp,
    ) -> Result<(ReservationId, Effects), Refusal> {
        let (product, _) = catalog
            .meter(meter)
            .ok_or_else(|| Refusal::not_found(format!("no meter {meter:?}")))?;
        if quantity == 0 || quantity > QUANTITY_MAX {
            return Err(Refusal::invalid(format!(
                "a reservation holds 1 to 2^53 units, not {quantity}"
            )));
        }
        let zone = self.time_zone();
        let expires_at = timeout.add_to(now, &zone)?;
        if expires_at <= now || expires_at > RESERVATION_TIMEOUT_MAX.add_to(now, &zone)? {
            return Err(Refusal::invalid(format!(
                "timeout {timeout} must be positive and at most {RESERVATION_TIMEOUT_MAX}"
            )));
        }
        self.check_service_available(product, now)?;
        let open = self.reservations.iter().filter(|r| r.is_open()).count();
        if open >= RESERVATIONS_OPEN_MAX {
            return Err(Refusal::invalid(format!(
                "{open} reservations are open: commit or release some first (at most {RESERVATIONS_OPEN_MAX})"
            )));
        }
        let (takes, uncovered) = split(&self.plans, meter, quantity, now);
        if uncovered > 0 {
            return Err(Refusal::new(
                ErrorCode::QuotaExhausted,
                format!(
                    "the plans for {meter} can hold {} of {quantity} units",
                    quantity - uncovered
                ),
            ));
        }
        for t in &takes {
            let plan = self
                .plan_mut(t.plan)
                .expect("split takes only existing plans");
            plan.reserved += t.quantity;
            plan.assert_conserved();
        }
        self.seq.reservation += 1;
        let id = ReservationId(self.seq.reservation);
        self.reservations.push(Reservation {
            id,
            product: product.id.clone(),
            meter: meter.to_string(),
            quantity,
            takes,
            at: now,
            expires_at,
            lapsed_at: None,
        });
        let fx = Effects {
            schedule: vec![DueAction {
                key: format!("reservation_timeout:{}:{id}", self.id),
                account: self.id.clone(),
                due_at: expires_at,
                kind: DueKind::ReservationTimeout { reservation: id },
            }],
            ..Effects::default()
        };
        Ok((id, fx))
    }

    /// PLAN-10: uses `quantity` (at most what is held) of a reservation and gives the rest
    /// back. The used units are taken from the held ones in PLAN-3 order, journalled and counted
    /// in the statistics like usage at `now`; the usage alerts run after. Returns the takes used.
    pub fn commit(
        &mut self,
        catalog: &Catalog,
        id: ReservationId,
        quantity: u64,
        policy: &AccountPolicy,
        now: Timestamp,
    ) -> Result<(Vec<Take>, Effects), Refusal> {
        let r = self.open_reservation(id, now)?;
        if quantity > r.quantity {
            return Err(Refusal::invalid(format!(
                "reservation {id} holds {} units: {quantity} cannot be committed",
                r.quantity
            )));
        }
        let product = catalog
            .product(&r.product)
            .ok_or_else(|| Refusal::not_found(format!("no product {:?}", r.product)))?;
        self.check_service_available(product, now)?;
        let r = self.take_reservation(id);
        let (used, rest) = divide(&r.takes, quantity);
        for t in &used {
            let plan = self.plan_mut(t.plan).expect("a held plan exists");
            plan.reserved -= t.quantity;
            plan.consumed += t.quantity;
            plan.assert_conserved();
        }
        let mut fx = Effects::default();
        self.return_units(&mut fx, &r, &rest, now);
        if quantity > 0 {
            let mut moves: Vec<(Book, i64)> = used
                .iter()
                .map(|t| (Book::Plan(t.plan), -(t.quantity as i64)))
                .collect();
            moves.push((Book::QuotaUsed, quantity as i64));
            self.post_quota(
                &mut fx,
                now,
                "reservation.commit",
                moves,
                json!({ "reservation": id, "meter": r.meter, "quantity": quantity }),
            );
            let key = usage_day_key(
                now.to_zoned_datetime(self.time_zone()).date(),
                &r.product,
                &r.meter,
            );
            self.usage_stats.entry(key).or_default().from_plans += quantity;
            self.after_usage(&mut fx, catalog, &r.product, policy, now);
        }
        Ok((used, fx))
    }

    /// PLAN-10: gives every held unit of a reservation back to its plans.
    pub fn release(&mut self, id: ReservationId, now: Timestamp) -> Result<Effects, Refusal> {
        self.open_reservation(id, now)?;
        let r = self.take_reservation(id);
        let mut fx = Effects::default();
        self.return_units(&mut fx, &r, &r.takes, now);
        Ok(fx)
    }

    /// PLAN-10: at its timeout an uncommitted reservation lapses and its units return to the
    /// plans. Early, repeated or stale runs do nothing (TIME-4).
    pub(crate) fn lapse_reservation(
        &mut self,
        fx: &mut Effects,
        id: ReservationId,
        now: Timestamp,
    ) {
        let Some(pos) = self
            .reservations
            .iter()
            .position(|r| r.id == id && r.is_open() && r.expires_at <= now)
        else {
            return;
        };
        let held = self.reservations[pos].clone();
        self.return_units(fx, &held, &held.takes, now);
        let r = &mut self.reservations[pos];
        r.takes.clear();
        r.quantity = 0;
        r.lapsed_at = Some(now);
        self.forget_old_lapsed();
    }

    /// PLAN-6: `plan` expired and forfeited its held units; the reservations holding them keep
    /// what other plans hold. One left holding nothing has lapsed (a commit answers
    /// `reservation_expired`). The plan's own counters are the expiry's business.
    pub(crate) fn drop_reserved_on_plan(&mut self, plan: PlanId, now: Timestamp) {
        let mut lapsed = false;
        for r in self.reservations.iter_mut().filter(|r| r.is_open()) {
            let before = r.takes.len();
            r.takes.retain(|t| t.plan != plan);
            if r.takes.len() == before {
                continue;
            }
            r.quantity = r.takes.iter().map(|t| t.quantity).sum();
            if r.takes.is_empty() {
                r.lapsed_at = Some(now);
                lapsed = true;
            }
        }
        if lapsed {
            self.forget_old_lapsed();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    /// The reservation `id` if it can still be committed or released at `now`.
    fn open_reservation(&self, id: ReservationId, now: Timestamp) -> Result<&Reservation, Refusal> {
        let r = self
            .reservation(id)
            .ok_or_else(|| Refusal::not_found(format!("no open reservation {id}")))?;
        if !r.is_open() || now >= r.expires_at {
            return Err(Refusal::new(
                ErrorCode::ReservationExpired,
                format!("reservation {id} lapsed at {}", r.expires_at),
            ));
        }
        Ok(r)
    }

    /// Removes an open reservation (committed or released: nothing is remembered of it).
    fn take_reservation(&mut self, id: ReservationId) -> Reservation {
        let pos = self
            .reservations
            .iter()
            .position(|r| r.id == id)
            .expect("checked by open_reservation");
        self.reservations.remove(pos)
    }

    /// Gives `takes` of reservation `r` back to their plans. Units held in a period of a
    /// resetting plan that has reset since are that period's: they are forfeited, not carried
    /// into the new one (PLAN-11), and journalled as forfeited.
    fn return_units(&mut self, fx: &mut Effects, r: &Reservation, takes: &[Take], now: Timestamp) {
        let mut moves: Vec<(Book, i64)> = Vec::new();
        for t in takes {
            let plan = self.plan_mut(t.plan).expect("a held plan exists");
            plan.reserved -= t.quantity;
            if plan.period_start > r.at {
                plan.expired += t.quantity;
                moves.push((Book::Plan(t.plan), -(t.quantity as i64)));
            }
            plan.assert_conserved();
        }
        let forfeited: i64 = moves.iter().map(|(_, q)| -q).sum();
        if forfeited > 0 {
            moves.push((Book::QuotaForfeited, forfeited));
            self.post_quota(
                fx,
                now,
                "reservation.forfeited",
                moves,
                json!({ "reservation": r.id, "forfeited": forfeited }),
            );
        }
    }

    /// Keeps the newest [`RESERVATIONS_LAPSED_KEPT_MAX`] lapsed reservations.
    fn forget_old_lapsed(&mut self) {
        let lapsed = self.reservations.iter().filter(|r| !r.is_open()).count();
        let mut excess = lapsed.saturating_sub(RESERVATIONS_LAPSED_KEPT_MAX);
        // Oldest first: reservations are kept in the order they were made.
        self.reservations.retain(|r| {
            if excess > 0 && !r.is_open() {
                excess -= 1;
                return false;
            }
            true
        });
    }
}

/// Splits held `takes` into the first `quantity` units (used, in PLAN-3 order) and the rest.
fn divide(takes: &[Take], quantity: u64) -> (Vec<Take>, Vec<Take>) {
    let mut left = quantity;
    let (mut used, mut rest) = (Vec::new(), Vec::new());
    for t in takes {
        let q = t.quantity.min(left);
        left -= q;
        if q > 0 {
            used.push(Take {
                plan: t.plan,
                quantity: q,
            });
        }
        if t.quantity > q {
            rest.push(Take {
                plan: t.plan,
                quantity: t.quantity - q,
            });
        }
    }
    assert_eq!(left, 0, "a commit never uses more than is held");
    (used, rest)
}
