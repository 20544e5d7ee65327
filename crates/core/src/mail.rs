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
//! - **Translated.** Every sentence is looked up by key (`mail-<template>-<part>`)
//!   in the [`Catalogue`] for the recipient's locale (see [`crate::i18n`]:
//!   `crates/core/locales/<lang>/mail.ftl`, a theme may override); a region
//!   without a catalogue of its own falls back to its language, then to the
//!   default locale.
//! - **Links come from the configured public URL** (the issuer), passed in by
//!   the caller; nothing here ever sees a request header.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::i18n::Catalogue;

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
        /// What changed, as the catalogue's `mail-mfa_changed-<what>` key names it.
        what: MfaChange,
    },
    /// A backup code was used; `left` remain.
    BackupCodeUsed {
        /// Unused codes left.
        left: u32,
    },
    /// A passkey was added to the account (it is a way in and a second
    /// factor: the owner should know).
    PasskeyAdded {
        /// The name it was given.
        name: String,
    },
    /// A magic link, with the code another browser asks for.
    MagicLink {
        /// The link.
        link: String,
        /// The 6-character code for another browser.
        code: String,
        /// How long it works.
        minutes: i64,
    },
    /// An email sign-in code.
    EmailCode {
        /// The six digits.
        code: String,
        /// How long it works.
        minutes: i64,
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
            MfaChange::Enabled => "mail-mfa_changed-enabled",
            MfaChange::Disabled => "mail-mfa_changed-disabled",
            MfaChange::Reset => "mail-mfa_changed-reset",
            MfaChange::BackupCodesRegenerated => "mail-mfa_changed-regenerated",
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
            MailKind::PasskeyAdded { .. } => "passkey_added",
            MailKind::MagicLink { .. } => "magic_link",
            MailKind::EmailCode { .. } => "email_code",
        }
    }

    /// The link the message carries, if any.
    pub fn link(&self) -> Option<&str> {
        match self {
            MailKind::VerifyEmail { link }
            | MailKind::PasswordReset { link, .. }
            | MailKind::EmailChange { link }
            | MailKind::DeletionScheduled { link, .. }
            | MailKind::MagicLink { link, .. } => Some(link),
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

/// Renders `kind` in `locale` with `theme`, its sentences from `catalogue`.
pub fn render(kind: &MailKind, theme: &Theme, catalogue: &Catalogue, locale: &str) -> Rendered {
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
            let what = catalogue.text(locale, what.key(), &vars);
            vars.push(("what", what));
        }
        MailKind::BackupCodeUsed { left } => vars.push(("left", left.to_string())),
        MailKind::PasskeyAdded { name } => vars.push(("name", name.clone())),
        MailKind::MagicLink { code, minutes, .. } | MailKind::EmailCode { code, minutes } => {
            vars.push(("code", code.clone()));
            vars.push(("minutes", minutes.to_string()));
        }
        _ => {}
    }
    // a part a template does not have (an action, a note) is empty
    let t = |key: &str| catalogue.get(locale, key, &vars).unwrap_or_default();
    let part = |name: &str| t(&format!("mail-{}-{name}", kind.template()));
    let subject = part("subject");
    let body = part("body");
    let paragraphs: Vec<&str> = body.split("\n\n").filter(|p| !p.is_empty()).collect();
    let action = kind.link().map(|link| (part("action"), link.to_owned()));
    let note = part("note");
    let signature = t("mail-common-signature");
    let link_hint = t("mail-common-link_hint");
    let link_hint = link_hint.as_str();

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
            MailKind::MagicLink {
                link: "https://auth.example.com/magic-link?token=abc".into(),
                code: "7KQ2MX".into(),
                minutes: 15,
            },
            MailKind::EmailCode {
                code: "042917".into(),
                minutes: 10,
            },
            MailKind::PasskeyAdded {
                name: "Laptop".into(),
            },
        ]
    }

    #[test]
    fn every_mail_renders_in_every_shipped_locale() {
        let catalogue = Catalogue::default();
        for locale in crate::i18n::SHIPPED {
            for kind in all_kinds() {
                for part in ["subject", "body"] {
                    let key = format!("mail-{}-{part}", kind.template());
                    assert!(catalogue.has(locale, &key), "{locale}: {key} missing");
                }
                if kind.link().is_some() {
                    let key = format!("mail-{}-action", kind.template());
                    assert!(catalogue.has(locale, &key), "{locale}: {key} missing");
                }
                let r = render(&kind, &Theme::default(), &catalogue, locale);
                assert!(!r.subject.is_empty() && !r.text.is_empty());
                assert!(!r.subject.contains('{') && !r.text.contains('{'), "{r:?}");
                if let Some(link) = kind.link() {
                    assert!(r.text.contains(link), "{:?}: the link is in the text", kind);
                    assert!(r.html.contains(&escape(link)));
                }
                if *locale != "en" {
                    let en = render(&kind, &Theme::default(), &catalogue, "en");
                    assert_ne!(r.subject, en.subject, "{locale}: {kind:?} is translated");
                    assert_ne!(r.text, en.text, "{locale}: {kind:?} is translated");
                }
            }
        }
    }

    #[test]
    fn locales_fall_back_to_the_language_then_the_default() {
        let catalogue = Catalogue::default();
        let kind = MailKind::PasswordChanged;
        let en = render(&kind, &Theme::default(), &catalogue, "en");
        for locale in ["en-GB", "en_US", "zz-ZZ", ""] {
            assert_eq!(
                render(&kind, &Theme::default(), &catalogue, locale),
                en,
                "{locale}"
            );
        }
        let de = render(&kind, &Theme::default(), &catalogue, "de");
        assert_eq!(render(&kind, &Theme::default(), &catalogue, "de-AT"), de);
        assert!(de.subject.starts_with("Ihr latchkey-Passwort"), "{de:?}");
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
            &Catalogue::default(),
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
            &Catalogue::default(),
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
            &Catalogue::default(),
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
