//! Both backends must carry migrations with the same file names, so that a
//! schema change is never made on one backend only.

use std::path::Path;

fn names(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(backend)
        .join("migrations");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_names() {
    let sqlite = names("store-sqlite");
    let postgres = names("store-postgres");
    assert!(!sqlite.is_empty(), "no migrations found");
    assert_eq!(
        sqlite, postgres,
        "crates/store-sqlite/migrations and crates/store-postgres/migrations must list the same files"
    );
    for n in &sqlite {
        assert!(
            n.len() > 5 && n[..4].chars().all(|c| c.is_ascii_digit()) && n.ends_with(".sql"),
            "migration {n} must be named NNNN_description.sql"
        );
    }
}
