//! PLAN-2, PLAN-3, PLAN-5, PLAN-6, PAYG-2 on the pure core.

use jiff::Timestamp;
use rust_decimal::Decimal;
use std::str::FromStr;
use tenure_core::account::{AccountPolicy, AccountState, OpenAccount};
use tenure_core::catalog::{Catalog, demo};
use tenure_core::due::DueKind;
use tenure_core::ids::AccountId;
use tenure_core::plan::{BuyPlan, PlanStatus, Take};
use tenure_core::usage::{UsageEvent, UsageOutcome};
use tenure_core::{Currency, ErrorCode, Span};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}
const P: AccountPolicy = AccountPolicy {
    low_balance_notices: 5,
    low_balance_repeat: Span::days(1),
};

fn account(verified: bool) -> AccountState {
    AccountState::open(
        OpenAccount {
            id: AccountId::parse("acme").unwrap(),
            currency: Currency::CNY,
            zone: "Asia/Shanghai".into(),
            verified,
            credit_line: Decimal::ZERO,
            low_balance_threshold: None,
        },
        Currency::CNY,
        ts("2026-03-01T09:00:00+08:00"),
    )
    .unwrap()
}

fn buy(
    a: &mut AccountState,
    c: &Catalog,
    spec: &str,
    start: Option<Timestamp>,
    now: Timestamp,
) -> Result<tenure_core::ids::PlanId, tenure_core::Refusal> {
    let (product, spec) = c.plan_spec(spec).unwrap();
    a.buy_plan(
        BuyPlan {
            product,
            spec,
            catalog_version: 1,
            start_at: start,
        },
        &P,
        now,
    )
    .map(|(id, _)| id)
}

fn usage(
    a: &mut AccountState,
    c: &Catalog,
    meter: &str,
    q: u64,
    at: Timestamp,
    now: Timestamp,
) -> UsageOutcome {
    let ev = UsageEvent {
        id: format!("e{}", a.seq.journal),
        meter: meter.into(),
        quantity: q,
        at,
        dimensions: None,
    };
    a.apply_usage(c, &ev, Span::hours(48), &P, now).0
}

#[test]
fn plan_5_payg_2_sms_overflow_is_billed_at_the_end_of_the_hour() {
    let c = demo();
    let now = ts("2026-03-01T09:00:00+08:00");
    let mut a = account(true);
    a.top_up(&c, d("100.00"), &P, now).unwrap();
    let p1 = buy(&mut a, &c, "sms-cn-1k", None, now).unwrap();
    assert_eq!(a.cash(), d("55.00"));
    let out = usage(&mut a, &c, "sms.cn", 1200, now, now);
    assert_eq!(
        out,
        UsageOutcome::Applied {
            takes: vec![Take {
                plan: p1,
                quantity: 1000
            }],
            payg_quantity: 200,
            payg_amount: d("9.000")
        }
    );
    let p = a.plan(p1).unwrap();
    assert_eq!(
        (p.remaining(), p.consumed, p.status(now)),
        (0, 1000, PlanStatus::Exhausted)
    );
    // The bill is due at the hour's close in the account's zone.
    let close = ts("2026-03-01T10:00:00+08:00");
    let fx = a.on_due(
        &DueKind::BillCycle {
            product: "sms".into(),
            cycle_end: close,
        },
        &c,
        &P,
        close,
    );
    assert_eq!(a.payg.bills.len(), 1);
    assert_eq!(a.payg.bills[0].total, d("9.00"));
    assert_eq!(a.cash(), d("46.00"));
    assert_eq!(
        fx.messages
            .iter()
            .filter(|m| m.kind.as_str() == "bill.issued")
            .count(),
        2,
        "a notice and an event"
    );
    // Running it again bills nothing more.
    a.on_due(
        &DueKind::BillCycle {
            product: "sms".into(),
            cycle_end: close,
        },
        &c,
        &P,
        close,
    );
    assert_eq!(a.payg.bills.len(), 1);
}

#[test]
fn plan_3_free_then_earliest_expiry_then_earliest_effective_then_purchase_order() {
    let c = demo();
    let now = ts("2026-03-01T09:00:00+08:00");
    let mut a = account(true);
    a.top_up(&c, d("1000.00"), &P, now).unwrap();
    let big = buy(&mut a, &c, "mail-100k", None, now).unwrap();
    let later = ts("2026-03-02T09:00:00+08:00");
    let small = buy(&mut a, &c, "mail-10k", None, now).unwrap();
    let free = buy(&mut a, &c, "mail-free-daily", None, now).unwrap();
    // Free first (200 a day), then the two 6-month plans: same expiry, same effective instant,
    // so purchase order: big before small.
    let out = usage(&mut a, &c, "mail.send", 250, now, now);
    let UsageOutcome::Applied { takes, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        takes,
        vec![
            Take {
                plan: free,
                quantity: 200
            },
            Take {
                plan: big,
                quantity: 50
            }
        ]
    );
    // A plan bought later to start later never covers earlier usage (PLAN-4).
    let pending = buy(&mut a, &c, "mail-10k", Some(later), now).unwrap();
    assert_eq!(a.plan(pending).unwrap().status(now), PlanStatus::Pending);
    let out = usage(&mut a, &c, "mail.send", 1, now, now);
    let UsageOutcome::Applied { takes, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        takes,
        vec![Take {
            plan: big,
            quantity: 1
        }]
    );
    let _ = small;
}

#[test]
fn plan_5_stop_before_excess_refuses_the_whole_event_and_notifies_once() {
    let c = demo();
    let now = ts("2026-03-01T09:00:00+08:00");
    let mut a = account(true);
    a.top_up(&c, d("300.00"), &P, now).unwrap();
    let p = buy(&mut a, &c, "msg-sbe-5k", None, now).unwrap();
    usage(&mut a, &c, "msg.send", 4990, now, now);
    let before = a.plan(p).unwrap().consumed;
    let out = usage(&mut a, &c, "msg.send", 20, now, now);
    assert!(
        matches!(
            out,
            UsageOutcome::Refused {
                code: ErrorCode::QuotaExhausted,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(
        a.plan(p).unwrap().consumed,
        before,
        "nothing of a refused event is consumed"
    );
    assert_eq!(a.plan(p).unwrap().remaining(), 10);
}

#[test]
fn plan_6_expiry_forfeits_the_rest_and_keeps_bought_equal_to_consumed_expired_remaining() {
    let c = demo();
    let now = ts("2026-01-31T10:00:00+08:00");
    let mut a = account(true);
    a.top_up(&c, d("100.00"), &P, now).unwrap();
    let p = buy(&mut a, &c, "mail-10k", None, now).unwrap();
    assert_eq!(
        a.plan(p).unwrap().expires_at,
        ts("2026-07-31T10:00:00+08:00")
    );
    usage(&mut a, &c, "mail.send", 1234, now, now);
    let at = a.plan(p).unwrap().expires_at;
    a.on_due(&DueKind::PlanExpiry { plan: p }, &c, &P, at);
    let plan = a.plan(p).unwrap();
    assert_eq!(
        (plan.consumed, plan.expired, plan.remaining()),
        (1234, 10_000 - 1234, 0)
    );
    assert_eq!(plan.status(at), PlanStatus::Expired);
    assert_eq!(plan.bought, plan.consumed + plan.expired + plan.remaining());
}

#[test]
fn acc_6_mail_plans_need_a_verified_identity() {
    let c = demo();
    let now = ts("2026-03-01T09:00:00+08:00");
    let mut a = account(false);
    a.top_up(&c, d("100.00"), &P, now).unwrap();
    let e = buy(&mut a, &c, "mail-10k", None, now).unwrap_err();
    assert_eq!(e.code, ErrorCode::IdentityNotVerified);
    assert!(a.plans.is_empty());
    assert_eq!(a.cash(), d("100.00"));
}
