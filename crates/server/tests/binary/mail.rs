//! Mail from the real binary: the zero-configuration file mode, and SMTP
//! delivery to the test SMTP server across stops and restarts (and, on
//! PostgreSQL, two nodes at once), exactly once.

use crate::common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::Server;
use latchkey_testkit::mailbox;
use latchkey_testkit::raw_http::{self, RawResponse};

fn post_json(addr: SocketAddr, path: &str, body: &str) -> RawResponse {
    try_post(addr, path, body).expect("request")
}

/// A JSON POST; `Err` when the server is gone (killed) before it answered.
fn try_post(addr: SocketAddr, path: &str, body: &str) -> std::io::Result<RawResponse> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    raw_http::send(addr, request.as_bytes())
}

fn register(addr: SocketAddr, email: &str) {
    let r = post_json(
        addr,
        "/v1/auth/register",
        &format!(r#"{{"email": "{email}", "password": "correct horse battery staple"}}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Fast hashing: these tests are about mail, not passwords.
const FAST_HASH: &[(&str, &str)] = &[
    ("LATCHKEY_PASSWORDS_ARGON2_MEMORY_KIB", "8192"),
    ("LATCHKEY_PASSWORDS_ARGON2_ITERATIONS", "1"),
];

#[test]
fn zero_configuration_writes_eml_files_and_logs_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], FAST_HASH);
    register(server.addr, "newcomer@example.com");
    let deadline = Instant::now() + Duration::from_secs(20);
    let link = loop {
        let line = server
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a log line with the link");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("mail written to a file"))
        {
            break v["link"].as_str().unwrap().to_owned();
        }
    };
    let base = format!("http://{}/verify-email?token=", server.addr);
    assert!(link.starts_with(&base), "{link}");
    let files: Vec<_> = std::fs::read_dir(dir.path().join("latchkey-data/mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].extension().is_some_and(|e| e == "eml"));
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("To: newcomer@example.com"), "{eml}");
    let token = link.strip_prefix(&base).unwrap();
    let r = post_json(
        server.addr,
        "/v1/auth/verify-email",
        &format!(r#"{{"token": "{token}"}}"#),
    );
    assert_eq!(r.status, 204, "the logged link works: {}", r.text());
    assert!(server.terminate().success());
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn smtp_env(port: u16) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&str, String)> = vec![
        ("LATCHKEY_MAIL_TRANSPORT", "smtp".into()),
        ("LATCHKEY_MAIL_SMTP_HOST", "127.0.0.1".into()),
        ("LATCHKEY_MAIL_SMTP_PORT", port.to_string()),
        ("LATCHKEY_MAIL_SMTP_SECURITY", "none".into()),
        ("LATCHKEY_MAIL_SMTP_TIMEOUT_SECS", "5".into()),
        ("LATCHKEY_JOBS_RETRY_BASE_SECS", "1".into()),
        ("LATCHKEY_JOBS_RETRY_MAX_SECS", "2".into()),
        ("LATCHKEY_JOBS_POLL_INTERVAL_MS", "100".into()),
        ("LATCHKEY_MAIL_MAX_ATTEMPTS", "100".into()),
        ("LATCHKEY_MASTER_KEY", "3c".repeat(16) + &"a5".repeat(16)),
        // a dozen sign-ups from one address would meet proof-of-work
        // challenges (issue 5); these tests are about mail
        ("LATCHKEY_CHALLENGE_ENABLED", "false".into()),
    ];
    env.extend(FAST_HASH.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env
}

fn start(dir: &Path, env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(dir, &[], &env)
}

/// Stops the server while its mail is queued (the SMTP server unreachable),
/// restarts it and stops it again mid-delivery, restarts it (on PostgreSQL
/// as two nodes at once) until everything is delivered: every message
/// arrives exactly once.
fn restarts_neither_lose_nor_duplicate_mail(database: Option<String>, nodes: usize) {
    let dir = tempfile::tempdir().unwrap();
    let run = latchkey_core::id::new_id();
    let addresses: Vec<String> = (0..12)
        .map(|i| format!("restart{i}-{run}@example.com"))
        .collect();
    let with_db = |mut env: Vec<(&'static str, String)>| {
        if let Some(url) = &database {
            env.push(("LATCHKEY_DATABASE_URL", url.clone()));
        }
        env
    };
    let sink = mailbox::smtp_port();

    // 1. the SMTP server is unreachable: everything stays queued
    let server = start(dir.path(), &with_db(smtp_env(closed_port())));
    for a in &addresses {
        register(server.addr, a);
    }
    std::thread::sleep(Duration::from_millis(300)); // a first failed attempt or two
    assert!(server.terminate().success());
    for a in &addresses {
        assert!(
            mailbox::messages_to(a).is_empty(),
            "nothing was delivered yet"
        );
    }

    // 2. restart with the SMTP server reachable; stop again as soon as
    //    delivery has begun
    let server = start(dir.path(), &with_db(smtp_env(sink)));
    let deadline = Instant::now() + Duration::from_secs(20);
    while addresses.iter().all(|a| mailbox::messages_to(a).is_empty()) {
        assert!(
            Instant::now() < deadline,
            "delivery did not resume after the restart"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(server.terminate().success());

    // 3. restart (several nodes on one database) and let it finish
    let servers: Vec<Server> = (0..nodes)
        .map(|_| start(dir.path(), &with_db(smtp_env(sink))))
        .collect();
    for a in &addresses {
        mailbox::wait_for(a, 1);
    }
    // once every node has stopped, nothing more can arrive: count
    for s in servers {
        assert!(s.terminate().success());
    }
    let mut ids = BTreeSet::new();
    for a in &addresses {
        let got = mailbox::messages_to(a);
        assert_eq!(got.len(), 1, "{a} got {} messages", got.len());
        ids.insert(got[0].header("message-id").unwrap().to_owned());
    }
    assert_eq!(ids.len(), addresses.len(), "distinct messages");
}

#[test]
fn restarts_neither_lose_nor_duplicate_mail_on_sqlite() {
    restarts_neither_lose_nor_duplicate_mail(None, 1);
}

#[test]
fn restarts_neither_lose_nor_duplicate_mail_on_postgres_with_two_nodes() {
    let url = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(latchkey_testkit::postgres::fresh_database());
    restarts_neither_lose_nor_duplicate_mail(Some(url), 2);
}

/// Sends each request in turn until one is not acknowledged (the server
/// died); returns `(address, acknowledged)` for every request sent.
fn until_killed(
    addr: SocketAddr,
    addresses: impl Iterator<Item = String>,
    path: &'static str,
    body: impl Fn(&str) -> String,
    acknowledged: u16,
    count: &std::sync::atomic::AtomicUsize,
) -> Vec<(String, bool)> {
    let mut sent = Vec::new();
    for a in addresses {
        let ok = try_post(addr, path, &body(&a)).is_ok_and(|r| r.status == acknowledged);
        sent.push((a, ok));
        if !ok {
            break;
        }
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    sent
}

const CRASH_PASSWORD: &str = "correct horse battery staple";

/// kill -9 of the server, again and again, while sign-ups and password
/// reset requests run (and their mail is delivered), then a restart that
/// drains the queue (issue 11). Every committed account has exactly one
/// verification message, an account that did not commit has none, and
/// every reset request has at most one reset message (exactly one when it
/// was acknowledged) whose link is its own and works. The only repeat
/// allowed is the unavoidable one: a message the SMTP server accepted just
/// before the kill, sent again with the same Message-ID and content.
fn kill_9_leaves_one_message_per_commit(database: Option<String>) {
    use std::collections::{BTreeMap, HashSet};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const ROUNDS: usize = 6;
    const SIGNUPS_BEFORE_KILL: usize = 4;
    const RESETS_PER_ROUND: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let run = latchkey_core::id::new_id();
    let suffix = format!("-{run}@example.com");
    let mut env = smtp_env(mailbox::smtp_port());
    env.push(("LATCHKEY_RATE_LIMITS_ENABLED", "false".into()));
    // the jobs a killed node held run again once their lease ends
    env.push(("LATCHKEY_JOBS_LEASE_SECS", "2".into()));
    if let Some(url) = &database {
        env.push(("LATCHKEY_DATABASE_URL", url.clone()));
    }
    let register_body = |a: &str| format!(r#"{{"email": "{a}", "password": "{CRASH_PASSWORD}"}}"#);
    let reset_body = |a: &str| format!(r#"{{"email": "{a}"}}"#);
    let ours = || mailbox::messages_to(&suffix);
    // waits until `missing` finds nothing missing in what arrived
    let wait_until = |missing: &dyn Fn(&[mailbox::Received]) -> Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = ours();
            let missing = missing(&got);
            if missing.is_empty() {
                return got;
            }
            assert!(Instant::now() < deadline, "no mail arrived for {missing:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // the recipient, without any angle brackets or display name
    let to = |m: &mailbox::Received| {
        let to = m.header("to").unwrap_or("").to_ascii_lowercase();
        let start = to.rfind('<').map_or(0, |i| i + 1);
        to[start..].trim_end_matches('>').trim().to_owned()
    };
    let is_reset = |m: &mailbox::Received| m.text.contains("/reset-password?token=");

    // the accounts whose passwords will be reset (their verification mail
    // is delivered during the crashes, and counted with the rest)
    let owners: Vec<String> = (0..ROUNDS * RESETS_PER_ROUND)
        .map(|i| format!("owner{i}{suffix}"))
        .collect();
    let server = start(dir.path(), &env);
    for a in &owners {
        register(server.addr, a);
    }
    assert!(server.terminate().success());

    // the crashes: each round is killed once enough sign-ups were answered
    let mut signups: Vec<(String, bool)> = Vec::new();
    let mut resets: Vec<(String, bool)> = Vec::new();
    for round in 0..ROUNDS {
        let mut server = start(dir.path(), &env);
        let addr = server.addr;
        let answered = Arc::new(AtomicUsize::new(0));
        let signing_up = {
            let answered = answered.clone();
            let suffix = suffix.clone();
            std::thread::spawn(move || {
                let addresses = (0..).map(move |i| format!("new{round}-{i}{suffix}"));
                until_killed(
                    addr,
                    addresses,
                    "/v1/auth/register",
                    register_body,
                    201,
                    &answered,
                )
            })
        };
        let resetting = {
            let mine = owners[round * RESETS_PER_ROUND..(round + 1) * RESETS_PER_ROUND].to_vec();
            std::thread::spawn(move || {
                until_killed(
                    addr,
                    mine.into_iter(),
                    "/v1/auth/password-reset",
                    reset_body,
                    202,
                    &AtomicUsize::new(0),
                )
            })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while answered.load(Ordering::SeqCst) < SIGNUPS_BEFORE_KILL {
            assert!(Instant::now() < deadline, "sign-ups were not answered");
            std::thread::sleep(Duration::from_millis(1));
        }
        server.child.kill().expect("kill -9"); // SIGKILL
        server.child.wait().unwrap();
        signups.extend(signing_up.join().unwrap());
        resets.extend(resetting.join().unwrap());
    }

    // restart and drain
    let server = start(dir.path(), &env);
    let committed: HashSet<String> = signups
        .iter()
        .filter(|(a, acknowledged)| {
            let r = post_json(
                server.addr,
                "/v1/auth/login",
                &format!(r#"{{"identifier": "{a}", "password": "{CRASH_PASSWORD}"}}"#),
            );
            assert!(
                r.status == 200 || (r.status == 401 && !acknowledged),
                "{a} (acknowledged: {acknowledged}): {} {}",
                r.status,
                r.text()
            );
            r.status == 200
        })
        .map(|(a, _)| a.clone())
        .collect();
    let acknowledged_resets: HashSet<&String> = resets
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(a, _)| a)
        .collect();
    let got = wait_until(&|got| {
        let has = |a: &String, reset: bool| got.iter().any(|m| to(m) == *a && is_reset(m) == reset);
        let resets = acknowledged_resets.iter().copied();
        committed
            .iter()
            .filter(|a| !has(a, false))
            .chain(resets.filter(|a| !has(a, true)))
            .cloned()
            .collect()
    });
    // the reset links work: each is the live one of its request
    let mut by_message: BTreeMap<(String, String), Vec<&mailbox::Received>> = BTreeMap::new();
    for m in &got {
        let id = m.header("message-id").expect("a Message-ID").to_owned();
        by_message.entry((to(m), id)).or_default().push(m);
    }
    let mut repeats = 0;
    for copies in by_message.values() {
        repeats += copies.len() - 1;
        assert!(
            copies.iter().all(|c| c.text == copies[0].text),
            "copies of one Message-ID are identical"
        );
    }
    let messages = |a: &str, reset: bool| -> Vec<&mailbox::Received> {
        by_message
            .iter()
            .filter(|((rcpt, _), copies)| rcpt == a && is_reset(copies[0]) == reset)
            .map(|(_, copies)| copies[0])
            .collect()
    };
    for (a, acknowledged) in &signups {
        let n = messages(a, false).len();
        let expected = usize::from(committed.contains(a));
        assert_eq!(
            n, expected,
            "{a} (acknowledged: {acknowledged}) got {n} verification messages"
        );
    }
    let mut links = HashSet::new();
    for (a, acknowledged) in &resets {
        let got = messages(a, true);
        assert!(
            got.len() <= 1,
            "{a} got {} different reset messages",
            got.len()
        );
        assert!(
            !acknowledged || got.len() == 1,
            "{a}: an acknowledged reset request got no message"
        );
        if let Some(m) = got.first() {
            let token = m.token("http").expect("a link");
            assert!(links.insert(token.clone()), "one link per request");
            let r = post_json(
                server.addr,
                "/v1/auth/password-reset/confirm",
                &format!(r#"{{"token": "{token}", "new_password": "a brand new passphrase"}}"#),
            );
            assert_eq!(r.status, 204, "{a}: the mailed link works: {}", r.text());
        }
    }
    assert!(server.terminate().success());
    let acknowledged = signups.iter().filter(|(_, ok)| *ok).count();
    assert!(acknowledged >= ROUNDS * SIGNUPS_BEFORE_KILL);
    eprintln!(
        "{ROUNDS} kills: {} sign-ups sent, {acknowledged} acknowledged, {} committed; \
         {} reset requests, {} acknowledged; {repeats} repeated message(s), same Message-ID",
        signups.len(),
        committed.len(),
        resets.len(),
        acknowledged_resets.len(),
    );
}

#[test]
fn kill_9_leaves_one_message_per_commit_on_sqlite() {
    kill_9_leaves_one_message_per_commit(None);
}

#[test]
fn kill_9_leaves_one_message_per_commit_on_postgres() {
    let url = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(latchkey_testkit::postgres::fresh_database());
    kill_9_leaves_one_message_per_commit(Some(url));
}
