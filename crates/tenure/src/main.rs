//! `tenure`: the one binary. `serve` runs the HTTP API and the scheduler; `catalog check`
//! validates a catalog file; `simulate` runs scenario files on a sandbox clock; `bench usage`
//! measures usage ingestion, `bench lifecycle` subscriptions' due actions.

/// The global allocator: the engine's hot paths (SQLite binding and paging, serde of account
/// states) allocate and free many mid-sized buffers, where mimalloc is measured much faster than
/// the system allocator (see `bench lifecycle` in ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod bench_lifecycle;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "tenure",
    version,
    about = "Tenure: prepaid plans, subscriptions and pay-as-you-go, run end to end"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the scheduler.
    Serve(serve::ServeArgs),
    /// Catalog tools.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Benchmarks; the last line on stdout is one JSON object.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Run scenario files on a sandbox clock; prints `N passed, N failed`.
    Simulate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Validate catalog files: exit 0 when valid, 2 with `FILE:LINE: field: problem` lines when not.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Catalog {
            command: CatalogCommand::Check { files },
        } => catalog_check(&files),
        Command::Bench { command } => bench::run(command),
        Command::Simulate { files } => {
            let mut out = std::io::stdout().lock();
            ExitCode::from(tenure_sim::run_files(&files, &mut out).clamp(0, 255) as u8)
        }
    }
}

/// CAT-1: reports every problem of every file with its line, exit 2 if any.
fn catalog_check(files: &[PathBuf]) -> ExitCode {
    let mut bad = false;
    for file in files {
        let name = file.display().to_string();
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{name}:0: file: cannot read: {e}");
                bad = true;
                continue;
            }
        };
        match tenure_core::catalog::parse(&name, &text) {
            Ok(catalog) => println!("{name}: ok ({} products)", catalog.products.len()),
            Err(errors) => {
                bad = true;
                for e in errors {
                    eprintln!("{e}");
                }
            }
        }
    }
    if bad {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
