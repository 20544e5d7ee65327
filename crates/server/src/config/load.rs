//! The sources, merged: built-in defaults, the TOML file, `LATCHKEY_*`
//! environment variables, then command-line flags, into one TOML table and
//! a record of where each value came from. Unknown keys and variables are
//! problems here; the sections check the values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::setting::{ConfigError, Problem, Setting, Source, section_name};

/// Environment variables with the `LATCHKEY_` prefix that are not settings.
const NON_SETTING_ENV: &[&str] = &["LATCHKEY_CONFIG"];

/// Values given on the command line; `None` where the flag was absent.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<String>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

/// The merged sources, before any value is checked.
pub(super) struct Merged {
    /// Every given value, as one TOML table.
    pub table: toml::Table,
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// Where each setting's value came from.
    pub sources: BTreeMap<&'static str, Source>,
}

/// Merges the file, the environment and the flags over the defaults.
/// `sections` names every section (`""`: the top level) with its settings.
pub(super) fn merge(
    sections: &[&'static [Setting]],
    overrides: &Overrides,
    env: impl IntoIterator<Item = (String, String)>,
    default_file: &Path,
) -> Result<Merged, ConfigError> {
    let settings = || sections.iter().flat_map(|s| s.iter());
    let env: BTreeMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("LATCHKEY_"))
        .collect();
    let mut sources: BTreeMap<&'static str, Source> =
        settings().map(|s| (s.key, Source::Default)).collect();

    // 1. the file
    let file = overrides
        .config_file
        .clone()
        .or_else(|| env.get("LATCHKEY_CONFIG").map(PathBuf::from))
        .or_else(|| default_file.exists().then(|| default_file.to_owned()));
    let mut table = toml::Table::new();
    let mut problems = Vec::new();
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(
                "config file",
                Source::File(path.clone()),
                None,
                format!("cannot read it: {e}"),
            )
        })?;
        table = text.parse::<toml::Table>().map_err(|e| {
            ConfigError::one(
                "config file",
                Source::File(path.clone()),
                None,
                format!("not valid TOML: {}", e.to_string().trim()),
            )
        })?;
        for s in settings() {
            if lookup(&table, s.key).is_some() {
                sources.insert(s.key, Source::File(path.clone()));
            }
        }
        problems.extend(unknown_keys(sections, &table, path));
    }

    // 2. the environment
    for (name, value) in &env {
        if NON_SETTING_ENV.contains(&name.as_str()) || name.starts_with("LATCHKEY_TEST_") {
            continue;
        }
        match settings().find(|s| s.env == name) {
            Some(s) => match s.parse_env(value) {
                Ok(v) => {
                    insert(&mut table, s.key, v);
                    sources.insert(s.key, Source::Env(s.env.to_owned()));
                }
                Err(msg) => problems.push(Problem {
                    setting: s.key.to_owned(),
                    source: Source::Env(s.env.to_owned()),
                    value: Some(if s.secret {
                        "<redacted>".into()
                    } else {
                        value.clone()
                    }),
                    message: msg,
                }),
            },
            None => problems.push(Problem {
                setting: name.clone(),
                source: Source::Env(name.clone()),
                value: None,
                message: format!(
                    "unknown environment variable; latchkey reads {}",
                    settings().map(|s| s.env).collect::<Vec<_>>().join(", ")
                ),
            }),
        }
    }

    // 3. the flags
    for (flag, key, value) in [
        ("--listen", "listen", &overrides.listen),
        ("--data-dir", "data_dir", &overrides.data_dir),
        ("--public-url", "public_url", &overrides.public_url),
        ("--database-url", "database.url", &overrides.database_url),
    ] {
        if let Some(v) = value {
            let s = settings()
                .find(|s| s.key == key)
                .unwrap_or_else(|| panic!("flag {flag} sets {key}, which no section lists"));
            insert(&mut table, s.key, toml::Value::String(v.clone()));
            sources.insert(s.key, Source::Flag(flag));
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError(problems));
    }
    Ok(Merged {
        table,
        file,
        sources,
    })
}

/// Every key of the file that no section lists, each one a problem. A
/// section given as something other than a table is left to the section's
/// own parse, which names the expected shape.
fn unknown_keys(sections: &[&'static [Setting]], table: &toml::Table, path: &Path) -> Vec<Problem> {
    let known = |key: &str| sections.iter().flat_map(|s| s.iter()).any(|s| s.key == key);
    let unknown = |key: String, expected: String| Problem {
        setting: key,
        source: Source::File(path.to_owned()),
        value: None,
        message: format!("unknown setting; expected one of {expected}"),
    };
    let names = |section: &str| {
        sections
            .iter()
            .filter(|s| section_name(s) == section)
            .flat_map(|s| s.iter())
            .map(|s| format!("`{}`", s.key.rsplit('.').next().unwrap_or(s.key)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut problems = Vec::new();
    for (key, value) in table {
        if known(key) {
            continue;
        }
        if !sections.iter().any(|s| section_name(s) == key) {
            let top = names("");
            let tables: Vec<String> = sections
                .iter()
                .map(|s| section_name(s))
                .filter(|name| !name.is_empty())
                .map(|name| format!("[{name}]"))
                .collect();
            problems.push(unknown(
                key.clone(),
                format!("{top} or {}", tables.join(", ")),
            ));
            continue;
        }
        let Some(inner) = value.as_table() else {
            continue;
        };
        for sub in inner.keys() {
            let full = format!("{key}.{sub}");
            if !known(&full) {
                problems.push(unknown(full, format!("{} in [{key}]", names(key))));
            }
        }
    }
    problems
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.').peekable();
    let mut current = table;
    while let Some(part) = parts.next() {
        let v = current.get(part)?;
        if parts.peek().is_none() {
            return Some(v);
        }
        current = v.as_table()?;
    }
    None
}

fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    let (parents, last) = match key.rsplit_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, key),
    };
    let mut current = table;
    if let Some(parents) = parents {
        for part in parents.split('.') {
            let entry = current
                .entry(part.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            current = entry.as_table_mut().expect("just made a table");
        }
    }
    current.insert(last.to_owned(), value);
}
