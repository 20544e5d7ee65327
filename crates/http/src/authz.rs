//! The rules of forward-auth (`authz.rules`): which host and path prefix
//! needs what (a sign-in, a role, a scope, AAL2), parsed and shown as
//! written, and the decision for one target. Pure: the endpoint that applies
//! it is `routes::authz`.

use std::fmt;
use std::str::FromStr;

/// What a rule requires. `public` needs nothing; otherwise a signed-in
/// user, and optionally a role, a scope (of a bearer token) and AAL2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    /// Anyone may pass, signed in or not.
    pub public: bool,
    /// A role the user must hold (inherited roles count).
    pub role: Option<String>,
    /// A scope the bearer token must carry (cookie sessions carry none).
    pub scope: Option<String>,
    /// A sign-in with a second factor.
    pub aal2: bool,
}

/// One rule: a host (or `*`), a path prefix and its requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzRule {
    /// Lower-case host without port, or `*` for any host.
    pub host: String,
    /// The path prefix, on segment boundaries (`/admin` covers `/admin` and
    /// `/admin/x`, not `/administrator`).
    pub prefix: String,
    /// What it requires.
    pub require: Requirement,
}

/// The rules of `authz.rules`, written `host/prefix word…` and separated by
/// commas; the words are `public`, `signed_in` (the default), `role:<name>`,
/// `scope:<name>` and `aal2`. Example: `app.example.com/admin role:admin
/// aal2, app.example.com/ signed_in, */health public`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzPolicy {
    /// The rules, as written.
    pub rules: Vec<AuthzRule>,
}

impl FromStr for AuthzRule {
    type Err = String;

    fn from_str(text: &str) -> Result<AuthzRule, String> {
        let mut words = text.split_whitespace();
        let target = words.next().ok_or("an empty rule")?;
        let slash = target
            .find('/')
            .ok_or_else(|| format!("`{target}`: expected host/path, e.g. app.example.com/admin"))?;
        let (host, prefix) = target.split_at(slash);
        let valid_host = host == "*"
            || (!host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
        if !valid_host {
            return Err(format!(
                "`{host}`: expected a host name without port, or `*`"
            ));
        }
        if prefix != "/" && normalize_path(prefix).as_deref() != Some(prefix.trim_end_matches('/'))
        {
            return Err(format!("`{prefix}`: expected a plain path such as /admin"));
        }
        let mut require = Requirement::default();
        let mut signed_in = false;
        for word in words {
            match word.split_once(':') {
                None if word == "public" => require.public = true,
                None if word == "signed_in" => signed_in = true,
                None if word == "aal2" => require.aal2 = true,
                Some(("role", role)) if !role.is_empty() => require.role = Some(role.to_owned()),
                Some(("scope", scope)) if !scope.is_empty() => {
                    require.scope = Some(scope.to_owned());
                }
                _ => {
                    return Err(format!(
                        "`{word}`: expected public, signed_in, role:<name>, scope:<name> or aal2"
                    ));
                }
            }
        }
        if require.public
            && (signed_in || require.role.is_some() || require.scope.is_some() || require.aal2)
        {
            return Err(format!(
                "`{text}`: public cannot be combined with other requirements"
            ));
        }
        Ok(AuthzRule {
            host: host.to_ascii_lowercase(),
            prefix: prefix.trim_end_matches('/').to_owned(),
            require,
        })
    }
}

impl fmt::Display for AuthzRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.prefix.is_empty() {
            "/"
        } else {
            &self.prefix
        };
        write!(f, "{}{prefix}", self.host)?;
        let r = &self.require;
        if r.public {
            return f.write_str(" public");
        }
        f.write_str(" signed_in")?;
        if let Some(role) = &r.role {
            write!(f, " role:{role}")?;
        }
        if let Some(scope) = &r.scope {
            write!(f, " scope:{scope}")?;
        }
        if r.aal2 {
            f.write_str(" aal2")?;
        }
        Ok(())
    }
}

impl FromStr for AuthzPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<AuthzPolicy, String> {
        let rules = text
            .split(',')
            .filter(|r| !r.trim().is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        Ok(AuthzPolicy { rules })
    }
}

impl fmt::Display for AuthzPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{rule}")?;
        }
        Ok(())
    }
}

/// The path of a request target, percent-decoded, with `.` and `..`
/// segments resolved and empty segments dropped, without its query and
/// without a trailing slash (`""` for the root). `None` when it cannot be
/// read (not starting with `/`, invalid percent-encoding or UTF-8, a NUL or
/// a backslash): such a request is refused, since the application might
/// read it differently from the check.
fn normalize_path(uri: &str) -> Option<String> {
    let path = uri.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    if decoded.contains(['\\', '\0', '%']) {
        return None;
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    Some(segments.iter().map(|s| format!("/{s}")).collect())
}

impl AuthzPolicy {
    /// The requirement for `uri` on `host`: the matching rule with the
    /// longest prefix, a rule naming the host winning over `*` at equal
    /// length; `signed_in` when none matches. `None` for a target that
    /// cannot be read safely ([`normalize_path`]).
    #[must_use]
    pub fn rule_for(&self, host: &str, uri: &str) -> Option<Requirement> {
        let path = normalize_path(uri)?;
        let host = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let best = self
            .rules
            .iter()
            .filter(|r| r.host == "*" || r.host.eq_ignore_ascii_case(host))
            .filter(|r| {
                path.strip_prefix(r.prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|r| (r.prefix.len(), r.host != "*"));
        Some(best.map(|r| r.require.clone()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AuthzPolicy {
        "app.example.com/admin role:admin aal2, app.example.com/ signed_in, */health public, \
         */api scope:posts:read, app.example.com/api/open public"
            .parse()
            .unwrap()
    }

    #[test]
    fn the_most_specific_rule_decides() {
        let admin = Requirement {
            role: Some("admin".into()),
            aal2: true,
            ..Requirement::default()
        };
        let public = Requirement {
            public: true,
            ..Requirement::default()
        };
        let scoped = Requirement {
            scope: Some("posts:read".into()),
            ..Requirement::default()
        };
        let signed_in = Requirement::default();
        for (host, uri, expected) in [
            ("app.example.com", "/admin", Some(&admin)),
            ("APP.example.com:8443", "/admin/users?x=1", Some(&admin)),
            ("app.example.com", "/administrator", Some(&signed_in)),
            ("app.example.com", "/health/../admin", Some(&admin)),
            ("app.example.com", "/health/%2e%2e/admin", Some(&admin)),
            ("app.example.com", "//admin", Some(&admin)),
            ("app.example.com", "/./admin/", Some(&admin)),
            ("app.example.com", "/health", Some(&public)),
            ("other.example.com", "/health/live", Some(&public)),
            ("other.example.com", "/anything", Some(&signed_in)),
            ("other.example.com", "/api/posts", Some(&scoped)),
            ("app.example.com", "/api/open/x", Some(&public)),
            ("app.example.com", "/", Some(&signed_in)),
            ("app.example.com", "/health%5c..%5cadmin", None),
            ("app.example.com", "/x%00", None),
            ("app.example.com", "/%ff", None),
            ("app.example.com", "/%252e%252e/admin", None),
            ("app.example.com", "admin", None),
        ] {
            assert_eq!(
                policy().rule_for(host, uri).as_ref(),
                expected,
                "{host} {uri}"
            );
        }
    }

    #[test]
    fn rules_are_parsed_strictly_and_shown_as_parsed() {
        assert_eq!(
            policy().to_string(),
            "app.example.com/admin signed_in role:admin aal2, app.example.com/ signed_in, \
             */health public, */api signed_in scope:posts:read, app.example.com/api/open public"
        );
        for bad in [
            "app.example.com",
            "app.example.com:80/x",
            "/x",
            "app.example.com/x sudo",
            "app.example.com/x role:",
            "app.example.com/x public role:admin",
            "app.example.com/a/../b",
            "app.example.com/a%2fb",
        ] {
            assert!(bad.parse::<AuthzPolicy>().is_err(), "{bad}");
        }
        assert_eq!("".parse::<AuthzPolicy>().unwrap(), AuthzPolicy::default());
    }
}
