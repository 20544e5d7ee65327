//! Where `/login?return_to=` may send a person after sign-in: a path on
//! latchkey itself, or a URL whose origin is exactly latchkey's or one of
//! `pages.allowed_return_origins` (no wildcards). Anything else, and
//! anything that could be read two ways (`//evil`, `/\evil`, user info,
//! control characters, a look-alike host, another case), goes to
//! [`DEFAULT`].

/// Where everything else goes.
pub const DEFAULT: &str = "/account";

/// The target for `return_to`, given latchkey's origin and the allowed ones.
pub fn target(return_to: &str, own: &str, allowed: &[String]) -> String {
    if return_to.is_empty()
        || return_to.len() > 2048
        || return_to
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return DEFAULT.to_owned();
    }
    if let Some(rest) = return_to.strip_prefix('/') {
        // a path here; `//host` is another site to a browser
        return if rest.starts_with('/') {
            DEFAULT.to_owned()
        } else {
            return_to.to_owned()
        };
    }
    let Some((scheme, after)) = return_to.split_once("://") else {
        return DEFAULT.to_owned();
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    if authority.is_empty() || authority.contains('@') {
        return DEFAULT.to_owned();
    }
    let origin = format!("{scheme}://{authority}");
    if origin == own || allowed.contains(&origin) {
        return_to.to_owned()
    } else {
        DEFAULT.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases, shared with the browser suite (tests/browser), which
    /// follows each one in Chromium.
    #[derive(serde::Deserialize)]
    struct Cases {
        own: String,
        allowed: Vec<String>,
        cases: Vec<(String, bool)>,
    }

    #[test]
    fn only_exact_allowed_origins_and_own_paths_are_followed() {
        let Cases {
            own,
            allowed,
            cases,
        } = serde_json::from_str(include_str!("return_to_cases.json")).expect("the cases parse");
        assert_eq!(cases.len(), 28, "a case was lost");
        for (input, followed) in &cases {
            let expected = if *followed { input } else { DEFAULT };
            assert_eq!(target(input, &own, &allowed), expected, "{input:?}");
        }
        // nothing but latchkey's own origin without a list
        assert_eq!(target("https://app.example.com/", &own, &[]), DEFAULT);
    }
}
