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

/// Importing `file` fails, names each bad line with its words, does not
/// name the good line, and imports nothing.
fn refused_naming(dir: &Path, file: &Path, bad: &[(usize, &str)], good: usize) {
    let out = run_in(dir, &["user", "import", file.to_str().unwrap()], CHEAP_HASH);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (line, words) in bad {
        let found = stderr
            .lines()
            .any(|l| l.contains(&format!("line {line}: ")) && l.contains(words));
        assert!(found, "line {line} ({words}) not named: {stderr}");
    }
    assert!(!stderr.contains(&format!("line {good}: ")), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
}

/// A wrong password is refused, the right one signs in.
fn wrong_then_right(server: &Server, email: &str, password: &str) {
    let r = login(server.addr, email, "not the password");
    assert_eq!(r.status, 401, "{email}: {}", r.text());
    let r = login(server.addr, email, password);
    assert_eq!(r.status, 200, "{email}: {}", r.text());
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
        wrong_then_right(&server, email, FOREIGN_PASSWORD);
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
        // a bcrypt hash of cost 31, whose check would stall the hash pool
        json!({"email": "b@example.com",
               "password_hash": "$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}).to_string(),
        // an argon2id hash whose cost would stall the hash pool
        json!({"email": "slow@example.com",
               "password_hash": "$argon2id$v=19$m=4194304,t=3,p=2$c2FsdC1mcm9tLWVsc2V3aGVyZQ$0iiTVr6RZISEVoDv+nN7dVzh/w38ulkvcPo8FGaZuFw"}).to_string(),
        json!({"email": "role@example.com", "roles": ["no-such-role"]}).to_string(),
        json!({"email": "GOOD@example.com"}).to_string(),
        "{not json".to_owned(),
        // PBKDF2 with 10⁹ iterations (Django's form): over the cap too
        json!({"email": "pbkdf2@example.com",
               "password_hash": "pbkdf2_sha256$1000000000$ZGPnXQqHzfHFUrbRGCvQTJ$AsYhARL4g9D1e+jWvs6OsR0uyWd437UFstPl/ILk3Ro="}).to_string(),
    ]
    .join("\n");
    std::fs::write(&file, text).unwrap();
    refused_naming(
        dir.path(),
        &file,
        &[
            (2, "email"),
            (3, "bcrypt cost 31 is above the limit"),
            (4, "password_hash"),
            (8, "PBKDF2 iterations 1000000000 are above the limit"),
            (5, "no-such-role"),
            (6, "the same address as line 1"),
            (7, "not an account as JSON"),
        ],
        1,
    );
    let users = lines(&run_in(dir.path(), &["user", "export"], CHEAP_HASH));
    assert!(users.is_empty(), "{users:?}");
}

/// The fixtures made by each format's own tool (scripts/import-fixtures).
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import");

/// Login quotas wide enough for a sign-in per imported account, and no
/// puzzle after the deliberate wrong passwords.
const WIDE_LOGIN: &[(&str, &str)] = &[
    (
        "LATCHKEY_RATE_LIMITS_LOGIN",
        "ip=1000/min, ip_account=10/min",
    ),
    ("LATCHKEY_CHALLENGE_ENABLED", "false"),
];

/// The value of `latchkey_legacy_password_hashes{format="…"}`, waiting for
/// the first count after start-up.
fn legacy_gauge(server: &Server, format: &str) -> f64 {
    let series = format!("latchkey_legacy_password_hashes{{format=\"{format}\"}} ");
    for _ in 0..100 {
        let r = common::request(server.addr, "GET", "/metrics", None, "");
        if let Some(v) = r.text().lines().find_map(|l| l.strip_prefix(&series)) {
            return v.trim().parse().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no {series}");
}

#[test]
fn every_formats_hashes_from_its_own_tool_sign_in_and_become_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(FIXTURES);
    let mut env = CHEAP_HASH.to_vec();
    env.extend_from_slice(WIDE_LOGIN);
    let mut expected: Vec<(String, String)> = Vec::new();
    for file in ["formats.jsonl", "auth0-export.jsonl", "keycloak-realm.json"] {
        let path = fixtures.join(file);
        import_ok(dir.path(), &path, &env);
        let text = std::fs::read_to_string(&path).unwrap();
        let users: Vec<Value> = if file.ends_with(".json") {
            serde_json::from_str::<Value>(&text).unwrap()["users"]
                .as_array()
                .unwrap()
                .clone()
        } else {
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        for u in users {
            let email = u["email"].as_str().unwrap().to_owned();
            expected.push((email, u["test_password"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(expected.len(), 21);
    let before = export_hashes(dir.path(), &env);
    let kc = before
        .iter()
        .find(|u| u["email"] == "kc-sha512@example.com")
        .unwrap();
    assert_eq!(
        kc["roles"],
        json!(["moderator", "user"]),
        "Keycloak's own roles are left out"
    );
    assert_eq!(kc["name"], "Kay kc-sha512");

    let server = Server::start(dir.path(), &[], &env);
    assert_eq!(legacy_gauge(&server, "bcrypt"), 5.0);
    assert_eq!(legacy_gauge(&server, "scrypt"), 4.0);
    assert_eq!(legacy_gauge(&server, "firebase-scrypt"), 1.0);
    assert_eq!(legacy_gauge(&server, "pbkdf2-sha1"), 3.0);
    assert_eq!(legacy_gauge(&server, "pbkdf2-sha256"), 4.0);
    assert_eq!(legacy_gauge(&server, "pbkdf2-sha512"), 2.0);
    for (email, password) in &expected {
        wrong_then_right(&server, email, password);
    }
    assert!(server.terminate().success());

    let after = export_hashes(dir.path(), &env);
    assert_eq!(after.len(), expected.len());
    for u in &after {
        let hash = u["password_hash"].as_str().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"),
            "{}: not replaced by latchkey's argon2id: {hash}",
            u["email"]
        );
    }
    // what is left is counted again at the next start: nothing
    let server = Server::start(dir.path(), &[], &env);
    for format in [
        "bcrypt",
        "scrypt",
        "firebase-scrypt",
        "pbkdf2-sha1",
        "pbkdf2-sha256",
        "pbkdf2-sha512",
    ] {
        assert_eq!(legacy_gauge(&server, format), 0.0, "{format}");
    }
    // and the original passwords still sign in, now against argon2id
    let (email, password) = &expected[0];
    assert_eq!(login(server.addr, email, password).status, 200);
    assert!(server.terminate().success());
}

/// bcrypt reads the first 72 bytes: an imported owner with a longer password
/// signs in with it, a sign-in with the same 72 bytes and another tail (which
/// bcrypt cannot tell apart) does not replace the hash with argon2id of that
/// tail, so the owner's own password keeps working; the bcrypt hash stays.
#[test]
fn a_bcrypt_password_over_72_bytes_is_not_rehashed_from_another_tail() {
    let dir = tempfile::tempdir().unwrap();
    // pyca bcrypt 5.0 of the first 72 bytes: what a truncating bcrypt (pyca
    // before 5, PHP, Node's bcryptjs) makes of the owner's whole password
    let first72 = "correct horse battery staple, seventy-two bytes of it: padding padding!!";
    let owners = format!("{first72} and the owner's own tail");
    let path = dir.path().join("users.jsonl");
    write_lines(
        &path,
        &[json!({
            "email": "long@example.com",
            "email_verified": true,
            "password_hash": "$2b$04$f86XJv0rE6r3RkqdLWoXHOR69zuqO7zQXwI2vAo70nqaTebZvKUH.",
        })],
    );
    import_ok(dir.path(), &path, CHEAP_HASH);
    let server = Server::start(dir.path(), &[], CHEAP_HASH);
    let others = format!("{first72} and somebody else's tail");
    for typed in [others.as_str(), first72, owners.as_str()] {
        let r = login(server.addr, "long@example.com", typed);
        assert_eq!(r.status, 200, "{} bytes: {}", typed.len(), r.text());
    }
    assert!(server.terminate().success());
    let users = export_hashes(dir.path(), CHEAP_HASH);
    assert_eq!(
        users[0]["password_hash"], "$2b$04$f86XJv0rE6r3RkqdLWoXHOR69zuqO7zQXwI2vAo70nqaTebZvKUH.",
        "kept until a proof of the whole password"
    );
}

/// Linked upstream identities (provider + subject) come in with their
/// accounts, go out with `user export`, are not linked twice by a second
/// run, and a file that would link one to two accounts (in the store or in
/// the file) imports nothing and names the lines.
#[test]
fn linked_identities_import_once_export_and_conflicts_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.jsonl");
    write_lines(
        &path,
        &[
            json!({"email": "fed1@example.com", "email_verified": true, "identities": [
                {"provider": "google.com", "subject": "1001", "email": "fed1@gmail.example", "email_verified": true},
                {"provider": "github", "subject": "77"}]}),
            json!({"email": "fed2@example.com", "identities": [{"provider": "google.com", "subject": "1002"}]}),
        ],
    );
    import_ok(dir.path(), &path, CHEAP_HASH);
    import_ok(dir.path(), &path, CHEAP_HASH);
    let exported = lines(&run_in(dir.path(), &["user", "export"], CHEAP_HASH));
    let of =
        |email: &str| exported.iter().find(|u| u["email"] == email).unwrap()["identities"].clone();
    assert_eq!(
        of("fed1@example.com"),
        json!([
            {"provider": "github", "subject": "77", "email": null, "email_verified": false},
            {"provider": "google.com", "subject": "1001", "email": "fed1@gmail.example", "email_verified": true}
        ])
    );
    assert_eq!(
        of("fed2@example.com"),
        json!([{"provider": "google.com", "subject": "1002", "email": null, "email_verified": false}])
    );
    // the export imports into another store with the same links
    let other = tempfile::tempdir().unwrap();
    let again = other.path().join("users.jsonl");
    write_lines(&again, &exported);
    import_ok(other.path(), &again, CHEAP_HASH);
    let round = lines(&run_in(other.path(), &["user", "export"], CHEAP_HASH));
    let links = |users: &[Value]| -> BTreeSet<String> {
        users
            .iter()
            .map(|u| json!([u["email"], u["identities"]]).to_string())
            .collect()
    };
    assert_eq!(links(&round), links(&exported));

    let bad = dir.path().join("bad.jsonl");
    write_lines(
        &bad,
        &[
            json!({"email": "fed3@example.com", "identities": [{"provider": "google.com", "subject": "1001"}]}),
            json!({"email": "fed4@example.com", "identities": [
                {"provider": "x", "subject": "1"}, {"provider": "x", "subject": "1"}]}),
            json!({"email": "fed5@example.com", "identities": [{"provider": "y", "subject": "2"}]}),
            json!({"email": "fed6@example.com", "identities": [{"provider": "y", "subject": "2"}]}),
            json!({"email": "fed7@example.com", "identities": [{"provider": "has space", "subject": "3"}]}),
            json!({"email": "fed8@example.com"}),
        ],
    );
    refused_naming(
        dir.path(),
        &bad,
        &[
            (1, "already linked to another account"),
            (2, "the same provider and subject twice"),
            (4, "a provider and subject of line 3"),
            (5, "printable ASCII"),
        ],
        6,
    );
}

/// `firebase auth:export --format=json` with the project's hash parameters
/// as `firebase auth:import` takes them: the published example of
/// firebase/scrypt signs in with its password and leaves argon2id, its
/// Google sign-in comes in as a linked identity; without the parameters the
/// file imports nothing and says which flags are missing.
#[test]
fn a_firebase_auth_export_imports_with_the_hash_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("firebase-users.json");
    // firebase/scrypt's README: password "user1password"
    let export = json!({"users": [{
        "localId": "Ek2wmBnmdXTdUeMEE7hDuJb1Vvz2",
        "email": "firebase-export@example.com",
        "emailVerified": true,
        "passwordHash": "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
        "salt": "42xEC+ixf3L2lw==",
        "displayName": "Fire Base",
        "createdAt": "1600000000000",
        "providerUserInfo": [
            {"providerId": "password", "rawId": "firebase-export@example.com", "email": "firebase-export@example.com"},
            {"providerId": "google.com", "rawId": "109876543210", "email": "fb@gmail.example"}
        ]
    }]});
    std::fs::write(&path, export.to_string()).unwrap();
    let file = path.to_str().unwrap();
    let out = run_in(dir.path(), &["user", "import", file], CHEAP_HASH);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("user 1: passwordHash: Firebase hashes need --hash-key"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    let flags = [
        "--hash-key",
        "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
        "--salt-separator",
        "Bw==",
        "--rounds",
        "8",
        "--mem-cost",
        "14",
    ];
    let mut args = vec!["user", "import", file];
    args.extend_from_slice(&flags);
    let out = run_in(dir.path(), &args, CHEAP_HASH);
    assert!(out.status.success(), "{out:?}");
    let users = export_hashes(dir.path(), CHEAP_HASH);
    assert_eq!(users[0]["name"], "Fire Base");
    assert_eq!(users[0]["created_at"], "2020-09-13T12:26:40Z");
    assert_eq!(
        users[0]["identities"],
        json!([{"provider": "google.com", "subject": "109876543210", "email": "fb@gmail.example", "email_verified": false}])
    );
    assert!(
        users[0]["password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$firebase-scrypt$ln=14,r=8$")
    );
    let server = Server::start(dir.path(), &[], CHEAP_HASH);
    wrong_then_right(&server, "firebase-export@example.com", "user1password");
    assert!(server.terminate().success());
    let users = export_hashes(dir.path(), CHEAP_HASH);
    assert!(
        users[0]["password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$"),
        "{}",
        users[0]
    );
}

/// `latchkey user import FILE` in `dir`, which must succeed.
fn import_ok(dir: &Path, file: &Path, env: &[(&str, &str)]) {
    let out = run_in(dir, &["user", "import", file.to_str().unwrap()], env);
    assert!(out.status.success(), "{}: {out:?}", file.display());
}

/// `latchkey user export --with-hashes` in `dir`.
fn export_hashes(dir: &Path, env: &[(&str, &str)]) -> Vec<Value> {
    lines(&run_in(dir, &["user", "export", "--with-hashes"], env))
}

#[test]
fn an_export_with_foreign_hashes_imports_again_unchanged() {
    let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    import_ok(
        from.path(),
        &Path::new(FIXTURES).join("formats.jsonl"),
        CHEAP_HASH,
    );
    let exported = export_hashes(from.path(), CHEAP_HASH);
    let path = to.path().join("users.jsonl");
    write_lines(&path, &exported);
    import_ok(to.path(), &path, CHEAP_HASH);
    let imported = export_hashes(to.path(), CHEAP_HASH);
    assert_eq!(portable(&imported), portable(&exported));
}

#[test]
fn a_csv_file_imports_with_the_same_columns_and_bad_rows_are_named_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::fs::read_to_string(Path::new(FIXTURES).join("formats.jsonl")).unwrap();
    let bcrypt: Value = serde_json::from_str(fixtures.lines().next().unwrap()).unwrap();
    let good = dir.path().join("users.csv");
    std::fs::write(
        &good,
        format!(
            "email,email_verified,password_hash,username,name,roles,identities,created_at\n\
             csv1@example.com,true,{},csvone,\"One, the first\",moderator,,2024-01-02T03:04:05Z\n\
             csv2@example.com,false,,,\"Two \"\"quoted\"\"\",,[],\n",
            bcrypt["password_hash"].as_str().unwrap()
        ),
    )
    .unwrap();
    import_ok(dir.path(), &good, CHEAP_HASH);
    import_ok(dir.path(), &good, CHEAP_HASH);
    let users = export_hashes(dir.path(), CHEAP_HASH);
    assert_eq!(users.len(), 2, "{users:?}");
    let one = users
        .iter()
        .find(|u| u["email"] == "csv1@example.com")
        .unwrap();
    assert_eq!(one["email_verified"], true);
    assert_eq!(one["username"], "csvone");
    assert_eq!(one["name"], "One, the first");
    assert_eq!(one["roles"], json!(["moderator", "user"]));
    assert_eq!(one["created_at"], "2024-01-02T03:04:05Z");
    assert_eq!(one["password_hash"], bcrypt["password_hash"]);
    let two = users
        .iter()
        .find(|u| u["email"] == "csv2@example.com")
        .unwrap();
    assert_eq!(two["name"], "Two \"quoted\"");
    assert_eq!(two["password_hash"], Value::Null);
    let server = Server::start(dir.path(), &[], CHEAP_HASH);
    let r = login(
        server.addr,
        "csv1@example.com",
        bcrypt["test_password"].as_str().unwrap(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(server.terminate().success());

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "email,name,email_verified,password_hash\n\
         fine@example.com,Fine,true,\n\
         not-an-address,Bad,true,\n\
         multi@example.com,\"Line\nbreak\",maybe,\n\
         cost@example.com,Cost,,$2b$31$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\n\
         short@example.com\n",
    )
    .unwrap();
    refused_naming(
        dir.path(),
        &bad,
        &[
            (3, "email"),
            (4, "email_verified: expected true or false"),
            (6, "bcrypt cost 31 is above the limit"),
            (7, "not a CSV record"),
        ],
        2,
    );
    let unknown = dir.path().join("unknown.csv");
    std::fs::write(&unknown, "email,password\nx@example.com,hunter2\n").unwrap();
    let out = run_in(
        dir.path(),
        &["user", "import", unknown.to_str().unwrap()],
        CHEAP_HASH,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown column \"password\""));
    assert_eq!(
        export_hashes(dir.path(), CHEAP_HASH).len(),
        2,
        "nothing more"
    );
}

#[test]
fn an_import_killed_halfway_and_run_again_ends_with_every_user_once() {
    use std::io::BufRead;
    const USERS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.jsonl");
    let text: String = (0..USERS)
        .map(|i| {
            format!(
                "{}\n",
                json!({"email": format!("many{i}@example.com"), "email_verified": true})
            )
        })
        .collect();
    std::fs::write(&file, text).unwrap();

    let mut child = common::latchkey()
        .current_dir(dir.path())
        .args(["user", "import", file.to_str().unwrap()])
        .envs(CHEAP_HASH.iter().copied())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        let line = line.unwrap();
        if line.starts_with("imported ") {
            break; // the first tenth is in: kill -9 now
        }
    }
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success(), "killed, not finished");
    let first = lines(&run_in(dir.path(), &["user", "export"], CHEAP_HASH)).len();
    assert!(
        first > 0 && first < USERS,
        "killed halfway: {first} of {USERS}"
    );

    let out = run_in(
        dir.path(),
        &["user", "import", file.to_str().unwrap()],
        CHEAP_HASH,
    );
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.contains(&format!(
            "imported {} account(s); {first} were present already",
            USERS - first
        )),
        "{said}"
    );
    let users = lines(&run_in(dir.path(), &["user", "export"], CHEAP_HASH));
    let emails: BTreeSet<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(users.len(), USERS);
    assert_eq!(emails.len(), USERS, "each once");
}
