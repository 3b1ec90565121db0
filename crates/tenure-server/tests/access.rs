//! API keys (IAM-1, IAM-3, IAM-5): bearer authentication, account scope, permissions.

mod common;

use axum::http::{Method, StatusCode};
use common::{ADMIN, run};
use tenure_server::{ensure_admin_key, hash_admin_key};

#[test]
fn missing_or_wrong_key_is_401_with_a_bearer_challenge() {
    run(true, async |api| {
        api.open("acme").await;
        for key in [None, Some("tnr_wrong"), Some("")] {
            let a = api
                .send(Method::GET, "/v1/accounts/acme", key, None, &[])
                .await;
            a.problem(401, "unauthorized");
            let challenge = a
                .headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(challenge.starts_with("Bearer"), "{challenge:?}");
        }
        let basic = api
            .send(
                Method::GET,
                "/v1/accounts/acme",
                None,
                None,
                &[("authorization", "Basic YTpi")],
            )
            .await;
        basic.problem(401, "unauthorized");
        // An unauthenticated write writes nothing.
        let a = api
            .send(
                Method::POST,
                "/v1/accounts/acme/top-ups",
                Some("tnr_wrong"),
                Some(r#"{"amount":"5.00"}"#.into()),
                &[],
            )
            .await;
        a.problem(401, "unauthorized");
        assert_eq!(api.account("acme").await["cash"], "0.00");
    });
}

#[test]
fn iam_3_an_account_key_sees_only_its_account_and_only_with_permission() {
    run(true, async |api| {
        api.open("acme").await;
        api.open("rival").await;
        let reader = api.key_for("acme", &["billing:read"]).await;
        assert!(reader.starts_with("tnr_"));

        let own = api.get_as(&reader, "/v1/accounts/acme").await;
        assert_eq!(own.status, StatusCode::OK, "{}", own.text);
        assert_eq!(own.json()["id"], "acme");
        assert_eq!(
            api.get_as(&reader, "/v1/accounts/acme/journal")
                .await
                .status,
            StatusCode::OK
        );

        // Another account answers as if it did not exist, whether it does or not (never 403).
        let rival = api.get_as(&reader, "/v1/accounts/rival").await;
        let ghost = api.get_as(&reader, "/v1/accounts/ghost").await;
        assert_eq!(
            rival.problem(404, "not_found").replace("rival", "X"),
            ghost.problem(404, "not_found").replace("ghost", "X")
        );
        api.get_as(&reader, "/v1/accounts/rival/coupons")
            .await
            .problem(404, "not_found");
        api.post_as(
            &reader,
            "/v1/accounts/rival/top-ups",
            r#"{"amount":"5.00"}"#,
        )
        .await
        .problem(404, "not_found");
        api.post_as(&reader, "/v1/accounts/rival/identity-verification", "")
            .await
            .problem(404, "not_found");

        // The own account without the permission: 403, and nothing written.
        api.post_as(&reader, "/v1/accounts/acme/top-ups", r#"{"amount":"5.00"}"#)
            .await
            .problem(403, "forbidden");
        api.post_as(&reader, "/v1/accounts/acme/identity-verification", "")
            .await
            .problem(403, "forbidden");
        api.post_as(&reader, "/v1/accounts/acme/coupons", r#"{"amount":"5.00"}"#)
            .await
            .problem(403, "forbidden");
        api.post_as(
            &reader,
            "/v1/accounts/acme/api-keys",
            r#"{"permissions":["admin"]}"#,
        )
        .await
        .problem(403, "forbidden");
        api.get_as(&reader, "/v1/accounts")
            .await
            .problem(403, "forbidden");
        api.post_as(&reader, "/v1/accounts", r#"{"id":"mine"}"#)
            .await
            .problem(403, "forbidden");
        let acme = api.account("acme").await;
        assert_eq!(
            (acme["cash"].as_str(), acme["verified"].as_bool()),
            (Some("0.00"), Some(false))
        );
        api.get("/v1/accounts/mine").await.problem(404, "not_found");

        // billing:order may top up its own account; admin may create its own account's keys.
        let payer = api.key_for("acme", &["billing:order"]).await;
        let a = api
            .post_as(&payer, "/v1/accounts/acme/top-ups", r#"{"amount":"5.00"}"#)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.json()["cash"], "5.00");
        let admin = api.key_for("acme", &["admin"]).await;
        let made = api
            .post_as(
                &admin,
                "/v1/accounts/acme/api-keys",
                r#"{"permissions":["billing:read"]}"#,
            )
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
        api.post_as(
            &admin,
            "/v1/accounts/rival/api-keys",
            r#"{"permissions":["billing:read"]}"#,
        )
        .await
        .problem(404, "not_found");
        // The catalog is readable with any valid key.
        assert_eq!(
            api.get_as(&reader, "/v1/catalog").await.status,
            StatusCode::OK
        );
    });
}

#[test]
fn iam_5_keys_are_stored_hashed_and_shown_once() {
    run(true, async |api| {
        api.open("acme").await;
        let first = api
            .send(
                Method::POST,
                "/v1/accounts/acme/api-keys",
                Some(ADMIN),
                Some(r#"{"permissions":["billing:read","billing:read"]}"#.into()),
                &[("idempotency-key", "key-1")],
            )
            .await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
        let created = first.json();
        let secret = created["key"].as_str().expect("secret").to_string();
        assert_eq!(created["account"], "acme");
        assert!(
            created["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("key_") && id.len() == 20),
            "{created}"
        );
        assert_eq!(created["permissions"], serde_json::json!(["billing:read"]));

        let plain = secret.clone();
        let (by_hash, by_plain) = api
            .blocking(move |engine| {
                let store = engine.store();
                let by_hash =
                    store.read(|tx| tx.find_api_key_by_hash(&tenure_store::hash_key(&plain)));
                let by_plain = store.read(|tx| tx.find_api_key_by_hash(&plain));
                (by_hash.expect("read"), by_plain.expect("read"))
            })
            .await;
        let row = by_hash.expect("the hash is stored");
        assert_eq!(row.account_id.as_deref(), Some("acme"));
        assert_ne!(row.hash, secret);
        assert!(by_plain.is_none(), "the plaintext is not stored");

        // A replay names the same key but never shows the secret again.
        let replay = api
            .send(
                Method::POST,
                "/v1/accounts/acme/api-keys",
                Some(ADMIN),
                Some(r#"{"permissions":["billing:read","billing:read"]}"#.into()),
                &[("idempotency-key", "key-1")],
            )
            .await;
        assert_eq!(replay.status, StatusCode::CREATED, "{}", replay.text);
        let replayed = replay.json();
        assert_eq!(replayed["id"], created["id"]);
        assert_eq!(replayed["key"], serde_json::Value::Null);
        assert!(!replay.text.contains(&secret));
        api.post_idem(
            "/v1/accounts/acme/api-keys",
            "key-1",
            r#"{"permissions":["admin"]}"#,
        )
        .await
        .problem(409, "idempotency_key_reused");
    });
}

#[test]
fn iam_5_the_operator_key_is_generated_once_and_kept_as_a_hash() {
    let store = tenure_store::testing::fresh_store();
    let first = ensure_admin_key(&store, None).expect("first start");
    let plain = first
        .generated
        .clone()
        .expect("generated at the first start");
    assert_eq!(first.hash, hash_admin_key(&plain));
    let second = ensure_admin_key(&store, None).expect("second start");
    assert_eq!(second.generated, None, "printed only once");
    assert_eq!(second.hash, first.hash);

    let from_env =
        ensure_admin_key(&store, Some("an-operator-key-from-env".into())).expect("env key");
    assert_eq!(from_env.hash, hash_admin_key("an-operator-key-from-env"));
    assert_eq!(from_env.generated, None);
    assert_eq!(
        ensure_admin_key(&store, None).expect("later start").hash,
        from_env.hash
    );
    assert!(ensure_admin_key(&store, Some("short".into())).is_err());
}
