//! The verbs of subscriptions (SUB): `subscribe`, `renew`, `set_renewal`, `unsubscribe`,
//! `continue_trial`, `upgrade` and `expect_subscription`: what each does, how lists go as one
//! batch, and how the report says it when a step does not hold.

use std::path::Path;
use tenure_sim::run_source;

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

/// An account with 1,000.00 and two monthly phones, `a` and `b`, expiring 1 Apr 09:00.
const TWO_PHONES: &str = r#"
[[step]]
open_account = "acme"

[[step]]
top_up = "acme"
amount = "1000.00"

[[step]]
subscribe = "acme"
product = "phone"
edition = "phone-std"
term = "1 month"
as = "a"

[[step]]
subscribe = "acme"
product = "phone"
edition = "phone-std"
term = "1 month"
as = "b"
"#;

#[test]
fn sub_1_subscribe_names_the_instance_and_a_refused_one_names_nothing() {
    passes(&format!(
        r#"{TWO_PHONES}
[[step]]
expect_subscription = "a"
status = "active"
renewal = "manual"
expires_at = "2026-04-01T01:00:00Z"
paid = "99"

[[step]]
subscribe = "acme"
product = "phone"
edition = "phone-std"
term = "2 weeks"
as = "c"
expect_error = "invalid_term"

[[step]]
subscribe = "acme"
product = "phone"
edition = "phone-std"
term = "1 month"
renewal = "auto"
as = "c"
expect_error = "invalid_input"

[[step]]
subscribe = "acme"
product = "phone"
edition = "phone-std"
term = "1 month"
renewal = "manual"
auto_period = "1 month"
as = "c"
expect_error = "invalid_input"

[[step]]
expect_account = "acme"
cash = "802.00"
"#
    ));
    let line = fails(&format!(
        r#"{TWO_PHONES}
[[step]]
subscribe = "acme"
product = "phone"
edition = "phone-std"
term = "1 month"
as = "c"
expect_error = "invalid_term"

[[step]]
expect_subscription = "c"
status = "active"
"#
    ));
    assert_eq!(
        line,
        "s.toml: step 5 (line 27): subscribe: expected error invalid_term, found success"
    );
}

#[test]
fn sub_3_a_list_goes_as_one_batch_and_each_item_has_its_own_result() {
    // b is released by unsubscribing; renewing [a, b] renews a and refuses b, and the report
    // names the item that failed.
    let (passed, lines) = run(&format!(
        r#"{TWO_PHONES}
[[step]]
unsubscribe = "b"

[[step]]
renew = ["a", "b"]
term = "1 month"
"#
    ));
    assert!(!passed);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "s.toml: step 6 (line 30): renew: expected success, found not_renewable ("
        ) && lines[0].ends_with(" for \"b\""),
        "{lines:#?}"
    );
    // The item that could be renewed was.
    passes(&format!(
        r#"{TWO_PHONES}
[[step]]
unsubscribe = "b"

[[step]]
renew = ["b"]
term = "1 month"
expect_error = "not_renewable"

[[step]]
renew = "a"
term = "1 month"

[[step]]
expect_subscription = "a"
expires_at = "2026-05-01T09:00:00+08:00"
paid = "198.00"
"#
    ));
}

#[test]
fn sub_3_a_list_naming_an_instance_twice_is_refused_whole() {
    passes(&format!(
        r#"{TWO_PHONES}
[[step]]
renew = ["a", "b", "a"]
term = "1 month"
expect_error = "invalid_input"

[[step]]
expect_subscription = "b"
expires_at = "2026-04-01T09:00:00+08:00"

[[step]]
expect_account = "acme"
cash = "802.00"
"#
    ));
}

#[test]
fn sub_5_co_term_day_is_a_day_from_1_to_28_or_last() {
    passes(&format!(
        r#"{TWO_PHONES}
[[step]]
renew = ["a", "b"]
term = "1 month"
co_term_day = 31
expect_error = "invalid_input"

[[step]]
renew = "a"
term = "1 month"
co_term_day = "end"
expect_error = "invalid_input"

[[step]]
renew = "a"
term = "1 month"
co_term_day = 15

[[step]]
expect_subscription = "a"
expires_at = "2026-05-15T09:00:00+08:00"
"#
    ));
}

#[test]
fn sub_8_set_renewal_changes_every_item_of_a_list() {
    passes(&format!(
        r#"{TWO_PHONES}
[[step]]
set_renewal = ["a", "b"]
mode = "auto"
period = "1 year"

[[step]]
expect_subscription = "b"
renewal = "auto"

[[step]]
set_renewal = ["a", "b"]
mode = "canceled"
period = "1 month"
expect_error = "invalid_input"

[[step]]
set_renewal = ["a", "b"]
mode = "auto"
period = "3 months"
expect_error = "invalid_term"

[[step]]
set_renewal = "b"
mode = "canceled"

[[step]]
expect_subscription = "a"
renewal = "auto"

[[step]]
expect_subscription = "b"
renewal = "canceled"
"#
    ));
    let line = fails(&format!(
        r#"{TWO_PHONES}
[[step]]
set_renewal = ["a", "nothing"]
mode = "manual"
"#
    ));
    assert_eq!(
        line,
        "s.toml: step 5 (line 27): set_renewal: expected success, found not_found (no subscription is named \"nothing\") for \"nothing\""
    );
}

#[test]
fn sub_10_unsubscribe_releases_and_refunds() {
    // 1 Mar 09:00 to 1 Apr 09:00 is 744 hours; unsubscribed at once: 99.00 - 0 - 9.90 = 89.10.
    passes(&format!(
        r#"{TWO_PHONES}
[[step]]
unsubscribe = "a"

[[step]]
expect_subscription = "a"
status = "released"

[[step]]
expect_account = "acme"
cash = "891.10"

[[step]]
unsubscribe = "a"
expect_error = "invalid_input"

[[step]]
unsubscribe = "acme"
expect_error = "not_found"
"#
    ));
}

#[test]
fn sub_9_continue_trial_and_upgrade_run_on_an_instance() {
    passes(
        r#"
[[step]]
open_account = "acme"

[[step]]
top_up = "acme"
amount = "3000.00"

[[step]]
subscribe = "acme"
product = "iot"
edition = "iot-public"
as = "pub"

[[step]]
continue_trial = "pub"
expect_error = "invalid_input"

[[step]]
advance = "30d"

[[step]]
expect_subscription = "pub"
status = "frozen"

[[step]]
continue_trial = "pub"

[[step]]
expect_subscription = "pub"
status = "active"

[[step]]
upgrade = "pub"
edition = "iot-enterprise"
term = "13 months"
expect_error = "invalid_term"

[[step]]
upgrade = "pub"
edition = "iot-enterprise"
term = "1 month"

[[step]]
expect_subscription = "pub"
status = "active"
expires_at = "2026-04-30T09:00:00+08:00"
paid = "3000.00"
"#,
    );
}

#[test]
fn subscription_verbs_need_their_arguments() {
    let (passed, lines) = run(r#"
[[step]]
open_account = "acme"

[[step]]
renew = "a"

[[step]]
upgrade = "a"
edition = "iot-enterprise"

[[step]]
set_renewal = ["a"]
period = "1 month"

[[step]]
unsubscribe = ["a", "b"]
"#);
    assert!(!passed);
    assert_eq!(
        lines,
        [
            "s.toml:9: step 2: renew: missing `term`",
            "s.toml:12: step 3: upgrade: missing `term`",
            "s.toml:16: step 4: set_renewal: missing `mode`",
            "s.toml:20: step 5: unsubscribe: takes one subject, not a list",
        ]
    );
}
