//! Counting stored password hashes by scheme, for
//! `latchkey_legacy_password_hashes`.

use latchkey_core::id;
use latchkey_core::legacy_hashes::LegacyFormat;

use latchkey_core::store::Store;

use super::{migrated, sample_user};
use crate::db::TestDb;

/// Accounts are counted by the text between the first two `$` of their
/// hash; accounts without a password are not counted.
pub async fn password_hashes_are_counted_by_scheme(db: &dyn TestDb) {
    let store = migrated(db).await;
    assert_eq!(store.password_hash_schemes().await.unwrap(), vec![]);
    let hashes = [
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
        Some("$2b$05$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKtC"),
        Some("$2y$05$ore5uaRVzvEBrdsT9Dzbjuf.N1lRzm/aNBu5WX.wdQtq246WxeLIu"),
        Some("$pbkdf2-sha256$i=1000,l=4$c2FsdA$aGFzaA"),
        Some("$pbkdf2-sha256$i=2000,l=4$c2FsdA$aGFzaA"),
        Some("$firebase-scrypt$ln=14,r=8$a2V5$Bw$c2FsdA$aGFzaA"),
        None,
    ];
    insert_with_hashes(&*store, &hashes).await;
    let mut schemes = store.password_hash_schemes().await.unwrap();
    schemes.sort();
    let expected: Vec<(String, u64)> = [
        ("2b", 1),
        ("2y", 1),
        ("argon2id", 1),
        ("firebase-scrypt", 1),
        ("pbkdf2-sha256", 2),
    ]
    .iter()
    .map(|(s, n)| ((*s).to_owned(), *n))
    .collect();
    assert_eq!(schemes, expected);
    let tally = LegacyFormat::tally(&schemes);
    assert!(tally.contains(&(LegacyFormat::Bcrypt, 2)));
    assert!(tally.contains(&(LegacyFormat::Pbkdf2Sha256, 2)));
    assert!(tally.contains(&(LegacyFormat::FirebaseScrypt, 1)));
}

/// One sample per imported scheme, the greatest by text (for bcrypt the
/// highest cost); argon2id and accounts without a password give none.
pub async fn one_imported_hash_per_scheme_is_sampled(db: &dyn TestDb) {
    let store = migrated(db).await;
    assert_eq!(
        store.legacy_hash_samples().await.unwrap(),
        Vec::<String>::new()
    );
    let hashes = [
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
        Some("$2b$05$pCLKlcQdRmD4t5BpCqaOoeXF6PP93W8F10vVx5UqdoyFL9jUgMKtC"),
        Some("$2b$10$ore5uaRVzvEBrdsT9Dzbjuf.N1lRzm/aNBu5WX.wdQtq246WxeLIu"),
        Some("$pbkdf2-sha256$i=1000,l=4$c2FsdA$aGFzaA"),
        None,
    ];
    insert_with_hashes(&*store, &hashes).await;
    let mut samples = store.legacy_hash_samples().await.unwrap();
    samples.sort();
    assert_eq!(
        samples,
        [
            "$2b$10$ore5uaRVzvEBrdsT9Dzbjuf.N1lRzm/aNBu5WX.wdQtq246WxeLIu",
            "$pbkdf2-sha256$i=1000,l=4$c2FsdA$aGFzaA",
        ]
    );
}

/// One account per entry, with that password hash (or none).
async fn insert_with_hashes(store: &dyn Store, hashes: &[Option<&str>]) {
    for hash in hashes {
        let mut user = sample_user(&format!("{}@example.com", id::new_id()), None);
        user.password_hash = hash.map(str::to_owned);
        store.insert_user(&user, &[], None).await.unwrap();
    }
}
