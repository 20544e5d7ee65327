//! `latchkey seed --users N` and `latchkey user export`, run as an operator
//! would: the seeded accounts sign in with the seed password, and the
//! export lists each of them once, hashes only when asked.

use crate::common;

use std::collections::BTreeSet;

use common::{CHEAP_HASH, Server, json, lines, login, run_in};

#[test]
fn seeded_accounts_export_and_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["seed", "--users", "300"], CHEAP_HASH);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains("seeded 300 accounts (100 signed in)"),
        "{said}"
    );

    let users = lines(&run_in(dir.path(), &["user", "export"], CHEAP_HASH));
    assert_eq!(users.len(), 300);
    let emails: BTreeSet<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), 300, "each account once");
    for u in &users {
        assert!(
            u.get("password_hash").is_none(),
            "a hash without --with-hashes: {u}"
        );
        for key in [
            "id",
            "email_verified",
            "username",
            "name",
            "roles",
            "identities",
        ] {
            assert!(u.get(key).is_some(), "{key} missing: {u}");
        }
    }
    let moderators = users
        .iter()
        .filter(|u| {
            u["roles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "moderator")
        })
        .count();
    assert_eq!(moderators, 3);
    let unverified = users
        .iter()
        .filter(|u| u["email_verified"] == false)
        .count();
    assert_eq!(unverified, 30);

    let hashed = lines(&run_in(
        dir.path(),
        &["user", "export", "--with-hashes"],
        CHEAP_HASH,
    ));
    assert_eq!(hashed.len(), 300);
    assert!(hashed.iter().all(|u| {
        u["password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")
    }));

    // audit events: one registration each, one sign-in per session
    let events = lines(&run_in(
        dir.path(),
        &[
            "audit",
            "export",
            "--event",
            "user.registered",
            "--event",
            "login.succeeded",
        ],
        CHEAP_HASH,
    ));
    let count = |t: &str| events.iter().filter(|e| e["event"] == t).count();
    assert_eq!(
        (count("user.registered"), count("login.succeeded")),
        (300, 100)
    );

    // a seeded account signs in with the seed password
    let first = said
        .split("the first is ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap()
        .to_owned();
    assert!(emails.contains(first.as_str()), "{first}");
    let server = Server::start(dir.path(), &[], CHEAP_HASH);
    let login = login(server.addr, &first, "latchkey seed password");
    assert_eq!(login.status, 200, "{}", login.text());
    assert!(json(&login)["access_token"].is_string());
    assert!(server.terminate().success());
}

#[test]
fn production_refuses_to_seed() {
    let dir = tempfile::tempdir().unwrap();
    let key = "7e".repeat(31) + "01";
    let out = run_in(
        dir.path(),
        &["seed", "--users", "1"],
        &[
            ("LATCHKEY_PROFILE", "production"),
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
            ("LATCHKEY_MASTER_KEY", &key),
            ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
            ("LATCHKEY_MAIL_SMTP_HOST", "smtp.example.com"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("seed refuses the production profile"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("latchkey-data").exists(),
        "nothing opened or written before the refusal"
    );
}
