//! User accounts as the domain sees them.

use time::OffsetDateTime;

/// A user account as stored.
///
/// `email` keeps what the user typed (trimmed) for display and mail;
/// `email_normalized` is the lookup key and is unique. The same holds for
/// `username` and `username_normalized`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable identifier (UUIDv7).
    pub id: String,
    /// The address as entered, trimmed.
    pub email: String,
    /// The unique lookup form of the address, see [`normalize_email`].
    pub email_normalized: String,
    /// Whether the address has been confirmed by a link or code.
    pub email_verified: bool,
    /// Optional handle, as entered.
    pub username: Option<String>,
    /// The unique lookup form of the handle, see [`normalize_username`].
    pub username_normalized: Option<String>,
    /// Optional display name.
    pub name: Option<String>,
    /// A PHC-format password hash, or `None` for accounts without a password.
    pub password_hash: Option<String>,
    /// When the account was created (millisecond precision).
    pub created_at: OffsetDateTime,
    /// When the account last changed (millisecond precision).
    pub updated_at: OffsetDateTime,
    /// The account's suspension, if it has one (it may have ended: see
    /// [`Suspension::is_active`]).
    pub suspension: Option<Suspension>,
    /// The language of the account's mail (a language tag); `None`: the
    /// default (`mail.locale`).
    pub locale: Option<String>,
}

/// An administrator's suspension of an account: no sign-in while it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    /// When it began.
    pub suspended_at: OffsetDateTime,
    /// When it ends by itself; `None`: until lifted.
    pub until: Option<OffsetDateTime>,
    /// Why (shown to administrators, not to the user).
    pub reason: String,
}

impl Suspension {
    /// Whether the suspension is in force at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

impl User {
    /// The suspension in force at `now`, if any.
    pub fn active_suspension(&self, now: OffsetDateTime) -> Option<&Suspension> {
        self.suspension.as_ref().filter(|s| s.is_active(now))
    }
}

/// A page of the admin user search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// Lower-case text found in the email address, username or name, or
    /// equal to the id.
    pub query: Option<String>,
    /// Only users assigned this role (the implicit `user` matches everyone).
    pub role: Option<String>,
    /// Continue after this id (exclusive).
    pub after_id: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// The unique lookup form of an email address: trimmed, a quoted local part
/// unquoted where the quotes change nothing (`"alice"@example.com` is
/// `alice@example.com`, see [`unquote_local_part`]), and lower-cased as a
/// whole. Sub-addressing (`+tag`) and dots are kept: they are distinct
/// mailboxes at many providers.
///
/// Only ASCII letters are folded: registration refuses non-ASCII addresses
/// (see `validate::email`), and full Unicode lower-casing would map
/// look-alikes such as U+212A KELVIN SIGN onto ASCII `k`.
pub fn normalize_email(email: &str) -> String {
    let e = email.trim();
    let unquoted = e
        .rsplit_once('@')
        .and_then(|(local, domain)| Some(format!("{}@{domain}", unquote_local_part(local).ok()?)));
    unquoted.as_deref().unwrap_or(e).to_ascii_lowercase()
}

/// The local part (before the last `@`) of an address in its one plain
/// form, an RFC 5322 dot-atom: letters, digits, ``!#$%&'*+-/=?^_`{|}~``
/// and single dots inside. A quoted string is unquoted (quoted pairs
/// `\x` included) when what it holds is such a dot-atom, since the quotes
/// then change nothing; one that needs its quotes (spaces, `@`, `..`) is
/// refused, as are comments `( )` and source routes (`@host:`). The error
/// says why, for the user.
pub fn unquote_local_part(local: &str) -> Result<String, &'static str> {
    let plain = match local.strip_prefix('"') {
        Some(rest) => {
            let Some(inner) = rest.strip_suffix('"') else {
                return Err("a quoted local part must end with a quote");
            };
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    '"' => return Err("a quoted local part must end with a quote"),
                    c => out.push(c),
                }
            }
            if !is_dot_atom(&out) {
                return Err(
                    "quoted local parts are accepted only where the quotes change nothing (\"ada\"@example.com is ada@example.com)",
                );
            }
            out
        }
        None => local.to_owned(),
    };
    if plain.starts_with('@') || plain.contains(':') {
        return Err("source routes (@host:) are not accepted");
    }
    if plain.contains(['(', ')']) {
        return Err("comments in parentheses are not accepted in an address");
    }
    if !is_dot_atom(&plain) {
        return Err(
            "the part before @ may hold letters, digits, single dots and !#$%&'*+-/=?^_`{|}~",
        );
    }
    Ok(plain)
}

/// An RFC 5322 dot-atom of ASCII `atext`.
fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
        })
}

/// The unique lookup form of a username: trimmed and lower-cased.
pub fn normalize_username(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_normalization_folds_case_and_trims() {
        for (input, expected) in [
            ("Alice@Example.COM", "alice@example.com"),
            ("  bob@example.com\t", "bob@example.com"),
            ("a.b+tag@example.com", "a.b+tag@example.com"),
            ("\u{212A}ate@example.com", "\u{212A}ate@example.com"),
            // quotes that change nothing are dropped
            ("\"alice\"@example.test", "alice@example.test"),
            ("\"Alice\"@Example.TEST", "alice@example.test"),
            ("\"a.b+tag\"@example.test", "a.b+tag@example.test"),
            ("\"al\\ice\"@example.test", "alice@example.test"),
            // forms that need their quotes are refused at registration and
            // only lower-cased here (they can match no stored account)
            ("\"a b\"@example.test", "\"a b\"@example.test"),
            ("\"a..b\"@Example.test", "\"a..b\"@example.test"),
        ] {
            assert_eq!(normalize_email(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn local_parts_are_unquoted_or_refused() {
        for (input, expected) in [
            ("alice", Some("alice")),
            ("a.b+tag", Some("a.b+tag")),
            ("o'brien", Some("o'brien")),
            ("\"alice\"", Some("alice")),
            ("\"a.b\"", Some("a.b")),
            ("\"\\a\\l\\i\\c\\e\"", Some("alice")),
            ("\"\"", None),
            ("\"a b\"", None),
            ("\"a@b\"", None),
            ("\"a..b\"", None),
            ("\".a\"", None),
            ("\"a\"b\"", None),
            ("\"alice", None),
            ("alice\"", None),
            ("a\"b", None),
            ("alice(comment)", None),
            ("(comment)alice", None),
            ("\"alice\"(comment)", None),
            ("@route.example:alice", None),
            ("a..b", None),
            (".alice", None),
            ("alice.", None),
            ("a<b>", None),
            ("a,b", None),
            ("a;b", None),
            ("a[b]", None),
            ("a\\b", None),
            ("", None),
        ] {
            assert_eq!(
                unquote_local_part(input).ok().as_deref(),
                expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn username_normalization_folds_case() {
        assert_eq!(normalize_username(" Alice_01 "), "alice_01");
    }
}
