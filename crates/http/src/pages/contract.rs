//! The template contract: the values each template receives, versioned
//! (docs/theming.md shows the same table), and `latchkey theme check`,
//! which renders every template of a theme against it.
//!
//! The check is static and dynamic: minijinja's analysis lists the
//! variables and attributes a template looks up (`account.email`), each
//! compared with the contract's sample values; then every template is
//! rendered in every configured language with the sample values and
//! undefined values made errors (`UndefinedBehavior::Strict`), which also
//! catches an unknown catalogue key in `t()`. A theme written for an older
//! contract that uses a value since removed is named, template and value.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use minijinja::{Value, context};

use super::{Branding, Pages, TEMPLATES, catalogue};

/// The contract's version: raised whenever a value is removed or renamed.
pub const VERSION: u32 = 2;

/// Names every template may use besides the values: the catalogue
/// function, minijinja's built-in functions, and the loop variable.
const GLOBALS: &[&str] = &["t", "range", "dict", "namespace", "debug", "loop"];

/// Sample values of what every template receives (besides `title`).
fn common() -> Value {
    context! {
        title => "Title",
        nonce => "bm9uY2Vub25jZW5vbmNl",
        product_name => "latchkey",
        branding => Value::from_serialize(Branding {
            color: Some("#2f6fde".into()),
            background_color: Some("#ffffff".into()),
            custom_css: Some(String::new()),
            ..Branding::default()
        }),
        lang => "en",
        locales => vec!["en"],
    }
}

fn errors() -> Value {
    Value::from_serialize([serde_json::json!({
        "field": "email", "code": "invalid_email", "message": "Not an address.",
    })])
}

/// A sample session of `account.html`.
fn session(current: bool) -> Value {
    context! {
        id => if current { "s1" } else { "s2" }, created_at => "2026-01-01T00:00:00Z",
        last_seen_at => "2026-01-02T00:00:00Z", expires_at => "2026-02-01T00:00:00Z",
        ip => "203.0.113.7", user_agent => "Mozilla/5.0", device => "Firefox on Linux",
        amr => ["pwd"], kind => "cookie", current => current,
    }
}

/// Sample values of each template's own values: every value the contract
/// gives it, so that a template using anything else is found.
pub fn sample(template: &str) -> Value {
    let own = match template {
        "message.html" => context! {
            paragraphs => ["One.", "Two."],
            link => context! { href => "/login", text => "Sign in" },
            refresh => "https://idp.example/authorize",
        },
        "error.html" => context! { paragraphs => ["It failed."], back => "Back" },
        "link.html" => context! {
            paragraphs => ["Text."], action => "/reset-password", token => "t", csrf => "c",
            button => "Go", new_password => "New password", errors => errors(),
        },
        "login.html" => context! {
            csrf => "c", identifier => "ada", return_to => "/account", remember => true,
            register => "/register", errors => errors(),
            providers => [context! { name => "google", display_name => "Google", href => "/v1/auth/oauth/google/authorize" }],
            passwordless => context! { link => true, code => true },
        },
        "passwordless.html" => context! {
            paragraphs => ["Text."], action => "/magic-link", csrf => "c", token => "t",
            email => "a@example.com", return_to => "/account", code => "Code", button => "Go",
            errors => errors(),
        },
        "forgot.html" => {
            context! { text => "Text.", csrf => "c", email => "a@example.com", errors => errors() }
        }
        "logout.html" => context! { text => "Text.", button => "Go", csrf => "c" },
        "account.html" => context! {
            account => context! {
                id => "0190", email => "a@example.com", email_verified => false,
                username => "ada", name => "Ada", locale => "en", created_at => "2026-01-01T00:00:00Z",
                updated_at => "2026-01-01T00:00:00Z",
            },
            sessions => [session(true), session(false)],
            passkeys => [context! {
                id => "p1", name => "Laptop", created_at => "2026-01-01T00:00:00Z",
                last_used_at => "2026-01-02T00:00:00Z", backup_eligible => true,
                backup_state => true, transports => ["internal"], aaguid => "00",
            }],
            identities => [context! { id => "0191", provider => "google", email => "a@example.com", email_verified => true, linked_at => "2026-01-01T00:00:00Z", name => "Ada", picture => "https://idp.example/ada.png" }],
            link_providers => [context! { name => "github", display_name => "GitHub", authorize_url => "/v1/auth/oauth/github/authorize" }],
            csrf => "c",
            notice => "profile_saved",
            failed => "profile",
            typed => context! { username => "ada", name => "Ada", new_email => "b@example.com" },
            deletion_grace_days => 30,
            errors => errors(),
            mfa => context! { enabled => true, pending => false, backup_codes_left => 9 },
            enrolment => context! {
                secret => "JBSWY3DPEHPK3PXP", otpauth_uri => "otpauth://totp/latchkey:a%40example.com",
                qr => "data:image/svg+xml;base64,PHN2Zy8+",
            },
            backup_codes => ["4kq7-mz2x-9c8d"],
            enrolment_required => true,
            has_password => true,
            backup_codes_download => "data:text/plain;charset=utf-8;base64,NGtxNy1tejJ4LTljOGQK",
        },
        "register.html" => context! {
            csrf => "c", email => "a@example.com", username => "ada", name => "Ada",
            return_to => "/account", login => "/login", passkey_signup => true, errors => errors(),
        },
        "registered.html" => context! { login => "/login" },
        "activity.html" => context! {
            events => [context! {
                id => "0191", at => "2026-01-01T00:00:00Z", event => "login.succeeded",
                by => "you", ip => "203.0.113.7", user_agent => "Firefox", reason => "password",
                session_id => "s1",
            }],
            next_cursor => "0191",
            current_session => "s1",
        },
        "mfa.html" => context! {
            csrf => "c", mfa_token => "m", methods => ["totp", "backup_code"],
            return_to => "/account", remember => true, method => "totp", errors => errors(),
        },
        "consent.html" => context! {
            client_name => "Partner app", csrf => "c",
            scopes => [context! { name => "openid", text => "know who you are" }],
            fields => [context! { name => "client_id", value => "lk_1" }],
        },
        "form_post.html" => context! {
            action => "https://app.example.com/cb",
            fields => [context! { name => "code", value => "x" }],
        },
        "deleted.html" => context! {
            due => "2026-02-01T00:00:00Z", due_date => "2026-02-01", email => "a@example.com",
        },
        _ => context! {},
    };
    minijinja::value::merge_maps([own, common()])
}

/// The names `value` offers: its keys, and `key.attribute` for maps.
fn offered(value: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Ok(keys) = value.try_iter() {
        for key in keys {
            let Some(name) = key.as_str() else { continue };
            names.insert(name.to_owned());
            if let Ok(inner) = value.get_item(&key)
                && inner.kind() == minijinja::value::ValueKind::Map
                && let Ok(attrs) = inner.try_iter()
            {
                for attr in attrs {
                    if let Some(a) = attr.as_str() {
                        names.insert(format!("{name}.{a}"));
                    }
                }
            }
        }
    }
    names
}

/// Checks the theme in `dir` against this version's contract for
/// `locales`; the problems found, each naming its template (or catalogue)
/// and what it uses. Empty: the theme works with this version.
pub fn check(dir: &Path, locales: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let words = match catalogue(Some(dir), locales) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            problems.push(format!("locales/: {e}"));
            return problems;
        }
    };
    let pages = Pages::new(Some(dir.to_owned()), words).strict();
    for (name, _) in TEMPLATES {
        if !dir.join(name).is_file() {
            continue; // built in: checked by latchkey's own tests
        }
        let template = match pages.env.get_template(name) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{name}: {}", describe(&e)));
                continue;
            }
        };
        let allowed = offered(&sample(name));
        let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
        used.sort();
        for var in used {
            let root = var.split('.').next().unwrap_or_default();
            if GLOBALS.contains(&root) || allowed.contains(&var) {
                continue;
            }
            // `x.y` of a value that is not a map (a list, text) is left to
            // the rendering below
            if var.contains('.')
                && allowed.contains(root)
                && !allowed.iter().any(|a| a.starts_with(&format!("{root}.")))
            {
                continue;
            }
            problems.push(format!(
                "{name}: uses `{var}`, which templates no longer receive (contract version {VERSION}, docs/theming.md)"
            ));
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    for (name, _) in TEMPLATES {
        if *name == "macros.html" {
            continue; // used by the others
        }
        for lang in pages.catalogue().locales() {
            let ctx = minijinja::value::merge_maps([context! { lang => lang }, sample(name)]);
            if let Err(e) = pages.env.get_template(name).and_then(|t| t.render(ctx)) {
                problems.push(format!("{name} ({lang}): {}", describe(&e)));
            }
        }
    }
    problems
}

/// The engine's message with the template and line it names.
fn describe(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    if let (Some(name), Some(line)) = (e.name(), e.line()) {
        text.push_str(&format!(" ({name}, line {line})"));
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Vec<String> {
        latchkey_core::i18n::SHIPPED
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    /// A theme directory holding every built-in template.
    fn builtin_theme() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in TEMPLATES {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn the_built_in_theme_passes() {
        let dir = builtin_theme();
        assert_eq!(check(dir.path(), &shipped()), Vec::<String>::new());
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(check(empty.path(), &shipped()), Vec::<String>::new());
    }

    #[test]
    fn a_theme_using_a_removed_value_fails_naming_template_and_value() {
        for (template, text, named) in [
            (
                "login.html",
                "{% extends \"layout.html\" %}{% block content %}{{ username_hint }}{% endblock %}",
                "`username_hint`",
            ),
            (
                "account.html",
                "{% extends \"layout.html\" %}{% block content %}{{ account.last_login }}{% endblock %}",
                "`account.last_login`",
            ),
            (
                "layout.html",
                "<html lang=\"{{ lang }}\">{{ theme_color }}{% block content %}{% endblock %}</html>",
                "`theme_color`",
            ),
            (
                "forgot.html",
                "{{ t(\"forgot-no-such-key\") }}",
                "`forgot-no-such-key`",
            ),
        ] {
            let dir = builtin_theme();
            std::fs::write(dir.path().join(template), text).unwrap();
            let problems = check(dir.path(), &shipped());
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(template) && p.contains(named)),
                "{template}: {problems:?}"
            );
        }
    }

    #[test]
    fn docs_theming_shows_this_contract() {
        let docs = include_str!("../../../../docs/theming.md");
        assert!(docs.contains(&format!("## The template contract (version {VERSION})")));
        let shared = offered(&common());
        for key in shared.iter().filter(|k| !k.contains('.')) {
            assert!(
                docs.contains(&format!("| `{key}` |")),
                "docs/theming.md lacks `{key}`"
            );
        }
        for (name, _) in TEMPLATES {
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("| `{name}` |")))
                .unwrap_or_else(|| panic!("docs/theming.md has no row for {name}"));
            for key in offered(&sample(name)) {
                if !key.contains('.') && !shared.contains(&key) {
                    assert!(
                        row.contains(&format!("`{key}`")),
                        "{name}: `{key}` missing from {row}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_theme_catalogue_missing_a_key_fails() {
        let dir = builtin_theme();
        std::fs::create_dir_all(dir.path().join("locales/en")).unwrap();
        std::fs::write(dir.path().join("locales/en/x.ftl"), "login-title = Hi\n").unwrap();
        let problems = check(dir.path(), &shipped());
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`login-title`") && p.contains("`de`")),
            "{problems:?}"
        );
    }
}
