//! TIME-4: two `tenure serve` processes sharing one database run each of 10,000 due actions
//! exactly once. On PostgreSQL (TENURE_TEST_DATABASE) claims race through `FOR UPDATE SKIP
//! LOCKED`; on SQLite through the file lock. The proof is the due-run audit written in the same
//! transaction as each action's effect, and the effects themselves: one `coupon.expired` journal
//! transaction per coupon.

use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenure_core::account::OpenAccount;
use tenure_core::clock::SandboxClock;
use tenure_core::ids::AccountId;
use tenure_core::{Currency, Decimal, Span, Timestamp};
use tenure_engine::{CouponExpiry, Engine};

const ACCOUNTS: usize = 50;
const COUPONS_PER_ACCOUNT: usize = 200;
const DUE_ACTIONS: i64 = (ACCOUNTS * COUPONS_PER_ACCOUNT) as i64;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(url: &str) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_tenure"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database",
            url,
        ])
        .env("TENURE_ADMIN_KEY", "test-operator-key")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tenure serve");
    Server(child)
}

#[test]
fn time_4_two_serve_processes_run_10000_due_actions_exactly_once() {
    let db = tenure_store::testing::fresh_database();
    let url = db.url().to_string();
    let store = db.open();
    // Seed on a clock an hour in the past, so every coupon's expiry is already due when the
    // servers (on the system clock) start.
    let past = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let engine = Engine::new(
        store.clone(),
        tenure_core::catalog::demo(),
        tenure_core::catalog::DEMO_TOML,
        Arc::new(SandboxClock::new(past)),
    )
    .unwrap();
    for a in 0..ACCOUNTS {
        let id = AccountId::parse(&format!("acct-{a}")).unwrap();
        engine
            .open_account(
                OpenAccount {
                    id: id.clone(),
                    currency: Currency::CNY,
                    zone: "Asia/Shanghai".into(),
                    verified: false,
                    credit_line: Decimal::ZERO,
                    low_balance_threshold: None,
                },
                None,
            )
            .unwrap();
        for _ in 0..COUPONS_PER_ACCOUNT {
            engine
                .grant_coupon(
                    &id,
                    Decimal::from_str("1.00").unwrap(),
                    None,
                    CouponExpiry::In(Span::new(1, tenure_core::SpanUnit::Minute)),
                    None,
                )
                .unwrap();
        }
    }
    assert_eq!(store.pending_due_count().unwrap(), DUE_ACTIONS);

    let servers = [start_server(&url), start_server(&url)];
    let deadline = Instant::now() + Duration::from_secs(300);
    while store.pending_due_count().unwrap() > 0 {
        assert!(
            Instant::now() < deadline,
            "due actions still pending after 300 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(servers);

    let summary = store.read(|tx| tx.due_run_summary()).unwrap();
    assert_eq!(
        summary.runs, DUE_ACTIONS,
        "each action ran once: {summary:?}"
    );
    assert_eq!(summary.distinct_keys, DUE_ACTIONS);
    assert_eq!(
        summary.by_owner.len(),
        2,
        "both processes took part: {summary:?}"
    );
    for a in 0..ACCOUNTS {
        let id = AccountId::parse(&format!("acct-{a}")).unwrap();
        let mut expired = 0;
        let mut after = None;
        loop {
            let page = engine.journal(&id, after, 500).unwrap();
            expired += page
                .items
                .iter()
                .filter(|j| j.kind == "coupon.expired")
                .count();
            match page.next {
                Some(n) => after = Some(n.parse().unwrap()),
                None => break,
            }
        }
        assert_eq!(expired, COUPONS_PER_ACCOUNT, "{id}: one expiry per coupon");
        assert_eq!(engine.account(&id).unwrap().coupon_remaining, "0.00");
        assert!(engine.verify_books(&id).unwrap());
    }
}
