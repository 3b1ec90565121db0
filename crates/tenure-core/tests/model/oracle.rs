//! The oracle of the model-based test: the rules of `spec/RULES.md` for one account, written as
//! plainly as possible from the values of `spec/DEMO_CATALOG.md`, sharing no code with the core.
//!
//! It keeps what a careful clerk would write down: each plan's counters (with `left`, what new
//! usage may still take, kept as its own number rather than derived), the cash, the unpaid bill
//! remainders oldest first, the rated usage waiting for its hourly bill, the overdue episode and
//! the notices sent. Time is a list of instants it computes itself (expiry, resets, bill runs,
//! timeouts, overdue stops and releases), run in (instant, key) order as the scheduler does.
//!
//! Simplifications, each removing a rule the model does not exercise: cash only (no coupons, no
//! credit line, so no charge ever uses credit); no low-balance threshold; no usage alerts and no
//! repurchase; the account's zone is Asia/Shanghai, a fixed +08:00 since 1991, so calendar
//! arithmetic is plain arithmetic on that offset (month addition clamps to the month's end).

use jiff::Timestamp;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use tenure_core::ErrorCode;

/// Asia/Shanghai: +08:00, no daylight saving time.
pub const ZONE_OFFSET_HOURS: i8 = 8;
const HOUR_SECONDS: i64 = 3_600;
const DAY_SECONDS: i64 = 86_400;
/// USE-1: the late window and the tolerance for clocks running ahead.
const LATE_WINDOW_SECONDS: i64 = 48 * HOUR_SECONDS;
const FUTURE_TOLERANCE_SECONDS: i64 = 5 * 60;
/// PLAN-8: the reminder before expiry.
const REMINDER_BEFORE_SECONDS: i64 = 7 * DAY_SECONDS;
/// OVD-5, OVD-3: warning 2 h before a `stop_after` stop; release 15 days after the stop, warned
/// 3 days before.
const STOP_WARNING_BEFORE_SECONDS: i64 = 2 * HOUR_SECONDS;
const RELEASE_AFTER_SECONDS: i64 = 15 * DAY_SECONDS;
const RELEASE_WARNING_BEFORE_SECONDS: i64 = 3 * DAY_SECONDS;

/// A plan spec as `DEMO_CATALOG.md` lists it.
#[derive(Debug)]
pub struct Spec {
    pub id: &'static str,
    pub product: &'static str,
    pub meter: &'static str,
    pub quota: u64,
    pub months: i32,
    /// Price in cents.
    pub price_cents: i64,
    /// PLAN-3: free before promotional before purchased.
    pub free: bool,
    /// PLAN-11: refilled every calendar day.
    pub daily: bool,
    pub stop_before_excess: bool,
    pub refundable: bool,
}

/// The specs the model buys.
pub const SPECS: [Spec; 5] = [
    Spec {
        id: "sms-cn-1k",
        product: "sms",
        meter: "sms.cn",
        quota: 1_000,
        months: 12,
        price_cents: 4_500,
        free: false,
        daily: false,
        stop_before_excess: false,
        refundable: true,
    },
    Spec {
        id: "msg-ppu-5k",
        product: "msg",
        meter: "msg.send",
        quota: 5_000,
        months: 12,
        price_cents: 25_000,
        free: false,
        daily: false,
        stop_before_excess: false,
        refundable: false,
    },
    Spec {
        id: "msg-sbe-5k",
        product: "msg",
        meter: "msg.send",
        quota: 5_000,
        months: 12,
        price_cents: 24_000,
        free: false,
        daily: false,
        stop_before_excess: true,
        refundable: false,
    },
    Spec {
        id: "mail-free-daily",
        product: "mail",
        meter: "mail.send",
        quota: 200,
        months: 12,
        price_cents: 0,
        free: true,
        daily: true,
        stop_before_excess: false,
        refundable: false,
    },
    Spec {
        id: "mail-10k",
        product: "mail",
        meter: "mail.send",
        quota: 10_000,
        months: 6,
        price_cents: 1_500,
        free: false,
        daily: false,
        stop_before_excess: false,
        refundable: false,
    },
];

/// The meters the model uses: (meter, product, pay-as-you-go price per unit).
pub const METERS: [(&str, &str, Decimal); 4] = [
    ("sms.cn", "sms", Decimal::from_parts(45, 0, 0, false, 3)),
    ("sms.intl", "sms", Decimal::from_parts(300, 0, 0, false, 3)),
    ("msg.send", "msg", Decimal::from_parts(55, 0, 0, false, 3)),
    ("mail.send", "mail", Decimal::from_parts(2, 0, 0, false, 3)),
];

/// The products the model uses, in key order.
pub const PRODUCTS: [&str; 3] = ["mail", "msg", "sms"];

/// PAYG-1: pay-as-you-go must be activated before it bills (msg, mail); mail's activation and
/// purchases need a verified identity (ACC-6).
fn activation_required(product: &str) -> bool {
    product != "sms"
}
fn needs_verified(product: &str) -> bool {
    product == "mail"
}

/// OVD-2: time from the start of overdue to the stop: sms and mail stop at once, msg after 24 h.
fn stop_delay_seconds(product: &str) -> i64 {
    if product == "msg" {
        24 * HOUR_SECONDS
    } else {
        0
    }
}

fn product_of(meter: &str) -> &'static str {
    METERS
        .iter()
        .find(|m| m.0 == meter)
        .expect("a model meter")
        .1
}

fn price_of(meter: &str) -> Decimal {
    METERS
        .iter()
        .find(|m| m.0 == meter)
        .expect("a model meter")
        .2
}

// ---- time -----------------------------------------------------------------------------------

fn plus(t: Timestamp, seconds: i64) -> Timestamp {
    Timestamp::from_second(t.as_second() + seconds).expect("in range")
}

/// The start of the hour containing `t` (+08:00 is a whole number of hours).
pub fn hour_start(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(HOUR_SECONDS) * HOUR_SECONDS).expect("in range")
}

/// The next hour boundary strictly after `t`.
fn next_hour(t: Timestamp) -> Timestamp {
    plus(hour_start(t), HOUR_SECONDS)
}

/// The next local midnight strictly after `t`.
fn next_midnight(t: Timestamp) -> Timestamp {
    let offset = i64::from(ZONE_OFFSET_HOURS) * HOUR_SECONDS;
    let local_day = (t.as_second() + offset).div_euclid(DAY_SECONDS);
    Timestamp::from_second((local_day + 1) * DAY_SECONDS - offset).expect("in range")
}

/// `t` plus `months` calendar months in the account's zone, clamped to the month's end.
fn add_months(t: Timestamp, months: i32) -> Timestamp {
    let offset = jiff::tz::Offset::constant(ZONE_OFFSET_HOURS);
    let local = offset.to_datetime(t);
    let later = local
        .checked_add(jiff::Span::new().months(months))
        .expect("in range");
    offset.to_timestamp(later).expect("in range")
}

/// ACC-1: half-up to the cent, once per bill line.
fn round_line(amount: Decimal) -> Decimal {
    let hundred = Decimal::from(100);
    ((amount * hundred) + Decimal::new(5, 1)).floor() / hundred
}

// ---- state ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Expired,
    Refunded,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub spec: &'static Spec,
    /// Purchase order (1, 2, …): the account's plan sequence.
    pub order: u64,
    pub bought_at: Timestamp,
    pub effective: Timestamp,
    pub expires: Timestamp,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    /// Periods issued: 1 for an aggregate plan, 1 + resets for a daily one.
    pub periods: u64,
    pub consumed: u64,
    pub reserved: u64,
    pub expired: u64,
    /// What new usage may still take in the current period.
    pub left: u64,
    pub end: Option<End>,
    pub paid: Decimal,
    /// PLAN-8: the reminder instant, until it has run.
    pub reminder_at: Option<Timestamp>,
}

impl Plan {
    pub fn bought(&self) -> u64 {
        self.spec.quota * self.periods
    }

    /// PLAN-3: free first, then earliest end of the current period, then earliest effective,
    /// then purchase order.
    fn order_key(&self) -> (u8, Timestamp, Timestamp, u64) {
        (
            u8::from(!self.spec.free),
            self.period_end.min(self.expires),
            self.effective,
            self.order,
        )
    }

    /// Not ended, and effective and unexpired at `at`.
    fn in_force(&self, at: Timestamp) -> bool {
        self.end.is_none() && self.effective <= at && at < self.expires
    }

    /// Usage of `meter` at `at` may be taken from the current period.
    fn covers(&self, meter: &str, at: Timestamp) -> bool {
        self.spec.meter == meter
            && self.in_force(at)
            && self.period_start <= at
            && at < self.period_end
    }

    pub fn status(&self) -> &'static str {
        match self.end {
            Some(End::Expired) => "expired",
            Some(End::Refunded) => "refunded",
            None if self.left == 0 => "exhausted",
            None => "active",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Open,
    /// Timed out, or left with nothing when the plans holding it expired.
    Lapsed,
    /// Committed or released.
    Gone,
}

#[derive(Debug, Clone)]
pub struct Reservation {
    pub product: &'static str,
    /// (plan order, units) in deduction order.
    pub takes: Vec<(u64, u64)>,
    pub at: Timestamp,
    pub expires: Timestamp,
    pub state: Held,
}

impl Reservation {
    pub fn held(&self) -> u64 {
        self.takes.iter().map(|t| t.1).sum()
    }
}

/// Rated usage of one meter in one hour, waiting for its bill.
#[derive(Debug, Clone)]
struct Accrual {
    product: &'static str,
    meter: &'static str,
    hour: Timestamp,
    quantity: u64,
    /// PAYG-2: the run that bills it: the hour's close, or for an hour already closed when the
    /// usage arrived (a late event), the next close after that.
    bill_at: Timestamp,
}

/// One product under overdue (OVD-2…5).
#[derive(Debug, Clone, Default)]
pub struct Service {
    /// The impact was applied in the current episode.
    applied: bool,
    pub stopped_at: Option<Timestamp>,
    pub released: bool,
    warned: bool,
    stop_warning_at: Option<Timestamp>,
    stop_at: Option<Timestamp>,
    release_warning_at: Option<Timestamp>,
    release_at: Option<Timestamp>,
}

/// Notices the model predicts, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notices {
    pub bill_issued: usize,
    pub account_overdue: usize,
    pub account_restored: usize,
    pub plan_exhausted: usize,
    pub plan_expiring: usize,
    pub plan_expired: usize,
    pub service_stop_warning: usize,
    pub service_stopped: usize,
    pub service_restored: usize,
    pub release_warning: usize,
    pub released: usize,
}

/// What became of a usage event: the takes (plan order, units) and the pay-as-you-go part.
pub type Split = (Vec<(u64, u64)>, u64, Decimal);

#[derive(Debug, Clone)]
pub struct Oracle {
    pub now: Timestamp,
    pub verified: bool,
    pub cash: Decimal,
    /// (bill number, what it still owes) of each partly paid bill, oldest first; never zero.
    pub bills: Vec<(u64, Decimal)>,
    pub plans: Vec<Plan>,
    pub reservations: Vec<Reservation>,
    pub activated: BTreeSet<&'static str>,
    accruals: Vec<Accrual>,
    /// Products that ever had usage taken from plans or rated (PAYG-4 statistics).
    used: BTreeSet<&'static str>,
    /// PLAN-5, PLAN-7: `plan.exhausted` went out in the product's current period.
    exhausted: BTreeSet<&'static str>,
    pub overdue_since: Option<Timestamp>,
    pub services: BTreeMap<&'static str, Service>,
    pub notices: Notices,
}

/// One time-driven thing the oracle does, with the key that orders it among those due at the
/// same instant (the scheduler runs in (instant, key) order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Bill(&'static str),
    OverdueRelease(&'static str),
    OverdueReleaseWarning(&'static str),
    OverdueStop(&'static str),
    OverdueStopWarning(&'static str),
    PlanExpiry(usize),
    PlanReminder(usize),
    PlanReset(usize),
    ReservationTimeout(usize),
}

impl Due {
    fn key(&self) -> String {
        match self {
            Due::Bill(p) => format!("bill:{p}"),
            Due::OverdueRelease(p) => format!("overdue_release:{p}"),
            Due::OverdueReleaseWarning(p) => format!("overdue_release_warning:{p}"),
            Due::OverdueStop(p) => format!("overdue_stop:{p}"),
            Due::OverdueStopWarning(p) => format!("overdue_stop_warning:{p}"),
            Due::PlanExpiry(i) => format!("plan_expiry:p{}", i + 1),
            Due::PlanReminder(i) => format!("plan_reminder:p{}", i + 1),
            Due::PlanReset(i) => format!("plan_reset:p{}", i + 1),
            Due::ReservationTimeout(i) => format!("reservation_timeout:r{}", i + 1),
        }
    }
}

impl Oracle {
    pub fn new(now: Timestamp, verified: bool, cash: Decimal) -> Oracle {
        Oracle {
            now,
            verified,
            cash,
            bills: Vec::new(),
            plans: Vec::new(),
            reservations: Vec::new(),
            activated: BTreeSet::new(),
            accruals: Vec::new(),
            used: BTreeSet::new(),
            exhausted: BTreeSet::new(),
            overdue_since: None,
            services: PRODUCTS.iter().map(|p| (*p, Service::default())).collect(),
            notices: Notices::default(),
        }
    }

    pub fn unpaid(&self) -> Decimal {
        self.bills.iter().map(|b| b.1).sum()
    }

    fn overdue(&self) -> bool {
        !self.bills.is_empty()
    }

    // ---- commands -------------------------------------------------------------------------

    pub fn verify(&mut self) {
        self.verified = true;
    }

    /// ACC-5: cash in, then the bills oldest first; settling the last ends the episode.
    pub fn top_up(&mut self, amount: Decimal) {
        let was_overdue = self.overdue();
        self.cash += amount;
        for (_, owed) in &mut self.bills {
            let pay = (*owed).min(self.cash);
            *owed -= pay;
            self.cash -= pay;
        }
        self.bills.retain(|b| b.1 > Decimal::ZERO);
        if was_overdue && !self.overdue() {
            self.end_episode();
        }
    }

    /// PAYG-1.
    pub fn activate(&mut self, product: &'static str) -> Result<(), ErrorCode> {
        if needs_verified(product) && !self.verified {
            return Err(ErrorCode::IdentityNotVerified);
        }
        self.activated.insert(product);
        Ok(())
    }

    /// PLAN-2: identity, then no unpaid bills, then the price from cash, refused whole.
    pub fn buy(&mut self, spec: &'static Spec) -> Result<u64, ErrorCode> {
        if needs_verified(spec.product) && !self.verified {
            return Err(ErrorCode::IdentityNotVerified);
        }
        if self.overdue() {
            return Err(ErrorCode::AccountOverdue);
        }
        let price = Decimal::new(spec.price_cents, 2);
        if self.cash < price {
            return Err(ErrorCode::InsufficientFunds);
        }
        self.cash -= price;
        let now = self.now;
        let expires = add_months(now, spec.months);
        let period_end = if spec.daily {
            next_midnight(now).min(expires)
        } else {
            expires
        };
        let reminder = plus(expires, -REMINDER_BEFORE_SECONDS);
        let order = self.plans.len() as u64 + 1;
        self.plans.push(Plan {
            spec,
            order,
            bought_at: now,
            effective: now,
            expires,
            period_start: now,
            period_end,
            periods: 1,
            consumed: 0,
            reserved: 0,
            expired: 0,
            left: spec.quota,
            end: None,
            paid: price,
            reminder_at: (reminder >= now).then_some(reminder),
        });
        // PLAN-7: more quota re-arms exhaustion.
        self.exhausted.remove(spec.product);
        Ok(order)
    }

    /// PLAN-12: an unused, unexpired, refundable plan, whole, cash back.
    pub fn refund(&mut self, i: usize) -> Result<(), ErrorCode> {
        let now = self.now;
        let p = &mut self.plans[i];
        if !p.spec.refundable
            || p.end.is_some()
            || now >= p.expires
            || p.consumed > 0
            || p.reserved > 0
        {
            return Err(ErrorCode::NotRefundable);
        }
        p.expired += p.left;
        p.left = 0;
        p.end = Some(End::Refunded);
        self.cash += p.paid;
        Ok(())
    }

    /// PLAN-3: the plans covering `meter` at `at` with something left, in deduction order,
    /// taken greedily.
    fn split(&self, meter: &str, quantity: u64, at: Timestamp) -> (Vec<(usize, u64)>, u64) {
        let mut candidates: Vec<usize> = (0..self.plans.len())
            .filter(|&i| self.plans[i].covers(meter, at) && self.plans[i].left > 0)
            .collect();
        candidates.sort_by_key(|&i| self.plans[i].order_key());
        let mut rest = quantity;
        let mut takes = Vec::new();
        for i in candidates {
            if rest == 0 {
                break;
            }
            let q = rest.min(self.plans[i].left);
            takes.push((i, q));
            rest -= q;
        }
        (takes, rest)
    }

    /// OVD-2: usage at `at` of a product stopped for overdue: released, or at or after the
    /// current episode's stop instant.
    fn stopped(&self, product: &str, at: Timestamp) -> bool {
        self.services[product].released
            || self
                .overdue_since
                .is_some_and(|since| at >= plus(since, stop_delay_seconds(product)))
    }

    /// USE-1, PLAN-3…5, PAYG-2: one usage event applied now.
    pub fn usage(
        &mut self,
        meter: &'static str,
        quantity: u64,
        at: Timestamp,
    ) -> Result<Split, ErrorCode> {
        let now = self.now;
        if at > plus(now, FUTURE_TOLERANCE_SECONDS) {
            return Err(ErrorCode::InvalidInput);
        }
        if at < plus(now, -LATE_WINDOW_SECONDS) {
            return Err(ErrorCode::LateEvent);
        }
        let product = product_of(meter);
        if self.stopped(product, at) {
            return Err(ErrorCode::ServiceStopped);
        }
        let (takes, overflow) = self.split(meter, quantity, at);
        if overflow > 0 {
            let stop = self
                .plans
                .iter()
                .any(|p| p.spec.meter == meter && p.in_force(at) && p.spec.stop_before_excess);
            if stop {
                self.note_exhausted(product);
                return Err(ErrorCode::QuotaExhausted);
            }
            if activation_required(product) && !self.activated.contains(product) {
                return Err(ErrorCode::PaygNotActivated);
            }
        }
        for &(i, q) in &takes {
            self.plans[i].left -= q;
            self.plans[i].consumed += q;
        }
        if overflow > 0 {
            let hour = hour_start(at);
            let close = plus(hour, HOUR_SECONDS);
            let bill_at = if close > now { close } else { next_hour(now) };
            match self
                .accruals
                .iter_mut()
                .find(|a| a.meter == meter && a.hour == hour)
            {
                Some(a) => a.quantity += overflow,
                None => self.accruals.push(Accrual {
                    product,
                    meter,
                    hour,
                    quantity: overflow,
                    bill_at,
                }),
            }
        }
        let from_plans: u64 = takes.iter().map(|t| t.1).sum();
        if from_plans + overflow > 0 {
            self.used.insert(product);
        }
        if from_plans > 0 {
            self.after_usage(product);
        }
        let takes = takes
            .into_iter()
            .map(|(i, q)| (self.plans[i].order, q))
            .collect();
        Ok((takes, overflow, price_of(meter) * Decimal::from(overflow)))
    }

    /// PLAN-10: holds plan quota now, whole or not at all. Returns the reservation's index.
    pub fn reserve(
        &mut self,
        meter: &'static str,
        quantity: u64,
        timeout_seconds: i64,
    ) -> Result<usize, ErrorCode> {
        if quantity == 0 {
            return Err(ErrorCode::InvalidInput);
        }
        let product = product_of(meter);
        let now = self.now;
        if self.stopped(product, now) {
            return Err(ErrorCode::ServiceStopped);
        }
        let (takes, uncovered) = self.split(meter, quantity, now);
        if uncovered > 0 {
            return Err(ErrorCode::QuotaExhausted);
        }
        for &(i, q) in &takes {
            self.plans[i].left -= q;
            self.plans[i].reserved += q;
        }
        self.reservations.push(Reservation {
            product,
            takes: takes
                .into_iter()
                .map(|(i, q)| (self.plans[i].order, q))
                .collect(),
            at: now,
            expires: plus(now, timeout_seconds),
            state: Held::Open,
        });
        Ok(self.reservations.len() - 1)
    }

    fn check_open(&self, r: usize) -> Result<(), ErrorCode> {
        let res = &self.reservations[r];
        match res.state {
            Held::Gone => Err(ErrorCode::NotFound),
            Held::Lapsed => Err(ErrorCode::ReservationExpired),
            Held::Open if self.now >= res.expires => Err(ErrorCode::ReservationExpired),
            Held::Open => Ok(()),
        }
    }

    /// PLAN-10: uses the first `quantity` held units (in deduction order), gives back the rest.
    pub fn commit(&mut self, r: usize, quantity: u64) -> Result<Vec<(u64, u64)>, ErrorCode> {
        self.check_open(r)?;
        let res = self.reservations[r].clone();
        if quantity > res.held() {
            return Err(ErrorCode::InvalidInput);
        }
        if self.stopped(res.product, self.now) {
            return Err(ErrorCode::ServiceStopped);
        }
        let mut rest = quantity;
        let mut used = Vec::new();
        let mut back = Vec::new();
        for &(order, q) in &res.takes {
            let u = q.min(rest);
            rest -= u;
            if u > 0 {
                used.push((order, u));
            }
            if q > u {
                back.push((order, q - u));
            }
        }
        for &(order, q) in &used {
            let p = &mut self.plans[order as usize - 1];
            p.reserved -= q;
            p.consumed += q;
        }
        self.give_back(&res, &back);
        self.reservations[r].state = Held::Gone;
        self.reservations[r].takes.clear();
        if quantity > 0 {
            self.used.insert(res.product);
            self.after_usage(res.product);
        }
        Ok(used)
    }

    /// PLAN-10: gives every held unit back.
    pub fn release(&mut self, r: usize) -> Result<(), ErrorCode> {
        self.check_open(r)?;
        let res = self.reservations[r].clone();
        self.give_back(&res, &res.takes);
        self.reservations[r].state = Held::Gone;
        self.reservations[r].takes.clear();
        Ok(())
    }

    /// Held units go back to their plan, unless the plan's period they were held in has ended
    /// since (PLAN-11: nothing carries over): then they are forfeited.
    fn give_back(&mut self, res: &Reservation, takes: &[(u64, u64)]) {
        for &(order, q) in takes {
            let p = &mut self.plans[order as usize - 1];
            p.reserved -= q;
            if p.period_start > res.at {
                p.expired += q;
            } else {
                p.left += q;
            }
        }
    }

    /// PLAN-5, PLAN-7: after usage took quota: nothing left in the product's live plans.
    fn after_usage(&mut self, product: &'static str) {
        let left: u64 = self
            .plans
            .iter()
            .filter(|p| p.spec.product == product && p.end.is_none())
            .map(|p| p.left)
            .sum();
        if left == 0 {
            self.note_exhausted(product);
        }
    }

    fn note_exhausted(&mut self, product: &'static str) {
        if self.exhausted.insert(product) {
            self.notices.plan_exhausted += 1;
        }
    }

    // ---- time -----------------------------------------------------------------------------

    /// TIME-3: everything due up to and including `to`, in (instant, key) order.
    pub fn advance_to(&mut self, to: Timestamp) {
        while let Some((at, due)) = self.next_due() {
            if at > to {
                break;
            }
            assert!(at >= self.now, "the oracle never looks back");
            self.now = at;
            self.run(due);
        }
        self.now = to;
    }

    fn next_due(&self) -> Option<(Timestamp, Due)> {
        let mut all: Vec<(Timestamp, Due)> = Vec::new();
        for product in PRODUCTS {
            let first = self
                .accruals
                .iter()
                .filter(|a| a.product == product)
                .map(|a| a.bill_at)
                .min();
            if let Some(at) = first {
                all.push((at, Due::Bill(product)));
            }
        }
        for (product, s) in &self.services {
            let dues = [
                (s.release_at, Due::OverdueRelease(product)),
                (s.release_warning_at, Due::OverdueReleaseWarning(product)),
                (s.stop_at, Due::OverdueStop(product)),
                (s.stop_warning_at, Due::OverdueStopWarning(product)),
            ];
            all.extend(dues.into_iter().filter_map(|(at, d)| at.map(|at| (at, d))));
        }
        for (i, p) in self.plans.iter().enumerate() {
            if p.end.is_some() {
                continue;
            }
            all.push((p.expires, Due::PlanExpiry(i)));
            if let Some(at) = p.reminder_at {
                all.push((at, Due::PlanReminder(i)));
            }
            if p.spec.daily && p.period_end < p.expires {
                all.push((p.period_end, Due::PlanReset(i)));
            }
        }
        for (i, r) in self.reservations.iter().enumerate() {
            if r.state == Held::Open {
                all.push((r.expires, Due::ReservationTimeout(i)));
            }
        }
        all.into_iter().min_by_key(|(at, d)| (*at, d.key()))
    }

    fn run(&mut self, due: Due) {
        let now = self.now;
        match due {
            Due::Bill(product) => {
                self.bill(product);
                self.apply_overdue_impacts();
            }
            Due::OverdueStopWarning(product) => {
                self.service(product).stop_warning_at = None;
                self.stop_warning(product);
            }
            Due::OverdueStop(product) => {
                self.service(product).stop_at = None;
                self.stop(product);
            }
            Due::OverdueReleaseWarning(product) => {
                let s = self.services.get_mut(product).expect("a model product");
                s.release_warning_at = None;
                if s.stopped_at.is_some() && !s.released {
                    self.notices.release_warning += 1;
                }
            }
            Due::OverdueRelease(product) => {
                let s = self.services.get_mut(product).expect("a model product");
                s.release_at = None;
                if s.stopped_at.is_some() && !s.released {
                    s.released = true;
                    self.notices.released += 1;
                }
            }
            Due::PlanExpiry(i) => self.expire(i),
            Due::PlanReminder(i) => {
                let p = &mut self.plans[i];
                p.reminder_at = None;
                if p.end.is_none() {
                    self.notices.plan_expiring += 1;
                }
            }
            Due::PlanReset(i) => {
                // PLAN-11: the rest is forfeited, the full quota comes back, nothing carries.
                let p = &mut self.plans[i];
                p.expired += p.left;
                p.left = p.spec.quota;
                p.periods += 1;
                p.period_start = now;
                p.period_end = next_midnight(now).min(p.expires);
                let product = p.spec.product;
                self.exhausted.remove(product);
            }
            Due::ReservationTimeout(i) => {
                let res = self.reservations[i].clone();
                self.give_back(&res, &res.takes);
                self.reservations[i].state = Held::Lapsed;
                self.reservations[i].takes.clear();
            }
        }
    }

    /// PLAN-6: the rest, held units included, is forfeited; reservations lose what it held.
    fn expire(&mut self, i: usize) {
        let p = &mut self.plans[i];
        p.expired += p.left + p.reserved;
        p.left = 0;
        p.reserved = 0;
        p.end = Some(End::Expired);
        let order = p.order;
        self.notices.plan_expired += 1;
        for r in &mut self.reservations {
            if r.state != Held::Open {
                continue;
            }
            r.takes.retain(|t| t.0 != order);
            if r.takes.is_empty() {
                r.state = Held::Lapsed;
            }
        }
    }

    /// PAYG-2, PAYG-3: one line per meter and hour closed by now, each rounded; the total is
    /// taken from cash, the rest stays unpaid.
    fn bill(&mut self, product: &'static str) {
        let close = self.now;
        let (due, rest): (Vec<Accrual>, Vec<Accrual>) = std::mem::take(&mut self.accruals)
            .into_iter()
            .partition(|a| a.product == product && plus(a.hour, HOUR_SECONDS) <= close);
        self.accruals = rest;
        let total: Decimal = due
            .iter()
            .map(|a| round_line(price_of(a.meter) * Decimal::from(a.quantity)))
            .sum();
        if total <= Decimal::ZERO {
            return;
        }
        self.notices.bill_issued += 1;
        let was_overdue = self.overdue();
        let paid = total.min(self.cash);
        self.cash -= paid;
        if total > paid {
            self.bills
                .push((self.notices.bill_issued as u64, total - paid));
            if !was_overdue {
                self.notices.account_overdue += 1;
                self.overdue_since = Some(close);
            }
        }
    }

    /// OVD-2: products in use: a live plan, activation, an open reservation, or usage ever.
    fn in_use(&self, product: &str) -> bool {
        self.activated.contains(product)
            || self.used.contains(product)
            || self
                .plans
                .iter()
                .any(|p| p.spec.product == product && p.end.is_none())
            || self
                .reservations
                .iter()
                .any(|r| r.product == product && r.state == Held::Open)
    }

    /// OVD-2: after each bill run, every product in use gets the episode's impact once: a
    /// stop now if its stop instant has come, else a warning and a stop at that instant.
    fn apply_overdue_impacts(&mut self) {
        let Some(since) = self.overdue_since else {
            return;
        };
        let now = self.now;
        for product in PRODUCTS {
            if !self.in_use(product) {
                continue;
            }
            let s = self.service(product);
            if s.applied || s.released {
                continue;
            }
            s.applied = true;
            let stop_at = plus(since, stop_delay_seconds(product));
            if stop_at <= now {
                self.stop(product);
                continue;
            }
            let warn_at = plus(stop_at, -STOP_WARNING_BEFORE_SECONDS);
            let s = self.service(product);
            s.stop_at = Some(stop_at);
            if warn_at > now {
                s.stop_warning_at = Some(warn_at);
            } else {
                self.stop_warning(product);
            }
        }
    }

    fn stop_warning(&mut self, product: &'static str) {
        let s = self.services.get_mut(product).expect("a model product");
        if !s.warned {
            s.warned = true;
            self.notices.service_stop_warning += 1;
        }
    }

    /// OVD-2, OVD-3: stops now, once; release 15 days later, warned 3 days before.
    fn stop(&mut self, product: &'static str) {
        let now = self.now;
        let s = self.services.get_mut(product).expect("a model product");
        if s.stopped_at.is_some() || s.released {
            return;
        }
        s.stopped_at = Some(now);
        let release = plus(now, RELEASE_AFTER_SECONDS);
        s.release_at = Some(release);
        s.release_warning_at = Some(plus(release, -RELEASE_WARNING_BEFORE_SECONDS).max(now));
        self.notices.service_stopped += 1;
    }

    /// OVD-4, ACC-5: the last bill was settled: what overdue stopped (not released) runs again
    /// and whatever it had scheduled is void.
    fn end_episode(&mut self) {
        self.overdue_since = None;
        self.notices.account_restored += 1;
        let mut restored = 0;
        for s in self.services.values_mut() {
            if s.stopped_at.is_some() && !s.released {
                s.stopped_at = None;
                restored += 1;
            }
            *s = Service {
                stopped_at: s.stopped_at,
                released: s.released,
                ..Service::default()
            };
        }
        self.notices.service_restored += restored;
    }

    fn service(&mut self, product: &str) -> &mut Service {
        self.services.get_mut(product).expect("a model product")
    }
}
