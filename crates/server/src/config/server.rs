//! The top-level settings: profile, listen address, public URL, data
//! directory and master key, with the production refusals that concern them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use super::setting::{Checker, Setting};

/// The top-level settings (no section header in the file).
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "profile",
        "LATCHKEY_PROFILE",
        "development",
        "`development` or `production`; production refuses insecure settings",
    ),
    Setting::text(
        "listen",
        "LATCHKEY_LISTEN",
        "127.0.0.1:8080",
        "address and port to listen on (IP:port; port 0 picks a free port)",
    ),
    Setting::derived(
        "public_url",
        "LATCHKEY_PUBLIC_URL",
        "http://<listen>",
        "the URL users reach latchkey at; used for links in mail and as the token issuer",
    ),
    Setting::text(
        "data_dir",
        "LATCHKEY_DATA_DIR",
        "./latchkey-data",
        "directory for the SQLite database, generated keys and outgoing mail files",
    ),
    Setting::derived(
        "master_key",
        "LATCHKEY_MASTER_KEY",
        "generated into <data_dir>/master.key",
        "64 hex digits (32 bytes) encrypting secrets at rest; required in production",
    )
    .secret(),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    profile: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<String>,
    master_key: Option<String>,
}

/// Development or production: production refuses insecure settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Convenient defaults: generated secrets, plain http allowed.
    Development,
    /// Secure or nothing.
    Production,
}

/// The master key: 32 bytes, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey(pub [u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// The top-level settings, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Development or production.
    pub profile: Profile,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The public URL, if set; otherwise derived from the bound address.
    pub public_url: Option<Url>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Master key, if configured (development generates one into `data_dir`).
    pub master_key: Option<MasterKey>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> ServerConfig {
        let profile = match c.text("profile", self.profile).as_str() {
            "development" | "dev" => Profile::Development,
            "production" | "prod" => Profile::Production,
            other => {
                c.fail(
                    "profile",
                    Some(other),
                    "expected `development` or `production`",
                );
                Profile::Development
            }
        };
        c.show_str("profile", &format!("{profile:?}").to_lowercase());

        let listen_text = c.text("listen", self.listen);
        let listen = parse_listen(&listen_text).unwrap_or_else(|msg| {
            c.fail("listen", Some(&listen_text), msg);
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        c.show_str("listen", &listen.to_string());

        let public_url = self
            .public_url
            .as_deref()
            .and_then(|text| match parse_public_url(text) {
                Ok(u) => Some(u),
                Err(msg) => {
                    c.fail("public_url", Some(text), msg);
                    None
                }
            });
        match &public_url {
            Some(u) => c.show_str("public_url", u.as_str()),
            None => c.show_str("public_url", &format!("http://{listen}")),
        }

        let data_dir = PathBuf::from(c.text("data_dir", self.data_dir));
        if data_dir.as_os_str().is_empty() {
            c.fail("data_dir", Some(""), "expected a directory path");
        }

        let master_key = self
            .master_key
            .as_deref()
            .and_then(|text| match parse_master_key(text) {
                Ok(k) => Some(k),
                Err(msg) => {
                    c.fail("master_key", None, msg);
                    None
                }
            });
        c.show_str(
            "master_key",
            match master_key {
                Some(_) => "<redacted>",
                None => "<generated into data_dir/master.key>",
            },
        );

        if profile == Profile::Production {
            match &public_url {
                None => c.fail(
                    "public_url",
                    None,
                    "production needs an explicit https public URL",
                ),
                Some(u) if u.scheme() != "https" && !is_loopback_host(u) => c.fail(
                    "public_url",
                    Some(u.as_str()),
                    "production refuses plain http except on localhost; use https",
                ),
                Some(_) => {}
            }
            if master_key.is_none() && !c.failed("master_key") {
                c.fail(
                    "master_key",
                    None,
                    "production needs an explicit master key (64 hex digits, e.g. from `openssl rand -hex 32`); \
                     it is never generated in production",
                );
            }
        }
        ServerConfig {
            profile,
            listen,
            public_url,
            data_dir,
            master_key,
        }
    }
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.trim().parse::<SocketAddr>() {
        return Ok(addr);
    }
    let expected =
        "expected IP:PORT such as 127.0.0.1:8080 or [::1]:8080, with a port from 0 to 65535";
    match text.rsplit_once(':') {
        Some((_, port)) if port.parse::<u64>().is_ok_and(|p| p > 65_535) => {
            Err(format!("port {port} is out of range; {expected}"))
        }
        Some((host, _)) if host.parse::<std::net::IpAddr>().is_err() && !host.starts_with('[') => {
            Err(format!(
                "`{host}` is not an IP address (host names are not resolved here); {expected}"
            ))
        }
        _ => Err(expected.to_owned()),
    }
}

fn parse_public_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| {
        format!("not a valid URL ({e}); expected an absolute http(s) URL such as https://auth.example.com")
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("scheme `{}` is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the public URL must not have a query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the public URL must not contain credentials".into());
    }
    Ok(url)
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn parse_master_key(text: &str) -> Result<MasterKey, String> {
    let text = text.trim();
    let expected = "expected 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`";
    if text.len() != 64 {
        return Err(format!("has {} characters; {expected}", text.len()));
    }
    let mut key = [0u8; 32];
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk).map_err(|_| expected.to_owned())?;
        key[i] =
            u8::from_str_radix(pair, 16).map_err(|_| format!("is not hexadecimal; {expected}"))?;
    }
    if key.iter().all(|b| *b == key[0]) {
        return Err("is a placeholder (all bytes equal); generate a random one".into());
    }
    Ok(MasterKey(key))
}
