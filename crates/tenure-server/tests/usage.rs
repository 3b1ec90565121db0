//! `POST /v1/usage` (USE-1, USE-2, IAM-3): per-event results in input order, duplicates,
//! account-key isolation, and the limits of one batch.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{ADMIN, Api, run};
use serde_json::{Value, json};
use tenure_server::{USAGE_BATCH_EVENTS_MAX, USAGE_BODY_BYTES_MAX};

/// An account with 100.00 and a 1,000-message mainland SMS plan `p1`.
async fn acme_with_plan(api: &Api, id: &str) {
    api.open(id).await;
    let t = api
        .post(
            &format!("/v1/accounts/{id}/top-ups"),
            r#"{"amount":"100.00"}"#,
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    let p = api
        .post(
            &format!("/v1/accounts/{id}/plans"),
            r#"{"spec":"sms-cn-1k"}"#,
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
}

fn event(account: &str, id: &str, quantity: u64) -> Value {
    json!({
        "account": account,
        "id": id,
        "meter": "sms.cn",
        "quantity": quantity,
        "timestamp": "2026-03-01T09:00:00+08:00",
    })
}

async fn send_usage(api: &Api, key: &str, events: &[Value]) -> common::Answer {
    api.post_as(key, "/v1/usage", &json!({ "events": events }).to_string())
        .await
}

/// The results of a 200 answer: (status, code) per event.
fn outcomes(a: &common::Answer) -> Vec<(String, Option<String>)> {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or_default().to_string(),
                r["code"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn applied() -> (String, Option<String>) {
    ("applied".to_string(), None)
}

fn refused(code: &str) -> (String, Option<String>) {
    ("refused".to_string(), Some(code.to_string()))
}

fn duplicate() -> (String, Option<String>) {
    ("duplicate".to_string(), None)
}

async fn consumed(api: &Api, account: &str) -> u64 {
    let p = api.get(&format!("/v1/accounts/{account}/plans/p1")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    p.json()["consumed"].as_u64().expect("consumed")
}

#[test]
fn use_2_a_batch_answers_each_event_in_order_and_a_bad_one_blocks_none() {
    run(true, async |api| {
        acme_with_plan(api, "acme").await;
        let mut bad_time = event("acme", "e2", 7);
        bad_time["timestamp"] = json!("yesterday at noon");
        let mut fraction = event("acme", "e3", 1);
        fraction["quantity"] = json!(1.5);
        let mut negative = event("acme", "e4", 1);
        negative["quantity"] = json!(-1);
        let mut huge = event("acme", "e5", 1);
        huge["quantity"] = json!(9_007_199_254_740_993u64);
        let mut moon = event("acme", "e6", 1);
        moon["meter"] = json!("sms.moon");
        let mut late = event("acme", "e7", 1);
        late["timestamp"] = json!("2026-02-27T08:59:59+08:00");
        let mut extra = event("acme", "e8", 1);
        extra["colour"] = json!("blue");
        let mut dims = event("acme", "e10", 1);
        dims["dimensions"] = json!([1, 2]);
        let mut tagged = event("acme", "e11", 1);
        tagged["dimensions"] = json!({"region": "cn-east"});
        let a = send_usage(
            api,
            ADMIN,
            &[
                event("acme", "e1", 10),
                bad_time,
                fraction,
                negative,
                huge,
                moon,
                late,
                extra,
                event("acme", "e9", 5),
                event("acme", "e1", 10),
                event("ghost", "e1", 1),
                dims,
                tagged,
            ],
        )
        .await;
        assert_eq!(
            outcomes(&a),
            [
                applied(),
                refused("invalid_input"),
                refused("invalid_input"),
                refused("invalid_input"),
                refused("invalid_input"),
                refused("not_found"),
                refused("late_event"),
                refused("invalid_input"),
                applied(),
                duplicate(),
                refused("not_found"),
                refused("invalid_input"),
                applied(),
            ]
        );
        let results = a.json()["results"].clone();
        assert_eq!(results[0]["id"], "e1");
        assert_eq!(results[0]["account"], "acme");
        assert_eq!(results[1]["id"], "e2");
        assert!(
            results[1]["detail"]
                .as_str()
                .is_some_and(|d| d.contains("timestamp")),
            "{}",
            results[1]
        );
        assert_eq!(consumed(api, "acme").await, 16);
    });
}

#[test]
fn use_1_a_replayed_batch_is_all_duplicates_and_changes_nothing() {
    run(true, async |api| {
        acme_with_plan(api, "acme").await;
        let events = [event("acme", "a", 100), event("acme", "b", 200)];
        let first = send_usage(api, ADMIN, &events).await;
        assert_eq!(outcomes(&first), [applied(), applied()]);
        let again = send_usage(api, ADMIN, &events).await;
        assert_eq!(outcomes(&again), [duplicate(), duplicate()]);
        // A duplicate answers with the first outcome: the same takes.
        assert_eq!(
            first.json()["results"][1]["takes"],
            again.json()["results"][1]["takes"]
        );
        assert_eq!(consumed(api, "acme").await, 300);

        // With an Idempotency-Key, the replay gets the stored answer itself.
        let body = json!({ "events": [event("acme", "c", 1)] }).to_string();
        let one = api.post_idem("/v1/usage", "k1", &body).await;
        let two = api.post_idem("/v1/usage", "k1", &body).await;
        assert_eq!(outcomes(&one), [applied()]);
        assert_eq!(one.text, two.text);
        api.post_idem(
            "/v1/usage",
            "k1",
            &json!({ "events": [event("acme", "d", 1)] }).to_string(),
        )
        .await
        .problem(409, "idempotency_key_reused");
        assert_eq!(consumed(api, "acme").await, 301);
    });
}

#[test]
fn iam_3_an_account_key_reports_only_its_own_usage() {
    run(true, async |api| {
        acme_with_plan(api, "acme").await;
        acme_with_plan(api, "rival").await;
        let writer = api.key_for("acme", &["usage:write"]).await;
        let a = send_usage(
            api,
            &writer,
            &[
                event("acme", "e1", 10),
                event("rival", "e1", 10),
                event("ghost", "e1", 10),
                json!({"account": 42, "id": "e2", "meter": "sms.cn", "quantity": 1,
                       "timestamp": "2026-03-01T09:00:00+08:00"}),
            ],
        )
        .await;
        assert_eq!(
            outcomes(&a),
            [
                applied(),
                refused("not_found"),
                refused("not_found"),
                refused("not_found")
            ]
        );
        // Another account's event reads exactly like one of an account that does not exist.
        let results = a.json()["results"].clone();
        assert_eq!(
            results[1]["detail"]
                .as_str()
                .map(|d| d.replace("rival", "X")),
            results[2]["detail"]
                .as_str()
                .map(|d| d.replace("ghost", "X"))
        );
        assert_eq!(consumed(api, "acme").await, 10);
        assert_eq!(consumed(api, "rival").await, 0);

        // Without usage:write, nothing at all.
        let reader = api.key_for("acme", &["billing:read"]).await;
        send_usage(api, &reader, &[event("acme", "e9", 1)])
            .await
            .problem(403, "forbidden");
        assert_eq!(consumed(api, "acme").await, 10);
        // The operator reports for every account.
        let a = send_usage(api, ADMIN, &[event("rival", "e1", 10)]).await;
        assert_eq!(outcomes(&a), [applied()]);
        assert_eq!(consumed(api, "rival").await, 10);
    });
}

#[test]
fn a_body_over_10_mib_or_a_batch_over_10000_events_is_refused_whole() {
    run(true, async |api| {
        acme_with_plan(api, "acme").await;
        // Too many events: nothing applied, not even the first.
        let many: Vec<Value> = (0..=USAGE_BATCH_EVENTS_MAX)
            .map(|i| event("acme", &format!("m{i}"), 0))
            .collect();
        let mut first = many.clone();
        first[0] = event("acme", "m0", 1);
        let detail = send_usage(api, ADMIN, &first)
            .await
            .problem(400, "invalid_input");
        assert!(detail.contains("10000"), "{detail}");
        assert_eq!(consumed(api, "acme").await, 0);

        // Too many bytes: a valid first event, then padding in a second one's id.
        let padding = "x".repeat(USAGE_BODY_BYTES_MAX);
        let body =
            json!({ "events": [event("acme", "big", 1), event("acme", &padding, 1)] }).to_string();
        api.send(
            Method::POST,
            "/v1/usage",
            Some(ADMIN),
            Some(Body::from(body)),
            &[],
        )
        .await
        .problem(400, "invalid_input");
        assert_eq!(consumed(api, "acme").await, 0);

        // Empty, or not a batch.
        send_usage(api, ADMIN, &[])
            .await
            .problem(400, "invalid_input");
        api.post("/v1/usage", r#"{"event":[]}"#)
            .await
            .problem(400, "invalid_input");
        api.post("/v1/usage", r#"[]"#)
            .await
            .problem(400, "invalid_input");
    });
}

#[test]
fn a_body_over_1_mib_is_accepted_on_usage_only() {
    run(true, async |api| {
        acme_with_plan(api, "acme").await;
        // ~1.5 MiB in 3,000 events with long ids and dimensions.
        let note = "n".repeat(300);
        let events: Vec<Value> = (0..3000)
            .map(|i| {
                let mut e = event("acme", &format!("{i:0>100}"), 0);
                e["dimensions"] = json!({ "note": note });
                e
            })
            .chain(std::iter::once(event("acme", "last", 3)))
            .collect();
        let body = json!({ "events": events }).to_string();
        assert!(body.len() > 1024 * 1024, "{}", body.len());
        let a = api.post("/v1/usage", &body).await;
        let results = outcomes(&a);
        assert_eq!(results.len(), 3001);
        assert!(results.iter().all(|r| *r == applied()));
        assert_eq!(consumed(api, "acme").await, 3);
        // Elsewhere the limit stays 1 MiB.
        let big = format!(r#"{{"spec":"{}"}}"#, "x".repeat(1024 * 1024));
        api.post("/v1/accounts/acme/plans", &big)
            .await
            .problem(400, "invalid_input");
    });
}
