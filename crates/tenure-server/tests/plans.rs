//! Plans (PLAN), pay-as-you-go (PAYG), reservations (PLAN-10) and the entitlement check (OVD-2)
//! over HTTP: routes, permissions, problems, pages.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{ADMIN, Api, run};
use serde_json::json;

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

async fn put(api: &Api, key: &str, path: &str, body: &str) -> common::Answer {
    api.send(
        Method::PUT,
        path,
        Some(key),
        Some(Body::from(body.to_string())),
        &[],
    )
    .await
}

#[test]
fn plan_2_buy_list_read_refund_and_renew() {
    run(true, async |api| {
        funded(api, "acme", "200.00").await;
        let bought = api
            .post("/v1/accounts/acme/plans", r#"{"spec":"sms-cn-1k"}"#)
            .await;
        assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.text);
        let plan = bought.json();
        assert_eq!(plan["id"], "p1");
        assert_eq!(plan["spec"], "sms-cn-1k");
        assert_eq!(plan["remaining"], 1000);
        assert_eq!(plan["status"], "active");
        assert_eq!(
            bought.headers.get("location").and_then(|v| v.to_str().ok()),
            Some("/v1/accounts/acme/plans/p1")
        );
        assert_eq!(api.account("acme").await["cash"], "155.00");

        // A later start; a start in the past and an unknown spec are refused.
        let later = api
            .post(
                "/v1/accounts/acme/plans",
                r#"{"spec":"sms-cn-1k","start_at":"2026-04-01T00:00:00+08:00"}"#,
            )
            .await;
        assert_eq!(later.status, StatusCode::CREATED, "{}", later.text);
        assert_eq!(later.json()["status"], "pending");
        api.post(
            "/v1/accounts/acme/plans",
            r#"{"spec":"sms-cn-1k","start_at":"soon"}"#,
        )
        .await
        .problem(400, "invalid_input");
        api.post("/v1/accounts/acme/plans", r#"{"spec":"nope"}"#)
            .await
            .problem(404, "not_found");
        api.post("/v1/accounts/acme/plans", r#"{"spec":"sms-cn-10k"}"#)
            .await
            .problem(402, "insufficient_funds");

        // Listed in purchase order, one page at a time.
        let page = api.get("/v1/accounts/acme/plans?limit=1").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let page = page.json();
        assert_eq!(page["items"][0]["id"], "p1");
        assert_eq!(page["next"], "p1");
        let rest = api.get("/v1/accounts/acme/plans?after=p1").await.json();
        assert_eq!(rest["items"][0]["id"], "p2");
        assert!(rest["next"].is_null());
        api.get("/v1/accounts/acme/plans?after=zz")
            .await
            .problem(400, "invalid_input");

        let one = api.get("/v1/accounts/acme/plans/p2").await;
        assert_eq!(one.status, StatusCode::OK, "{}", one.text);
        api.get("/v1/accounts/acme/plans/p9")
            .await
            .problem(404, "not_found");
        api.get("/v1/accounts/acme/plans/bogus")
            .await
            .problem(404, "not_found");

        // PLAN-12: refund the unused one; PLAN-13: renew the other.
        let refunded = api.post("/v1/accounts/acme/plans/p2/refund", "").await;
        assert_eq!(refunded.status, StatusCode::OK, "{}", refunded.text);
        assert_eq!(refunded.json()["status"], "refunded");
        api.post("/v1/accounts/acme/plans/p2/refund", "")
            .await
            .problem(422, "not_refundable");
        let renewed = api.post("/v1/accounts/acme/plans/p1/renewal", "").await;
        assert_eq!(renewed.status, StatusCode::CREATED, "{}", renewed.text);
        let successor = renewed.json();
        assert_eq!(successor["id"], "p3");
        assert_eq!(successor["status"], "pending");
        assert_eq!(
            renewed
                .headers
                .get("location")
                .and_then(|v| v.to_str().ok()),
            Some("/v1/accounts/acme/plans/p3")
        );
        // 200.00 - 45.00 - 45.00 + 45.00 - 45.00 = 110.00
        assert_eq!(api.account("acme").await["cash"], "110.00");
    });
}

#[test]
fn a_purchase_with_an_idempotency_key_is_made_once() {
    run(true, async |api| {
        funded(api, "acme", "100.00").await;
        let body = r#"{"spec":"sms-cn-1k"}"#;
        let one = api
            .post_idem("/v1/accounts/acme/plans", "buy-1", body)
            .await;
        let two = api
            .post_idem("/v1/accounts/acme/plans", "buy-1", body)
            .await;
        assert_eq!(one.status, StatusCode::CREATED, "{}", one.text);
        assert_eq!(two.status, StatusCode::CREATED, "{}", two.text);
        assert_eq!(one.json()["id"], two.json()["id"]);
        assert_eq!(api.account("acme").await["cash"], "55.00");
    });
}

#[test]
fn iam_plans_need_billing_order_and_another_account_is_404() {
    run(true, async |api| {
        funded(api, "acme", "100.00").await;
        funded(api, "rival", "100.00").await;
        let reader = api.key_for("acme", &["billing:read"]).await;
        let buyer = api.key_for("acme", &["billing:order"]).await;
        api.post_as(
            &reader,
            "/v1/accounts/acme/plans",
            r#"{"spec":"sms-cn-1k"}"#,
        )
        .await
        .problem(403, "forbidden");
        let a = api
            .post_as(&buyer, "/v1/accounts/acme/plans", r#"{"spec":"sms-cn-1k"}"#)
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        let listed = api.get_as(&reader, "/v1/accounts/acme/plans").await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        api.post_as(
            &buyer,
            "/v1/accounts/rival/plans",
            r#"{"spec":"sms-cn-1k"}"#,
        )
        .await
        .problem(404, "not_found");
        api.get_as(&reader, "/v1/accounts/rival/plans/p1")
            .await
            .problem(404, "not_found");
        api.get_as(&reader, "/v1/accounts/rival/bills")
            .await
            .problem(404, "not_found");
        assert_eq!(api.account("rival").await["cash"], "100.00");
    });
}

#[test]
fn payg_activation_bills_and_usage_stats() {
    run(true, async |api| {
        funded(api, "acme", "10.00").await;
        let event = |id: &str| {
            json!({"events": [{"account": "acme", "id": id, "meter": "msg.send",
                "quantity": 100, "timestamp": "2026-03-01T09:00:00+08:00"}]})
            .to_string()
        };
        let a = api.post("/v1/usage", &event("m1")).await;
        assert_eq!(a.json()["results"][0]["code"], "payg_not_activated");
        let act = api
            .post("/v1/accounts/acme/payg-activations", r#"{"product":"msg"}"#)
            .await;
        assert_eq!(act.status, StatusCode::OK, "{}", act.text);
        api.post("/v1/accounts/acme/payg-activations", r#"{"product":"fax"}"#)
            .await
            .problem(404, "not_found");
        let a = api.post("/v1/usage", &event("m2")).await;
        assert_eq!(a.json()["results"][0]["status"], "applied");
        assert_eq!(a.json()["results"][0]["payg_quantity"], 100);

        let none = api.get("/v1/accounts/acme/bills").await;
        assert_eq!(none.status, StatusCode::OK, "{}", none.text);
        assert_eq!(none.json()["items"], json!([]));
        let adv = api.post("/v1/clock/advance", r#"{"by":"1h"}"#).await;
        assert_eq!(adv.status, StatusCode::OK, "{}", adv.text);
        let bills = api.get("/v1/accounts/acme/bills").await.json();
        assert_eq!(bills["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(bills["items"][0]["total"], "5.50");
        assert_eq!(api.account("acme").await["cash"], "4.50");

        let stats = api
            .get("/v1/accounts/acme/usage-stats?from=2026-03-01&to=2026-03-01")
            .await;
        assert_eq!(stats.status, StatusCode::OK, "{}", stats.text);
        let day = stats.json()["items"][0].clone();
        assert_eq!(day["date"], "2026-03-01");
        assert_eq!(day["meter"], "msg.send");
        assert_eq!(day["payg_quantity"], 100);
        assert_eq!(day["refused"], 100);
        let before = api
            .get("/v1/accounts/acme/usage-stats?to=2026-02-28")
            .await
            .json();
        assert_eq!(before["items"], json!([]));
        api.get("/v1/accounts/acme/usage-stats?from=March")
            .await
            .problem(400, "invalid_input");
        api.get("/v1/accounts/acme/usage-stats?from=2026-03-02&to=2026-03-01")
            .await
            .problem(400, "invalid_input");
    });
}

#[test]
fn plan_10_reservations_and_the_entitlement_check() {
    run(true, async |api| {
        funded(api, "acme", "240.00").await;
        let p = api
            .post("/v1/accounts/acme/plans", r#"{"spec":"msg-sbe-5k"}"#)
            .await;
        assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
        let writer = api.key_for("acme", &["usage:write"]).await;
        let r = api
            .post_as(
                &writer,
                "/v1/accounts/acme/reservations",
                r#"{"meter":"msg.send","quantity":100}"#,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let rid = r.json()["id"].as_str().expect("id").to_string();

        let service = api.get_as(&writer, "/v1/accounts/acme/services/msg").await;
        assert_eq!(service.status, StatusCode::OK, "{}", service.text);
        let service = service.json();
        assert_eq!(service["status"], "available");
        assert_eq!(service["quota_remaining"], 4900);
        api.get("/v1/accounts/acme/services/fax")
            .await
            .problem(404, "not_found");

        let c = api
            .post_as(
                &writer,
                &format!("/v1/accounts/acme/reservations/{rid}/commit"),
                r#"{"quantity":60}"#,
            )
            .await;
        assert_eq!(c.status, StatusCode::OK, "{}", c.text);
        assert_eq!(c.json()["status"], "applied");
        api.post_as(
            &writer,
            &format!("/v1/accounts/acme/reservations/{rid}/release"),
            "",
        )
        .await
        .problem(404, "not_found");
        let plan = api.get("/v1/accounts/acme/plans/p1").await.json();
        assert_eq!(plan["consumed"], 60);
        assert_eq!(plan["reserved"], 0);

        let r2 = api
            .post(
                "/v1/accounts/acme/reservations",
                r#"{"meter":"msg.send","quantity":10,"timeout":"1h"}"#,
            )
            .await;
        assert_eq!(r2.status, StatusCode::CREATED, "{}", r2.text);
        let rid2 = r2.json()["id"].as_str().expect("id").to_string();
        let rel = api
            .post(
                &format!("/v1/accounts/acme/reservations/{rid2}/release"),
                "",
            )
            .await;
        assert_eq!(rel.status, StatusCode::OK, "{}", rel.text);
        api.post(
            "/v1/accounts/acme/reservations",
            r#"{"meter":"msg.send","quantity":10,"timeout":"soon"}"#,
        )
        .await
        .problem(400, "invalid_input");
        api.post(
            "/v1/accounts/acme/reservations",
            r#"{"meter":"msg.send","quantity":99999}"#,
        )
        .await
        .problem(422, "quota_exhausted");
        // A billing reader may check entitlement but not reserve.
        let reader = api.key_for("acme", &["billing:read"]).await;
        let s = api.get_as(&reader, "/v1/accounts/acme/services/msg").await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.text);
        api.post_as(
            &reader,
            "/v1/accounts/acme/reservations",
            r#"{"meter":"msg.send","quantity":1}"#,
        )
        .await
        .problem(403, "forbidden");
    });
}

#[test]
fn plan_7_and_plan_9_settings_are_put() {
    run(true, async |api| {
        funded(api, "acme", "100.00").await;
        let a = put(
            api,
            ADMIN,
            "/v1/accounts/acme/usage-alerts/sms",
            r#"{"percent_used":[50,80],"remaining":[100]}"#,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let r = put(
            api,
            ADMIN,
            "/v1/accounts/acme/plan-auto-renew/sms",
            r#"{"spec":"sms-cn-1k","threshold":100}"#,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        put(
            api,
            ADMIN,
            "/v1/accounts/acme/plan-auto-renew/msg",
            r#"{"spec":"msg-ppu-5k","threshold":100}"#,
        )
        .await
        .problem(422, "auto_renew_not_allowed");
        put(
            api,
            ADMIN,
            "/v1/accounts/acme/plan-auto-renew/sms",
            r#"{"threshold":100}"#,
        )
        .await
        .problem(400, "invalid_input");
        let off = put(
            api,
            ADMIN,
            "/v1/accounts/acme/plan-auto-renew/sms",
            r#"{"enabled":false}"#,
        )
        .await;
        assert_eq!(off.status, StatusCode::OK, "{}", off.text);
        let reader = api.key_for("acme", &["billing:read"]).await;
        put(
            api,
            &reader,
            "/v1/accounts/acme/usage-alerts/sms",
            r#"{"percent_used":[90]}"#,
        )
        .await
        .problem(403, "forbidden");
    });
}

#[test]
fn the_openapi_document_has_the_new_routes() {
    run(false, async |api| {
        let doc = api
            .send(Method::GET, "/openapi.json", None, None, &[])
            .await
            .json();
        for (path, method) in [
            ("/v1/accounts/{id}/plans", "post"),
            ("/v1/accounts/{id}/plans", "get"),
            ("/v1/accounts/{id}/plans/{plan}", "get"),
            ("/v1/accounts/{id}/plans/{plan}/refund", "post"),
            ("/v1/accounts/{id}/plans/{plan}/renewal", "post"),
            ("/v1/accounts/{id}/payg-activations", "post"),
            ("/v1/usage", "post"),
            ("/v1/accounts/{id}/bills", "get"),
            ("/v1/accounts/{id}/usage-stats", "get"),
            ("/v1/accounts/{id}/usage-alerts/{product}", "put"),
            ("/v1/accounts/{id}/plan-auto-renew/{product}", "put"),
            ("/v1/accounts/{id}/reservations", "post"),
            (
                "/v1/accounts/{id}/reservations/{reservation}/commit",
                "post",
            ),
            (
                "/v1/accounts/{id}/reservations/{reservation}/release",
                "post",
            ),
            ("/v1/accounts/{id}/services/{product}", "get"),
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
            "PlanView",
            "BuyPlanRequest",
            "UsageBatchRequest",
            "UsageEventRequest",
            "UsageResultView",
            "BillView",
            "ServiceView",
        ] {
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "schema {schema} missing"
            );
        }
    });
}
