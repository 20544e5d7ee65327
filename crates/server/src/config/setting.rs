//! The vocabulary every section shares: a [`Setting`] (its key, variable,
//! kind, default and help, each written once), where a value came from
//! ([`Source`]), what is wrong with it ([`Problem`], [`ConfigError`]), and
//! the [`Checker`] a section validates with. This module knows no section.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

/// What a setting holds and its default. The default written here is the one
/// validation uses and `docs/configuration.md` shows (a test compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any string; the default used when unset (`""`: none).
    Str(&'static str),
    /// A string whose default is computed from other settings, described here.
    Derived(&'static str),
    /// A whole number from `min` to `max`.
    Int {
        /// Used when unset.
        default: u64,
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
    },
    /// `true` or `false`.
    Bool(bool),
}

/// One documented setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Dotted key in the TOML file.
    pub key: &'static str,
    /// Environment variable overriding it.
    pub env: &'static str,
    /// The value kind and default.
    pub kind: Kind,
    /// Whether the value must never be printed.
    pub secret: bool,
    /// One line of help.
    pub help: &'static str,
}

impl Setting {
    const fn new(key: &'static str, env: &'static str, kind: Kind, help: &'static str) -> Self {
        Setting {
            key,
            env,
            kind,
            secret: false,
            help,
        }
    }

    /// A string setting with a fixed default (`""`: none).
    pub const fn text(
        key: &'static str,
        env: &'static str,
        default: &'static str,
        help: &'static str,
    ) -> Self {
        Self::new(key, env, Kind::Str(default), help)
    }

    /// A string setting whose default follows from other settings.
    pub const fn derived(
        key: &'static str,
        env: &'static str,
        described: &'static str,
        help: &'static str,
    ) -> Self {
        Self::new(key, env, Kind::Derived(described), help)
    }

    /// A whole-number setting with its default and range.
    pub const fn int(
        key: &'static str,
        env: &'static str,
        default: u64,
        min: u64,
        max: u64,
        help: &'static str,
    ) -> Self {
        Self::new(key, env, Kind::Int { default, min, max }, help)
    }

    /// A boolean setting.
    pub const fn flag(
        key: &'static str,
        env: &'static str,
        default: bool,
        help: &'static str,
    ) -> Self {
        Self::new(key, env, Kind::Bool(default), help)
    }

    /// The same setting, never printed.
    pub const fn secret(self) -> Self {
        Setting {
            secret: true,
            ..self
        }
    }

    /// The default as the docs show it (`None` for "none").
    pub fn default_text(&self) -> Option<String> {
        match self.kind {
            Kind::Str("") => None,
            Kind::Str(s) | Kind::Derived(s) => Some(s.to_owned()),
            Kind::Int { default, .. } => Some(default.to_string()),
            Kind::Bool(b) => Some(b.to_string()),
        }
    }

    /// The section's name: the key up to its last dot (`""` at the top level).
    pub fn section(&self) -> &'static str {
        self.key.rsplit_once('.').map_or("", |(s, _)| s)
    }

    /// Parses an environment variable's text into a TOML value of this kind.
    pub(super) fn parse_env(&self, value: &str) -> Result<toml::Value, String> {
        match self.kind {
            Kind::Str(_) | Kind::Derived(_) => Ok(toml::Value::String(value.to_owned())),
            Kind::Int { .. } => value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(toml::Value::Integer)
                .ok_or_else(|| "expected a whole number".to_owned()),
            Kind::Bool(_) => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
                "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
                _ => Err("expected true or false".to_owned()),
            },
        }
    }
}

/// The name of the section whose settings `settings` are (`""`: the top level).
pub fn section_name(settings: &[Setting]) -> &'static str {
    settings.first().map_or("", Setting::section)
}

/// A list given as a TOML array or as one string separated by commas or spaces.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum List {
    /// One string.
    One(String),
    /// An array of strings.
    Many(Vec<String>),
}

impl List {
    /// The items as one comma-separated string.
    pub fn joined(&self) -> String {
        match self {
            List::One(s) => s.clone(),
            List::Many(v) => v.join(", "),
        }
    }
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The configuration file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A file named by a secret's `_FILE` environment variable.
    SecretFile {
        /// The variable, such as `LATCHKEY_MASTER_KEY_FILE`.
        variable: String,
        /// The file it names.
        path: PathBuf,
    },
    /// A command-line flag.
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(e) => write!(f, "environment variable {e}"),
            Source::SecretFile { variable, path } => {
                write!(f, "file {} named by {variable}", path.display())
            }
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting's dotted key (or the file/variable when no key applies).
    pub setting: String,
    /// Where the offending value came from.
    pub source: Source,
    /// The offending value, redacted for secrets.
    pub value: Option<String>,
    /// What is wrong and what is expected.
    pub message: String,
}

/// Everything wrong with the configuration, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<Problem>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for p in &self.0 {
            write!(f, "  - {} (from {})", p.setting, p.source)?;
            if let Some(v) = &p.value {
                write!(f, ": value {v:?}")?;
            }
            writeln!(f, ": {}", p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub(super) fn one(
        setting: &str,
        source: Source,
        value: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError(vec![Problem {
            setting: setting.to_owned(),
            source,
            value,
            message: message.into(),
        }])
    }
}

/// Replaces the password of a URL with `***`; leaves unparsable text alone
/// except for anything between `:` and `@` in the authority.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let authority = &url[s + 3..at];
                match authority.find(':') {
                    Some(c) => format!("{}{}:***{}", &url[..s + 3], &authority[..c], &url[at..]),
                    None => url.to_owned(),
                }
            }
            _ => url.to_owned(),
        },
    }
}

/// A secret as an error message may show it: a URL with its password
/// replaced by `***`; anything else (a key, a libpq `key=value` string with
/// `password=` in it, text that is no URL) not at all.
pub fn redact_secret(value: &str) -> String {
    if value.contains("://") {
        redact_url(value)
    } else {
        "<redacted>".to_owned()
    }
}

/// Validation state shared by the sections: every setting, where each value
/// came from, the problems found so far, and each value as `config show`
/// prints it (recorded as the section settles on it).
pub struct Checker {
    settings: Vec<&'static Setting>,
    pub(super) sources: BTreeMap<&'static str, Source>,
    pub(super) problems: Vec<Problem>,
    pub(super) shown: BTreeMap<&'static str, String>,
}

impl Checker {
    pub(super) fn new(
        settings: Vec<&'static Setting>,
        sources: BTreeMap<&'static str, Source>,
    ) -> Self {
        Checker {
            settings,
            sources,
            problems: Vec::new(),
            shown: BTreeMap::new(),
        }
    }

    /// The setting named `key`; a key missing from every section's list is a bug.
    pub fn setting(&self, key: &str) -> &'static Setting {
        self.settings
            .iter()
            .copied()
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("setting {key} is missing from its section's SETTINGS"))
    }

    /// Records a problem with `key`, naming its source; secrets are redacted.
    pub fn fail(&mut self, key: &'static str, value: Option<&str>, message: impl Into<String>) {
        let s = self.setting(key);
        self.problems.push(Problem {
            setting: key.to_owned(),
            source: self.sources.get(key).cloned().unwrap_or(Source::Default),
            value: value.map(|v| {
                if s.secret {
                    redact_secret(v)
                } else {
                    v.to_owned()
                }
            }),
            message: message.into(),
        });
    }

    /// Whether a problem names `key` already.
    pub fn failed(&self, key: &str) -> bool {
        self.problems.iter().any(|p| p.setting == key)
    }

    /// Records how `config show` prints `key` (a TOML value; secrets redacted by the caller).
    pub fn show(&mut self, key: &'static str, toml_value: String) {
        let key = self.setting(key).key;
        self.shown.insert(key, toml_value);
    }

    /// Records a string value for `config show`, quoted.
    pub fn show_str(&mut self, key: &'static str, value: &str) {
        self.show(key, format!("{value:?}"));
    }

    /// A whole number in the setting's range; its default when unset.
    pub fn int(&mut self, key: &'static str, raw: Option<u64>) -> u64 {
        let Kind::Int { default, min, max } = self.setting(key).kind else {
            panic!("setting {key} is not a number");
        };
        let n = raw.unwrap_or(default);
        if n < min || n > max {
            self.fail(
                key,
                Some(&n.to_string()),
                format!("expected a number from {min} to {max}"),
            );
            return default;
        }
        self.show(key, n.to_string());
        n
    }

    /// A number of seconds in the setting's range, as a duration.
    pub fn secs(&mut self, key: &'static str, raw: Option<u64>) -> Duration {
        Duration::from_secs(self.int(key, raw))
    }

    /// A number of milliseconds in the setting's range, as a duration.
    pub fn millis(&mut self, key: &'static str, raw: Option<u64>) -> Duration {
        Duration::from_millis(self.int(key, raw))
    }

    /// A number of seconds in the setting's range, as the `time` span core
    /// works with (every range fits an `i64`).
    pub fn span_secs(&mut self, key: &'static str, raw: Option<u64>) -> time::Duration {
        time::Duration::seconds(self.int(key, raw) as i64)
    }

    /// A number of minutes in the setting's range, as a `time` span.
    pub fn span_minutes(&mut self, key: &'static str, raw: Option<u64>) -> time::Duration {
        time::Duration::minutes(self.int(key, raw) as i64)
    }

    /// A number of days in the setting's range, as a `time` span.
    pub fn span_days(&mut self, key: &'static str, raw: Option<u64>) -> time::Duration {
        time::Duration::days(self.int(key, raw) as i64)
    }

    /// A boolean; its default when unset.
    pub fn flag(&mut self, key: &'static str, raw: Option<bool>) -> bool {
        let Kind::Bool(default) = self.setting(key).kind else {
            panic!("setting {key} is not a boolean");
        };
        let b = raw.unwrap_or(default);
        self.show(key, b.to_string());
        b
    }

    /// A string as given, or its default when unset. Not for secrets or
    /// derived defaults: their sections say how to show them.
    pub fn text(&mut self, key: &'static str, raw: Option<String>) -> String {
        let s = self.setting(key);
        let Kind::Str(default) = s.kind else {
            panic!("setting {key} has no fixed text default");
        };
        assert!(!s.secret, "secret {key} must be shown by its section");
        let text = raw.unwrap_or_else(|| default.to_owned());
        self.show_str(key, &text);
        text
    }

    /// A string trimmed, or `None` when unset or blank (the default then
    /// applies in the section's own terms).
    pub fn optional(&mut self, key: &'static str, raw: Option<String>) -> Option<String> {
        let text = raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let s = self.setting(key);
        if !s.secret && matches!(s.kind, Kind::Str(_)) {
            self.show_str(key, text.as_deref().unwrap_or(""));
        }
        text
    }

    /// A string trimmed, or the setting's default when unset or blank.
    pub fn nonblank(&mut self, key: &'static str, raw: Option<String>) -> String {
        let text = raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        self.text(key, text)
    }

    /// Deserializes one section's raw form from the merged table (`""`: the
    /// top-level keys); a wrong type is a problem naming the setting.
    pub(super) fn section<T: DeserializeOwned + Default>(
        &mut self,
        table: &toml::Table,
        settings: &[Setting],
        file: Option<&PathBuf>,
    ) -> T {
        let name = section_name(settings);
        let part = if name.is_empty() {
            let top: toml::Table = table
                .iter()
                .filter(|(k, _)| settings.iter().any(|s| s.key == k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            toml::Value::Table(top)
        } else {
            table
                .get(name)
                .cloned()
                .unwrap_or_else(|| toml::Value::Table(toml::Table::new()))
        };
        match serde_path_to_error::deserialize(part) {
            Ok(raw) => raw,
            Err(e) => {
                let path = e.path().to_string();
                let key = match (name, path.as_str()) {
                    (n, ".") => n.to_owned(),
                    ("", p) => p.to_owned(),
                    (n, p) => format!("{n}.{p}"),
                };
                let source = self
                    .settings
                    .iter()
                    .find(|s| s.key == key)
                    .and_then(|s| self.sources.get(s.key).cloned())
                    .or_else(|| file.cloned().map(Source::File))
                    .unwrap_or(Source::Default);
                self.problems.push(Problem {
                    setting: key,
                    source,
                    value: None,
                    message: e.into_inner().to_string().trim().to_owned(),
                });
                T::default()
            }
        }
    }
}
