//! `latchkey keys` and `latchkey client`, and what the server does with them.

mod common;

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
