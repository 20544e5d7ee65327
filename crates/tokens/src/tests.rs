//! Tests of keys, JWKs and JWT signing and verification: every refusal of
//! `verify_jwt` is tried here with the variant it must produce.

use std::cell::Cell;
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

// The exact refusal details, so each case is known to fail for its own reason.
const TOO_LONG: &str = "token too long";
const SEGMENTS: &str = "not three segments";
const HEADER_B64: &str = "header is not base64url";
const PAYLOAD_B64: &str = "payload is not base64url";
const SIG_B64: &str = "signature is not base64url";
const NOT_OBJECT: &str = "header is not a JSON object";
const HEADER: &str = "invalid header";
const CRIT: &str = "crit header is not supported";
const EXP_MISSING: &str = "exp is missing";
const MISTYPED: &str = "a registered claim is duplicated or mistyped";
const CLAIMS_NOT_OBJECT: &str = "claims are not a JSON object";
const WRONG_TYPE: &str = "claims do not match the expected type";

/// Every refusal, with the variant it must produce.
#[test]
fn refusals() {
    let cases = refusal_cases();
    assert!(cases.len() > 90, "{}", cases.len());
    for (name, token, expected) in &cases {
        let got = verify(token).map(|_| ());
        assert_eq!(got, Err(expected.clone()), "{name}");
    }
}

#[rustfmt::skip]
fn refusal_cases() -> Vec<(String, String, VerifyError)> {
    use VerifyError::*;
    let k = keys();
    let ed = &k.ed;
    let good = ed.sign_jwt(TYP, &claims()).unwrap();
    let segs: Vec<&str> = good.split('.').collect();
    let (h64, p64, s64) = (segs[0], segs[1], segs[2]);
    let hdr = header(ed);
    let c = claims_json();
    // A token signed by the EdDSA key with one header member set / removed.
    let h_set = |name: &str, value: Value| forge(&with(hdr.clone(), name, value), &c, ed);
    let h_del = |name: &str| forge(&without(hdr.clone(), name), &c, ed);
    // Likewise with one claim set / removed.
    let c_set = |name: &str, value: Value| forge(&hdr, &with(c.clone(), name, value), ed);
    let c_del = |name: &str| forge(&hdr, &without(c.clone(), name), ed);

    let mut cases: Vec<(String, String, VerifyError)> = Vec::new();
    let mut case = |name: &str, token: String, expected: VerifyError| {
        cases.push((name.to_owned(), token, expected));
    };

    // --- algorithm ---
    let none_header = b64url_encode(with(hdr.clone(), "alg", json!("none")).to_string().as_bytes());
    case("alg none, empty signature", format!("{none_header}.{p64}."), Algorithm);
    for alg in [
        "none", "None", "NONE", "nOnE", "", "HS256", "HS384", "HS512", "RS384", "RS512", "ES384",
        "ES512", "ES256K", "PS256", "PS512", "eddsa", "EDDSA", "Ed25519", "es256", "rs256",
    ] {
        case(&format!("alg {alg:?} (signed by the EdDSA key)"), h_set("alg", json!(alg)), Algorithm);
    }
    // Header alg swapped to a supported alg other than the key's.
    for (alg, kid_of, signer) in [
        ("ES256", ed, &k.ec),
        ("ES256", ed, ed),
        ("RS256", &k.ec, &k.rsa),
        ("EdDSA", &k.rsa, ed),
        ("EdDSA", &k.ec, ed),
    ] {
        let h = json!({"alg": alg, "typ": TYP, "kid": kid_of.kid()});
        case(&format!("alg {alg} with the {} key's kid", kid_of.alg()), forge(&h, &c, signer), Algorithm);
    }

    // --- type ---
    for typ in ["JWT", "jwt", "id_token+jwt", "at+jwt ", "application/JWT", "at-jwt", ""] {
        case(&format!("typ {typ:?}"), h_set("typ", json!(typ)), Type);
    }
    case("typ missing", h_del("typ"), Type);

    // --- key lookup ---
    case("unknown kid", h_set("kid", json!("ed-2")), UnknownKey);
    case("kid is a path", h_set("kid", json!("../../../dev/null")), UnknownKey);
    case("kid missing", h_del("kid"), UnknownKey);
    case("kid empty", h_set("kid", json!("")), UnknownKey);
    case("kid of 129 chars", h_set("kid", json!("k".repeat(129))), UnknownKey);

    // --- malformed header ---
    case("crit header", h_set("crit", json!(["exp"])), Malformed(CRIT));
    case("crit null", h_set("crit", json!(null)), Malformed(CRIT));
    case("kid not a string", h_set("kid", json!(7)), Malformed(HEADER));
    case("kid null", h_set("kid", json!(null)), Malformed(HEADER));
    case("typ null", h_set("typ", json!(null)), Malformed(HEADER));
    case("alg not a string", h_set("alg", json!(["EdDSA"])), Malformed(HEADER));
    case("alg missing", h_del("alg"), Malformed(HEADER));
    case("duplicate alg", forge_raw(r#"{"alg":"EdDSA","typ":"at+jwt","kid":"ed-1","alg":"none"}"#, &c.to_string(), ed), Malformed(HEADER));
    case("header is an array", forge_raw(r#"["EdDSA","ed-1","at+jwt",false]"#, &c.to_string(), ed), Malformed(NOT_OBJECT));
    case("header is a string", forge_raw(r#""EdDSA""#, &c.to_string(), ed), Malformed(NOT_OBJECT));
    case("header not JSON", forge_raw("alg=EdDSA", &c.to_string(), ed), Malformed(NOT_OBJECT));

    // --- shape and encoding ---
    case("extra segment", format!("{good}.{s64}"), Malformed(SEGMENTS));
    case("JWE-like five segments", format!("{h64}..{p64}.{s64}.{s64}"), Malformed(SEGMENTS));
    case("two segments", format!("{h64}.{p64}"), Malformed(SEGMENTS));
    case("one segment", h64.to_owned(), Malformed(SEGMENTS));
    case("padding on signature", format!("{good}="), Malformed(SIG_B64));
    case("padding on header", format!("{h64}=.{p64}.{s64}"), Malformed(HEADER_B64));
    case("standard alphabet", format!("{h64}.{p64}.{}+", s64.replace('-', "+").replace('_', "/")), Malformed(SIG_B64));
    case("whitespace", format!("{h64}. {p64}.{s64}"), Malformed(PAYLOAD_B64));
    case("trailing newline", format!("{good}\n"), Malformed(SIG_B64));
    // Ed25519 signatures are 64 bytes: 86 characters, the last carrying 4
    // unused bits. Setting one of them decodes to the same bytes, non-canonically.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = alphabet.iter().position(|&b| b == s64.as_bytes()[s64.len() - 1]).unwrap();
    let non_canonical = char::from(alphabet[last | 1]);
    case("non-canonical base64 in signature", format!("{h64}.{p64}.{}{non_canonical}", &s64[..s64.len() - 1]), Malformed(SIG_B64));
    case("over 16 KiB (validly signed)", c_set("pad", json!("x".repeat(MAX_TOKEN_LEN))), Malformed(TOO_LONG));
    case("over 16 KiB of dots", ".".repeat(MAX_TOKEN_LEN + 1), Malformed(TOO_LONG));

    // --- signature ---
    let other_char = |s: &str, at: usize| {
        let flipped = if &s[at..=at] == "A" { "B" } else { "A" };
        format!("{}{flipped}{}", &s[..at], &s[at + 1..])
    };
    case("tampered payload (one char)", format!("{h64}.{}.{s64}", other_char(p64, p64.len() / 2)), Signature);
    case("tampered signature (one char)", format!("{h64}.{p64}.{}", other_char(s64, 10)), Signature);
    case("payload of another token", format!("{h64}.{}.{s64}", b64url_encode(with(c.clone(), "sub", json!("admin")).to_string().as_bytes())), Signature);
    case("empty signature", format!("{h64}.{p64}."), Signature);
    for key in k.all() {
        let token = key.sign_jwt(TYP, &claims()).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = b64url_decode(sig).unwrap();
        for keep in [sig.len() - 1, sig.len() / 2, 1] {
            let truncated = format!("{input}.{}", b64url_encode(&sig[..keep]));
            case(&format!("{} signature truncated to {keep} bytes", key.alg()), truncated, Signature);
        }
        let other = SigningKey::generate(key.alg(), key.kid().into()).unwrap().0;
        case(&format!("{} signed by another key with the same kid", key.alg()), other.sign_jwt(TYP, &claims()).unwrap(), Signature);
    }

    // --- claims ---
    case("expired at the leeway boundary", c_set("exp", json!(NOW - LEEWAY)), Expired);
    case("expired long ago", c_set("exp", json!(0)), Expired);
    case("exp negative", c_set("exp", json!(-1)), Expired);
    case("nbf in the future", c_set("nbf", json!(NOW + LEEWAY + 1)), NotYetValid);
    case("iat in the future", c_set("iat", json!(NOW + 3600)), NotYetValid);
    case("wrong iss", c_set("iss", json!("https://evil.example")), Issuer);
    case("iss with trailing slash", c_set("iss", json!(format!("{ISS}/"))), Issuer);
    case("iss in other case", c_set("iss", json!(ISS.to_uppercase())), Issuer);
    case("iss missing", c_del("iss"), Issuer);
    case("aud string mismatch", c_set("aud", json!("other")), Audience);
    case("aud array mismatch", c_set("aud", json!(["a", "b"])), Audience);
    case("aud empty array", c_set("aud", json!([])), Audience);
    case("aud prefix", c_set("aud", json!("ap")), Audience);
    case("aud missing", c_del("aud"), Audience);
    case("exp missing", c_del("exp"), Claims(EXP_MISSING));
    case("exp null", c_set("exp", json!(null)), Claims(MISTYPED));
    case("exp a string", c_set("exp", json!((NOW + 300).to_string())), Claims(MISTYPED));
    case("nbf a string", c_set("nbf", json!("0")), Claims(MISTYPED));
    case("iss a number", c_set("iss", json!(1)), Claims(MISTYPED));
    case("aud a number", c_set("aud", json!(1)), Claims(MISTYPED));
    case("aud array of numbers", c_set("aud", json!([1])), Claims(MISTYPED));
    case("claims an array", forge(&hdr, &json!([ISS, "user-1", AUD, NOW + 300, NOW, "openid"]), ed), Claims(CLAIMS_NOT_OBJECT));
    case("claims not JSON", forge_raw(&hdr.to_string(), "exp=1", ed), Claims(CLAIMS_NOT_OBJECT));
    case("duplicate exp", forge_raw(&hdr.to_string(), &format!(r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"exp":{}}}"#, NOW + 300, NOW - 300), ed), Claims(MISTYPED));
    case("claims lack a field the caller needs", c_del("scope"), Claims(WRONG_TYPE));
    cases
}

/// ES256 in JWS is fixed-width `r || s`; an ASN.1 DER signature of the right
/// input by the right key is refused.
#[test]
fn es256_der_signature_is_refused() {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let der = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .unwrap();
    let fixed = SigningKey::from_pkcs8(Alg::ES256, "ec-der".into(), der.as_ref()).unwrap();
    let asn1 = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        der.as_ref(),
    )
    .unwrap();
    let input = format!(
        "{}.{}",
        b64url_encode(header(&fixed).to_string().as_bytes()),
        b64url_encode(claims_json().to_string().as_bytes())
    );
    let public = fixed.verifying_key();
    let lookup = |_: &str| Some(public.clone());
    let der_sig = asn1.sign(&rng, input.as_bytes()).unwrap();
    let token = format!("{input}.{}", b64url_encode(der_sig.as_ref()));
    assert_eq!(
        verify_jwt::<Value>(&token, lookup, &v()),
        Err(VerifyError::Signature)
    );
    // The same input signed r||s verifies (the test is not vacuous).
    let token = format!(
        "{input}.{}",
        b64url_encode(&fixed.sign_raw(input.as_bytes()).unwrap())
    );
    assert!(verify_jwt::<Value>(&token, lookup, &v()).is_ok());
}

/// The HS256 attack: an HMAC "signature" keyed with the public key, in every
/// encoding an attacker might guess the verifier would use as the secret.
#[test]
fn hs256_keyed_with_the_public_key_is_refused() {
    for key in keys().all() {
        let jwk = key.public_jwk();
        let verifying = key.verifying_key();
        let mut secrets: Vec<Vec<u8>> = verifying.public_key_encodings();
        let spki = secrets[1].clone();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &spki)
        );
        secrets.push(pem.as_bytes().to_vec());
        secrets.push(pem.trim_end().as_bytes().to_vec());
        secrets.push(serde_json::to_vec(&jwk).unwrap());
        secrets.push(
            serde_json::to_vec(&Jwks {
                keys: vec![jwk.clone()],
            })
            .unwrap(),
        );
        for member in [&jwk.x, &jwk.n].into_iter().flatten() {
            secrets.push(member.as_bytes().to_vec());
            secrets.push(b64url_decode(member).unwrap());
        }
        for secret in secrets {
            for alg in ["HS256", "hs256"] {
                let h = json!({"alg": alg, "typ": TYP, "kid": key.kid()});
                let input = format!(
                    "{}.{}",
                    b64url_encode(h.to_string().as_bytes()),
                    b64url_encode(claims_json().to_string().as_bytes())
                );
                let tag = aws_lc_rs::hmac::sign(
                    &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
                    input.as_bytes(),
                );
                let token = format!("{input}.{}", b64url_encode(tag.as_ref()));
                assert_eq!(
                    verify(&token),
                    Err(VerifyError::Algorithm),
                    "{} {alg}",
                    key.alg()
                );
            }
        }
    }
}

/// A token that carries its own key (`jwk` header) and is signed by it is
/// never verified with that key.
#[test]
fn embedded_jwk_is_never_used() {
    let attacker = SigningKey::generate(Alg::EdDSA, "attacker".into())
        .unwrap()
        .0;
    let embedded = serde_json::to_value(attacker.public_jwk()).unwrap();
    for kid in ["attacker", "ed-1"] {
        let h = json!({"alg": "EdDSA", "typ": TYP, "kid": kid, "jwk": embedded, "jku": "https://evil.example/jwks.json"});
        let token = forge(&h, &claims_json(), &attacker);
        let expected = if kid == "attacker" {
            VerifyError::UnknownKey
        } else {
            VerifyError::Signature
        };
        assert_eq!(verify(&token), Err(expected), "kid {kid}");
    }
    // Likewise x5c (a certificate chain is not a key source here).
    let h = json!({"alg": "EdDSA", "typ": TYP, "kid": "ed-1", "x5c": ["MIIBIjANBgkq"]});
    assert_eq!(
        verify(&forge(&h, &claims_json(), &attacker)),
        Err(VerifyError::Signature)
    );
}

/// `kid` is handed to the lookup closure verbatim, and only when acceptable;
/// the closure is not called for tokens refused earlier.
#[test]
fn kid_is_only_a_lookup_key() {
    let ed = &keys().ed;
    let calls = Cell::new(0);
    let seen = std::cell::RefCell::new(Vec::new());
    let spy = |kid: &str| {
        calls.set(calls.get() + 1);
        seen.borrow_mut().push(kid.to_owned());
        None
    };
    for kid in [
        "../../etc/passwd",
        "' OR 1=1 --",
        "https://evil.example/key",
    ] {
        let token = forge(&with(header(ed), "kid", json!(kid)), &claims_json(), ed);
        assert_eq!(
            verify_jwt::<Value>(&token, spy, &v()),
            Err(VerifyError::UnknownKey)
        );
    }
    assert_eq!(
        *seen.borrow(),
        [
            "../../etc/passwd",
            "' OR 1=1 --",
            "https://evil.example/key"
        ]
    );
    calls.set(0);
    for h in [
        with(header(ed), "kid", json!("k".repeat(129))),
        with(header(ed), "alg", json!("none")),
        with(header(ed), "typ", json!("JWT")),
        with(header(ed), "crit", json!(["b64"])),
    ] {
        let _ = verify_jwt::<Value>(&forge(&h, &claims_json(), ed), spy, &v());
    }
    assert_eq!(calls.get(), 0);
}

#[test]
fn an_empty_expected_typ_matches_nothing() {
    let ed = &keys().ed;
    for typ in ["", "application/"] {
        let token = forge(&with(header(ed), "typ", json!(typ)), &claims_json(), ed);
        let got = verify_jwt::<Value>(&token, lookup, &Validation { typ, ..v() });
        assert_eq!(got, Err(VerifyError::Type), "{typ:?}");
    }
}

#[test]
fn leeway_is_applied_and_never_negative() {
    let ed = &keys().ed;
    let token = forge(&header(ed), &with(claims_json(), "exp", json!(NOW)), ed);
    for (leeway, expected) in [
        (0, Err(VerifyError::Expired)),
        (-100, Err(VerifyError::Expired)),
        (1, Ok(())),
    ] {
        let got = verify_jwt::<Value>(
            &token,
            lookup,
            &Validation {
                leeway_secs: leeway,
                ..v()
            },
        )
        .map(|_| ());
        assert_eq!(got, expected, "leeway {leeway}");
    }
    for (now, leeway) in [(i64::MAX, i64::MAX), (i64::MIN, i64::MAX), (0, i64::MIN)] {
        let _ = verify_jwt::<Value>(
            &token,
            lookup,
            &Validation {
                now,
                leeway_secs: leeway,
                ..v()
            },
        );
    }
}

#[test]
fn decode_header_unverified_reads_but_proves_nothing() {
    let h = decode_header_unverified(&format!(
        "{}.e30.",
        b64url_encode(br#"{"alg":"none","kid":"x","crit":["b64"],"jku":"https://e"}"#)
    ))
    .unwrap();
    assert_eq!(
        h,
        Header {
            alg: "none".into(),
            kid: Some("x".into()),
            typ: None,
            has_crit: true
        }
    );
    for bad in ["", "a.b", "e30.e30.e30.e30", "W10.e30.", "!!.e30."] {
        assert!(
            matches!(
                decode_header_unverified(bad),
                Err(VerifyError::Malformed(_))
            ),
            "{bad}"
        );
    }
}

/// A tiny deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random inputs of several kinds must all be refused, without panicking.
#[test]
fn garbage_is_refused_without_panic() {
    let k = keys();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let good: Vec<String> = k
        .all()
        .iter()
        .map(|key| key.sign_jwt(TYP, &claims()).unwrap())
        .collect();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"";
    for fixed in [
        "", ".", "..", "...", "....", "a.b.c", "\0", "e30.e30.", "e30..", ".e30.", "..e30",
    ] {
        assert!(verify(fixed).is_err(), "{fixed:?}");
    }
    for i in 0..3000 {
        let token = match i % 4 {
            // Random bytes, as (lossy) text.
            0 => {
                let len = rng.below(200);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            // Random strings over the token alphabet.
            1 => {
                let len = rng.below(300);
                (0..len)
                    .map(|_| char::from(alphabet[rng.below(alphabet.len())]))
                    .collect()
            }
            // Three random base64url segments of JSON-ish content.
            2 => {
                let mut seg = || {
                    let len = rng.below(60);
                    let bytes: Vec<u8> = (0..len)
                        .map(|_| b"{}[]\":,01aelnrstu "[rng.below(18)])
                        .collect();
                    b64url_encode(&bytes)
                };
                format!("{}.{}.{}", seg(), seg(), seg())
            }
            // A valid token with one to three characters changed.
            _ => {
                let mut bytes = good[rng.below(good.len())].clone().into_bytes();
                for _ in 0..=rng.below(3) {
                    let at = rng.below(bytes.len());
                    let mut ch = alphabet[rng.below(alphabet.len())];
                    while ch == bytes[at] {
                        ch = alphabet[rng.below(alphabet.len())];
                    }
                    bytes[at] = ch;
                }
                String::from_utf8(bytes).unwrap()
            }
        };
        assert!(verify(&token).is_err(), "accepted {token:?}");
        let _ = decode_header_unverified(&token);
    }
    for token in &good {
        assert!(verify(token).is_ok());
    }
}

/// Deeply nested JSON (within the length cap) never overflows the stack:
/// skipped members are skipped iteratively, and parsed ones hit serde_json's
/// depth limit and are refused.
#[test]
fn deep_nesting_is_handled() {
    let ed = &keys().ed;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    // In an ignored header member of a validly signed token: skipped, accepted.
    let nested_header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"ed-1","x":{deep}}}"#);
    let token = forge_raw(&nested_header, &claims_json().to_string(), ed);
    assert!(token.len() <= MAX_TOKEN_LEN);
    assert_eq!(verify(&token), Ok(claims()));
    // In a header member that is parsed: refused.
    let nested_alg = format!(r#"{{"alg":{deep},"typ":"at+jwt","kid":"ed-1"}}"#);
    let token = forge_raw(&nested_alg, &claims_json().to_string(), ed);
    assert_eq!(verify(&token), Err(VerifyError::Malformed(HEADER)));
    // In the claims, parsed into a generic value: refused.
    let payload = format!(
        r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"x":{deep}}}"#,
        NOW + 300
    );
    let token = forge_raw(&header(ed).to_string(), &payload, ed);
    assert!(token.len() <= MAX_TOKEN_LEN);
    assert_eq!(
        verify_jwt::<Value>(&token, lookup, &v()),
        Err(VerifyError::Claims(WRONG_TYPE))
    );
}
