//! The `subscriptions` projection (SUB-8) and the many-key due-action methods, on the backend
//! `TENURE_TEST_DATABASE` selects.

use tenure_store::testing::fresh_store;
use tenure_store::{
    DueRow, Store, StoreError, SubscriptionCursor, SubscriptionQuery, SubscriptionRow,
};

fn write<T>(store: &Store, f: impl FnMut(&mut tenure_store::Tx<'_>) -> Result<T, StoreError>) -> T {
    store.write(f).unwrap()
}

fn row(
    account: &str,
    id: &str,
    mode: &str,
    status: &str,
    expires_us: Option<i64>,
) -> SubscriptionRow {
    SubscriptionRow {
        account_id: account.into(),
        id: id.into(),
        product: if id.ends_with('9') { "iot" } else { "phone" }.into(),
        edition: "phone-std".into(),
        status: status.into(),
        mode: mode.into(),
        expires_us,
    }
}

fn ids(rows: &[SubscriptionRow]) -> Vec<String> {
    rows.iter()
        .map(|r| format!("{}/{}", r.account_id, r.id))
        .collect()
}

#[test]
fn sub_8_projection_upserts_filters_and_pages_in_expiry_order() {
    let store = fresh_store();
    write(&store, |tx| {
        tx.upsert_subscriptions(&[
            row("b", "s1", "auto", "active", Some(300)),
            row("a", "s1", "manual", "active", Some(300)),
            row("a", "s2", "manual", "grace", Some(100)),
            row("c", "s9", "auto", "active", None),
            row("c", "s1", "canceled", "active", Some(200)),
        ])
    });
    // An update that changes something, and one that changes nothing.
    write(&store, |tx| {
        tx.upsert_subscriptions(&[
            row("a", "s2", "manual", "active", Some(400)),
            row("b", "s1", "auto", "active", Some(300)),
        ])
    });
    let list = |q: SubscriptionQuery<'_>, limit| {
        store.read(|tx| tx.list_subscriptions(&q, limit)).unwrap()
    };
    assert_eq!(store.read(|tx| tx.count_subscriptions()).unwrap(), 5);
    let all = list(SubscriptionQuery::default(), 100);
    assert_eq!(ids(&all), ["c/s1", "a/s1", "b/s1", "a/s2", "c/s9"]);
    assert_eq!(all[3].status, "active");
    assert_eq!(all[3].expires_us, Some(400));
    assert_eq!(all[4].expires_us, None, "no expiry comes back as None");

    let auto = list(
        SubscriptionQuery {
            mode: Some("auto"),
            ..Default::default()
        },
        100,
    );
    assert_eq!(ids(&auto), ["b/s1", "c/s9"]);
    let window = list(
        SubscriptionQuery {
            expires_from_us: Some(200),
            expires_before_us: Some(400),
            ..Default::default()
        },
        100,
    );
    assert_eq!(ids(&window), ["c/s1", "a/s1", "b/s1"]);
    let open_ended = list(
        SubscriptionQuery {
            expires_from_us: Some(200),
            ..Default::default()
        },
        100,
    );
    assert_eq!(
        ids(&open_ended),
        ["c/s1", "a/s1", "b/s1", "a/s2"],
        "a range never lists an instance that does not expire"
    );
    let scoped = list(
        SubscriptionQuery {
            account_id: Some("c"),
            product: Some("iot"),
            ..Default::default()
        },
        100,
    );
    assert_eq!(ids(&scoped), ["c/s9"]);

    // A cursor walk of two rows a page visits every row once, in order.
    let mut seen = Vec::new();
    let mut after: Option<SubscriptionCursor> = None;
    loop {
        let page = list(
            SubscriptionQuery {
                after: after.clone(),
                ..Default::default()
            },
            2,
        );
        seen.extend(ids(&page));
        match page.last() {
            Some(last) if page.len() == 2 => {
                after = Some(SubscriptionCursor {
                    expires_us: last.expires_us,
                    account_id: last.account_id.clone(),
                    id: last.id.clone(),
                })
            }
            _ => break,
        }
    }
    assert_eq!(seen, ids(&all));
}

#[test]
fn time_4_due_actions_lock_complete_and_release_many_at_once() {
    let store = fresh_store();
    write(&store, |tx| {
        let rows: Vec<DueRow> = (0..300)
            .map(|n| DueRow::new(&format!("k{n:03}"), "a", 10 + n, "plan_expiry", "{}"))
            .collect();
        tx.schedule_many(&rows)
    });
    let claimed = store.claim_due("one", 1_000, 5, 60_000, 300).unwrap();
    assert_eq!(claimed.len(), 300);
    let keys: Vec<String> = claimed.iter().map(|r| r.key.clone()).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    // Another owner holds none of them.
    assert!(
        store
            .read(|tx| tx.lock_due_many(&keys, "two"))
            .unwrap()
            .is_empty()
    );
    let (ran, rest) = keys.split_at(290);
    write(&store, |tx| {
        let mut locked = tx.lock_due_many(&keys, "one")?;
        locked.sort();
        assert_eq!(locked.len(), 300);
        tx.record_due_runs(ran, "one", 7)?;
        assert_eq!(tx.complete_due_many(ran, 20)?, 290);
        assert_eq!(tx.complete_due_many(ran, 21)?, 0, "done once");
        assert_eq!(tx.release_due(rest, "one")?, 10);
        Ok(())
    });
    let summary = store.read(|tx| tx.due_run_summary()).unwrap();
    assert_eq!((summary.runs, summary.distinct_keys), (290, 290));
    // Released actions are claimable at once, by anyone, under their lease's wall clock.
    let again = store.claim_due("two", 1_000, 6, 60_000, 300).unwrap();
    assert_eq!(again.len(), 10);
    assert_eq!(store.pending_due_count().unwrap(), 10);
}
