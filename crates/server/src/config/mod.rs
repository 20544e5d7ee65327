//! Configuration: parse raw, validate once, pass explicitly.
//!
//! Sources, later ones winning: built-in defaults, the TOML file
//! (`--config FILE`, or `latchkey.toml` in the working directory if present),
//! `LATCHKEY_*` environment variables, then command-line flags.
//!
//! The configuration is cut into sections, one module each, named as the
//! TOML table it reads (`server` holds the top-level keys). A section module
//! holds everything about its settings: the `SETTINGS` list (key, variable,
//! kind with the default and range, help; each written once), the raw form
//! as written, its validation (including its production refusals), and the
//! typed result the rest of the program uses. Adding a setting touches its
//! section module and its row in `docs/configuration.md`, nothing else.
//!
//! [`SECTIONS`] drives what is shared: the environment overlay and unknown
//! keys ([`load`]), `latchkey config show` ([`show`]), and a test that keeps
//! `docs/configuration.md` complete. Every problem found is reported at
//! once, each naming the setting, where its value came from, the value, and
//! what is expected.

use std::collections::BTreeMap;
use std::path::Path;

mod access;
mod accounts;
mod audit;
mod authz;
mod branding;
mod brute_force;
mod challenge;
mod cors;
mod database;
mod events;
mod federation;
mod http;
mod jobs;
mod load;
mod log;
mod mail;
mod mfa;
mod oauth;
mod pages;
mod passkeys;
mod passwordless;
mod passwords;
mod proxies;
mod rate_limits;
mod redis;
mod server;
mod sessions;
mod setting;
mod telemetry;
mod tokens;
mod webhooks;

pub use access::AccessConfig;
pub use accounts::AccountsConfig;
pub use audit::AuditConfig;
pub use branding::BrandingConfig;
pub use brute_force::BruteForceConfig;
pub use database::{DatabaseConfig, DatabaseUrl};
pub use events::EventsConfig;
pub use http::HttpConfig;
pub use jobs::JobsSettings;
pub use latchkey_core::abuse::ChallengePolicy;
pub use latchkey_http::CorsPolicy;
pub use load::Overrides;
pub use log::{LogConfig, LogFormat};
pub use mail::{MailConfig, MailTransportConfig, SmtpConfig};
pub use oauth::OAuthSettings;
pub use pages::PagesConfig;
pub use passkeys::PasskeysConfig;
pub use passwordless::PasswordlessSettings;
pub use passwords::PasswordConfig;
pub use proxies::ProxiesConfig;
pub use rate_limits::RateLimitsConfig;
pub use redis::RedisSettings;
pub use server::{MasterKey, Profile, ServerConfig};
pub use sessions::SessionConfig;
pub use setting::{ConfigError, Kind, Problem, Setting, Source, redact_secret, redact_url};
pub use telemetry::TelemetryConfig;
pub use tokens::TokenConfig;
pub use webhooks::WebhooksSettings;

/// Every section's settings, in the order `config show` prints them (the
/// top level first). A section's name is the part of its keys before the
/// last dot, the same in every key of the list (a test checks).
pub const SECTIONS: &[&[Setting]] = &[
    server::SETTINGS,
    database::SETTINGS,
    http::SETTINGS,
    tokens::SETTINGS,
    sessions::SETTINGS,
    passwords::SETTINGS,
    audit::SETTINGS,
    accounts::SETTINGS,
    mail::SETTINGS,
    jobs::SETTINGS,
    log::SETTINGS,
    rate_limits::SETTINGS,
    brute_force::SETTINGS,
    challenge::SETTINGS,
    redis::SETTINGS,
    proxies::SETTINGS,
    access::SETTINGS,
    cors::SETTINGS,
    authz::SETTINGS,
    pages::SETTINGS,
    events::SETTINGS,
    branding::SETTINGS,
    telemetry::SETTINGS,
    mfa::SETTINGS,
    passkeys::SETTINGS,
    federation::SETTINGS,
    passwordless::SETTINGS,
    webhooks::SETTINGS,
    oauth::SETTINGS,
];

/// Every setting latchkey reads, section by section.
pub fn settings() -> impl Iterator<Item = &'static Setting> {
    SECTIONS.iter().flat_map(|s| s.iter())
}

/// The validated configuration: one typed value per section.
#[derive(Debug, Clone)]
pub struct Config {
    /// The top-level settings: profile, listen, public URL, data directory, master key.
    pub server: ServerConfig,
    /// Database settings.
    pub database: DatabaseConfig,
    /// HTTP limits.
    pub http: HttpConfig,
    /// Tokens.
    pub tokens: TokenConfig,
    /// Sessions.
    pub sessions: SessionConfig,
    /// Passwords.
    pub passwords: PasswordConfig,
    /// The audit log.
    pub audit: AuditConfig,
    /// Account lifecycle.
    pub accounts: AccountsConfig,
    /// Mail.
    pub mail: MailConfig,
    /// Background jobs.
    pub jobs: JobsSettings,
    /// Logging.
    pub log: LogConfig,
    /// Rate limits per class of route.
    pub rate_limits: RateLimitsConfig,
    /// Failed sign-in counters.
    pub brute_force: BruteForceConfig,
    /// Proof-of-work challenges.
    pub challenge: ChallengePolicy,
    /// Shared counters, if configured.
    pub redis: Option<RedisSettings>,
    /// Trusted proxies.
    pub proxies: ProxiesConfig,
    /// IP allow and deny lists.
    pub access: AccessConfig,
    /// CORS.
    pub cors: CorsPolicy,
    /// Forward-auth rules.
    pub authz: latchkey_http::AuthzPolicy,
    /// The hosted pages.
    pub pages: PagesConfig,
    /// The event stream.
    pub events: EventsConfig,
    /// Webhook deliveries.
    pub webhooks: WebhooksSettings,
    /// Magic links and email codes.
    pub passwordless: PasswordlessSettings,
    /// Product name, logo, colours and custom CSS of pages and mail.
    pub branding: BrandingConfig,
    /// OpenTelemetry traces.
    pub telemetry: TelemetryConfig,
    /// Who must use a second factor.
    pub mfa: latchkey_core::mfa::MfaPolicy,
    /// The passkeys' relying party.
    pub passkeys: PasskeysConfig,
    /// `[federation]`: upstream providers.
    pub federation: latchkey_core::federation::FederationConfig,
    /// `[oauth]`: the scope catalogue.
    pub oauth: OAuthSettings,
    /// Where each setting's value came from.
    pub sources: BTreeMap<&'static str, Source>,
    /// Each setting's value as `config show` prints it (secrets redacted).
    shown: BTreeMap<&'static str, String>,
}

/// Reads and validates the configuration from the file, the process
/// environment and the flags.
pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
    load_from(overrides, std::env::vars(), Path::new("latchkey.toml"))
}

/// [`load`] with the environment and default file path given, for tests.
pub fn load_from(
    overrides: &Overrides,
    env: impl IntoIterator<Item = (String, String)>,
    default_file: &Path,
) -> Result<Config, ConfigError> {
    let merged = load::merge(SECTIONS, overrides, env, default_file)?;
    let mut c = setting::Checker::new(settings().collect(), merged.sources);
    let (table, file) = (&merged.table, merged.file.as_ref());
    let server: server::Raw = c.section(table, server::SETTINGS, file);
    let database: database::Raw = c.section(table, database::SETTINGS, file);
    let http: http::Raw = c.section(table, http::SETTINGS, file);
    let tokens: tokens::Raw = c.section(table, tokens::SETTINGS, file);
    let sessions: sessions::Raw = c.section(table, sessions::SETTINGS, file);
    let passwords: passwords::Raw = c.section(table, passwords::SETTINGS, file);
    let audit: audit::Raw = c.section(table, audit::SETTINGS, file);
    let accounts: accounts::Raw = c.section(table, accounts::SETTINGS, file);
    let mut mail: mail::Raw = c.section(table, mail::SETTINGS, file);
    let jobs: jobs::Raw = c.section(table, jobs::SETTINGS, file);
    let log: log::Raw = c.section(table, log::SETTINGS, file);
    let rate_limits: rate_limits::Raw = c.section(table, rate_limits::SETTINGS, file);
    let brute_force: brute_force::Raw = c.section(table, brute_force::SETTINGS, file);
    let challenge: challenge::Raw = c.section(table, challenge::SETTINGS, file);
    let redis: redis::Raw = c.section(table, redis::SETTINGS, file);
    let proxies: proxies::Raw = c.section(table, proxies::SETTINGS, file);
    let access: access::Raw = c.section(table, access::SETTINGS, file);
    let cors: cors::Raw = c.section(table, cors::SETTINGS, file);
    let authz: authz::Raw = c.section(table, authz::SETTINGS, file);
    let pages: pages::Raw = c.section(table, pages::SETTINGS, file);
    let events: events::Raw = c.section(table, events::SETTINGS, file);
    let webhooks: webhooks::Raw = c.section(table, webhooks::SETTINGS, file);
    let branding: branding::Raw = c.section(table, branding::SETTINGS, file);
    let telemetry: telemetry::Raw = c.section(table, telemetry::SETTINGS, file);
    let mfa: mfa::Raw = c.section(table, mfa::SETTINGS, file);
    let passkeys: passkeys::Raw = c.section(table, passkeys::SETTINGS, file);
    let federation: federation::Raw = c.section(table, federation::SETTINGS, file);
    let passwordless: passwordless::Raw = c.section(table, passwordless::SETTINGS, file);
    let oauth: oauth::Raw = c.section(table, oauth::SETTINGS, file);
    let aliases = mail.branding_aliases();
    if !c.problems.is_empty() {
        return Err(ConfigError(c.problems));
    }

    let server = server.validate(&mut c);
    let server_public = server.public_url.clone();
    let profile = server.profile;
    let mail = mail.validate(&mut c, profile);
    let config = Config {
        database: database.validate(&mut c, &server),
        server,
        http: http.validate(&mut c),
        tokens: tokens.validate(&mut c),
        sessions: sessions.validate(&mut c),
        passwords: passwords.validate(&mut c),
        audit: audit.validate(&mut c),
        accounts: accounts.validate(&mut c),
        pages: pages.validate(&mut c, &mail.locale),
        branding: branding.validate(&mut c, aliases),
        mail,
        jobs: jobs.validate(&mut c),
        log: log.validate(&mut c),
        rate_limits: rate_limits.validate(&mut c),
        brute_force: brute_force.validate(&mut c, profile),
        challenge: challenge.validate(&mut c),
        redis: redis.validate(&mut c),
        proxies: proxies.validate(&mut c),
        access: access.validate(&mut c),
        cors: cors.validate(&mut c),
        authz: authz.validate(&mut c),
        events: events.validate(&mut c),
        webhooks: webhooks.validate(&mut c),
        telemetry: telemetry.validate(&mut c),
        mfa: mfa.validate(&mut c),
        passkeys: passkeys.validate(&mut c, server_public.as_ref()),
        federation: federation.validate(&mut c),
        passwordless: passwordless.validate(&mut c),
        oauth: oauth.validate(&mut c),
        sources: BTreeMap::new(),
        shown: BTreeMap::new(),
    };
    if !c.problems.is_empty() {
        return Err(ConfigError(c.problems));
    }
    Ok(Config {
        sources: c.sources,
        shown: c.shown,
        ..config
    })
}

/// The effective configuration as TOML, secrets redacted, with each value's
/// source: every section once, in the order of [`SECTIONS`].
pub fn show(config: &Config) -> String {
    let mut out = String::new();
    for settings in SECTIONS {
        let section = setting::section_name(settings);
        if !section.is_empty() {
            out.push_str(&format!("\n[{section}]\n"));
        }
        for s in *settings {
            let name = s.key.rsplit('.').next().unwrap_or(s.key);
            let value = config
                .shown
                .get(s.key)
                .unwrap_or_else(|| panic!("validation did not record how to show {}", s.key));
            let source = config
                .sources
                .get(s.key)
                .cloned()
                .unwrap_or(Source::Default);
            out.push_str(&format!("{name} = {value}  # {source}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
