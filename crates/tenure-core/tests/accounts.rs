//! ACC-2…7 on the pure account core: examples, then a model-based property test against a
//! simple oracle.

use jiff::Timestamp;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;
use tenure_core::account::{
    AccountPolicy, AccountState, AccountStatus, Charge, Effects, OpenAccount, PaySources,
};
use tenure_core::catalog::demo;
use tenure_core::due::DueKind;
use tenure_core::ids::{AccountId, CouponId};
use tenure_core::ledger::Books;
use tenure_core::message::{Audience, MessageKind};
use tenure_core::{Currency, ErrorCode, Span};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn t0() -> Timestamp {
    "2026-03-01T09:00:00+08:00".parse().unwrap()
}

fn open(credit: &str, threshold: Option<&str>) -> AccountState {
    AccountState::open(
        OpenAccount {
            id: AccountId::parse("acme").unwrap(),
            currency: Currency::CNY,
            zone: "Asia/Shanghai".into(),
            verified: false,
            credit_line: d(credit),
            low_balance_threshold: threshold.map(d),
        },
        Currency::CNY,
        t0(),
    )
    .unwrap()
}

fn ch(product: &str, amount: Decimal, sources: PaySources, kind: &str) -> Charge {
    Charge {
        product: product.into(),
        amount,
        sources,
        kind: kind.into(),
        data: serde_json::json!({}),
    }
}

fn notices(fx: &Effects, kind: MessageKind) -> usize {
    fx.messages
        .iter()
        .filter(|m| m.audience == Audience::Notice && m.kind == kind)
        .count()
}

const P: AccountPolicy = AccountPolicy {
    low_balance_notices: 5,
    low_balance_repeat: Span::days(1),
};

#[test]
fn acc_3_available_credit_is_cash_plus_credit_line_minus_unpaid_without_coupons() {
    let mut a = open("50.00", None);
    a.top_up(&demo(), d("20.00"), &P, t0()).unwrap();
    a.grant_coupon(d("30.00"), None, None, t0()).unwrap();
    assert_eq!(a.available(), d("70.00"));
    // A bill of 100: 20 cash + 50 credit paid, 30 unpaid.
    let (_, split, _) = a
        .issue_bill("sms", d("100.00"), serde_json::json!({}), &P, t0())
        .unwrap();
    // The coupon pays first (ACC-4), so only 70 were needed from cash and credit.
    assert_eq!(split.coupon.map(|c| c.1), Some(d("30.00")));
    assert_eq!(split.cash, d("20.00"));
    assert_eq!(split.credit, d("50.00"));
    assert_eq!(split.unpaid, d("0"));
    assert_eq!(a.cash(), d("-50.00"));
    assert_eq!(a.available(), d("0.00"));
    let (_, split, fx) = a
        .issue_bill("sms", d("10.00"), serde_json::json!({}), &P, t0())
        .unwrap();
    assert_eq!(split.unpaid, d("10.00"));
    assert_eq!(a.unpaid(), d("10.00"));
    assert_eq!(a.available(), d("-10.00"));
    assert_eq!(a.status(), AccountStatus::Overdue);
    assert_eq!(notices(&fx, MessageKind::AccountOverdue), 1);
}

#[test]
fn acc_4_one_coupon_largest_then_earliest_expiry_then_earliest_issued() {
    let mut a = open("0", None);
    a.top_up(&demo(), d("100.00"), &P, t0()).unwrap();
    let soon = Some("2026-04-01T00:00:00+08:00".parse().unwrap());
    let later = Some("2026-05-01T00:00:00+08:00".parse().unwrap());
    let (small, _) = a.grant_coupon(d("5.00"), None, None, t0()).unwrap();
    let (big_late, _) = a.grant_coupon(d("20.00"), None, later, t0()).unwrap();
    let (big_soon, _) = a.grant_coupon(d("20.00"), None, soon, t0()).unwrap();
    let (other_product, _) = a
        .grant_coupon(d("90.00"), Some(vec!["phone".into()]), None, t0())
        .unwrap();
    let split = a
        .payment_split("sms", d("30.00"), PaySources::ALL, false, t0())
        .unwrap();
    assert_eq!(
        split.coupon,
        Some((big_soon, d("20.00"))),
        "largest, then earliest expiry"
    );
    assert_eq!(split.cash, d("10.00"));
    let (_, _) = a
        .charge(ch("sms", d("30.00"), PaySources::ALL, "charge"), &P, t0())
        .unwrap();
    // Now big_late (20) is the largest for sms; the phone coupon never applies to sms.
    let split = a
        .payment_split("sms", d("1.00"), PaySources::ALL, false, t0())
        .unwrap();
    assert_eq!(split.coupon, Some((big_late, d("1.00"))));
    let split = a
        .payment_split("phone", d("1.00"), PaySources::ALL, false, t0())
        .unwrap();
    assert_eq!(split.coupon, Some((other_product, d("1.00"))));
    // Equal amounts, no expiry: earliest issued.
    let mut b = open("0", None);
    let (first, _) = b.grant_coupon(d("5.00"), None, None, t0()).unwrap();
    b.grant_coupon(d("5.00"), None, None, t0()).unwrap();
    assert_eq!(
        b.payment_split("x", d("1.00"), PaySources::ALL, false, t0())
            .unwrap()
            .coupon,
        Some((first, d("1.00")))
    );
    let _ = small;
}

#[test]
fn acc_4_a_charge_that_cannot_be_covered_is_rejected_whole() {
    let mut a = open("10.00", None);
    a.top_up(&demo(), d("20.00"), &P, t0()).unwrap();
    a.grant_coupon(d("5.00"), None, None, t0()).unwrap();
    let before = a.clone();
    let err = a
        .charge(ch("sms", d("35.01"), PaySources::ALL, "charge"), &P, t0())
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InsufficientFunds);
    assert_eq!(a, before, "nothing moved");
    // Exactly covered: coupon 5 + cash 20 + credit 10.
    let (split, _) = a
        .charge(ch("sms", d("35.00"), PaySources::ALL, "charge"), &P, t0())
        .unwrap();
    assert_eq!((split.cash, split.credit), (d("20.00"), d("10.00")));
    assert_eq!(a.cash(), d("-10.00"));
    // Auto-renewal may not use the credit line.
    let mut b = open("100.00", None);
    let err = b
        .charge(
            ch("sms", d("1.00"), PaySources::COUPON_AND_CASH, "renew"),
            &P,
            t0(),
        )
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InsufficientFunds);
}

#[test]
fn acc_5_top_up_settles_bills_oldest_first_and_restores() {
    let mut a = open("0", None);
    let (b1, _, _) = a
        .issue_bill("sms", d("3.00"), serde_json::json!({}), &P, t0())
        .unwrap();
    let (b2, _, fx) = a
        .issue_bill("sms", d("4.00"), serde_json::json!({}), &P, t0())
        .unwrap();
    assert_eq!(
        notices(&fx, MessageKind::AccountOverdue),
        0,
        "overdue notice once, at the first"
    );
    assert_eq!(a.unpaid(), d("7.00"));
    let fx = a.top_up(&demo(), d("5.00"), &P, t0()).unwrap();
    assert_eq!(a.unpaid(), d("2.00"), "b1 (3) paid whole, then 2 of b2");
    assert_eq!(
        a.open_bills.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![b2]
    );
    assert_eq!(notices(&fx, MessageKind::AccountRestored), 0);
    let fx = a.top_up(&demo(), d("10.00"), &P, t0()).unwrap();
    assert_eq!(a.status(), AccountStatus::Active);
    assert_eq!(a.cash(), d("8.00"));
    assert_eq!(notices(&fx, MessageKind::AccountRestored), 1);
    let _ = b1;
}

#[test]
fn acc_7_low_balance_notifies_then_daily_five_in_all_and_rearms() {
    let mut a = open("0", Some("10.00"));
    a.top_up(&demo(), d("50.00"), &P, t0()).unwrap();
    let (_, fx) = a
        .charge(ch("sms", d("45.00"), PaySources::ALL, "charge"), &P, t0())
        .unwrap();
    assert_eq!(notices(&fx, MessageKind::AccountLowBalance), 1);
    assert_eq!(fx.schedule.len(), 1);
    // Another charge while below does not notify again.
    let (_, fx) = a
        .charge(ch("sms", d("1.00"), PaySources::ALL, "charge"), &P, t0())
        .unwrap();
    assert_eq!(notices(&fx, MessageKind::AccountLowBalance), 0);
    // Run the repeats as the scheduler would.
    let mut pending = vec![(
        a.low_balance.epoch,
        2u32,
        Span::days(1).add_to(t0(), &a.time_zone()).unwrap(),
    )];
    let mut sent = 1;
    while let Some((epoch, n, at)) = pending.pop() {
        let fx = a.on_due(
            &DueKind::LowBalanceRepeat { epoch, n },
            &tenure_core::catalog::demo(),
            &P,
            at,
        );
        sent += notices(&fx, MessageKind::AccountLowBalance);
        for s in fx.schedule {
            if let DueKind::LowBalanceRepeat { epoch, n } = s.kind {
                pending.push((epoch, n, s.due_at));
            }
        }
        // Running the same action again changes nothing (TIME-4).
        let again = a.on_due(
            &DueKind::LowBalanceRepeat { epoch, n },
            &tenure_core::catalog::demo(),
            &P,
            at,
        );
        assert!(again.messages.is_empty());
    }
    assert_eq!(sent, 5, "five notices in all");
    // Rising above re-arms; falling again notifies again.
    a.top_up(&demo(), d("100.00"), &P, t0()).unwrap();
    assert!(a.low_balance.armed);
    let (_, fx) = a
        .charge(ch("sms", d("100.00"), PaySources::ALL, "charge"), &P, t0())
        .unwrap();
    assert_eq!(notices(&fx, MessageKind::AccountLowBalance), 1);
}

#[test]
fn acc_7_enabling_while_below_fires_nothing_until_the_balance_changes_and_none_once_overdue() {
    let mut a = open("0", None);
    a.top_up(&demo(), d("5.00"), &P, t0()).unwrap();
    let fx = a.set_low_balance_threshold(Some(d("10.00"))).unwrap();
    assert!(fx.messages.is_empty());
    let fx = a.top_up(&demo(), d("1.00"), &P, t0()).unwrap();
    assert_eq!(
        notices(&fx, MessageKind::AccountLowBalance),
        1,
        "the next change fires"
    );
    // Overdue: no low-balance notice, and a pending repeat stays silent.
    let mut b = open("0", Some("10.00"));
    let (_, _, fx) = b
        .issue_bill("sms", d("3.00"), serde_json::json!({}), &P, t0())
        .unwrap();
    assert_eq!(notices(&fx, MessageKind::AccountLowBalance), 0);
}

#[test]
fn coupon_expiry_forfeits_the_rest_once() {
    let mut a = open("0", None);
    let at: Timestamp = "2026-04-01T00:00:00+08:00".parse().unwrap();
    let (id, fx) = a.grant_coupon(d("8.00"), None, Some(at), t0()).unwrap();
    assert_eq!(fx.schedule[0].due_at, at);
    a.charge(ch("sms", d("3.00"), PaySources::ALL, "charge"), &P, t0())
        .unwrap();
    let fx = a.on_due(
        &DueKind::CouponExpiry { coupon: id },
        &tenure_core::catalog::demo(),
        &P,
        at,
    );
    assert_eq!(fx.journal.len(), 1);
    assert_eq!(a.coupon_remaining(id), d("0"));
    assert!(
        a.on_due(
            &DueKind::CouponExpiry { coupon: id },
            &tenure_core::catalog::demo(),
            &P,
            at
        )
        .journal
        .is_empty()
    );
    // An expired coupon never pays, even before its action ran.
    let mut b = open("0", None);
    b.grant_coupon(d("8.00"), None, Some(at), t0()).unwrap();
    let err = b
        .payment_split("sms", d("1.00"), PaySources::ALL, false, at)
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InsufficientFunds);
}

#[test]
fn open_refuses_bad_values() {
    let base = OpenAccount {
        id: AccountId::parse("a").unwrap(),
        currency: Currency::CNY,
        zone: "Asia/Shanghai".into(),
        verified: false,
        credit_line: d("0"),
        low_balance_threshold: None,
    };
    let bad_zone = OpenAccount {
        zone: "Nowhere/City".into(),
        ..base.clone()
    };
    assert_eq!(
        AccountState::open(bad_zone, Currency::CNY, t0())
            .unwrap_err()
            .code,
        ErrorCode::InvalidInput
    );
    let usd = OpenAccount {
        currency: Currency::parse("USD").unwrap(),
        ..base.clone()
    };
    assert_eq!(
        AccountState::open(usd, Currency::CNY, t0())
            .unwrap_err()
            .code,
        ErrorCode::InvalidInput
    );
    let neg = OpenAccount {
        credit_line: d("-1"),
        ..base.clone()
    };
    assert!(AccountState::open(neg, Currency::CNY, t0()).is_err());
    let frac = OpenAccount {
        credit_line: d("1.001"),
        ..base
    };
    assert!(AccountState::open(frac, Currency::CNY, t0()).is_err());
}

// ---- model-based property test ------------------------------------------------------------

/// The oracle: the rules written as plainly as possible.
#[derive(Debug, Clone, Default)]
struct Oracle {
    cash: Decimal,
    credit_line: Decimal,
    /// (remaining, products, expires_at day, issue order)
    coupons: Vec<(Decimal, Option<String>, Option<i64>, usize)>,
    bills: Vec<Decimal>,
    day: i64,
}

impl Oracle {
    fn unpaid(&self) -> Decimal {
        self.bills.iter().sum()
    }
    fn pay(
        &mut self,
        product: &str,
        amount: Decimal,
        credit: bool,
        partial: bool,
    ) -> Option<Decimal> {
        let day = self.day;
        let mut best: Option<usize> = None;
        for (i, c) in self.coupons.iter().enumerate() {
            let usable = c.0 > Decimal::ZERO
                && c.2.is_none_or(|e| day < e)
                && c.1.as_deref().is_none_or(|p| p == product);
            if !usable {
                continue;
            }
            best = match best {
                None => Some(i),
                Some(j) => {
                    let b = &self.coupons[j];
                    let key = |c: &(Decimal, Option<String>, Option<i64>, usize)| {
                        (std::cmp::Reverse(c.0), c.2.unwrap_or(i64::MAX), c.3)
                    };
                    if key(c) < key(b) { Some(i) } else { Some(j) }
                }
            };
        }
        let from_coupon = best.map_or(Decimal::ZERO, |i| self.coupons[i].0.min(amount));
        let rest = amount - from_coupon;
        let cash_part = self.cash.max(Decimal::ZERO).min(rest);
        let credit_room = if credit {
            (self.credit_line + self.cash.min(Decimal::ZERO) - self.unpaid()).max(Decimal::ZERO)
        } else {
            Decimal::ZERO
        };
        let credit_part = credit_room.min(rest - cash_part);
        let unpaid = rest - cash_part - credit_part;
        if unpaid > Decimal::ZERO && !partial {
            return None;
        }
        if let Some(i) = best {
            self.coupons[i].0 -= from_coupon;
        }
        self.cash -= cash_part + credit_part;
        Some(unpaid)
    }
}

#[derive(Debug, Clone)]
enum Op {
    TopUp(i64),
    Grant {
        cents: i64,
        product: Option<&'static str>,
        days: Option<i64>,
    },
    Charge {
        cents: i64,
        product: &'static str,
        credit: bool,
    },
    Bill {
        cents: i64,
        product: &'static str,
    },
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let product = prop_oneof![Just("sms"), Just("mail"), Just("phone")];
    prop_oneof![
        (1i64..50_000).prop_map(Op::TopUp),
        (
            1i64..5_000,
            proptest::option::of(product.clone()),
            proptest::option::of(1i64..10)
        )
            .prop_map(|(cents, product, days)| Op::Grant {
                cents,
                product,
                days
            }),
        (0i64..20_000, product.clone(), any::<bool>()).prop_map(|(cents, product, credit)| {
            Op::Charge {
                cents,
                product,
                credit,
            }
        }),
        (1i64..20_000, product).prop_map(|(cents, product)| Op::Bill { cents, product }),
        (1i64..5).prop_map(Op::Advance),
    ]
}

fn cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// ACC-2, ACC-3, ACC-4, ACC-5: any sequence of top-ups, coupon grants, charges and bills keeps
    /// every journal transaction balanced, the cached books equal to a rebuild of the journal,
    /// and the derived balances equal to the oracle's.
    #[test]
    fn acc_2_journal_balanced_and_balances_match_oracle(credit in 0i64..10_000, ops in proptest::collection::vec(op(), 1..60)) {
        let mut a = open(&cents(credit).to_string(), None);
        let mut o = Oracle { credit_line: cents(credit), ..Oracle::default() };
        let mut journal = Vec::new();
        let mut now = t0();
        let mut expiries: Vec<(Timestamp, CouponId)> = Vec::new();
        for op in ops {
            let before = a.clone();
            let fx = match op {
                Op::TopUp(c) => {
                    o.cash += cents(c);
                    // Settle oldest first from cash and credit line.
                    for b in o.bills.iter_mut() {
                        let spendable = (o.cash + o.credit_line).max(Decimal::ZERO);
                        let pay = (*b).min(spendable);
                        *b -= pay;
                        o.cash -= pay;
                    }
                    o.bills.retain(|b| *b > Decimal::ZERO);
                    Some(a.top_up(&demo(), cents(c), &P, now).unwrap())
                }
                Op::Grant { cents: c, product, days } => {
                    let exp = days.map(|n| Span::days(n).add_to(now, &a.time_zone()).unwrap());
                    let (id, fx) = a.grant_coupon(cents(c), product.map(|p| vec![p.to_string()]), exp, now).unwrap();
                    if let Some(e) = exp { expiries.push((e, id)); }
                    o.coupons.push((cents(c), product.map(str::to_string), days.map(|n| o.day + n), o.coupons.len()));
                    Some(fx)
                }
                Op::Charge { cents: c, product, credit } => {
                    let sources = if credit { PaySources::ALL } else { PaySources::COUPON_AND_CASH };
                    let expected = o.pay(product, cents(c), credit, false);
                    match a.charge(ch(product, cents(c), sources, "charge"), &P, now) {
                        Ok((_, fx)) => { prop_assert!(expected.is_some()); Some(fx) }
                        Err(e) => {
                            prop_assert_eq!(e.code, ErrorCode::InsufficientFunds);
                            prop_assert!(expected.is_none());
                            prop_assert_eq!(&a, &before, "a refused charge moves nothing");
                            None
                        }
                    }
                }
                Op::Bill { cents: c, product } => {
                    let unpaid = o.pay(product, cents(c), true, true).unwrap();
                    if unpaid > Decimal::ZERO { o.bills.push(unpaid); }
                    Some(a.issue_bill(product, cents(c), serde_json::json!({}), &P, now).unwrap().2)
                }
                Op::Advance(days) => {
                    now = Span::days(days).add_to(now, &a.time_zone()).unwrap();
                    o.day += days;
                    let mut fx = Effects::default();
                    expiries.sort();
                    for (at, id) in expiries.iter().filter(|(at, _)| *at <= now) {
                        let f = a.on_due(&DueKind::CouponExpiry { coupon: *id }, &tenure_core::catalog::demo(), &P, *at);
                        fx.journal.extend(f.journal);
                    }
                    expiries.retain(|(at, _)| *at > now);
                    for c in o.coupons.iter_mut() {
                        if c.2.is_some_and(|e| e <= o.day) { c.0 = Decimal::ZERO; }
                    }
                    Some(fx)
                }
            };
            if let Some(fx) = fx {
                for tx in fx.journal {
                    prop_assert!(tx.is_balanced());
                    prop_assert_eq!(tx.seq, journal.len() as i64 + 1, "per-account sequence without gaps");
                    journal.push(tx);
                }
            }
            prop_assert_eq!(&Books::rebuild(&journal), &a.books);
            prop_assert_eq!(a.cash(), o.cash);
            prop_assert_eq!(a.unpaid(), o.unpaid());
            prop_assert_eq!(a.available(), o.cash + o.credit_line - o.unpaid());
            let coupons: Decimal = o.coupons.iter().filter(|c| c.2.is_none_or(|e| o.day < e)).map(|c| c.0).sum();
            prop_assert_eq!(a.coupons_remaining(now), coupons);
            prop_assert_eq!(a.books.total("CNY"), Decimal::ZERO);
        }
    }
}
