//! USE-1, USE-2 under crashes: a child process ingesting batches (`tenure bench ingest-file`,
//! the engine's usage path on a sandbox clock that runs due actions between batches) is killed
//! with SIGKILL at random points, several times; then every batch is sent again, from the first.
//! Afterwards every account's state (plans, bills, balances, statistics: the whole state) equals
//! an oracle's: the pure core applying the same batches in order, in memory, with the due actions
//! run the way the scheduler runs them. Runs on SQLite, or PostgreSQL with TENURE_TEST_DATABASE.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tenure_core::account::{AccountPolicy, AccountState, Effects, OpenAccount};
use tenure_core::catalog::Catalog;
use tenure_core::clock::SandboxClock;
use tenure_core::due::DueAction;
use tenure_core::ids::AccountId;
use tenure_core::plan::BuyPlan;
use tenure_core::usage::UsageEvent;
use tenure_core::{Currency, Decimal, Timestamp};
use tenure_engine::{Engine, Scheduler};

const ACCOUNTS: usize = 4;
const BATCHES: usize = 40;
const EVENTS_PER_BATCH: usize = 40;
const KILLS: usize = 6;
/// Sandbox time between two batches: a bill cycle (an hour) closes every few batches.
const BATCH_STEP_MINUTES: i64 = 7;

fn start() -> Timestamp {
    "2026-03-01T09:00:00+08:00".parse().unwrap()
}

/// xorshift64*, so the test is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn account(n: usize) -> AccountId {
    AccountId::parse(&format!("crash-{n}")).unwrap()
}

fn open_request(n: usize) -> OpenAccount {
    OpenAccount {
        id: account(n),
        currency: Currency::CNY,
        zone: "Asia/Shanghai".into(),
        verified: true,
        credit_line: Decimal::ZERO,
        low_balance_threshold: Some(Decimal::from(20)),
    }
}

/// Cash of account `n`: small for some, so pay-as-you-go bills leave them overdue.
fn cash(n: usize) -> Decimal {
    Decimal::from_str(["60.00", "100.00", "300.00", "50.00"][n % 4]).unwrap()
}

struct Batch {
    now: Timestamp,
    events: Vec<(usize, UsageEvent)>,
}

fn batches() -> Vec<Batch> {
    let mut rng = Rng(0x5eed_c0de);
    (0..BATCHES)
        .map(|b| {
            let now = start() + jiff::SignedDuration::from_mins(BATCH_STEP_MINUTES * b as i64);
            let events = (0..EVENTS_PER_BATCH)
                .map(|i| {
                    let n = rng.below(ACCOUNTS as u64) as usize;
                    let meter = if rng.below(100) < 75 {
                        "sms.cn"
                    } else {
                        "sms.intl"
                    };
                    // Up to 40 minutes back: some land in a cycle already billed (PAYG-2).
                    let back = jiff::SignedDuration::from_mins(rng.below(40) as i64);
                    (
                        n,
                        UsageEvent {
                            id: format!("b{b:03}-e{i:03}"),
                            meter: meter.into(),
                            quantity: 1 + rng.below(60),
                            at: (now - back).max(start()),
                            dimensions: None,
                        },
                    )
                })
                .collect();
            Batch { now, events }
        })
        .collect()
}

fn write_file(path: &std::path::Path, batches: &[Batch]) {
    let mut f = std::fs::File::create(path).unwrap();
    for b in batches {
        let events: Vec<serde_json::Value> = b
            .events
            .iter()
            .map(|(n, e)| {
                let mut v = serde_json::to_value(e).unwrap();
                v["account"] = account(*n).to_string().into();
                v
            })
            .collect();
        let line = serde_json::json!({ "now": b.now.to_string(), "events": events });
        writeln!(f, "{line}").unwrap();
    }
}

/// The pure core, with a due queue that runs like `Scheduler::advance_to`: repeatedly, every
/// action at the earliest due instant, in key order; a key is scheduled once, ever.
struct Oracle {
    catalog: Catalog,
    policy: AccountPolicy,
    states: BTreeMap<AccountId, AccountState>,
    pending: BTreeMap<(Timestamp, String), DueAction>,
    keys: BTreeSet<String>,
}

impl Oracle {
    fn effects(&mut self, fx: Effects) {
        for d in fx.schedule {
            if self.keys.insert(d.key.clone()) {
                self.pending.insert((d.due_at, d.key.clone()), d);
            }
        }
    }

    fn advance_to(&mut self, to: Timestamp) {
        loop {
            let Some((&(next, _), _)) = self.pending.iter().next() else {
                return;
            };
            if next > to {
                return;
            }
            let due: Vec<(Timestamp, String)> = self
                .pending
                .range((next, String::new())..)
                .take_while(|((at, _), _)| *at == next)
                .map(|(k, _)| k.clone())
                .collect();
            for key in due {
                let action = self.pending.remove(&key).unwrap();
                let state = self.states.get_mut(&action.account).unwrap();
                let fx = state.on_due(&action.kind, &self.catalog, &self.policy, next);
                self.effects(fx);
            }
        }
    }

    fn ingest(&mut self, batch: &Batch) {
        let late_window = self.catalog.defaults.late_window;
        for (n, e) in &batch.events {
            let state = self.states.get_mut(&account(*n)).unwrap();
            let (_, fx) = state.apply_usage(&self.catalog, e, late_window, &self.policy, batch.now);
            self.effects(fx);
        }
    }
}

fn seed(engine: &Engine, oracle: &mut Oracle) {
    let now = start();
    for n in 0..ACCOUNTS {
        engine.open_account(open_request(n), None).unwrap();
        engine.top_up(&account(n), cash(n), None).unwrap();
        engine
            .buy_plan(&account(n), "sms-cn-1k", None, None)
            .unwrap();

        let catalog = oracle.catalog.clone();
        let mut s = AccountState::open(open_request(n), catalog.currency, now).unwrap();
        let mut fx = s.top_up(&catalog, cash(n), &oracle.policy, now).unwrap();
        let (product, spec) = catalog.plan_spec("sms-cn-1k").unwrap();
        let (_, bought) = s
            .buy_plan(
                BuyPlan {
                    product,
                    spec,
                    catalog_version: engine.catalog_version(),
                    start_at: None,
                },
                &oracle.policy,
                now,
            )
            .unwrap();
        tenure_core::plan::merge(&mut fx, bought);
        oracle.effects(fx);
        oracle.states.insert(account(n), s);
    }
}

fn stored_state(engine: &Engine, n: usize) -> AccountState {
    let row = engine
        .store()
        .read(|tx| tx.get_account(account(n).as_str()))
        .unwrap()
        .unwrap();
    serde_json::from_str(&row.state).unwrap()
}

#[test]
fn use_1_use_2_killed_ingestion_resent_in_full_equals_the_oracle() {
    let db = tenure_store::testing::fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("batches.jsonl");
    let batches = batches();
    write_file(&file, &batches);

    let catalog = tenure_core::catalog::demo();
    let clock = Arc::new(SandboxClock::new(start()));
    let engine = Engine::new(
        db.open(),
        catalog.clone(),
        tenure_core::catalog::DEMO_TOML,
        clock.clone(),
    )
    .unwrap();
    let mut oracle = Oracle {
        policy: AccountPolicy {
            low_balance_notices: catalog.defaults.low_balance_notices,
            low_balance_repeat: catalog.defaults.low_balance_repeat,
        },
        catalog,
        states: BTreeMap::new(),
        pending: BTreeMap::new(),
        keys: BTreeSet::new(),
    };
    seed(&engine, &mut oracle);
    for n in 0..ACCOUNTS {
        assert_eq!(
            stored_state(&engine, n),
            oracle.states[&account(n)],
            "seeded alike"
        );
    }

    let child = || {
        Command::new(env!("CARGO_BIN_EXE_tenure"))
            .args(["bench", "ingest-file", "--database", db.url()])
            .arg(&file)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tenure bench ingest-file")
    };
    let mut rng = Rng(0xdead_beef);
    let mut killed_after = Vec::new();
    for _ in 0..KILLS {
        let mut c = child();
        let stdout = c.stdout.take().unwrap();
        let lines = rng.below(BATCHES as u64) as usize;
        let mut reader = BufReader::new(stdout);
        let mut seen = 0;
        let mut line = String::new();
        while seen < lines {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            seen += 1;
        }
        // Somewhere inside the next batch (or its due actions), or between two.
        std::thread::sleep(Duration::from_micros(rng.below(4_000)));
        c.kill().unwrap(); // SIGKILL on Unix
        let status = c.wait().unwrap();
        killed_after.push((seen, status.success()));
    }
    eprintln!("killed after batches (seen, exited ok): {killed_after:?}");
    // Resend everything, to the end.
    let mut c = child();
    let out = c.stdout.take().unwrap();
    let done = BufReader::new(out).lines().count();
    assert!(c.wait().unwrap().success(), "the final run failed");
    assert_eq!(done, BATCHES, "kills after {killed_after:?}");

    for b in &batches {
        oracle.advance_to(b.now);
        oracle.ingest(b);
    }
    // Close the last cycles on both sides, so every accrual is billed.
    let end = batches.last().unwrap().now + jiff::SignedDuration::from_hours(2);
    clock.set(batches.last().unwrap().now);
    Scheduler::new(&engine, "closing")
        .with_lease_ms(1)
        .advance_to(&clock, end)
        .unwrap();
    oracle.advance_to(end);

    engine.clear_cache();
    let mut bills = 0;
    for n in 0..ACCOUNTS {
        let stored = stored_state(&engine, n);
        let expected = &oracle.states[&account(n)];
        assert_eq!(stored.plans, expected.plans, "plans of {n}");
        assert_eq!(stored.payg.bills, expected.payg.bills, "bills of {n}");
        assert_eq!(stored.books, expected.books, "balances of {n}");
        assert_eq!(&stored, expected, "state of {n}");
        assert!(engine.verify_books(&account(n)).unwrap());
        bills += stored.payg.bills.len();
    }
    assert!(bills > 0, "the run issued bills");
    let stored_events: i64 = (0..ACCOUNTS)
        .map(|n| {
            engine
                .store()
                .read(|tx| tx.count_usage_events(account(n).as_str()))
                .unwrap()
        })
        .sum();
    assert_eq!(stored_events as usize, BATCHES * EVENTS_PER_BATCH);
}
