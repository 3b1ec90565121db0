//! Every table's methods round-trip, on the backend `TENURE_TEST_DATABASE` selects.

use tenure_store::testing::{fresh_database, fresh_store};
use tenure_store::{
    ApiKeyRow, Backend, DueRow, EntryRow, IdemRow, JournalRow, MessageRow, Store, StoreError,
    hash_key, new_secret,
};

fn write<T>(store: &Store, f: impl FnMut(&mut tenure_store::Tx<'_>) -> Result<T, StoreError>) -> T {
    store.write(f).unwrap()
}

fn with_account(id: &str) -> Store {
    let store = fresh_store();
    assert!(write(&store, |tx| tx.insert_account(id, "{}", 1)));
    store
}

fn journal_row(account: &str, seq: i64) -> JournalRow {
    JournalRow {
        account_id: account.into(),
        seq,
        at_us: 1_000 + seq,
        kind: "purchase".into(),
        data: format!("{{\"n\":{seq}}}"),
        entries: vec![
            EntryRow {
                book: "cash".into(),
                unit: "CNY".into(),
                amount: "-10.50".into(),
            },
            EntryRow {
                book: "revenue".into(),
                unit: "CNY".into(),
                amount: "10.50".into(),
            },
        ],
    }
}

fn message(account: &str, seq: i64, kind: &str, subject: &str, dedup: &str) -> MessageRow {
    MessageRow {
        account_id: account.into(),
        audience: "notice".into(),
        seq,
        kind: kind.into(),
        subject: subject.into(),
        at_us: 5_000 + seq,
        dedup_key: dedup.into(),
        data: "{\"text\":\"hello\"}".into(),
    }
}

#[test]
fn accounts_round_trip_and_page_in_byte_order() {
    let store = fresh_store();
    assert!(write(&store, |tx| tx.insert_account("b", "{\"s\":1}", 10)));
    assert!(!write(&store, |tx| tx.insert_account(
        "b",
        "{\"other\":1}",
        11
    )));
    for id in ["a", "B", "ä", "c"] {
        assert!(write(&store, |tx| tx.insert_account(id, "{}", 12)));
    }
    let b = write(&store, |tx| tx.get_account("b")).unwrap();
    assert_eq!(
        (b.state.as_str(), b.version, b.created_us),
        ("{\"s\":1}", 1, 10)
    );
    assert_eq!(write(&store, |tx| tx.update_account("b", "{\"s\":2}")), 2);
    let b = store.read(|tx| tx.get_account("b")).unwrap().unwrap();
    assert_eq!((b.state.as_str(), b.version), ("{\"s\":2}", 2));
    assert!(write(&store, |tx| tx.get_account("zz")).is_none());
    let missing = store.write(|tx| tx.update_account("zz", "{}"));
    assert!(matches!(
        missing,
        Err(StoreError::NotFound {
            what: "account",
            ..
        })
    ));

    let ids =
        |rows: Vec<tenure_store::AccountRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let first = store.read(|tx| tx.list_accounts(None, 2)).unwrap();
    assert_eq!(ids(first), ["B", "a"]);
    let next = store.read(|tx| tx.list_accounts(Some("a"), 10)).unwrap();
    assert_eq!(ids(next), ["b", "c", "ä"]);
    assert!(
        store
            .read(|tx| tx.list_accounts(Some("ä"), 10))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn journal_round_trips_with_entries_and_pages_by_seq() {
    let store = with_account("acc");
    for seq in 1..=3 {
        write(&store, |tx| tx.append_journal(&journal_row("acc", seq)));
    }
    // An empty transaction (no entries) is still a transaction.
    let mut bare = journal_row("acc", 4);
    bare.entries.clear();
    write(&store, |tx| tx.append_journal(&bare));

    let all = store.read(|tx| tx.journal("acc", None, 100)).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0], journal_row("acc", 1));
    assert_eq!(all[2], journal_row("acc", 3));
    assert_eq!(all[3], bare);
    let page = store.read(|tx| tx.journal("acc", Some(1), 2)).unwrap();
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(page[1].entries.len(), 2);
    assert!(
        store
            .read(|tx| tx.journal("other", None, 10))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn duplicate_journal_seq_fails_and_writes_nothing_of_its_transaction() {
    let store = with_account("acc");
    write(&store, |tx| tx.append_journal(&journal_row("acc", 1)));

    let result = store.write(|tx| {
        tx.meta_set("touched", "yes")?;
        tx.append_journal(&journal_row("acc", 2))?;
        tx.append_journal(&journal_row("acc", 1))
    });
    assert!(
        matches!(result, Err(StoreError::Duplicate(_))),
        "{result:?}"
    );

    // Swallowing the error does not help: the transaction is aborted on both backends.
    let swallowed = store.write(|tx| {
        tx.meta_set("touched", "yes")?;
        let dup = tx.append_journal(&journal_row("acc", 1));
        assert!(matches!(dup, Err(StoreError::Duplicate(_))));
        let after = tx.meta_get("touched");
        assert!(matches!(after, Err(StoreError::Aborted(_))), "{after:?}");
        Ok::<_, StoreError>(())
    });
    assert!(
        matches!(swallowed, Err(StoreError::Aborted(_))),
        "{swallowed:?}"
    );

    let journal = store.read(|tx| tx.journal("acc", None, 10)).unwrap();
    assert_eq!(journal, [journal_row("acc", 1)]);
    assert_eq!(store.read(|tx| tx.meta_get("touched")).unwrap(), None);
}

#[test]
fn journal_of_unknown_account_is_a_constraint_error() {
    let store = fresh_store();
    let result = store.write(|tx| tx.append_journal(&journal_row("ghost", 1)));
    assert!(
        matches!(result, Err(StoreError::Constraint(_))),
        "{result:?}"
    );
}

#[derive(Debug)]
enum AppError {
    Refused,
    Store(#[allow(dead_code, reason = "read through Debug")] StoreError),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

#[test]
fn rolled_back_closure_leaves_nothing() {
    let store = with_account("acc");
    let result: Result<(), AppError> = store.write(|tx| {
        assert!(tx.insert_account("new", "{}", 1)?);
        tx.update_account("acc", "{\"changed\":true}")?;
        tx.append_journal(&journal_row("acc", 1))?;
        assert!(tx.insert_message(&message("acc", 1, "k", "s", "d1"))?);
        assert!(tx.schedule(&DueRow::new("due-1", "acc", 10, "k", "{}"))?);
        tx.meta_set("clock", "123")?;
        tx.register_catalog("digest", "demo", "source", 1)?;
        Err(AppError::Refused)
    });
    assert!(matches!(result, Err(AppError::Refused)));
    assert_nothing_written(&store);
}

#[test]
fn panicking_closure_rolls_back_and_the_store_still_works() {
    let store = with_account("acc");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.write(|tx| -> Result<(), StoreError> {
            tx.update_account("acc", "{\"changed\":true}")?;
            tx.append_journal(&journal_row("acc", 1))?;
            tx.meta_set("clock", "123")?;
            panic!("engine bug");
        })
    }));
    assert!(outcome.is_err());
    assert_nothing_written(&store);
    write(&store, |tx| tx.meta_set("clock", "5"));
    assert_eq!(
        store.read(|tx| tx.meta_get("clock")).unwrap().as_deref(),
        Some("5")
    );
}

fn assert_nothing_written(store: &Store) {
    store
        .read(|tx| -> Result<(), StoreError> {
            assert!(tx.get_account("new")?.is_none());
            let acc = tx.get_account("acc")?.unwrap();
            assert_eq!((acc.state.as_str(), acc.version), ("{}", 1));
            assert!(tx.journal("acc", None, 10)?.is_empty());
            assert_eq!(tx.count_messages("acc", "notice", Some("k"), None)?, 0);
            assert!(tx.get_due("due-1")?.is_none());
            assert_eq!(tx.meta_get("clock")?, None);
            assert_eq!(tx.latest_catalog()?, None);
            Ok(())
        })
        .unwrap();
}

#[test]
fn read_transactions_refuse_writes() {
    let store = fresh_store();
    let result = store.read(|tx| tx.meta_set("k", "v"));
    assert!(matches!(result, Err(StoreError::ReadOnly)));
    let result = store.read(|tx| tx.insert_account("a", "{}", 1));
    assert!(matches!(result, Err(StoreError::ReadOnly)));
}

#[test]
fn messages_dedup_list_and_count() {
    let store = with_account("acc");
    assert!(write(&store, |tx| tx.insert_message(&message(
        "acc",
        1,
        "low_balance",
        "acc",
        "lb:1"
    ))));
    assert!(!write(&store, |tx| tx.insert_message(&message(
        "acc",
        2,
        "low_balance",
        "acc",
        "lb:1"
    ))));
    assert!(write(&store, |tx| tx
        .insert_message(&message("acc", 2, "expiry", "plan-1", "ex:1"))));
    assert!(write(&store, |tx| tx
        .insert_message(&message("acc", 3, "expiry", "plan-2", "ex:2"))));
    let mut event = message("acc", 1, "plan.exhausted", "plan-1", "lb:1");
    event.audience = "event".into();
    // Audiences have separate sequences and dedup keys.
    assert!(write(&store, |tx| tx.insert_message(&event)));

    // Same seq, new dedup key: a lost update.
    let clash = store.write(|tx| tx.insert_message(&message("acc", 3, "expiry", "plan-3", "ex:3")));
    assert!(matches!(clash, Err(StoreError::Duplicate(_))), "{clash:?}");

    store
        .read(|tx| -> Result<(), StoreError> {
            let all = tx.list_messages("acc", "notice", None, None, None, 10)?;
            assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
            assert_eq!(all[0], message("acc", 1, "low_balance", "acc", "lb:1"));
            let expiry = tx.list_messages("acc", "notice", Some("expiry"), None, None, 10)?;
            assert_eq!(expiry.len(), 2);
            let plan2 =
                tx.list_messages("acc", "notice", Some("expiry"), Some("plan-2"), None, 10)?;
            assert_eq!(plan2.iter().map(|m| m.seq).collect::<Vec<_>>(), [3]);
            let by_subject = tx.list_messages("acc", "notice", None, Some("plan-1"), None, 10)?;
            assert_eq!(by_subject.len(), 1);
            let after = tx.list_messages("acc", "notice", None, None, Some(1), 1)?;
            assert_eq!(after.iter().map(|m| m.seq).collect::<Vec<_>>(), [2]);
            let events = tx.list_messages("acc", "event", None, None, None, 10)?;
            assert_eq!(events, [event.clone()]);
            assert_eq!(tx.count_messages("acc", "notice", Some("expiry"), None)?, 2);
            assert_eq!(
                tx.count_messages("acc", "notice", Some("expiry"), Some("plan-1"))?,
                1
            );
            assert_eq!(
                tx.count_messages("acc", "notice", Some("low_balance"), None)?,
                1
            );
            assert_eq!(tx.count_messages("acc", "event", Some("expiry"), None)?, 0);
            assert_eq!(tx.count_messages("acc", "notice", None, None)?, 3);
            Ok(())
        })
        .unwrap();
    assert_eq!(store.count_messages("acc", "event", None, None).unwrap(), 1);
    let listed = store
        .list_messages("acc", "notice", None, None, Some(2), 10)
        .unwrap();
    assert_eq!(listed.iter().map(|m| m.seq).collect::<Vec<_>>(), [3]);

    let mut stray = message("acc", 9, "k", "s", "stray");
    stray.audience = "sms".into();
    let refused = store.write(|tx| tx.insert_message(&stray));
    assert!(
        matches!(refused, Err(StoreError::Constraint(_))),
        "{refused:?}"
    );
}

#[test]
fn limits_above_the_page_maximum_are_errors_not_short_pages() {
    use tenure_store::{CLAIM_ROWS_MAX, PAGE_ROWS_MAX};
    let store = with_account("acc");
    let too_many = PAGE_ROWS_MAX + 1;
    assert!(
        store
            .journal("acc", None, PAGE_ROWS_MAX)
            .unwrap()
            .is_empty()
    );
    for result in [
        store.journal("acc", None, too_many).map(|_| ()),
        store.list_accounts(None, usize::MAX).map(|_| ()),
        store
            .list_messages("acc", "notice", None, None, None, too_many)
            .map(|_| ()),
        store
            .claim_due("w", 0, 0, 1, CLAIM_ROWS_MAX + 1)
            .map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(StoreError::LimitTooLarge { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn single_call_conveniences_match_their_tx_methods() {
    let store = with_account("acc");
    write(&store, |tx| tx.append_journal(&journal_row("acc", 1)));
    assert_eq!(
        store.journal("acc", None, 10).unwrap(),
        [journal_row("acc", 1)]
    );
    assert_eq!(store.list_accounts(None, 10).unwrap().len(), 1);
    store.meta_set("clock", "7").unwrap();
    assert_eq!(store.meta_get("clock").unwrap().as_deref(), Some("7"));
    assert_eq!(store.register_catalog("d", "demo", "text", 1).unwrap(), 1);
    assert_eq!(
        store.latest_catalog().unwrap(),
        Some((1, "text".to_owned()))
    );
    assert_eq!(store.catalog_source(1).unwrap().as_deref(), Some("text"));
}

#[test]
fn schedule_is_idempotent_and_cancel_only_touches_pending() {
    let store = fresh_store();
    let first = DueRow::new("plan-1:expire", "acc", 100, "plan.expire", "{\"plan\":1}");
    assert!(write(&store, |tx| tx.schedule(&first)));
    let again = DueRow::new("plan-1:expire", "acc", 999, "other", "{}");
    assert!(!write(&store, |tx| tx.schedule(&again)));
    let stored = store
        .read(|tx| tx.get_due("plan-1:expire"))
        .unwrap()
        .unwrap();
    assert_eq!(stored, first);
    assert_eq!(store.pending_due_count().unwrap(), 1);
    assert_eq!(store.next_due_us().unwrap(), Some(100));

    assert!(write(&store, |tx| tx.cancel_due("plan-1:expire")));
    assert!(!write(&store, |tx| tx.cancel_due("plan-1:expire")));
    assert_eq!(store.pending_due_count().unwrap(), 0);
    assert_eq!(store.next_due_us().unwrap(), None);

    // A done action cannot be cancelled, nor scheduled anew under its key.
    write(&store, |tx| {
        tx.schedule(&DueRow::new("k", "acc", 5, "x", "{}"))
    });
    let claimed = store.claim_due("w", 5, 0, 1_000, 10).unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(write(&store, |tx| tx.complete_due("k", 5)));
    assert!(!write(&store, |tx| tx.complete_due("k", 6)));
    assert!(!write(&store, |tx| tx.cancel_due("k")));
    assert!(!write(&store, |tx| tx
        .schedule(&DueRow::new("k", "acc", 50, "x", "{}"))));
    let done = store.read(|tx| tx.get_due("k")).unwrap().unwrap();
    assert_eq!((done.done_us, done.attempts), (Some(5), 1));
}

#[test]
fn claim_orders_by_due_time_then_key_and_respects_up_to() {
    let store = fresh_store();
    write(&store, |tx| {
        for (key, due) in [("c", 20), ("b", 20), ("a", 30), ("z", 10), ("late", 1_000)] {
            tx.schedule(&DueRow::new(key, "acc", due, "k", "{}"))?;
        }
        Ok(())
    });
    assert_eq!(store.next_due_us().unwrap(), Some(10));
    let keys = |rows: &[DueRow]| rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>();

    let first = store.claim_due("w1", 30, 0, 60_000, 2).unwrap();
    assert_eq!(keys(&first), ["z", "b"]);
    assert!(first.iter().all(|r| r.lease_owner.as_deref() == Some("w1")
        && r.lease_until_us == Some(60_000_000)
        && r.attempts == 1));
    let rest = store.claim_due("w1", 30, 0, 60_000, 10).unwrap();
    assert_eq!(keys(&rest), ["c", "a"]);
    // Everything due by 30 is leased; "late" is not due yet.
    assert!(store.claim_due("w2", 30, 1, 60_000, 10).unwrap().is_empty());
    assert_eq!(
        keys(&store.claim_due("w2", 1_000, 1, 60_000, 10).unwrap()),
        ["late"]
    );
    assert_eq!(store.pending_due_count().unwrap(), 5);
}

#[test]
fn expired_lease_can_be_reclaimed_by_another_owner_but_a_live_one_cannot() {
    let store = fresh_store();
    write(&store, |tx| {
        tx.schedule(&DueRow::new("job", "acc", 10, "k", "{}"))
    });
    let lease_ms = 10;
    let a = store.claim_due("A", 10, 1_000, lease_ms, 10).unwrap();
    assert_eq!(a[0].lease_until_us, Some(11_000));

    // Live (including the instant the lease ends): nobody, not even A, claims it again.
    assert!(
        store
            .claim_due("B", 10, 5_000, lease_ms, 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_due("B", 10, 11_000, lease_ms, 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_due("A", 10, 11_000, lease_ms, 10)
            .unwrap()
            .is_empty()
    );

    let b = store.claim_due("B", 10, 11_001, lease_ms, 10).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].lease_owner.as_deref(), b[0].attempts), (Some("B"), 2));

    // A woke up late: its lock finds the action no longer its own, so it does not run it.
    assert!(write(&store, |tx| tx.lock_due("job", "A")).is_none());
    let ran = write(&store, |tx| {
        let Some(due) = tx.lock_due("job", "B")? else {
            return Ok(false);
        };
        tx.record_due_run(&due.key, "B", 12_000)?;
        tx.complete_due(&due.key, due.due_us)
    });
    assert!(ran);
    assert!(write(&store, |tx| tx.lock_due("job", "B")).is_none());
    let runs = store.read(|tx| tx.due_runs("job")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].owner.as_str(), runs[0].at_us), ("B", 12_000));
    let summary = store.read(|tx| tx.due_run_summary()).unwrap();
    assert_eq!((summary.runs, summary.distinct_keys), (1, 1));
    assert_eq!(summary.by_owner, [("B".to_owned(), 1)]);
    assert_eq!(store.pending_due_count().unwrap(), 0);
}

#[test]
fn idempotency_round_trips_and_refuses_a_second_answer() {
    let store = fresh_store();
    let row = IdemRow {
        scope: "key_1".into(),
        key: "req-7".into(),
        request_hash: "abc".into(),
        status: 201,
        body: "{\"ok\":true}".into(),
        created_us: 42,
    };
    assert_eq!(
        store.read(|tx| tx.idem_get("key_1", "req-7")).unwrap(),
        None
    );
    write(&store, |tx| tx.idem_put(&row));
    assert_eq!(
        store.read(|tx| tx.idem_get("key_1", "req-7")).unwrap(),
        Some(row.clone())
    );
    assert_eq!(
        store.read(|tx| tx.idem_get("key_2", "req-7")).unwrap(),
        None
    );
    let again = store.write(|tx| tx.idem_put(&row));
    assert!(matches!(again, Err(StoreError::Duplicate(_))), "{again:?}");
}

#[test]
fn api_keys_are_found_by_hash() {
    assert_eq!(
        hash_key("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let secret = new_secret("tk_");
    assert!(secret.starts_with("tk_"));
    assert_eq!(secret.len(), 3 + 64);
    assert!(secret[3..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(secret, new_secret("tk_"));

    let store = fresh_store();
    assert_eq!(store.read(|tx| tx.count_api_keys()).unwrap(), 0);
    let operator = ApiKeyRow {
        id: "key_op".into(),
        hash: hash_key(&secret),
        account_id: None,
        permissions: "admin".into(),
        created_us: 7,
        revoked_us: None,
    };
    let scoped = ApiKeyRow {
        id: "key_acc".into(),
        hash: hash_key("other"),
        account_id: Some("acc".into()),
        permissions: "billing:read usage:write".into(),
        created_us: 8,
        revoked_us: None,
    };
    write(&store, |tx| tx.insert_api_key(&operator));
    write(&store, |tx| tx.insert_api_key(&scoped));
    assert_eq!(store.read(|tx| tx.count_api_keys()).unwrap(), 2);
    let found = store
        .read(|tx| tx.find_api_key_by_hash(&hash_key(&secret)))
        .unwrap();
    assert_eq!(found, Some(operator.clone()));
    let found = store
        .read(|tx| tx.find_api_key_by_hash(&hash_key("other")))
        .unwrap();
    assert_eq!(found, Some(scoped));
    assert_eq!(
        store.read(|tx| tx.find_api_key_by_hash("nope")).unwrap(),
        None
    );

    let mut same_hash = operator.clone();
    same_hash.id = "key_2".into();
    let dup = store.write(|tx| tx.insert_api_key(&same_hash));
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");

    assert!(write(&store, |tx| tx.revoke_api_key("key_op", 99)));
    assert!(!write(&store, |tx| tx.revoke_api_key("key_op", 100)));
    let revoked = store
        .read(|tx| tx.find_api_key_by_hash(&operator.hash))
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_us, Some(99));
}

#[test]
fn meta_upserts() {
    let store = fresh_store();
    assert_eq!(store.read(|tx| tx.meta_get("clock")).unwrap(), None);
    write(&store, |tx| tx.meta_set("clock", "1"));
    write(&store, |tx| tx.meta_set("clock", "2"));
    assert_eq!(
        store.read(|tx| tx.meta_get("clock")).unwrap().as_deref(),
        Some("2")
    );
}

#[test]
fn catalogs_keep_versions_by_digest() {
    let store = fresh_store();
    assert_eq!(store.read(|tx| tx.latest_catalog()).unwrap(), None);
    assert_eq!(
        write(&store, |tx| tx.register_catalog("d1", "demo", "v1 text", 1)),
        1
    );
    assert_eq!(
        write(&store, |tx| tx.register_catalog("d1", "demo", "v1 text", 2)),
        1
    );
    assert_eq!(
        write(&store, |tx| tx.register_catalog("d2", "demo", "v2 text", 3)),
        2
    );
    assert_eq!(
        write(&store, |tx| tx.register_catalog("d1", "demo", "v1 text", 4)),
        1
    );
    assert_eq!(
        store.read(|tx| tx.latest_catalog()).unwrap(),
        Some((2, "v2 text".to_owned()))
    );
    assert_eq!(
        store.read(|tx| tx.catalog_source(1)).unwrap().as_deref(),
        Some("v1 text")
    );
    assert_eq!(store.read(|tx| tx.catalog_source(3)).unwrap(), None);
}

#[test]
fn reopening_and_concurrent_opening_migrate_once() {
    let db = fresh_database();
    let opened: Vec<Store> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| db.open())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    write(&opened[0], |tx| tx.meta_set("k", "v"));
    let again = db.open();
    assert_eq!(
        again.read(|tx| tx.meta_get("k")).unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(again.backend(), db.backend());
}

/// Read-modify-write of one account from two threads loses no update: the account row lock
/// (PostgreSQL) or the write lock (SQLite) makes them take turns.
#[test]
fn concurrent_writers_of_one_account_lose_no_update() {
    const ROUNDS: i64 = 100;
    let store = with_account("acc");
    write(&store, |tx| tx.update_account("acc", "0"));
    let other = store.clone();
    std::thread::scope(|s| {
        for st in [&store, &other] {
            s.spawn(move || {
                for _ in 0..ROUNDS {
                    write(st, |tx| {
                        let acc = tx.get_account("acc")?.unwrap();
                        let n: i64 = acc.state.parse().unwrap();
                        tx.update_account("acc", &(n + 1).to_string())
                    });
                }
            });
        }
    });
    let acc = store.read(|tx| tx.get_account("acc")).unwrap().unwrap();
    assert_eq!(acc.state, (2 * ROUNDS).to_string());
    assert_eq!(acc.version, 2 + 2 * ROUNDS);
}

#[test]
fn sqlite_urls_open() {
    let memory = Store::open("sqlite::memory:").unwrap();
    assert_eq!(memory.backend(), Backend::Sqlite);
    write(&memory, |tx| tx.meta_set("k", "v"));
    // Every handle (clone) sees the same in-memory database; a second open is a new one.
    assert_eq!(
        memory
            .clone()
            .read(|tx| tx.meta_get("k"))
            .unwrap()
            .as_deref(),
        Some("v")
    );
    let other = Store::open("sqlite::memory:").unwrap();
    assert_eq!(other.read(|tx| tx.meta_get("k")).unwrap(), None);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bare.db");
    let bare = Store::open(path.to_str().unwrap()).unwrap();
    write(&bare, |tx| tx.meta_set("k", "bare"));
    let url = Store::open(&format!("sqlite://{}", path.display())).unwrap();
    assert_eq!(
        url.read(|tx| tx.meta_get("k")).unwrap().as_deref(),
        Some("bare")
    );

    let bad = Store::open(dir.path().join("no/such/dir.db").to_str().unwrap());
    assert!(bad.is_err());
    assert!(matches!(
        Store::open("mysql://x/y"),
        Err(StoreError::BadUrl(_))
    ));
}

#[test]
fn fresh_store_runs_on_the_backend_under_test() {
    let wanted = match std::env::var(tenure_store::testing::TEST_DATABASE_ENV) {
        Ok(url) if url.starts_with("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    assert_eq!(fresh_store().backend(), wanted);
}

/// Two transactions locking two accounts in opposite orders deadlock on PostgreSQL; the loser is
/// rolled back and run again. (SQLite's single writer cannot deadlock; there the test only checks
/// that both commit.)
#[test]
fn deadlocked_writers_are_run_again() {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicU32, Ordering};

    let store = with_account("x");
    assert!(write(&store, |tx| tx.insert_account("y", "{}", 1)));
    let postgres = store.backend() == Backend::Postgres;
    let barrier = Barrier::new(2);
    let attempts = [AtomicU32::new(0), AtomicU32::new(0)];
    std::thread::scope(|s| {
        for (i, (first, second)) in [("x", "y"), ("y", "x")].into_iter().enumerate() {
            let (store, barrier, attempts) = (&store, &barrier, &attempts);
            s.spawn(move || {
                write(store, |tx| {
                    let attempt = attempts[i].fetch_add(1, Ordering::SeqCst);
                    tx.get_account(first)?;
                    if postgres && attempt == 0 {
                        barrier.wait();
                    }
                    tx.get_account(second)?;
                    tx.update_account(first, "{\"done\":true}")
                });
            });
        }
    });
    let total: u32 = attempts.iter().map(|a| a.load(Ordering::SeqCst)).sum();
    assert_eq!(total, if postgres { 3 } else { 2 });
    for id in ["x", "y"] {
        let acc = store.read(|tx| tx.get_account(id)).unwrap().unwrap();
        assert_eq!(acc.version, 2);
    }
}
