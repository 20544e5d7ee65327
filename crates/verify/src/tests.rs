use std::time::Duration;

use latchkey_tokens::{Alg, Jwks, SigningKey};
use serde_json::json;

use super::*;
use crate::jwks::max_age;

const ISS: &str = "https://id.example";

fn claims(acr: &str, auth_time: i64) -> AccessClaims {
    let now = unix_now();
    AccessClaims {
        iss: ISS.into(),
        sub: "u1".into(),
        aud: ISS.into(),
        exp: now + 600,
        iat: now,
        nbf: now,
        jti: "j".into(),
        sid: "s".into(),
        client_id: "c".into(),
        scope: "openid posts:read".into(),
        roles: vec!["user".into()],
        permissions: vec![],
        amr: vec!["pwd".into()],
        acr: acr.into(),
        auth_time,
    }
}

fn key() -> SigningKey {
    SigningKey::generate(Alg::EdDSA, "k1".into()).unwrap().0
}

fn verifier_for(key: &SigningKey, capacity: usize) -> Verifier {
    let mut config = Config::new(ISS, ISS).unwrap();
    config.cache_capacity = capacity;
    Verifier::with_keys(
        config,
        &Jwks {
            keys: vec![key.public_jwk()],
        },
    )
}

#[test]
fn cache_control_max_age() {
    for (header, expected) in [
        ("public, max-age=300", Some(300)),
        ("max-age=\"60\", must-revalidate", Some(60)),
        ("MAX-AGE=5", Some(5)),
        ("no-store", Some(0)),
        ("max-age=300, no-cache", Some(0)),
        ("public", None),
        ("max-age=soon", None),
    ] {
        assert_eq!(
            max_age(header),
            expected.map(Duration::from_secs),
            "{header}"
        );
    }
}

#[test]
fn aal_requirements() {
    let now = unix_now();
    for (acr, age, required, max, ok) in [
        ("aal2", 10, "aal2", None, true),
        ("aal1", 10, "aal2", None, false),
        ("aal2", 10, "aal1", None, true),
        ("aal2", 600, "aal2", Some(300), false),
        ("aal2", 100, "aal2", Some(300), true),
        ("", 10, "aal1", None, false),
        ("aal2", 10, "aal9", None, false),
    ] {
        let c = claims(acr, now - age);
        assert_eq!(
            check_aal(&c, required, max, now).is_ok(),
            ok,
            "{acr} {age} {required} {max:?}"
        );
    }
    let r = check_aal(&claims("aal1", now), "aal2", Some(300), now).unwrap_err();
    assert_eq!(
        r.challenge().unwrap(),
        "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger or more recent sign-in is required\", acr_values=\"aal2\", max_age=300"
    );
    assert_eq!(r.status(), 401);
}

#[test]
fn scopes_and_roles_match_whole_words() {
    let c = claims("aal1", unix_now());
    assert!(check_scope(&c, "posts:read").is_ok());
    assert_eq!(
        check_scope(&c, "posts"),
        Err(Rejection::InsufficientScope("posts"))
    );
    assert!(check_role(&c, "user").is_ok());
    assert_eq!(
        check_role(&c, "admin"),
        Err(Rejection::MissingRole("admin"))
    );
}

#[tokio::test]
async fn verifies_with_the_servers_rules_and_caches() {
    let key = key();
    let v = verifier_for(&key, 2);
    let good = key.sign_jwt("at+jwt", &claims("aal1", unix_now())).unwrap();
    assert_eq!(v.verify(&good).await.unwrap().sub, "u1");
    // cached: the same answer again
    assert_eq!(v.verify(&good).await.unwrap().sub, "u1");

    let id_token = key.sign_jwt("JWT", &claims("aal1", unix_now())).unwrap();
    assert_eq!(
        v.verify(&id_token).await,
        Err(Rejection::Invalid(VerifyError::Type))
    );
    let mut other_aud = serde_json::to_value(claims("aal1", unix_now())).unwrap();
    other_aud["aud"] = json!("https://other.example");
    let t = key.sign_jwt("at+jwt", &other_aud).unwrap();
    assert_eq!(
        v.verify(&t).await,
        Err(Rejection::Invalid(VerifyError::Audience))
    );
    let mut expired = claims("aal1", unix_now());
    expired.exp = unix_now() - 31;
    let t = key.sign_jwt("at+jwt", &expired).unwrap();
    assert_eq!(
        v.verify(&t).await,
        Err(Rejection::Invalid(VerifyError::Expired))
    );
    let stranger = SigningKey::generate(Alg::EdDSA, "k1".into()).unwrap().0;
    let t = stranger
        .sign_jwt("at+jwt", &claims("aal1", unix_now()))
        .unwrap();
    assert_eq!(
        v.verify(&t).await,
        Err(Rejection::Invalid(VerifyError::Signature))
    );
    // a tampered copy of a cached token is not a cache hit
    let mut tampered = good.clone();
    tampered.push('A');
    assert!(matches!(
        v.verify(&tampered).await,
        Err(Rejection::Invalid(_))
    ));
}

#[tokio::test]
async fn the_cache_stays_bounded() {
    let key = key();
    let v = verifier_for(&key, 3);
    for i in 0..10 {
        let mut c = claims("aal1", unix_now());
        c.jti = format!("j{i}");
        let t = key.sign_jwt("at+jwt", &c).unwrap();
        v.verify(&t).await.unwrap();
        assert!(v.inner.verified.read().unwrap().len() <= 3);
    }
}
