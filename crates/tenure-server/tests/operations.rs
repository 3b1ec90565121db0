//! The sandbox clock (TIME-3), the catalog, health, metrics and the OpenAPI document.

mod common;

use axum::http::{Method, StatusCode};
use common::run;

#[test]
fn time_3_advancing_the_clock_expires_a_coupon() {
    run(true, async |api| {
        api.open("acme").await;
        let granted = api
            .post(
                "/v1/accounts/acme/coupons",
                r#"{"amount":"20.00","expires_in":"1d"}"#,
            )
            .await;
        assert_eq!(granted.status, StatusCode::CREATED, "{}", granted.text);
        let coupon = granted.json();
        assert_eq!(coupon["remaining"], "20.00");
        assert_eq!(coupon["status"], "active");
        assert_eq!(coupon["expires_at"], "2026-03-02T09:00:00+08:00");
        assert_eq!(api.account("acme").await["coupon_remaining"], "20.00");

        let clock = api.get("/v1/clock").await;
        assert_eq!(clock.status, StatusCode::OK, "{}", clock.text);
        assert_eq!(clock.json()["now"], "2026-03-01T01:00:00Z");

        let advanced = api
            .post_idem("/v1/clock/advance", "adv-1", r#"{"by":"2d"}"#)
            .await;
        assert_eq!(advanced.status, StatusCode::OK, "{}", advanced.text);
        let report = advanced.json();
        assert_eq!(report["actions_run"], 1, "{report}");
        // A replay does not move the clock again.
        let replay = api
            .post_idem("/v1/clock/advance", "adv-1", r#"{"by":"2d"}"#)
            .await;
        assert_eq!(replay.json(), report);
        assert_eq!(
            api.get("/v1/clock").await.json()["now"],
            "2026-03-03T01:00:00Z"
        );

        let coupons = api.get("/v1/accounts/acme/coupons").await.json();
        let c = &coupons["items"][0];
        assert_eq!(c["remaining"], "0.00", "{coupons}");
        assert_eq!(c["status"], "expired");
        assert_eq!(api.account("acme").await["coupon_remaining"], "0.00");
        assert_eq!(
            api.journal_kinds("acme").await,
            vec!["coupon.granted", "coupon.expired"]
        );

        let metrics = api
            .send(Method::GET, "/metrics", None, None, &[])
            .await
            .text;
        assert!(
            metrics.contains("tenure_due_actions_run_total 1"),
            "{metrics}"
        );

        api.post("/v1/clock/advance", r#"{"by":"-1h"}"#)
            .await
            .problem(400, "invalid_input");
        api.post("/v1/clock/advance", r#"{"to":"2026-03-01T00:00:00Z"}"#)
            .await
            .problem(400, "invalid_input");
        api.post("/v1/clock/advance", r#"{}"#)
            .await
            .problem(400, "invalid_input");
        let reader = api.key_for("acme", &["admin"]).await;
        api.post_as(&reader, "/v1/clock/advance", r#"{"by":"1h"}"#)
            .await
            .problem(403, "forbidden");
    });
}

#[test]
fn without_a_sandbox_the_clock_routes_do_not_exist() {
    run(false, async |api| {
        api.get("/v1/clock").await.problem(404, "not_found");
        api.post("/v1/clock/advance", r#"{"by":"1h"}"#)
            .await
            .problem(404, "not_found");
    });
}

#[test]
fn the_catalog_is_served_with_its_version() {
    run(true, async |api| {
        let a = api.get("/v1/catalog").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let v = a.json();
        assert_eq!(v["version"], api.engine.catalog_version());
        assert_eq!(v["catalog"]["currency"], "CNY");
        assert!(
            v["catalog"]["products"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
        );
        api.send(Method::GET, "/v1/catalog", None, None, &[])
            .await
            .problem(401, "unauthorized");
    });
}

#[test]
fn healthz_metrics_and_openapi_need_no_key() {
    run(true, async |api| {
        let h = api.send(Method::GET, "/healthz", None, None, &[]).await;
        assert_eq!(h.status, StatusCode::OK);
        assert_eq!(h.json(), serde_json::json!({"status": "ok"}));

        api.open("acme").await;
        api.get("/v1/accounts/ghost").await;
        let m = api.send(Method::GET, "/metrics", None, None, &[]).await;
        assert_eq!(m.status, StatusCode::OK);
        let text = m.text;
        assert!(
            text.lines()
                .any(|l| l.starts_with("tenure_http_requests_total{")
                    && l.contains(r#"route="/v1/accounts""#)
                    && l.contains(r#"status="201""#)
                    && l.ends_with(" 1")),
            "{text}"
        );
        assert!(
            text.contains(r#"route="/v1/accounts/{id}""#),
            "route templates, not paths: {text}"
        );
        assert!(!text.contains("ghost"), "no raw paths in labels");
        assert!(
            text.contains("tenure_http_request_duration_seconds_bucket{"),
            "{text}"
        );

        let doc = api
            .send(Method::GET, "/openapi.json", None, None, &[])
            .await;
        assert_eq!(doc.status, StatusCode::OK);
        let doc = doc.json();
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "{}",
            doc["openapi"]
        );
        for path in [
            "/v1/accounts",
            "/v1/accounts/{id}",
            "/v1/accounts/{id}/top-ups",
            "/v1/accounts/{id}/coupons",
            "/v1/accounts/{id}/notices",
            "/v1/accounts/{id}/events",
            "/v1/accounts/{id}/journal",
            "/v1/accounts/{id}/api-keys",
            "/v1/catalog",
            "/v1/clock/advance",
            "/healthz",
            "/metrics",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} missing");
        }
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let post = &doc["paths"]["/v1/accounts"]["post"];
        assert!(post["responses"]["201"].is_object());
        assert!(
            post["responses"]["400"]["content"]["application/problem+json"].is_object(),
            "{post}"
        );
        assert!(
            post["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"))
        );
        for schema in [
            "Problem",
            "AccountView",
            "OpenAccountRequest",
            "TopUpRequest",
            "CouponView",
        ] {
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "schema {schema} missing"
            );
        }
    });
}

/// `serve` answers on a real socket and returns once the shutdown future completes.
#[test]
fn serve_stops_gracefully_when_told() {
    run(false, async |api| {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(tenure_server::serve(listener, api.router.clone(), async {
            let _ = stopped.await;
        }));
        let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");
        stop.send(()).expect("server still running");
        let done = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
        assert!(matches!(done, Ok(Ok(Ok(())))), "serve returned {done:?}");
    });
}
