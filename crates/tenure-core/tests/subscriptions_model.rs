//! SUB-1…4, SUB-6 model-based: random sequences of subscribe, renew, set_renewal, top_up and
//! advance on cloud phones (`phone-std`: 99.00 a month, 990.00 a year; auto-renewal from 7 days
//! before the expiry day at 03:00; grace 15 days, retention 15 days) against a small oracle of
//! the state machine, the calendar arithmetic and the money, compared after every step.
//!
//! The oracle is written from the rules, not from the code: an instance is active until its
//! expiry, then in grace for 15 days, in retention for 15 more, then released. In `auto` mode
//! an attempt is made at 03:00 on each day from 7 days before the expiry day to the day before
//! it, and at once when auto-renewal starts after the first attempt time, once per day; it pays
//! from cash only (no coupons or credit line here) and extends by the period.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashSet;
use tenure_core::account::{AccountPolicy, AccountState, Effects, OpenAccount};
use tenure_core::catalog::{Catalog, demo};
use tenure_core::due::DueAction;
use tenure_core::ids::{AccountId, SubscriptionId};
use tenure_core::ledger::{Books, JournalTx};
use tenure_core::subscription::{RenewalMode, SubStatus};
use tenure_core::{Currency, ErrorCode, Span};

const P: AccountPolicy = AccountPolicy {
    low_balance_notices: 5,
    low_balance_repeat: Span::days(1),
};

/// At most this many instances per run (ids s1…s9 sort as their keys do).
const SUBS_MAX: usize = 9;

const TERMS: [&str; 7] = [
    "1 month",
    "2 months",
    "3 months",
    "9 months",
    "1 year",
    "10 months",
    "2 weeks",
];

#[derive(Debug, Clone, Copy)]
enum Mode {
    Manual,
    AutoMonth,
    AutoYear,
    AutoTwoMonths,
    Canceled,
}

impl Mode {
    fn to_mode(self) -> RenewalMode {
        match self {
            Mode::Manual => RenewalMode::Manual,
            Mode::AutoMonth => RenewalMode::Auto {
                period: Span::months(1),
            },
            Mode::AutoYear => RenewalMode::Auto {
                period: Span::years(1),
            },
            Mode::AutoTwoMonths => RenewalMode::Auto {
                period: Span::months(2),
            },
            Mode::Canceled => RenewalMode::Canceled,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    TopUp(u32),
    Subscribe { term: usize, mode: Mode },
    Renew { sub: usize, term: usize },
    SetMode { sub: usize, mode: Mode },
    Advance { minutes: i64 },
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        3 => Just(Mode::Manual),
        4 => Just(Mode::AutoMonth),
        1 => Just(Mode::AutoYear),
        1 => Just(Mode::AutoTwoMonths),
        1 => Just(Mode::Canceled),
    ]
}

/// An instance index: mostly the first few, so commands find something to act on.
fn sub() -> impl Strategy<Value = usize> {
    prop_oneof![6 => 0..2usize, 3 => 0..4usize, 1 => 0..SUBS_MAX]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u32..2500).prop_map(Op::TopUp),
        2 => (0..TERMS.len(), mode()).prop_map(|(term, mode)| Op::Subscribe { term, mode }),
        3 => (sub(), 0..TERMS.len()).prop_map(|(sub, term)| Op::Renew { sub, term }),
        3 => (sub(), mode()).prop_map(|(sub, mode)| Op::SetMode { sub, mode }),
        2 => (1i64..180).prop_map(|minutes| Op::Advance { minutes }),
        3 => (60i64..4 * 24 * 60).prop_map(|minutes| Op::Advance { minutes }),
        3 => (24 * 60i64..40 * 24 * 60).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

// ---- the oracle ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct OSub {
    status: SubStatus,
    expires_at: Timestamp,
    mode: RenewalMode,
    /// Days attempted for the current expiry.
    attempted: Vec<Date>,
    /// Since when auto-renewal has run for the current expiry (mode set, or term started).
    auto_since: Timestamp,
    paid: Decimal,
}

#[derive(Debug, Clone, Copy)]
enum Due {
    Attempt,
    Expiry,
    GraceEnd,
    Release,
}

struct Oracle {
    tz: TimeZone,
    now: Timestamp,
    cash: Decimal,
    subs: Vec<OSub>,
}

fn price(term: &str) -> Option<Decimal> {
    let (n, unit) = term.split_once(' ')?;
    let n: i64 = n.parse().ok()?;
    match unit {
        "month" | "months" if (1..=9).contains(&n) => Some(Decimal::from(99 * n)),
        "year" | "years" if (1..=3).contains(&n) => Some(Decimal::from(990 * n)),
        _ => None,
    }
}

fn period_price(mode: RenewalMode) -> Option<Decimal> {
    match mode {
        RenewalMode::Auto { period } if period == Span::months(1) => Some(Decimal::from(99)),
        RenewalMode::Auto { period } if period == Span::years(1) => Some(Decimal::from(990)),
        _ => None,
    }
}

impl Oracle {
    fn add(&self, at: Timestamp, term: &str) -> Timestamp {
        let (n, unit) = term.split_once(' ').unwrap();
        let n: i64 = n.parse().unwrap();
        let span = match unit {
            "month" | "months" => n.months(),
            "year" | "years" => n.years(),
            "days" => n.days(),
            _ => unreachable!(),
        };
        at.to_zoned_datetime(self.tz.clone())
            .checked_add(span)
            .unwrap()
            .timestamp()
    }

    fn date(&self, at: Timestamp) -> Date {
        at.to_zoned_datetime(self.tz.clone()).date()
    }

    fn at_three(&self, day: Date) -> Timestamp {
        day.at(3, 0, 0, 0)
            .to_zoned_datetime(self.tz.clone())
            .unwrap()
            .timestamp()
    }

    fn check_mode(mode: RenewalMode) -> Result<(), ErrorCode> {
        match mode {
            RenewalMode::Auto { .. } if period_price(mode).is_none() => Err(ErrorCode::InvalidTerm),
            _ => Ok(()),
        }
    }

    fn subscribe(&mut self, term: &str, mode: RenewalMode) -> Result<(), ErrorCode> {
        let price = price(term).ok_or(ErrorCode::InvalidTerm)?;
        Oracle::check_mode(mode)?;
        if self.cash < price {
            return Err(ErrorCode::InsufficientFunds);
        }
        self.cash -= price;
        let expires_at = self.add(self.now, term);
        self.subs.push(OSub {
            status: SubStatus::Active,
            expires_at,
            mode,
            attempted: Vec::new(),
            auto_since: self.now,
            paid: price,
        });
        Ok(())
    }

    fn renew(&mut self, i: usize, term: &str) -> Result<(), ErrorCode> {
        if self.subs[i].status == SubStatus::Released {
            return Err(ErrorCode::NotRenewable);
        }
        let price = price(term).ok_or(ErrorCode::InvalidTerm)?;
        if self.cash < price {
            return Err(ErrorCode::InsufficientFunds);
        }
        self.cash -= price;
        let expires_at = self.add(self.subs[i].expires_at, term);
        let now = self.now;
        let s = &mut self.subs[i];
        s.expires_at = expires_at;
        s.status = SubStatus::Active;
        s.attempted.clear();
        s.auto_since = now;
        s.paid += price;
        Ok(())
    }

    fn set_mode(&mut self, i: usize, mode: RenewalMode) -> Result<(), ErrorCode> {
        if self.subs[i].status == SubStatus::Released {
            return Err(ErrorCode::NotRenewable);
        }
        Oracle::check_mode(mode)?;
        self.subs[i].mode = mode;
        self.subs[i].auto_since = self.now;
        Ok(())
    }

    /// The next thing that happens to instance `i`, if any.
    fn next(&self, i: usize) -> Option<(Timestamp, Due)> {
        let s = &self.subs[i];
        match s.status {
            SubStatus::Active => {
                let expiry = (s.expires_at, Due::Expiry);
                Some(self.next_attempt(s).map_or(expiry, |at| (at, Due::Attempt)))
            }
            SubStatus::Grace => Some((self.add(s.expires_at, "15 days"), Due::GraceEnd)),
            SubStatus::Retention => {
                let grace_end = self.add(s.expires_at, "15 days");
                Some((self.add(grace_end, "15 days"), Due::Release))
            }
            _ => None,
        }
    }

    fn next_attempt(&self, s: &OSub) -> Option<Timestamp> {
        if !matches!(s.mode, RenewalMode::Auto { .. }) {
            return None;
        }
        let day = self.date(s.expires_at);
        let first = day.checked_sub(7.days()).unwrap();
        let last = day.checked_sub(1.days()).unwrap();
        let first_at = self.at_three(first);
        // At once, when auto-renewal starts after the first attempt time.
        let at_once = (s.auto_since >= first_at
            && s.auto_since < s.expires_at
            && !s.attempted.contains(&self.date(s.auto_since)))
        .then_some(s.auto_since);
        let mut d = first;
        let mut daily = None;
        while d <= last {
            let at = self.at_three(d);
            if !s.attempted.contains(&d) && at >= s.auto_since && at < s.expires_at {
                daily = Some(at);
                break;
            }
            d = d.tomorrow().unwrap();
        }
        match (at_once, daily) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn advance_to(&mut self, to: Timestamp) {
        loop {
            let next = (0..self.subs.len())
                .filter_map(|i| self.next(i).map(|(at, due)| (at, i, due)))
                .filter(|(at, _, _)| *at <= to)
                .min_by_key(|(at, i, _)| (*at, *i));
            let Some((at, i, due)) = next else {
                break;
            };
            let date = self.date(at);
            let (mode, expires_at) = (self.subs[i].mode, self.subs[i].expires_at);
            match due {
                Due::Attempt => {
                    self.subs[i].attempted.push(date);
                    let price = period_price(mode).unwrap();
                    if self.cash >= price {
                        let yearly = mode
                            == RenewalMode::Auto {
                                period: Span::years(1),
                            };
                        let new_expiry =
                            self.add(expires_at, if yearly { "1 year" } else { "1 month" });
                        self.cash -= price;
                        let s = &mut self.subs[i];
                        s.paid += price;
                        s.attempted.clear();
                        s.auto_since = at;
                        s.expires_at = new_expiry;
                    }
                }
                Due::Expiry => self.subs[i].status = SubStatus::Grace,
                Due::GraceEnd => self.subs[i].status = SubStatus::Retention,
                Due::Release => self.subs[i].status = SubStatus::Released,
            }
        }
        self.now = self.now.max(to);
    }
}

// ---- the system under test ----------------------------------------------------------------------

struct World {
    c: Catalog,
    a: AccountState,
    queue: Vec<DueAction>,
    keys: HashSet<String>,
    journal: Vec<JournalTx>,
    now: Timestamp,
}

impl World {
    fn take(&mut self, fx: Effects) {
        self.journal.extend(fx.journal);
        for due in fx.schedule {
            if self.keys.insert(due.key.clone()) {
                self.queue.push(due);
            }
        }
        assert_eq!(Books::rebuild(&self.journal), self.a.books);
    }

    /// Every due action up to `to`, in time order, ties in key order (instance ids), each at
    /// its own instant and each twice (TIME-4).
    fn advance_to(&mut self, to: Timestamp) {
        while let Some(i) = (0..self.queue.len())
            .filter(|&i| self.queue[i].due_at <= to)
            .min_by(|&i, &j| {
                let (a, b) = (&self.queue[i], &self.queue[j]);
                (a.due_at, &a.key).cmp(&(b.due_at, &b.key))
            })
        {
            let due = self.queue.remove(i);
            let fx = self.a.on_due(&due.kind, &self.c, &P, due.due_at);
            self.take(fx);
            let state = self.a.clone();
            let again = self.a.on_due(&due.kind, &self.c, &P, due.due_at);
            assert_eq!(again, Effects::default(), "{:?} ran twice", due.kind);
            assert_eq!(self.a, state, "{:?} ran twice", due.kind);
        }
        self.now = self.now.max(to);
    }
}

fn compare(w: &World, o: &Oracle, step: usize, op: &Op) -> Result<(), TestCaseError> {
    prop_assert_eq!(w.a.cash(), o.cash, "cash after step {} {:?}", step, op);
    prop_assert_eq!(w.a.subscriptions.len(), o.subs.len());
    for (s, m) in w.a.subscriptions.iter().zip(&o.subs) {
        prop_assert_eq!(
            s.status,
            m.status,
            "{} status after step {} {:?}",
            s.id,
            step,
            op
        );
        prop_assert_eq!(
            s.expires_at,
            Some(m.expires_at),
            "{} expiry after step {} {:?}",
            s.id,
            step,
            op
        );
        prop_assert_eq!(s.mode, m.mode, "{} mode after step {}", s.id, step);
        prop_assert_eq!(s.paid_total, m.paid, "{} paid after step {}", s.id, step);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// SUB-1, SUB-2, SUB-3, SUB-4, SUB-6: status, expiry, mode, paid and cash agree with the
    /// oracle after every step, in a zone without DST and in one with it.
    #[test]
    fn sub_model_status_expiry_and_cash_follow_the_oracle(
        new_york in any::<bool>(),
        start_minute in 0i64..(24 * 60),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let zone = if new_york { "America/New_York" } else { "Asia/Shanghai" };
        let tz = TimeZone::get(zone).unwrap();
        let now: Timestamp = "2026-01-15T00:00:00Z".parse::<Timestamp>().unwrap()
            + jiff::SignedDuration::from_mins(start_minute);
        let a = AccountState::open(
            OpenAccount {
                id: AccountId::parse("acme").unwrap(),
                currency: Currency::CNY,
                zone: zone.into(),
                verified: true,
                credit_line: Decimal::ZERO,
                low_balance_threshold: None,
            },
            Currency::CNY,
            now,
        )
        .unwrap();
        let c = demo();
        let mut w = World { c: c.clone(), a, queue: Vec::new(), keys: HashSet::new(), journal: Vec::new(), now };
        let mut o = Oracle { tz, now, cash: Decimal::ZERO, subs: Vec::new() };
        let phone = c.product("phone").unwrap();
        let edition = phone.edition("phone-std").unwrap();
        for (step, op) in ops.iter().enumerate() {
            match *op {
                Op::TopUp(amount) => {
                    let amount = Decimal::from(amount);
                    let fx = w.a.top_up(&c, amount, &P, w.now).unwrap();
                    w.take(fx);
                    o.cash += amount;
                }
                Op::Subscribe { term, mode } => {
                    if o.subs.len() >= SUBS_MAX {
                        continue;
                    }
                    let got = w.a.subscribe(
                        phone,
                        edition,
                        Some(Span::parse(TERMS[term]).unwrap()),
                        mode.to_mode(),
                        1,
                        &P,
                        w.now,
                    );
                    let want = o.subscribe(TERMS[term], mode.to_mode());
                    match got {
                        Ok((id, fx)) => {
                            prop_assert_eq!(want, Ok(()), "subscribe {}", TERMS[term]);
                            prop_assert_eq!(id, SubscriptionId(o.subs.len() as u64));
                            w.take(fx);
                        }
                        Err(r) => prop_assert_eq!(want, Err(r.code), "subscribe {}", TERMS[term]),
                    }
                }
                Op::Renew { sub, term } => {
                    if sub >= o.subs.len() {
                        continue;
                    }
                    let id = SubscriptionId(sub as u64 + 1);
                    let term_span = Span::parse(TERMS[term]).unwrap();
                    let got = w.a.renew_subscription(phone, id, term_span, None, &P, w.now);
                    let want = o.renew(sub, TERMS[term]);
                    match got {
                        Ok((_, fx)) => {
                            prop_assert_eq!(want, Ok(()), "renew {} {}", id, TERMS[term]);
                            w.take(fx);
                        }
                        Err(r) => prop_assert_eq!(want, Err(r.code), "renew {} {}", id, TERMS[term]),
                    }
                }
                Op::SetMode { sub, mode } => {
                    if sub >= o.subs.len() {
                        continue;
                    }
                    let id = SubscriptionId(sub as u64 + 1);
                    let got = w.a.set_renewal_mode(phone, id, mode.to_mode(), w.now);
                    let want = o.set_mode(sub, mode.to_mode());
                    match got {
                        Ok(fx) => {
                            prop_assert_eq!(want, Ok(()), "set {} {:?}", id, mode);
                            w.take(fx);
                        }
                        Err(r) => prop_assert_eq!(want, Err(r.code), "set {} {:?}", id, mode),
                    }
                }
                Op::Advance { minutes } => {
                    let to = w.now + jiff::SignedDuration::from_mins(minutes);
                    w.advance_to(to);
                    o.advance_to(to);
                }
            }
            compare(&w, &o, step, op)?;
        }
    }
}
