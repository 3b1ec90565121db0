//! Subscriptions (SUB) and renewal management (SUB-8) over HTTP: routes, per-item batch
//! results, listings and their pages, permissions and account isolation (IAM-3).
//!
//! The clock starts 2026-03-01 09:00 (+08:00); the demo catalog's phone-std costs 99.00 a month
//! (3.30 a day pro rata) and 990.00 a year, iot-enterprise 3,000.00 a month.

mod common;

use axum::http::StatusCode;
use common::{Api, run};
use serde_json::{Value, json};

async fn funded(api: &Api, id: &str, amount: &str) {
    api.open(id).await;
    let t = api
        .post(
            &format!("/v1/accounts/{id}/top-ups"),
            &format!(r#"{{"amount":"{amount}"}}"#),
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
}

/// Subscribes `account` to `body` as the operator; asserts 201 and returns the instance.
async fn subscribe(api: &Api, account: &str, body: Value) -> Value {
    let a = api
        .post(
            &format!("/v1/accounts/{account}/subscriptions"),
            &body.to_string(),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    a.json()
}

fn phone(term: &str) -> Value {
    json!({"product": "phone", "edition": "phone-std", "term": term})
}

/// `account/id` of every instance of a page, in order.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["account"].as_str().unwrap_or(""),
                s["id"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// `status` and `code` of every result of a batch answer, in order.
fn outcomes(answer: &Value) -> Vec<(String, String)> {
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap_or("").to_string(),
                r["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn outcome(status: &str, code: &str) -> (String, String) {
    (status.to_string(), code.to_string())
}

async fn advance(api: &Api, by: &str) {
    let a = api
        .post("/v1/clock/advance", &json!({ "by": by }).to_string())
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

#[test]
fn sub_1_subscribe_list_and_read() {
    run(true, async |api| {
        funded(api, "acme", "2000.00").await;
        let made = api
            .post(
                "/v1/accounts/acme/subscriptions",
                &phone("1 month").to_string(),
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        assert_eq!(
            made.headers.get("location").and_then(|v| v.to_str().ok()),
            Some("/v1/accounts/acme/subscriptions/s1")
        );
        let s1 = made.json();
        assert_eq!(s1["id"], "s1");
        assert_eq!(s1["account"], "acme");
        assert_eq!(s1["status"], "active");
        assert_eq!(s1["renewal"], "manual");
        assert_eq!(s1["term"], "1 month");
        assert_eq!(s1["paid"], "99.00");
        assert_eq!(s1["expires_at"], "2026-04-01T09:00:00+08:00");

        let auto = subscribe(
            api,
            "acme",
            json!({"product": "phone", "edition": "phone-std", "term": "1 year",
                   "renewal": "auto", "auto_period": "1 year"}),
        )
        .await;
        assert_eq!(auto["id"], "s2");
        assert_eq!(auto["renewal"], "auto");
        assert_eq!(auto["auto_period"], "1 year");
        assert_eq!(auto["paid"], "990.00");
        let free = subscribe(
            api,
            "acme",
            json!({"product": "iot", "edition": "iot-public"}),
        )
        .await;
        assert_eq!(free["status"], "active");
        assert!(free["expires_at"].is_null(), "{free}");
        // 2,000.00 - 99.00 - 990.00.
        assert_eq!(api.account("acme").await["cash"], "911.00");

        // One page at a time, in subscription order.
        let page = api.get("/v1/accounts/acme/subscriptions?limit=2").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let page = page.json();
        assert_eq!(ids(&page), ["acme/s1", "acme/s2"]);
        assert_eq!(page["next"], "s2");
        let rest = api
            .get("/v1/accounts/acme/subscriptions?after=s2")
            .await
            .json();
        assert_eq!(ids(&rest), ["acme/s3"]);
        assert!(rest["next"].is_null());
        api.get("/v1/accounts/acme/subscriptions?after=zz")
            .await
            .problem(400, "invalid_input");
        api.get("/v1/accounts/acme/subscriptions?limit=0")
            .await
            .problem(400, "invalid_input");

        let one = api.get("/v1/accounts/acme/subscriptions/s2").await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.text);
        assert_eq!(one.json()["edition"], "phone-std");
        api.get("/v1/accounts/acme/subscriptions/s9")
            .await
            .problem(404, "not_found");
        api.get("/v1/accounts/acme/subscriptions/bogus")
            .await
            .problem(404, "not_found");
        api.get("/v1/accounts/ghost/subscriptions")
            .await
            .problem(404, "not_found");
    });
}

#[test]
fn sub_1_bad_subscriptions_are_refused_and_change_nothing() {
    run(true, async |api| {
        funded(api, "acme", "100.00").await;
        let path = "/v1/accounts/acme/subscriptions";
        let refused = [
            (
                json!({"product": "phone", "edition": "phone-pro", "term": "1 month"}),
                404,
                "not_found",
            ),
            (
                json!({"product": "fax", "edition": "phone-std", "term": "1 month"}),
                404,
                "not_found",
            ),
            (phone("10 months"), 422, "invalid_term"),
            (
                json!({"product": "phone", "edition": "phone-std"}),
                422,
                "invalid_term",
            ),
            (phone("soon"), 400, "invalid_input"),
            (phone("1 year"), 402, "insufficient_funds"),
            (
                json!({"product": "phone", "edition": "phone-std", "term": "1 month", "renewal": "auto"}),
                400,
                "invalid_input",
            ),
            (
                json!({"product": "phone", "edition": "phone-std", "term": "1 month",
                       "renewal": "auto", "auto_period": "2 months"}),
                422,
                "invalid_term",
            ),
            (
                json!({"product": "phone", "edition": "phone-std", "term": "1 month",
                       "renewal": "sometimes"}),
                400,
                "invalid_input",
            ),
            (
                json!({"product": "phone", "edition": "phone-std", "term": "1 month", "colour": "red"}),
                400,
                "invalid_input",
            ),
        ];
        for (body, status, code) in refused {
            api.post(path, &body.to_string())
                .await
                .problem(status, code);
        }
        assert_eq!(api.account("acme").await["cash"], "100.00");
        let listed = api.get(path).await.json();
        assert_eq!(listed["items"], json!([]));
    });
}

#[test]
fn sub_5_a_renewal_quote_prices_the_co_term_days_and_changes_nothing() {
    run(true, async |api| {
        funded(api, "acme", "1000.00").await;
        subscribe(api, "acme", phone("1 month")).await;
        let quote =
            |query: &str| format!("/v1/accounts/acme/subscriptions/s1/renewal-quote?{query}");
        // From 1 Apr 09:00: 1 May 09:00.
        let plain = api.get(&quote("term=1%20month")).await;
        assert_eq!(plain.status, StatusCode::OK, "{}", plain.text);
        let plain = plain.json();
        assert_eq!(plain["price"], "99.00");
        assert_eq!(plain["extra_days"], 0);
        assert_eq!(plain["total"], "99.00");
        assert_eq!(plain["new_expires_at"], "2026-05-01T09:00:00+08:00");
        // To the month's last day: 1 May -> 31 May, 30 days x 3.30 = 99.00.
        let last = api
            .get(&quote("term=1%20month&co_term_day=last"))
            .await
            .json();
        assert_eq!(last["co_term_day"], "last");
        assert_eq!(last["extra_days"], 30);
        assert_eq!(last["extra_price"], "99.00");
        assert_eq!(last["total"], "198.00");
        assert_eq!(last["new_expires_at"], "2026-05-31T09:00:00+08:00");
        // To the 15th: 14 days x 3.30 = 46.20.
        let mid = api
            .get(&quote("term=1%20month&co_term_day=15"))
            .await
            .json();
        assert_eq!(mid["extra_days"], 14);
        assert_eq!(mid["total"], "145.20");
        assert_eq!(mid["new_expires_at"], "2026-05-15T09:00:00+08:00");

        for bad in [
            "term=1%20month&co_term_day=29",
            "term=1%20month&co_term_day=0",
            "term=1%20month&co_term_day=first",
            "term=soon",
            "co_term_day=1",
        ] {
            api.get(&quote(bad)).await.problem(400, "invalid_input");
        }
        api.get(&quote("term=10%20months"))
            .await
            .problem(422, "invalid_term");
        api.get("/v1/accounts/acme/subscriptions/s9/renewal-quote?term=1%20month")
            .await
            .problem(404, "not_found");
        assert_eq!(api.account("acme").await["cash"], "901.00");
        let s1 = api.get("/v1/accounts/acme/subscriptions/s1").await.json();
        assert_eq!(s1["expires_at"], "2026-04-01T09:00:00+08:00");
    });
}

#[test]
fn sub_3_a_batch_renewal_has_one_result_per_item() {
    run(true, async |api| {
        funded(api, "acme", "1000.00").await;
        funded(api, "other", "1000.00").await;
        for _ in 0..4 {
            subscribe(api, "acme", phone("1 month")).await;
        }
        subscribe(api, "other", phone("1 month")).await;
        // s2 is released: unsubscribed at once, 99.00 - 0 used - 9.90 fee = 89.10 back.
        let gone = api
            .post("/v1/accounts/acme/subscriptions/s2/unsubscribe", "")
            .await;
        assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
        assert_eq!(gone.json()["refund"], "89.10");

        let body = json!({"items": [
            {"account": "acme", "subscription": "s1", "term": "1 month"},
            {"account": "acme", "subscription": "s2", "term": "1 month"},
            {"account": "acme", "subscription": "s9", "term": "1 month"},
            {"account": "other", "subscription": "s1", "term": "1 month", "co_term_day": "last"},
            {"account": "acme", "subscription": "s3", "term": "soon"},
            {"account": "acme", "subscription": "s4", "term": "1 month", "co_term_day": 31},
            {"account": "ghost", "subscription": "s1", "term": "1 month"},
            {"account": "acme", "subscription": "s4", "term": "10 months", "co_term_day": 1},
        ]})
        .to_string();
        // acme/s4 twice: the batch is refused whole and nothing runs.
        api.post("/v1/renewals", &body)
            .await
            .problem(400, "invalid_input");

        let body = json!({"items": [
            {"account": "acme", "subscription": "s1", "term": "1 month"},
            {"account": "acme", "subscription": "s2", "term": "1 month"},
            {"account": "acme", "subscription": "s9", "term": "1 month"},
            {"account": "other", "subscription": "s1", "term": "1 month", "co_term_day": "last"},
            {"account": "acme", "subscription": "s3", "term": "soon"},
            {"account": "acme", "subscription": "s4", "term": "1 month", "co_term_day": 31},
            {"account": "ghost", "subscription": "s1", "term": "1 month"},
            {"account": "acme", "subscription": "bogus", "term": "10 months"},
        ]})
        .to_string();
        let answer = api.post_idem("/v1/renewals", "renew-1", &body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let answer = answer.json();
        assert_eq!(
            outcomes(&answer),
            [
                outcome("renewed", ""),
                outcome("refused", "not_renewable"),
                outcome("refused", "not_found"),
                outcome("renewed", ""),
                outcome("refused", "invalid_input"),
                outcome("refused", "invalid_input"),
                outcome("refused", "not_found"),
                outcome("refused", "not_found"),
            ]
        );
        let results = &answer["results"];
        assert_eq!(results[0]["account"], "acme");
        assert_eq!(results[0]["subscription"], "s1");
        assert_eq!(results[0]["quote"]["total"], "99.00");
        assert_eq!(
            results[0]["quote"]["new_expires_at"],
            "2026-05-01T09:00:00+08:00"
        );
        // other/s1: 1 Apr + 1 month = 1 May, to the last day: 31 May, 30 x 3.30 = 99.00 more.
        assert_eq!(results[3]["quote"]["total"], "198.00");
        assert_eq!(
            results[3]["quote"]["new_expires_at"],
            "2026-05-31T09:00:00+08:00"
        );
        assert_eq!(results[6]["account"], "ghost");
        assert!(results[1]["detail"].as_str().is_some_and(|d| !d.is_empty()));

        // The same request with the same key: the same answer, nothing charged twice.
        let again = api.post_idem("/v1/renewals", "renew-1", &body).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        assert_eq!(again.json(), answer);
        // acme: 1,000.00 - 4 x 99.00 + 89.10 - 99.00 = 594.10; other: 1,000.00 - 99.00 - 198.00.
        assert_eq!(api.account("acme").await["cash"], "594.10");
        assert_eq!(api.account("other").await["cash"], "703.00");

        // Refused whole: no items, more than 200, not the documented shape.
        api.post("/v1/renewals", r#"{"items":[]}"#)
            .await
            .problem(400, "invalid_input");
        let many: Vec<Value> = (1..=201)
            .map(|n| json!({"account": "acme", "subscription": format!("s{n}"), "term": "1 month"}))
            .collect();
        let detail = api
            .post("/v1/renewals", &json!({ "items": many }).to_string())
            .await
            .problem(400, "invalid_input");
        assert!(detail.contains("200"), "{detail}");
        api.post(
            "/v1/renewals",
            r#"{"items":[{"account":"acme","subscription":"s1"}]}"#,
        )
        .await
        .problem(400, "invalid_input");
        api.post(
            "/v1/renewals",
            r#"{"items":[{"account":"acme","subscription":"s1","term":"1 month","co_term_day":1.5}]}"#,
        )
        .await
        .problem(400, "invalid_input");
        assert_eq!(api.account("acme").await["cash"], "594.10");
    });
}

#[test]
fn ovd_2_an_overdue_account_is_refused_fee_operations_per_item() {
    run(true, async |api| {
        api.open("acme").await;
        let coupon = api
            .post(
                "/v1/accounts/acme/coupons",
                r#"{"amount":"1000.00","products":["phone"]}"#,
            )
            .await;
        assert_eq!(coupon.status, StatusCode::CREATED, "{}", coupon.text);
        subscribe(api, "acme", phone("1 month")).await;
        // 100 SMS, 4.50, billed at 10:00 with no cash: overdue.
        let usage = json!({"events": [{"account": "acme", "id": "e1", "meter": "sms.cn",
            "quantity": 100, "timestamp": "2026-03-01T09:00:00+08:00"}]});
        let u = api.post("/v1/usage", &usage.to_string()).await;
        assert_eq!(u.status, StatusCode::OK, "{}", u.text);
        advance(api, "1h").await;
        assert_eq!(api.account("acme").await["status"], "overdue");

        api.post(
            "/v1/accounts/acme/subscriptions",
            &phone("1 month").to_string(),
        )
        .await
        .problem(422, "account_overdue");
        let answer = api
            .post(
                "/v1/renewals",
                r#"{"items":[{"account":"acme","subscription":"s1","term":"1 month"}]}"#,
            )
            .await
            .json();
        assert_eq!(outcomes(&answer), [outcome("refused", "account_overdue")]);
        let s1 = api.get("/v1/accounts/acme/subscriptions/s1").await.json();
        assert_eq!(s1["status"], "active");
        assert_eq!(s1["expires_at"], "2026-04-01T09:00:00+08:00");
    });
}

#[test]
fn sub_8_bulk_settings_enable_modify_set_manual_and_cancel() {
    run(true, async |api| {
        funded(api, "acme", "1000.00").await;
        for _ in 0..3 {
            subscribe(api, "acme", phone("1 month")).await;
        }
        subscribe(
            api,
            "acme",
            json!({"product": "iot", "edition": "iot-public"}),
        )
        .await;
        let settings = |items: &[&str], mode: &str, period: Option<&str>| {
            let items: Vec<Value> = items
                .iter()
                .map(|s| json!({"account": "acme", "subscription": s}))
                .collect();
            let mut body = json!({"items": items, "mode": mode});
            if let Some(p) = period {
                body["period"] = json!(p);
            }
            body.to_string()
        };
        let path = "/v1/renewals/settings";

        let on = api
            .post(
                path,
                &settings(&["s1", "s2", "s3"], "auto", Some("1 month")),
            )
            .await;
        assert_eq!(on.status, StatusCode::OK, "{}", on.text);
        let on = on.json();
        assert_eq!(outcomes(&on), vec![outcome("updated", ""); 3]);
        assert_eq!(on["results"][2]["result"]["renewal"], "auto");
        assert_eq!(on["results"][2]["result"]["auto_period"], "1 month");

        let modified = api
            .post(path, &settings(&["s1", "s2"], "auto", Some("1 year")))
            .await
            .json();
        assert_eq!(modified["results"][1]["result"]["auto_period"], "1 year");
        let manual = api
            .post(path, &settings(&["s1"], "manual", None))
            .await
            .json();
        assert_eq!(manual["results"][0]["result"]["renewal"], "manual");
        let canceled = api
            .post(path, &settings(&["s3"], "canceled", None))
            .await
            .json();
        assert_eq!(canceled["results"][0]["result"]["renewal"], "canceled");

        // Per item: a period the edition does not sell, a free instance, one that is not there.
        let mixed = api
            .post(
                path,
                &settings(&["s2", "s4", "s9"], "auto", Some("2 months")),
            )
            .await
            .json();
        assert_eq!(
            outcomes(&mixed),
            [
                outcome("refused", "invalid_term"),
                outcome("refused", "auto_renew_not_allowed"),
                outcome("refused", "not_found"),
            ]
        );
        // Whole: a mode every item shares that says nothing, or is no mode.
        api.post(path, &settings(&["s1"], "auto", None))
            .await
            .problem(400, "invalid_input");
        api.post(path, &settings(&["s1"], "manual", Some("1 month")))
            .await
            .problem(400, "invalid_input");
        api.post(path, &settings(&["s1"], "sometimes", None))
            .await
            .problem(400, "invalid_input");
        api.post(path, &settings(&["s1", "s1"], "manual", None))
            .await
            .problem(400, "invalid_input");

        let listed = api.get("/v1/accounts/acme/subscriptions").await.json();
        let modes: Vec<&str> = listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|s| s["renewal"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(modes, ["manual", "auto", "canceled", "manual"]);
    });
}

/// acme: s1 1 month (1 Apr), s2 3 months (1 Jun); beta: s1 1 month auto (1 Apr), s2 free.
async fn two_accounts(api: &Api) {
    funded(api, "acme", "1000.00").await;
    funded(api, "beta", "1000.00").await;
    subscribe(api, "acme", phone("1 month")).await;
    subscribe(api, "acme", phone("3 months")).await;
    subscribe(
        api,
        "beta",
        json!({"product": "phone", "edition": "phone-std", "term": "1 month",
               "renewal": "auto", "auto_period": "1 month"}),
    )
    .await;
    subscribe(
        api,
        "beta",
        json!({"product": "iot", "edition": "iot-public"}),
    )
    .await;
}

#[test]
fn sub_8_renewals_are_listed_by_expiry_filtered_and_paged() {
    run(true, async |api| {
        two_accounts(api).await;
        // By expiry, then account, then id; no expiry last.
        let all = api.get("/v1/renewals").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.text);
        let all = all.json();
        assert_eq!(ids(&all), ["acme/s1", "beta/s1", "acme/s2", "beta/s2"]);
        assert!(all["next"].is_null());

        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after {
                Some(a) => format!("/v1/renewals?limit=1&after={a}"),
                None => "/v1/renewals?limit=1".to_string(),
            };
            let page = api.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text);
            let page = page.json();
            seen.extend(ids(&page));
            match page["next"].as_str() {
                Some(n) => after = Some(n.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, ids(&all));

        let auto = api.get("/v1/renewals?tab=auto").await.json();
        assert_eq!(ids(&auto), ["beta/s1"]);
        let iot = api.get("/v1/renewals?product=iot").await.json();
        assert_eq!(ids(&iot), ["beta/s2"]);
        let manual_phones = api
            .get("/v1/renewals?tab=manual&product=phone&status=active")
            .await
            .json();
        assert_eq!(ids(&manual_phones), ["acme/s1", "acme/s2"]);
        let one_account = api.get("/v1/renewals?account=beta").await.json();
        assert_eq!(ids(&one_account), ["beta/s1", "beta/s2"]);
        let range = api
            .get("/v1/renewals?from=2026-05-01T00:00:00%2B08:00&to=2026-07-01T00:00:00%2B08:00")
            .await;
        assert_eq!(range.status, StatusCode::OK, "{}", range.text);
        assert_eq!(ids(&range.json()), ["acme/s2"]);

        // Expires within: on 1 Mar, 1 Apr 09:00 is 31 days away; on 3 Mar, 29.
        let within = api.get("/v1/renewals?expires_within=30").await.json();
        assert_eq!(ids(&within), Vec::<String>::new());
        advance(api, "2d").await;
        let within = api.get("/v1/renewals?expires_within=30").await.json();
        assert_eq!(ids(&within), ["acme/s1", "beta/s1"]);
        let within = api.get("/v1/renewals?expires_within=7").await.json();
        assert_eq!(ids(&within), Vec::<String>::new());

        for bad in [
            "expires_within=10",
            "expires_within=7&from=2026-05-01T00:00:00%2B08:00",
            "tab=someday",
            "status=asleep",
            "from=May",
            "after=nonsense",
            "limit=0",
            "colour=red",
            "account=no%20such",
        ] {
            api.get(&format!("/v1/renewals?{bad}"))
                .await
                .problem(400, "invalid_input");
        }
        api.get("/v1/renewals?product=fax")
            .await
            .problem(404, "not_found");
    });
}

#[test]
fn iam_3_account_keys_reach_only_their_own_renewals() {
    run(true, async |api| {
        two_accounts(api).await;
        let reader = api.key_for("acme", &["billing:read"]).await;
        let orderer = api.key_for("acme", &["billing:order"]).await;

        let own = api.get_as(&reader, "/v1/renewals").await;
        assert_eq!(own.status, StatusCode::OK, "{}", own.text);
        assert_eq!(ids(&own.json()), ["acme/s1", "acme/s2"]);
        let own = api
            .get_as(&reader, "/v1/renewals?account=acme&limit=1")
            .await
            .json();
        assert_eq!(ids(&own), ["acme/s1"]);
        api.get_as(&reader, "/v1/renewals?account=beta")
            .await
            .problem(404, "not_found");
        api.get_as(&reader, "/v1/accounts/beta/subscriptions")
            .await
            .problem(404, "not_found");
        api.get_as(
            &reader,
            "/v1/accounts/beta/subscriptions/s1/renewal-quote?term=1%20month",
        )
        .await
        .problem(404, "not_found");
        api.get_as(&orderer, "/v1/renewals")
            .await
            .problem(403, "forbidden");

        let renew = json!({"items": [
            {"account": "acme", "subscription": "s1", "term": "1 month"},
            {"account": "beta", "subscription": "s1", "term": "1 month"},
        ]})
        .to_string();
        api.post_as(&reader, "/v1/renewals", &renew)
            .await
            .problem(403, "forbidden");
        let answer = api.post_as(&orderer, "/v1/renewals", &renew).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(
            outcomes(&answer.json()),
            [outcome("renewed", ""), outcome("refused", "not_found")]
        );
        let settings = json!({"items": [{"account": "beta", "subscription": "s1"}],
            "mode": "canceled"})
        .to_string();
        let answer = api
            .post_as(&orderer, "/v1/renewals/settings", &settings)
            .await
            .json();
        assert_eq!(outcomes(&answer), [outcome("refused", "not_found")]);
        api.post_as(
            &orderer,
            "/v1/accounts/beta/subscriptions/s1/unsubscribe",
            "",
        )
        .await
        .problem(404, "not_found");
        api.post_as(
            &reader,
            "/v1/accounts/acme/subscriptions",
            &phone("1 month").to_string(),
        )
        .await
        .problem(403, "forbidden");

        // beta untouched: still auto, still 1 Apr, 1,000.00 - 99.00.
        let beta = api.get("/v1/accounts/beta/subscriptions/s1").await.json();
        assert_eq!(beta["renewal"], "auto");
        assert_eq!(beta["expires_at"], "2026-04-01T09:00:00+08:00");
        assert_eq!(api.account("beta").await["cash"], "901.00");
    });
}

#[test]
fn sub_9_sub_10_continue_trial_upgrade_and_unsubscribe() {
    run(true, async |api| {
        funded(api, "acme", "3099.00").await;
        let public = subscribe(
            api,
            "acme",
            json!({"product": "iot", "edition": "iot-public"}),
        )
        .await;
        assert_eq!(public["id"], "s1");
        let base = "/v1/accounts/acme/subscriptions/s1";
        api.post(&format!("{base}/continue-trial"), "")
            .await
            .problem(400, "invalid_input");
        // 30 days without usage: frozen.
        advance(api, "30d").await;
        assert_eq!(api.get(base).await.json()["status"], "frozen");
        let cont = api.post(&format!("{base}/continue-trial"), "").await;
        assert_eq!(cont.status, StatusCode::OK, "{}", cont.text);
        assert_eq!(cont.json()["status"], "active");

        api.post(
            &format!("{base}/upgrade"),
            r#"{"edition":"iot-enterprise"}"#,
        )
        .await
        .problem(400, "invalid_input");
        api.post(
            &format!("{base}/upgrade"),
            r#"{"edition":"iot-platinum","term":"1 month"}"#,
        )
        .await
        .problem(404, "not_found");
        api.post(
            &format!("{base}/upgrade"),
            r#"{"edition":"iot-enterprise","term":"12 months"}"#,
        )
        .await
        .problem(422, "invalid_term");
        // From 31 Mar 09:00, 1 month: 30 Apr 09:00, 3,000.00.
        let up = api
            .post(
                &format!("{base}/upgrade"),
                r#"{"edition":"iot-enterprise","term":"1 month"}"#,
            )
            .await;
        assert_eq!(up.status, StatusCode::OK, "{}", up.text);
        let up = up.json();
        assert_eq!(up["edition"], "iot-enterprise");
        assert_eq!(up["status"], "active");
        assert_eq!(up["paid"], "3000.00");
        assert_eq!(up["expires_at"], "2026-04-30T09:00:00+08:00");
        api.post(
            &format!("{base}/upgrade"),
            r#"{"edition":"iot-enterprise","term":"1 month"}"#,
        )
        .await
        .problem(400, "invalid_input");
        assert_eq!(api.account("acme").await["cash"], "99.00");

        // SUB-10: 99.00 paid, unsubscribed after 0 whole hours: 99.00 - 0 - 9.90 = 89.10.
        subscribe(api, "acme", phone("1 month")).await;
        let gone = api
            .post("/v1/accounts/acme/subscriptions/s2/unsubscribe", "")
            .await;
        assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
        let gone = gone.json();
        assert_eq!(gone["refund"], "89.10");
        assert_eq!(gone["subscription"]["status"], "released");
        assert_eq!(api.account("acme").await["cash"], "89.10");
        api.post("/v1/accounts/acme/subscriptions/s2/unsubscribe", "")
            .await
            .problem(400, "invalid_input");
        api.post("/v1/accounts/acme/subscriptions/s9/unsubscribe", "")
            .await
            .problem(404, "not_found");
    });
}

#[test]
fn the_openapi_document_has_the_subscription_routes() {
    run(false, async |api| {
        let doc = api
            .send(axum::http::Method::GET, "/openapi.json", None, None, &[])
            .await
            .json();
        for (path, method) in [
            ("/v1/accounts/{id}/subscriptions", "post"),
            ("/v1/accounts/{id}/subscriptions", "get"),
            ("/v1/accounts/{id}/subscriptions/{sub}", "get"),
            ("/v1/accounts/{id}/subscriptions/{sub}/renewal-quote", "get"),
            ("/v1/accounts/{id}/subscriptions/{sub}/unsubscribe", "post"),
            (
                "/v1/accounts/{id}/subscriptions/{sub}/continue-trial",
                "post",
            ),
            ("/v1/accounts/{id}/subscriptions/{sub}/upgrade", "post"),
            ("/v1/renewals", "post"),
            ("/v1/renewals", "get"),
            ("/v1/renewals/settings", "post"),
        ] {
            let op = &doc["paths"][path][method];
            assert!(op.is_object(), "{method} {path} missing");
            assert!(op["security"].is_array(), "{method} {path} has no security");
            assert!(
                op["responses"]["404"].is_object(),
                "{method} {path} has no problem responses"
            );
            if method != "get" {
                assert!(
                    op["parameters"]
                        .as_array()
                        .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key")),
                    "{method} {path} takes no Idempotency-Key"
                );
            }
        }
        for schema in [
            "SubscriptionView",
            "SubscribeRequest",
            "RenewalQuoteView",
            "RenewBatchRequest",
            "RenewItemRequest",
            "RenewResultView",
            "RenewalSettingsRequest",
            "ItemResultView",
            "UnsubscribeView",
            "UpgradeRequest",
        ] {
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "schema {schema} missing"
            );
        }
    });
}
