//! Field checks for account input. Each check records a [`FieldProblem`]
//! and returns the cleaned value when it passes.

/// One invalid field: which, a stable code, and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field name.
    pub field: String,
    /// Stable snake_case code.
    pub code: &'static str,
    /// What is wrong and what is expected.
    pub message: String,
}

impl FieldProblem {
    /// A problem with `field`.
    pub fn new(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.to_owned(),
            code,
            message: message.into(),
        }
    }
}

/// A plausible email address: one `@`, a non-empty local part of at most 64
/// bytes, a dotted domain, at most 254 bytes, no spaces or control characters.
/// Deliverability is proven by the verification mail, not here.
pub fn email(raw: &str, problems: &mut Vec<FieldProblem>) -> Option<String> {
    let e = raw.trim();
    let fail = |problems: &mut Vec<FieldProblem>, msg: &str| {
        problems.push(FieldProblem::new("email", "invalid_email", msg));
        None
    };
    if e.is_empty() {
        return fail(problems, "an email address is required");
    }
    if e.len() > 254 {
        return fail(problems, "must be at most 254 characters");
    }
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail(problems, "must not contain spaces or control characters");
    }
    // Non-ASCII addresses are refused until internationalized mail (SMTPUTF8,
    // IDNA) is handled end to end: Unicode case folding maps look-alikes
    // such as U+212A KELVIN SIGN onto ASCII letters, which would let one
    // address claim another's lookup key while mail goes elsewhere.
    if !e.is_ascii() {
        return fail(
            problems,
            "must use ASCII characters only; internationalized addresses are not supported yet",
        );
    }
    let Some((local, domain)) = e.rsplit_once('@') else {
        return fail(
            problems,
            "must be an email address such as name@example.com",
        );
    };
    if local.is_empty() {
        return fail(
            problems,
            "must be an email address such as name@example.com",
        );
    }
    // one form per mailbox: `"ada"@example.com` is stored as ada@example.com
    let local = match crate::user::unquote_local_part(local) {
        Ok(l) => l,
        Err(why) => return fail(problems, why),
    };
    if local.len() > 64 {
        return fail(problems, "the part before @ must be at most 64 characters");
    }
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !domain.contains('.') || !labels_ok {
        return fail(
            problems,
            "the part after @ must be a domain such as example.com",
        );
    }
    Some(format!("{local}@{domain}"))
}

/// 3–32 characters of letters, digits, `_`, `.` and `-`, starting with a
/// letter or digit (never an `@`, so a login identifier is unambiguous).
pub fn username(raw: &str, problems: &mut Vec<FieldProblem>) -> Option<String> {
    let u = raw.trim();
    let n = u.chars().count();
    let ok_chars = u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    let ok_start = u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !(3..=32).contains(&n) || !ok_chars || !ok_start {
        problems.push(FieldProblem::new(
            "username",
            "invalid_username",
            "must be 3 to 32 characters: letters, digits, '_', '.' or '-', starting with a letter or digit",
        ));
        return None;
    }
    Some(u.to_owned())
}

/// A display name: at most 200 characters, no control characters. Empty
/// means none.
pub fn name(raw: &str, problems: &mut Vec<FieldProblem>) -> Option<String> {
    let n = raw.trim();
    if n.chars().count() > 200 || n.chars().any(|c| c.is_control() || is_invisible_format(c)) {
        problems.push(FieldProblem::new(
            "name",
            "invalid_name",
            "must be at most 200 characters without control characters",
        ));
        return None;
    }
    (!n.is_empty()).then(|| n.to_owned())
}

/// Zero-width and bidirectional formatting characters (Unicode category Cf
/// as used for spoofing: U+200B–U+200F, U+202A–U+202E, U+2060–U+2064,
/// U+2066–U+2069, U+061C, U+FEFF).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for (raw, ok) in [
            ("a@example.com", true),
            ("  Ada.Lovelace+tag@sub.example.org ", true),
            ("", false),
            ("no-at-sign", false),
            ("@example.com", false),
            ("a@localhost", false),
            ("\u{212A}ate@example.com", false),
            ("e\u{0301}lodie@example.com", false),
            ("élodie@exemple.fr", false),
            ("a b@example.com", false),
            ("a@@example.com", false),
            ("a@example..com", false),
            ("a@-example.com", false),
            (&format!("{}@example.com", "x".repeat(65)), false),
            (&format!("a@{}.com", "x".repeat(250)), false),
            ("\"a\"@example.com", true),
            ("\"a b\"@example.com", false),
            ("\"a@b\"@example.com", false),
            ("a(comment)@example.com", false),
            ("a@(comment)example.com", false),
            ("@route.example:a@example.com", false),
            ("a@[192.0.2.1]", false),
            ("a@example.com(comment)", false),
        ] {
            let mut p = Vec::new();
            assert_eq!(email(raw, &mut p).is_some(), ok, "{raw:?}");
            assert_eq!(p.is_empty(), ok, "{raw:?}");
        }
    }

    #[test]
    fn quotes_that_change_nothing_are_dropped() {
        let mut p = Vec::new();
        assert_eq!(
            email(" \"Alice\"@Example.test ", &mut p).as_deref(),
            Some("Alice@Example.test"),
            "stored as typed, without the quotes"
        );
        assert!(p.is_empty());
    }

    #[test]
    fn usernames_and_names() {
        for (raw, ok) in [
            ("ada", true),
            ("Ada_01.x-y", true),
            ("ab", false),
            ("a@b", false),
            ("_ada", false),
            ("ada lovelace", false),
        ] {
            let mut p = Vec::new();
            assert_eq!(username(raw, &mut p).is_some(), ok, "{raw:?}");
        }
        let mut p = Vec::new();
        assert_eq!(
            name("  Ada Lovelace ", &mut p).as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(name("   ", &mut p), None);
        assert!(p.is_empty());
        name("bad\u{0007}", &mut p);
        name(&"x".repeat(201), &mut p);
        name("evil\u{202E}txt.exe", &mut p);
        name("zero\u{200B}width", &mut p);
        assert_eq!(p.len(), 4);
        assert_eq!(name("Élodie Ngô", &mut p).as_deref(), Some("Élodie Ngô"));
    }
}
