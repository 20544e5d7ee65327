//! The settings catalogue against its readers: the docs list every setting
//! with the default the code uses, each section owns its keys once and reads
//! them, `config show` prints each once.

use super::*;

#[test]
fn docs_list_every_setting() {
    let docs = include_str!("../../../../../docs/configuration.md");
    for s in settings() {
        assert!(
            docs.contains(&format!("`{}`", s.key)),
            "docs/configuration.md lacks `{}`",
            s.key
        );
        assert!(
            docs.contains(&format!("`{}`", s.env)),
            "docs/configuration.md lacks `{}`",
            s.env
        );
    }
}

#[test]
fn each_section_lists_its_own_keys_once() {
    let mut names = Vec::new();
    for list in SECTIONS {
        let name = setting::section_name(list);
        assert!(!names.contains(&name), "section {name:?} listed twice");
        names.push(name);
        for s in *list {
            assert_eq!(s.section(), name, "{} is listed in [{name}]", s.key);
            let env = format!("LATCHKEY_{}", s.key.replace('.', "_").to_uppercase());
            assert_eq!(s.env, env, "the variable of {} follows its key", s.key);
        }
    }
    assert_eq!(
        names[0], "",
        "top-level keys come first, before any [table]"
    );
    let keys: std::collections::BTreeSet<_> = settings().map(|s| s.key).collect();
    assert_eq!(keys.len(), settings().count(), "a key is listed twice");
}

#[test]
fn docs_show_the_default_the_code_uses() {
    let docs = include_str!("../../../../../docs/configuration.md");
    for s in settings() {
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", s.key)))
            .unwrap_or_else(|| panic!("docs/configuration.md has no row for `{}`", s.key));
        let default = row.split(" | ").nth(2).unwrap_or_default();
        match (s.kind, s.default_text()) {
            (Kind::Derived(_), _) => {}
            (_, None) => assert!(default.starts_with("none"), "{row}"),
            (_, Some(d)) => assert_eq!(default, format!("`{d}`"), "{row}"),
        }
    }
}

#[test]
fn every_setting_is_read_by_its_section() {
    // A key listed in SETTINGS but missing from its section's raw form would
    // be refused as an unknown field when set.
    for s in settings() {
        let sample = match s.kind {
            Kind::Int { default, .. } => default.to_string(),
            Kind::Bool(b) => b.to_string(),
            Kind::Str(_) | Kind::Derived(_) => "x".to_owned(),
        };
        if let Err(e) = load_with(&[(s.env, &sample)], None, Overrides::default()) {
            assert!(
                e.0.iter().all(|p| !p.message.contains("unknown field")),
                "{}: {e}",
                s.env
            );
        }
    }
}

#[test]
fn config_show_prints_every_setting_once() {
    for env in [
        &[][..],
        &[
            ("LATCHKEY_MAIL_TRANSPORT", "smtp"),
            ("LATCHKEY_MAIL_SMTP_HOST", "smtp.example.net"),
            ("LATCHKEY_REDIS_URL", "redis://127.0.0.1:6379/0"),
        ][..],
    ] {
        let c = load_with(env, None, Overrides::default()).unwrap();
        let shown: toml::Table = show(&c).parse().expect("config show prints TOML");
        let mut count = 0;
        for (key, value) in &shown {
            match value.as_table() {
                Some(t) => count += t.len(),
                None => count += usize::from(!key.is_empty()),
            }
        }
        assert_eq!(count, settings().count());
        for s in settings() {
            let (section, name) = s.key.rsplit_once('.').unwrap_or(("", s.key));
            let value = if section.is_empty() {
                shown.get(name)
            } else {
                shown[section].get(name)
            };
            assert!(value.is_some(), "config show lacks {}", s.key);
        }
    }
}
