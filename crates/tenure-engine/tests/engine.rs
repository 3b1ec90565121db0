//! The engine on a real store (SQLite, or PostgreSQL with TENURE_TEST_DATABASE): one account
//! transaction per command, idempotency, nothing partly applied, due actions in time order.

use std::str::FromStr;
use std::sync::Arc;
use tenure_core::account::OpenAccount;
use tenure_core::clock::{Clock, SandboxClock};
use tenure_core::ids::AccountId;
use tenure_core::message::Audience;
use tenure_core::{Currency, Decimal, ErrorCode, Span, Timestamp};
use tenure_engine::{CouponExpiry, Engine, EngineError, Idem, Scheduler};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn start() -> Timestamp {
    "2026-01-31T10:00:00+08:00".parse().unwrap()
}

fn engine_on(store: tenure_store::Store) -> (Engine, Arc<SandboxClock>) {
    let clock = Arc::new(SandboxClock::new(start()));
    let engine = Engine::new(
        store,
        tenure_core::catalog::demo(),
        tenure_core::catalog::DEMO_TOML,
        clock.clone(),
    )
    .unwrap();
    (engine, clock)
}

fn engine() -> (Engine, Arc<SandboxClock>) {
    engine_on(tenure_store::testing::fresh_store())
}

fn acme() -> AccountId {
    AccountId::parse("acme").unwrap()
}

fn open(e: &Engine, threshold: Option<&str>) {
    e.open_account(
        OpenAccount {
            id: acme(),
            currency: Currency::CNY,
            zone: "Asia/Shanghai".into(),
            verified: false,
            credit_line: Decimal::ZERO,
            low_balance_threshold: threshold.map(d),
        },
        None,
    )
    .unwrap();
}

fn code(r: Result<impl std::fmt::Debug, EngineError>) -> ErrorCode {
    r.unwrap_err()
        .code()
        .expect("a refusal, not a storage error")
}

#[test]
fn acc_2_top_ups_are_journaled_and_books_rebuild_from_the_journal() {
    let (e, _) = engine();
    open(&e, None);
    e.top_up(&acme(), d("100.00"), None).unwrap();
    e.top_up(&acme(), d("0.10"), None).unwrap();
    e.grant_coupon(
        &acme(),
        d("5.00"),
        Some(vec!["sms".into()]),
        CouponExpiry::Never,
        None,
    )
    .unwrap();
    let a = e.account(&acme()).unwrap();
    assert_eq!(
        (
            a.cash.as_str(),
            a.available.as_str(),
            a.coupon_remaining.as_str()
        ),
        ("100.10", "100.10", "5.00")
    );
    let journal = e.journal(&acme(), None, 100).unwrap();
    assert_eq!(
        journal
            .items
            .iter()
            .map(|j| j.kind.as_str())
            .collect::<Vec<_>>(),
        ["top_up", "top_up", "coupon.granted"]
    );
    assert_eq!(
        journal.items.iter().map(|j| j.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(e.verify_books(&acme()).unwrap());
    // Pagination walks the journal once.
    let first = e.journal(&acme(), None, 2).unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = e
        .journal(
            &acme(),
            first.next.as_deref().map(|s| s.parse().unwrap()),
            2,
        )
        .unwrap();
    assert_eq!(rest.items.iter().map(|j| j.seq).collect::<Vec<_>>(), [3]);
    assert_eq!(rest.next, None);
}

#[test]
fn a_refused_command_writes_nothing() {
    let (e, _) = engine();
    open(&e, None);
    e.top_up(&acme(), d("10.00"), None).unwrap();
    assert_eq!(
        code(e.top_up(&acme(), d("1.001"), None)),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(e.top_up(&acme(), d("-1"), None)),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(e.top_up(&AccountId::parse("nobody").unwrap(), d("1"), None)),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(e.grant_coupon(
            &acme(),
            d("1"),
            Some(vec!["nope".into()]),
            CouponExpiry::Never,
            None
        )),
        ErrorCode::NotFound
    );
    assert_eq!(e.account(&acme()).unwrap().cash, "10.00");
    assert_eq!(e.journal(&acme(), None, 100).unwrap().items.len(), 1);
    // Opening an existing id again is refused and leaves the first one alone.
    let again = e.open_account(
        OpenAccount {
            id: acme(),
            currency: Currency::CNY,
            zone: "UTC".into(),
            verified: true,
            credit_line: Decimal::ZERO,
            low_balance_threshold: None,
        },
        None,
    );
    assert_eq!(code(again), ErrorCode::Conflict);
    assert_eq!(e.account(&acme()).unwrap().zone, "Asia/Shanghai");
}

#[test]
fn idempotency_key_replays_the_first_answer_and_refuses_another_request() {
    let (e, _) = engine();
    open(&e, None);
    let idem = Idem {
        scope: "key1".into(),
        key: "k".into(),
        request_hash: "h1".into(),
    };
    let first = e.top_up(&acme(), d("10.00"), Some(&idem)).unwrap();
    let replay = e.top_up(&acme(), d("10.00"), Some(&idem)).unwrap();
    assert_eq!(first, replay);
    assert_eq!(e.account(&acme()).unwrap().cash, "10.00", "applied once");
    let other = Idem {
        request_hash: "h2".into(),
        ..idem.clone()
    };
    assert_eq!(
        code(e.top_up(&acme(), d("20.00"), Some(&other))),
        ErrorCode::IdempotencyKeyReused
    );
    // Another caller's key of the same name is another key.
    let other_scope = Idem {
        scope: "key2".into(),
        ..idem
    };
    e.top_up(&acme(), d("10.00"), Some(&other_scope)).unwrap();
    assert_eq!(e.account(&acme()).unwrap().cash, "20.00");
}

#[test]
fn time_3_advance_runs_due_actions_in_time_order_including_new_ones() {
    let (e, clock) = engine();
    open(&e, Some("50.00"));
    // 10 ≤ 50: the first low-balance notice now; repeats are created while advancing.
    e.top_up(&acme(), d("10.00"), None).unwrap();
    // Coupon granted Jan 31 for "1 month" lapses Feb 28 (TIME-2, month-end clamping).
    let c = e
        .grant_coupon(
            &acme(),
            d("3.00"),
            None,
            CouponExpiry::In(Span::months(1)),
            None,
        )
        .unwrap();
    assert_eq!(c.expires_at.as_deref(), Some("2026-02-28T10:00:00+08:00"));
    let s = Scheduler::new(&e, "test");
    let count = |e: &Engine| {
        e.count_messages(&acme(), Audience::Notice, "account.low_balance", None)
            .unwrap()
    };
    assert_eq!(count(&e), 1);
    s.advance_to(&clock, "2026-02-01T10:00:00+08:00".parse().unwrap())
        .unwrap();
    assert_eq!(
        count(&e),
        2,
        "the repeat due exactly a day later ran (inclusive)"
    );
    let report = s
        .advance_to(&clock, "2026-02-28T09:59:59+08:00".parse().unwrap())
        .unwrap();
    assert_eq!(
        report.actions_run, 3,
        "three more repeats, each created by the one before"
    );
    assert_eq!(count(&e), 5, "five in all");
    assert_eq!(e.account(&acme()).unwrap().coupon_remaining, "3.00");
    s.advance_to(&clock, "2026-02-28T10:00:00+08:00".parse().unwrap())
        .unwrap();
    assert_eq!(e.account(&acme()).unwrap().coupon_remaining, "0.00");
    assert_eq!(
        clock.now(),
        "2026-02-28T10:00:00+08:00".parse::<Timestamp>().unwrap()
    );
    // The notices carry the instants they were due at, in order.
    let notices = e
        .messages(
            &acme(),
            Audience::Notice,
            Some("account.low_balance"),
            None,
            10,
        )
        .unwrap();
    let at: Vec<_> = notices.items.iter().map(|m| m.at.as_str()).collect();
    assert_eq!(
        at,
        [
            "2026-01-31T10:00:00+08:00",
            "2026-02-01T10:00:00+08:00",
            "2026-02-02T10:00:00+08:00",
            "2026-02-03T10:00:00+08:00",
            "2026-02-04T10:00:00+08:00"
        ]
    );
    assert_eq!(
        e.count_messages(&acme(), Audience::Event, "account.low_balance", None)
            .unwrap(),
        5
    );
    assert!(e.verify_books(&acme()).unwrap());
    assert_eq!(e.store().pending_due_count().unwrap(), 0);
}

#[test]
fn time_4_running_a_due_action_twice_has_the_effect_of_once() {
    let db = tenure_store::testing::fresh_database();
    let (e1, clock) = engine_on(db.open());
    let (e2, _) = engine_on(db.open());
    open(&e1, None);
    for _ in 0..20 {
        e1.grant_coupon(
            &acme(),
            d("1.00"),
            None,
            CouponExpiry::In(Span::days(1)),
            None,
        )
        .unwrap();
    }
    clock.set("2026-02-02T00:00:00+08:00".parse().unwrap());
    // Two schedulers on two engines sharing the database race over the same 20 actions.
    let t = clock.now();
    std::thread::scope(|s| {
        let a = s.spawn(|| Scheduler::new(&e1, "one").run_due(t).unwrap());
        let b = s.spawn(|| Scheduler::new(&e2, "two").run_due(t).unwrap());
        assert_eq!(a.join().unwrap() + b.join().unwrap(), 20);
    });
    let expired = e1
        .journal(&acme(), None, 100)
        .unwrap()
        .items
        .iter()
        .filter(|j| j.kind == "coupon.expired")
        .count();
    assert_eq!(expired, 20);
    let summary = e1.store().read(|tx| tx.due_run_summary()).unwrap();
    assert_eq!((summary.runs, summary.distinct_keys), (20, 20));
    assert!(e1.verify_books(&acme()).unwrap());
}

#[test]
fn concurrent_writers_on_one_account_lose_no_update() {
    let db = tenure_store::testing::fresh_database();
    let (e, _) = engine_on(db.open());
    open(&e, None);
    let engines: Vec<_> = (0..8).map(|_| engine_on(db.open()).0).collect();
    std::thread::scope(|s| {
        for e in &engines {
            s.spawn(move || {
                for _ in 0..25 {
                    e.top_up(&acme(), d("1.00"), None).unwrap();
                }
            });
        }
    });
    assert_eq!(e.account(&acme()).unwrap().cash, "200.00");
    assert_eq!(e.journal(&acme(), None, 500).unwrap().items.len(), 200);
    assert!(e.verify_books(&acme()).unwrap());
}
