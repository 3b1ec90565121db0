//! `tenure serve`: the HTTP API and, in real-time mode, the scheduler thread.

use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tenure_core::Timestamp;
use tenure_core::clock::{Clock, SandboxClock};
use tenure_engine::{Engine, Scheduler, SystemClock};
use tenure_store::Store;

/// The database used when none is given: a file under `./tenure-data/`.
pub const DATABASE_DEFAULT: &str = "sqlite://tenure-data/tenure.db";

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:7400")]
    listen: SocketAddr,
    /// `sqlite://PATH` (default `sqlite://tenure-data/tenure.db`) or `postgres://…`.
    #[arg(long, env = "TENURE_DATABASE", default_value = DATABASE_DEFAULT)]
    database: String,
    /// A catalog TOML file.
    #[arg(long, conflicts_with = "demo")]
    catalog: Option<PathBuf>,
    /// Load the demo catalog (the five source products).
    #[arg(long)]
    demo: bool,
    /// Run on a sandbox clock that only moves through `POST /v1/clock/advance`.
    #[arg(long)]
    sandbox: bool,
    /// Emit logs as JSON lines.
    #[arg(long)]
    log_json: bool,
}

pub fn run(args: ServeArgs) -> ExitCode {
    init_logs(args.log_json);
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("tenure serve: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs(json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (catalog, source) = match (&args.catalog, args.demo) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let name = path.display().to_string();
            let catalog = tenure_core::catalog::parse(&name, &text).map_err(|errors| {
                anyhow::anyhow!(
                    "invalid catalog:\n{}",
                    errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })?;
            (catalog, text)
        }
        (None, true) => (
            tenure_core::catalog::demo(),
            tenure_core::catalog::DEMO_TOML.to_string(),
        ),
        (None, false) => anyhow::bail!("give --catalog FILE or --demo"),
    };
    if let Some(dir) = args
        .database
        .strip_prefix("sqlite://")
        .and_then(|path| std::path::Path::new(path).parent())
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = Store::open(&args.database)
        .with_context(|| format!("opening {}", redact(&args.database)))?;
    let sandbox = if args.sandbox {
        let stored = store
            .meta_get(tenure_engine::SANDBOX_NOW_KEY)?
            .and_then(|s| s.parse::<Timestamp>().ok());
        let start = stored.map_or_else(Timestamp::now, |t| t.max(Timestamp::now()));
        Some(Arc::new(SandboxClock::new(start)))
    } else {
        None
    };
    let clock: Arc<dyn Clock> = match &sandbox {
        Some(s) => s.clone(),
        None => Arc::new(SystemClock),
    };
    let engine = Arc::new(Engine::new(store, catalog, &source, clock)?);
    let from_env = std::env::var("TENURE_ADMIN_KEY")
        .ok()
        .filter(|k| !k.is_empty());
    let admin = tenure_server::ensure_admin_key(engine.store(), from_env)?;
    if let Some(plain) = &admin.generated {
        println!("Operator API key (shown once, keep it): {plain}");
    }
    let mut config = tenure_server::ServerConfig::new(admin.hash);
    let stop = Arc::new(AtomicBool::new(false));
    let scheduler = match sandbox {
        Some(clock) => {
            config = config.with_sandbox(clock);
            None
        }
        None => {
            let engine = engine.clone();
            let stop = stop.clone();
            let metrics = config.metrics.clone();
            let owner = format!(
                "serve-{}-{}",
                std::process::id(),
                Timestamp::now().as_nanosecond()
            );
            Some(std::thread::spawn(move || {
                Scheduler::new(&engine, owner)
                    .run_forever(&stop, |n| metrics.add_due_actions_run(n))
            }))
        }
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let router = tenure_server::router(engine.clone(), config);
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        tracing::info!(listen = %args.listen, database = %redact(&args.database), backend = ?engine.store().backend(), catalog_version = engine.catalog_version(), "tenure serving");
        tenure_server::serve(listener, router, shutdown_signal()).await?;
        anyhow::Ok(())
    });
    stop.store(true, Ordering::Relaxed);
    if let Some(handle) = scheduler {
        let _ = handle.join();
    }
    tracing::info!("stopped");
    result
}

/// SIGTERM or Ctrl-C: stop accepting, finish in-flight requests, stop the scheduler.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Hides a password in a database URL before logging it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
