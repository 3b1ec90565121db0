//! Subscriptions through the engine on a real store (SQLite, or PostgreSQL with
//! TENURE_TEST_DATABASE): renewal management across accounts (SUB-8), batch renewal with
//! per-item results (SUB-3), bulk renewal-mode changes (SUB-2), and auto-renewal attempts run by
//! the batched scheduler in time order (SUB-4, TIME-3).

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use tenure_core::account::OpenAccount;
use tenure_core::clock::{Clock, SandboxClock};
use tenure_core::ids::{AccountId, SubscriptionId};
use tenure_core::message::Audience;
use tenure_core::subscription::{CoTermDay, RenewalMode};
use tenure_core::usage::UsageEvent;
use tenure_core::{Currency, Decimal, ErrorCode, Span, Timestamp};
use tenure_engine::views::SubscriptionView;
use tenure_engine::{
    Engine, EngineError, Idem, IncomingEvent, RenewItem, RenewalQuery, SUB_BATCH_ITEMS_MAX,
    Scheduler,
};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn id(s: &str) -> AccountId {
    AccountId::parse(s).unwrap()
}

fn engine() -> (Engine, Arc<SandboxClock>) {
    let clock = Arc::new(SandboxClock::new(ts("2026-03-01T10:00:00+08:00")));
    let engine = Engine::new(
        tenure_store::testing::fresh_store(),
        tenure_core::catalog::demo(),
        tenure_core::catalog::DEMO_TOML,
        clock.clone(),
    )
    .unwrap();
    (engine, clock)
}

fn open(e: &Engine, account: &str, cash: &str) {
    e.open_account(
        OpenAccount {
            id: id(account),
            currency: Currency::CNY,
            zone: "Asia/Shanghai".into(),
            verified: true,
            credit_line: Decimal::ZERO,
            low_balance_threshold: None,
        },
        None,
    )
    .unwrap();
    if d(cash) > Decimal::ZERO {
        e.top_up(&id(account), d(cash), None).unwrap();
    }
}

fn phone(e: &Engine, account: &str, months: i64, mode: RenewalMode) -> SubscriptionId {
    let v = e
        .subscribe(
            &id(account),
            "phone",
            "phone-std",
            Some(Span::months(months)),
            mode,
            None,
        )
        .unwrap();
    SubscriptionId::parse(&v.id).unwrap()
}

fn iot(e: &Engine, account: &str, months: i64, mode: RenewalMode) -> SubscriptionId {
    let v = e
        .subscribe(
            &id(account),
            "iot",
            "iot-enterprise",
            Some(Span::months(months)),
            mode,
            None,
        )
        .unwrap();
    SubscriptionId::parse(&v.id).unwrap()
}

fn code(r: Result<impl std::fmt::Debug, EngineError>) -> ErrorCode {
    r.unwrap_err()
        .code()
        .expect("a refusal, not a storage error")
}

fn cash(e: &Engine, account: &str) -> String {
    e.account(&id(account)).unwrap().cash
}

fn auto_month() -> RenewalMode {
    RenewalMode::Auto {
        period: Span::months(1),
    }
}

/// Every row of a listing, walked `page` at a time with the cursor.
fn walk(e: &Engine, query: &RenewalQuery, page: usize) -> Vec<SubscriptionView> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let p = e
            .renewals(RenewalQuery {
                after: after.clone(),
                limit: page,
                ..query.clone()
            })
            .unwrap();
        assert!(p.items.len() <= page);
        all.extend(p.items);
        match p.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

fn keys(views: &[SubscriptionView]) -> Vec<String> {
    views
        .iter()
        .map(|v| format!("{}/{}", v.account, v.id))
        .collect()
}

/// Sorted by expiry (all in one zone, so RFC 3339 text sorts as instants), then account, then
/// id; no expiry last.
fn assert_sorted(views: &[SubscriptionView]) {
    let order: Vec<_> = views
        .iter()
        .map(|v| {
            (
                v.expires_at.is_none(),
                v.expires_at.clone(),
                &v.account,
                &v.id,
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "sorted by expiry, then account and id");
}

#[test]
fn sub_8_renewals_list_by_tab_product_status_and_window_sorted_and_paged() {
    let (e, clock) = engine();
    for a in ["acme", "bolt", "core"] {
        open(&e, a, "100000.00");
    }
    // Instances bought on different days expire on different days.
    let mut bought = Vec::new();
    for day in 0..6i64 {
        clock.set(ts("2026-03-01T10:00:00+08:00") + jiff::SignedDuration::from_hours(24 * day));
        for (n, a) in ["acme", "bolt", "core"].into_iter().enumerate() {
            let mode = if (day as usize + n).is_multiple_of(2) {
                auto_month()
            } else {
                RenewalMode::Manual
            };
            let sub = if n == 1 {
                iot(&e, a, 1, mode)
            } else {
                phone(&e, a, 1 + (day % 2), mode)
            };
            bought.push((a, sub));
        }
    }
    // A canceled one, a released one and a free one (no expiry: listed last).
    let (a, s) = bought[0];
    e.set_renewal(vec![(id(a), s)], RenewalMode::Canceled, None)
        .unwrap();
    let (a, s) = bought[4];
    e.unsubscribe(&id(a), s, None).unwrap();
    e.subscribe(
        &id("core"),
        "iot",
        "iot-public",
        None,
        RenewalMode::Manual,
        None,
    )
    .unwrap();
    clock.set(ts("2026-03-20T10:00:00+08:00"));

    let all = walk(&e, &RenewalQuery::default(), 500);
    assert_eq!(all.len(), 19);
    assert_sorted(&all);
    assert_eq!(all.last().unwrap().edition, "iot-public");
    assert_eq!(all.last().unwrap().expires_at, None);
    // A cursor walk, two a page, visits every row once and in the same order.
    let paged = walk(&e, &RenewalQuery::default(), 2);
    assert_eq!(keys(&paged), keys(&all));
    assert_eq!(keys(&paged).into_iter().collect::<HashSet<_>>().len(), 19);

    let filtered = |q: RenewalQuery, keep: &dyn Fn(&SubscriptionView) -> bool| {
        let got = walk(&e, &q, 3);
        let want: Vec<_> = all.iter().filter(|v| keep(v)).cloned().collect();
        assert!(!want.is_empty(), "{q:?} selects something");
        assert_eq!(keys(&got), keys(&want), "{q:?}");
        assert_sorted(&got);
        got
    };
    filtered(
        RenewalQuery {
            tab: Some("auto".into()),
            ..Default::default()
        },
        &|v| v.renewal == "auto",
    );
    filtered(
        RenewalQuery {
            tab: Some("canceled".into()),
            ..Default::default()
        },
        &|v| v.renewal == "canceled",
    );
    filtered(
        RenewalQuery {
            product: Some("iot".into()),
            tab: Some("manual".into()),
            ..Default::default()
        },
        &|v| v.product == "iot" && v.renewal == "manual",
    );
    filtered(
        RenewalQuery {
            status: Some("released".into()),
            ..Default::default()
        },
        &|v| v.status == "released",
    );
    filtered(
        RenewalQuery {
            account: Some(id("bolt")),
            ..Default::default()
        },
        &|v| v.account == "bolt",
    );
    // Expires within 15 days of 20 Mar 10:00: up to 4 Apr 10:00 inclusive.
    let within = filtered(
        RenewalQuery {
            expires_within_days: Some(15),
            ..Default::default()
        },
        &|v| {
            v.expires_at.as_deref().is_some_and(|t| {
                ("2026-03-20T10:00:00+08:00"..="2026-04-04T10:00:00+08:00").contains(&t)
            })
        },
    );
    assert!(within.len() < 18);
    // A range: [1 Apr, 3 Apr).
    filtered(
        RenewalQuery {
            expires_from: Some(ts("2026-04-01T10:00:00+08:00")),
            expires_to: Some(ts("2026-04-03T10:00:00+08:00")),
            ..Default::default()
        },
        &|v| {
            v.expires_at.as_deref().is_some_and(|t| {
                ("2026-04-01T10:00:00+08:00".."2026-04-03T10:00:00+08:00").contains(&t)
            })
        },
    );

    // Bad filters.
    for q in [
        RenewalQuery {
            tab: Some("paused".into()),
            ..Default::default()
        },
        RenewalQuery {
            status: Some("sleeping".into()),
            ..Default::default()
        },
        RenewalQuery {
            expires_within_days: Some(7),
            expires_from: Some(ts("2026-04-01T10:00:00+08:00")),
            ..Default::default()
        },
        RenewalQuery {
            after: Some("garbage".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(code(e.renewals(q)), ErrorCode::InvalidInput);
    }
    assert_eq!(
        code(e.renewals(RenewalQuery {
            product: Some("nope".into()),
            ..Default::default()
        })),
        ErrorCode::NotFound
    );
}

/// Makes `account` overdue: a pay-as-you-go bill it cannot pay.
fn make_overdue(e: &Engine, clock: &SandboxClock, account: &str) {
    let r = e
        .ingest_usage(vec![IncomingEvent {
            account: account.into(),
            event: UsageEvent {
                id: "intl-1".into(),
                meter: "sms.intl".into(),
                quantity: 10,
                at: clock.now(),
                dimensions: None,
            },
        }])
        .unwrap();
    assert_eq!(r[0].status, "applied", "{r:?}");
    let to = clock.now() + jiff::SignedDuration::from_hours(1);
    Scheduler::new(e, "test").advance_to(clock, to).unwrap();
    assert_eq!(e.account(&id(account)).unwrap().status, "overdue");
}

#[test]
fn sub_3_batch_renewal_answers_each_item_and_the_rest_proceed() {
    let (e, clock) = engine();
    open(&e, "good", "1000.00");
    open(&e, "gone", "1000.00");
    open(&e, "late", "99.00");
    let a = phone(&e, "good", 1, RenewalMode::Manual);
    let b = phone(&e, "good", 1, auto_month());
    let c = phone(&e, "good", 1, RenewalMode::Manual);
    let released = phone(&e, "gone", 1, RenewalMode::Manual);
    e.unsubscribe(&id("gone"), released, None).unwrap();
    let late = phone(&e, "late", 1, RenewalMode::Manual);
    make_overdue(&e, &clock, "late");
    let gone_cash = cash(&e, "gone");
    let late_before = e.subscription(&id("late"), late).unwrap();

    let item = |account: &str, sub, term, co_term_day| RenewItem {
        account: id(account),
        subscription: sub,
        term,
        co_term_day,
    };
    let results = e
        .renew(
            vec![
                item("good", a, Span::months(1), None),
                item("gone", released, Span::months(1), None),
                item("good", b, Span::months(10), None),
                item("late", late, Span::months(1), None),
                item("good", c, Span::months(1), Some(CoTermDay::Last)),
                item("nobody", a, Span::months(1), None),
            ],
            None,
        )
        .unwrap();
    let outcome: Vec<_> = results
        .iter()
        .map(|r| (r.status.as_str(), r.code.as_deref()))
        .collect();
    assert_eq!(
        outcome,
        [
            ("renewed", None),
            ("refused", Some("not_renewable")),
            ("refused", Some("invalid_term")),
            ("refused", Some("account_overdue")),
            ("renewed", None),
            ("refused", Some("not_found")),
        ]
    );
    // 1 Mar 10:00 + 1 month = 1 Apr; renewed from there: 1 May. To the month's last day: 31 May.
    let q = results[0].quote.as_ref().unwrap();
    assert_eq!(q.new_expires_at, "2026-05-01T10:00:00+08:00");
    assert_eq!(q.total, "99.00");
    let qc = results[4].quote.as_ref().unwrap();
    assert_eq!(qc.new_expires_at, "2026-05-31T10:00:00+08:00");
    assert_eq!(qc.extra_days, 30);
    assert_eq!(
        e.subscription(&id("good"), a)
            .unwrap()
            .expires_at
            .as_deref(),
        Some("2026-05-01T10:00:00+08:00")
    );
    // 1000 − 3 × 99 bought − 99 − (99 + 30 days pro rata) renewed.
    let spent = d("99.00") * Decimal::from(4) + d(&qc.total);
    assert_eq!(cash(&e, "good"), (d("1000.00") - spent).to_string());
    // Nothing half done where refused.
    assert_eq!(cash(&e, "gone"), gone_cash);
    assert_eq!(e.subscription(&id("late"), late).unwrap(), late_before);
    assert_eq!(
        e.subscription(&id("good"), b)
            .unwrap()
            .expires_at
            .as_deref(),
        Some("2026-04-01T10:00:00+08:00")
    );
    for a in ["good", "gone", "late"] {
        assert!(e.verify_books(&id(a)).unwrap());
    }
}

#[test]
fn sub_3_batches_over_200_or_naming_an_instance_twice_are_refused_whole() {
    let (e, _) = engine();
    open(&e, "acme", "1000.00");
    let a = phone(&e, "acme", 1, RenewalMode::Manual);
    let b = phone(&e, "acme", 1, RenewalMode::Manual);
    let before = (cash(&e, "acme"), e.subscriptions(&id("acme")).unwrap());
    let item = |sub| RenewItem {
        account: id("acme"),
        subscription: sub,
        term: Span::months(1),
        co_term_day: None,
    };
    let over: Vec<_> = (0..=SUB_BATCH_ITEMS_MAX as u64)
        .map(|n| {
            if n == 0 {
                item(a)
            } else {
                item(SubscriptionId(1_000 + n))
            }
        })
        .collect();
    assert_eq!(over.len(), 201);
    assert_eq!(code(e.renew(over, None)), ErrorCode::InvalidInput);
    assert_eq!(
        code(e.renew(vec![item(a), item(b), item(a)], None)),
        ErrorCode::InvalidInput
    );
    assert_eq!(code(e.renew(vec![], None)), ErrorCode::InvalidInput);
    assert_eq!(
        code(e.set_renewal(
            vec![(id("acme"), b), (id("acme"), b)],
            RenewalMode::Canceled,
            None
        )),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        (cash(&e, "acme"), e.subscriptions(&id("acme")).unwrap()),
        before,
        "nothing ran"
    );
    // 200 is fine (the unknown ones refused one by one).
    let max: Vec<_> = (0..SUB_BATCH_ITEMS_MAX as u64)
        .map(|n| {
            if n == 0 {
                item(a)
            } else {
                item(SubscriptionId(1_000 + n))
            }
        })
        .collect();
    let results = e.renew(max, None).unwrap();
    assert_eq!(results[0].status, "renewed");
    assert!(
        results[1..]
            .iter()
            .all(|r| r.code.as_deref() == Some("not_found"))
    );
}

#[test]
fn sub_8_bulk_renewal_modes_show_in_the_tabs() {
    let (e, _) = engine();
    open(&e, "acme", "1000.00");
    open(&e, "bolt", "1000.00");
    let a = phone(&e, "acme", 1, RenewalMode::Manual);
    let b = phone(&e, "bolt", 1, RenewalMode::Manual);
    let gone = phone(&e, "bolt", 1, RenewalMode::Manual);
    e.unsubscribe(&id("bolt"), gone, None).unwrap();
    let tab = |t: &str| {
        keys(&walk(
            &e,
            &RenewalQuery {
                tab: Some(t.into()),
                ..Default::default()
            },
            10,
        ))
    };
    let items = vec![(id("acme"), a), (id("bolt"), b), (id("bolt"), gone)];
    let r = e.set_renewal(items.clone(), auto_month(), None).unwrap();
    let outcome: Vec<_> = r
        .iter()
        .map(|r| (r.status.as_str(), r.code.as_deref()))
        .collect();
    assert_eq!(
        outcome,
        [
            ("updated", None),
            ("updated", None),
            ("refused", Some("not_renewable"))
        ]
    );
    assert_eq!(
        r[0].result.as_ref().unwrap().auto_period.as_deref(),
        Some("1 month")
    );
    assert_eq!(tab("auto"), ["acme/s1", "bolt/s1"]);
    // Modify the period; a period the edition does not sell is refused per item.
    let year = RenewalMode::Auto {
        period: Span::years(1),
    };
    let r = e.set_renewal(items[..2].to_vec(), year, None).unwrap();
    assert!(r.iter().all(|r| r.status == "updated"));
    assert_eq!(
        e.subscription(&id("bolt"), b)
            .unwrap()
            .auto_period
            .as_deref(),
        Some("1 year")
    );
    let r = e
        .set_renewal(
            items[..1].to_vec(),
            RenewalMode::Auto {
                period: Span::months(2),
            },
            None,
        )
        .unwrap();
    assert_eq!(r[0].code.as_deref(), Some("invalid_term"));
    e.set_renewal(items[..1].to_vec(), RenewalMode::Manual, None)
        .unwrap();
    e.set_renewal(items[1..2].to_vec(), RenewalMode::Canceled, None)
        .unwrap();
    assert_eq!(tab("auto"), Vec::<String>::new());
    assert_eq!(tab("manual"), ["acme/s1", "bolt/s2"]);
    assert_eq!(tab("canceled"), ["bolt/s1"]);
}

#[test]
fn sub_3_a_batch_with_an_idempotency_key_charges_once() {
    let (e, _) = engine();
    open(&e, "acme", "1000.00");
    let a = phone(&e, "acme", 1, RenewalMode::Manual);
    let idem = Idem {
        scope: "key-1".into(),
        key: "renew-42".into(),
        request_hash: "h1".into(),
    };
    let items = vec![RenewItem {
        account: id("acme"),
        subscription: a,
        term: Span::months(1),
        co_term_day: None,
    }];
    let first = e.renew(items.clone(), Some(&idem)).unwrap();
    let again = e.renew(items.clone(), Some(&idem)).unwrap();
    assert_eq!(first, again);
    assert_eq!(cash(&e, "acme"), "802.00");
    let other = Idem {
        request_hash: "h2".into(),
        ..idem
    };
    assert_eq!(
        code(e.renew(items, Some(&other))),
        ErrorCode::IdempotencyKeyReused
    );
}

#[test]
fn sub_4_failed_attempts_and_reminders_run_in_time_order() {
    // An iot instance on auto-renewal with no money for it: an attempt every day at 08:00 from
    // T-9 to T-1, each failing and scheduling the next, and reminders at T-7, T-3, T-1 at
    // 10:00, already in the queue. A claim holding a reminder must not run it before the
    // attempts of earlier days that the claim's own attempts schedule.
    let (e, clock) = engine();
    open(&e, "acme", "3000.00");
    let s = iot(&e, "acme", 1, auto_month());
    assert_eq!(cash(&e, "acme"), "0.00");
    let report = Scheduler::new(&e, "test")
        .advance_to(&clock, ts("2026-04-01T10:00:00+08:00"))
        .unwrap();
    assert!(report.actions_run > 9 + 3, "{report:?}");
    assert_eq!(
        e.count_messages(
            &id("acme"),
            Audience::Notice,
            "subscription.auto_renew_failed",
            None
        )
        .unwrap(),
        9
    );
    let notices = e
        .messages(&id("acme"), Audience::Notice, None, None, 100)
        .unwrap();
    let at: Vec<_> = notices.items.iter().map(|m| ts(&m.at)).collect();
    let mut sorted = at.clone();
    sorted.sort();
    assert_eq!(at, sorted, "notices in time order: {:?}", notices.items);
    let v = e.subscription(&id("acme"), s).unwrap();
    assert_eq!(v.status, "stopped");
    // The listing sees what the scheduler wrote.
    let stopped = e
        .renewals(RenewalQuery {
            status: Some("stopped".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(keys(&stopped.items), ["acme/s1"]);
}

#[test]
fn sub_4_auto_renewals_across_many_accounts_run_once_each() {
    let (e, clock) = engine();
    for n in 0..40 {
        let a = format!("a{n:02}");
        open(&e, &a, "198.00");
        phone(&e, &a, 1, auto_month());
    }
    // First attempt 7 days before 1 Apr 10:00, at 03:00: 25 Mar 03:00.
    Scheduler::new(&e, "test")
        .advance_to(&clock, ts("2026-03-26T00:00:00+08:00"))
        .unwrap();
    for n in 0..40 {
        let a = format!("a{n:02}");
        assert_eq!(cash(&e, &a), "0.00", "{a} paid one renewal");
        let v = e.subscription(&id(&a), SubscriptionId(1)).unwrap();
        assert_eq!(v.expires_at.as_deref(), Some("2026-05-01T10:00:00+08:00"));
        assert_eq!(
            e.count_messages(&id(&a), Audience::Event, "subscription.renewed", None)
                .unwrap(),
            1
        );
        assert!(e.verify_books(&id(&a)).unwrap());
    }
    let due = e.store().read(|tx| tx.due_run_summary()).unwrap();
    assert_eq!(due.runs, due.distinct_keys);
    let listed = walk(
        &e,
        &RenewalQuery {
            tab: Some("auto".into()),
            expires_from: Some(ts("2026-05-01T10:00:00+08:00")),
            ..Default::default()
        },
        7,
    );
    assert_eq!(listed.len(), 40, "the projection follows the renewals");
}
