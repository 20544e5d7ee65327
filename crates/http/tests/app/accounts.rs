//! Password accounts, sessions and tokens over HTTP.
//!
//! Every case is a function over a [`TestApp`]; `both_backends!` runs each
//! on a fresh SQLite file and on a fresh PostgreSQL database, `sqlite_only!`
//! on SQLite alone (see testkit for which goes where).

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use latchkey_testkit::{ISSUER, Options, TestApp, TestResponse, USER_AGENT};
use latchkey_tokens::{b64url_encode, hmac_sha256, sha256_hex};
use serde_json::{Value, json};

latchkey_testkit::both_backends!(
    register_login_refresh_reuse_logout(Options {
        refresh_grace: time::Duration::ZERO,
        ..Options::default()
    }),
    fifty_concurrent_refreshes_issue_one_pair,
    replay_after_the_successor_was_used_ends_the_session,
    successor_use_racing_replays_leaves_one_live_pair,
    fifty_concurrent_refreshes_without_grace(Options {
        refresh_grace: time::Duration::ZERO,
        ..Options::default()
    }),
    registration_is_validated(Options {
        lifecycle: latchkey_core::auth::LifecycleConfig {
            reveal_existing_on_register: true,
            ..Default::default()
        },
        ..Options::default()
    }),
    profile_can_be_changed,
    jwks_publishes_old_keys_after_rotation,
);

latchkey_testkit::sqlite_only!(
    sessions_list_and_end,
    ended_sessions_are_inactive_at_introspection,
    forged_and_foreign_tokens_are_refused,
    unknown_user_and_wrong_password_look_alike,
    quoted_local_parts_are_one_account,
    cookie_sessions_with_csrf,
    revocation_ends_the_session,
    current_session_and_cookie_replacement,
);

const PASSWORD: &str = "correct horse battery staple";

async fn register(app: &TestApp, email: &str) -> Value {
    app.register(email, PASSWORD).await
}

async fn login(app: &TestApp, identifier: &str) -> Value {
    app.login(identifier, PASSWORD).await
}

fn code(r: &TestResponse) -> String {
    r.code()
}

async fn account_status(app: &TestApp, token: &str) -> u16 {
    app.send("GET", "/v1/account", Some(token))
        .await
        .status
        .as_u16()
}

async fn register_login_refresh_reuse_logout(app: TestApp) {
    let user = register(&app, "Ada@Example.com").await;
    assert_eq!(user["email"], "Ada@Example.com");
    assert!(user.get("password_hash").is_none() && !user.to_string().contains("argon2"));

    let t1 = login(&app, "ada@example.COM").await;
    assert_eq!(t1["token_type"], "Bearer");
    assert_eq!(t1["expires_in"], 900);
    let access1 = t1["access_token"].as_str().unwrap();
    let refresh1 = t1["refresh_token"].as_str().unwrap();
    assert!(refresh1.len() >= 43, "at least 256 bits");
    assert_eq!(account_status(&app, access1).await, 200);
    let me = app.send("GET", "/v1/account", Some(access1)).await.json();
    assert_eq!(me["id"], user["id"]);

    // the access token is an RFC 9068 JWT with the claims API.md lists
    let header: Value = serde_json::from_slice(
        &latchkey_tokens::b64url_decode(access1.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let claims: Value = serde_json::from_slice(
        &latchkey_tokens::b64url_decode(access1.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    for c in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "sid",
        "client_id",
        "scope",
        "roles",
        "amr",
        "acr",
        "auth_time",
    ] {
        assert!(claims.get(c).is_some(), "claim {c} missing: {claims}");
    }
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["sid"], t1["session_id"]);
    assert_eq!(claims["amr"], json!(["pwd"]));

    // refresh: a new pair, the old refresh token is now used
    let r = app
        .json(
            "POST",
            "/v1/auth/refresh",
            json!({"refresh_token": refresh1}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t2 = r.json();
    let refresh2 = t2["refresh_token"].as_str().unwrap();
    assert_ne!(refresh1, refresh2);
    assert_eq!(t2["session_id"], t1["session_id"]);
    let access2 = t2["access_token"].as_str().unwrap();
    assert_eq!(account_status(&app, access2).await, 200);

    // the old refresh token again (this app has no grace window): the
    // session ends
    let r = app
        .json(
            "POST",
            "/v1/auth/refresh",
            json!({"refresh_token": refresh1}),
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (401, "refresh_token_reused".into())
    );
    let r = app
        .json(
            "POST",
            "/v1/auth/refresh",
            json!({"refresh_token": refresh2}),
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (401, "invalid_refresh_token".into()),
        "the new token dies with the session"
    );
    assert_eq!(
        account_status(&app, access2).await,
        401,
        "access tokens of the ended session are refused at once"
    );

    // a fresh login; logout ends it
    let t3 = login(&app, "ada@example.com").await;
    let access3 = t3["access_token"].as_str().unwrap();
    assert_ne!(
        t3["session_id"], t1["session_id"],
        "a new session id at every login"
    );
    let r = app.send("POST", "/v1/auth/logout", Some(access3)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = app.send("GET", "/v1/account", Some(access3)).await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (401, "unauthenticated".into())
    );
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = app
        .json(
            "POST",
            "/v1/auth/refresh",
            json!({"refresh_token": t3["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
}

async fn sessions_list_and_end(app: TestApp) {
    register(&app, "grace@example.com").await;
    let a = login(&app, "grace@example.com").await;
    let b = login(&app, "grace@example.com").await;
    let token_a = a["access_token"].as_str().unwrap();
    let r = app.send("GET", "/v1/account/sessions", Some(token_a)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(list["next_cursor"], Value::Null);
    for s in items {
        assert_eq!(s["ip"], "203.0.113.7");
        assert_eq!(s["user_agent"], USER_AGENT);
        assert_eq!(s["device"], "Firefox on Linux");
        assert_eq!(s["amr"], json!(["pwd"]));
        assert_eq!(s["current"], s["id"] == a["session_id"]);
    }
    // another user's session id is 404, and stays alive
    register(&app, "mallory@example.com").await;
    let m = login(&app, "mallory@example.com").await;
    let r = app
        .send(
            "DELETE",
            &format!("/v1/account/sessions/{}", a["session_id"].as_str().unwrap()),
            Some(m["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(account_status(&app, token_a).await, 200);
    // end b from a
    let r = app
        .send(
            "DELETE",
            &format!("/v1/account/sessions/{}", b["session_id"].as_str().unwrap()),
            Some(token_a),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        account_status(&app, b["access_token"].as_str().unwrap()).await,
        401
    );
    let r = app
        .json(
            "POST",
            "/v1/auth/refresh",
            json!({"refresh_token": b["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    // end all others, then all
    let c = login(&app, "grace@example.com").await;
    let r = app
        .send("DELETE", "/v1/account/sessions", Some(token_a))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        account_status(&app, c["access_token"].as_str().unwrap()).await,
        401
    );
    assert_eq!(
        account_status(&app, token_a).await,
        200,
        "the current session stays"
    );
    let r = app
        .send(
            "DELETE",
            "/v1/account/sessions?include_current=true",
            Some(token_a),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(account_status(&app, token_a).await, 401);
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn form(app: &TestApp, path: &str, auth: Option<&str>, body: &str) -> TestResponse {
    let mut req = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    app.call(req.body(Body::from(body.to_owned())).unwrap())
        .await
}

async fn ended_sessions_are_inactive_at_introspection(app: TestApp) {
    let (client, secret) = app
        .auth
        .sessions()
        .create_client("resource server")
        .await
        .unwrap();
    let auth = basic(&client.id, &secret);
    register(&app, "rs@example.com").await;
    let t = login(&app, "rs@example.com").await;
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();

    let r = form(
        &app,
        "/oauth2/introspect",
        Some(&auth),
        &format!("token={access}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let i = r.json();
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "access_token");
    assert_eq!(i["sid"], t["session_id"]);
    let r = form(
        &app,
        "/oauth2/introspect",
        Some(&auth),
        &format!("token={refresh}&token_type_hint=refresh_token"),
    )
    .await;
    assert_eq!(r.json()["active"], true);
    assert_eq!(r.json()["token_type"], "refresh_token");

    // client authentication is required, and checked
    let r = form(&app, "/oauth2/introspect", None, &format!("token={access}")).await;
    assert_eq!(
        (r.status.as_u16(), r.json()["error"].clone()),
        (401, json!("invalid_client"))
    );
    let r = form(
        &app,
        "/oauth2/introspect",
        Some(&basic(&client.id, "wrong")),
        &format!("token={access}"),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = form(
        &app,
        "/oauth2/introspect",
        None,
        &format!(
            "token={access}&client_id={}&client_secret={secret}",
            client.id
        ),
    )
    .await;
    assert_eq!(r.json()["active"], true, "client_secret_post works too");

    // a client created elsewhere (the CLI, another node) after this node
    // cached the first one is found at its first use
    let other_secret = "a secret made by the command line";
    app.store
        .insert_client(&latchkey_core::keys::Client {
            id: "lk_made_elsewhere".into(),
            name: "another resource server".into(),
            secret_hash: sha256_hex(other_secret.as_bytes()),
            created_at: time::OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    let r = form(
        &app,
        "/oauth2/introspect",
        Some(&basic("lk_made_elsewhere", other_secret)),
        &format!("token={access}"),
    )
    .await;
    assert_eq!(r.json()["active"], true, "{}", r.text());
    let r = form(
        &app,
        "/oauth2/introspect",
        Some(&basic("lk_made_elsewhere", "wrong")),
        &format!("token={access}"),
    )
    .await;
    assert_eq!(r.status, 401, "a cached client still checks its secret");

    // end the session from the account API
    let r = app
        .send(
            "DELETE",
            "/v1/account/sessions?include_current=true",
            Some(access),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = form(
        &app,
        "/oauth2/introspect",
        Some(&auth),
        &format!("token={access}"),
    )
    .await;
    assert_eq!(r.json(), json!({"active": false}));
    let r = form(
        &app,
        "/oauth2/introspect",
        Some(&auth),
        &format!("token={refresh}"),
    )
    .await;
    assert_eq!(r.json(), json!({"active": false}));
    let r = app
        .json(
            "POST",
            "/v1/auth/refresh",
            json!({"refresh_token": refresh}),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    // garbage is simply inactive
    let r = form(&app, "/oauth2/introspect", Some(&auth), "token=not.a.jwt").await;
    assert_eq!(r.json(), json!({"active": false}));
    let r = form(&app, "/oauth2/introspect", Some(&auth), "token_type_hint=x").await;
    assert_eq!(
        (r.status.as_u16(), r.json()["error"].clone()),
        (400, json!("invalid_request"))
    );
}

fn jwt(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&sig))
}

async fn forged_and_foreign_tokens_are_refused(app: TestApp) {
    register(&app, "eve@example.com").await;
    let t = login(&app, "eve@example.com").await;
    let good = t["access_token"].as_str().unwrap();
    assert_eq!(account_status(&app, good).await, 200);
    let claims: Value = serde_json::from_slice(
        &latchkey_tokens::b64url_decode(good.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    let header: Value = serde_json::from_slice(
        &latchkey_tokens::b64url_decode(good.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    let key = app.auth.keys().active().unwrap();
    let resign = |typ: &str, claims: &Value| key.sign_jwt(typ, claims).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    // the public key, as an attacker gets it from the JWKS
    let jwk = serde_json::to_value(key.public_jwk()).unwrap();
    let public_x = latchkey_tokens::b64url_decode(jwk["x"].as_str().unwrap()).unwrap();

    let mut none_header = header.clone();
    none_header["alg"] = json!("none");
    let mut hs_header = header.clone();
    hs_header["alg"] = json!("HS256");

    let cases: Vec<(&str, String)> = vec![
        ("alg none", jwt(&none_header, &claims, |_| Vec::new())),
        (
            "HS256 with the public key bytes",
            jwt(&hs_header, &claims, |m| hmac_sha256(&public_x, m).to_vec()),
        ),
        (
            "HS256 with the JWK JSON",
            jwt(&hs_header, &claims, |m| {
                hmac_sha256(jwk.to_string().as_bytes(), m).to_vec()
            }),
        ),
        ("expired", resign("at+jwt", &with("exp", json!(now - 120)))),
        (
            "another issuer",
            resign("at+jwt", &with("iss", json!("https://evil.example"))),
        ),
        (
            "another audience",
            resign("at+jwt", &with("aud", json!("https://other.example"))),
        ),
        ("wrong typ", resign("JWT", &claims)),
        ("id-token typ", resign("id_token+jwt", &claims)),
        ("tampered payload", {
            let forged = b64url_encode(with("sub", json!("someone-else")).to_string().as_bytes());
            let parts: Vec<&str> = good.split('.').collect();
            format!("{}.{forged}.{}", parts[0], parts[2])
        }),
        (
            "not yet valid",
            resign("at+jwt", &with("nbf", json!(now + 3600))),
        ),
        ("garbage", "a.b.c".into()),
    ];
    for (name, token) in cases {
        let r = app.send("GET", "/v1/account", Some(&token)).await;
        assert_eq!(r.status, 401, "{name} must be refused: {}", r.text());
        assert_eq!(code(&r), "unauthenticated", "{name}");
    }
    // and a well-formed token of a session that does not exist
    let r = app
        .send(
            "GET",
            "/v1/account",
            Some(&resign("at+jwt", &with("sid", json!("no-such-session")))),
        )
        .await;
    assert_eq!(r.status, 401);
    // a validly signed token naming another user's session is refused too
    let r = app
        .send(
            "GET",
            "/v1/account",
            Some(&resign("at+jwt", &with("sub", json!("another-user")))),
        )
        .await;
    assert_eq!(r.status, 401);
}

async fn concurrent_refreshes(app: &TestApp, email: &str) -> (Vec<TestResponse>, Value) {
    register(app, email).await;
    let t = login(app, email).await;
    let refresh = t["refresh_token"].as_str().unwrap().to_owned();
    let app = Arc::new(app);
    let results = futures_util::future::join_all((0..50).map(|_| {
        let app = app.clone();
        let refresh = refresh.clone();
        async move {
            app.json(
                "POST",
                "/v1/auth/refresh",
                json!({"refresh_token": refresh}),
                None,
            )
            .await
        }
    }))
    .await;
    (results, t)
}

async fn fifty_concurrent_refreshes_issue_one_pair(app: TestApp) {
    let (results, t) = concurrent_refreshes(&app, "race@example.com").await;
    let ok: Vec<Value> = results
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.json())
        .collect();
    assert_eq!(
        ok.len(),
        50,
        "within the grace window every retry gets the pair: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let pairs: HashSet<(String, String)> = ok
        .iter()
        .map(|v| {
            (
                v["refresh_token"].as_str().unwrap().to_owned(),
                v["access_token"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(pairs.len(), 1, "exactly one new pair was issued");
    let (new_refresh, new_access) = pairs.into_iter().next().unwrap();
    assert_ne!(new_refresh, t["refresh_token"].as_str().unwrap());
    assert_eq!(
        account_status(&app, &new_access).await,
        200,
        "the session survived"
    );
    let r = app
        .json(
            "POST",
            "/v1/auth/refresh",
            json!({"refresh_token": new_refresh}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "and its one successor works: {}", r.text());
}

async fn fifty_concurrent_refreshes_without_grace(app: TestApp) {
    let (results, t) = concurrent_refreshes(&app, "race0@example.com").await;
    let ok: Vec<Value> = results
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.json())
        .collect();
    assert_eq!(ok.len(), 1, "exactly one exchange wins");
    for r in results.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 401);
        assert!(
            ["refresh_token_reused", "invalid_refresh_token"].contains(&code(r).as_str()),
            "{}",
            r.text()
        );
    }
    // with no grace, the losers are replays: the session has ended
    assert_eq!(
        account_status(&app, ok[0]["access_token"].as_str().unwrap()).await,
        401
    );
    let _ = t;
}

fn refresh_token_of(v: &Value) -> String {
    v["refresh_token"].as_str().unwrap().to_owned()
}

/// Issue 11 item 1: inside the grace window, a replay of a refresh token
/// whose successor was already used is reuse: 401 and the session ends,
/// also for fifty concurrent replays racing the newest token's use.
async fn replay_after_the_successor_was_used_ends_the_session(app: TestApp) {
    register(&app, "replay@example.com").await;
    let t0 = login(&app, "replay@example.com").await;
    let r1 = app.refresh(&refresh_token_of(&t0)).await;
    assert_eq!(r1.status, 200, "{}", r1.text());
    let r2 = app.refresh(&refresh_token_of(&r1.json())).await;
    assert_eq!(r2.status, 200, "{}", r2.text());
    // the stolen first token, replayed a moment later
    let replay = app.refresh(&refresh_token_of(&t0)).await;
    assert_eq!(replay.status, 401, "{}", replay.text());
    assert_eq!(code(&replay), "refresh_token_reused");
    let newest = r2.json();
    assert_eq!(
        account_status(&app, newest["access_token"].as_str().unwrap()).await,
        401,
        "the session has ended"
    );
    assert_eq!(app.refresh(&refresh_token_of(&newest)).await.status, 401);

    // the same with fifty concurrent tries: replays of an ancestor whose
    // successor was used, racing uses of the newest token
    let a0 = login(&app, "replay@example.com").await;
    let a1 = app.refresh(&refresh_token_of(&a0)).await.json();
    let a2 = app.refresh(&refresh_token_of(&a1)).await.json();
    let app = Arc::new(app);
    let results = futures_util::future::join_all((0..50).map(|i| {
        let app = app.clone();
        let token = refresh_token_of(if i % 2 == 0 { &a2 } else { &a0 });
        async move { (i, app.refresh(&token).await) }
    }))
    .await;
    for (i, r) in &results {
        if i % 2 == 1 {
            assert_eq!(r.status, 401, "every replay is refused: {}", r.text());
        }
    }
    for v in [&a2].into_iter().cloned().chain(
        results
            .iter()
            .filter(|(_, r)| r.status == 200)
            .map(|(_, r)| r.json()),
    ) {
        assert_eq!(
            account_status(&app, v["access_token"].as_str().unwrap()).await,
            401,
            "no pair of the session lives on"
        );
        assert_eq!(app.refresh(&refresh_token_of(&v)).await.status, 401);
    }
}

/// The first use of a successor races fifty replays of its ancestor inside
/// the grace window: one pair is issued or the session ends; never are two
/// refresh tokens of a live session left unused.
async fn successor_use_racing_replays_leaves_one_live_pair(app: TestApp) {
    register(&app, "racer@example.com").await;
    let t0 = login(&app, "racer@example.com").await;
    let t1 = app.refresh(&refresh_token_of(&t0)).await.json();
    let app = Arc::new(app);
    let results = futures_util::future::join_all((0..50).map(|i| {
        let app = app.clone();
        let token = refresh_token_of(if i % 2 == 0 { &t1 } else { &t0 });
        async move { (i, app.refresh(&token).await) }
    }))
    .await;
    let mut handed: HashSet<String> = HashSet::from([refresh_token_of(&t1)]);
    for (i, r) in &results {
        match r.status.as_u16() {
            200 => {
                handed.insert(refresh_token_of(&r.json()));
            }
            401 => {}
            other => panic!("try {i}: unexpected {other}: {}", r.text()),
        }
    }
    let mut live = 0;
    let mut session_alive = false;
    for token in &handed {
        let (stored, session) = app
            .store
            .refresh_token(&sha256_hex(token.as_bytes()))
            .await
            .unwrap()
            .expect("every handed-out token is stored");
        let active = session.revoked_at.is_none();
        session_alive |= active;
        if active && stored.used_at.is_none() {
            live += 1;
        }
    }
    assert!(live <= 1, "never two live pairs: {live}");
    if session_alive {
        assert_eq!(live, 1, "a live session keeps exactly one pair");
        for (i, r) in &results {
            if i % 2 == 1 {
                assert_eq!(
                    refresh_token_of(&r.json()),
                    refresh_token_of(&t1),
                    "with the session alive, every replay ran before the successor's use"
                );
            }
        }
    }
}

/// The body without the ids every request has its own of (request and
/// trace id).
fn without_request_id(r: &TestResponse) -> Value {
    let mut v = r.json();
    let object = v.as_object_mut().unwrap();
    object.remove("request_id");
    assert_eq!(
        object.remove("trace_id").unwrap().as_str().unwrap().len(),
        32
    );
    v
}

async fn unknown_user_and_wrong_password_look_alike(app: TestApp) {
    register(&app, "known@example.com").await;
    let wrong = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "known@example.com", "password": "not the password"}),
            None,
        )
        .await;
    let unknown = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "nobody@example.com", "password": "not the password"}),
            None,
        )
        .await;
    let unknown_name = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "nobody", "password": "x"}),
            None,
        )
        .await;
    assert_eq!(wrong.status, 401);
    for other in [&unknown, &unknown_name] {
        assert_eq!(other.status, wrong.status);
        assert_eq!(without_request_id(other), without_request_id(&wrong));
        assert_eq!(other.header("content-type"), wrong.header("content-type"));
    }
    assert_eq!(code(&wrong), "invalid_credentials");
}

async fn registration_is_validated(app: TestApp) {
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": "not-an-email", "password": "short", "username": "x"}),
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let fields: HashSet<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        ["email", "password", "username"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let msg = r.json()["errors"].to_string();
    assert!(
        msg.contains("at least 8"),
        "the message says what is expected: {msg}"
    );

    register(&app, "taken@example.com").await;
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": " TAKEN@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!((r.status.as_u16(), code(&r)), (409, "email_taken".into()));
    // long passwords are accepted whole, not truncated
    let long = "p".repeat(500);
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": "long@example.com", "password": long}),
            None,
        )
        .await;
    assert_eq!(r.status, 201);
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "long@example.com", "password": "p".repeat(499)}),
            None,
        )
        .await;
    assert_eq!(
        r.status, 401,
        "a prefix of the password is not the password"
    );
    // an oversized body is refused before any hashing
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "long@example.com", "password": "p".repeat(100_000)}),
            None,
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (413, "payload_too_large".into())
    );
    // unknown fields are refused: nothing trusts an id from the body
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": "x@example.com", "password": PASSWORD, "id": "chosen"}),
            None,
        )
        .await;
    assert_eq!(r.status, 422);
}

fn cookie_request(
    method: &str,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    origin: Option<&str>,
    body: Option<Value>,
) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("cookie", cookie);
    if let Some(c) = csrf {
        req = req.header("x-csrf-token", c);
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    }
}

async fn cookie_login(app: &TestApp) -> (String, String) {
    let r = app
        .call(
            Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .header("origin", ISSUER)
                .body(Body::from(json!({"identifier": "cookie@example.com", "password": PASSWORD, "mode": "cookie"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let set = r.header("set-cookie").expect("a session cookie").to_owned();
    // plain-http test URL: no Secure, hence no __Host- prefix
    assert!(set.starts_with("latchkey_session="), "{set}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    assert!(r.json().get("access_token").is_none());
    let cookie = set.split(';').next().unwrap().to_owned();
    (cookie, r.json()["csrf_token"].as_str().unwrap().to_owned())
}

async fn cookie_sessions_with_csrf(app: TestApp) {
    register(&app, "cookie@example.com").await;
    let (cookie, csrf) = cookie_login(&app).await;
    let (cookie2, _) = cookie_login(&app).await;
    assert_ne!(cookie, cookie2, "a fresh session cookie at every login");

    let r = app
        .call(cookie_request(
            "GET",
            "/v1/account",
            &cookie,
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "safe requests need no CSRF token");
    let patch = Some(json!({"name": "Cookie Monster"}));
    let r = app
        .call(cookie_request(
            "PATCH",
            "/v1/account",
            &cookie,
            None,
            Some(ISSUER),
            patch.clone(),
        ))
        .await;
    assert_eq!((r.status.as_u16(), code(&r)), (403, "csrf_failed".into()));
    let r = app
        .call(cookie_request(
            "PATCH",
            "/v1/account",
            &cookie,
            Some(&csrf),
            Some("https://evil.example"),
            patch.clone(),
        ))
        .await;
    assert_eq!((r.status.as_u16(), code(&r)), (403, "csrf_failed".into()));
    let r = app
        .call(cookie_request(
            "PATCH",
            "/v1/account",
            &cookie,
            Some(&csrf),
            None,
            patch.clone(),
        ))
        .await;
    assert_eq!(r.status, 403, "no Origin and no Referer");
    let r = app
        .call(cookie_request(
            "PATCH",
            "/v1/account",
            &cookie2,
            Some(&csrf),
            Some(ISSUER),
            patch.clone(),
        ))
        .await;
    assert_eq!(r.status, 403, "a CSRF token is bound to its session");
    let r = app
        .call(cookie_request(
            "PATCH",
            "/v1/account",
            &cookie,
            Some(&csrf),
            Some(ISSUER),
            patch,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "Cookie Monster");

    // a cookie-mode login from another origin is refused (login CSRF)
    let r = app
        .call(
            Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .header("origin", "https://evil.example")
                .body(Body::from(json!({"identifier": "cookie@example.com", "password": PASSWORD, "mode": "cookie"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 403);

    let r = app
        .call(cookie_request(
            "POST",
            "/v1/auth/logout",
            &cookie,
            Some(&csrf),
            Some(ISSUER),
            None,
        ))
        .await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = app
        .call(cookie_request(
            "GET",
            "/v1/account",
            &cookie,
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(r.status, 401);
    let r = app
        .call(cookie_request(
            "GET",
            "/v1/account",
            &cookie2,
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "the other cookie session is untouched");
}

async fn profile_can_be_changed(app: TestApp) {
    register(&app, "p1@example.com").await;
    register(&app, "p2@example.com").await;
    let a = login(&app, "p1@example.com").await;
    let token = a["access_token"].as_str().unwrap();
    let r = app
        .json(
            "PATCH",
            "/v1/account",
            json!({"username": "Ada_L", "name": "Ada"}),
            Some(token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["username"], "Ada_L");
    // log in by username, case-insensitively
    login(&app, "ada_l").await;
    let b = login(&app, "p2@example.com").await;
    let r = app
        .json(
            "PATCH",
            "/v1/account",
            json!({"username": "ada_l"}),
            Some(b["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), code(&r)),
        (409, "username_taken".into())
    );
    let r = app
        .json("PATCH", "/v1/account", json!({"name": null}), Some(token))
        .await;
    assert_eq!(r.json()["name"], Value::Null);
    assert_eq!(r.json()["username"], "Ada_L", "absent fields are kept");
    let r = app
        .json(
            "PATCH",
            "/v1/account",
            json!({"email": "x@example.com"}),
            Some(token),
        )
        .await;
    assert_eq!(r.status, 422, "the email has a flow of its own");
}

/// An access token like `first_party`'s (same session), issued to `client_id`
/// (as the coming OAuth provider will issue them), signed with the active key.
fn issued_to(app: &TestApp, first_party: &str, client_id: &str) -> String {
    let payload = first_party.split('.').nth(1).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&latchkey_tokens::b64url_decode(payload).unwrap()).unwrap();
    claims["client_id"] = json!(client_id);
    app.auth
        .keys()
        .active()
        .unwrap()
        .sign_jwt(latchkey_core::sessions::ACCESS_TOKEN_TYP, &claims)
        .unwrap()
}

async fn revocation_ends_the_session(app: TestApp) {
    let (client, secret) = app.auth.sessions().create_client("rp").await.unwrap();
    let auth = basic(&client.id, &secret);
    let (other, other_secret) = app.auth.sessions().create_client("other rp").await.unwrap();
    let other_auth = basic(&other.id, &other_secret);
    register(&app, "rev@example.com").await;

    // a client revokes the tokens issued to it: the session ends
    let t = login(&app, "rev@example.com").await;
    let access = t["access_token"].as_str().unwrap();
    let own = issued_to(&app, access, &client.id);
    let r = form(
        &app,
        "/oauth2/revoke",
        Some(&other_auth),
        &format!("token={own}"),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "unauthorized_client");
    assert_eq!(
        account_status(&app, access).await,
        200,
        "another client's token is kept"
    );
    let r = form(&app, "/oauth2/revoke", Some(&auth), &format!("token={own}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(account_status(&app, access).await, 401);

    // first-party tokens are not any client's to revoke (RFC 7009 §2.1):
    // their holder logs out, or an administrator ends the session
    let t = login(&app, "rev@example.com").await;
    let access = t["access_token"].as_str().unwrap();
    for token in [access, t["refresh_token"].as_str().unwrap()] {
        let r = form(
            &app,
            "/oauth2/revoke",
            Some(&auth),
            &format!("token={token}"),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"], "unauthorized_client");
    }
    assert_eq!(account_status(&app, access).await, 200);
    let r = app
        .json(
            "POST",
            "/v1/auth/refresh",
            json!({"refresh_token": t["refresh_token"]}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "the session lives on: {}", r.text());

    let r = form(&app, "/oauth2/revoke", Some(&auth), "token=unknown-token").await;
    assert_eq!(r.status, 200, "unknown tokens are not an error (RFC 7009)");
    let r = form(&app, "/oauth2/revoke", None, "token=x").await;
    assert_eq!(r.status, 401);
}

async fn jwks_publishes_old_keys_after_rotation(app: TestApp) {
    let r = app.get("/.well-known/jwks.json").await;
    assert_eq!(r.status, 200);
    let keys = r.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert!(keys[0].get("d").is_none(), "never the private part");
    register(&app, "rot@example.com").await;
    let old = login(&app, "rot@example.com").await;
    let now = time::OffsetDateTime::now_utc();
    assert!(
        app.auth
            .keys()
            .rotate(app.store.as_ref(), now, None, time::Duration::minutes(15))
            .await
            .unwrap()
    );
    let keys = app.get("/.well-known/jwks.json").await.json()["keys"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        keys.len(),
        2,
        "the old key stays published while its tokens live"
    );
    assert_eq!(
        account_status(&app, old["access_token"].as_str().unwrap()).await,
        200,
        "old tokens still verify"
    );
    let new = login(&app, "rot@example.com").await;
    let kid = |t: &Value| {
        let h: Value = serde_json::from_slice(
            &latchkey_tokens::b64url_decode(
                t["access_token"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        h["kid"].as_str().unwrap().to_owned()
    };
    assert_ne!(
        kid(&old),
        kid(&new),
        "new tokens are signed with the new key"
    );
    assert_eq!(
        account_status(&app, new["access_token"].as_str().unwrap()).await,
        200
    );
}

async fn current_session_and_cookie_replacement(app: TestApp) {
    register(&app, "cookie@example.com").await;
    // bearer: the session, without a CSRF token
    let t = login(&app, "cookie@example.com").await;
    let r = app
        .send("GET", "/v1/auth/session", t["access_token"].as_str())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["session_id"], t["session_id"]);
    assert_eq!(r.json()["kind"], "bearer");
    assert!(r.json().get("csrf_token").is_none());
    // cookie: a reloaded page gets its CSRF token back
    let (cookie, csrf) = cookie_login(&app).await;
    let r = app
        .call(cookie_request(
            "GET",
            "/v1/auth/session",
            &cookie,
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(r.json()["csrf_token"], csrf.as_str());
    assert_eq!(r.json()["kind"], "cookie");
    // signing in again from the same browser ends the previous cookie session
    let r = app
        .call(
            Request::post("/v1/auth/login")
                .header("content-type", "application/json")
                .header("origin", ISSUER)
                .header("cookie", &cookie)
                .body(Body::from(
                    json!({"identifier": "cookie@example.com", "password": PASSWORD, "mode": "cookie"}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200);
    let fresh = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(fresh, cookie);
    let r = app
        .call(cookie_request(
            "GET",
            "/v1/account",
            &cookie,
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(r.status, 401, "the replaced cookie no longer works");
    let r = app
        .call(cookie_request(
            "GET",
            "/v1/account",
            &fresh,
            None,
            None,
            None,
        ))
        .await;
    assert_eq!(r.status, 200);
    // look-alike addresses cannot claim another's lookup key
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": "\u{212A}ate@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
}

/// `"alice"@example.test` is alice@example.test: one account, one sign-in.
async fn quoted_local_parts_are_one_account(app: TestApp) {
    let alice = register(&app, "alice@example.test").await;
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": "\"alice\"@example.test", "password": "another long passphrase"}),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "answered like any address: {}", r.text());
    assert_ne!(r.json()["id"], alice["id"]);
    assert_eq!(r.json()["email"], "alice@example.test", "stored unquoted");
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "alice@example.test", "password": "another long passphrase"}),
            None,
        )
        .await;
    assert_eq!(r.status, 401, "no second account was made");
    let quoted = login(&app, "\"ALICE\"@example.test").await;
    assert_eq!(
        account_status(&app, quoted["access_token"].as_str().unwrap()).await,
        200,
        "the quoted form signs in to the one account"
    );
    // a quoted form that needs its quotes, comments and source routes are refused
    for email in [
        "\"alice smith\"@example.test",
        "\"alice@home\"@example.test",
        "alice(work)@example.test",
        "@relay.example.test:alice@example.test",
        "alice@[192.0.2.1]",
    ] {
        let r = app
            .json(
                "POST",
                "/v1/auth/register",
                json!({"email": email, "password": PASSWORD}),
                None,
            )
            .await;
        assert_eq!(r.status, 422, "{email}: {}", r.text());
        assert_eq!(r.json()["errors"][0]["code"], "invalid_email", "{email}");
    }
}
