//! `tenure bench lifecycle`: due-action throughput of subscriptions' commercial life (SUB-4,
//! SUB-6, TIME-3), end to end through the scheduler and the store: a day of a sandbox clock
//! over many subscriptions, of which a share falls due within that day. Its last line on stdout
//! is one JSON object; `seconds` times the advance only.
//!
//! The data set is its own, built with the pure core and loaded in bulk (not measured), on a
//! sandbox clock standing at [`BENCH_NOW`]:
//!
//! - accounts of [`SUBSCRIPTIONS_PER_ACCOUNT_DEFAULT`] instances each (`--per-account`), with
//!   cash for every renewal they will attempt;
//! - instances of `iot-enterprise` and `phone-std` in turn, half of them on auto-renewal (one
//!   month), the rest manual;
//! - a share F (`--due-share`) has exactly one action due within the next day: an auto instance
//!   its first renewal attempt (which succeeds), a manual one its expiry (which stops it, or
//!   starts its grace); the other instances expire 40 to 360 days out, with nothing due for a
//!   month.
//!
//! Instances are bought in the past (one month, or one year, before their expiry) with the
//! core's `subscribe`, and every action due before [`BENCH_NOW`] is run in memory by the core's
//! `on_due`, in time order, so the database holds exactly the state, journal, messages and
//! queue that running the engine through that past would have left.

use anyhow::Context;
use clap::Args;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;
use tenure_core::account::{AccountPolicy, AccountState, Effects, OpenAccount};
use tenure_core::catalog::{Catalog, Edition, Product};
use tenure_core::clock::{Clock, SandboxClock};
use tenure_core::due::{DueAction, DueKind};
use tenure_core::ids::AccountId;
use tenure_core::plan::merge;
use tenure_core::subscription::RenewalMode;
use tenure_core::{Currency, Decimal, Span, Timestamp};
use tenure_engine::{Engine, LOAD_ACCOUNTS_PER_TX_MAX, Scheduler};
use tenure_store::Store;

/// Where the sandbox clock stands when the advance starts (account zone Asia/Shanghai).
const BENCH_NOW: &str = "2026-06-01T12:00:00+08:00";
/// The account zone.
const ZONE: &str = "Asia/Shanghai";
/// How far the measured advance moves the clock.
const ADVANCE: Span = Span::days(1);
/// Instances per account unless `--per-account` says otherwise.
pub const SUBSCRIPTIONS_PER_ACCOUNT_DEFAULT: usize = 4;
/// Cash per instance: a year of `iot-enterprise` (36,000.00) and renewals to spare.
const CASH_PER_SUBSCRIPTION: i64 = 60_000;
/// Days out that instances with nothing due expire, from and to.
const FAR_EXPIRY_DAYS_MIN: i64 = 40;
const FAR_EXPIRY_DAYS_MAX: i64 = 360;
/// Accounts built ahead of the loader (chunks of [`LOAD_ACCOUNTS_PER_TX_MAX`]).
const BUILD_CHUNKS_AHEAD: usize = 4;

#[derive(Args, Debug)]
pub struct LifecycleArgs {
    /// `sqlite://PATH` or `postgres://…?schema=NAME` (a fresh one: the queue must be this
    /// bench's alone); default a new SQLite file in a temporary directory.
    #[arg(long)]
    database: Option<String>,
    #[arg(long, default_value_t = 100_000)]
    subscriptions: usize,
    /// Share of instances with an action due within the advanced day.
    #[arg(long, default_value_t = 0.03)]
    due_share: f64,
    /// Instances per account.
    #[arg(long, default_value_t = SUBSCRIPTIONS_PER_ACCOUNT_DEFAULT)]
    per_account: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// xorshift64*: a small deterministic generator, so a seed names one data set.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One instance to create: what, how it renews, and when it expires.
struct Plan {
    iot: bool,
    auto: bool,
    due: bool,
    expires_at: Timestamp,
}

impl Plan {
    /// The term bought: one month for instances due now (their term is ending), one year for
    /// the others.
    fn term(&self) -> Span {
        if self.due {
            Span::months(1)
        } else {
            Span::years(1)
        }
    }
}

/// The catalog items the bench sells.
struct Items<'c> {
    iot: (&'c Product, &'c Edition),
    phone: (&'c Product, &'c Edition),
}

pub fn run(args: LifecycleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.subscriptions > 0, "--subscriptions must be positive");
    anyhow::ensure!(args.per_account > 0, "--per-account must be positive");
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.due_share),
        "--due-share must be between 0 and 1"
    );
    let _dir;
    let url = match &args.database {
        Some(url) => url.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "tenure-bench-lifecycle-{}-{:x}",
                std::process::id(),
                Timestamp::now().as_microsecond()
            ));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let url = format!("sqlite://{}", dir.join("bench.sqlite").display());
            _dir = TempDir(dir);
            url
        }
    };
    let store = Store::open(&url).with_context(|| format!("opening {url}"))?;
    let backend = match store.backend() {
        tenure_store::Backend::Sqlite => "sqlite",
        tenure_store::Backend::Postgres => "postgres",
    };
    anyhow::ensure!(
        store.pending_due_count()? == 0,
        "the database's due queue is not empty: give the bench a fresh database"
    );
    let now: Timestamp = BENCH_NOW.parse()?;
    let clock = Arc::new(SandboxClock::new(now));
    let catalog = tenure_core::catalog::demo();
    let engine = Engine::new(
        store.clone(),
        catalog.clone(),
        tenure_core::catalog::DEMO_TOML,
        clock.clone(),
    )?;
    let catalog_version = engine.catalog_version();

    let plans = plan(&args, now)?;
    let due_planned = plans.iter().filter(|p| p.due).count();
    eprintln!(
        "bench lifecycle: {backend}, {} subscriptions ({} per account), {due_planned} due within {ADVANCE}",
        args.subscriptions, args.per_account
    );

    // Set-up: one thread builds accounts with the core, this one loads them.
    let loading = Instant::now();
    let (send, receive) = mpsc::sync_channel::<Vec<(AccountState, Effects)>>(BUILD_CHUNKS_AHEAD);
    let built = std::thread::scope(|scope| -> anyhow::Result<usize> {
        let (catalog, plans) = (&catalog, &plans);
        // The sender moves into the builder, so the loader's loop ends when it is done.
        let builder = scope.spawn(move || -> anyhow::Result<()> {
            let items = Items {
                iot: item(catalog, "iot", "iot-enterprise")?,
                phone: item(catalog, "phone", "phone-std")?,
            };
            let mut chunk = Vec::with_capacity(LOAD_ACCOUNTS_PER_TX_MAX);
            for (n, subs) in plans.chunks(args.per_account).enumerate() {
                chunk.push(build_account(
                    catalog,
                    &items,
                    catalog_version,
                    n,
                    subs,
                    now,
                )?);
                if chunk.len() == LOAD_ACCOUNTS_PER_TX_MAX {
                    let full =
                        std::mem::replace(&mut chunk, Vec::with_capacity(LOAD_ACCOUNTS_PER_TX_MAX));
                    if send.send(full).is_err() {
                        return Ok(()); // the loader failed; it reports why
                    }
                }
            }
            if !chunk.is_empty() {
                let _ = send.send(chunk);
            }
            Ok(())
        });
        let mut accounts = 0;
        for chunk in receive {
            accounts += chunk.len();
            engine
                .load_accounts(chunk)
                .context("loading accounts (use a fresh database)")?;
            if accounts % 20_000 < LOAD_ACCOUNTS_PER_TX_MAX {
                eprintln!(
                    "  {accounts} accounts loaded, {:.0} s",
                    loading.elapsed().as_secs_f64()
                );
            }
        }
        builder
            .join()
            .map_err(|_| anyhow::anyhow!("the builder thread panicked"))??;
        Ok(accounts)
    })?;
    let pending = store.pending_due_count()?;
    eprintln!(
        "set-up: {built} accounts, {} subscriptions, {pending} pending due actions in {:.1} s",
        args.subscriptions,
        loading.elapsed().as_secs_f64()
    );

    // The measured advance.
    let to = ADVANCE
        .add_to(now, &tenure_core::span::parse_zone(ZONE)?)
        .context("advance end")?;
    let scheduler = Scheduler::new(&engine, "bench-lifecycle");
    let t = Instant::now();
    let report = scheduler.advance_to(&clock, to)?;
    let seconds = t.elapsed().as_secs_f64();
    let due_actions = report.actions_run;
    let actions_per_s = due_actions as f64 / seconds;
    eprintln!(
        "advance {ADVANCE}: {due_actions} due actions in {seconds:.3} s: {actions_per_s:.0}/s"
    );
    anyhow::ensure!(
        due_actions as usize >= due_planned,
        "only {due_actions} of the {due_planned} planned due actions ran"
    );
    anyhow::ensure!(clock.now() == to, "the clock did not reach {to}");
    let summary = store.read(|tx| tx.due_run_summary())?;
    anyhow::ensure!(
        summary.runs == summary.distinct_keys,
        "an action ran twice: {summary:?}"
    );

    println!(
        "{}",
        serde_json::json!({
            "bench": "lifecycle",
            "backend": backend,
            "subscriptions": args.subscriptions,
            "due_actions": due_actions,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "actions_per_s": actions_per_s.round(),
            "due_share": args.due_share,
            "per_account": args.per_account,
            "accounts": built,
            "pending_before": pending,
            "setup_seconds": (loading.elapsed().as_secs_f64() - seconds).round(),
        })
    );
    Ok(())
}

fn item<'c>(
    catalog: &'c Catalog,
    product: &str,
    edition: &str,
) -> anyhow::Result<(&'c Product, &'c Edition)> {
    let p = catalog
        .product(product)
        .with_context(|| format!("demo catalog has no {product}"))?;
    let e = p
        .edition(edition)
        .with_context(|| format!("demo catalog has no {edition}"))?;
    Ok((p, e))
}

/// What to create, instance by instance: due ones spread at random over the accounts.
fn plan(args: &LifecycleArgs, now: Timestamp) -> anyhow::Result<Vec<Plan>> {
    let zone = tenure_core::span::parse_zone(ZONE)?;
    let mut rng = Rng(args.seed | 1);
    let due_n = (args.subscriptions as f64 * args.due_share).round() as usize;
    let mut due = vec![false; args.subscriptions];
    // A partial Fisher–Yates shuffle picks the due ones.
    let mut order: Vec<usize> = (0..args.subscriptions).collect();
    for i in 0..due_n {
        let j = i + rng.below((args.subscriptions - i) as u64) as usize;
        order.swap(i, j);
        due[order[i]] = true;
    }
    let today = now.to_zoned_datetime(zone.clone()).date();
    let mut plans = Vec::with_capacity(args.subscriptions);
    for (i, &due) in due.iter().enumerate() {
        let iot = i % 2 == 0;
        let auto = rng.below(2) == 0;
        let expires_at = if !due {
            let days = FAR_EXPIRY_DAYS_MIN
                + rng.below((FAR_EXPIRY_DAYS_MAX - FAR_EXPIRY_DAYS_MIN) as u64) as i64;
            now + jiff::SignedDuration::from_secs(days * 86_400 + rng.below(86_400) as i64)
        } else if auto {
            // The first attempt (T-9 at 08:00 for iot, T-7 at 03:00 for phone) falls tomorrow
            // morning; T in the afternoon, so no reminder of T falls inside the day too.
            let before = if iot { 9 } else { 7 };
            let day = today
                .checked_add(jiff::Span::new().days(1 + before))
                .context("date")?;
            let at = day
                .to_datetime(jiff::civil::time(12, 0, 0, 0))
                .to_zoned_datetime(zone.clone())?
                .timestamp();
            at + jiff::SignedDuration::from_secs(1 + rng.below(11 * 3_600) as i64)
        } else {
            // The expiry itself falls within the day.
            now + jiff::SignedDuration::from_secs(1 + rng.below(86_399) as i64)
        };
        plans.push(Plan {
            iot,
            auto,
            due,
            expires_at,
        });
    }
    Ok(plans)
}

fn account_name(n: usize) -> String {
    format!("lc-{n:07}")
}

/// One account built with the core: opened and topped up a year and a half ago, its instances
/// bought in the past, and every action due up to `now` run, in time order.
fn build_account(
    catalog: &Catalog,
    items: &Items<'_>,
    catalog_version: i64,
    n: usize,
    subs: &[Plan],
    now: Timestamp,
) -> anyhow::Result<(AccountState, Effects)> {
    let zone = tenure_core::span::parse_zone(ZONE)?;
    let policy = AccountPolicy {
        low_balance_notices: catalog.defaults.low_balance_notices,
        low_balance_repeat: catalog.defaults.low_balance_repeat,
    };
    let opened = Span::days(540).sub_from(now, &zone)?;
    let mut state = AccountState::open(
        OpenAccount {
            id: AccountId::parse(&account_name(n))?,
            currency: Currency::CNY,
            zone: ZONE.into(),
            verified: true,
            credit_line: Decimal::ZERO,
            low_balance_threshold: None,
        },
        catalog.currency,
        opened,
    )?;
    let cash = Decimal::from(CASH_PER_SUBSCRIPTION * subs.len() as i64);
    let mut fx = state.top_up(catalog, cash, &policy, opened)?;
    let mut history = History::default();
    // Buy in purchase order, running what fell due in between.
    let mut starts = Vec::with_capacity(subs.len());
    for (i, p) in subs.iter().enumerate() {
        starts.push((p.term().sub_from(p.expires_at, &zone)?, i));
    }
    starts.sort();
    for (start, i) in starts {
        let p = &subs[i];
        history.run_until(&mut state, &mut fx, catalog, &policy, start, false);
        let (product, edition) = if p.iot { items.iot } else { items.phone };
        let mode = if p.auto {
            RenewalMode::Auto {
                period: Span::months(1),
            }
        } else {
            RenewalMode::Manual
        };
        let (_, bought) = state
            .subscribe(
                product,
                edition,
                Some(p.term()),
                mode,
                catalog_version,
                &policy,
                start,
            )
            .map_err(|r| anyhow::anyhow!("subscribe: {}: {}", r.code.as_str(), r.detail))?;
        history.add(&bought.schedule);
        merge(
            &mut fx,
            Effects {
                schedule: Vec::new(),
                ..bought
            },
        );
    }
    history.run_until(&mut state, &mut fx, catalog, &policy, now, true);
    fx.schedule = history.pending();
    Ok((state, fx))
}

/// An account's due queue in memory: the actions pending, by (due, key) as the store claims
/// them, and every key ever scheduled (scheduling a key twice schedules it once).
#[derive(Default)]
struct History {
    pending: BTreeMap<(Timestamp, String), DueAction>,
    keys: HashSet<String>,
}

impl History {
    fn add(&mut self, actions: &[DueAction]) {
        for a in actions {
            if self.keys.insert(a.key.clone()) {
                self.pending.insert((a.due_at, a.key.clone()), a.clone());
            }
        }
    }

    /// Runs every pending action due before `until` (or at it, if `inclusive`), in order,
    /// including those the handlers schedule.
    fn run_until(
        &mut self,
        state: &mut AccountState,
        fx: &mut Effects,
        catalog: &Catalog,
        policy: &AccountPolicy,
        until: Timestamp,
        inclusive: bool,
    ) {
        while let Some(entry) = self.pending.first_entry() {
            let due = entry.key().0;
            if due > until || (due == until && !inclusive) {
                break;
            }
            let action = entry.remove();
            let kind: &DueKind = &action.kind;
            let done = state.on_due(kind, catalog, policy, action.due_at);
            self.add(&done.schedule);
            merge(
                fx,
                Effects {
                    schedule: Vec::new(),
                    ..done
                },
            );
        }
    }

    fn pending(self) -> Vec<DueAction> {
        self.pending.into_values().collect()
    }
}

/// A temporary directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
