use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use super::*;
use crate::password::check_stored_hash;

/// Hashes made by each format's own tool (scripts/import-fixtures/generate.py).
const FORMATS: &str = include_str!("../../../server/tests/fixtures/import/formats.jsonl");
const AUTH0: &str = include_str!("../../../server/tests/fixtures/import/auth0-export.jsonl");
const KEYCLOAK: &str = include_str!("../../../server/tests/fixtures/import/keycloak-realm.json");

fn matches(stored: &str, password: &str) -> bool {
    let secret: String = password.nfkc().collect();
    if stored.starts_with("$argon2") {
        return check_stored_hash(stored).is_ok();
    }
    LegacyHash::parse(stored)
        .unwrap()
        .verify(secret.as_bytes())
        .unwrap()
}

fn fixtures() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for line in FORMATS.lines().chain(AUTH0.lines()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let hash = v["password_hash"]
            .as_str()
            .or(v["passwordHash"].as_str())
            .unwrap();
        out.push((
            v["test_format"].as_str().unwrap().to_owned(),
            hash.to_owned(),
            v["test_password"].as_str().unwrap().to_owned(),
        ));
    }
    let realm: Value = serde_json::from_str(KEYCLOAK).unwrap();
    for u in realm["users"].as_array().unwrap() {
        let c = &u["credentials"][0];
        let stored = keycloak_credential(
            c["secretData"].as_str().unwrap(),
            c["credentialData"].as_str().unwrap(),
        )
        .unwrap();
        out.push((
            u["username"].as_str().unwrap().to_owned(),
            stored,
            u["test_password"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

#[test]
fn every_tools_hash_becomes_a_stored_form_that_verifies_its_password_only() {
    let all = fixtures();
    assert!(all.len() >= 20, "{}", all.len());
    for (format, input, password) in &all {
        let stored = canonical(input).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(canonical(&stored).as_ref(), Ok(&stored), "{format}: stable");
        assert!(matches(&stored, password), "{format}: the right password");
        if is_legacy(&stored) {
            let parsed = LegacyHash::parse(&stored).unwrap();
            assert!(!parsed.verify(b"not the password").unwrap(), "{format}");
            assert!(!parsed.verify(b"").unwrap(), "{format}");
        }
    }
}

#[test]
fn the_stored_forms_name_their_scheme() {
    let schemes: Vec<(String, Option<LegacyFormat>)> = fixtures()
        .iter()
        .map(|(f, input, _)| {
            let stored = canonical(input).unwrap();
            (
                f.clone(),
                LegacyFormat::of_scheme(scheme_id(&stored).unwrap()),
            )
        })
        .collect();
    let of = |name: &str| schemes.iter().find(|(f, _)| f == name).unwrap().1;
    assert_eq!(of("bcrypt-2y"), Some(LegacyFormat::Bcrypt));
    assert_eq!(of("auth0"), Some(LegacyFormat::Bcrypt));
    assert_eq!(of("better-auth"), Some(LegacyFormat::Scrypt));
    assert_eq!(of("werkzeug-scrypt"), Some(LegacyFormat::Scrypt));
    assert_eq!(of("firebase-scrypt"), Some(LegacyFormat::FirebaseScrypt));
    assert_eq!(of("django-pbkdf2-sha1"), Some(LegacyFormat::Pbkdf2Sha1));
    assert_eq!(of("werkzeug-pbkdf2"), Some(LegacyFormat::Pbkdf2Sha256));
    assert_eq!(of("kc-sha512"), Some(LegacyFormat::Pbkdf2Sha512));
    assert_eq!(of("kc-argon2"), None, "argon2id is latchkey's own");
    let tally = LegacyFormat::tally(&[
        ("2b".into(), 3),
        ("2y".into(), 1),
        ("argon2id".into(), 9),
        ("pbkdf2-sha256".into(), 2),
    ]);
    assert_eq!(tally.len(), LegacyFormat::ALL.len());
    assert!(tally.contains(&(LegacyFormat::Bcrypt, 4)));
    assert!(tally.contains(&(LegacyFormat::Pbkdf2Sha256, 2)));
    assert!(tally.contains(&(LegacyFormat::Scrypt, 0)));
}

#[test]
fn costs_past_the_caps_are_refused_with_the_limit_named() {
    let bcrypt31 = "$2b$31$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKtC";
    let cases = [
        (bcrypt31.to_owned(), "bcrypt cost 31 is above the limit of 16"),
        (
            "pbkdf2_sha256$1000000000$ZGPnXQqHzfHFUrbRGCvQTJ$AsYhARL4g9D1e+jWvs6OsR0uyWd437UFstPl/ILk3Ro=".into(),
            "PBKDF2 iterations 1000000000 are above the limit of 10000000",
        ),
        (
            "$pbkdf2-sha512$1000000000$.l/LGQOglLJ2rtXaW0sJYQ$sZ8An3YVjdQsrR3DVeSiRNxMV4P4SJLcxM0jkHH".into(),
            "above the limit of 10000000",
        ),
        (
            "$scrypt$ln=24,r=8,p=1$xFirNYawtpby3ruX0tq7lw$CYvrK65IQtjOB8yqixHsY/KtZ87kjrNYuSApt3cUctQ".into(),
            "scrypt memory",
        ),
        (
            "$scrypt$ln=20,r=8,p=16$xFirNYawtpby3ruX0tq7lw$CYvrK65IQtjOB8yqixHsY/KtZ87kjrNYuSApt3cUctQ".into(),
            "scrypt work",
        ),
    ];
    for (input, expected) in cases {
        let err = canonical(&input).unwrap_err();
        assert!(
            matches!(err, LegacyHashError::OverCap(_)),
            "{input}: {err:?}"
        );
        assert!(err.to_string().contains(expected), "{input}: {err}");
        let shown = err.to_string();
        assert!(
            !shown.contains("pCLKlc") && !shown.contains("ZGPnXQ"),
            "{shown}"
        );
    }
    // The same caps hold at sign-in for a row written some other way.
    assert!(matches!(
        LegacyHash::parse(bcrypt31),
        Err(LegacyHashError::OverCap(_))
    ));
    assert!(canonical("$2b$16$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKtC").is_ok());
}

#[test]
fn malformed_and_unknown_hashes_are_refused_without_panic() {
    for input in [
        "",
        "plain text",
        "$",
        "$$",
        "$2b$",
        "$2x$05$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKtC",
        "$2b$05$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKt",
        "$2b$5x$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKtC",
        "$2b$03$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKtC",
        "$2b$05$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKé",
        "$scrypt$ln=0,r=8,p=1$c2FsdA$aGFzaA",
        "$scrypt$ln=10,r=0,p=1$c2FsdA$aGFzaA",
        "$scrypt$ln=10,r=8$c2FsdA$aGFzaA",
        "$scrypt$ln=10,r=8,p=1,x=2$c2FsdA$aGFzaA",
        "$scrypt$r=8,ln=10,p=1$c2FsdA$aGFzaA",
        "$scrypt$ln=010,r=8,p=1$c2FsdA$aGFzaA",
        "$scrypt$ln=10,r=8,p=1$$aGFzaA",
        "$scrypt$ln=10,r=8,p=1$c2FsdA$aGFzaA$more",
        "$scrypt$ln=10,r=8,p=1$c2FsdA==$aGFzaA",
        "$pbkdf2-sha256$i=0,l=4$c2FsdA$aGFzaA",
        "$pbkdf2-sha256$i=10,l=5$c2FsdA$aGFzaA",
        "$pbkdf2-md5$i=10,l=4$c2FsdA$aGFzaA",
        "$pbkdf2-sha256$99999999999$c2FsdA$aGFzaA",
        "$firebase-scrypt$ln=14,r=8$a2V5$$c2FsdA",
        "pbkdf2_sha256$10$salt",
        "pbkdf2_md5$10$salt$aGFzaA==",
        "pbkdf2:sha256:10$$abcd",
        "pbkdf2:sha256:10$salt$xyz",
        "scrypt:1000:8:1$salt$abcd",
        "scrypt:1024:8$salt$abcd",
        "0123456789abcdef0123456789abcdef:zz",
        "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    ] {
        assert!(canonical(input).is_err(), "{input:?} accepted");
        if is_legacy(input) {
            assert!(LegacyHash::parse(input).is_err(), "{input:?} parsed");
        }
    }
    let long = format!("$2b$05${}", "a".repeat(600));
    assert!(canonical(&long).is_err());
    assert!(keycloak_credential("{}", "{}").is_err());
    assert!(keycloak_credential("not json", "{}").is_err());
    assert!(
        keycloak_credential(
            r#"{"value":"aGFzaA==","salt":"c2FsdA=="}"#,
            r#"{"hashIterations":1000000000,"algorithm":"pbkdf2-sha256"}"#
        )
        .is_err_and(|e| matches!(e, LegacyHashError::OverCap(_)))
    );
}
