//! `tenure simulate FILE…`: runs scenario files (`spec/SCENARIOS.md`, a public contract) on a
//! fresh, isolated engine each, and reports every step that did not hold.
//!
//! What comes in: scenario files (TOML). What goes out: one line per failed step,
//! `FILE: step N (line L): VERB: expected WHAT, found WHAT`, then `N passed, N failed` (files),
//! and an exit code: [`EXIT_PASSED`], [`EXIT_FAILED`], or [`EXIT_INVALID`] when a file cannot be
//! read, parsed or set up (its problems are printed as `FILE:LINE: message`).
//!
//! Code map:
//! - `scenario.rs` parses a file's header and steps; `args.rs` reads one step's arguments with
//!   their lines. A file is parsed whole before it runs, so a typo in step 20 costs no run.
//! - `verbs.rs` is the verb table: every verb, its subject shape, and the function that parses
//!   its arguments. One file per verb family under `verbs/` holds each verb's arguments and what
//!   it does (`accounts.rs`, `clock.rs`, `plans.rs`, `usage.rs`, `subscriptions.rs`,
//!   `expectations.rs`). Adding a verb is one struct and one row.
//! - `sim.rs` is the sandbox: engine, store, catalog, clock and the aliases made with `as`.
//! - `runner.rs` runs steps: subjects, lists, `expect_error`, and the report lines.
//!
//! Decisions the contract leaves open, written down here:
//! - The "line" of a step is the line of its verb key; parse problems name the offending key's.
//! - An argument of the wrong TOML type, a missing required argument or an unknown key is a parse
//!   error (the file does not run). A string of the wrong form for an action (`amount = "1e3"`,
//!   `zone = "Mars/Base"`, `advance = "-1h"`) is the step failing with `invalid_input`, so
//!   `expect_error = "invalid_input"` can check it. Expected values of expectation steps must
//!   parse (a wrong one is a parse error).
//! - Calendar spans of `advance` ("1d", "1 month") are added in the fixed UTC offset of `start`.
//! - After each action step that succeeds, actions already due run (at the same instant), as the
//!   real-time scheduler would run them within its poll interval.
//! - `expect_error` checks "changes nothing" too: accounts, coupons and the clock are compared
//!   before and after the step.
//! - An action step that fails unexpectedly stops its file (later steps would be meaningless);
//!   failed expectations do not, so every one in a file is reported.
//! - `usage` sends one event. Without `id` it gets a fresh one (`simulate-1`, `simulate-2`…).
//!   Without `expect_result`, applied and duplicate are both success; a refused event fails the
//!   step with its code (so `expect_error` expects it), and a result other than `expect_result`
//!   is reported as `expected result duplicate, found result applied`. A negative span in `at`
//!   counts back from now like `advance` counts forward.
//! - `renew_plan` takes `as` (an added key): it names the successor plan.
//! - `set_plan_auto_renew` with `enabled = false` and no `spec`/`threshold` switches repurchase
//!   off and keeps what was saved.
//! - `expect_usage` without `meter` sums every meter; `expect_bills` sums every bill's `total`
//!   and what each still owes (`unpaid`).
//! - `renew` and `set_renewal` send their subject, one or a list, to the engine as one batch
//!   (SUB-3, SUB-8): each item gets its own result, and an item whose alias names no
//!   subscription is refused `not_found` on its own. A batch the engine refuses whole (a
//!   duplicate, too many items) fails every item with that code.
//! - `renewal = "auto"` and `set_renewal` with `mode = "auto"` need their period
//!   (`auto_period`, `period`); a period with another mode is `invalid_input` too.
//! - "Changes nothing" compares accounts, coupons, plans and subscriptions. A refused event is counted in the
//!   usage statistics (`expect_usage refused`), which is the refusal being recorded, not a change.
//!
//! *Invariant:* each file runs on its own private in-memory SQLite store, catalog and sandbox
//! clock; nothing of one file is visible to another, and nothing reads the system clock.

mod args;
mod runner;
mod scenario;
mod sim;
mod verbs;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use scenario::{CatalogRef, ParseError, Scenario, parse};

/// Exit code when every file passed.
pub const EXIT_PASSED: i32 = 0;
/// Exit code when a step of some file did not hold (and every file could run).
pub const EXIT_FAILED: i32 = 1;
/// Exit code when some file could not be read, parsed or set up (or no file was given).
pub const EXIT_INVALID: i32 = 2;

/// How one file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every step held.
    Passed,
    /// It ran, and at least one step did not hold.
    Failed,
    /// It could not run: unreadable, unparseable, or its catalog or engine could not be set up.
    Invalid,
}

/// What running one file produced: its outcome and its report lines (one per failed step, or
/// one per problem that kept it from running).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The file as it is named in the report lines.
    pub file: String,
    pub outcome: Outcome,
    pub lines: Vec<String>,
}

impl FileReport {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    fn invalid(file: &str, lines: Vec<String>) -> FileReport {
        FileReport {
            file: file.to_string(),
            outcome: Outcome::Invalid,
            lines,
        }
    }
}

/// `tenure simulate FILE…`: runs each file, writes its report lines and the closing
/// `N passed, N failed` line to `out`, and returns the process exit code.
pub fn run_files(paths: &[PathBuf], out: &mut impl Write) -> i32 {
    if paths.is_empty() {
        emit(out, "no scenario files given");
        return EXIT_INVALID;
    }
    let (mut passed, mut failed, mut invalid) = (0usize, 0usize, false);
    for path in paths {
        let report = run_file(path);
        for line in &report.lines {
            emit(out, line);
        }
        match report.outcome {
            Outcome::Passed => passed += 1,
            Outcome::Failed => failed += 1,
            Outcome::Invalid => {
                failed += 1;
                invalid = true;
            }
        }
    }
    emit(out, &format!("{passed} passed, {failed} failed"));
    if invalid {
        EXIT_INVALID
    } else if failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_PASSED
    }
}

/// The largest scenario file read. Scenarios are hand-written; anything near this is a mistake.
pub const FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

/// Reads and runs one file; a catalog path in it is relative to the file's folder.
pub fn run_file(path: &Path) -> FileReport {
    let file = path.display().to_string();
    match read_limited(path) {
        Ok(text) => {
            let base = path.parent().unwrap_or_else(|| Path::new(""));
            run_source(&file, &text, base)
        }
        Err(e) => FileReport::invalid(&file, vec![format!("{file}: cannot read: {e}")]),
    }
}

/// Reads a file as UTF-8 text of at most [`FILE_BYTES_MAX`] bytes.
fn read_limited(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(FILE_BYTES_MAX + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > FILE_BYTES_MAX {
        return Err(std::io::Error::other(format!(
            "larger than {FILE_BYTES_MAX} bytes"
        )));
    }
    Ok(text)
}

/// Runs a scenario given as text. `file` names it in report lines; `base_dir` is where a
/// relative catalog path is looked up.
pub fn run_source(file: &str, text: &str, base_dir: &Path) -> FileReport {
    let scenario = match parse(text) {
        Ok(s) => s,
        Err(errors) => {
            let lines = errors
                .iter()
                .map(|e| format!("{file}:{}: {}", e.line, e.message))
                .collect();
            return FileReport::invalid(file, lines);
        }
    };
    let mut sim = match sim::Sim::start(&scenario, file, base_dir) {
        Ok(sim) => sim,
        Err(lines) => return FileReport::invalid(file, lines),
    };
    let failures = runner::run(&scenario, &mut sim);
    let lines: Vec<String> = failures.iter().map(|f| format!("{file}: {f}")).collect();
    let outcome = if lines.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    FileReport {
        file: file.to_string(),
        outcome,
        lines,
    }
}

/// Writes one report line. Output is best effort: a closed pipe must not change the verdict,
/// which the exit code carries.
fn emit(out: &mut impl Write, line: &str) {
    let _ignored = writeln!(out, "{line}");
}
