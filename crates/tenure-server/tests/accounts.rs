//! Accounts, top-ups, idempotency, bad input, pagination, notices (ACC-1, ACC-5, ACC-6, ACC-7).

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{ADMIN, run};

#[test]
fn acc_5_open_top_up_then_read_shows_cash() {
    run(true, async |api| {
        let opened = api.open("acme").await;
        assert_eq!(opened["id"], "acme");
        assert_eq!(opened["currency"], "CNY");
        assert_eq!(opened["zone"], "Asia/Shanghai");
        assert_eq!(opened["cash"], "0.00");
        assert_eq!(opened["status"], "active");

        let topped = api
            .post("/v1/accounts/acme/top-ups", r#"{"amount":"100.00"}"#)
            .await;
        assert_eq!(topped.status, StatusCode::OK, "{}", topped.text);
        assert_eq!(topped.json()["cash"], "100.00");

        let read = api.account("acme").await;
        assert_eq!(read["cash"], "100.00");
        assert_eq!(read["available"], "100.00");
        assert_eq!(api.journal_kinds("acme").await, vec!["top_up"]);
    });
}

#[test]
fn open_answers_201_with_location_and_a_taken_id_is_a_conflict() {
    run(true, async |api| {
        let a = api
            .post(
                "/v1/accounts",
                r#"{"id":"acme","zone":"Europe/Berlin","credit_line":"50.00","verified":true}"#,
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        assert_eq!(
            a.headers.get("location").and_then(|v| v.to_str().ok()),
            Some("/v1/accounts/acme")
        );
        let v = a.json();
        assert_eq!(v["zone"], "Europe/Berlin");
        assert_eq!(v["credit_line"], "50.00");
        assert_eq!(v["available"], "50.00");
        assert_eq!(v["verified"], true);
        api.post("/v1/accounts", r#"{"id":"acme"}"#)
            .await
            .problem(409, "conflict");
    });
}

#[test]
fn idempotent_replay_returns_the_first_answer_and_changes_nothing() {
    run(true, async |api| {
        api.open("acme").await;
        let first = api
            .post_idem("/v1/accounts/acme/top-ups", "k-1", r#"{"amount":"100.00"}"#)
            .await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        let again = api
            .post_idem("/v1/accounts/acme/top-ups", "k-1", r#"{"amount":"100.00"}"#)
            .await;
        assert_eq!(again.status, first.status);
        assert_eq!(again.json(), first.json());
        assert_eq!(
            api.account("acme").await["cash"],
            "100.00",
            "the replay added nothing"
        );

        let other = api
            .post_idem("/v1/accounts/acme/top-ups", "k-1", r#"{"amount":"50.00"}"#)
            .await;
        other.problem(409, "idempotency_key_reused");
        let elsewhere = api
            .post_idem(
                "/v1/accounts/other/top-ups",
                "k-1",
                r#"{"amount":"100.00"}"#,
            )
            .await;
        elsewhere.problem(409, "idempotency_key_reused");
        assert_eq!(api.account("acme").await["cash"], "100.00");
        assert_eq!(api.journal_kinds("acme").await, vec!["top_up"]);

        // Creation replays keep their 201.
        let a = api
            .post_idem("/v1/accounts", "open-b", r#"{"id":"beta"}"#)
            .await;
        let b = api
            .post_idem("/v1/accounts", "open-b", r#"{"id":"beta"}"#)
            .await;
        assert_eq!(
            (a.status, b.status),
            (StatusCode::CREATED, StatusCode::CREATED)
        );
        assert_eq!(a.json(), b.json());

        let long = "k".repeat(256);
        api.post_idem("/v1/accounts/acme/top-ups", &long, r#"{"amount":"1.00"}"#)
            .await
            .problem(400, "invalid_input");
        assert_eq!(api.account("acme").await["cash"], "100.00");
    });
}

/// Every bad input answers an `invalid_input` problem and writes nothing.
#[test]
fn bad_input_is_a_problem_and_writes_nothing() {
    run(true, async |api| {
        api.open("acme").await;
        let top_up = "/v1/accounts/acme/top-ups";
        let cases: &[(&str, &str, &str)] = &[
            (top_up, r#"{"amount":"#, "malformed JSON"),
            (top_up, "[1, 2", "malformed JSON"),
            (top_up, r#"{"amount":"1.00","#, "malformed JSON"),
            (top_up, r#"["1.00"]"#, "must be a JSON object"),
            (top_up, r#"{"amount":"1.00"} x"#, "malformed JSON"),
            (top_up, "", "empty"),
            (
                top_up,
                r#"{"amount":"1.00","bonus":true}"#,
                "unknown field `bonus`",
            ),
            (top_up, r#"{"amount":100}"#, "JSON string"),
            (top_up, r#"{"amount":100.5}"#, "JSON string"),
            (top_up, r#"{"amount":true}"#, "JSON string"),
            (top_up, r#"{}"#, "missing field `amount`"),
            (top_up, r#"{"amount":"-5.00"}"#, "positive"),
            (top_up, r#"{"amount":"0"}"#, "positive"),
            (
                top_up,
                r#"{"amount":"99999999999999999999999999999999999"}"#,
                "fits",
            ),
            (top_up, r#"{"amount":"1000000000000001.00"}"#, "maximum"),
            (top_up, r#"{"amount":"1.001"}"#, "decimals"),
            (top_up, r#"{"amount":"1e3"}"#, "not a decimal"),
            (
                top_up,
                r#"{"amount":"1.00","currency":"USD"}"#,
                "differs from the account's CNY",
            ),
            (
                top_up,
                r#"{"amount":"1.00","currency":"XYZ"}"#,
                "unknown currency",
            ),
            (
                "/v1/accounts",
                r#"{"id":"x1","currency":"XYZ"}"#,
                "unknown currency",
            ),
            (
                "/v1/accounts",
                r#"{"id":"x2","currency":"USD"}"#,
                "differs from the catalog",
            ),
            (
                "/v1/accounts",
                r#"{"id":"x3","zone":"Mars/Olympus"}"#,
                "unknown time zone",
            ),
            (
                "/v1/accounts",
                r#"{"id":"x4","credit_line":"-1.00"}"#,
                "credit_line must not be negative",
            ),
            (
                "/v1/accounts",
                r#"{"id":"x5","credit_line":10}"#,
                "JSON string",
            ),
            (
                "/v1/accounts",
                r#"{"id":"x6","verified":"yes"}"#,
                "invalid type",
            ),
            ("/v1/accounts", r#"{"id":"a b"}"#, "account id"),
            (
                "/v1/accounts",
                r#"{"id":"x7","nickname":"x"}"#,
                "unknown field",
            ),
            (
                "/v1/accounts/acme/coupons",
                r#"{"amount":"5.00","expires_in":"1d","expires_at":"2026-04-01T00:00:00Z"}"#,
                "not both",
            ),
            (
                "/v1/accounts/acme/coupons",
                r#"{"amount":"5.00","expires_in":"soon"}"#,
                "not a span",
            ),
            (
                "/v1/accounts/acme/coupons",
                r#"{"amount":"5.00","expires_at":"tomorrow"}"#,
                "RFC 3339",
            ),
            (
                "/v1/accounts/acme/coupons",
                r#"{"amount":"5.00","expires_at":"2020-01-01T00:00:00Z"}"#,
                "expire after",
            ),
            (
                "/v1/accounts/acme/coupons",
                r#"{"amount":"5.00","products":[]}"#,
                "at least one product",
            ),
            (
                "/v1/accounts/acme/api-keys",
                r#"{"permissions":["billing:write"]}"#,
                "unknown variant",
            ),
            (
                "/v1/accounts/acme/api-keys",
                r#"{"permissions":[]}"#,
                "at least one",
            ),
            (
                "/v1/accounts/-bad/top-ups",
                r#"{"amount":"1.00"}"#,
                "account id",
            ),
        ];
        for (path, body, needle) in cases {
            let a = api.post(path, body).await;
            let detail = a.problem(400, "invalid_input");
            assert!(
                detail.contains(needle),
                "{path} {body}: detail {detail:?} lacks {needle:?}"
            );
        }

        let big = format!(
            r#"{{"amount":"1.00","pad":"{}"}}"#,
            "x".repeat(tenure_server::BODY_BYTES_MAX)
        );
        let a = api
            .send(
                Method::POST,
                top_up,
                Some(ADMIN),
                Some(Body::from(big)),
                &[],
            )
            .await;
        assert!(a.problem(400, "invalid_input").contains("1 MiB"));
        let a = api
            .send(
                Method::POST,
                top_up,
                Some(ADMIN),
                Some(Body::from("amount=1")),
                &[("content-type", "application/x-www-form-urlencoded")],
            )
            .await;
        assert!(a.problem(400, "invalid_input").contains("not JSON"));
        for query in ["limit=abc", "limit=0", "limit=501", "bogus=1"] {
            api.get(&format!("/v1/accounts?{query}"))
                .await
                .problem(400, "invalid_input");
        }
        for query in ["after=x", "after=-1", "kind=account.nope"] {
            api.get(&format!("/v1/accounts/acme/notices?{query}"))
                .await
                .problem(400, "invalid_input");
        }
        api.patch("/v1/accounts/acme", "{}")
            .await
            .problem(400, "invalid_input");
        api.patch("/v1/accounts/acme", r#"{"low_balance_threshold":"-1.00"}"#)
            .await
            .problem(400, "invalid_input");

        // Nothing was written.
        let acme = api.account("acme").await;
        assert_eq!(acme["cash"], "0.00");
        assert_eq!(acme["coupon_remaining"], "0.00");
        assert_eq!(acme["low_balance_threshold"], serde_json::Value::Null);
        assert!(api.journal_kinds("acme").await.is_empty());
        let coupons = api.get("/v1/accounts/acme/coupons").await.json();
        assert_eq!(coupons["items"].as_array().map(Vec::len), Some(0));
        let accounts = api.get("/v1/accounts").await.json();
        let ids: Vec<_> = accounts["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| a["id"].clone())
            .collect();
        assert_eq!(ids, vec![serde_json::json!("acme")]);
    });
}

#[test]
fn missing_accounts_and_unknown_products_are_not_found() {
    run(true, async |api| {
        api.open("acme").await;
        api.get("/v1/accounts/ghost")
            .await
            .problem(404, "not_found");
        api.post("/v1/accounts/ghost/top-ups", r#"{"amount":"1.00"}"#)
            .await
            .problem(404, "not_found");
        api.post(
            "/v1/accounts/acme/coupons",
            r#"{"amount":"1.00","products":["no-such-product"]}"#,
        )
        .await
        .problem(404, "not_found");
        api.get("/v1/nothing-here").await.problem(404, "not_found");
        let a = api
            .send(Method::DELETE, "/v1/accounts/acme", Some(ADMIN), None, &[])
            .await;
        a.problem(405, "invalid_input");
    });
}

#[test]
fn pagination_walks_every_account_exactly_once() {
    run(true, async |api| {
        let mut ids: Vec<String> = (0..7).map(|i| format!("acct-{i:02}")).collect();
        ids.reverse();
        for id in &ids {
            api.open(id).await;
        }
        ids.sort();
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..10 {
            let path = match &after {
                Some(a) => format!("/v1/accounts?limit=3&after={a}"),
                None => "/v1/accounts?limit=3".to_string(),
            };
            let page = api.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            let page = page.json();
            let items = page["items"].as_array().expect("items");
            assert!(items.len() <= 3);
            seen.extend(
                items
                    .iter()
                    .map(|a| a["id"].as_str().unwrap_or_default().to_string()),
            );
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, ids);
    });
}

#[test]
fn acc_7_threshold_patch_then_low_balance_notice_is_listed() {
    run(true, async |api| {
        api.open("acme").await;
        let set = api
            .patch("/v1/accounts/acme", r#"{"low_balance_threshold":"50.00"}"#)
            .await;
        assert_eq!(set.status, StatusCode::OK, "{}", set.text);
        assert_eq!(set.json()["low_balance_threshold"], "50.00");

        let topped = api
            .post("/v1/accounts/acme/top-ups", r#"{"amount":"10.00"}"#)
            .await;
        assert_eq!(topped.status, StatusCode::OK, "{}", topped.text);

        let notices = api
            .get("/v1/accounts/acme/notices?kind=account.low_balance")
            .await;
        assert_eq!(notices.status, StatusCode::OK, "{}", notices.text);
        let notices = notices.json();
        let items = notices["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{notices}");
        assert_eq!(items[0]["kind"], "account.low_balance");
        assert_eq!(notices["next"], serde_json::Value::Null);
        let events = api
            .get("/v1/accounts/acme/events?kind=account.low_balance")
            .await
            .json();
        assert_eq!(
            events["items"].as_array().map(Vec::len),
            Some(1),
            "{events}"
        );
        let none = api
            .get("/v1/accounts/acme/notices?kind=account.overdue")
            .await
            .json();
        assert_eq!(none["items"].as_array().map(Vec::len), Some(0));

        let cleared = api
            .patch("/v1/accounts/acme", r#"{"low_balance_threshold":null}"#)
            .await;
        assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text);
        assert_eq!(
            cleared.json()["low_balance_threshold"],
            serde_json::Value::Null
        );
    });
}

#[test]
fn acc_6_operator_verifies_identity() {
    run(true, async |api| {
        api.open("acme").await;
        assert_eq!(api.account("acme").await["verified"], false);
        let v = api
            .post("/v1/accounts/acme/identity-verification", "")
            .await;
        assert_eq!(v.status, StatusCode::OK, "{}", v.text);
        assert_eq!(v.json()["verified"], true);
        api.post("/v1/accounts/ghost/identity-verification", "")
            .await
            .problem(404, "not_found");
    });
}
