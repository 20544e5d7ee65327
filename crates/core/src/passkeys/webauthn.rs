//! The relying party's checks of a WebAuthn ceremony (W3C WebAuthn Level 3,
//! §7.1 registration and §7.2 authentication), on aws-lc-rs.
//!
//! What is checked, in the order of the specification: the client data's
//! `type`, `challenge` (the caller has taken it, single use, from the store)
//! and `origin` (one of the configured origins; `crossOrigin` and
//! `topOrigin` refused); the authenticator data's RP ID hash, user presence,
//! user verification when required, the backup flags' consistency; at
//! registration the credential's COSE public key (ES256, EdDSA, RS256), at
//! authentication the signature over `authenticatorData ||
//! SHA-256(clientDataJSON)`. Attestation statements are not verified:
//! latchkey asks for `attestation: "none"` and trusts no authenticator
//! maker, so `attStmt` is ignored whatever its format.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ED25519, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use latchkey_tokens::{b64url_decode, constant_time_eq, sha256};
use serde::Deserialize;

use super::cbor::{self, Value};

/// The relying party: its RP ID and the origins ceremonies may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID: the public URL's host, or a registrable suffix of it.
    pub id: String,
    /// The name authenticators show.
    pub name: String,
    /// Origins (`scheme://host[:port]`) a ceremony may come from.
    pub origins: Vec<String>,
}

/// COSE algorithm identifiers latchkey accepts, in its order of preference.
pub const ALGORITHMS: [i64; 3] = [ALG_EDDSA, ALG_ES256, ALG_RS256];
const ALG_ES256: i64 = -7;
const ALG_EDDSA: i64 = -8;
const ALG_RS256: i64 = -257;

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;

/// Longest credential id accepted (WebAuthn Level 3: 1023 bytes).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// Why a ceremony's answer was refused. Never shown in detail: the client
/// gets one `invalid_passkey`; the reason goes to the log and audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    /// Not valid JSON, CBOR, base64url, or a field is missing.
    #[error("malformed")]
    Malformed,
    /// `type` is not the ceremony's.
    #[error("wrong client data type")]
    WrongType,
    /// The challenge is not the one issued.
    #[error("wrong challenge")]
    WrongChallenge,
    /// The origin is not one of the relying party's, or the ceremony ran
    /// in a cross-origin frame.
    #[error("wrong origin")]
    WrongOrigin,
    /// The authenticator data is for another RP ID.
    #[error("wrong rp id hash")]
    WrongRpId,
    /// The user-present flag is clear.
    #[error("user not present")]
    UserNotPresent,
    /// User verification was required and the flag is clear.
    #[error("user not verified")]
    UserNotVerified,
    /// Backed up but not backup eligible.
    #[error("inconsistent backup flags")]
    BackupFlags,
    /// No attested credential, or its key is of an algorithm not accepted.
    #[error("unsupported credential")]
    Unsupported,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
}

impl CeremonyError {
    /// The reason as recorded in the audit log.
    pub fn reason(self) -> &'static str {
        match self {
            CeremonyError::Malformed => "malformed",
            CeremonyError::WrongType => "wrong_type",
            CeremonyError::WrongChallenge => "wrong_challenge",
            CeremonyError::WrongOrigin => "wrong_origin",
            CeremonyError::WrongRpId => "wrong_rp_id",
            CeremonyError::UserNotPresent => "user_not_present",
            CeremonyError::UserNotVerified => "user_not_verified",
            CeremonyError::BackupFlags => "backup_flags",
            CeremonyError::Unsupported => "unsupported_credential",
            CeremonyError::BadSignature => "bad_signature",
        }
    }
}

/// Which ceremony a client data belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// `navigator.credentials.create`.
    Create,
    /// `navigator.credentials.get`.
    Get,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(default)]
    cross_origin: Option<bool>,
    #[serde(default)]
    top_origin: Option<String>,
}

/// The challenge a client data JSON carries (base64url), read before the
/// stored challenge is looked up by it.
pub fn challenge_of(client_data_json: &[u8]) -> Result<Vec<u8>, CeremonyError> {
    let data: ClientData =
        serde_json::from_slice(client_data_json).map_err(|_| CeremonyError::Malformed)?;
    b64url_decode(&data.challenge).map_err(|_| CeremonyError::Malformed)
}

fn check_client_data(
    rp: &RelyingParty,
    ceremony: Ceremony,
    challenge: &[u8],
    client_data_json: &[u8],
) -> Result<(), CeremonyError> {
    let data: ClientData =
        serde_json::from_slice(client_data_json).map_err(|_| CeremonyError::Malformed)?;
    let want = match ceremony {
        Ceremony::Create => "webauthn.create",
        Ceremony::Get => "webauthn.get",
    };
    if data.kind != want {
        return Err(CeremonyError::WrongType);
    }
    let got = b64url_decode(&data.challenge).map_err(|_| CeremonyError::WrongChallenge)?;
    if !constant_time_eq(&got, challenge) {
        return Err(CeremonyError::WrongChallenge);
    }
    if !rp.origins.contains(&data.origin)
        || data.cross_origin == Some(true)
        || data.top_origin.is_some()
    {
        return Err(CeremonyError::WrongOrigin);
    }
    Ok(())
}

/// The authenticator data's fixed part and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    /// The user verified themselves to the authenticator (PIN, biometric).
    pub user_verified: bool,
    /// The credential may be synced (a multi-device passkey).
    pub backup_eligible: bool,
    /// The credential is backed up now.
    pub backup_state: bool,
}

struct AuthData<'a> {
    flags: Flags,
    sign_count: u32,
    /// After the 37 fixed bytes: attested credential data and extensions.
    rest: &'a [u8],
    has_attested: bool,
}

fn check_auth_data<'a>(
    rp: &RelyingParty,
    data: &'a [u8],
    require_uv: bool,
) -> Result<AuthData<'a>, CeremonyError> {
    if data.len() < 37 {
        return Err(CeremonyError::Malformed);
    }
    if !constant_time_eq(&data[..32], &sha256(rp.id.as_bytes())) {
        return Err(CeremonyError::WrongRpId);
    }
    let flags = data[32];
    if flags & FLAG_UP == 0 {
        return Err(CeremonyError::UserNotPresent);
    }
    let user_verified = flags & FLAG_UV != 0;
    if require_uv && !user_verified {
        return Err(CeremonyError::UserNotVerified);
    }
    let (backup_eligible, backup_state) = (flags & FLAG_BE != 0, flags & FLAG_BS != 0);
    if backup_state && !backup_eligible {
        return Err(CeremonyError::BackupFlags);
    }
    Ok(AuthData {
        flags: Flags {
            user_verified,
            backup_eligible,
            backup_state,
        },
        sign_count: u32::from_be_bytes([data[33], data[34], data[35], data[36]]),
        rest: &data[37..],
        has_attested: flags & FLAG_AT != 0,
    })
}

/// A credential's public key, parsed from its COSE form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA P-256 with SHA-256: the uncompressed point.
    Es256(Vec<u8>),
    /// Ed25519: the 32-byte key.
    EdDsa(Vec<u8>),
    /// RSASSA-PKCS1-v1_5 with SHA-256: modulus and exponent.
    Rs256 {
        /// Modulus.
        n: Vec<u8>,
        /// Exponent.
        e: Vec<u8>,
    },
}

impl PublicKey {
    /// Parses a COSE_Key (RFC 9053) of an accepted algorithm.
    pub fn from_cose(bytes: &[u8]) -> Result<PublicKey, CeremonyError> {
        let (value, used) = cbor::decode(bytes).map_err(|_| CeremonyError::Malformed)?;
        if used != bytes.len() {
            return Err(CeremonyError::Malformed);
        }
        let get = |label: i64| value.map_get_int(label);
        let int = |label: i64| get(label).and_then(Value::as_int);
        let bytes_of = |label: i64| get(label).and_then(Value::as_bytes);
        match (int(1), int(3)) {
            (Some(2), Some(ALG_ES256)) => {
                let (x, y) = (bytes_of(-2), bytes_of(-3));
                match (int(-1), x, y) {
                    (Some(1), Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                        let mut point = vec![4u8];
                        point.extend_from_slice(x);
                        point.extend_from_slice(y);
                        Ok(PublicKey::Es256(point))
                    }
                    _ => Err(CeremonyError::Unsupported),
                }
            }
            (Some(1), Some(ALG_EDDSA)) => match (int(-1), bytes_of(-2)) {
                (Some(6), Some(x)) if x.len() == 32 => Ok(PublicKey::EdDsa(x.to_vec())),
                _ => Err(CeremonyError::Unsupported),
            },
            (Some(3), Some(ALG_RS256)) => match (bytes_of(-1), bytes_of(-2)) {
                (Some(n), Some(e)) if n.len() >= 256 && !e.is_empty() => Ok(PublicKey::Rs256 {
                    n: n.to_vec(),
                    e: e.to_vec(),
                }),
                _ => Err(CeremonyError::Unsupported),
            },
            _ => Err(CeremonyError::Unsupported),
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CeremonyError> {
        let ok = match self {
            PublicKey::Es256(point) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
                .verify(message, signature)
                .is_ok(),
            PublicKey::EdDsa(key) => UnparsedPublicKey::new(&ED25519, key)
                .verify(message, signature)
                .is_ok(),
            PublicKey::Rs256 { n, e } => RsaPublicKeyComponents { n, e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                .is_ok(),
        };
        if ok {
            Ok(())
        } else {
            Err(CeremonyError::BadSignature)
        }
    }
}

/// What a verified registration yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The COSE public key as the authenticator sent it.
    pub public_key: Vec<u8>,
    /// The authenticator's model (all zero for most passkey providers).
    pub aaguid: [u8; 16],
    /// The signature counter at creation.
    pub sign_count: u32,
    /// The flags of the ceremony.
    pub flags: Flags,
}

/// Verifies a registration answer for `challenge` (§7.1).
pub fn verify_registration(
    rp: &RelyingParty,
    challenge: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
    require_uv: bool,
) -> Result<NewCredential, CeremonyError> {
    check_client_data(rp, Ceremony::Create, challenge, client_data_json)?;
    let (object, _) = cbor::decode(attestation_object).map_err(|_| CeremonyError::Malformed)?;
    let auth_data = object
        .map_get_text("authData")
        .and_then(Value::as_bytes)
        .ok_or(CeremonyError::Malformed)?;
    if object
        .map_get_text("fmt")
        .and_then(Value::as_text)
        .is_none()
    {
        return Err(CeremonyError::Malformed);
    }
    let data = check_auth_data(rp, auth_data, require_uv)?;
    if !data.has_attested || data.rest.len() < 18 {
        return Err(CeremonyError::Unsupported);
    }
    let mut aaguid = [0u8; 16];
    aaguid.copy_from_slice(&data.rest[..16]);
    let id_len = u16::from_be_bytes([data.rest[16], data.rest[17]]) as usize;
    let rest = &data.rest[18..];
    if id_len == 0 || id_len > MAX_CREDENTIAL_ID_LEN || rest.len() < id_len {
        return Err(CeremonyError::Malformed);
    }
    let (credential_id, rest) = rest.split_at(id_len);
    let (_, key_len) = cbor::decode(rest).map_err(|_| CeremonyError::Malformed)?;
    let public_key = rest[..key_len].to_vec();
    PublicKey::from_cose(&public_key)?;
    Ok(NewCredential {
        credential_id: credential_id.to_vec(),
        public_key,
        aaguid,
        sign_count: data.sign_count,
        flags: data.flags,
    })
}

/// What a verified assertion yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    /// The authenticator's signature counter (0: it keeps none).
    pub sign_count: u32,
    /// The flags of the ceremony.
    pub flags: Flags,
}

/// Verifies an assertion for `challenge` by the credential whose COSE key
/// is `public_key` (§7.2).
pub fn verify_assertion(
    rp: &RelyingParty,
    challenge: &[u8],
    public_key: &[u8],
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    require_uv: bool,
) -> Result<Assertion, CeremonyError> {
    check_client_data(rp, Ceremony::Get, challenge, client_data_json)?;
    let data = check_auth_data(rp, authenticator_data, require_uv)?;
    let key = PublicKey::from_cose(public_key)?;
    let mut message = authenticator_data.to_vec();
    message.extend_from_slice(&sha256(client_data_json));
    key.verify(&message, signature)?;
    Ok(Assertion {
        sign_count: data.sign_count,
        flags: data.flags,
    })
}

/// Whether an assertion's signature counter may be accepted after the
/// stored one (§6.1.1): it must grow, unless the authenticator keeps no
/// counter at all (both zero, as synced passkeys do). A counter that does
/// not grow means a cloned authenticator: the sign-in is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignCount {
    /// Accept; store the new counter.
    Accept,
    /// Refuse: the counter went back or stood still.
    Regressed,
}

impl SignCount {
    /// The rule over the stored and the presented counter.
    pub fn decide(stored: u32, presented: u32) -> SignCount {
        if presented > stored || (stored == 0 && presented == 0) {
            SignCount::Accept
        } else {
            SignCount::Regressed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_count_table() {
        use SignCount::*;
        for (stored, presented, want) in [
            (0, 0, Accept),
            (0, 1, Accept),
            (5, 6, Accept),
            (5, 5, Regressed),
            (5, 4, Regressed),
            (5, 0, Regressed),
            (u32::MAX - 1, u32::MAX, Accept),
        ] {
            assert_eq!(
                SignCount::decide(stored, presented),
                want,
                "{stored} -> {presented}"
            );
        }
    }

    fn rp() -> RelyingParty {
        RelyingParty {
            id: "id.example".into(),
            name: "x".into(),
            origins: vec!["https://id.example".into()],
        }
    }

    fn client_data(kind: &str, challenge: &[u8], origin: &str, extra: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}"{extra}}}"#,
            latchkey_tokens::b64url_encode(challenge)
        )
        .into_bytes()
    }

    #[test]
    fn client_data_table() {
        let rp = rp();
        let ch = [7u8; 32];
        let ok = "https://id.example";
        for (name, data, want) in [
            ("good", client_data("webauthn.get", &ch, ok, ""), Ok(())),
            (
                "create for get",
                client_data("webauthn.create", &ch, ok, ""),
                Err(CeremonyError::WrongType),
            ),
            (
                "other challenge",
                client_data("webauthn.get", &[8u8; 32], ok, ""),
                Err(CeremonyError::WrongChallenge),
            ),
            (
                "other origin",
                client_data("webauthn.get", &ch, "https://evil.example", ""),
                Err(CeremonyError::WrongOrigin),
            ),
            (
                "subdomain not configured",
                client_data("webauthn.get", &ch, "https://a.id.example", ""),
                Err(CeremonyError::WrongOrigin),
            ),
            (
                "cross-origin frame",
                client_data("webauthn.get", &ch, ok, r#","crossOrigin":true"#),
                Err(CeremonyError::WrongOrigin),
            ),
            (
                "top origin",
                client_data(
                    "webauthn.get",
                    &ch,
                    ok,
                    r#","topOrigin":"https://evil.example""#,
                ),
                Err(CeremonyError::WrongOrigin),
            ),
            ("not json", b"{".to_vec(), Err(CeremonyError::Malformed)),
        ] {
            assert_eq!(
                check_client_data(&rp, Ceremony::Get, &ch, &data),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn auth_data_flags() {
        let rp = rp();
        let mut data = sha256(b"id.example").to_vec();
        data.extend_from_slice(&[FLAG_UP, 0, 0, 0, 3]);
        let got = check_auth_data(&rp, &data, false).map(|d| (d.flags, d.sign_count));
        assert_eq!(
            got.ok(),
            Some((
                Flags {
                    user_verified: false,
                    backup_eligible: false,
                    backup_state: false
                },
                3
            ))
        );
        assert_eq!(
            check_auth_data(&rp, &data, true).err(),
            Some(CeremonyError::UserNotVerified)
        );
        data[32] = FLAG_UP | FLAG_BS;
        assert_eq!(
            check_auth_data(&rp, &data, false).err(),
            Some(CeremonyError::BackupFlags)
        );
        data[32] = FLAG_UV;
        assert_eq!(
            check_auth_data(&rp, &data, false).err(),
            Some(CeremonyError::UserNotPresent)
        );
        let mut other = sha256(b"evil.example").to_vec();
        other.extend_from_slice(&[FLAG_UP, 0, 0, 0, 0]);
        assert_eq!(
            check_auth_data(&rp, &other, false).err(),
            Some(CeremonyError::WrongRpId)
        );
        assert_eq!(
            check_auth_data(&rp, &data[..36], false).err(),
            Some(CeremonyError::Malformed)
        );
    }
}
