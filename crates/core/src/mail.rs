//! Mail: the messages latchkey sends, their templates, and the transport
//! contract.
//!
//! Decisions:
//! - **Rendered when queued.** A message is rendered (subject, plain text,
//!   HTML) at the moment it is queued, sealed under the master key and kept
//!   in the durable outbox until a transport accepts it; then its content is
//!   wiped. A link in it carries a live token, which is never stored in the
//!   clear.
//! - **Small hand-written templates.** Every message is a subject, a few
//!   paragraphs, at most one action (a button in HTML, a bare link in text)
//!   and a closing note, laid out by one function for text and one for
//!   HTML. Every value is escaped for HTML; the theme (product name, logo
//!   URL, colour) is checked when the configuration is loaded and escaped
//!   again here.
//! - **Translatable.** Every sentence is looked up by key in a catalogue for
//!   a locale (`en` for now); an unknown locale, or a region (`en-GB`) without
//!   a catalogue of its own, falls back to its language and then to English.
//! - **Links come from the configured public URL** (the issuer), passed in by
//!   the caller; nothing here ever sees a request header.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Branding of outgoing mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// The product's name, in subjects and signatures.
    pub product_name: String,
    /// An absolute http(s) URL of a logo shown atop HTML mail.
    pub logo_url: Option<String>,
    /// The accent colour of buttons, `#rrggbb`.
    pub color: String,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            product_name: "latchkey".into(),
            logo_url: None,
            color: "#2f6fde".into(),
        }
    }
}

/// Which message, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailKind {
    /// Confirms the address at registration or on request.
    VerifyEmail {
        /// The verification link.
        link: String,
    },
    /// A password reset link.
    PasswordReset {
        /// The reset link.
        link: String,
        /// How long it works.
        minutes: i64,
    },
    /// The password was changed (or reset).
    PasswordChanged,
    /// To the new address: confirm the change.
    EmailChange {
        /// The confirmation link.
        link: String,
    },
    /// To the old address: a change to another address was requested.
    EmailChangeNotice {
        /// The new address.
        new_email: String,
    },
    /// A sign-in from a device not seen before.
    NewSignIn {
        /// A device label such as "Firefox on Linux".
        device: String,
        /// The client IP.
        ip: String,
        /// When (RFC 3339, UTC).
        at: String,
    },
    /// Someone tried to register an account with this address, which has
    /// one already (sent instead of revealing that to the registrant).
    SignUpAttempt,
    /// The account will be deleted; here is how to cancel.
    DeletionScheduled {
        /// The cancel link.
        link: String,
        /// When the personal data will be removed (a date, UTC).
        due: String,
    },
    /// Two-step sign-in was turned on, off, or reset, or the backup codes
    /// were replaced.
    MfaChanged {
        /// What changed, as the catalogue's `mfa_changed.<what>` key names it.
        what: MfaChange,
    },
    /// A backup code was used; `left` remain.
    BackupCodeUsed {
        /// Unused codes left.
        left: u32,
    },
}

/// What changed about two-step sign-in (for [`MailKind::MfaChanged`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaChange {
    /// The user turned it on.
    Enabled,
    /// The user turned it off.
    Disabled,
    /// An administrator removed the factors.
    Reset,
    /// The user replaced the backup codes.
    BackupCodesRegenerated,
}

impl MfaChange {
    fn key(self) -> &'static str {
        match self {
            MfaChange::Enabled => "mfa_changed.enabled",
            MfaChange::Disabled => "mfa_changed.disabled",
            MfaChange::Reset => "mfa_changed.reset",
            MfaChange::BackupCodesRegenerated => "mfa_changed.regenerated",
        }
    }
}

impl MailKind {
    /// The template's name (also the catalogue key prefix).
    pub fn template(&self) -> &'static str {
        match self {
            MailKind::VerifyEmail { .. } => "verify_email",
            MailKind::PasswordReset { .. } => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::EmailChange { .. } => "email_change",
            MailKind::EmailChangeNotice { .. } => "email_change_notice",
            MailKind::NewSignIn { .. } => "new_sign_in",
            MailKind::SignUpAttempt => "sign_up_attempt",
            MailKind::DeletionScheduled { .. } => "deletion_scheduled",
            MailKind::MfaChanged { .. } => "mfa_changed",
            MailKind::BackupCodeUsed { left } if *left <= 2 => "backup_codes_low",
            MailKind::BackupCodeUsed { .. } => "backup_code_used",
        }
    }

    /// The link the message carries, if any.
    pub fn link(&self) -> Option<&str> {
        match self {
            MailKind::VerifyEmail { link }
            | MailKind::PasswordReset { link, .. }
            | MailKind::EmailChange { link }
            | MailKind::DeletionScheduled { link, .. } => Some(link),
            _ => None,
        }
    }
}

/// A message ready for a transport.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    /// Stable id: the `Message-ID` and the file name of the `.eml`, the same
    /// on every attempt, so a receiver can recognize a repeat.
    pub id: String,
    /// The recipient's address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// The one-time link in it, if any (logged only by the file transport
    /// of the development mode).
    pub link: Option<String>,
    /// The template that made it.
    pub template: String,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the bodies or the link: they carry live tokens
        f.debug_struct("OutgoingMail")
            .field("id", &self.id)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

/// Why a transport did not deliver.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later (connection refused, timeout, 4xx).
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// Retrying will not help (recipient refused with 5xx, malformed address).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

/// Delivers rendered mail. Implementations: the file transport of the
/// development mode and SMTP (in `latchkey-mail`).
#[async_trait]
pub trait MailTransport: Send + Sync + 'static {
    /// Hands the message over; `Ok` means the other side accepted it.
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// Subject, text and HTML of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// Renders `kind` in `locale` with `theme`.
pub fn render(kind: &MailKind, theme: &Theme, locale: &str) -> Rendered {
    let t = |key: &str| lookup(locale, &format!("{}.{key}", kind.template()));
    let product = theme.product_name.as_str();
    let mut vars: Vec<(&str, String)> = vec![("product", product.to_owned())];
    match kind {
        MailKind::PasswordReset { minutes, .. } => vars.push(("minutes", minutes.to_string())),
        MailKind::EmailChangeNotice { new_email } => vars.push(("new_email", new_email.clone())),
        MailKind::NewSignIn { device, ip, at } => {
            vars.push(("device", device.clone()));
            vars.push(("ip", ip.clone()));
            vars.push(("at", at.clone()));
        }
        MailKind::DeletionScheduled { due, .. } => vars.push(("due", due.clone())),
        MailKind::MfaChanged { what } => {
            vars.push(("what", interpolate(lookup(locale, what.key()), &vars)));
        }
        MailKind::BackupCodeUsed { left } => vars.push(("left", left.to_string())),
        _ => {}
    }
    let fill = |text: &str| interpolate(text, &vars);
    let subject = fill(t("subject"));
    let paragraphs: Vec<String> = t("body")
        .split("\n\n")
        .map(fill)
        .filter(|p| !p.is_empty())
        .collect();
    let action = kind.link().map(|link| (fill(t("action")), link.to_owned()));
    let note = fill(t("note"));
    let signature = fill(lookup(locale, "common.signature"));
    let link_hint = lookup(locale, "common.link_hint");

    let mut text = String::new();
    for p in &paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
    }
    if let Some((label, link)) = &action {
        text.push_str(&format!("{label}:\n{link}\n\n"));
    }
    if !note.is_empty() {
        text.push_str(&note);
        text.push_str("\n\n");
    }
    text.push_str(&signature);
    text.push('\n');

    let color = if is_hex_color(&theme.color) {
        theme.color.as_str()
    } else {
        "#2f6fde"
    };
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\n\
         <body style=\"margin:0;padding:24px;background:#f5f6f8;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328\">\n\
         <table role=\"presentation\" width=\"100%\" style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px\"><tr><td>\n",
    );
    if let Some(logo) = &theme.logo_url {
        html.push_str(&format!(
            "<p><img src=\"{}\" alt=\"{}\" style=\"max-height:48px\"></p>\n",
            escape(logo),
            escape(product)
        ));
    }
    html.push_str(&format!(
        "<h1 style=\"font-size:20px;margin:0 0 16px\">{}</h1>\n",
        escape(&subject)
    ));
    for p in &paragraphs {
        html.push_str(&format!(
            "<p style=\"font-size:15px;line-height:1.5\">{}</p>\n",
            escape(p)
        ));
    }
    if let Some((label, link)) = &action {
        html.push_str(&format!(
            "<p style=\"margin:24px 0\"><a href=\"{href}\" style=\"background:{color};color:#ffffff;\
             padding:12px 20px;border-radius:6px;text-decoration:none;font-weight:600;display:inline-block\">{label}</a></p>\n\
             <p style=\"font-size:13px;color:#59636e\">{hint}<br><a href=\"{href}\" style=\"color:{color};word-break:break-all\">{text}</a></p>\n",
            href = escape(link),
            label = escape(label),
            hint = escape(link_hint),
            text = escape(link),
        ));
    }
    if !note.is_empty() {
        html.push_str(&format!(
            "<p style=\"font-size:13px;color:#59636e\">{}</p>\n",
            escape(&note)
        ));
    }
    html.push_str(&format!(
        "<p style=\"font-size:13px;color:#59636e\">{}</p>\n</td></tr></table>\n</body></html>\n",
        escape(&signature)
    ));
    Rendered {
        subject,
        text,
        html,
    }
}

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `s` is a `#rrggbb` colour.
pub fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn interpolate(text: &str, vars: &[(&str, String)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The locales with a catalogue of their own.
pub const LOCALES: &[&str] = &["en"];

/// The sentence `key` in `locale`, falling back to the language, then to
/// English. A key missing everywhere is a bug caught by the tests; it
/// renders as empty.
pub fn lookup(locale: &str, key: &str) -> &'static str {
    let lang = locale.split(['-', '_']).next().unwrap_or("en");
    for candidate in [locale, lang, "en"] {
        if let Some(catalogue) = catalogue(candidate)
            && let Some((_, text)) = catalogue.iter().find(|(k, _)| *k == key)
        {
            return text;
        }
    }
    ""
}

fn catalogue(locale: &str) -> Option<&'static [(&'static str, &'static str)]> {
    match locale.to_ascii_lowercase().as_str() {
        "en" => Some(EN),
        _ => None,
    }
}

/// English. Paragraphs of a body are separated by a blank line.
const EN: &[(&str, &str)] = &[
    ("common.signature", "— {product}"),
    (
        "common.link_hint",
        "If the button does not work, copy this link into your browser:",
    ),
    (
        "verify_email.subject",
        "Confirm your email address for {product}",
    ),
    (
        "verify_email.body",
        "Please confirm that this is your email address, so that {product} can reach you when it matters.",
    ),
    ("verify_email.action", "Confirm my address"),
    (
        "verify_email.note",
        "The link works once, for 24 hours. If you did not sign up for {product}, ignore this message.",
    ),
    ("password_reset.subject", "Reset your {product} password"),
    (
        "password_reset.body",
        "Someone, hopefully you, asked to reset the password of your {product} account.",
    ),
    ("password_reset.action", "Choose a new password"),
    (
        "password_reset.note",
        "The link works once, for {minutes} minutes, and signs you out everywhere. If you did not ask for it, ignore this message: your password stays as it is.",
    ),
    (
        "password_changed.subject",
        "Your {product} password was changed",
    ),
    (
        "password_changed.body",
        "The password of your {product} account was just changed.\n\nIf you did this, there is nothing to do. If you did not, reset your password at once and review your account's sessions.",
    ),
    ("password_changed.action", ""),
    ("password_changed.note", ""),
    (
        "email_change.subject",
        "Confirm your new email address for {product}",
    ),
    (
        "email_change.body",
        "You asked to use this address for your {product} account. Confirm it, and it replaces the old one.",
    ),
    ("email_change.action", "Use this address"),
    (
        "email_change.note",
        "The link works once, for 24 hours. If you did not ask for this, ignore this message.",
    ),
    (
        "email_change_notice.subject",
        "A change of your {product} email address was requested",
    ),
    (
        "email_change_notice.body",
        "Someone signed in to your {product} account asked to change its email address to {new_email}. The change happens only when the link sent to that address is used.\n\nIf this was not you, change your password now and sign out your other sessions.",
    ),
    ("email_change_notice.action", ""),
    ("email_change_notice.note", ""),
    (
        "new_sign_in.subject",
        "New sign-in to your {product} account",
    ),
    (
        "new_sign_in.body",
        "Your {product} account was just signed in to from a device we had not seen before:\n\n{device}, IP address {ip}, at {at}.\n\nIf this was you, there is nothing to do. If not, change your password now and sign out that session.",
    ),
    ("new_sign_in.action", ""),
    ("new_sign_in.note", ""),
    (
        "mfa_changed.subject",
        "Two-step sign-in changed on your {product} account",
    ),
    (
        "mfa_changed.body",
        "{what}\n\nIf this was not you, reset your password now and contact your administrator.",
    ),
    ("mfa_changed.action", ""),
    ("mfa_changed.note", ""),
    (
        "mfa_changed.enabled",
        "Two-step sign-in is now on: signing in to {product} asks for a code from your authenticator app (or a backup code).",
    ),
    (
        "mfa_changed.disabled",
        "Two-step sign-in was turned off: signing in to {product} asks for your password only.",
    ),
    (
        "mfa_changed.reset",
        "An administrator removed the second factor of your {product} account: signing in asks for your password only until you set up two-step sign-in again.",
    ),
    (
        "mfa_changed.regenerated",
        "Your {product} backup codes were replaced: the old ones no longer work.",
    ),
    (
        "backup_code_used.subject",
        "A backup code was used on your {product} account",
    ),
    (
        "backup_code_used.body",
        "One of your {product} backup codes was just used to sign in or confirm a change. Each code works once; {left} are left.\n\nIf this was not you, change your password and replace your backup codes now.",
    ),
    ("backup_code_used.action", ""),
    ("backup_code_used.note", ""),
    (
        "backup_codes_low.subject",
        "Only {left} {product} backup codes left",
    ),
    (
        "backup_codes_low.body",
        "One of your {product} backup codes was just used. Only {left} are left: make a new set in your account's security settings before you run out.\n\nIf this was not you, change your password and replace your backup codes now.",
    ),
    ("backup_codes_low.action", ""),
    ("backup_codes_low.note", ""),
    (
        "sign_up_attempt.subject",
        "Someone tried to sign up with your address",
    ),
    (
        "sign_up_attempt.body",
        "Someone just tried to create a {product} account with this email address. It already has an account, so no new account was made and nothing about yours changed.\n\nIf it was you, sign in instead; if you forgot your password, you can reset it from the sign-in page.",
    ),
    ("sign_up_attempt.action", ""),
    (
        "sign_up_attempt.note",
        "If it was not you, you can ignore this message.",
    ),
    (
        "deletion_scheduled.subject",
        "Your {product} account will be deleted",
    ),
    (
        "deletion_scheduled.body",
        "You asked to delete your {product} account. You have been signed out everywhere, and your personal data will be removed on {due}.\n\nChanged your mind? Until then, you can cancel the deletion.",
    ),
    ("deletion_scheduled.action", "Keep my account"),
    (
        "deletion_scheduled.note",
        "If you did not ask for this, cancel the deletion and change your password.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<MailKind> {
        vec![
            MailKind::VerifyEmail {
                link: "https://auth.example.com/verify-email?token=abc".into(),
            },
            MailKind::PasswordReset {
                link: "https://auth.example.com/reset-password?token=abc".into(),
                minutes: 15,
            },
            MailKind::PasswordChanged,
            MailKind::EmailChange {
                link: "https://auth.example.com/verify-email?token=abc".into(),
            },
            MailKind::EmailChangeNotice {
                new_email: "new@example.com".into(),
            },
            MailKind::NewSignIn {
                device: "Firefox on Linux".into(),
                ip: "203.0.113.7".into(),
                at: "2026-11-22T10:00:00Z".into(),
            },
            MailKind::SignUpAttempt,
            MailKind::DeletionScheduled {
                link: "https://auth.example.com/cancel-deletion?token=abc".into(),
                due: "2026-12-22".into(),
            },
            MailKind::MfaChanged {
                what: MfaChange::Enabled,
            },
            MailKind::MfaChanged {
                what: MfaChange::Disabled,
            },
            MailKind::MfaChanged {
                what: MfaChange::Reset,
            },
            MailKind::MfaChanged {
                what: MfaChange::BackupCodesRegenerated,
            },
            MailKind::BackupCodeUsed { left: 9 },
            MailKind::BackupCodeUsed { left: 2 },
        ]
    }

    #[test]
    fn every_template_has_every_sentence_in_every_locale() {
        for locale in LOCALES {
            for kind in all_kinds() {
                for part in ["subject", "body", "action", "note"] {
                    let key = format!("{}.{part}", kind.template());
                    let found = catalogue(locale).unwrap().iter().any(|(k, _)| *k == key);
                    assert!(found, "{locale}: {key} missing");
                }
                let r = render(&kind, &Theme::default(), locale);
                assert!(!r.subject.is_empty() && !r.text.is_empty());
                assert!(!r.subject.contains('{') && !r.text.contains('{'), "{r:?}");
                if let Some(link) = kind.link() {
                    assert!(r.text.contains(link), "{:?}: the link is in the text", kind);
                    assert!(r.html.contains(&escape(link)));
                }
            }
        }
    }

    #[test]
    fn locales_fall_back_to_the_language_then_english() {
        let en = lookup("en", "verify_email.subject");
        assert!(!en.is_empty());
        for locale in ["en-GB", "en_US", "fr", "zz-ZZ", ""] {
            assert_eq!(lookup(locale, "verify_email.subject"), en, "{locale}");
        }
        assert_eq!(lookup("en", "no.such.key"), "");
    }

    #[test]
    fn html_is_escaped_and_the_theme_applies() {
        let theme = Theme {
            product_name: "Acme <Auth> & \"Co\"".into(),
            logo_url: Some("https://cdn.example.com/logo.png?a=1&b=\"2\"".into()),
            color: "#aa0000".into(),
        };
        let r = render(
            &MailKind::EmailChangeNotice {
                new_email: "<script>alert(1)</script>@evil.example".into(),
            },
            &theme,
            "en",
        );
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(r.html.contains("Acme &lt;Auth&gt; &amp; &quot;Co&quot;"));
        assert!(r.html.contains("logo.png?a=1&amp;b=&quot;2&quot;"));
        assert!(
            r.subject.contains("Acme <Auth>"),
            "plain text is not escaped"
        );
        let r = render(
            &MailKind::VerifyEmail {
                link: "https://a.example/x?token=t".into(),
            },
            &theme,
            "en",
        );
        assert!(r.html.contains("background:#aa0000"));
        let bad = Theme {
            color: "red;background:url(x)".into(),
            ..Theme::default()
        };
        let r = render(
            &MailKind::VerifyEmail {
                link: "https://a.example/x".into(),
            },
            &bad,
            "en",
        );
        assert!(!r.html.contains("url(x)"), "only #rrggbb colours are used");
    }

    #[test]
    fn debug_output_hides_the_content() {
        let m = OutgoingMail {
            id: "1".into(),
            to: "a@example.com".into(),
            subject: "s".into(),
            text: "token=secret".into(),
            html: "token=secret".into(),
            link: Some("https://x/?token=secret".into()),
            template: "verify_email".into(),
        };
        let dbg = format!("{m:?}");
        assert!(
            !dbg.contains("secret") && !dbg.contains("a@example.com"),
            "{dbg}"
        );
    }
}
