//! `tenure bench usage`: usage ingestion throughput, end to end through the engine and the store
//! (the code path of `POST /v1/usage` minus HTTP), against a naive one-transaction-per-event
//! ingestion and against the pure core in memory. Its last line on stdout is one JSON object.
//!
//! The data set is its own: accounts of the demo catalog, each with cash and plans of the `sms`
//! product, loaded in bulk (not measured). Events are 90% `sms.cn` (taken from the plans in PLAN-3
//! order) and 10% `sms.intl` (pay-as-you-go, accrued for the hourly bill), 1–5 units each, on
//! accounts drawn at random, uniformly, for every event (the hardest case for the store: a batch
//! of 1,000 events touches about 950 accounts) unless `--accounts-per-batch` clusters them.
//! Event ids are a sender's sequence numbers (time-ordered, as sequence numbers, ULIDs and UUIDv7
//! are) unless `--random-ids` makes them random (as UUIDv4 are).
//!
//! `tenure bench ingest-file` (hidden) replays a file of batches on a sandbox clock; the crash
//! test kills it at random points.

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenure_core::account::{AccountPolicy, AccountState, Effects, OpenAccount};
use tenure_core::catalog::Catalog;
use tenure_core::clock::{Clock, SandboxClock};
use tenure_core::ids::AccountId;
use tenure_core::plan::BuyPlan;
use tenure_core::usage::UsageEvent;
use tenure_core::{Currency, Decimal, Timestamp};
use tenure_engine::{Engine, IncomingEvent, Scheduler, SystemClock};
use tenure_store::Store;

/// Plan specs bought, in turn, by every account (all cover `sms.cn`, so PLAN-3 picks among them).
const PLAN_SPECS: [&str; 3] = ["sms-cn-10k", "sms-cn-1k", "sms-cn-10k"];
/// Cash each account starts with: more than its plans cost.
const CASH_PER_ACCOUNT: &str = "5000.00";
/// Share of events on the pay-as-you-go meter `sms.intl`, in percent.
const PAYG_EVENTS_PERCENT: u64 = 10;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Usage ingestion throughput (events per second), durable, on SQLite or PostgreSQL.
    Usage(UsageArgs),
    /// Due-action throughput of subscriptions: a day of a sandbox clock over many instances.
    Lifecycle(crate::bench_lifecycle::LifecycleArgs),
    /// Replays a JSON-lines file of batches on a sandbox clock (for the crash tests).
    #[command(hide = true)]
    IngestFile {
        #[arg(long)]
        database: String,
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct UsageArgs {
    /// `sqlite://PATH` or `postgres://…`; default a new SQLite file in a temporary directory.
    #[arg(long)]
    database: Option<String>,
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    #[arg(long, default_value_t = 3)]
    plans_per_account: usize,
    #[arg(long, default_value_t = 2_000_000)]
    events: usize,
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Draw each batch's events from this many accounts (0: every event from all accounts).
    #[arg(long, default_value_t = 0)]
    accounts_per_batch: usize,
    /// Random event ids instead of a sender's sequence numbers.
    #[arg(long)]
    random_ids: bool,
    /// Events ingested one transaction each, without the cache, for the naive figure.
    #[arg(long, default_value_t = 3_000)]
    naive_events: usize,
    /// Events applied by the pure core in memory, for the core figure.
    #[arg(long, default_value_t = 1_000_000)]
    core_events: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn run(command: BenchCommand) -> ExitCode {
    let result = match command {
        BenchCommand::Usage(args) => usage(args),
        BenchCommand::Lifecycle(args) => crate::bench_lifecycle::run(args),
        BenchCommand::IngestFile { database, file } => ingest_file(&database, &file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tenure bench: {e:#}");
            ExitCode::FAILURE
        }
    }
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
        self.next() % n
    }
}

fn account_name(n: usize) -> String {
    format!("acct-{n:06}")
}

fn policy(catalog: &Catalog) -> AccountPolicy {
    AccountPolicy {
        low_balance_notices: catalog.defaults.low_balance_notices,
        low_balance_repeat: catalog.defaults.low_balance_repeat,
    }
}

/// One account built with the core: opened, topped up, its plans bought.
fn build_account(
    catalog: &Catalog,
    catalog_version: i64,
    n: usize,
    plans: usize,
    now: Timestamp,
) -> anyhow::Result<(AccountState, Effects)> {
    let policy = policy(catalog);
    let mut state = AccountState::open(
        OpenAccount {
            id: AccountId::parse(&account_name(n))?,
            currency: Currency::CNY,
            zone: "Asia/Shanghai".into(),
            verified: true,
            credit_line: Decimal::ZERO,
            low_balance_threshold: None,
        },
        catalog.currency,
        now,
    )?;
    let mut fx = state.top_up(catalog, CASH_PER_ACCOUNT.parse()?, &policy, now)?;
    for spec in PLAN_SPECS.iter().cycle().take(plans) {
        let (product, spec) = catalog
            .plan_spec(spec)
            .with_context(|| format!("demo catalog has no {spec}"))?;
        let (_, bought) = state.buy_plan(
            BuyPlan {
                product,
                spec,
                catalog_version,
                start_at: None,
            },
            &policy,
            now,
        )?;
        tenure_core::plan::merge(&mut fx, bought);
    }
    Ok((state, fx))
}

/// The stream of events: batch by batch, deterministic for a seed.
struct Events {
    rng: Rng,
    accounts: usize,
    per_batch: usize,
    random_ids: bool,
    seq: u64,
    prefix: &'static str,
}

impl Events {
    fn batch(&mut self, size: usize, at: Timestamp) -> Vec<IncomingEvent> {
        let base = self.rng.below(self.accounts as u64) as usize;
        (0..size)
            .map(|_| {
                let n = if self.per_batch == 0 {
                    self.rng.below(self.accounts as u64) as usize
                } else {
                    (base + self.rng.below(self.per_batch as u64) as usize) % self.accounts
                };
                self.seq += 1;
                let id = if self.random_ids {
                    format!("{:016x}{:016x}", self.rng.next(), self.rng.next())
                } else {
                    format!("{}{:012}", self.prefix, self.seq)
                };
                let meter = if self.rng.below(100) < PAYG_EVENTS_PERCENT {
                    "sms.intl"
                } else {
                    "sms.cn"
                };
                IncomingEvent {
                    account: account_name(n),
                    event: UsageEvent {
                        id,
                        meter: meter.into(),
                        quantity: 1 + self.rng.below(5),
                        at,
                        dimensions: None,
                    },
                }
            })
            .collect()
    }
}

fn usage(args: UsageArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.accounts > 0 && args.batch > 0,
        "accounts and batch must be positive"
    );
    let _dir;
    let url = match &args.database {
        Some(url) => url.clone(),
        None => {
            let dir = tempfile_dir()?;
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
    let catalog = tenure_core::catalog::demo();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Engine::new(
        store.clone(),
        catalog.clone(),
        tenure_core::catalog::DEMO_TOML,
        clock.clone(),
    )?;
    let run = format!("{:x}", Timestamp::now().as_microsecond());

    // The data set, loaded in bulk (not measured). Account names carry a run tag when the
    // database is not a fresh one of our own, so runs can share a database.
    eprintln!(
        "bench usage: {backend}, {} accounts × {} plans, {} events in batches of {}",
        args.accounts, args.plans_per_account, args.events, args.batch
    );
    let now = engine.now();
    let mut built = Vec::with_capacity(args.accounts);
    for n in 0..args.accounts {
        built.push(build_account(
            &catalog,
            engine.catalog_version(),
            n,
            args.plans_per_account,
            now,
        )?);
    }
    let core_states: Vec<AccountState> = built.iter().map(|(s, _)| s.clone()).collect();
    let loading = Instant::now();
    engine
        .load_accounts(built)
        .context("loading accounts (use a fresh database)")?;
    eprintln!("loaded in {:.1} s", loading.elapsed().as_secs_f64());

    // The measured run.
    let mut events = Events {
        rng: Rng(args.seed | 1),
        accounts: args.accounts,
        per_batch: args.accounts_per_batch,
        random_ids: args.random_ids,
        seq: 0,
        prefix: "e",
    };
    let bar = ProgressBar::new(args.events as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut applied = 0usize;
    let mut elapsed = Duration::ZERO;
    let mut left = args.events;
    while left > 0 {
        let size = left.min(args.batch);
        let batch = events.batch(size, engine.now());
        let t = Instant::now();
        let results = engine.ingest_usage(batch)?;
        elapsed += t.elapsed();
        applied += results.iter().filter(|r| r.status == "applied").count();
        left -= size;
        bar.inc(size as u64);
    }
    bar.finish_and_clear();
    anyhow::ensure!(
        applied == args.events,
        "only {applied} of {} events were applied",
        args.events
    );
    let seconds = elapsed.as_secs_f64();
    let events_per_s = args.events as f64 / seconds;
    eprintln!(
        "engine: {} events in {seconds:.2} s: {events_per_s:.0}/s",
        args.events
    );

    // Naive: what a team writes by hand: one transaction per event, the state read and parsed,
    // the deduction, the state and every row written back one event at a time, no cache. On a
    // smaller sample, on the same database.
    let naive = Engine::new(
        store,
        catalog.clone(),
        tenure_core::catalog::DEMO_TOML,
        clock.clone(),
    )?
    .with_cache_capacity(0);
    let mut naive_events = Events {
        prefix: "n",
        seq: 0,
        rng: Rng(args.seed.rotate_left(17) | 1),
        ..events
    };
    let t = Instant::now();
    for _ in 0..args.naive_events {
        let one = naive_events.batch(1, engine.now());
        let r = naive.ingest_usage(one)?;
        anyhow::ensure!(
            r[0].status == "applied",
            "naive event not applied: {:?}",
            r[0]
        );
    }
    let naive_per_s = args.naive_events as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "naive (one transaction per event, {} events): {naive_per_s:.0}/s",
        args.naive_events
    );

    let core_per_s = core_rate(&catalog, core_states, &args, engine.now());
    println!(
        "{}",
        serde_json::json!({
            "bench": "usage",
            "backend": backend,
            "events": args.events,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "events_per_s": events_per_s.round(),
            "naive_events_per_s": naive_per_s.round(),
            "core_events_per_s": core_per_s.round(),
            "accounts": args.accounts,
            "plans_per_account": args.plans_per_account,
            "batch": args.batch,
            "accounts_per_batch": args.accounts_per_batch,
            "event_ids": if args.random_ids { "random" } else { "sequential" },
            "naive_sample": args.naive_events,
            "run": run,
        })
    );
    Ok(())
}

/// The pure core alone: the same kind of events applied in memory to the accounts' states
/// (the whole decision: PLAN-3 split, journal, accrual, statistics), no storage.
fn core_rate(
    catalog: &Catalog,
    mut states: Vec<AccountState>,
    args: &UsageArgs,
    now: Timestamp,
) -> f64 {
    let policy = policy(catalog);
    let late_window = catalog.defaults.late_window;
    let mut events = Events {
        rng: Rng(args.seed.rotate_left(33) | 1),
        accounts: args.accounts,
        per_batch: args.accounts_per_batch,
        random_ids: args.random_ids,
        seq: 0,
        prefix: "c",
    };
    let mut batches = Vec::new();
    let mut left = args.core_events;
    while left > 0 {
        let size = left.min(args.batch);
        batches.push(events.batch(size, now));
        left -= size;
    }
    let index: std::collections::HashMap<String, usize> = states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.to_string(), i))
        .collect();
    let t = Instant::now();
    let mut applied = 0u64;
    for batch in &batches {
        for e in batch {
            let state = &mut states[index[&e.account]];
            let (outcome, fx) = state.apply_usage(catalog, &e.event, late_window, &policy, now);
            if matches!(outcome, tenure_core::usage::UsageOutcome::Applied { .. }) {
                applied += 1;
            }
            std::hint::black_box(fx);
        }
    }
    let rate = args.core_events as f64 / t.elapsed().as_secs_f64();
    eprintln!("core (apply_usage in memory, {applied} applied): {rate:.0}/s");
    rate
}

/// A temporary directory on the temp file system, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "tenure-bench-{}-{:x}",
        std::process::id(),
        Timestamp::now().as_microsecond()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Replays `file` (JSON lines: `{"now": RFC 3339, "events": [{account, id, meter, quantity,
/// at}]}`) on a sandbox clock: for each batch, runs what is due up to `now`, then ingests the
/// batch, then prints the batch's number. Resending a file already (partly) applied answers the
/// applied events as duplicates.
fn ingest_file(database: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut batches = Vec::new();
    for line in std::io::BufReader::new(text).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let now: Timestamp = v["now"].as_str().context("now")?.parse()?;
        let mut events = Vec::new();
        for e in v["events"].as_array().context("events")? {
            events.push(IncomingEvent {
                account: e["account"].as_str().context("account")?.to_string(),
                event: serde_json::from_value(e.clone())?,
            });
        }
        batches.push((now, events));
    }
    let Some((first, _)) = batches.first() else {
        return Ok(());
    };
    let clock = Arc::new(SandboxClock::new(*first));
    let store = Store::open(database)?;
    let engine = Engine::new(
        store,
        tenure_core::catalog::demo(),
        tenure_core::catalog::DEMO_TOML,
        clock.clone(),
    )?;
    // A lease of a millisecond: a restarted child takes over at once what a killed one claimed.
    let scheduler = Scheduler::new(&engine, "ingest-file").with_lease_ms(1);
    let mut out = std::io::stdout().lock();
    for (i, (now, events)) in batches.into_iter().enumerate() {
        scheduler.advance_to(&clock, now)?;
        engine.ingest_usage(events)?;
        writeln!(out, "{i}")?;
        out.flush()?;
    }
    Ok(())
}
