//! The verbs of plans, usage, reservations, pay-as-you-go and overdue (PLAN, USE, PAYG, OVD):
//! what each does and how the report says it when a step does not hold.

use std::path::Path;
use tenure_sim::{EXIT_PASSED, run_source};

const HEADER: &str = r#"name = "test"
catalog = "demo"
start = "2026-03-01T09:00:00+08:00"
"#;

/// Runs `steps` after the three header lines; returns whether it passed and its report lines.
fn run(steps: &str) -> (bool, Vec<String>) {
    let report = run_source("s.toml", &format!("{HEADER}{steps}"), Path::new("."));
    (report.passed(), report.lines)
}

fn passes(steps: &str) {
    let (passed, lines) = run(steps);
    assert!(passed, "{lines:#?}");
}

/// The one report line of a file that failed once.
fn fails(steps: &str) -> String {
    let (passed, lines) = run(steps);
    assert!(!passed, "expected a failure");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    lines[0].clone()
}

const ACME: &str = r#"
[[step]]
open_account = "acme"
verified = true

[[step]]
top_up = "acme"
amount = "1000.00"
"#;

#[test]
fn plan_2_buy_plan_names_the_plan_and_expect_plan_checks_it() {
    passes(&format!(
        r#"{ACME}
[[step]]
buy_plan = "acme"
spec = "sms-cn-1k"
as = "p1"

[[step]]
expect_plan = "p1"
remaining = 1000
consumed = 0
expired = 0
reserved = 0
status = "active"
expires_at = "2027-03-01T01:00:00Z"

[[step]]
expect_account = "acme"
cash = "955.00"
"#
    ));
}

#[test]
fn expect_plan_reports_every_key_that_does_not_hold() {
    let line = fails(&format!(
        r#"{ACME}
[[step]]
buy_plan = "acme"
spec = "sms-cn-1k"
as = "p1"

[[step]]
expect_plan = "p1"
remaining = 999
status = "exhausted"
expires_at = "2027-03-02T09:00:00+08:00"
"#
    ));
    assert_eq!(
        line,
        "s.toml: step 4 (line 19): expect_plan: expected remaining 999 and status exhausted and \
         expires_at 2027-03-02T09:00:00+08:00, found remaining 1000 and status active and \
         expires_at 2027-03-01T09:00:00+08:00"
    );
}

#[test]
fn an_alias_of_another_kind_is_not_found() {
    let line = fails(&format!(
        r#"{ACME}
[[step]]
buy_plan = "acme"
spec = "sms-cn-1k"
as = "p1"

[[step]]
commit = "p1"
quantity = 1
expect_error = "not_found"

[[step]]
expect_plan = "acme"
remaining = 1000
"#
    ));
    assert_eq!(
        line,
        "s.toml: step 5 (line 24): expect_plan: expected remaining 1000, found not_found \
         (no plan is named \"acme\")"
    );
}

#[test]
fn use_1_expect_result_says_what_the_event_became() {
    let line = fails(&format!(
        r#"{ACME}
[[step]]
usage = "acme"
meter = "sms.cn"
quantity = 10
id = "e1"
expect_result = "applied"

[[step]]
usage = "acme"
meter = "sms.cn"
quantity = 10
id = "e1"
expect_result = "applied"
"#
    ));
    assert_eq!(
        line,
        "s.toml: step 4 (line 21): usage: expected result applied, found result duplicate"
    );
}

#[test]
fn a_refused_event_fails_its_step_with_its_code() {
    let line = fails(&format!(
        r#"{ACME}
[[step]]
usage = "acme"
meter = "msg.send"
quantity = 10
"#
    ));
    assert!(
        line.starts_with(
            "s.toml: step 3 (line 14): usage: expected success, found payg_not_activated ("
        ),
        "{line}"
    );
    passes(&format!(
        r#"{ACME}
[[step]]
usage = "acme"
meter = "msg.send"
quantity = 10
expect_error = "payg_not_activated"

[[step]]
expect_usage = "acme"
meter = "msg.send"
refused = 10
payg_quantity = 0
"#
    ));
}

#[test]
fn usage_at_is_an_instant_or_a_span_back_from_now() {
    passes(&format!(
        r#"{ACME}
[[step]]
advance = "3h"

[[step]]
usage = "acme"
meter = "sms.cn"
quantity = 1
at = "-2h"

[[step]]
usage = "acme"
meter = "sms.cn"
quantity = 1
at = "2026-03-01T11:30:00+08:00"

[[step]]
usage = "acme"
meter = "sms.cn"
quantity = 1
at = "3h"
expect_error = "invalid_input"

[[step]]
usage = "acme"
meter = "sms.cn"
quantity = -1
expect_error = "invalid_input"

[[step]]
expect_usage = "acme"
payg_quantity = 2
payg_amount = "0.09"
"#
    ));
}

#[test]
fn expect_usage_and_expect_bills_report_totals() {
    let (passed, lines) = run(&format!(
        r#"{ACME}
[[step]]
usage = "acme"
meter = "sms.cn"
quantity = 200

[[step]]
advance = "1h"

[[step]]
expect_usage = "acme"
meter = "sms.cn"
payg_quantity = 201
payg_amount = "9.00"

[[step]]
expect_bills = "acme"
count = 2
total = "9.00"
unpaid = "1.00"
"#
    ));
    assert!(!passed);
    assert_eq!(
        lines,
        [
            "s.toml: step 5 (line 22): expect_usage: expected payg_quantity 201, found payg_quantity 200",
            "s.toml: step 6 (line 28): expect_bills: expected count 2 and unpaid 1.00, found count 1 and unpaid 0.00",
        ]
    );
}

#[test]
fn plan_10_reserve_commit_and_release_name_their_reservation() {
    passes(&format!(
        r#"{ACME}
[[step]]
buy_plan = "acme"
spec = "msg-sbe-5k"
as = "p1"

[[step]]
reserve = "acme"
meter = "msg.send"
quantity = 100
as = "r1"

[[step]]
reserve = "acme"
meter = "msg.send"
quantity = 50
timeout = "1h"
as = "r2"

[[step]]
expect_plan = "p1"
reserved = 150
remaining = 4850

[[step]]
commit = "r1"
quantity = 60

[[step]]
release = "r2"

[[step]]
expect_plan = "p1"
reserved = 0
consumed = 60
remaining = 4940
"#
    ));
}

#[test]
fn plan_13_renew_plan_may_name_the_successor() {
    passes(&format!(
        r#"{ACME}
[[step]]
buy_plan = "acme"
spec = "sms-cn-1k"
as = "p1"

[[step]]
renew_plan = "p1"
as = "p2"

[[step]]
expect_plan = "p2"
status = "pending"
expires_at = "2028-03-01T09:00:00+08:00"
"#
    ));
}

#[test]
fn ovd_2_expect_service_says_whether_the_product_may_be_used() {
    passes(
        r#"
[[step]]
open_account = "acme"

[[step]]
expect_service = "acme"
product = "sms"
status = "available"

[[step]]
usage = "acme"
meter = "sms.cn"
quantity = 100

[[step]]
advance = "1h"

[[step]]
expect_service = "acme"
product = "sms"
status = "stopped"

[[step]]
expect_bills = "acme"
count = 1
total = "4.50"
unpaid = "4.50"
"#,
    );
    let line = fails(
        r#"
[[step]]
open_account = "acme"

[[step]]
expect_service = "acme"
product = "sms"
status = "stopped"
"#,
    );
    assert_eq!(
        line,
        "s.toml: step 2 (line 9): expect_service: expected status stopped, found status available"
    );
}

#[test]
fn set_usage_alert_and_set_plan_auto_renew_run() {
    passes(&format!(
        r#"{ACME}
[[step]]
set_usage_alert = "acme"
product = "sms"
percent_used = [80]

[[step]]
set_plan_auto_renew = "acme"
product = "sms"
spec = "sms-cn-1k"
threshold = 100

[[step]]
set_plan_auto_renew = "acme"
product = "sms"
enabled = false

[[step]]
set_usage_alert = "acme"
product = "sms"
remaining = [-1]
expect_error = "invalid_input"
"#
    ));
}

#[test]
fn the_sms_overflow_example_passes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/scenarios/sms_overflow_bill.toml");
    let mut out = Vec::new();
    let code = tenure_sim::run_files(&[path], &mut out);
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        "1 passed, 0 failed\n"
    );
    assert_eq!(code, EXIT_PASSED);
}
