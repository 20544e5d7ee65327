//! Roles, permissions, the admin API and the audit log over HTTP; what
//! depends on the store on both backends, the rest on SQLite.

use axum::body::Body;
use axum::http::Request;
use latchkey_core::admin::Actor;
use latchkey_testkit::{Options, TestApp, TestResponse, USER_AGENT};
use serde_json::{Value, json};

latchkey_testkit::both_backends!(
    suspension_ends_sessions_and_refuses_sign_in,
    every_listed_event_is_audited_with_actor_and_subject(Options {
        refresh_grace: time::Duration::ZERO,
        ..Options::default()
    }),
    users_are_listed_searched_and_paged,
    audit_log_is_queried_and_paged,
    activity_shows_own_events_and_hides_administrators,
    an_administrator_sends_a_password_reset,
    a_deleted_accounts_address_is_nowhere_in_the_database,
);

latchkey_testkit::sqlite_only!(
    roles_inherit_and_missing_permissions_are_named,
    removing_a_role_takes_effect_at_once,
    role_management_rules,
    no_escalation_through_roles_manage,
    other_users_objects_are_not_found,
    permissions_claim_when_configured(Options {
        include_permissions: true,
        ..Options::default()
    }),
);

const PASSWORD: &str = "correct horse battery staple";

/// A registered, signed-in user.
struct User {
    id: String,
    token: String,
    refresh: String,
    session: String,
}

async fn user(app: &TestApp, email: &str) -> User {
    let r = app
        .json(
            "POST",
            "/v1/auth/register",
            json!({"email": email, "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let t = login(app, email).await;
    User {
        id,
        token: t["access_token"].as_str().unwrap().to_owned(),
        refresh: t["refresh_token"].as_str().unwrap().to_owned(),
        session: t["session_id"].as_str().unwrap().to_owned(),
    }
}

async fn login(app: &TestApp, email: &str) -> Value {
    app.login(email, PASSWORD).await
}

/// Gives `user_id` these roles, as the command line would.
async fn grant(app: &TestApp, user_id: &str, roles: &[&str]) {
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    app.auth
        .admin()
        .admin_set_roles(&Actor::command_line(), user_id, &roles, false)
        .await
        .expect("set roles");
}

/// A fresh address.
fn unique(tag: &str) -> String {
    format!("{tag}-{}@example.com", latchkey_core::id::new_id())
}

async fn admin(app: &TestApp, email: &str) -> User {
    let u = user(app, email).await;
    grant(app, &u.id, &["admin"]).await;
    u
}

fn code(r: &TestResponse) -> String {
    r.code()
}

fn status_code(r: &TestResponse) -> (u16, String) {
    (r.status.as_u16(), code(r))
}

fn claims(token: &str) -> Value {
    serde_json::from_slice(
        &latchkey_tokens::b64url_decode(token.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap()
}

async fn roles_in_token_after_refresh(app: &TestApp, u: &mut User) -> Value {
    let r = app.refresh(&u.refresh).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    u.token = t["access_token"].as_str().unwrap().to_owned();
    u.refresh = t["refresh_token"].as_str().unwrap().to_owned();
    claims(&u.token)["roles"].clone()
}

async fn roles_inherit_and_missing_permissions_are_named(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let mut bob = user(&app, "bob@example.com").await;
    assert_eq!(claims(&bob.token)["roles"], json!(["user"]));
    let fresh = login(&app, "root@example.com").await;
    assert_eq!(
        claims(fresh["access_token"].as_str().unwrap())["roles"],
        json!(["admin", "moderator", "user"]),
        "a token from sign-in carries the inherited roles"
    );

    // a plain user: 403 naming the permission
    let r = app.send("GET", "/v1/admin/users", Some(&bob.token)).await;
    assert_eq!(status_code(&r), (403, "permission_denied".into()));
    assert_eq!(r.json()["missing_permission"], "users:read");
    assert!(r.json()["detail"].as_str().unwrap().contains("users:read"));
    assert_eq!(r.header("content-type"), Some("application/problem+json"));

    // support < moderator < user, lead < support
    let r = app
        .json(
            "POST",
            "/v1/admin/roles",
            json!({"name": "support", "parent": "moderator", "permissions": ["tickets:read"], "description": "First line"}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["parent"], "moderator");
    let r = app
        .json(
            "POST",
            "/v1/admin/roles",
            json!({"name": "lead", "parent": "support", "permissions": ["tickets:assign"]}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .json(
            "PUT",
            &format!("/v1/admin/users/{}/roles", bob.id),
            json!({"roles": ["lead"]}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let view = r.json();
    assert_eq!(view["roles"], json!(["lead", "user"]));
    assert_eq!(
        view["effective_roles"],
        json!(["lead", "moderator", "support", "user"])
    );
    for p in [
        "tickets:assign",
        "tickets:read",
        "users:read",
        "users:suspend",
    ] {
        assert!(
            view["permissions"].as_array().unwrap().contains(&json!(p)),
            "{p} in {view}"
        );
    }

    // bob now reads users through three levels of inheritance, at once,
    // with the token he already had
    let r = app.send("GET", "/v1/admin/users", Some(&bob.token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // and is refused what none of his roles grants
    for (method, path, missing) in [
        (
            "DELETE",
            format!("/v1/admin/users/{}", root.id),
            "users:delete",
        ),
        ("GET", "/v1/admin/audit".to_owned(), "audit:read"),
        (
            "PATCH",
            format!("/v1/admin/users/{}", root.id),
            "users:write",
        ),
        ("POST", "/v1/admin/roles".to_owned(), "roles:manage"),
    ] {
        let r = app.json(method, &path, json!({}), Some(&bob.token)).await;
        assert_eq!(status_code(&r), (403, "permission_denied".into()), "{path}");
        assert_eq!(r.json()["missing_permission"], missing, "{path}");
    }
    // the token says so from the next refresh
    assert_eq!(
        roles_in_token_after_refresh(&app, &mut bob).await,
        json!(["lead", "moderator", "support", "user"])
    );
    assert!(
        claims(&bob.token).get("permissions").is_none(),
        "permissions are not in tokens unless configured"
    );
    // no credentials at all is 401, not 403
    let r = app.send("GET", "/v1/admin/users", None).await;
    assert_eq!(status_code(&r), (401, "unauthenticated".into()));
}

async fn removing_a_role_takes_effect_at_once(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let mut deputy = admin(&app, "deputy@example.com").await;
    // deputy's token predates the grant: it says "user", yet the server
    // checks the roles of now
    assert_eq!(claims(&deputy.token)["roles"], json!(["user"]));
    let r = app
        .send("GET", "/v1/admin/users", Some(&deputy.token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        roles_in_token_after_refresh(&app, &mut deputy).await,
        json!(["admin", "moderator", "user"])
    );

    let r = app
        .json(
            "PUT",
            &format!("/v1/admin/users/{}/roles", deputy.id),
            json!({"roles": []}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["roles"], json!(["user"]));
    // the same token, still claiming admin, is refused at once
    assert_eq!(
        claims(&deputy.token)["roles"],
        json!(["admin", "moderator", "user"])
    );
    let r = app
        .send("GET", "/v1/admin/users", Some(&deputy.token))
        .await;
    assert_eq!(status_code(&r), (403, "permission_denied".into()));
    // and the next token no longer claims it
    assert_eq!(
        roles_in_token_after_refresh(&app, &mut deputy).await,
        json!(["user"])
    );
    // removing with end_sessions ends the sessions too
    grant(&app, &deputy.id, &["moderator"]).await;
    let r = app
        .json(
            "PUT",
            &format!("/v1/admin/users/{}/roles", deputy.id),
            json!({"roles": [], "end_sessions": true}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.send("GET", "/v1/account", Some(&deputy.token)).await;
    assert_eq!(r.status, 401);
    assert_eq!(app.refresh(&deputy.refresh).await.status, 401);

    // deleting a custom role takes it from its holders at once too
    let r = app
        .json(
            "POST",
            "/v1/admin/roles",
            json!({"name": "auditor", "permissions": ["audit:read"]}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let carol = user(&app, "carol@example.com").await;
    grant(&app, &carol.id, &["auditor"]).await;
    assert_eq!(
        app.send("GET", "/v1/admin/audit", Some(&carol.token))
            .await
            .status,
        200
    );
    let r = app
        .send("DELETE", "/v1/admin/roles/auditor", Some(&root.token))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = app.send("GET", "/v1/admin/audit", Some(&carol.token)).await;
    assert_eq!(status_code(&r), (403, "permission_denied".into()));
}

async fn role_management_rules(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let t = Some(root.token.as_str());
    let r = app.send("GET", "/v1/admin/roles", t).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let names: Vec<Value> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, [json!("user"), json!("moderator"), json!("admin")]);
    let r = app.send("GET", "/v1/admin/roles/admin", t).await;
    assert_eq!(r.json()["builtin"], true);
    assert_eq!(r.json()["parent"], "moderator");

    for (body, status, code) in [
        (json!({"name": "Bad Name"}), 422, "validation_failed"),
        (
            json!({"name": "ok", "permissions": ["nocolon"]}),
            422,
            "validation_failed",
        ),
        (
            json!({"name": "ok", "parent": "nope"}),
            422,
            "validation_failed",
        ),
        (json!({"name": "admin"}), 409, "role_taken"),
        (json!({"name": "ok", "id": "x"}), 422, "validation_failed"),
    ] {
        let r = app.json("POST", "/v1/admin/roles", body.clone(), t).await;
        assert_eq!(status_code(&r), (status, code.into()), "{body}");
    }
    for name in ["a1", "b1"] {
        let r = app
            .json("POST", "/v1/admin/roles", json!({"name": name}), t)
            .await;
        assert_eq!(r.status, 201);
    }
    let r = app
        .json(
            "PATCH",
            "/v1/admin/roles/b1",
            json!({"parent": "a1", "permissions": ["x:y"]}),
            t,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["permissions"], json!(["x:y"]));
    // a cycle is refused
    let r = app
        .json("PATCH", "/v1/admin/roles/a1", json!({"parent": "b1"}), t)
        .await;
    assert_eq!(status_code(&r), (422, "validation_failed".into()));
    assert_eq!(r.json()["errors"][0]["code"], "role_cycle");
    // built-ins are read-only
    for (method, body) in [
        ("PATCH", json!({"description": "x"})),
        ("DELETE", json!({})),
    ] {
        let r = app.json(method, "/v1/admin/roles/moderator", body, t).await;
        assert_eq!(status_code(&r), (409, "role_builtin".into()), "{method}");
    }
    // a parent cannot go while a child inherits from it
    let r = app.send("DELETE", "/v1/admin/roles/a1", t).await;
    assert_eq!(status_code(&r), (409, "role_in_use".into()));
    assert!(r.json()["detail"].as_str().unwrap().contains("b1"));
    let r = app
        .json("PATCH", "/v1/admin/roles/b1", json!({"parent": null}), t)
        .await;
    assert_eq!(r.json()["parent"], Value::Null);
    assert_eq!(
        app.send("DELETE", "/v1/admin/roles/a1", t).await.status,
        204
    );
    assert_eq!(app.send("GET", "/v1/admin/roles/a1", t).await.status, 404);
    // unknown roles cannot be granted
    let r = app
        .json(
            "PUT",
            &format!("/v1/admin/users/{}/roles", root.id),
            json!({"roles": ["admin", "a1"]}),
            t,
        )
        .await;
    assert_eq!(status_code(&r), (422, "validation_failed".into()));
    assert_eq!(r.json()["errors"][0]["code"], "unknown_role");
    // the permission list: latchkey's own, then custom ones in use
    let r = app.send("GET", "/v1/admin/permissions", t).await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert!(items.contains(
        &json!({"name": "audit:read", "description": "Query the audit log", "builtin": true})
    ));
    for (name, description) in latchkey_core::roles::CATALOGUE {
        assert!(
            items.contains(&json!({"name": name, "description": description, "builtin": true})),
            "{name} missing from {items:?}"
        );
    }
    assert_eq!(items.last().unwrap()["name"], "x:y");
    assert_eq!(items.last().unwrap()["builtin"], false);
}

async fn no_escalation_through_roles_manage(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let r = app
        .json(
            "POST",
            "/v1/admin/roles",
            json!({"name": "role-admin", "permissions": ["roles:manage", "roles:read"]}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let eve = user(&app, "eve@example.com").await;
    grant(&app, &eve.id, &["role-admin"]).await;
    let t = Some(eve.token.as_str());
    // eve may manage roles, but not grant or define more than she holds
    for (method, path, body, missing) in [
        (
            "PUT",
            format!("/v1/admin/users/{}/roles", eve.id),
            json!({"roles": ["role-admin", "admin"]}),
            "audit:read",
        ),
        (
            "POST",
            "/v1/admin/roles".to_owned(),
            json!({"name": "sneaky", "permissions": ["keys:rotate"]}),
            "keys:rotate",
        ),
        (
            "POST",
            "/v1/admin/roles".to_owned(),
            json!({"name": "sneaky", "parent": "moderator"}),
            "sessions:revoke",
        ),
        (
            "PATCH",
            "/v1/admin/roles/role-admin".to_owned(),
            json!({"permissions": ["roles:manage", "users:delete"]}),
            "users:delete",
        ),
        (
            "PUT",
            format!("/v1/admin/users/{}/roles", root.id),
            json!({"roles": []}),
            "audit:read",
        ),
    ] {
        let r = app.json(method, &path, body.clone(), t).await;
        assert_eq!(status_code(&r), (403, "permission_denied".into()), "{body}");
        assert_eq!(r.json()["missing_permission"], missing, "{body}");
    }
    // what she holds she may hand out, and custom permissions are free
    let r = app
        .json(
            "POST",
            "/v1/admin/roles",
            json!({"name": "ticketing", "permissions": ["tickets:read", "roles:read"]}),
            t,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .send("GET", &format!("/v1/admin/users/{}", root.id), t)
        .await;
    assert_eq!(r.json()["missing_permission"], "users:read");
    assert_eq!(
        app.auth.access(&root.id).await.unwrap().assigned.len(),
        2,
        "root still has admin"
    );
}

async fn other_users_objects_are_not_found(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let alice = user(&app, "alice@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    // a user ending someone else's session: 404, and it stays alive
    let r = app
        .send(
            "DELETE",
            &format!("/v1/account/sessions/{}", alice.session),
            Some(&bob.token),
        )
        .await;
    assert_eq!(status_code(&r), (404, "not_found".into()));
    assert_eq!(
        app.send("GET", "/v1/account", Some(&alice.token))
            .await
            .status,
        200
    );
    // an administrator naming a session under the wrong user: 404
    let r = app
        .send(
            "DELETE",
            &format!("/v1/admin/users/{}/sessions/{}", bob.id, alice.session),
            Some(&root.token),
        )
        .await;
    assert_eq!(status_code(&r), (404, "not_found".into()));
    assert_eq!(
        app.send("GET", "/v1/account", Some(&alice.token))
            .await
            .status,
        200
    );
    let r = app
        .send(
            "DELETE",
            &format!("/v1/admin/users/{}/sessions/{}", alice.id, alice.session),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.send("GET", "/v1/account", Some(&alice.token))
            .await
            .status,
        401
    );
    // unknown users, on every admin route that names one
    for (method, path) in [
        ("GET", "/v1/admin/users/nope"),
        ("PATCH", "/v1/admin/users/nope"),
        ("DELETE", "/v1/admin/users/nope"),
        ("GET", "/v1/admin/users/nope/sessions"),
        ("DELETE", "/v1/admin/users/nope/sessions"),
        ("POST", "/v1/admin/users/nope/unsuspend"),
    ] {
        let r = app.json(method, path, json!({}), Some(&root.token)).await;
        assert_eq!(
            status_code(&r),
            (404, "not_found".into()),
            "{method} {path}"
        );
    }
    // nothing trusts a user id from the body
    let r = app
        .json(
            "PATCH",
            "/v1/account",
            json!({"id": alice.id, "name": "Mallory"}),
            Some(&bob.token),
        )
        .await;
    assert_eq!(status_code(&r), (422, "validation_failed".into()));
    // bob's activity has nothing of alice's
    let r = app
        .send("GET", "/v1/account/activity", Some(&bob.token))
        .await;
    for e in r.json()["items"].as_array().unwrap() {
        assert_ne!(e["session_id"], json!(alice.session));
    }
}

async fn suspension_ends_sessions_and_refuses_sign_in(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let until = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    let until_text = until
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = app
        .json(
            "POST",
            &format!("/v1/admin/users/{}/suspend", bob.id),
            json!({"until": until_text, "reason": "spam reports"}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let view = r.json();
    assert_eq!(view["suspension"]["until"], until_text);
    assert_eq!(view["suspension"]["reason"], "spam reports");
    assert_eq!(view["suspension"]["active"], true);
    // sessions ended at once
    assert_eq!(
        app.send("GET", "/v1/account", Some(&bob.token))
            .await
            .status,
        401
    );
    assert_eq!(app.refresh(&bob.refresh).await.status, 401);
    // the right password: 423 saying when it ends; the wrong one: 401 as ever
    for mode in ["bearer", "cookie"] {
        let mut req = Request::builder()
            .method("POST")
            .uri("/v1/auth/login")
            .header("content-type", "application/json")
            .header("origin", latchkey_testkit::ISSUER);
        req = req.header("user-agent", USER_AGENT);
        let r = app
            .call(
                req.body(Body::from(
                    json!({"identifier": "bob@example.com", "password": PASSWORD, "mode": mode})
                        .to_string(),
                ))
                .unwrap(),
            )
            .await;
        assert_eq!(status_code(&r), (423, "account_suspended".into()), "{mode}");
        assert_eq!(r.json()["suspended_until"], until_text);
        assert!(r.json()["detail"].as_str().unwrap().contains(&until_text));
        assert!(r.header("set-cookie").is_none());
    }
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "bob@example.com", "password": "wrong password!"}),
            None,
        )
        .await;
    assert_eq!(status_code(&r), (401, "invalid_credentials".into()));
    assert!(
        app.store
            .active_sessions_of_user(&bob.id, time::OffsetDateTime::now_utc())
            .await
            .unwrap()
            .is_empty()
    );

    // bad input
    for body in [
        json!({"reason": ""}),
        json!({"reason": "x", "until": "yesterday"}),
        json!({"reason": "x", "until": "2001-01-01T00:00:00Z"}),
    ] {
        let r = app
            .json(
                "POST",
                &format!("/v1/admin/users/{}/suspend", bob.id),
                body.clone(),
                Some(&root.token),
            )
            .await;
        assert_eq!(status_code(&r), (422, "validation_failed".into()), "{body}");
    }
    // not oneself; and a moderator cannot suspend an administrator
    let r = app
        .json(
            "POST",
            &format!("/v1/admin/users/{}/suspend", root.id),
            json!({"reason": "oops"}),
            Some(&root.token),
        )
        .await;
    assert_eq!(status_code(&r), (409, "cannot_act_on_self".into()));
    let moderator = user(&app, "mod@example.com").await;
    grant(&app, &moderator.id, &["moderator"]).await;
    let r = app
        .json(
            "POST",
            &format!("/v1/admin/users/{}/suspend", root.id),
            json!({"reason": "coup"}),
            Some(&moderator.token),
        )
        .await;
    assert_eq!(status_code(&r), (403, "permission_denied".into()));

    // an open-ended suspension says so; lifting it lets bob in again
    let r = app
        .json(
            "POST",
            &format!("/v1/admin/users/{}/suspend", bob.id),
            json!({"reason": "until further notice"}),
            Some(&moderator.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "bob@example.com", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(status_code(&r), (423, "account_suspended".into()));
    assert_eq!(r.json()["suspended_until"], Value::Null);
    let r = app
        .send(
            "POST",
            &format!("/v1/admin/users/{}/unsuspend", bob.id),
            Some(&moderator.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["suspension"], Value::Null);
    login(&app, "bob@example.com").await;
}

/// Finds the one event of type `event` in `events`.
fn one<'a>(events: &'a [Value], event: &str) -> &'a Value {
    let found: Vec<&Value> = events.iter().filter(|e| e["event"] == event).collect();
    assert_eq!(found.len(), 1, "{event} in {events:#?}");
    found[0]
}

async fn audit_of(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let r = app
        .send(
            "GET",
            &format!("/v1/admin/audit?limit=200&{query}"),
            Some(token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

async fn every_listed_event_is_audited_with_actor_and_subject(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let t = Some(root.token.as_str());

    // the user's own doings
    let bob = user(&app, "bob@example.com").await; // user.registered, login.succeeded
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "bob@example.com", "password": "not the password"}),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "nobody@example.com", "password": "not the password"}),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    let failed_request_id = r.header("x-request-id").unwrap().to_owned();
    let r = app
        .json(
            "PATCH",
            "/v1/account",
            json!({"name": "Bob"}),
            Some(&bob.token),
        )
        .await;
    assert_eq!(r.status, 200);
    let second = login(&app, "bob@example.com").await;
    let third = login(&app, "bob@example.com").await;
    let r = app
        .send(
            "DELETE",
            &format!(
                "/v1/account/sessions/{}",
                second["session_id"].as_str().unwrap()
            ),
            Some(&bob.token),
        )
        .await;
    assert_eq!(r.status, 204);
    // refresh-token reuse (no grace window in this app)
    let r = app.refresh(&bob.refresh).await;
    assert_eq!(r.status, 200);
    let r = app.refresh(&bob.refresh).await;
    assert_eq!(code(&r), "refresh_token_reused");
    let r = app
        .send(
            "POST",
            "/v1/auth/logout",
            Some(third["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(r.status, 204);
    let fourth = login(&app, "bob@example.com").await;
    let fifth = login(&app, "bob@example.com").await;
    let r = app
        .send(
            "DELETE",
            "/v1/account/sessions",
            Some(fourth["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(r.status, 204);
    let _ = fifth;

    let events = audit_of(&app, &root.token, &format!("user={}", bob.id)).await;
    let by_bob = |e: &Value| {
        assert_eq!(e["subject_id"], json!(bob.id), "{e}");
        assert_eq!(e["actor_id"], json!(bob.id), "{e}");
        assert_eq!(e["ip"], "203.0.113.7", "{e}");
        assert!(
            e["request_id"].as_str().is_some_and(|r| !r.is_empty()),
            "{e}"
        );
    };
    by_bob(one(&events, "user.registered"));
    assert_eq!(one(&events, "user.registered")["user_agent"], USER_AGENT);
    by_bob(one(&events, "account.updated"));
    by_bob(one(&events, "session.revoked"));
    by_bob(one(&events, "logout"));
    by_bob(one(&events, "sessions.revoked"));
    assert_eq!(one(&events, "logout")["session_id"], third["session_id"]);
    assert_eq!(one(&events, "sessions.revoked")["details"]["ended"], 1);
    let logins: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "login.succeeded")
        .collect();
    assert_eq!(logins.len(), 5);
    for e in logins {
        by_bob(e);
        assert_eq!(e["details"]["method"], "password");
    }
    let failed = one(&events, "login.failed");
    assert_eq!(failed["actor_id"], Value::Null, "anonymous");
    assert_eq!(failed["reason"], "invalid_credentials");
    assert_eq!(failed["ip"], "203.0.113.7");
    let reuse = one(&events, "refresh_token.reused");
    assert_eq!(reuse["actor_id"], Value::Null);
    assert_eq!(reuse["session_id"], json!(bob.session));
    // the failure for an unknown account names no one, and not the identifier
    let anonymous = audit_of(&app, &root.token, "event=login.failed").await;
    let unknown = anonymous
        .iter()
        .find(|e| e["subject_id"].is_null())
        .expect("the unknown-account failure");
    assert_eq!(unknown["request_id"], json!(failed_request_id));
    assert!(!unknown.to_string().contains("nobody@example.com"));

    // every admin action, with the admin as actor
    let r = app
        .json(
            "POST",
            "/v1/admin/users",
            json!({"email": "carol@example.com", "password": PASSWORD, "roles": ["moderator"]}),
            t,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let carol = r.json()["id"].as_str().unwrap().to_owned();
    login(&app, "carol@example.com").await;
    let steps: Vec<(&str, String, Value)> = vec![
        (
            "PATCH",
            format!("/v1/admin/users/{carol}"),
            json!({"name": "Carol"}),
        ),
        (
            "PUT",
            format!("/v1/admin/users/{carol}/roles"),
            json!({"roles": []}),
        ),
        (
            "POST",
            format!("/v1/admin/users/{carol}/suspend"),
            json!({"reason": "test"}),
        ),
        (
            "POST",
            format!("/v1/admin/users/{carol}/unsuspend"),
            json!({}),
        ),
        ("POST", "/v1/admin/roles".into(), json!({"name": "temp"})),
        (
            "PATCH",
            "/v1/admin/roles/temp".into(),
            json!({"description": "changed"}),
        ),
        ("DELETE", "/v1/admin/roles/temp".into(), json!({})),
    ];
    for (method, path, body) in &steps {
        let r = app.json(method, path, body.clone(), t).await;
        assert!(r.status.is_success(), "{method} {path}: {}", r.text());
    }
    login(&app, "carol@example.com").await;
    let r = app
        .send("DELETE", &format!("/v1/admin/users/{carol}/sessions"), t)
        .await;
    assert_eq!(r.status, 204);
    let r = app
        .send("DELETE", &format!("/v1/admin/users/{carol}"), t)
        .await;
    assert_eq!(r.status, 204);

    let events = audit_of(&app, &root.token, &format!("actor={}", root.id)).await;
    let by_root = |kind: &str, subject: Option<&str>| {
        let e = one(&events, kind);
        assert_eq!(e["actor_id"], json!(root.id), "{e}");
        assert_eq!(e["subject_id"], json!(subject), "{e}");
        assert_eq!(e["ip"], "203.0.113.7", "{e}");
        assert!(e["request_id"].is_string(), "{e}");
        e.clone()
    };
    let c = Some(carol.as_str());
    assert_eq!(
        by_root("user.created", c)["details"]["roles"],
        json!(["moderator"])
    );
    assert_eq!(
        by_root("user.updated", c)["details"]["fields"],
        json!(["name"])
    );
    let changed = by_root("user.roles_changed", c);
    assert_eq!(changed["details"]["removed"], json!(["moderator"]));
    assert_eq!(changed["details"]["added"], json!([]));
    let suspended = by_root("user.suspended", c);
    assert_eq!(suspended["reason"], "test");
    by_root("user.unsuspended", c);
    assert_eq!(by_root("role.created", None)["details"]["role"], "temp");
    by_root("role.updated", None);
    by_root("role.deleted", None);
    assert_eq!(by_root("sessions.revoked", c)["details"]["ended"], 1);
    // ids only: the deleted account's address is not kept in the log
    let deleted = by_root("user.deleted", c);
    assert_eq!(deleted["details"].get("email"), None, "{deleted}");
    assert!(!deleted.to_string().contains("carol@"), "{deleted}");
    // the deleted account's history stays
    assert!(
        audit_of(&app, &root.token, &format!("user={carol}"))
            .await
            .len()
            >= 9
    );
}

async fn users_are_listed_searched_and_paged(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let t = Some(root.token.as_str());
    let mut ids = vec![root.id.clone()];
    for i in 0..5 {
        let r = app
            .json(
                "POST",
                "/v1/admin/users",
                json!({"email": format!("person{i}@example.org"), "password": PASSWORD, "name": format!("Person {i}")}),
                t,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["roles"], json!(["user"]));
        ids.push(r.json()["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut path = "/v1/admin/users?limit=2".to_owned();
    loop {
        let r = app.send("GET", &path, t).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/admin/users?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let r = app.send("GET", "/v1/admin/users?q=PERSON3", t).await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], "person3@example.org");
    let r = app.send("GET", "/v1/admin/users?role=admin", t).await;
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["roles"], json!(["admin", "user"]));
    for bad in [
        "limit=0",
        "limit=201",
        "limit=x",
        "cursor=%27%20OR%201=1",
        "nope=1",
    ] {
        let r = app.send("GET", &format!("/v1/admin/users?{bad}"), t).await;
        assert_eq!(status_code(&r), (422, "validation_failed".into()), "{bad}");
    }
    // create: validation and conflicts, as for registration
    let r = app
        .json(
            "POST",
            "/v1/admin/users",
            json!({"email": "person1@EXAMPLE.org", "password": PASSWORD}),
            t,
        )
        .await;
    assert_eq!(status_code(&r), (409, "email_taken".into()));
    let r = app
        .json(
            "POST",
            "/v1/admin/users",
            json!({"email": "x", "password": "short"}),
            t,
        )
        .await;
    assert_eq!(status_code(&r), (422, "validation_failed".into()));
    // patch and read back
    let r = app
        .json(
            "PATCH",
            &format!("/v1/admin/users/{}", ids[1]),
            json!({"username": "neo", "email_verified": true}),
            t,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .send("GET", &format!("/v1/admin/users/{}", ids[1]), t)
        .await;
    assert_eq!(r.json()["username"], "neo");
    assert_eq!(r.json()["email_verified"], true);
    // an admin's sessions list for a user
    let r = app
        .send("GET", &format!("/v1/admin/users/{}/sessions", root.id), t)
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["items"][0]["current"], true);
    // not oneself
    let r = app
        .send("DELETE", &format!("/v1/admin/users/{}", root.id), t)
        .await;
    assert_eq!(status_code(&r), (409, "cannot_act_on_self".into()));
}

async fn audit_log_is_queried_and_paged(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let t = root.token.as_str();
    for _ in 0..3 {
        login(&app, "root@example.com").await;
    }
    let all = audit_of(&app, t, "").await;
    // newest first
    let ids: Vec<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);
    // paging oldest first covers the same events
    let mut seen = Vec::new();
    let mut path = "/v1/admin/audit?order=asc&limit=2".to_owned();
    loop {
        let r = app.send("GET", &path, Some(t)).await;
        let page = r.json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/admin/audit?order=asc&limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut oldest_first: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    oldest_first.reverse();
    assert_eq!(seen, oldest_first);
    let logins = audit_of(&app, t, "event=login.succeeded,logout").await;
    assert_eq!(logins.len(), 4);
    let future = audit_of(&app, t, "since=2999-01-01T00:00:00Z").await;
    assert!(future.is_empty());
    let past = audit_of(&app, t, "until=2000-01-01T00:00:00Z").await;
    assert!(past.is_empty());
    for bad in [
        "since=yesterday",
        "order=sideways",
        "event=DROP%20TABLE",
        "user=a&bogus=1",
    ] {
        let r = app
            .send("GET", &format!("/v1/admin/audit?{bad}"), Some(t))
            .await;
        assert_eq!(status_code(&r), (422, "validation_failed".into()), "{bad}");
    }
}

async fn activity_shows_own_events_and_hides_administrators(app: TestApp) {
    let root = admin(&app, "root@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let r = app
        .json(
            "POST",
            "/v1/auth/login",
            json!({"identifier": "bob@example.com", "password": "wrong one"}),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    let r = app
        .json(
            "POST",
            &format!("/v1/admin/users/{}/suspend", bob.id),
            json!({"reason": "internal note"}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 200);
    app.send(
        "POST",
        &format!("/v1/admin/users/{}/unsuspend", bob.id),
        Some(&root.token),
    )
    .await;
    let again = login(&app, "bob@example.com").await;
    let token = again["access_token"].as_str().unwrap();
    let r = app
        .send("GET", "/v1/account/activity?limit=100", Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let items = r.json()["items"].as_array().unwrap().clone();
    let kinds: Vec<&str> = items.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "login.succeeded",
            "user.unsuspended",
            "user.suspended",
            "login.failed",
            "login.succeeded",
            "user.registered"
        ]
    );
    let suspended = &items[2];
    assert_eq!(suspended["by"], "administrator");
    assert_eq!(
        suspended["ip"],
        Value::Null,
        "the admin's address is not shown"
    );
    assert_eq!(suspended["reason"], Value::Null, "nor the internal note");
    assert!(!r.text().contains(&root.id));
    assert_eq!(items[3]["by"], "unknown");
    assert_eq!(items[3]["ip"], "203.0.113.7");
    assert_eq!(items[3]["reason"], "invalid_credentials");
    assert_eq!(items[0]["by"], "you");
    // paged
    let r = app
        .send("GET", "/v1/account/activity?limit=4", Some(token))
        .await;
    let cursor = r.json()["next_cursor"].as_str().unwrap().to_owned();
    let r = app
        .send(
            "GET",
            &format!("/v1/account/activity?limit=4&cursor={cursor}"),
            Some(token),
        )
        .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    assert_eq!(r.json()["next_cursor"], Value::Null);
    assert_eq!(
        app.send("GET", "/v1/account/activity", None).await.status,
        401
    );
}

async fn permissions_claim_when_configured(app: TestApp) {
    let u = user(&app, "mod@example.com").await;
    grant(&app, &u.id, &["moderator"]).await;
    let mut u = u;
    roles_in_token_after_refresh(&app, &mut u).await;
    let c = claims(&u.token);
    assert_eq!(c["roles"], json!(["moderator", "user"]));
    assert_eq!(
        c["permissions"],
        json!([
            "roles:read",
            "sessions:revoke",
            "users:read",
            "users:suspend"
        ])
    );
}

/// `POST /v1/admin/users/{id}/password-reset` (the mailer of issue 4): needs
/// `users:write`, mails the account a reset link the administrator never
/// sees, and is recorded with the administrator as actor.
async fn an_administrator_sends_a_password_reset(app: TestApp) {
    use latchkey_testkit::mailbox;
    let root = admin(&app, &unique("root")).await;
    let moderator = user(&app, &unique("moderator")).await;
    grant(&app, &moderator.id, &["moderator"]).await;
    let email = unique("forgetful");
    let target = user(&app, &email).await;
    let path = format!("/v1/admin/users/{}/password-reset", target.id);

    let r = app.send("POST", &path, Some(&moderator.token)).await;
    assert_eq!(
        status_code(&r),
        (403, "permission_denied".into()),
        "{}",
        r.text()
    );
    let r = app
        .send(
            "POST",
            "/v1/admin/users/no-such-user/password-reset",
            Some(&root.token),
        )
        .await;
    assert_eq!(status_code(&r), (404, "not_found".into()));
    let r = app.send("POST", &path, Some(&root.token)).await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert!(r.body.is_empty(), "the link is not shown");
    assert_eq!(
        app.send("GET", "/v1/account", Some(&target.token))
            .await
            .status,
        200,
        "sessions stay until the link is used"
    );
    app.run_jobs().await;
    let mail = mailbox::messages_to(&email)
        .into_iter()
        .find(|m| m.subject().contains("Reset"))
        .expect("a reset mail");
    let token = mail
        .token(&format!(
            "{}/reset-password?token=",
            latchkey_testkit::ISSUER
        ))
        .expect("a reset link");
    let r = app
        .json(
            "POST",
            "/v1/auth/password-reset/confirm",
            json!({"token": token, "new_password": "a brand new passphrase"}),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let events = audit_of(&app, &root.token, "event=password_reset.requested").await;
    let e = one(&events, "password_reset.requested");
    assert_eq!(
        (e["actor_id"].as_str(), e["subject_id"].as_str()),
        (Some(root.id.as_str()), Some(target.id.as_str()))
    );
    // an account pending deletion gets none
    let leaving = user(&app, &unique("leaving")).await;
    let r = app
        .send("DELETE", "/v1/account", Some(&leaving.token))
        .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let r = app
        .send(
            "POST",
            &format!("/v1/admin/users/{}/password-reset", leaving.id),
            Some(&root.token),
        )
        .await;
    assert_eq!(status_code(&r), (423, "account_pending_deletion".into()));
}

/// The permissions of the roles in the (actor, target) table, written out
/// here as the oracle: `helpdesk` is a custom role that edits profiles and
/// ends sessions but cannot suspend.
const TABLE_ROLES: &[(&str, &[&str])] = &[
    ("user", &[]),
    (
        "moderator",
        &[
            "users:read",
            "users:suspend",
            "sessions:revoke",
            "roles:read",
        ],
    ),
    (
        "admin",
        &[
            "users:read",
            "users:write",
            "users:delete",
            "users:suspend",
            "sessions:revoke",
            "roles:read",
            "roles:manage",
            "audit:read",
            "clients:manage",
            "keys:rotate",
            "webhooks:manage",
        ],
    ),
    (
        "helpdesk",
        &["users:read", "users:write", "sessions:revoke"],
    ),
];

/// Admin write routes that act on no account (roles, creating users): the
/// anti-escalation rules of roles cover them (see
/// `no_escalation_through_roles_manage`).
const NOT_ON_AN_ACCOUNT: &[&str] = &[
    "POST /v1/admin/users",
    "POST /v1/admin/roles",
    "PATCH /v1/admin/roles/{name}",
    "DELETE /v1/admin/roles/{name}",
    "POST /v1/admin/clients",
    "PATCH /v1/admin/clients/{client_id}",
    "DELETE /v1/admin/clients/{client_id}",
    "POST /v1/admin/clients/{client_id}/secret",
    "POST /v1/admin/webhooks",
    "PATCH /v1/admin/webhooks/{webhook_id}",
    "DELETE /v1/admin/webhooks/{webhook_id}",
    "POST /v1/admin/webhooks/{webhook_id}/secret",
    "POST /v1/admin/webhooks/{webhook_id}/replay",
    "POST /v1/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
];

/// The permission a write route on an account needs, and its body.
fn account_write(method: &str, path: &str, target_role: &str) -> Option<(&'static str, Value)> {
    let roles = if target_role == "user" {
        json!([])
    } else {
        json!([target_role])
    };
    Some(match (method, path) {
        ("PATCH", "/v1/admin/users/{id}") => ("users:write", json!({"name": "Changed"})),
        ("DELETE", "/v1/admin/users/{id}") => ("users:delete", Value::Null),
        ("POST", "/v1/admin/users/{id}/suspend") => {
            ("users:suspend", json!({"reason": "table test"}))
        }
        ("POST", "/v1/admin/users/{id}/unsuspend") => ("users:suspend", Value::Null),
        ("POST", "/v1/admin/users/{id}/password-reset") => ("users:write", Value::Null),
        ("DELETE", "/v1/admin/users/{id}/sessions") => ("sessions:revoke", Value::Null),
        ("DELETE", "/v1/admin/users/{id}/sessions/{session_id}") => {
            ("sessions:revoke", Value::Null)
        }
        ("PUT", "/v1/admin/users/{id}/roles") => ("roles:manage", json!({"roles": roles})),
        ("DELETE", "/v1/admin/users/{id}/mfa") => ("users:write", Value::Null),
        _ => return None,
    })
}

/// Every write route under /v1/admin (from the OpenAPI document, so a new
/// route cannot be missed) against every (actor role, target role): allowed
/// exactly when the actor holds the route's permission and every latchkey
/// permission the target holds; a refusal is 403 and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_write_obeys_one_rule_over_actor_and_target() {
    let app = TestApp::sqlite().await;
    let cli = Actor::command_line();
    app.auth
        .roles()
        .admin_create_role(
            &cli,
            latchkey_core::roles::RoleInput {
                name: "helpdesk".into(),
                permissions: [
                    "users:read",
                    "users:write",
                    "sessions:revoke",
                    "tickets:read",
                ]
                .map(String::from)
                .to_vec(),
                ..Default::default()
            },
        )
        .await
        .expect("custom role");
    let perms = |role: &str| {
        TABLE_ROLES
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, p)| *p)
            .unwrap()
    };
    let mut actors = Vec::new();
    for (role, _) in TABLE_ROLES {
        let u = user(&app, &unique(&format!("actor-{role}"))).await;
        if *role != "user" {
            grant(&app, &u.id, &[role]).await;
        }
        actors.push((*role, u.token));
    }

    let doc = serde_json::to_value(latchkey_http::openapi()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if path.starts_with("/v1/admin/") && item.get(method).is_some() {
                routes.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut walked = 0;
    for (method, path) in &routes {
        if !path.contains("{id}") {
            assert!(
                NOT_ON_AN_ACCOUNT.contains(&format!("{method} {path}").as_str()),
                "{method} {path}: a new admin write route; add it to this table"
            );
            continue;
        }
        for (actor_role, token) in &actors {
            for (target_role, target_perms) in TABLE_ROLES {
                let (needs, body) = account_write(method, path, target_role)
                    .unwrap_or_else(|| panic!("{method} {path}: no case in account_write"));
                let roles: Vec<String> = if *target_role == "user" {
                    Vec::new()
                } else {
                    vec![(*target_role).to_owned()]
                };
                let email = unique(&format!("target-{target_role}"));
                let target = app
                    .auth
                    .admin()
                    .admin_create_user(
                        &cli,
                        latchkey_core::admin::NewUser {
                            email: email.clone(),
                            password: PASSWORD.into(),
                            roles,
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("target");
                let session = login(&app, &email).await["session_id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                if path.ends_with("/unsuspend") {
                    app.auth
                        .admin()
                        .admin_suspend(&cli, &target.id, None, "to be lifted")
                        .await
                        .expect("suspend");
                }
                if path.ends_with("/mfa") {
                    enrol_directly(&app, &target.id, &session).await;
                }
                let about_target = || latchkey_core::audit::AuditQuery {
                    subject_id: Some(target.id.clone()),
                    limit: 1000,
                    ..Default::default()
                };
                let before = app.store.audit_events(&about_target()).await.unwrap().len();
                let uri = path
                    .replace("{id}", &target.id)
                    .replace("{session_id}", &session);
                let r = if body.is_null() {
                    app.send(method, &uri, Some(token)).await
                } else {
                    app.json(method, &uri, body, Some(token)).await
                };
                let actor_perms = perms(actor_role);
                let allowed = actor_perms.contains(&needs)
                    && target_perms.iter().all(|p| actor_perms.contains(p));
                let case = format!("{actor_role} → {target_role}: {method} {path}");
                if allowed {
                    assert!(r.status.is_success(), "{case}: {} {}", r.status, r.text());
                } else {
                    assert_eq!(
                        status_code(&r),
                        (403, "permission_denied".into()),
                        "{case}: {}",
                        r.text()
                    );
                    let after = app.store.audit_events(&about_target()).await.unwrap().len();
                    assert_eq!(before, after, "{case}: a refusal changes nothing");
                }
                walked += 1;
            }
        }
    }
    assert_eq!(walked, 9 * 4 * 4, "every account route × actor × target");
}

/// Gives `user_id` a confirmed TOTP factor, as the store keeps one (the
/// secret itself does not matter to an administrator's reset).
async fn enrol_directly(app: &TestApp, user_id: &str, session_id: &str) {
    use latchkey_core::Clock;
    let now = latchkey_core::store::truncate_to_millis(app.clock.now());
    let factor = latchkey_core::mfa::TotpFactor {
        user_id: user_id.to_owned(),
        secret_sealed: b"sealed".to_vec(),
        created_at: now,
        confirmed_at: None,
        last_step: None,
    };
    app.store.put_pending_totp(&factor).await.expect("pending");
    let event = latchkey_core::audit::AuditEvent::new(
        latchkey_core::audit::EventType::MfaEnabled,
        now,
        &Default::default(),
    );
    let amr = ["pwd", "otp", "mfa"].map(String::from);
    let confirmed = app
        .store
        .confirm_totp(user_id, b"sealed", 1, &[], session_id, &amr, now, &event)
        .await
        .expect("confirm");
    assert!(confirmed);
}

/// The administrators' ways of setting a password follow the sign-up rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_cannot_set_weak_passwords() {
    let app = TestApp::sqlite().await;
    let root = admin(&app, &unique("root")).await;
    for (password, code) in [
        ("password123", "password_too_common"),
        ("short", "password_too_short"),
        ("newcomer@example.org", "password_like_identity"),
    ] {
        let r = app
            .json(
                "POST",
                "/v1/admin/users",
                json!({"email": "newcomer@example.org", "password": password}),
                Some(&root.token),
            )
            .await;
        assert_eq!(
            status_code(&r),
            (422, "validation_failed".into()),
            "{password}"
        );
        assert_eq!(r.json()["errors"][0]["field"], "password", "{password}");
        assert_eq!(r.json()["errors"][0]["code"], code, "{password}");
    }
    let r = app
        .json(
            "POST",
            "/v1/admin/users",
            json!({"email": "newcomer@example.org", "password": PASSWORD}),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

/// The raw bytes of the database: the SQLite file with its WAL, or a
/// `pg_dump` of the PostgreSQL database.
fn raw_database(app: &TestApp) -> Vec<u8> {
    match app.backend.as_ref().expect("a database") {
        latchkey_testkit::Backend::Sqlite(path) => {
            let mut bytes = std::fs::read(path).expect("read the SQLite file");
            let mut wal = path.clone().into_os_string();
            wal.push("-wal");
            bytes.extend(std::fs::read(&wal).unwrap_or_default());
            bytes
        }
        latchkey_testkit::Backend::Postgres(url) => latchkey_testkit::postgres::pg_dump(url),
    }
}

/// After an administrator deletes an account, its address is in no table,
/// no free page and no WAL frame, and the audit log keeps only ids.
async fn a_deleted_accounts_address_is_nowhere_in_the_database(app: TestApp) {
    let root = admin(&app, &unique("root")).await;
    let email = unique("Gone.Person");
    let target = user(&app, &email).await;
    app.run_jobs().await;
    assert!(
        contains(&raw_database(&app), &email),
        "the search finds a live address"
    );
    let r = app
        .send(
            "DELETE",
            &format!("/v1/admin/users/{}", target.id),
            Some(&root.token),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    app.run_jobs().await;
    let raw = raw_database(&app);
    for needle in [email.clone(), email.to_lowercase()] {
        assert!(
            !contains(&raw, &needle),
            "{needle} is still in the database"
        );
    }
    let events = audit_of(&app, &root.token, &format!("user={}", target.id)).await;
    assert!(one(&events, "user.deleted")["subject_id"] == target.id.as_str());
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
