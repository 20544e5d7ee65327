//! `latchkey user …` and `latchkey audit export`, run as an operator would:
//! the first administrator is made on the command line and then uses the
//! admin API of a running server.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use common::{Server, json, latchkey, request, run_in};
use serde_json::Value;

const PASSWORD: &str = "an operator's long passphrase";

/// Runs `latchkey ARGS` in `dir` with `stdin` as standard input.
fn run_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = latchkey()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn latchkey");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("run latchkey")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_command_line_makes_an_admin_who_uses_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();

    // never a password argument; an empty standard input is refused
    let out = run_in(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--password",
            PASSWORD,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run_in(
        dir.path(),
        &["user", "create", "--email", "root@example.com"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no password on standard input"),
        "{}",
        text(&out.stderr)
    );

    let out = run_with_stdin(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "root@example.com",
            "--role",
            "admin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("created user") && stdout.contains("roles: admin, user"),
        "{stdout}"
    );
    assert!(!stdout.contains(PASSWORD) && !text(&out.stderr).contains(PASSWORD));

    let out = run_with_stdin(
        dir.path(),
        &["user", "create", "--email", "bob@example.com"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run_in(dir.path(), &["user", "list"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&out.stdout);
    assert!(list.contains("root@example.com  [admin, user]"), "{list}");
    assert!(list.contains("bob@example.com  [user]"), "{list}");
    let out = run_in(dir.path(), &["user", "list", "--role", "admin"], &[]);
    assert!(!text(&out.stdout).contains("bob@"), "{}", text(&out.stdout));

    // the admin signs in to a running server and uses the admin API
    let server = Server::start(dir.path(), &[], &[]);
    let login = request(
        server.addr,
        "POST",
        "/v1/auth/login",
        None,
        &format!(r#"{{"identifier":"root@example.com","password":"{PASSWORD}"}}"#),
    );
    assert_eq!(login.status, 200, "{}", login.text());
    let token = json(&login)["access_token"].as_str().unwrap().to_owned();
    let users = request(server.addr, "GET", "/v1/admin/users", Some(&token), "");
    assert_eq!(users.status, 200, "{}", users.text());
    let emails: Vec<String> = json(&users)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emails, ["root@example.com", "bob@example.com"]);

    // a role taken away on the command line stops the running server's
    // admin routes at once
    let out = run_in(
        dir.path(),
        &["user", "set-role", "root@example.com", "--role", "user"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let users = request(server.addr, "GET", "/v1/admin/users", Some(&token), "");
    assert_eq!(users.status, 403, "{}", users.text());
    assert_eq!(json(&users)["missing_permission"], "users:read");
    assert!(server.terminate().success());

    // the audit log, exported as JSON lines, oldest first
    let out = run_in(dir.path(), &["audit", "export"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.created",
            "login.succeeded",
            "user.roles_changed"
        ]
    );
    assert_eq!(events[0]["actor_id"], Value::Null);
    assert_eq!(events[0]["details"]["via"], "command_line");
    assert_eq!(events[0]["details"]["roles"], serde_json::json!(["admin"]));
    assert_eq!(
        events[3]["details"]["removed"],
        serde_json::json!(["admin"])
    );
    assert_eq!(events[2]["ip"], "127.0.0.1");
    let out = run_in(
        dir.path(),
        &["audit", "export", "--event", "login.succeeded"],
        &[],
    );
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let out = run_in(
        dir.path(),
        &["audit", "export", "--since", "yesterday"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--since"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_command_line_sets_only_passwords_that_sign_up_would_accept() {
    let dir = tempfile::tempdir().unwrap();
    for (password, why) in [
        ("password123", "commonly used"),
        ("short", "at least 8"),
        ("weak.person@example.com", "email address"),
    ] {
        let out = run_with_stdin(
            dir.path(),
            &["user", "create", "--email", "weak.person@example.com"],
            &format!("{password}\n"),
        );
        assert!(!out.status.success(), "{password} was accepted");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("password:") && stderr.contains(why),
            "{password}: {stderr}"
        );
    }
    let out = run_in(dir.path(), &["user", "list"], &[]);
    assert!(
        !text(&out.stdout).contains("weak.person@"),
        "no account was made"
    );
    let out = run_with_stdin(
        dir.path(),
        &["user", "create", "--email", "weak.person@example.com"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}
