//! Webhooks from the real binary to a receiver that checks every delivery
//! with the reference implementation of Standard Webhooks (PyPI
//! `standardwebhooks`, tests/webhooks/receiver.py): each event is seen
//! once, under one `webhook-id`, although latchkey is killed (SIGKILL)
//! while deliveries are in flight and restarted; and a CAEP receiver gets a
//! signed `session-revoked` SET within a second of a logout.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{CHEAP_HASH, Server, json, latchkey, login, request};

const PASSWORD: &str = "correct horse battery staple";

/// The receiver, on a free port; killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn receiver(secret_file: &Path, out: &Path, delay_secs: &str) -> Receiver {
    let python = std::env::var("LATCHKEY_TEST_WEBHOOK_PYTHON").expect(
        "LATCHKEY_TEST_WEBHOOK_PYTHON: source scripts/services.sh (it installs the Standard \
         Webhooks reference receiver)",
    );
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/webhooks/receiver.py"
    );
    let mut child = Command::new(python)
        .args([
            script,
            secret_file.to_str().unwrap(),
            out.to_str().unwrap(),
            delay_secs,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the receiver");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .expect("the receiver's port");
    let port = first.trim().parse().expect("a port");
    Receiver { child, port }
}

/// What the receiver recorded, one JSON object a line.
fn received(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn create_admin(dir: &Path) {
    let mut child = latchkey()
        .current_dir(dir)
        .args([
            "user",
            "create",
            "--email",
            "root@example.com",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("latchkey user create");
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_reference_receiver_sees_each_event_once_across_kill_9() {
    const ROUNDS: usize = 3;
    const SIGNUPS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let (secret_file, out) = (dir.path().join("secret"), dir.path().join("received.jsonl"));
    // each answer takes 0.3 s, so a kill lands while a delivery is in flight
    let receiver = receiver(&secret_file, &out, "0.3");
    let mut env: Vec<(&str, &str)> = vec![
        ("LATCHKEY_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("LATCHKEY_RATE_LIMITS_ENABLED", "false"),
        // the delivery a killed node held is made again once its lease ends
        ("LATCHKEY_JOBS_LEASE_SECS", "2"),
        ("LATCHKEY_JOBS_POLL_INTERVAL_MS", "100"),
    ];
    env.extend_from_slice(CHEAP_HASH);
    create_admin(dir.path());

    let server = Server::start(dir.path(), &[], &env);
    let token = json(&login(server.addr, "root@example.com", PASSWORD))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({
        "url": format!("http://127.0.0.1:{}/hook", receiver.port),
        "event_types": ["user.created"],
    });
    let r = request(
        server.addr,
        "POST",
        "/v1/admin/webhooks",
        Some(&token),
        &body.to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    std::fs::write(&secret_file, json(&r)["secret"].as_str().unwrap()).unwrap();

    let mut users = BTreeSet::new();
    let mut server = Some(server);
    let mut kills = 0;
    for round in 0..ROUNDS {
        let node = server
            .take()
            .unwrap_or_else(|| Server::start(dir.path(), &[], &env));
        let before = received(&out).len();
        for i in 0..SIGNUPS {
            let body = serde_json::json!({"email": format!("u{round}-{i}@example.com"), "password": PASSWORD});
            let r = request(
                node.addr,
                "POST",
                "/v1/auth/register",
                None,
                &body.to_string(),
            );
            assert_eq!(r.status, 201, "{}", r.text());
            users.insert(json(&r)["id"].as_str().unwrap().to_owned());
        }
        // kill -9 once this round's deliveries have started arriving
        let deadline = Instant::now() + Duration::from_secs(30);
        while received(&out).len() < before + 2 {
            assert!(
                Instant::now() < deadline,
                "no delivery arrived in round {round}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut node = node;
        node.child.kill().expect("kill -9");
        let _ = node.child.wait();
        kills += 1;
    }

    // a last restart delivers the rest (and what the kills interrupted)
    let _node = Server::start(dir.path(), &[], &env);
    let deadline = Instant::now() + Duration::from_secs(60);
    let by_user = loop {
        let lines = received(&out);
        assert!(
            lines.iter().all(|l| l.get("invalid").is_none()),
            "the reference check refused a delivery: {lines:?}"
        );
        let mut by_user: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for l in lines.iter().filter(|l| l["repeat"] == false) {
            assert_eq!(l["type"], "user.created");
            by_user
                .entry(l["data"]["sub"].as_str().unwrap().to_owned())
                .or_default()
                .insert(l["id"].as_str().unwrap().to_owned());
        }
        if by_user.len() == users.len() || Instant::now() > deadline {
            break by_user;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        by_user.keys().cloned().collect::<BTreeSet<_>>(),
        users,
        "every event arrived"
    );
    for (user, ids) in &by_user {
        assert_eq!(
            ids.len(),
            1,
            "{user}'s event came under one webhook-id: {ids:?}"
        );
    }
    let lines = received(&out);
    let repeats = lines.iter().filter(|l| l["repeat"] == true).count();
    // a repeat is only the delivery a kill interrupted after the receiver
    // had it: at most one per kill (one job runs at a time per node)
    assert!(
        repeats <= kills,
        "{repeats} repeats for {kills} kills: {lines:?}"
    );
    eprintln!(
        "{kills} kills, {} events, {} deliveries received, {repeats} repeats (same webhook-id)",
        users.len(),
        lines.len()
    );
}

/// One request a push receiver got: when, its head, its body.
type Pushed = (Instant, String, String);

/// A minimal RFC 8935 push receiver on 127.0.0.1: answers 202 to each
/// request and passes it on.
fn push_receiver() -> (u16, std::sync::mpsc::Receiver<Pushed>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            while data.len() < head_end + 4 + length {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            let body = String::from_utf8_lossy(&data[head_end + 4..]).into_owned();
            let at = Instant::now();
            let _ = stream.write_all(
                b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            if tx.send((at, head, body)).is_err() {
                break;
            }
        }
    });
    (port, rx)
}

/// Issue 18's Done-when: an RFC 8935 push receiver gets a signed CAEP
/// `session-revoked` SET within 1 s of a logout, valid against latchkey's
/// JWKS. The jobs poll only every second here (the default): new events
/// wake the job loop.
#[test]
fn a_caep_receiver_gets_a_signed_session_revoked_set_within_a_second_of_a_logout() {
    use latchkey_tokens::{Jwks, Validation, VerifyingKey, verify_set};

    let dir = tempfile::tempdir().unwrap();
    create_admin(dir.path());
    let (port, pushed) = push_receiver();
    let mut env: Vec<(&str, &str)> = vec![
        ("LATCHKEY_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "true"),
        ("LATCHKEY_RATE_LIMITS_ENABLED", "false"),
    ];
    env.extend_from_slice(CHEAP_HASH);
    let server = Server::start(dir.path(), &[], &env);
    let root = json(&login(server.addr, "root@example.com", PASSWORD))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let audience = "https://rs.example.com";
    let body = serde_json::json!({
        "url": format!("http://127.0.0.1:{port}/caep"),
        "format": "set",
        "audience": audience,
        "bearer": "push-token",
    });
    let r = request(
        server.addr,
        "POST",
        "/v1/admin/webhooks",
        Some(&root),
        &body.to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    let body = serde_json::json!({"email": "erin@example.com", "password": PASSWORD});
    let r = request(
        server.addr,
        "POST",
        "/v1/auth/register",
        None,
        &body.to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let session = json(&login(server.addr, "erin@example.com", PASSWORD));
    let token = session["access_token"].as_str().unwrap();
    let logout = Instant::now();
    let r = request(server.addr, "POST", "/v1/auth/logout", Some(token), "");
    assert_eq!(r.status, 204, "{}", r.text());
    let (at, head, set) = pushed
        .recv_timeout(Duration::from_secs(10))
        .expect("a pushed SET");
    let latency = at - logout;
    eprintln!(
        "the SET arrived {} ms after the logout",
        latency.as_millis()
    );
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: application/secevent+jwt"),
        "{head}"
    );
    assert!(head.contains("authorization: bearer push-token"), "{head}");

    let discovery = json(&request(
        server.addr,
        "GET",
        "/.well-known/openid-configuration",
        None,
        "",
    ));
    let issuer = discovery["issuer"].as_str().unwrap();
    let r = request(server.addr, "GET", "/.well-known/jwks.json", None, "");
    let jwks: Jwks = serde_json::from_slice(&r.body).unwrap();
    let key = |kid: &str| {
        jwks.keys
            .iter()
            .find(|k| k.kid == kid)
            .and_then(|k| VerifyingKey::from_jwk(k).ok())
    };
    let v = Validation {
        issuer,
        audience,
        typ: "secevent+jwt",
        now: time::OffsetDateTime::now_utc().unix_timestamp(),
        leeway_secs: 60,
    };
    let claims: serde_json::Value = verify_set(&set, key, &v).expect("valid under the JWKS");
    let event = &claims["events"][latchkey_core::webhooks::caep::SESSION_REVOKED];
    assert_eq!(event["subject"]["id"], session["session_id"]);
    assert_eq!(event["reason_admin"]["en"], "logout");
}
