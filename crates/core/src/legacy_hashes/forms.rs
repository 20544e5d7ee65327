//! The imported forms: [`canonical`] turns what another system wrote
//! (passlib, Django, Werkzeug, better-auth, Firebase, Keycloak) into the one
//! stored form of its scheme.

use base64ct::{Base64, Base64Unpadded, Encoding};

use crate::password::check_stored_hash;

use super::*;

pub(super) fn enc(bytes: &[u8]) -> String {
    Base64Unpadded::encode_string(bytes)
}

pub(super) fn pbkdf2_form(digest: Digest, iterations: u32, salt: &[u8], hash: &[u8]) -> String {
    format!(
        "$pbkdf2-{}$i={iterations},l={}${}${}",
        digest.name(),
        hash.len(),
        enc(salt),
        enc(hash)
    )
}

pub(super) fn scrypt_form(
    n: u64,
    r: u32,
    p: u32,
    salt: &[u8],
    hash: &[u8],
) -> Result<String, LegacyHashError> {
    if !n.is_power_of_two() || n < 2 {
        return Err(LegacyHashError::Malformed("scrypt N is not a power of two"));
    }
    Ok(format!(
        "$scrypt$ln={},r={r},p={p}${}${}",
        n.trailing_zeros(),
        enc(salt),
        enc(hash)
    ))
}

/// Turns an imported hash in any accepted form into the form stored, or
/// says why not (the message names the limit, never the hash). argon2 PHC
/// strings are kept as they are (checked by [`check_stored_hash`]).
///
/// Accepted: argon2 PHC (also Django's `argon2$argon2id$…`); bcrypt
/// `$2a$`/`$2b$`/`$2y$`; scrypt PHC `$scrypt$ln=,r=,p=$…`; the Firebase form
/// `$firebase-scrypt$ln=MEM_COST,r=ROUNDS$SIGNER_KEY$SALT_SEPARATOR$SALT$HASH`
/// (base64 as Firebase shows it); passlib's `$pbkdf2$`, `$pbkdf2-sha256$` and
/// `$pbkdf2-sha512$` (`ROUNDS$SALT$HASH` in adapted base64) and the PHC form
/// `$pbkdf2-sha256$i=I,l=L$…`; Django `pbkdf2_sha256$I$SALT$HASH` and
/// `pbkdf2_sha1$…`; Werkzeug `pbkdf2:sha256:I$SALT$HEX` and
/// `scrypt:N:R:P$SALT$HEX`; better-auth `SALTHEX:KEYHEX` (scrypt N=16384,
/// r=16, p=1, 64 bytes).
pub fn canonical(input: &str) -> Result<String, LegacyHashError> {
    if input.len() > MAX_LEN {
        return Err(LegacyHashError::Malformed("longer than any supported hash"));
    }
    let stored = to_stored(input)?;
    if stored.starts_with("$argon2") {
        check_stored_hash(&stored).map_err(LegacyHashError::Argon2)?;
    } else {
        LegacyHash::parse(&stored)?;
    }
    Ok(stored)
}

pub(super) fn to_stored(input: &str) -> Result<String, LegacyHashError> {
    // Django's argon2 hasher prefixes the PHC string with its name.
    if let Some(phc) = input.strip_prefix("argon2$") {
        return Ok(phc.to_owned());
    }
    if input.starts_with("$argon2") {
        return Ok(input.to_owned());
    }
    if let Some(rest) = input.strip_prefix("pbkdf2_") {
        return django_pbkdf2(rest);
    }
    if let Some(rest) = input.strip_prefix("pbkdf2:") {
        return werkzeug_pbkdf2(rest);
    }
    if let Some(rest) = input.strip_prefix("scrypt:") {
        return werkzeug_scrypt(rest);
    }
    if let Some((salt, key)) = input.split_once(':')
        && salt.len() == 32
        && key.len() == 128
    {
        // better-auth: the salt's hex text is the salt.
        return scrypt_form(16384, 16, 1, salt.as_bytes(), &hex(key)?);
    }
    match scheme_id(input) {
        Some("pbkdf2" | "pbkdf2-sha1" | "pbkdf2-sha256" | "pbkdf2-sha512") => passlib_pbkdf2(input),
        Some("firebase-scrypt") => firebase(input),
        Some(_) => Ok(input.to_owned()),
        None => Err(LegacyHashError::Unsupported),
    }
}

/// passlib's `$pbkdf2[-sha256|-sha512]$ROUNDS$SALT$HASH` (adapted base64), or
/// a PHC `i=,l=` string kept as it is.
pub(super) fn passlib_pbkdf2(input: &str) -> Result<String, LegacyHashError> {
    let mut fields = input[1..].split('$');
    let scheme = fields.next().unwrap_or_default();
    let digest = match scheme {
        "pbkdf2" | "pbkdf2-sha1" => Digest::Sha1,
        "pbkdf2-sha256" => Digest::Sha256,
        _ => Digest::Sha512,
    };
    let rounds = fields
        .next()
        .ok_or(LegacyHashError::Malformed("fields missing"))?;
    if rounds.starts_with("i=") {
        return Ok(input.to_owned());
    }
    let iterations = iterations(rounds)?;
    let salt = lenient_b64(fields.next().ok_or(LegacyHashError::Malformed("no salt"))?)?;
    let hash = lenient_b64(fields.next().ok_or(LegacyHashError::Malformed("no hash"))?)?;
    if fields.next().is_some() {
        return Err(LegacyHashError::Malformed(
            "more fields than the scheme has",
        ));
    }
    Ok(pbkdf2_form(digest, iterations, &salt, &hash))
}

/// Django: `pbkdf2_sha256$ITERATIONS$SALT$BASE64` (the salt is text).
pub(super) fn django_pbkdf2(rest: &str) -> Result<String, LegacyHashError> {
    let mut fields = rest.split('$');
    let digest = fields
        .next()
        .and_then(Digest::from_name)
        .ok_or(LegacyHashError::Unsupported)?;
    let (Some(iterations), Some(salt), Some(hash), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(LegacyHashError::Malformed(
            "Django's form is pbkdf2_sha256$ITERATIONS$SALT$HASH",
        ));
    };
    let iterations = self::iterations(iterations)?;
    let hash = Base64::decode_vec(hash).map_err(|_| LegacyHashError::Malformed("not base64"))?;
    Ok(pbkdf2_form(digest, iterations, salt.as_bytes(), &hash))
}

/// Werkzeug: `pbkdf2:sha256:ITERATIONS$SALT$HEX` (the salt is text).
pub(super) fn werkzeug_pbkdf2(rest: &str) -> Result<String, LegacyHashError> {
    let (method, salt, hash) = werkzeug_parts(rest)?;
    let mut args = method.split(':');
    let digest = args
        .next()
        .and_then(Digest::from_name)
        .ok_or(LegacyHashError::Unsupported)?;
    // Werkzeug's default before 2.3 was 260,000 iterations with no number given.
    let iterations = match args.next() {
        Some(i) => iterations(i)?,
        None => 260_000,
    };
    Ok(pbkdf2_form(
        digest,
        iterations,
        salt.as_bytes(),
        &hex(hash)?,
    ))
}

/// Werkzeug: `scrypt:N:R:P$SALT$HEX` (the salt is text).
pub(super) fn werkzeug_scrypt(rest: &str) -> Result<String, LegacyHashError> {
    let (method, salt, hash) = werkzeug_parts(rest)?;
    let numbers: Vec<u64> = method.split(':').map(decimal).collect::<Result<_, _>>()?;
    let [n, r, p] = numbers[..] else {
        return Err(LegacyHashError::Malformed(
            "Werkzeug's form is scrypt:N:R:P$SALT$HEX",
        ));
    };
    let small = |v: u64| u32::try_from(v).map_err(|_| LegacyHashError::Malformed("out of range"));
    scrypt_form(n, small(r)?, small(p)?, salt.as_bytes(), &hex(hash)?)
}

pub(super) fn werkzeug_parts(rest: &str) -> Result<(&str, &str, &str), LegacyHashError> {
    let mut fields = rest.split('$');
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(m), Some(s), Some(h), None) if !s.is_empty() => Ok((m, s, h)),
        _ => Err(LegacyHashError::Malformed(
            "Werkzeug's form is METHOD$SALT$HEX",
        )),
    }
}

/// The Firebase form with base64 as Firebase shows it (padded) made canonical.
pub(super) fn firebase(input: &str) -> Result<String, LegacyHashError> {
    let mut fields = input[1..].split('$');
    let _ = fields.next();
    let params = fields
        .next()
        .ok_or(LegacyHashError::Malformed("no parameters"))?;
    let parts: Vec<String> = fields
        .map(|f| {
            Ok(enc(&Base64::decode_vec(&pad(f))
                .map_err(|_| LegacyHashError::Malformed("not base64"))?))
        })
        .collect::<Result<_, LegacyHashError>>()?;
    Ok(format!("$firebase-scrypt${params}${}", parts.join("$")))
}

pub(super) fn pad(text: &str) -> String {
    let mut t = text.to_owned();
    while !t.len().is_multiple_of(4) {
        t.push('=');
    }
    t
}

/// A Keycloak realm export's password credential (its `secretData` and
/// `credentialData` JSON strings) in the stored form: PBKDF2 (`pbkdf2`,
/// `pbkdf2-sha256`, `pbkdf2-sha512`) or argon2 with its parameters.
pub fn keycloak_credential(
    secret_data: &str,
    credential_data: &str,
) -> Result<String, LegacyHashError> {
    use serde_json::Value;
    let bad = |what: &'static str| LegacyHashError::Malformed(what);
    let secret: Value =
        serde_json::from_str(secret_data).map_err(|_| bad("secretData is not JSON"))?;
    let data: Value =
        serde_json::from_str(credential_data).map_err(|_| bad("credentialData is not JSON"))?;
    let b64 = |v: &Value| {
        v.as_str()
            .ok_or(bad("a base64 string missing"))
            .and_then(|s| Base64::decode_vec(s).map_err(|_| bad("not base64")))
    };
    let value = b64(&secret["value"])?;
    let salt = b64(&secret["salt"])?;
    let iterations = data["hashIterations"]
        .as_u64()
        .and_then(|i| u32::try_from(i).ok())
        .ok_or(bad("hashIterations missing"))?;
    let stored = match data["algorithm"].as_str() {
        Some("pbkdf2") => pbkdf2_form(Digest::Sha1, iterations, &salt, &value),
        Some("pbkdf2-sha256") => pbkdf2_form(Digest::Sha256, iterations, &salt, &value),
        Some("pbkdf2-sha512") => pbkdf2_form(Digest::Sha512, iterations, &salt, &value),
        Some("argon2") => {
            let extra = &data["additionalParameters"];
            let param = |k: &str| extra[k][0].as_str().map(str::to_owned);
            let variant = match param("type").as_deref() {
                None | Some("id") => "argon2id",
                Some("i") => "argon2i",
                Some("d") => "argon2d",
                Some(_) => return Err(bad("unknown argon2 type")),
            };
            let version = match param("version").as_deref() {
                None | Some("1.3") => 19,
                Some("1.0") => 16,
                Some(_) => return Err(bad("unknown argon2 version")),
            };
            let number = |k: &str, default: u32| match param(k) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .map_err(|_| bad("argon2 parameter not a number")),
            };
            format!(
                "${variant}$v={version}$m={},t={iterations},p={}${}${}",
                number("memory", 7168)?,
                number("parallelism", 1)?,
                enc(&salt),
                enc(&value)
            )
        }
        _ => return Err(LegacyHashError::Unsupported),
    };
    canonical(&stored)
}
