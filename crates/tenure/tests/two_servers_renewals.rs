//! SUB-4, TIME-4: two `tenure serve` processes sharing one database, with accounts at the edge of
//! their balance, never auto-renew one instance twice nor charge an account twice.
//!
//! Each account holds one monthly `phone-std` instance on auto-renewal, bought in the past so
//! that its first renewal attempt is already due, and cash for exactly one renewal. Both
//! servers (on the system clock) race over the attempts: on PostgreSQL (TENURE_TEST_DATABASE)
//! through `FOR UPDATE SKIP LOCKED` and leases, on SQLite through the file's write lock. The
//! proof is in the effects: one `subscription.auto_renewal` journal transaction per account, no
//! failed attempt (a second run would find no cash and fail, noisily), one `renewed` event per
//! instance, the new expiry one period on, and every due action run once.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenure_core::account::{AccountPolicy, AccountState, Effects, OpenAccount};
use tenure_core::clock::SandboxClock;
use tenure_core::ids::{AccountId, SubscriptionId};
use tenure_core::message::Audience;
use tenure_core::subscription::RenewalMode;
use tenure_core::{Currency, Decimal, Span, Timestamp};
use tenure_engine::Engine;

const ACCOUNTS: usize = 1_500;
/// Accounts written per chunk while the servers run, and the pause between chunks.
const SEED_CHUNK_ACCOUNTS: usize = 100;
const SEED_PAUSE_MS: u64 = 150;
/// Time the servers get to open the database before the first chunk.
const SERVER_START_MS: u64 = 1_500;
/// `phone-std`, one month.
const PRICE: &str = "99.00";

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

fn account(n: usize) -> AccountId {
    AccountId::parse(&format!("edge-{n:04}")).unwrap()
}

/// An account bought its instance at `bought`, with cash for it and one renewal more.
fn build(
    catalog: &tenure_core::Catalog,
    version: i64,
    n: usize,
    bought: Timestamp,
) -> (AccountState, Effects) {
    let policy = AccountPolicy {
        low_balance_notices: catalog.defaults.low_balance_notices,
        low_balance_repeat: catalog.defaults.low_balance_repeat,
    };
    let mut state = AccountState::open(
        OpenAccount {
            id: account(n),
            currency: Currency::CNY,
            zone: "Asia/Shanghai".into(),
            verified: true,
            credit_line: Decimal::ZERO,
            low_balance_threshold: None,
        },
        catalog.currency,
        bought,
    )
    .unwrap();
    let price: Decimal = PRICE.parse().unwrap();
    let mut fx = state
        .top_up(catalog, price + price, &policy, bought)
        .unwrap();
    let product = catalog.product("phone").unwrap();
    let edition = product.edition("phone-std").unwrap();
    let (_, bought_fx) = state
        .subscribe(
            product,
            edition,
            Some(Span::months(1)),
            RenewalMode::Auto {
                period: Span::months(1),
            },
            version,
            &policy,
            bought,
        )
        .unwrap();
    tenure_core::plan::merge(&mut fx, bought_fx);
    (state, fx)
}

#[test]
fn sub_4_two_serve_processes_renew_each_instance_once_and_charge_once() {
    let db = tenure_store::testing::fresh_database();
    let url = db.url().to_string();
    let store = db.open();
    // Bought 25 days ago: the instances expire in about 5 days, so their first attempt (7 days
    // before the expiry day, at 03:00) is 1–2 days past and due at once.
    let bought = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(25 * 24))
        .unwrap();
    let clock = Arc::new(SandboxClock::new(bought));
    let engine = Engine::new(
        store.clone(),
        tenure_core::catalog::demo(),
        tenure_core::catalog::DEMO_TOML,
        clock,
    )
    .unwrap();
    let catalog = tenure_core::catalog::demo();
    let accounts: Vec<_> = (0..ACCOUNTS)
        .map(|n| build(&catalog, engine.catalog_version(), n, bought))
        .collect();
    let expiry_before: Vec<_> = accounts
        .iter()
        .map(|(s, _)| s.subscriptions[0].expires_at.unwrap())
        .collect();
    // The servers start first; the accounts arrive in chunks while both poll the queue, so both
    // race over every chunk.
    let servers = [start_server(&url), start_server(&url)];
    std::thread::sleep(Duration::from_millis(SERVER_START_MS));
    let mut accounts = accounts.into_iter();
    loop {
        let chunk: Vec<_> = accounts.by_ref().take(SEED_CHUNK_ACCOUNTS).collect();
        if chunk.is_empty() {
            break;
        }
        engine.load_accounts(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(SEED_PAUSE_MS));
    }
    let now_us = || Timestamp::now().as_microsecond();
    let deadline = Instant::now() + Duration::from_secs(300);
    // Drained when nothing pending is due any more (the next cycle's actions stay pending).
    while store
        .next_due_us()
        .unwrap()
        .is_some_and(|us| us <= now_us())
    {
        assert!(
            Instant::now() < deadline,
            "due actions still due after 300 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(servers);

    let summary = store.read(|tx| tx.due_run_summary()).unwrap();
    assert_eq!(
        summary.runs, summary.distinct_keys,
        "every due action ran once: {summary:?}"
    );
    assert!(summary.runs >= ACCOUNTS as i64, "{summary:?}");
    assert_eq!(
        summary.by_owner.len(),
        2,
        "both processes took part: {summary:?}"
    );
    for (n, old_expiry) in expiry_before.iter().enumerate() {
        let id = account(n);
        let journal = engine.journal(&id, None, 500).unwrap();
        let renewals = journal
            .items
            .iter()
            .filter(|j| j.kind == "subscription.auto_renewal")
            .count();
        assert_eq!(renewals, 1, "{id}: charged once for one renewal");
        let a = engine.account(&id).unwrap();
        assert_eq!(a.cash, "0.00", "{id}: exactly the one renewal was paid");
        let count = |audience, kind| engine.count_messages(&id, audience, kind, None).unwrap();
        assert_eq!(count(Audience::Event, "subscription.renewed"), 1, "{id}");
        assert_eq!(
            count(Audience::Event, "subscription.auto_renew_failed"),
            0,
            "{id}: no second attempt found the cash gone"
        );
        let sub = engine.subscription(&id, SubscriptionId(1)).unwrap();
        let zone = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        let renewed_to = Span::months(1).add_to(*old_expiry, &zone).unwrap();
        assert_eq!(
            sub.expires_at.unwrap().parse::<Timestamp>().unwrap(),
            renewed_to,
            "{id}: renewed by one period"
        );
        assert!(engine.verify_books(&id).unwrap());
    }
}
