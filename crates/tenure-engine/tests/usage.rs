//! Usage ingestion through the engine on a real store (SQLite, or PostgreSQL with
//! TENURE_TEST_DATABASE): USE-1 idempotency forever, USE-2 batches, PLAN-5 overflow billed
//! through the scheduler (PAYG-2), and no lost update under concurrent writers.

use std::str::FromStr;
use std::sync::Arc;
use tenure_core::account::OpenAccount;
use tenure_core::clock::{Clock, SandboxClock};
use tenure_core::ids::AccountId;
use tenure_core::usage::UsageEvent;
use tenure_core::{Currency, Decimal, ErrorCode, Span, Timestamp};
use tenure_engine::{Engine, IncomingEvent, Scheduler, USAGE_BATCH_EVENTS_MAX};
use tenure_store::Store;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn start() -> Timestamp {
    "2026-03-01T09:00:00+08:00".parse().unwrap()
}

fn engine_on(store: Store, clock: Arc<SandboxClock>) -> Engine {
    Engine::new(
        store,
        tenure_core::catalog::demo(),
        tenure_core::catalog::DEMO_TOML,
        clock,
    )
    .unwrap()
}

fn acme() -> AccountId {
    AccountId::parse("acme").unwrap()
}

fn open(e: &Engine, id: &AccountId) {
    e.open_account(
        OpenAccount {
            id: id.clone(),
            currency: Currency::CNY,
            zone: "Asia/Shanghai".into(),
            verified: true,
            credit_line: Decimal::ZERO,
            low_balance_threshold: None,
        },
        None,
    )
    .unwrap();
}

fn event(account: &str, id: &str, meter: &str, quantity: u64, at: Timestamp) -> IncomingEvent {
    IncomingEvent {
        account: account.into(),
        event: UsageEvent {
            id: id.into(),
            meter: meter.into(),
            quantity,
            at,
            dimensions: None,
        },
    }
}

/// An account with 100.00 and one sms-cn-1k plan (45.00): cash 55.00.
fn acme_with_plan() -> (
    Engine,
    Arc<SandboxClock>,
    tenure_store::testing::TestDatabase,
) {
    let db = tenure_store::testing::fresh_database();
    let clock = Arc::new(SandboxClock::new(start()));
    let e = engine_on(db.open(), clock.clone());
    open(&e, &acme());
    e.top_up(&acme(), d("100.00"), None).unwrap();
    let plan = e.buy_plan(&acme(), "sms-cn-1k", None, None).unwrap();
    assert_eq!((plan.id.as_str(), plan.remaining), ("p1", 1000));
    (e, clock, db)
}

#[test]
fn plan_5_payg_2_sms_overflow_is_billed_at_the_end_of_the_hour() {
    let (e, clock, _db) = acme_with_plan();
    assert_eq!(e.account(&acme()).unwrap().cash, "55.00");
    let r = e
        .ingest_usage(vec![event("acme", "e1", "sms.cn", 1200, clock.now())])
        .unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, "applied");
    let takes = r[0].takes.as_ref().unwrap();
    assert_eq!((takes[0].plan.as_str(), takes[0].quantity), ("p1", 1000));
    assert_eq!(r[0].payg_quantity, Some(200));
    assert_eq!(r[0].payg_amount.as_deref(), Some("9"));
    let plan = e.plan(&acme(), tenure_core::ids::PlanId(1)).unwrap();
    assert_eq!(
        (plan.consumed, plan.remaining, plan.status.as_str()),
        (1000, 0, "exhausted")
    );
    // Not billed before the cycle closes.
    assert_eq!(e.account(&acme()).unwrap().cash, "55.00");
    let to = Span::hours(1)
        .add_to(clock.now(), &tenure_core::TimeZone::UTC)
        .unwrap();
    Scheduler::new(&e, "test").advance_to(&clock, to).unwrap();
    let a = e.account(&acme()).unwrap();
    assert_eq!((a.cash.as_str(), a.unpaid.as_str()), ("46.00", "0.00"));
    let bills = e.bills(&acme(), None, 10).unwrap();
    assert_eq!(bills.items.len(), 1);
    assert_eq!(
        (
            bills.items[0].total.as_str(),
            bills.items[0].lines[0].quantity
        ),
        ("9.00", 200)
    );
    let stats = e.usage_stats(&acme(), None, None).unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(
        (
            stats[0].from_plans,
            stats[0].payg_quantity,
            stats[0].refused
        ),
        (1000, 200, 0)
    );
    assert!(e.verify_books(&acme()).unwrap());
}

#[test]
fn use_1_a_duplicate_answers_the_first_result_and_changes_nothing_even_after_restart() {
    let (e, clock, db) = acme_with_plan();
    let now = clock.now();
    let first = e
        .ingest_usage(vec![
            event("acme", "e1", "sms.cn", 10, now),
            event(
                "acme",
                "late",
                "sms.cn",
                10,
                now - jiff::SignedDuration::from_hours(49),
            ),
        ])
        .unwrap();
    assert_eq!(first[0].status, "applied");
    assert_eq!(
        (first[1].status.as_str(), first[1].code.as_deref()),
        ("refused", Some("late_event"))
    );
    let before = e.plans(&acme()).unwrap();
    let journal_before = e.journal(&acme(), None, 500).unwrap().items.len();
    // The same ids again, with other quantities, in one batch with a fresh one, twice over.
    let again = e
        .ingest_usage(vec![
            event("acme", "e1", "sms.cn", 999, now),
            event("acme", "late", "sms.cn", 1, now),
            event("acme", "e2", "sms.cn", 5, now),
            event("acme", "e2", "sms.cn", 7, now),
        ])
        .unwrap();
    assert_eq!(again[0].status, "duplicate");
    assert_eq!(again[0].takes, first[0].takes);
    assert_eq!(again[1].status, "duplicate");
    assert_eq!(again[1].code.as_deref(), Some("late_event"));
    assert_eq!(again[2].status, "applied");
    assert_eq!(
        (
            again[3].status.as_str(),
            again[3].takes.as_ref().unwrap()[0].quantity
        ),
        ("duplicate", 5)
    );
    assert_eq!(
        e.plans(&acme()).unwrap()[0].consumed,
        before[0].consumed + 5
    );
    let journal_after = e.journal(&acme(), None, 500).unwrap().items.len();
    assert_eq!(journal_after, journal_before + 1);
    // A new engine on the same database (a restart): still duplicates, nothing changes.
    let restarted = engine_on(db.open(), clock.clone());
    let plans = restarted.plans(&acme()).unwrap();
    let r = restarted
        .ingest_usage(vec![
            event("acme", "e1", "sms.cn", 1, now),
            event("acme", "e2", "sms.cn", 1, now),
        ])
        .unwrap();
    assert!(r.iter().all(|r| r.status == "duplicate"), "{r:?}");
    assert_eq!(r[0].takes, first[0].takes);
    assert_eq!(restarted.plans(&acme()).unwrap(), plans);
    assert!(restarted.verify_books(&acme()).unwrap());
}

#[test]
fn use_1_late_and_future_events_are_refused_and_nothing_of_them_applied() {
    let (e, clock, _db) = acme_with_plan();
    let now = clock.now();
    let r = e
        .ingest_usage(vec![
            event(
                "acme",
                "late",
                "sms.cn",
                3,
                now - jiff::SignedDuration::from_hours(48) - jiff::SignedDuration::from_secs(1),
            ),
            event(
                "acme",
                "edge",
                "sms.cn",
                3,
                now - jiff::SignedDuration::from_hours(47),
            ),
            event(
                "acme",
                "future",
                "sms.cn",
                3,
                now + jiff::SignedDuration::from_secs(5 * 60 + 1),
            ),
            event(
                "acme",
                "soon",
                "sms.cn",
                3,
                now + jiff::SignedDuration::from_secs(4 * 60),
            ),
        ])
        .unwrap();
    let got: Vec<(&str, Option<&str>)> = r
        .iter()
        .map(|r| (r.status.as_str(), r.code.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("refused", Some("late_event")),
            ("applied", None),
            ("refused", Some("invalid_input")),
            ("applied", None),
        ]
    );
    // The plan took effect at `now`, so the event from 47 h ago is not covered (PLAN-4).
    assert_eq!(r[1].payg_quantity, Some(3));
    let plan = &e.plans(&acme()).unwrap()[0];
    assert_eq!(plan.consumed, 3);
}

#[test]
fn use_2_every_event_gets_its_own_result_and_a_bad_one_blocks_nothing() {
    let (e, clock, _db) = acme_with_plan();
    let now = clock.now();
    let r = e
        .ingest_usage(vec![
            event("acme", "a", "sms.cn", 1, now),
            event("nobody", "b", "sms.cn", 1, now),
            event("bad id!", "c", "sms.cn", 1, now),
            event("acme", "d", "no.such.meter", 1, now),
            event("acme", "", "sms.cn", 1, now),
            event("acme", "f", "sms.cn", (1 << 53) + 1, now),
            event("acme", "g", "sms.cn", 2, now),
        ])
        .unwrap();
    let got: Vec<(&str, &str, Option<&str>)> = r
        .iter()
        .map(|r| (r.id.as_str(), r.status.as_str(), r.code.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a", "applied", None),
            ("b", "refused", Some("not_found")),
            ("c", "refused", Some("invalid_input")),
            ("d", "refused", Some("not_found")),
            ("", "refused", Some("invalid_input")),
            ("f", "refused", Some("invalid_input")),
            ("g", "applied", None),
        ]
    );
    assert_eq!(e.plans(&acme()).unwrap()[0].consumed, 3);
}

#[test]
fn use_2_a_batch_over_the_limit_is_refused_whole() {
    let (e, clock, _db) = acme_with_plan();
    let now = clock.now();
    let batch: Vec<IncomingEvent> = (0..=USAGE_BATCH_EVENTS_MAX)
        .map(|i| event("acme", &format!("e{i}"), "sms.cn", 1, now))
        .collect();
    let err = e.ingest_usage(batch).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidInput));
    assert_eq!(e.plans(&acme()).unwrap()[0].consumed, 0);
}

#[test]
fn use_2_eight_concurrent_writers_on_one_account_lose_no_update() {
    const WRITERS: usize = 8;
    const BATCHES: usize = 10;
    const EVENTS: usize = 20;
    let db = tenure_store::testing::fresh_database();
    let clock = Arc::new(SandboxClock::new(start()));
    let seed = engine_on(db.open(), clock.clone());
    open(&seed, &acme());
    seed.top_up(&acme(), d("1000.00"), None).unwrap();
    seed.buy_plan(&acme(), "sms-cn-1k", None, None).unwrap();
    let now = clock.now();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let store = db.open();
            let clock = clock.clone();
            s.spawn(move || {
                let e = engine_on(store, clock);
                for b in 0..BATCHES {
                    let batch = (0..EVENTS)
                        .map(|i| {
                            event(
                                "acme",
                                &format!("w{w}-b{b}-e{i}"),
                                "sms.cn",
                                1 + (i as u64 % 3),
                                now,
                            )
                        })
                        .collect();
                    let r = e.ingest_usage(batch).unwrap();
                    assert!(r.iter().all(|r| r.status == "applied"), "{r:?}");
                }
            });
        }
    });
    let sent: u64 = (WRITERS * BATCHES) as u64 * (0..EVENTS as u64).map(|i| 1 + i % 3).sum::<u64>();
    let fresh = engine_on(db.open(), clock.clone());
    let plan = &fresh.plans(&acme()).unwrap()[0];
    let stats = fresh.usage_stats(&acme(), None, None).unwrap();
    assert_eq!(plan.consumed, stats[0].from_plans);
    assert_eq!(stats[0].from_plans + stats[0].payg_quantity, sent);
    assert_eq!(plan.consumed, sent.min(1000));
    let events: i64 = db.open().read(|tx| tx.count_usage_events("acme")).unwrap();
    assert_eq!(events as usize, WRITERS * BATCHES * EVENTS);
    assert!(fresh.verify_books(&acme()).unwrap());
}
