//! A router on a fresh store (SQLite, or PostgreSQL with TENURE_TEST_DATABASE), the demo catalog
//! and a sandbox clock, called in-process with `tower::ServiceExt::oneshot`.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use tenure_core::catalog::{DEMO_TOML, demo};
use tenure_core::clock::SandboxClock;
use tenure_engine::Engine;
use tenure_server::{ServerConfig, hash_admin_key, router};
use tower::ServiceExt;

pub const ADMIN: &str = "tnr_test_operator_key_0123456789";
pub const START: &str = "2026-03-01T09:00:00+08:00";

pub struct Api {
    pub router: Router,
    pub engine: Arc<Engine>,
    pub clock: Arc<SandboxClock>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// Asserts a problem+json answer of `status` whose type ends in `code`; returns its detail.
    pub fn problem(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "content type; body: {}",
            self.text
        );
        let p = self.json();
        assert_eq!(
            p["type"],
            format!("urn:tenure:problem:{code}"),
            "type; body: {}",
            self.text
        );
        assert_eq!(p["status"], status, "status field");
        let detail = p["detail"].as_str().unwrap_or_default().to_string();
        assert!(!detail.is_empty(), "a problem has a detail");
        detail
    }
}

/// Runs an async test on its own runtime, with the store opened and dropped outside it: the
/// PostgreSQL client is synchronous and may not block inside a runtime (the server itself calls
/// the engine on the blocking pool).
pub fn run<F>(sandbox: bool, test: F)
where
    F: AsyncFnOnce(&Api),
{
    let api = api_with(sandbox);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(test(&api));
    drop(runtime);
    drop(api);
}

pub fn api_with(sandbox: bool) -> Api {
    let store = tenure_store::testing::fresh_store();
    let clock = Arc::new(SandboxClock::new(START.parse().expect("start instant")));
    let engine =
        Arc::new(Engine::new(store, demo(), DEMO_TOML, clock.clone()).expect("engine opens"));
    let mut config = ServerConfig::new(hash_admin_key(ADMIN));
    if sandbox {
        config = config.with_sandbox(clock.clone());
    }
    Api {
        router: router(engine.clone(), config),
        engine,
        clock,
    }
}

impl Api {
    /// One request. `key` is sent as a bearer token; `headers` are added as given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Body>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        let has_body = body.is_some();
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if has_body
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("content-type", "application/json");
        }
        let req = req
            .body(body.unwrap_or_else(Body::empty))
            .expect("request builds");
        let response = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body reads");
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Runs a synchronous engine or store call off the runtime.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> T {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .expect("blocking call")
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, Some(ADMIN), None, &[]).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Answer {
        self.send(Method::GET, path, Some(key), None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Answer {
        self.send(
            Method::POST,
            path,
            Some(ADMIN),
            Some(Body::from(body.to_string())),
            &[],
        )
        .await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &str) -> Answer {
        self.send(
            Method::POST,
            path,
            Some(key),
            Some(Body::from(body.to_string())),
            &[],
        )
        .await
    }

    pub async fn post_idem(&self, path: &str, idem: &str, body: &str) -> Answer {
        self.send(
            Method::POST,
            path,
            Some(ADMIN),
            Some(Body::from(body.to_string())),
            &[("idempotency-key", idem)],
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: &str) -> Answer {
        self.send(
            Method::PATCH,
            path,
            Some(ADMIN),
            Some(Body::from(body.to_string())),
            &[],
        )
        .await
    }

    /// Opens an account with defaults; asserts 201.
    pub async fn open(&self, id: &str) -> Value {
        let a = self
            .post("/v1/accounts", &format!(r#"{{"id":"{id}"}}"#))
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.json()
    }

    pub async fn account(&self, id: &str) -> Value {
        let a = self.get(&format!("/v1/accounts/{id}")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.json()
    }

    pub async fn journal_kinds(&self, id: &str) -> Vec<String> {
        let j = self
            .get(&format!("/v1/accounts/{id}/journal?limit=500"))
            .await;
        assert_eq!(j.status, StatusCode::OK, "{}", j.text);
        j.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| t["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Creates an API key for `account` with `permissions`; returns the secret.
    pub async fn key_for(&self, account: &str, permissions: &[&str]) -> String {
        let perms = serde_json::to_string(permissions).expect("json");
        let a = self
            .post(
                &format!("/v1/accounts/{account}/api-keys"),
                &format!(r#"{{"permissions":{perms}}}"#),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.json()["key"]
            .as_str()
            .expect("the secret is shown once")
            .to_string()
    }
}
