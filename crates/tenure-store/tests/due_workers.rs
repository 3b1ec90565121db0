//! TIME-4: several workers (threads with their own stores, or separate processes) share one due
//! queue, and every action runs exactly once.

use std::process::Command;
use std::sync::Barrier;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tenure_store::testing::{TestDatabase, fresh_database};
use tenure_store::{DueRow, Store, StoreError};

const ACTIONS: usize = 10_000;
/// Long enough never to expire during the test: expiry is tested on its own.
const LEASE_MS: i64 = 600_000;
const CLAIM_BATCH: usize = 25;
/// Set in a child process: `URL OWNER`.
const CHILD_ENV: &str = "TENURE_STORE_DUE_WORKER";

fn wall_us() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_micros()).unwrap()
}

fn fill_queue(db: &TestDatabase) {
    let store = db.open();
    store
        .write(|tx| -> Result<(), StoreError> {
            for i in 0..ACTIONS {
                // Several actions per due instant, so ordering by key matters too.
                let due_us = i64::try_from(i / 7).unwrap();
                let row = DueRow::new(&format!("a{i:05}"), "acc", due_us, "test.run", "{}");
                assert!(tx.schedule(&row)?);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store.pending_due_count().unwrap(),
        i64::try_from(ACTIONS).unwrap()
    );
}

/// Claims and runs actions until the queue is empty; returns how many this worker ran.
fn work(store: &Store, owner: &str) -> usize {
    let mut ran = 0;
    loop {
        let batch = store
            .claim_due(owner, i64::MAX, wall_us(), LEASE_MS, CLAIM_BATCH)
            .unwrap();
        if batch.is_empty() {
            if store.pending_due_count().unwrap() == 0 {
                return ran;
            }
            // The rest is leased to the other worker.
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        for claimed in batch {
            let did = store
                .write(|tx| -> Result<bool, StoreError> {
                    let Some(due) = tx.lock_due(&claimed.key, owner)? else {
                        return Ok(false);
                    };
                    tx.record_due_run(&due.key, owner, wall_us())?;
                    tx.complete_due(&due.key, due.due_us)
                })
                .unwrap();
            ran += usize::from(did);
        }
    }
}

fn assert_each_ran_once(db: &TestDatabase, owners: &[&str]) {
    let store = db.open();
    let summary = store.read(|tx| tx.due_run_summary()).unwrap();
    let actions = i64::try_from(ACTIONS).unwrap();
    assert_eq!(summary.runs, actions, "{summary:?}");
    assert_eq!(summary.distinct_keys, actions, "{summary:?}");
    let mut seen: Vec<&str> = summary.by_owner.iter().map(|(o, _)| o.as_str()).collect();
    seen.sort_unstable();
    assert_eq!(
        seen, owners,
        "both workers must have run some actions: {summary:?}"
    );
    assert_eq!(store.pending_due_count().unwrap(), 0);
    assert_eq!(store.next_due_us().unwrap(), None);
}

#[test]
fn due_actions_run_once_across_two_stores_in_threads() {
    let db = fresh_database();
    fill_queue(&db);
    let start = Barrier::new(2);
    let counts: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = ["w1", "w2"]
            .into_iter()
            .map(|owner| {
                let (db, start) = (&db, &start);
                s.spawn(move || {
                    let store = db.open();
                    start.wait();
                    work(&store, owner)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(counts.iter().sum::<usize>(), ACTIONS);
    assert_each_ran_once(&db, &["w1", "w2"]);
}

#[test]
fn due_actions_run_once_across_two_processes() {
    let db = fresh_database();
    fill_queue(&db);
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["p1", "p2"]
        .into_iter()
        .map(|owner| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "due_worker_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, format!("{} {owner}", db.url()))
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        let status = child.wait().unwrap();
        assert!(status.success(), "worker process failed: {status}");
    }
    assert_each_ran_once(&db, &["p1", "p2"]);
}

/// The body of a worker process started by `due_actions_run_once_across_two_processes`; does
/// nothing when run as an ordinary test.
#[test]
fn due_worker_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (url, owner) = spec.rsplit_once(' ').unwrap();
    let store = Store::open(url).unwrap();
    let ran = work(&store, owner);
    println!("worker {owner} ran {ran} actions");
}
