//! The pool, the PHC parser and the length rules, against the reference
//! implementation and each other.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64ct::{Base64Unpadded, Encoding};
use unicode_normalization::UnicodeNormalization;

use super::*;

use futures_util::FutureExt;
use futures_util::future::join_all;

/// Fast parameters for most tests.
const SMALL: HashParams = HashParams {
    m_cost_kib: 1024,
    t_cost: 1,
    p_cost: 1,
};

fn pool(params: HashParams, workers: usize, queue_capacity: usize) -> PasswordHasher {
    PasswordHasher::new(PoolConfig {
        workers,
        queue_capacity,
        params,
    })
    .expect("valid pool configuration")
}

fn small_pool() -> PasswordHasher {
    pool(SMALL, 2, 16)
}

fn new_password(raw: &str) -> Password {
    Password::new(raw, &LengthPolicy::default()).expect("password within the policy")
}

fn candidate(raw: &str) -> Password {
    Password::for_verification(raw)
}

const NO_REHASH: Verified = Verified::Match {
    needs_rehash: false,
};

#[tokio::test]
async fn hash_then_verify_matches_and_a_wrong_password_does_not() {
    let hasher = small_pool();
    let phc = hasher
        .hash(new_password("correct horse battery"))
        .await
        .unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
    let fields: Vec<&str> = phc.split('$').collect();
    assert_eq!(
        Base64Unpadded::decode_vec(fields[4]).unwrap().len(),
        SALT_LEN
    );
    assert_eq!(
        Base64Unpadded::decode_vec(fields[5]).unwrap().len(),
        OUTPUT_LEN
    );

    for (attempt, expected) in [
        ("correct horse battery", NO_REHASH),
        ("correct horse batter", Verified::Mismatch),
        ("Correct horse battery", Verified::Mismatch),
        ("correct horse battery ", Verified::Mismatch),
        ("", Verified::Mismatch),
    ] {
        let got = hasher.verify(candidate(attempt), Some(&phc)).await.unwrap();
        assert_eq!(got, expected, "attempt {attempt:?}");
    }
}

#[tokio::test]
async fn two_hashes_of_one_password_differ_by_salt() {
    let hasher = small_pool();
    let a = hasher.hash(new_password("same password")).await.unwrap();
    let b = hasher.hash(new_password("same password")).await.unwrap();
    assert_ne!(a, b);
}

#[tokio::test]
async fn nfkc_equivalent_passwords_verify_as_the_same() {
    let hasher = small_pool();
    for (set, typed) in [
        // U+FB01 LATIN SMALL LIGATURE FI against "fi".
        ("\u{FB01}nancial secret", "financial secret"),
        ("financial secret", "\u{FB01}nancial secret"),
        // Precomposed é against e + U+0301 COMBINING ACUTE ACCENT.
        ("caf\u{E9} au lait", "cafe\u{301} au lait"),
        ("cafe\u{301} au lait", "caf\u{E9} au lait"),
        // Fullwidth letters against ASCII.
        ("\u{FF30}\u{FF41}\u{FF53}\u{FF53}word", "Password"),
    ] {
        let phc = hasher.hash(new_password(set)).await.unwrap();
        let got = hasher.verify(candidate(typed), Some(&phc)).await.unwrap();
        assert_eq!(got, NO_REHASH, "set {set:?}, typed {typed:?}");
    }
}

#[tokio::test]
async fn hashes_from_the_reference_implementation_verify() {
    // Made with the reference `argon2` command-line tool (20171227).
    let hasher = small_pool();
    for (password, phc, needs_rehash) in [
        (
            "correct horse battery staple",
            "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
            false,
        ),
        (
            "correct horse battery staple",
            "$argon2i$v=19$m=1024,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$KZ30SaseatUOjPx+rRgV2mG5lm3I/Cpv",
            true,
        ),
        (
            "correct horse battery staple",
            "$argon2d$v=16$m=512,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$NUsBCgP8eJAFDba++95mzZX/A+WuXiA3IBUFupI74AA",
            true,
        ),
        // Salt "pepperpepper" (12 bytes, shorter than ours): rehash.
        (
            "caf\u{E9} au lait",
            "$argon2id$v=19$m=1024,t=1,p=1$cGVwcGVycGVwcGVy$wx7P7pxt5ON5Qtv5E8oWTt7YBlGyQgy0qT5CTy81TCQ",
            true,
        ),
    ] {
        let got = hasher.verify(candidate(password), Some(phc)).await.unwrap();
        assert_eq!(got, Verified::Match { needs_rehash }, "{phc}");
        let wrong = hasher.verify(candidate("wrong"), Some(phc)).await.unwrap();
        assert_eq!(wrong, Verified::Mismatch, "{phc}");
    }
}

#[tokio::test]
async fn a_hash_with_other_parameters_verifies_and_needs_a_rehash() {
    let current = small_pool();
    // Bigger than the current workers' buffers: a temporary one is used.
    for other in [
        HashParams {
            m_cost_kib: 2048,
            ..SMALL
        },
        HashParams { t_cost: 2, ..SMALL },
        HashParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 2,
        },
        HashParams {
            m_cost_kib: 512,
            ..SMALL
        },
    ] {
        let old = pool(other, 1, 4);
        let phc = old.hash(new_password("an older password")).await.unwrap();
        let got = current
            .verify(candidate("an older password"), Some(&phc))
            .await
            .unwrap();
        assert_eq!(got, Verified::Match { needs_rehash: true }, "{other:?}");
        let got = old
            .verify(candidate("an older password"), Some(&phc))
            .await
            .unwrap();
        assert_eq!(got, NO_REHASH, "{other:?}");
        let before = current.hashes_computed();
        let got = current
            .verify(candidate("an older passwore"), Some(&phc))
            .await
            .unwrap();
        assert_eq!(got, Verified::Mismatch, "{other:?}");
        // a wrong password on a legacy hash also pays the current cost,
        // so it answers no faster than an unknown identifier
        assert_eq!(current.hashes_computed(), before + 2, "{other:?}");
    }
}

#[tokio::test]
async fn no_stored_hash_costs_one_hash_and_never_matches() {
    let hasher = small_pool();
    for attempt in ["", "anything at all", "correct horse battery"] {
        let before = hasher.hashes_computed();
        let got = hasher.verify(candidate(attempt), None).await.unwrap();
        assert_eq!(got, Verified::Mismatch);
        assert_eq!(
            hasher.hashes_computed(),
            before + 1,
            "one full hash was spent"
        );
    }
    // The dummy hash has the current parameters, so the cost is the same.
    assert_eq!(hasher.inner.dummy.params.m_cost(), SMALL.m_cost_kib);
    assert_eq!(hasher.inner.dummy.params.t_cost(), SMALL.t_cost);
    assert_eq!(hasher.inner.dummy.params.p_cost(), SMALL.p_cost);
    assert!(!hasher.inner.dummy.needs_rehash(&hasher.inner.dummy.params));
}

#[tokio::test]
async fn an_over_long_candidate_costs_one_hash_and_never_matches() {
    let hasher = small_pool();
    let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    let phc = hasher
        .hash(new_password("a normal password"))
        .await
        .unwrap();
    let before = hasher.hashes_computed();
    let got = hasher.verify(candidate(&long), Some(&phc)).await.unwrap();
    assert_eq!(got, Verified::Mismatch);
    assert_eq!(hasher.hashes_computed(), before + 1);
    assert!(
        candidate(&long).secret().is_empty(),
        "the input is not kept"
    );
    // Even against a hash of the empty string, it is a mismatch.
    let empty = hasher.hash(candidate("")).await.unwrap();
    let got = hasher.verify(candidate(&long), Some(&empty)).await.unwrap();
    assert_eq!(got, Verified::Mismatch);
    assert!(matches!(
        hasher.hash(candidate(&long)).await,
        Err(PasswordError::Internal(_))
    ));
    // At the limit it is an ordinary password.
    let limit = "y".repeat(MAX_PASSWORD_BYTES);
    let phc = hasher.hash(candidate(&limit)).await.unwrap();
    assert_eq!(
        hasher.verify(candidate(&limit), Some(&phc)).await.unwrap(),
        NO_REHASH
    );
}

#[tokio::test]
async fn an_imported_hash_verifies_on_the_pool_and_always_needs_a_rehash() {
    let hasher = small_pool();
    // pyca bcrypt (scripts/import-fixtures/generate.py)
    let bcrypt = "$2b$05$x7jQp7pReLT5qhGKLAkHseMmcNy8KUboKpgj1lFL.eWfpwXMRU26a";
    let right = "bcrypt 2b pw";
    let before = hasher.hashes_computed();
    assert_eq!(
        hasher.verify(candidate(right), Some(bcrypt)).await,
        Ok(Verified::Match { needs_rehash: true })
    );
    assert_eq!(
        hasher.hashes_computed(),
        before,
        "a match pays the rehash instead"
    );
    assert_eq!(
        hasher.verify(candidate("wrong"), Some(bcrypt)).await,
        Ok(Verified::Mismatch)
    );
    assert_eq!(
        hasher.hashes_computed(),
        before,
        "a mismatch costs the imported check alone; the floor pads the rest"
    );
    let over_long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    assert_eq!(
        hasher.verify(candidate(&over_long), Some(bcrypt)).await,
        Ok(Verified::Mismatch)
    );
}

/// Which hashes a wrong password costs, per kind of stored hash: one check
/// each, never an imported check plus an argon2id (which made imported
/// accounts slower than unknown ones); only an outdated argon2 hash adds
/// today's price.
#[test]
fn a_mismatch_costs_one_check_per_kind_of_stored_hash() {
    use pool::{Check, Step};
    let cases: [(Check, &[Step]); 4] = [
        (Check::Nothing, &[Step::Dummy]),
        (Check::Argon2 { outdated: false }, &[Step::StoredArgon2]),
        (
            Check::Argon2 { outdated: true },
            &[Step::StoredArgon2, Step::Filler],
        ),
        (Check::Imported, &[Step::Imported]),
    ];
    for (check, steps) in cases {
        assert_eq!(check.mismatch_steps(), steps, "{check:?}");
    }
    // the wait that pads a mismatch to the floor
    let ms = Duration::from_millis;
    assert_eq!(pool::pad(ms(50), ms(20)), ms(30));
    assert_eq!(pool::pad(ms(50), ms(80)), Duration::ZERO);
    assert_eq!(pool::pad(Duration::ZERO, ms(20)), Duration::ZERO);
}

#[tokio::test]
async fn the_mismatch_floor_comes_from_the_imported_hashes_and_pads_every_mismatch() {
    let hasher = small_pool();
    assert_eq!(hasher.mismatch_floor(), Duration::ZERO, "nothing imported");
    // pyca bcrypt, cost 5 (scripts/import-fixtures/generate.py)
    let bcrypt = "$2b$05$x7jQp7pReLT5qhGKLAkHseMmcNy8KUboKpgj1lFL.eWfpwXMRU26a";
    let argon2 = hasher
        .hash(new_password("a native password"))
        .await
        .unwrap();
    let before = hasher.hashes_computed();
    let floor = hasher
        .calibrate(&[bcrypt.to_owned(), argon2.clone(), "$2b$junk".to_owned()])
        .await
        .unwrap();
    assert!(
        floor > Duration::ZERO,
        "one bcrypt check and the dummy were timed"
    );
    assert_eq!(hasher.mismatch_floor(), floor);
    assert_eq!(
        hasher.hashes_computed(),
        before + 1,
        "argon2 and malformed samples are skipped; the dummy hash is timed too"
    );
    // a mismatch of every kind waits for the floor; a match does not have to
    for phc in [None, Some(argon2.as_str()), Some(bcrypt)] {
        let started = Instant::now();
        let got = hasher.verify(candidate("not it"), phc).await.unwrap();
        assert_eq!(got, Verified::Mismatch);
        assert!(
            started.elapsed() >= floor,
            "{phc:?} answered before the floor"
        );
    }
    // without imported hashes left, the floor is zero again (and costs no hash)
    let before = hasher.hashes_computed();
    assert_eq!(hasher.calibrate(&[]).await.unwrap(), Duration::ZERO);
    assert_eq!(hasher.mismatch_floor(), Duration::ZERO);
    assert_eq!(hasher.hashes_computed(), before);
}

/// bcrypt reads 72 bytes: a longer password that matches proved only those,
/// and replacing the hash with argon2id of what was typed would lock out an
/// owner whose password has another tail. Such a match keeps the bcrypt hash.
#[tokio::test]
async fn a_bcrypt_match_of_72_bytes_or_more_keeps_the_bcrypt_hash() {
    let hasher = small_pool();
    // pyca bcrypt 5.0: bcrypt.hashpw(first72, bcrypt.gensalt(4)), which is
    // what a truncating bcrypt makes of any password starting with them
    let bcrypt = "$2b$04$f86XJv0rE6r3RkqdLWoXHOR69zuqO7zQXwI2vAo70nqaTebZvKUH.";
    let first72 = "correct horse battery staple, seventy-two bytes of it: padding padding!!";
    assert_eq!(first72.len(), 72);
    let owners = format!("{first72} and the owner's own tail");
    let others = format!("{first72} and somebody else's tail");
    for typed in [first72, owners.as_str(), others.as_str()] {
        assert_eq!(
            hasher.verify(candidate(typed), Some(bcrypt)).await,
            Ok(Verified::Match {
                needs_rehash: false
            }),
            "{} bytes",
            typed.len()
        );
    }
    // 71 bytes carry bcrypt's NUL: not a prefix match, a mismatch
    assert_eq!(
        hasher.verify(candidate(&first72[..71]), Some(bcrypt)).await,
        Ok(Verified::Mismatch)
    );
    let stored = crate::legacy_hashes::LegacyHash::parse(bcrypt).unwrap();
    assert!(stored.proves_whole(&[b'x'; 71]));
    assert!(!stored.proves_whole(&[b'x'; 72]));
    let pbkdf2 = crate::legacy_hashes::LegacyHash::parse("$pbkdf2-sha256$i=1000,l=4$c2FsdA$aGFzaA");
    assert!(
        pbkdf2.unwrap().proves_whole(&[b'x'; 200]),
        "only bcrypt truncates"
    );
}

#[tokio::test]
async fn malformed_stored_hashes_are_refused_without_panic() {
    let hasher = small_pool();
    let good = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70";
    let long = format!("{good}{}", "A".repeat(600));
    let malformed = [
        "",
        "$",
        "$argon2id$",
        "$argon2id$v=19$",
        "$argon2id$v=19$m=1024,t=1,p=1",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$",
        "argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        // Wrong base64: bad characters, padding, the URL-safe alphabet,
        // non-canonical trailing bits.
        "$argon2id$v=19$m=1024,t=1,p=1$!!!!notbase64!!!!$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA==$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN_7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdB$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        // Parameters out of bounds or not decimal.
        "$argon2id$v=19$m=999999999,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1048577,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1048576,t=5,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=33,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=0,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=0$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=4294967295$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=16,t=1,p=4$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=99999999999,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=01024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=+1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=-1,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=1,keyid=AAAA$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=1,$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=１０２４,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        // Versions, algorithms and lengths.
        "$argon2id$v=18$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$ARGON2ID$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZQ$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70$",
        "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$RAME85Nb8CxpfIy5Ca0XN5R2weN/7wRhxgF0shgwz70$extra",
        // Other schemes, and imported ones in a form that is not stored
        // (import converts passlib's PBKDF2) or past their caps.
        "$2b$31$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
        "$2x$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
        "$pbkdf2-sha256$29000$N2YuJCHgxKJ2YkaBWYTUqg$AJfN7aq0G0UCmHuR4NzrKxxqoN4ZvRkeYV7FhJv1C3U",
        "$pbkdf2-sha256$i=1000000000,l=32$N2YuJCHgxKJ2YkaBWYTUqg$AJfN7aq0G0UCmHuR4NzrKxxqoN4ZvRkeYV7FhJv1C3U",
        "$scrypt$ln=24,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        "$5$rounds=5000$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF6E5BVM",
        "pbkdf2_sha256$10000$ZGPnXQqHzfHFUrbRGCvQTJ$AsYhARL4g9D1e+jWvs6OsR0uyWd437UFstPl/ILk3Ro=",
        "plaintext",
        &long,
    ];
    for phc in malformed {
        let got = hasher
            .verify(candidate("correct horse battery staple"), Some(phc))
            .await;
        assert_eq!(got, Err(PasswordError::MalformedHash), "{phc:?}");
    }
    assert_eq!(
        hasher
            .verify(candidate("correct horse battery staple"), Some(good))
            .await,
        Ok(NO_REHASH),
        "the control case parses"
    );
}

#[tokio::test]
async fn a_full_queue_answers_busy_and_every_other_answer_is_right() {
    let heavy = HashParams {
        m_cost_kib: 4096,
        t_cost: 2,
        p_cost: 1,
    };
    let hasher = pool(heavy, 1, 1);
    let phc = hasher.hash(new_password("the right one")).await.unwrap();

    let verifications = (0..24).map(|i| {
        let hasher = hasher.clone();
        let phc = phc.clone();
        async move {
            let (attempt, expected) = if i % 2 == 0 {
                ("the right one", NO_REHASH)
            } else {
                ("the wrong one", Verified::Mismatch)
            };
            (
                hasher.verify(candidate(attempt), Some(&phc)).await,
                expected,
            )
        }
    });
    let hashes = (0..8).map(|_| hasher.hash(new_password("a new password")));
    let (verified, hashed) = tokio::join!(join_all(verifications), join_all(hashes));

    let mut busy = 0;
    for (got, expected) in verified {
        match got {
            Err(PasswordError::Busy { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs));
                busy += 1;
            }
            got => assert_eq!(got, Ok(expected)),
        }
    }
    for got in hashed {
        match got {
            Err(PasswordError::Busy { .. }) => busy += 1,
            Ok(phc) => {
                let got = hasher.verify(candidate("a new password"), Some(&phc)).await;
                assert_eq!(got, Ok(NO_REHASH));
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(busy > 0, "a queue of one must overflow with 32 callers");
    assert_eq!(hasher.queue_depth(), 0);
}

#[tokio::test]
async fn a_job_whose_caller_went_away_is_skipped() {
    let hasher = pool(SMALL, 1, 8);
    // Hold the only worker until the abandoned jobs are queued behind it.
    let (started, running) = std::sync::mpsc::channel::<()>();
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let blocker = hasher.run_on_worker(move || {
        started.send(()).unwrap();
        let _ = wait.recv();
    });
    running.recv().unwrap();
    let before = hasher.hashes_computed();
    for _ in 0..4 {
        // Polled once (queued), then dropped.
        assert!(
            hasher
                .verify(candidate("gone"), None)
                .now_or_never()
                .is_none()
        );
    }
    assert_eq!(hasher.queue_depth(), 4);
    release.send(()).unwrap();
    assert_eq!(blocker.await.unwrap(), Ok(()));
    assert_eq!(
        hasher.verify(candidate("here"), None).await,
        Ok(Verified::Mismatch)
    );
    assert_eq!(
        hasher.hashes_computed(),
        before + 1,
        "only the live job was hashed"
    );
    assert_eq!(hasher.queue_depth(), 0);
}

#[tokio::test]
async fn a_worker_survives_a_panicking_job() {
    let hasher = pool(SMALL, 1, 4);
    let got = hasher
        .run_on_worker(|| panic!("injected panic"))
        .await
        .unwrap();
    assert!(matches!(got, Err(PasswordError::Internal(_))), "{got:?}");
    let phc = hasher.hash(new_password("after the panic")).await.unwrap();
    let got = hasher
        .verify(candidate("after the panic"), Some(&phc))
        .await;
    assert_eq!(got, Ok(NO_REHASH));
}

#[tokio::test]
async fn the_pool_stops_when_the_last_handle_is_dropped() {
    let hasher = pool(SMALL, 3, 4);
    let shared = Arc::clone(&hasher.inner.shared);
    let clone = hasher.clone();
    drop(hasher);
    assert_eq!(
        clone.verify(candidate("still up"), None).await,
        Ok(Verified::Mismatch)
    );
    assert_eq!(shared.live_workers.load(Ordering::SeqCst), 3);
    drop(clone);
    // Waits for the exit (a liveness bound, not a timing assertion).
    let deadline = Instant::now() + Duration::from_secs(30);
    while shared.live_workers.load(Ordering::SeqCst) > 0 {
        assert!(Instant::now() < deadline, "workers did not stop");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[tokio::test]
async fn default_parameters_hash_and_verify() {
    let hasher = pool(HashParams::default(), 1, 4);
    assert_eq!(
        hasher.params(),
        HashParams {
            m_cost_kib: 19_456,
            t_cost: 2,
            p_cost: 1
        }
    );
    let phc = hasher
        .hash(new_password("correct horse battery staple"))
        .await
        .unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    let got = hasher
        .verify(candidate("correct horse battery staple"), Some(&phc))
        .await;
    assert_eq!(got, Ok(NO_REHASH));
    let got = hasher
        .verify(candidate("correct horse battery stapler"), Some(&phc))
        .await;
    assert_eq!(got, Ok(Verified::Mismatch));
}

#[test]
fn invalid_configurations_are_refused() {
    for (params, queue_capacity) in [
        (
            HashParams {
                m_cost_kib: 4,
                ..SMALL
            },
            4,
        ),
        (HashParams { t_cost: 0, ..SMALL }, 4),
        (HashParams { p_cost: 0, ..SMALL }, 4),
        (
            HashParams {
                p_cost: u32::MAX,
                ..SMALL
            },
            4,
        ),
        (
            HashParams {
                m_cost_kib: MAX_M_COST_KIB + 1,
                ..SMALL
            },
            4,
        ),
        (
            HashParams {
                t_cost: MAX_T_COST + 1,
                ..SMALL
            },
            4,
        ),
        (
            HashParams {
                m_cost_kib: MAX_M_COST_KIB,
                t_cost: 5,
                p_cost: 1,
            },
            4,
        ),
        (SMALL, 0),
    ] {
        let got = PasswordHasher::new(PoolConfig {
            workers: 1,
            queue_capacity,
            params,
        });
        assert!(
            matches!(got, Err(PasswordError::InvalidConfig(_))),
            "{params:?} {queue_capacity}"
        );
    }
    assert_eq!(HashParams::default().validate(), Ok(()));
    assert_eq!(PoolConfig::default().queue_capacity, 64);
    assert_eq!(PoolConfig::default().workers, 0);
    let per_core = pool(SMALL, 0, 1);
    assert!(per_core.workers() >= 1);
}

#[test]
fn the_length_policy_counts_characters_after_normalization() {
    let policy = LengthPolicy::default();
    assert_eq!(
        policy,
        LengthPolicy {
            min_chars: 8,
            max_chars: 1024
        }
    );
    let short = Err(PasswordPolicyError::TooShort { min: 8 });
    let long = Err(PasswordPolicyError::TooLong { max: 1024 });
    for (raw, expected) in [
        ("a".repeat(7), short.clone()),
        ("a".repeat(8), Ok(())),
        ("a".repeat(64), Ok(())),
        ("a".repeat(1024), Ok(())),
        ("a".repeat(1025), long.clone()),
        (String::new(), short.clone()),
        // One scalar value each, 4 bytes each.
        ("\u{1F600}".repeat(7), short.clone()),
        ("\u{1F600}".repeat(8), Ok(())),
        ("\u{1F600}".repeat(1024), Ok(())),
        ("\u{1F600}".repeat(1025), long.clone()),
        // "ﬁ" becomes "fi": 4 ligatures are 8 characters.
        ("\u{FB01}".repeat(4), Ok(())),
        // e + combining acute becomes one é: 7 characters.
        ("e\u{301}".repeat(7), short.clone()),
        // Over the byte limit before normalization.
        ("a".repeat(MAX_PASSWORD_BYTES + 1), long.clone()),
    ] {
        let got = Password::new(&raw, &policy).map(|_| ());
        assert_eq!(got, expected, "{} bytes", raw.len());
    }
    let lenient = LengthPolicy {
        min_chars: 1,
        max_chars: 10_000,
    };
    assert_eq!(
        Password::new(&"a".repeat(1025), &lenient).map(|_| ()),
        Err(PasswordPolicyError::TooLong {
            max: MAX_PASSWORD_CHARS
        }),
        "the maximum is clamped"
    );
    assert_eq!(
        PasswordPolicyError::TooShort { min: 8 }.to_string(),
        "the password must be at least 8 characters long"
    );
    assert_eq!(
        PasswordPolicyError::TooLong { max: 1024 }.to_string(),
        "the password must be at most 1024 characters long"
    );
}

#[tokio::test]
async fn passwords_are_never_truncated() {
    let hasher = small_pool();
    let a = format!("{}a", "p".repeat(99));
    let b = format!("{}b", "p".repeat(99));
    let phc = hasher.hash(new_password(&a)).await.unwrap();
    assert_eq!(
        hasher.verify(candidate(&b), Some(&phc)).await,
        Ok(Verified::Mismatch)
    );
    assert_eq!(
        hasher.verify(candidate(&a), Some(&phc)).await,
        Ok(NO_REHASH)
    );
    let long_a = format!("{}a", "p".repeat(1023));
    let long_b = format!("{}b", "p".repeat(1023));
    let phc = hasher.hash(new_password(&long_a)).await.unwrap();
    assert_eq!(
        hasher.verify(candidate(&long_b), Some(&phc)).await,
        Ok(Verified::Mismatch)
    );
    assert_eq!(
        hasher.verify(candidate(&long_a), Some(&phc)).await,
        Ok(NO_REHASH)
    );
}

#[test]
fn debug_never_shows_the_password() {
    let secret = "hunter2-hunter2";
    for password in [new_password(secret), candidate(secret)] {
        let shown = format!("{password:?} {password:#?}");
        assert!(!shown.contains("hunter"), "{shown}");
        assert_eq!(format!("{password:?}"), "Password(***)");
    }
    let hasher = small_pool();
    assert!(format!("{hasher:?}").starts_with("PasswordHasher {"));
}

#[test]
fn normalization_keeps_the_whole_input() {
    // Expansions longer than the first capacity guess (U+FDFA is 18
    // characters in NFKC) go through the zeroizing growth path.
    let raw = "\u{FDFA}".repeat(100);
    let expected: String = raw.nfkc().collect();
    assert_eq!(candidate(&raw).secret(), expected.as_bytes());
    assert_eq!(candidate("").secret(), b"");
}
