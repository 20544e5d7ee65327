//! Tests of keys, JWKs and JWT signing and verification, and the helpers
//! (keys, claims, forged tokens) the refusal tests share.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::*;

const NOW: i64 = 1_700_000_000;
const LEEWAY: i64 = 30;
const ISS: &str = "https://id.example";
const AUD: &str = "api";
const TYP: &str = "at+jwt";

fn v() -> Validation<'static> {
    Validation {
        issuer: ISS,
        audience: AUD,
        typ: TYP,
        now: NOW,
        leeway_secs: LEEWAY,
    }
}

/// One key per algorithm, generated once for all tests (RSA generation is slow).
struct Keys {
    ed: SigningKey,
    ec: SigningKey,
    rsa: SigningKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        ed: SigningKey::generate(Alg::EdDSA, "ed-1".into()).unwrap().0,
        ec: SigningKey::generate(Alg::ES256, "ec-1".into()).unwrap().0,
        rsa: SigningKey::generate(Alg::RS256, "rsa-1".into()).unwrap().0,
    })
}

impl Keys {
    fn all(&self) -> [&SigningKey; 3] {
        [&self.ed, &self.ec, &self.rsa]
    }
}

/// The verifier's key store: the three keys, looked up by kid through their
/// public JWKs (as a resource server would get them).
fn lookup(kid: &str) -> Option<VerifyingKey> {
    keys()
        .all()
        .into_iter()
        .find(|k| k.kid() == kid)
        .map(|k| VerifyingKey::from_jwk(&k.public_jwk()).unwrap())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Value,
    exp: i64,
    iat: i64,
    scope: String,
}

fn claims() -> Claims {
    Claims {
        iss: ISS.into(),
        sub: "user-1".into(),
        aud: json!(AUD),
        exp: NOW + 300,
        iat: NOW,
        scope: "openid".into(),
    }
}

fn claims_json() -> Value {
    serde_json::to_value(claims()).unwrap()
}

/// A standard header for `key`.
fn header(key: &SigningKey) -> Value {
    json!({"alg": key.alg().as_str(), "typ": TYP, "kid": key.kid()})
}

/// Assembles a token from raw JSON texts, signed by `key` whatever the header says.
fn forge_raw(header: &str, payload: &str, key: &SigningKey) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.as_bytes()),
        b64url_encode(payload.as_bytes())
    );
    let sig = key.sign_raw(input.as_bytes()).unwrap();
    format!("{input}.{}", b64url_encode(&sig))
}

fn forge(header: &Value, payload: &Value, key: &SigningKey) -> String {
    forge_raw(&header.to_string(), &payload.to_string(), key)
}

fn verify(token: &str) -> Result<Claims, VerifyError> {
    verify_jwt::<Claims>(token, lookup, &v())
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

#[test]
fn types_are_send_and_sync() {
    fn assert<T: Send + Sync>() {}
    assert::<SigningKey>();
    assert::<VerifyingKey>();
    assert::<Sealer>();
}

#[test]
fn alg_names() {
    for alg in [Alg::EdDSA, Alg::ES256, Alg::RS256] {
        assert_eq!(alg.as_str().parse::<Alg>(), Ok(alg));
        assert_eq!(alg.to_string(), alg.as_str());
        assert_eq!(serde_json::to_string(&alg).unwrap(), format!("\"{alg}\""));
        assert_eq!(
            serde_json::from_str::<Alg>(&format!("\"{alg}\"")).unwrap(),
            alg
        );
    }
    for bad in ["none", "eddsa", "es256", "HS256", "RS512", "PS256", ""] {
        assert_eq!(
            bad.parse::<Alg>(),
            Err(TokenError::UnsupportedAlgorithm),
            "{bad}"
        );
        assert!(serde_json::from_str::<Alg>(&format!("\"{bad}\"")).is_err());
    }
}

#[test]
fn round_trip_each_alg() {
    for key in keys().all() {
        let token = key.sign_jwt(TYP, &claims()).unwrap();
        // Through the published JWK, as a resource server does.
        let verifying = VerifyingKey::from_jwk(&key.public_jwk()).unwrap();
        assert_eq!((verifying.kid(), verifying.alg()), (key.kid(), key.alg()));
        let got: Claims = verify_jwt(&token, |_| Some(verifying.clone()), &v()).unwrap();
        assert_eq!(got, claims(), "{:?}", key.alg());
        // And through the signing key's own verifying key.
        let own = key.verifying_key();
        assert_eq!(
            verify_jwt::<Claims>(&token, |_| Some(own.clone()), &v()).unwrap(),
            claims()
        );
        // Arbitrary claim types come back too.
        let as_value: Value = verify_jwt(&token, lookup, &v()).unwrap();
        assert_eq!(as_value, claims_json());

        // The header is exactly {"alg","typ","kid"}, in that order.
        let header_b64 = token.split('.').next().unwrap();
        assert_eq!(
            String::from_utf8(b64url_decode(header_b64).unwrap()).unwrap(),
            format!(
                r#"{{"alg":"{}","typ":"at+jwt","kid":"{}"}}"#,
                key.alg(),
                key.kid()
            )
        );
        let h = decode_header_unverified(&token).unwrap();
        assert_eq!(
            h,
            Header {
                alg: key.alg().as_str().into(),
                kid: Some(key.kid().into()),
                typ: Some(TYP.into()),
                has_crit: false,
            }
        );
    }
}

#[test]
fn sign_jwt_requires_an_object() {
    let key = &keys().ed;
    assert!(key.sign_jwt(TYP, &"a string").is_err());
    assert!(key.sign_jwt(TYP, &vec![1, 2]).is_err());
    assert!(key.sign_jwt(TYP, &json!(null)).is_err());
    assert!(key.sign_jwt(TYP, &json!({})).is_ok());
}

#[test]
fn jwk_shapes() {
    let k = keys();
    let ed = k.ed.public_jwk();
    assert_eq!(
        (ed.kty.as_str(), ed.crv.as_deref()),
        ("OKP", Some("Ed25519"))
    );
    assert_eq!(ed.x.as_ref().unwrap().len(), 43);
    assert_eq!((&ed.y, &ed.n, &ed.e), (&None, &None, &None));

    let ec = k.ec.public_jwk();
    assert_eq!((ec.kty.as_str(), ec.crv.as_deref()), ("EC", Some("P-256")));
    assert_eq!(ec.x.as_ref().unwrap().len(), 43);
    assert_eq!(ec.y.as_ref().unwrap().len(), 43);
    assert_eq!((&ec.n, &ec.e), (&None, &None));

    let rsa = k.rsa.public_jwk();
    assert_eq!((rsa.kty.as_str(), rsa.crv.as_deref()), ("RSA", None));
    assert_eq!(rsa.e.as_deref(), Some("AQAB"));
    assert_eq!(rsa.n.as_ref().unwrap().len(), 512, "3072-bit modulus");
    assert_eq!((&rsa.x, &rsa.y), (&None, &None));

    for key in k.all() {
        let jwk = key.public_jwk();
        assert_eq!(jwk.kid, key.kid());
        assert_eq!(jwk.alg.as_deref(), Some(key.alg().as_str()));
        assert_eq!(jwk.use_.as_deref(), Some("sig"));
        // Serialized with "use", without nulls; parses back to the same JWK.
        let text = serde_json::to_string(&jwk).unwrap();
        assert!(
            text.contains(r#""use":"sig""#) && !text.contains("null"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Jwk>(&text).unwrap(), jwk);
    }
    let jwks = Jwks {
        keys: k.all().iter().map(|k| k.public_jwk()).collect(),
    };
    let parsed: Jwks = serde_json::from_str(&serde_json::to_string(&jwks).unwrap()).unwrap();
    assert_eq!(parsed.find("ec-1"), Some(&ec));
    assert_eq!(parsed.find("nope"), None);
    // A JWKS with keys this crate cannot use (no kid, other types) still parses.
    let foreign: Jwks = serde_json::from_str(
        r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"EC","crv":"P-521","kid":"x","x":"AA","y":"AA"},
            {"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB","x5c":["MIIB"],"key_ops":["verify"]}]}"#,
    )
    .unwrap();
    assert_eq!(foreign.keys[0].kid, "");
    assert!(
        foreign
            .keys
            .iter()
            .all(|k| VerifyingKey::from_jwk(k).is_err())
    );
}

#[test]
fn pkcs8_reload_signs_for_the_original_public_key() {
    for alg in [Alg::EdDSA, Alg::ES256, Alg::RS256] {
        let (original, der) = SigningKey::generate(alg, "k".into()).unwrap();
        let reloaded = SigningKey::from_pkcs8(alg, "k".into(), &der).unwrap();
        assert_eq!(reloaded.public_jwk(), original.public_jwk());
        let token = reloaded.sign_jwt(TYP, &claims()).unwrap();
        let public = VerifyingKey::from_jwk(&original.public_jwk()).unwrap();
        let got: Claims = verify_jwt(&token, |_| Some(public.clone()), &v()).unwrap();
        assert_eq!(got, claims());
        // The DER is only good for its own algorithm.
        for other in [Alg::EdDSA, Alg::ES256, Alg::RS256] {
            if other != alg {
                assert!(
                    matches!(
                        SigningKey::from_pkcs8(other, "k".into(), &der),
                        Err(TokenError::InvalidKey(_))
                    ),
                    "{alg} DER loaded as {other}"
                );
            }
        }
    }
    // A kid our own verifier would refuse is refused at load.
    let (_, der) = SigningKey::generate(Alg::EdDSA, "k".into()).unwrap();
    for kid in [String::new(), "k".repeat(129)] {
        assert!(matches!(
            SigningKey::from_pkcs8(Alg::EdDSA, kid, &der),
            Err(TokenError::InvalidKey(_))
        ));
    }
    assert!(SigningKey::from_pkcs8(Alg::EdDSA, "k".repeat(128), &der).is_ok());
    for garbage in [&b""[..], b"\x30\x00", &[0xff; 64]] {
        for alg in [Alg::EdDSA, Alg::ES256, Alg::RS256] {
            assert!(SigningKey::from_pkcs8(alg, "k".into(), garbage).is_err());
        }
    }
}

#[test]
fn debug_never_shows_key_material() {
    let k = keys();
    for key in k.all() {
        let text = format!("{key:?} {:?}", key.verifying_key());
        let jwk = key.public_jwk();
        for material in [jwk.x, jwk.y, jwk.n].into_iter().flatten() {
            assert!(!text.contains(&material[..16]), "{text}");
        }
        assert!(text.contains(key.kid()), "{text}");
    }
    assert_eq!(
        format!("{:?}", k.ed),
        r#"SigningKey { kid: "ed-1", alg: EdDSA, .. }"#
    );
}

#[test]
fn from_jwk_infers_alg_from_key_type() {
    for key in keys().all() {
        let mut jwk = key.public_jwk();
        jwk.alg = None;
        jwk.use_ = None;
        let verifying = VerifyingKey::from_jwk(&jwk).unwrap();
        assert_eq!(verifying.alg(), key.alg());
    }
}

#[test]
fn from_jwk_refusals() {
    let k = keys();
    let (ed, ec, rsa) = (k.ed.public_jwk(), k.ec.public_jwk(), k.rsa.public_jwk());
    // A leading zero octet in n is tolerated (same integer; some issuers emit one).
    let mut n = vec![0u8];
    n.extend(b64url_decode(rsa.n.as_ref().unwrap()).unwrap());
    assert!(
        VerifyingKey::from_jwk(&Jwk {
            n: Some(b64url_encode(&n)),
            ..rsa.clone()
        })
        .is_ok()
    );

    let s = |text: &str| Some(text.to_owned());
    let zeros = s(&b64url_encode(&[0u8; 32]));
    let unsupported = TokenError::UnsupportedAlgorithm;
    let invalid = TokenError::InvalidKey("");
    #[rustfmt::skip]
    let cases: Vec<(&str, Jwk, &TokenError)> = vec![
        ("alg HS256", Jwk { alg: s("HS256"), ..ed.clone() }, &unsupported),
        ("alg none", Jwk { alg: s("none"), ..ed.clone() }, &unsupported),
        ("OKP key says ES256", Jwk { alg: s("ES256"), ..ed.clone() }, &invalid),
        ("RSA key says EdDSA", Jwk { alg: s("EdDSA"), ..rsa.clone() }, &invalid),
        ("use enc", Jwk { use_: s("enc"), ..ed.clone() }, &invalid),
        ("kty oct", Jwk { kty: "oct".into(), ..ed.clone() }, &invalid),
        ("crv X25519", Jwk { crv: s("X25519"), ..ed.clone() }, &invalid),
        ("crv P-384", Jwk { crv: s("P-384"), ..ec.clone() }, &invalid),
        ("RSA with crv", Jwk { crv: s("P-256"), ..rsa.clone() }, &invalid),
        ("Ed25519 x missing", Jwk { x: None, ..ed.clone() }, &invalid),
        ("Ed25519 x short", Jwk { x: s(&b64url_encode(&[1; 31])), ..ed.clone() }, &invalid),
        ("Ed25519 x padded", Jwk { x: s(&format!("{}=", ed.x.as_ref().unwrap())), ..ed.clone() }, &invalid),
        ("EC y missing", Jwk { y: None, ..ec.clone() }, &invalid),
        ("EC point (0,0), not on the curve", Jwk { x: zeros.clone(), y: zeros.clone(), ..ec.clone() }, &invalid),
        ("EC y of another point", Jwk { y: zeros.clone(), ..ec.clone() }, &invalid),
        ("EC with n", Jwk { n: rsa.n.clone(), ..ec.clone() }, &invalid),
        ("RSA 1024-bit", Jwk { n: s(&b64url_encode(&[0xC5; 128])), ..rsa.clone() }, &invalid),
        ("RSA e missing", Jwk { e: None, ..rsa.clone() }, &invalid),
        ("RSA e zero", Jwk { e: s("AA"), ..rsa.clone() }, &invalid),
        ("RSA with x", Jwk { x: ed.x.clone(), ..rsa.clone() }, &invalid),
    ];
    for (name, jwk, expected) in cases {
        let got = VerifyingKey::from_jwk(&jwk).map(|_| ()).unwrap_err();
        let same_kind = std::mem::discriminant(&got) == std::mem::discriminant(expected);
        assert!(same_kind, "{name}: {got:?}");
    }
}

#[test]
fn accepted_variations() {
    let key = &keys().ed;
    let (h, c) = (header(key), claims_json());
    #[rustfmt::skip]
    let ok: Vec<(&str, Value, Value, Validation)> = vec![
        ("typ with application/ prefix", with(h.clone(), "typ", json!("application/at+jwt")), c.clone(), v()),
        ("typ in upper case", with(h.clone(), "typ", json!("AT+JWT")), c.clone(), v()),
        ("expected typ with prefix", h.clone(), c.clone(), Validation { typ: "application/at+jwt", ..v() }),
        ("aud array containing ours", h.clone(), with(c.clone(), "aud", json!(["other", AUD])), v()),
        ("exp just inside the leeway", h.clone(), with(c.clone(), "exp", json!(NOW - LEEWAY + 1)), v()),
        ("exp as a fraction", h.clone(), with(c.clone(), "exp", json!(NOW as f64 + 0.5)), v()),
        ("nbf at the leeway edge", h.clone(), with(c.clone(), "nbf", json!(NOW + LEEWAY)), v()),
        ("iat at the leeway edge", h.clone(), with(c.clone(), "iat", json!(NOW + LEEWAY)), v()),
        ("no iat", h.clone(), without(c.clone(), "iat"), v()),
        ("unknown claims", h.clone(), with(c.clone(), "cnf", json!({"jkt": "x"})), v()),
        ("jku, x5u, x5c headers ignored", with(with(with(h.clone(), "jku", json!("https://evil.example/jwks")), "x5u", json!("https://evil.example/c")), "x5c", json!(["MIIB"])), c.clone(), v()),
        ("kid of 128 chars", with(h.clone(), "kid", json!("k".repeat(128))), c.clone(), v()),
    ];
    for (name, h, payload, validation) in ok {
        let token = forge(&h, &payload, key);
        let kid = h["kid"].as_str().unwrap().to_owned();
        let found = |k: &str| (k == kid).then(|| key.verifying_key());
        let got: Result<Value, _> = verify_jwt(&token, found, &validation);
        assert!(got.is_ok(), "{name}: {got:?}");
    }
}

mod refusals;
