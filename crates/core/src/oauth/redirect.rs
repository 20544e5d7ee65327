//! Redirect URIs: which may be registered, and whether a presented one
//! matches a registered one. Pure functions with their tables of cases.

/// The longest redirect URI accepted.
pub const MAX_REDIRECT_URI_LEN: usize = 2000;

/// Whether `presented` matches `registered`: byte for byte (RFC 9700 §4.1.3:
/// no case folding, no normalization, no prefix, no added query), except
/// that an `http` redirect URI registered on a loopback IP literal
/// (`127.0.0.1` or `[::1]`) accepts any port (RFC 8252 §7.3), with
/// everything else still byte for byte.
pub fn matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(presented)) {
        (Some((host_r, rest_r)), Some((host_p, rest_p))) => host_r == host_p && rest_r == rest_p,
        _ => false,
    }
}

/// For `http://127.0.0.1[:port]/…` or `http://[::1][:port]/…`: the host and
/// what follows the port. `None` for anything else (including `localhost`,
/// which RFC 8252 §8.3 advises against and which matches exactly only).
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let after_scheme = uri.strip_prefix("http://")?;
    let host = ["127.0.0.1", "[::1]"]
        .into_iter()
        .find(|h| after_scheme.starts_with(h))?;
    let mut rest = &after_scheme[host.len()..];
    if let Some(port_and_rest) = rest.strip_prefix(':') {
        let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
        let port: u32 = port_and_rest[..digits].parse().ok()?;
        if !(1..=65535).contains(&port) {
            return None;
        }
        rest = &port_and_rest[digits..];
    }
    // the authority must end here: `127.0.0.1.evil.com` or `127.0.0.1@evil` is another host
    if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
        return None;
    }
    Some((host, rest))
}

/// Whether `uri` may be registered as a redirect URI: an absolute URI
/// without fragment or user info, and `https`; `http` only on loopback
/// (`127.0.0.1`, `[::1]`, `localhost`); or a private-use scheme with a dot
/// (reverse domain name, RFC 8252 §7.1) for native apps. Returns why not.
pub fn check(uri: &str) -> Result<(), &'static str> {
    if uri.is_empty() || uri.len() > MAX_REDIRECT_URI_LEN {
        return Err("must be 1 to 2000 characters");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    if uri.contains('#') {
        return Err("must not contain a fragment");
    }
    if uri.contains('*') {
        return Err("must not contain wildcards");
    }
    let parsed = url::Url::parse(uri).map_err(|_| "must be an absolute URI")?;
    // the parser normalizes (case, dot segments, default ports): a URI it
    // would change is refused, so what is stored is what is compared
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not contain user information");
    }
    match parsed.scheme() {
        "https" => {
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err("must name a host");
            }
        }
        "http" => {
            let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            if !loopback {
                return Err(
                    "http is allowed only on loopback (127.0.0.1, [::1], localhost); use https",
                );
            }
        }
        scheme if scheme.contains('.') => {}
        _ => {
            return Err(
                "must be https, http on loopback, or a private-use scheme such as com.example.app:/callback",
            );
        }
    }
    if parsed.as_str() != uri {
        return Err(
            "must be in normalized form (lower-case scheme and host, a path of at least \"/\", no dot segments, no default port)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check, matches};

    #[test]
    fn a_presented_uri_matches_only_exactly_or_on_a_loopback_port() {
        let reg = "https://app.ex.com/cb";
        for (registered, presented, expected) in [
            (reg, "https://app.ex.com/cb", true),
            (reg, "https://app.ex.com/cb/", false),
            (reg, "https://APP.ex.com/cb", false),
            (reg, "https://app.ex.com/CB", false),
            (reg, "https://app.ex.com/cb?x=1", false),
            (reg, "https://app.ex.com/cb#x", false),
            (reg, "https://app.ex.com.evil.com/cb", false),
            (reg, "https://app.ex.com@evil.com/cb", false),
            (reg, "https://app.ex.com/cb/../evil", false),
            (reg, "https://app.ex.com/cb..;/evil", false),
            (reg, "https://app.ex.com/cb/..;/", false),
            (reg, "//evil.com/cb", false),
            (reg, "http://app.ex.com/cb", false),
            (reg, "https://app.ex.com:443/cb", false),
            (reg, "https://app.ex.com/c", false),
            (reg, "https://app.ex.com/cb%2F..", false),
            (reg, "", false),
            (
                "https://app.ex.com/cb?a=1",
                "https://app.ex.com/cb?a=1",
                true,
            ),
            (
                "https://app.ex.com/cb?a=1",
                "https://app.ex.com/cb?a=1&b=2",
                false,
            ),
            // RFC 8252 §7.3: any port on a loopback IP literal
            ("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", true),
            ("http://127.0.0.1:8080/cb", "http://127.0.0.1:9/cb", true),
            ("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb", true),
            ("http://[::1]/cb", "http://[::1]:4000/cb", true),
            ("http://[::1]/cb", "http://127.0.0.1:4000/cb", false),
            ("http://127.0.0.1/cb", "http://127.0.0.1:4000/cb/", false),
            ("http://127.0.0.1/cb", "http://127.0.0.1:4000/CB", false),
            ("http://127.0.0.1/cb", "http://127.0.0.1:0/cb", false),
            ("http://127.0.0.1/cb", "http://127.0.0.1:65536/cb", false),
            ("http://127.0.0.1/cb", "http://127.0.0.1:/cb", false),
            ("http://127.0.0.1/cb", "http://127.0.0.1.evil.com/cb", false),
            (
                "http://127.0.0.1/cb",
                "http://127.0.0.1:80@evil.com/cb",
                false,
            ),
            ("http://127.0.0.1/cb", "https://127.0.0.1:443/cb", false),
            // localhost is not a loopback literal: exact only
            ("http://localhost/cb", "http://localhost:4000/cb", false),
            ("http://localhost:4000/cb", "http://localhost:4000/cb", true),
            ("com.example.app:/cb", "com.example.app:/cb", true),
            ("com.example.app:/cb", "com.example.app:/cb2", false),
        ] {
            assert_eq!(
                matches(registered, presented),
                expected,
                "{registered} vs {presented}"
            );
        }
    }

    #[test]
    fn only_safe_redirect_uris_can_be_registered() {
        for (uri, ok) in [
            ("https://app.ex.com/cb", true),
            ("https://app.ex.com/", true),
            ("https://app.ex.com/cb?tenant=a", true),
            ("http://127.0.0.1/cb", true),
            ("http://127.0.0.1:8080/cb", true),
            ("http://[::1]/cb", true),
            ("http://localhost:3000/cb", true),
            ("com.example.app:/oauth2redirect", true),
            ("https://app.ex.com", false),
            ("https://app.ex.com/cb#frag", false),
            ("https://*.ex.com/cb", false),
            ("https://user@app.ex.com/cb", false),
            ("https://app.ex.com@evil.com/cb", false),
            ("http://app.ex.com/cb", false),
            ("HTTPS://app.ex.com/cb", false),
            ("https://APP.ex.com/cb", false),
            ("https://app.ex.com:443/cb", false),
            ("https://app.ex.com/a/../cb", false),
            ("//evil.com/cb", false),
            ("/cb", false),
            ("javascript:alert(1)", false),
            ("data:text/html,x", false),
            ("myapp:/cb", false),
            ("https://app.ex.com/c b", false),
            ("", false),
        ] {
            assert_eq!(check(uri).is_ok(), ok, "{uri}: {:?}", check(uri));
        }
    }
}
