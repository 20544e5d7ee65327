//! `latchkey keys` and `latchkey client`, and what the server does with them.

use crate::common;

use common::{Server, run_in};
use latchkey_testkit::raw_http;

fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn keys_are_made_listed_rotated_and_follow_the_configured_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let list = stdout(&run_in(dir.path(), &["keys", "list"], &[]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 1, "{list}");
    assert!(
        lines[0].contains("EdDSA") && lines[0].contains("active"),
        "{list}"
    );

    let rotated = stdout(&run_in(dir.path(), &["keys", "rotate"], &[]));
    assert!(rotated.starts_with("rotated"), "{rotated}");
    let active = rotated.lines().filter(|l| l.contains(" active")).count();
    let retired = rotated
        .lines()
        .filter(|l| l.contains("retired, published until"))
        .count();
    assert_eq!((active, retired), (1, 1), "{rotated}");

    // a changed algorithm makes a new key at the next start
    let list = stdout(&run_in(
        dir.path(),
        &["keys", "list"],
        &[("LATCHKEY_TOKENS_ALG", "RS256")],
    ));
    let active: Vec<&str> = list.lines().filter(|l| l.contains(" active")).collect();
    assert_eq!(active.len(), 1);
    assert!(active[0].contains("RS256"), "{list}");

    // the private keys are sealed: the database holds no PKCS#8 in the clear
    let db = std::fs::read(dir.path().join("latchkey-data/latchkey.db")).unwrap();
    let pkcs8_ed25519_prefix = [
        0x30u8, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
    ];
    assert!(
        !db.windows(pkcs8_ed25519_prefix.len())
            .any(|w| w == pkcs8_ed25519_prefix)
    );
}

#[test]
fn a_created_client_can_introspect_on_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&run_in(
        dir.path(),
        &["client", "create", "--name", "orders service"],
        &[],
    ));
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("{name} missing: {out}"))
    };
    let (id, secret) = (field("client_id:"), field("client_secret:"));
    assert!(secret.len() >= 43);
    let listed = stdout(&run_in(dir.path(), &["client", "list"], &[]));
    assert!(listed.contains(&id) && listed.contains("orders service") && !listed.contains(&secret));

    let server = Server::start(dir.path(), &[], &[]);
    let form = |auth: &str| {
        let body = "token=not-a-token";
        format!(
            "POST /oauth2/introspect HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    use base64::Engine;
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    );
    let r = raw_http::send(server.addr, form(&good).as_bytes()).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"active":false}"#);
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:nope"))
    );
    let r = raw_http::send(server.addr, form(&bad).as_bytes()).unwrap();
    assert_eq!(r.status, 401);
    assert!(server.terminate().success());
}

/// A JSON request to a running server.
fn call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> raw_http::RawResponse {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    raw_http::send(addr, request.as_bytes()).expect("request")
}

/// The `kid` in an access token's header.
fn kid_of(token: &str) -> String {
    let header = latchkey_tokens::b64url_decode(token.split('.').next().unwrap()).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[test]
fn a_rotation_on_the_command_line_reaches_the_running_server_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    // the test signs in repeatedly while it waits: no rate limits
    let server = Server::start(
        dir.path(),
        &[],
        &[("LATCHKEY_RATE_LIMITS_ENABLED", "false")],
    );
    let credentials = r#"{"email":"rotate@example.com","password":"correct horse battery staple"}"#;
    let r = call(server.addr, "POST", "/v1/auth/register", None, credentials);
    assert_eq!(r.status, 201, "{}", r.text());
    let sign_in = || {
        let body =
            r#"{"identifier":"rotate@example.com","password":"correct horse battery staple"}"#;
        let r = call(server.addr, "POST", "/v1/auth/login", None, body);
        assert_eq!(r.status, 200, "{}", r.text());
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    };
    let old_token = sign_in();
    let old_kid = kid_of(&old_token);

    let rotated = stdout(&run_in(dir.path(), &["keys", "rotate"], &[]));
    let new_kid = rotated
        .lines()
        .find(|l| l.contains(" active"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no active key in: {rotated}"))
        .to_owned();
    assert_ne!(new_kid, old_kid, "{rotated}");

    // a bounded wait: the server picks the new key up within seconds (it
    // used to take up to its 10-minute reload)
    let rotated_at = std::time::Instant::now();
    let deadline = rotated_at + std::time::Duration::from_secs(30);
    let new_token = loop {
        let token = sign_in();
        if kid_of(&token) == new_kid {
            eprintln!(
                "the server signed with the new key {:?} after the rotation",
                rotated_at.elapsed()
            );
            break token;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tokens are still signed with {old_kid} 30 s after the rotation to {new_kid}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // both keys verify: the old one until its tokens expire
    for token in [&old_token, &new_token] {
        let r = call(server.addr, "GET", "/v1/account", Some(token), "");
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = call(server.addr, "GET", "/.well-known/jwks.json", None, "");
    let jwks = r.text();
    assert!(jwks.contains(&old_kid) && jwks.contains(&new_kid), "{jwks}");
    assert!(server.terminate().success());
}

#[test]
fn clients_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout(&run_in(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "Mobile app",
            "--public",
            "--redirect-uri",
            "com.example.app:/cb",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--scope",
            "openid",
        ],
        &[],
    ));
    assert!(
        !out.contains("client_secret:"),
        "a public client has no secret: {out}"
    );
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("client_id:"))
        .unwrap()
        .trim()
        .to_owned();
    let listed = stdout(&run_in(dir.path(), &["client", "list"], &[]));
    assert!(
        listed.contains(&id)
            && listed.contains("public")
            && listed.contains("authorization_code refresh_token")
            && listed.contains("com.example.app:/cb"),
        "{listed}"
    );
    let updated = stdout(&run_in(
        dir.path(),
        &[
            "client",
            "update",
            &id,
            "--name",
            "Renamed",
            "--first-party",
            "true",
        ],
        &[],
    ));
    assert!(
        updated.contains("Renamed") && updated.contains("first-party"),
        "{updated}"
    );
    // a public client has no secret to rotate; a bad redirect URI is refused
    let refused = run_in(dir.path(), &["client", "rotate-secret", &id], &[]);
    assert!(!refused.status.success());
    let refused = run_in(
        dir.path(),
        &[
            "client",
            "create",
            "--name",
            "x",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        &[],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("redirect"));

    let confidential = stdout(&run_in(
        dir.path(),
        &["client", "create", "--name", "Service"],
        &[],
    ));
    let service = confidential
        .lines()
        .find_map(|l| l.strip_prefix("client_id:"))
        .unwrap()
        .trim()
        .to_owned();
    let old = confidential
        .lines()
        .find_map(|l| l.strip_prefix("client_secret:"))
        .unwrap()
        .trim()
        .to_owned();
    let rotated = stdout(&run_in(
        dir.path(),
        &["client", "rotate-secret", &service],
        &[],
    ));
    assert!(
        rotated.contains("client_secret:") && !rotated.contains(&old),
        "{rotated}"
    );

    stdout(&run_in(dir.path(), &["client", "delete", &id], &[]));
    let listed = stdout(&run_in(dir.path(), &["client", "list"], &[]));
    assert!(
        !listed.contains(&id) && listed.contains(&service),
        "{listed}"
    );
    assert!(
        !run_in(dir.path(), &["client", "delete", &id], &[])
            .status
            .success()
    );
}

/// `--events` registers a resource server that may read the revocation
/// stream; `update --events false` takes it back. Without it a client may not.
#[test]
fn the_events_permission_is_set_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let created = stdout(&run_in(
        dir.path(),
        &["client", "create", "--name", "Orders API", "--events"],
        &[],
    ));
    let client_id = |out: &str| {
        let id = out.lines().find_map(|l| l.strip_prefix("client_id:"));
        id.unwrap().trim().to_owned()
    };
    let id = client_id(&created);
    let plain = stdout(&run_in(
        dir.path(),
        &["client", "create", "--name", "Partner"],
        &[],
    ));
    let line_of = |listed: &str, id: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} in {listed}"))
            .to_owned()
    };
    let plain_id = client_id(&plain);
    let listed = stdout(&run_in(dir.path(), &["client", "list"], &[]));
    assert!(line_of(&listed, &id).contains(" events "), "{listed}");
    assert!(
        !line_of(&listed, &plain_id).contains(" events "),
        "{listed}"
    );
    let updated = stdout(&run_in(
        dir.path(),
        &["client", "update", &id, "--events", "false"],
        &[],
    ));
    assert!(!updated.contains(" events "), "{updated}");
}
