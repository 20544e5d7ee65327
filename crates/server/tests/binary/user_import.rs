//! `latchkey user import FILE`: accounts with their password hashes come in
//! from an export or another system, sign in with their old passwords and
//! leave argon2id with latchkey's parameters behind; a file with a bad line
//! imports nothing and names the line; running an import again creates
//! nothing twice.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{CHEAP_HASH, Server, json, lines, login, run_in};
use serde_json::{Value, json};

/// Made by the reference implementation's CLI (Debian's `argon2` package):
/// `echo -n "imported from elsewhere" | argon2 salt-from-elsewhere -id -t 3 -m 13 -p 2 -l 32 -e`
const FOREIGN_ARGON2ID: &str = "$argon2id$v=19$m=8192,t=3,p=2$c2FsdC1mcm9tLWVsc2V3aGVyZQ$0iiTVr6RZISEVoDv+nN7dVzh/w38ulkvcPo8FGaZuFw";
/// `echo -n "imported from elsewhere" | argon2 other-system-salt -i -t 2 -m 12 -p 1 -e`
const FOREIGN_ARGON2I: &str = "$argon2i$v=19$m=4096,t=2,p=1$b3RoZXItc3lzdGVtLXNhbHQ$koHeMfDbr8lV1XdcIRGpkhxnf3WekGsbeJnJILqllIs";
const FOREIGN_PASSWORD: &str = "imported from elsewhere";

fn write_lines(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// The fields an import carries, per account, comparable across stores.
fn portable(users: &[Value]) -> BTreeSet<String> {
    users
        .iter()
        .map(|u| {
            json!([
                u["email"],
                u["email_verified"],
                u["username"],
                u["name"],
                u["roles"],
                u["created_at"],
                u["password_hash"]
            ])
            .to_string()
        })
        .collect()
}

#[test]
fn an_export_imports_into_another_store_resumably_and_signs_in() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let out = run_in(from.path(), &["seed", "--users", "40"], CHEAP_HASH);
    assert!(out.status.success(), "{out:?}");
    let exported = lines(&run_in(
        from.path(),
        &["user", "export", "--with-hashes"],
        CHEAP_HASH,
    ));
    assert_eq!(exported.len(), 40);

    // an import that stopped after the first half, then the whole file again
    let half = to.path().join("half.jsonl");
    write_lines(&half, &exported[..20]);
    let whole = to.path().join("users.jsonl");
    write_lines(&whole, &exported);
    let import = |file: &Path| {
        run_in(
            to.path(),
            &["user", "import", file.to_str().unwrap()],
            CHEAP_HASH,
        )
    };
    let out = import(&half);
    assert!(out.status.success(), "{out:?}");
    let out = import(&whole);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains("imported 20 account(s); 20 were present already"),
        "{said}"
    );

    let imported = lines(&run_in(
        to.path(),
        &["user", "export", "--with-hashes"],
        CHEAP_HASH,
    ));
    assert_eq!(
        portable(&imported),
        portable(&exported),
        "the same accounts, each once"
    );

    let first = exported[0]["email"].as_str().unwrap();
    let server = Server::start(to.path(), &[], CHEAP_HASH);
    let login = login(server.addr, first, "latchkey seed password");
    assert_eq!(login.status, 200, "{}", login.text());
    assert!(json(&login)["access_token"].is_string());
    assert!(server.terminate().success());
}

#[test]
fn foreign_argon2_hashes_sign_in_and_leave_latchkeys_argon2id_behind() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.jsonl");
    write_lines(
        &file,
        &[
            json!({"email": "id@example.com", "email_verified": true, "password_hash": FOREIGN_ARGON2ID}),
            json!({"email": "i@example.com", "email_verified": true, "password_hash": FOREIGN_ARGON2I,
                   "roles": ["moderator"], "username": "eye", "name": "Eye"}),
        ],
    );
    let out = run_in(
        dir.path(),
        &["user", "import", file.to_str().unwrap()],
        CHEAP_HASH,
    );
    assert!(out.status.success(), "{out:?}");

    let server = Server::start(dir.path(), &[], CHEAP_HASH);
    for email in ["id@example.com", "i@example.com"] {
        let r = login(server.addr, email, "not the password");
        assert_eq!(r.status, 401, "{email}: {}", r.text());
        let r = login(server.addr, email, FOREIGN_PASSWORD);
        assert_eq!(r.status, 200, "{email}: {}", r.text());
    }
    assert!(server.terminate().success());
    let users = lines(&run_in(
        dir.path(),
        &["user", "export", "--with-hashes"],
        CHEAP_HASH,
    ));
    for u in &users {
        let hash = u["password_hash"].as_str().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"),
            "{}: not rehashed with latchkey's parameters: {hash}",
            u["email"]
        );
    }
    let eye = users
        .iter()
        .find(|u| u["email"] == "i@example.com")
        .unwrap();
    assert_eq!(eye["roles"], json!(["moderator", "user"]));
}

#[test]
fn a_file_with_bad_lines_imports_nothing_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.jsonl");
    let text = [
        json!({"email": "good@example.com", "password_hash": FOREIGN_ARGON2ID}).to_string(),
        json!({"email": "not-an-address", "password_hash": FOREIGN_ARGON2ID}).to_string(),
        // a bcrypt hash: not a format latchkey verifies yet
        json!({"email": "b@example.com",
               "password_hash": "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}).to_string(),
        // an argon2id hash whose cost would stall the hash pool
        json!({"email": "slow@example.com",
               "password_hash": "$argon2id$v=19$m=4194304,t=3,p=2$c2FsdC1mcm9tLWVsc2V3aGVyZQ$0iiTVr6RZISEVoDv+nN7dVzh/w38ulkvcPo8FGaZuFw"}).to_string(),
        json!({"email": "role@example.com", "roles": ["no-such-role"]}).to_string(),
        json!({"email": "GOOD@example.com"}).to_string(),
        "{not json".to_owned(),
    ]
    .join("\n");
    std::fs::write(&file, text).unwrap();
    let out = run_in(
        dir.path(),
        &["user", "import", file.to_str().unwrap()],
        CHEAP_HASH,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (line, words) in [
        (2, "email"),
        (3, "password_hash"),
        (4, "password_hash"),
        (5, "no-such-role"),
        (6, "the same address as line 1"),
        (7, "not an account as JSON"),
    ] {
        let found = stderr
            .lines()
            .any(|l| l.contains(&format!("line {line}: ")) && l.contains(words));
        assert!(found, "line {line} ({words}) not named: {stderr}");
    }
    assert!(!stderr.contains("line 1: "), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    let users = lines(&run_in(dir.path(), &["user", "export"], CHEAP_HASH));
    assert!(users.is_empty(), "{users:?}");
}
