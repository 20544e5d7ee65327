//! `latchkey backup FILE`: an online copy of the SQLite store, taken while
//! writers keep registering accounts, restores to a server that signs in
//! every account the copy holds.

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, json, login, request, run_in};

const WRITERS: usize = 20;
const PASSWORD: &str = "a backup survivor's passphrase";

/// The same master key for the server and the restored one: a backup holds
/// signing keys sealed under it, never the key itself.
const ENV: &[(&str, &str)] = &[
    (
        "LATCHKEY_MASTER_KEY",
        "5a17c3e98b2d4f6071a8c9e0b3d5f7a1c2e4f6081a3b5c7d9e0f1a2b3c4d5e6f",
    ),
    // twenty writers from one address are not an attack here
    ("LATCHKEY_RATE_LIMITS_ENABLED", "false"),
    ("LATCHKEY_CHALLENGE_ENABLED", "false"),
    // the cheapest hash allowed: the test is about the copy, not the hash
    ("LATCHKEY_PASSWORDS_ARGON2_MEMORY_KIB", "8192"),
    ("LATCHKEY_PASSWORDS_ARGON2_ITERATIONS", "1"),
];

/// Waits until `done` holds, for at most three minutes (a loaded machine).
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_backup_taken_under_twenty_writers_is_consistent_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], ENV);

    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let registered = Arc::new(Mutex::new(BTreeSet::new()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (stop, count, registered) = (stop.clone(), count.clone(), registered.clone());
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let email = format!("writer{w}-{n}@example.com");
                    let body = serde_json::json!({"email": email, "password": PASSWORD});
                    let r = request(addr, "POST", "/v1/auth/register", None, &body.to_string());
                    assert_eq!(r.status, 201, "{}", r.text());
                    registered.lock().unwrap().insert(email);
                    count.fetch_add(1, Ordering::SeqCst);
                    n += 1;
                }
            })
        })
        .collect();

    wait_for("the first accounts", || {
        count.load(Ordering::SeqCst) >= WRITERS
    });
    let file = dir.path().join("backup.db");
    let out = run_in(dir.path(), &["backup", file.to_str().unwrap()], ENV);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("integrity ok"));
    // the writers go on after the copy is done
    let after_backup = count.load(Ordering::SeqCst);
    wait_for("writes after the backup", || {
        count.load(Ordering::SeqCst) >= after_backup + WRITERS
    });
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("a writer failed");
    }
    assert!(server.terminate().success());
    let registered = registered.lock().unwrap().clone();

    // the copy: private, intact, and a snapshot of accounts that exist
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the backup is readable by others: {mode:o}"
        );
    }
    let copy = rusqlite::Connection::open(&file).unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let in_copy: BTreeSet<String> = copy
        .prepare("SELECT email FROM users")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(copy);
    assert!(in_copy.len() >= WRITERS, "{} accounts", in_copy.len());
    assert!(in_copy.is_subset(&registered));
    assert!(
        in_copy.len() < registered.len(),
        "the copy saw writes after it"
    );
    let absent = registered.difference(&in_copy).next().unwrap().clone();

    // a backup never overwrites
    let out = run_in(dir.path(), &["backup", file.to_str().unwrap()], ENV);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));

    // restored: a new server on the copy signs in every account it holds
    let restored = tempfile::tempdir().unwrap();
    let db = restored.path().join("latchkey.db");
    std::fs::copy(&file, &db).unwrap();
    let url = format!("sqlite://{}", db.display());
    let server = Server::start(restored.path(), &["--database-url", &url], ENV);
    let login = |email: &str| login(server.addr, email, PASSWORD);
    for email in &in_copy {
        let r = login(email);
        assert_eq!(r.status, 200, "{email}: {}", r.text());
        assert!(json(&r)["access_token"].is_string());
    }
    assert_eq!(login(&absent).status, 401, "{absent} is not in the copy");
    assert!(server.terminate().success());
}
