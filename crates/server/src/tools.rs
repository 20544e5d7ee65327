//! Offline tools of the command line: building a breach-corpus filter.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use latchkey_core::password_policy::FilterBuilder;

/// What [`build_filter`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterReport {
    /// Entries added.
    pub items: u64,
    /// Lines skipped (empty, or not a digest with `sha1`).
    pub skipped: u64,
    /// Size of the file written, in bytes.
    pub bytes: u64,
}

/// Builds a breach filter (see `latchkey_core::password_policy`) from
/// `input`, one entry a line: passwords as they were typed, or with `sha1`
/// the Pwned Passwords format `SHA1HEX[:COUNT]`. Reads the input twice (to
/// count, then to add) so the filter is sized to it.
pub fn build_filter(
    input: &Path,
    output: &Path,
    false_positive_rate: f64,
    sha1: bool,
) -> Result<FilterReport, String> {
    if !(false_positive_rate > 0.0 && false_positive_rate < 0.5) {
        return Err("--false-positive-rate must be between 0 and 0.5, e.g. 0.001".into());
    }
    let open = || {
        std::fs::File::open(input)
            .map(BufReader::new)
            .map_err(|e| format!("cannot read {}: {e}", input.display()))
    };
    let mut expected = 0u64;
    for line in open()?.split(b'\n') {
        line.map_err(|e| format!("cannot read {}: {e}", input.display()))?;
        expected += 1;
    }
    let mut builder = FilterBuilder::new(expected, false_positive_rate);
    let mut skipped = 0;
    for line in open()?.split(b'\n') {
        let mut line = line.map_err(|e| format!("cannot read {}: {e}", input.display()))?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            skipped += 1;
            continue;
        }
        if sha1 {
            match parse_digest(&line) {
                Some(d) => builder.insert_digest(&d),
                None => skipped += 1,
            }
        } else {
            match std::str::from_utf8(&line) {
                Ok(p) => builder.insert_password(p),
                Err(_) => skipped += 1,
            }
        }
    }
    let items = builder.items();
    let bytes = builder.finish();
    let mut file = std::fs::File::create(output)
        .map_err(|e| format!("cannot create {}: {e}", output.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    Ok(FilterReport {
        items,
        skipped,
        bytes: bytes.len() as u64,
    })
}

/// `SHA1HEX` or `SHA1HEX:COUNT` (any case).
fn parse_digest(line: &[u8]) -> Option<[u8; 20]> {
    let hex = line.split(|b| *b == b':').next()?;
    if hex.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_core::password_policy::BreachFilter;

    #[test]
    fn filters_build_from_passwords_and_from_digests() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, "hunter2hunter2\r\nletmein-now\n\nsécurité-123\n").unwrap();
        let out = dir.path().join("f.bin");
        let report = build_filter(&plain, &out, 1e-6, false).unwrap();
        assert_eq!((report.items, report.skipped), (3, 1));
        let f = BreachFilter::open(&out).unwrap();
        for p in ["hunter2hunter2", "letmein-now", "sécurité-123"] {
            assert!(f.contains_password(p).unwrap(), "{p}");
        }
        assert!(!f.contains_password("correct horse battery staple").unwrap());

        // SHA-1("hunter2hunter2"), as the Pwned Passwords lists give it
        let sha = dir.path().join("sha.txt");
        let digest = latchkey_tokens::sha1_for_compatibility(b"hunter2hunter2");
        let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
        std::fs::write(&sha, format!("{hex}:42\nnot-a-digest\n")).unwrap();
        let report = build_filter(&sha, &out, 1e-6, true).unwrap();
        assert_eq!((report.items, report.skipped), (1, 1));
        assert!(
            BreachFilter::open(&out)
                .unwrap()
                .contains_password("hunter2hunter2")
                .unwrap()
        );
        assert!(build_filter(&sha, &out, 0.0, true).is_err());
    }
}
