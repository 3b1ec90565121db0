//! `tenure simulate` as a provider sees it: files in, report lines and an exit code out.

use std::path::{Path, PathBuf};
use tenure_sim::{EXIT_FAILED, EXIT_INVALID, EXIT_PASSED, run_files};

/// Runs scenario files written into a fresh folder; returns the exit code and the output with
/// the folder left out of file names, so lines read `s.toml: step …`.
fn simulate(files: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(name, text)| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("scenario file written");
            path
        })
        .collect();
    run_in(dir.path(), &paths)
}

fn run_in(dir: &Path, paths: &[PathBuf]) -> (i32, String) {
    let mut out = Vec::new();
    let code = run_files(paths, &mut out);
    let text = String::from_utf8(out).expect("output is UTF-8");
    (code, text.replace(&format!("{}/", dir.display()), ""))
}

fn one(text: &str) -> (i32, String) {
    simulate(&[("s.toml", text)])
}

const HEADER: &str = r#"name = "test"
catalog = "demo"
start = "2026-03-01T09:00:00+08:00"
"#;

/// A file: the three header lines, then `steps` from line 4 on.
fn file(steps: &str) -> String {
    format!("{HEADER}{steps}")
}

#[test]
fn a_passing_file_prints_only_the_closing_line() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
top_up = "acme"
amount = "100.00"

[[step]]
expect_account = "acme"
cash = "100"
available = "100.00"
status = "active"
"#,
    ));
    assert_eq!(out, "1 passed, 0 failed\n");
    assert_eq!(code, EXIT_PASSED);
}

#[test]
fn failed_expectations_are_each_reported_with_their_line_and_the_file_goes_on() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
top_up = "acme"
amount = "100.00"

[[step]]
expect_account = "acme"
cash = "46.00"
status = "active"

[[step]]
expect_account = "acme"
available = "1.00"
status = "overdue"

[[step]]
expect_notices = "acme"
kind = "account.low_balance"
count = 1
"#,
    ));
    assert_eq!(
        out,
        "s.toml: step 3 (line 13): expect_account: expected cash 46.00, found cash 100.00\n\
         s.toml: step 4 (line 18): expect_account: expected available 1.00 and status overdue, found available 100.00 and status active\n\
         s.toml: step 5 (line 23): expect_notices: expected 1 account.low_balance notices, found 0\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn expect_error_holds_when_the_step_is_refused_with_that_code_and_changes_nothing() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
top_up = "acme"
amount = "10.00"

[[step]]
top_up = "acme"
amount = "1.001"
expect_error = "invalid_input"

[[step]]
top_up = "ghost"
amount = "1.00"
expect_error = "not_found"

[[step]]
grant_coupon = "acme"
amount = "5.00"
products = ["nope"]
as = "c"
expect_error = "not_found"

[[step]]
expect_account = "acme"
cash = "10.00"
coupon_remaining = "0.00"
"#,
    ));
    assert_eq!(out, "1 passed, 0 failed\n");
    assert_eq!(code, EXIT_PASSED);
}

#[test]
fn expect_error_fails_when_the_step_succeeds_and_the_file_stops_there() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
top_up = "acme"
amount = "5.00"
expect_error = "invalid_input"

[[step]]
expect_account = "acme"
cash = "999.00"
"#,
    ));
    assert_eq!(
        out,
        "s.toml: step 2 (line 9): top_up: expected error invalid_input, found success\n0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn expect_error_fails_on_another_code() {
    let (code, out) = one(&file(
        r#"
[[step]]
top_up = "ghost"
amount = "5.00"
expect_error = "invalid_input"
"#,
    ));
    assert_eq!(
        out,
        "s.toml: step 1 (line 6): top_up: expected error invalid_input, found not_found (\"ghost\" names no alias or account)\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn an_action_that_fails_unexpectedly_stops_the_file() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
top_up = "acme"
amount = "0.001"

[[step]]
expect_account = "acme"
cash = "999.00"
"#,
    ));
    assert_eq!(
        out,
        "s.toml: step 2 (line 9): top_up: expected success, found invalid_input (amount 0.001 has more decimals than CNY allows (2))\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn a_refused_subscribe_stops_the_file_with_its_code() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
subscribe = "acme"
product = "phone"
edition = "phone-std"
term = "1 month"
as = "s1"

[[step]]
expect_subscription = "s1"
status = "active"
"#,
    ));
    assert_eq!(
        out,
        "s.toml: step 2 (line 9): subscribe: expected success, found insufficient_funds (99.00 CNY cannot be covered: 99.00 short)\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn expect_subscription_reports_every_key_that_does_not_hold() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
top_up = "acme"
amount = "99.00"

[[step]]
subscribe = "acme"
product = "phone"
edition = "phone-std"
term = "1 month"
as = "s1"

[[step]]
expect_subscription = "s1"
status = "grace"
renewal = "auto"
expires_at = "2026-04-01T09:00:00+08:00"
paid = "990.00"

[[step]]
expect_subscription = "nobody"
status = "active"
"#,
    ));
    assert_eq!(
        out,
        "s.toml: step 4 (line 20): expect_subscription: expected status grace and renewal auto and paid 990.00, found status active and renewal manual and paid 99.00\n\
         s.toml: step 5 (line 27): expect_subscription: expected status active, found not_found (no subscription is named \"nobody\")\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn an_unknown_alias_or_account_is_not_found() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
grant_coupon = "acme"
amount = "1.00"
as = "c1"

[[step]]
top_up = "c1"
amount = "1.00"
expect_error = "not_found"

[[step]]
verify_identity = "nobody"
expect_error = "not_found"

[[step]]
expect_account = "nobody"
cash = "0.00"

[[step]]
expect_events = "c1"
kind = "account.low_balance"
count = 0
"#,
    ));
    assert_eq!(
        out,
        "s.toml: step 5 (line 23): expect_account: expected cash 0.00, found not_found (\"nobody\" names no alias or account)\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn expect_error_on_a_list_holds_when_every_item_is_refused_with_that_code() {
    let (code, out) = one(&file(
        r#"
[[step]]
renew = ["a", "b"]
term = "1 month"
expect_error = "not_found"

[[step]]
set_renewal = ["a", "b"]
mode = "auto"
period = "1 month"
"#,
    ));
    assert_eq!(
        out,
        "s.toml: step 2 (line 11): set_renewal: expected success, found not_found (no subscription is named \"a\") for \"a\"\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn instants_may_be_toml_datetimes() {
    let (code, out) = one(r#"name = "datetimes"
catalog = "demo"
start = 2026-01-31T10:00:00+08:00

[[step]]
open_account = "acme"

[[step]]
grant_coupon = "acme"
amount = "20.00"
expires_in = "1 month"

[[step]]
advance_to = 2026-02-28T10:00:00+08:00

[[step]]
expect_account = "acme"
coupon_remaining = "0.00"
"#);
    assert_eq!(out, "1 passed, 0 failed\n");
    assert_eq!(code, EXIT_PASSED);
}

#[test]
fn an_unknown_verb_keeps_the_file_from_running() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"

[[step]]
buy_plans = "acme"
spec = "sms-cn-1k"
"#,
    ));
    assert_eq!(
        out,
        "s.toml:9: step 2: unknown verb `buy_plans` (did you mean `buy_plan`?)\n0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_INVALID);
}

#[test]
fn a_step_without_a_verb_lists_the_verbs() {
    let (code, out) = one(&file(
        r#"
[[step]]
amount = "1.00"
"#,
    ));
    assert!(out.starts_with("s.toml:5: step 1: no verb; a step has exactly one of open_account, verify_identity, top_up,"), "{out}");
    assert_eq!(code, EXIT_INVALID);
}

#[test]
fn two_verbs_in_one_step_are_refused() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"
top_up = "acme"
amount = "1.00"
"#,
    ));
    assert_eq!(
        out,
        "s.toml:7: step 1: two verbs in one step: `open_account` and `top_up` (one verb per [[step]])\n0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_INVALID);
}

#[test]
fn unknown_keys_and_wrong_types_name_their_line() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = "acme"
currency = "CNY"
verifed = true

[[step]]
top_up = "acme"
amount = 100.0

[[step]]
expect_account = "acme"
cash = "1.00"
expect_error = "not_found"

[[step]]
top_up = "acme"
amount = "1.00"
expect_error = "no_such_code"

[[step]]
top_up = ["acme", "other"]
amount = "1.00"

[[step]]
expect_notices = "acme"
kind = "account.low_balanse"
count = 1

[[step]]
top_up = "acme"
"#,
    ));
    assert_eq!(
        out,
        "s.toml:8: step 1: open_account: unknown key `verifed` (did you mean `verified`?)\n\
         s.toml:12: step 2: top_up: `amount` must be an amount written as a string (\"45.00\"), found float\n\
         s.toml:17: step 3: expect_account: unknown key `expect_error` (expect_account takes available, cash, coupon_remaining, status, unpaid)\n\
         s.toml:22: step 4: top_up: `expect_error`: unknown error code \"no_such_code\" (codes: insufficient_funds, identity_not_verified, payg_not_activated, quota_exhausted, account_overdue, service_stopped, not_renewable, invalid_term, auto_renew_not_allowed, not_refundable, late_event, reservation_expired, not_found, invalid_input, idempotency_key_reused, unauthorized, forbidden, conflict, not_supported)\n\
         s.toml:25: step 5: top_up: takes one subject, not a list\n\
         s.toml:30: step 6: expect_notices: `kind`: kind \"account.low_balanse\" is not one of account.low_balance, account.overdue, account.restored, service.stop_warning, service.stopped, service.restored, plan.usage_alert, plan.exhausted, plan.expiring, plan.expired, plan.auto_renew_succeeded, plan.auto_renew_failed, subscription.expiring, subscription.renewed, subscription.auto_renew_failed, subscription.stopped, subscription.frozen, subscription.release_warning, subscription.released, bill.issued\n\
         s.toml:34: step 7: top_up: missing `amount`\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_INVALID);
}

#[test]
fn unparseable_toml_names_its_line() {
    let (code, out) = one(&file(
        r#"
[[step]]
open_account = acme
"#,
    ));
    assert!(out.starts_with("s.toml:6: not valid TOML: "), "{out}");
    assert!(out.ends_with("\n0 passed, 1 failed\n"), "{out}");
    assert_eq!(code, EXIT_INVALID);
}

#[test]
fn the_header_is_checked() {
    let (code, out) = one(r#"name = "x"
rules = ["ACC-1", "acc1"]
start = "yesterday"
title = "y"
[[step]]
advance = "1h"
"#);
    assert_eq!(
        out,
        "s.toml:1: missing `catalog` (for example `catalog = \"demo\"`)\n\
         s.toml:2: `rules`: acc1 is not a rule id such as \"PLAN-3\"\n\
         s.toml:3: `start`: \"yesterday\" is not an RFC 3339 instant with an offset\n\
         s.toml:4: unknown key `title` (a file has name, rules, catalog, start, step)\n\
         0 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_INVALID);
}

#[test]
fn files_are_counted_and_isolated() {
    let good = file("\n[[step]]\nopen_account = \"acme\"\n");
    // The same account id in another file is another account: each file has its own engine.
    let (code, out) = simulate(&[
        ("a.toml", &good),
        ("b.toml", &good),
        ("c.toml", &file("\n[[step]]\nadvance = \"-1h\"\n")),
    ]);
    assert_eq!(
        out,
        "c.toml: step 1 (line 6): advance: expected success, found invalid_input (cannot advance backwards from 2026-03-01T01:00:00Z to 2026-03-01T00:00:00Z)\n\
         2 passed, 1 failed\n"
    );
    assert_eq!(code, EXIT_FAILED);
}

#[test]
fn an_unreadable_file_is_invalid() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let (code, out) = run_in(dir.path(), &[dir.path().join("missing.toml")]);
    assert!(out.starts_with("missing.toml: cannot read: "), "{out}");
    assert!(out.ends_with("\n0 passed, 1 failed\n"), "{out}");
    assert_eq!(code, EXIT_INVALID);
}

#[test]
fn no_files_is_a_usage_error() {
    let mut out = Vec::new();
    assert_eq!(run_files(&[], &mut out), EXIT_INVALID);
}

#[test]
fn a_catalog_file_is_relative_to_the_scenario_and_its_errors_name_its_line() {
    let scenario = "name = \"x\"\ncatalog = \"broken.toml\"\nstart = \"2026-03-01T09:00:00+08:00\"\n[[step]]\nadvance = \"1h\"\n";
    let (code, out) = simulate(&[
        ("broken.toml", "name = \"b\"\ncurrency = \n"),
        ("s.toml", scenario),
    ]);
    let lines: Vec<&str> = out.lines().collect();
    // broken.toml itself is not a scenario: it is reported as one too.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("s.toml:2: catalog: ") && l.contains("broken.toml:2: ")),
        "{out}"
    );
    assert_eq!(lines.last(), Some(&"0 passed, 2 failed"));
    assert_eq!(code, EXIT_INVALID);
}

#[test]
fn examples_all_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/scenarios exists")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    let mut out = Vec::new();
    let code = run_files(&paths, &mut out);
    let out = String::from_utf8(out).expect("output is UTF-8");
    assert_eq!(out, format!("{} passed, 0 failed\n", paths.len()), "{out}");
    assert_eq!(code, EXIT_PASSED);
}

/// Every rule of the ACC, CAT, TIME, PLAN, USE, PAYG, OVD and SUB families is named by some
/// example.
#[test]
fn examples_cover_every_rule_so_far() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios");
    let mut named = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples/scenarios exists") {
        let path = entry.expect("a folder entry").path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path).expect("readable");
            let scenario =
                tenure_sim::parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            named.extend(scenario.rules);
        }
    }
    let wanted = (1..=7)
        .map(|n| format!("ACC-{n}"))
        .chain((1..=2).map(|n| format!("CAT-{n}")))
        .chain((1..=4).map(|n| format!("TIME-{n}")))
        .chain((1..=13).map(|n| format!("PLAN-{n}")))
        .chain((1..=2).map(|n| format!("USE-{n}")))
        .chain((1..=4).map(|n| format!("PAYG-{n}")))
        .chain((1..=5).map(|n| format!("OVD-{n}")))
        .chain((1..=10).map(|n| format!("SUB-{n}")));
    for rule in wanted {
        assert!(named.contains(&rule), "no example scenario names {rule}");
    }
}

/// The shared scenario of `shared/scenarios/` runs as it was written.
#[test]
fn the_shared_phone_scenario_passes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/scenarios/phone_manual_renewal.toml");
    let (code, out) = run_in(Path::new("/nowhere"), &[path]);
    assert_eq!(out, "1 passed, 0 failed\n");
    assert_eq!(code, EXIT_PASSED);
}
