//! `[mail]`: the transport (files or SMTP), the sender, delivery attempts and
//! the look of messages, with the production refusals that concern mail.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use latchkey_mail::{Mailbox, SmtpSecurity};
use serde::Deserialize;

use super::server::Profile;
use super::setting::{Checker, Setting};

/// The `[mail]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "mail.transport",
        "LATCHKEY_MAIL_TRANSPORT",
        "file",
        "`file` (write .eml files into <data_dir>/mail and log links; development only) or `smtp`",
    ),
    Setting::derived(
        "mail.from",
        "LATCHKEY_MAIL_FROM",
        "<product_name> <no-reply@<public host>>",
        "the sender, e.g. `Acme <no-reply@acme.example>`",
    ),
    Setting::text(
        "mail.smtp_host",
        "LATCHKEY_MAIL_SMTP_HOST",
        "",
        "SMTP server host name (required with `smtp`)",
    ),
    Setting::int(
        "mail.smtp_port",
        "LATCHKEY_MAIL_SMTP_PORT",
        587,
        1,
        65_535,
        "SMTP server port (587 for STARTTLS, 465 for implicit TLS)",
    ),
    Setting::text(
        "mail.smtp_security",
        "LATCHKEY_MAIL_SMTP_SECURITY",
        "starttls",
        "`starttls` (required, never opportunistic), `tls` (implicit TLS) or `none` (refused in production unless the host is loopback)",
    ),
    Setting::text(
        "mail.smtp_username",
        "LATCHKEY_MAIL_SMTP_USERNAME",
        "",
        "SMTP AUTH user name (none: no authentication)",
    ),
    Setting::text(
        "mail.smtp_password",
        "LATCHKEY_MAIL_SMTP_PASSWORD",
        "",
        "SMTP AUTH password",
    )
    .secret(),
    Setting::int(
        "mail.smtp_timeout_secs",
        "LATCHKEY_MAIL_SMTP_TIMEOUT_SECS",
        30,
        1,
        600,
        "limit on connecting to the SMTP server and on each exchange",
    ),
    Setting::text(
        "mail.smtp_ca_file",
        "LATCHKEY_MAIL_SMTP_CA_FILE",
        "",
        "PEM file of an extra CA to trust for the SMTP server (besides the system's)",
    ),
    Setting::int(
        "mail.max_attempts",
        "LATCHKEY_MAIL_MAX_ATTEMPTS",
        12,
        1,
        100,
        "delivery attempts of one message before it is given up",
    ),
    Setting::text(
        "mail.product_name",
        "LATCHKEY_MAIL_PRODUCT_NAME",
        "",
        "alias of `branding.product_name` (which wins when both are set)",
    ),
    Setting::text(
        "mail.logo_url",
        "LATCHKEY_MAIL_LOGO_URL",
        "",
        "alias of `branding.logo_url` (which wins when both are set)",
    ),
    Setting::text(
        "mail.brand_color",
        "LATCHKEY_MAIL_BRAND_COLOR",
        "",
        "alias of `branding.color` (which wins when both are set)",
    ),
    Setting::text(
        "mail.locale",
        "LATCHKEY_MAIL_LOCALE",
        "en",
        "the language of mail to an account without a locale of its own; one of `pages.locales`, a region falls back to its language",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    transport: Option<String>,
    from: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<u64>,
    smtp_security: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_timeout_secs: Option<u64>,
    smtp_ca_file: Option<String>,
    max_attempts: Option<u64>,
    product_name: Option<String>,
    logo_url: Option<String>,
    brand_color: Option<String>,
    locale: Option<String>,
}

impl Raw {
    /// The values of the aliases of `[branding]` settings (read there).
    pub(super) fn branding_aliases(&mut self) -> super::branding::Aliases {
        super::branding::Aliases {
            product_name: self.product_name.take(),
            logo_url: self.logo_url.take(),
            brand_color: self.brand_color.take(),
        }
    }
}

/// How mail leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransportConfig {
    /// `.eml` files in `<data_dir>/mail`, links logged (development).
    File,
    /// An SMTP server.
    Smtp(SmtpConfig),
}

/// SMTP settings.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: SmtpSecurity,
    /// AUTH user.
    pub username: Option<String>,
    /// AUTH password (never printed).
    pub password: Option<String>,
    /// Timeout.
    pub timeout: Duration,
    /// Extra CA file.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Mail settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Files or SMTP.
    pub transport: MailTransportConfig,
    /// The sender; `None`: derived from the product name and public URL.
    pub from: Option<Mailbox>,
    /// Delivery attempts per message.
    pub max_attempts: u32,
    /// The language of mail to an account without a locale of its own.
    pub locale: String,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker, profile: Profile) -> MailConfig {
        let transport_text = c.text("mail.transport", self.transport);
        let host = c.optional("mail.smtp_host", self.smtp_host);
        let port = c.int("mail.smtp_port", self.smtp_port) as u16;
        let security_text = c.text("mail.smtp_security", self.smtp_security);
        let security = match security_text.as_str() {
            "starttls" => SmtpSecurity::StartTls,
            "tls" => SmtpSecurity::Implicit,
            "none" => SmtpSecurity::None,
            other => {
                c.fail(
                    "mail.smtp_security",
                    Some(other),
                    "expected `starttls`, `tls` or `none`",
                );
                SmtpSecurity::StartTls
            }
        };
        let timeout = c.secs("mail.smtp_timeout_secs", self.smtp_timeout_secs);
        let ca_file = c
            .optional("mail.smtp_ca_file", self.smtp_ca_file)
            .map(PathBuf::from);
        if let Some(path) = &ca_file
            && !path.is_file()
        {
            c.fail(
                "mail.smtp_ca_file",
                Some(&path.display().to_string()),
                "no such file; expected a PEM file of CA certificates",
            );
        }
        let username = c.optional("mail.smtp_username", self.smtp_username);
        let password = self.smtp_password.filter(|p| !p.is_empty());
        c.show_str(
            "mail.smtp_password",
            if password.is_some() { "<redacted>" } else { "" },
        );
        if password.is_some() && username.is_none() {
            c.fail(
                "mail.smtp_username",
                None,
                "a password is set without a user name; set both or neither",
            );
        }
        let transport = match transport_text.as_str() {
            "file" => {
                if profile == Profile::Production {
                    c.fail(
                        "mail.transport",
                        Some("file"),
                        "production needs `smtp`: the file transport keeps mail on this machine and logs its links",
                    );
                }
                MailTransportConfig::File
            }
            "smtp" => {
                if host.is_none() {
                    c.fail(
                        "mail.smtp_host",
                        None,
                        "mail.transport is `smtp`, so an SMTP host name is required",
                    );
                }
                let host = host.unwrap_or_default();
                let loopback = host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                if security == SmtpSecurity::None && profile == Profile::Production && !loopback {
                    c.fail(
                        "mail.smtp_security",
                        Some("none"),
                        "production refuses unencrypted SMTP except to a loopback host; use `starttls` or `tls`",
                    );
                }
                MailTransportConfig::Smtp(SmtpConfig {
                    host,
                    port,
                    security,
                    username,
                    password,
                    timeout,
                    ca_file,
                })
            }
            other => {
                c.fail("mail.transport", Some(other), "expected `file` or `smtp`");
                MailTransportConfig::File
            }
        };
        let from =
            c.optional("mail.from", self.from)
                .and_then(|text| match latchkey_mail::parse_mailbox(&text) {
                    Ok(mailbox) => Some(mailbox),
                    Err(msg) => {
                        c.fail("mail.from", Some(&text), msg);
                        None
                    }
                });
        c.show_str(
            "mail.from",
            &from.as_ref().map_or_else(
                || "<product_name> <no-reply@public host>".to_owned(),
                Mailbox::to_string,
            ),
        );
        let max_attempts = c.int("mail.max_attempts", self.max_attempts) as u32;
        let locale = c.nonblank("mail.locale", self.locale);
        if !latchkey_core::i18n::valid_tag(&locale) {
            c.fail(
                "mail.locale",
                Some(&locale),
                "expected a language tag such as `en` or `en-GB`",
            );
        }
        MailConfig {
            transport,
            from,
            max_attempts,
            locale,
        }
    }
}
