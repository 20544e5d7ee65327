//! Reading mail delivered to the test SMTP server.
//!
//! `scripts/services.sh` starts a real SMTP server (Python's aiosmtpd) that
//! saves every message it accepts as one file in a directory, and exports
//! `LATCHKEY_TEST_SMTP_PORT` and `LATCHKEY_TEST_SMTP_DIR`. Tests send through
//! latchkey's real SMTP transport and read the files here. Messages are told
//! apart by recipient: each test uses addresses of its own, so tests stay
//! parallel. A missing variable fails the test instead of skipping it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;

/// The environment variable with the SMTP server's port.
pub const PORT_VAR: &str = "LATCHKEY_TEST_SMTP_PORT";
/// The environment variable with the directory of received messages.
pub const DIR_VAR: &str = "LATCHKEY_TEST_SMTP_DIR";

/// The test SMTP server's port; panics with instructions when unset.
pub fn smtp_port() -> u16 {
    std::env::var(PORT_VAR)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            panic!("{PORT_VAR} is not set: run scripts/test.sh, which starts a test SMTP server")
        })
}

/// Where the test SMTP server saves messages; panics when unset.
pub fn sink_dir() -> PathBuf {
    std::env::var(DIR_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            panic!("{DIR_VAR} is not set: run scripts/test.sh, which starts a test SMTP server")
        })
}

/// A received message, decoded.
#[derive(Debug, Clone)]
pub struct Received {
    /// The file it was saved in.
    pub file: PathBuf,
    /// Header lines (unfolded) as (lower-case name, value).
    pub headers: Vec<(String, String)>,
    /// The plain-text part, decoded.
    pub text: String,
    /// The HTML part, decoded.
    pub html: String,
}

impl Received {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        self.header("subject").unwrap_or("")
    }

    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)?;
        let rest = &self.text[start..];
        let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }

    /// The `token` parameter of the first link starting with `prefix`.
    pub fn token(&self, prefix: &str) -> Option<String> {
        let link = self.link(prefix)?;
        link.split_once("token=").map(|(_, t)| t.to_owned())
    }
}

/// Every message saved so far whose `To` names `address` (case-insensitive),
/// oldest first.
pub fn messages_to(address: &str) -> Vec<Received> {
    let address = address.to_ascii_lowercase();
    let mut files: Vec<PathBuf> = std::fs::read_dir(sink_dir())
        .expect("read the SMTP sink directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| parse_file(f).ok())
        .filter(|m| {
            m.header("to")
                .is_some_and(|to| to.to_ascii_lowercase().contains(&address))
        })
        .collect()
}

/// Waits (up to 20 s) until `count` messages to `address` have arrived;
/// for tests where another process delivers.
pub fn wait_for(address: &str, count: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = messages_to(address);
        if got.len() >= count || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn parse_file(file: PathBuf) -> std::io::Result<Received> {
    let raw = std::fs::read(&file)?;
    let raw = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let headers = parse_headers(head);
    let content_type = find(&headers, "content-type").unwrap_or_default();
    let mut text = String::new();
    let mut html = String::new();
    if let Some(boundary) = param(&content_type, "boundary") {
        for part in body.split(&format!("--{boundary}")) {
            let part = part.trim_start_matches('\n');
            let Some((phead, pbody)) = part.split_once("\n\n") else {
                continue;
            };
            let ph = parse_headers(phead);
            let ctype = find(&ph, "content-type").unwrap_or_default();
            let decoded = decode(
                pbody,
                &find(&ph, "content-transfer-encoding").unwrap_or_default(),
            );
            if ctype.starts_with("text/plain") {
                text = decoded;
            } else if ctype.starts_with("text/html") {
                html = decoded;
            }
        }
    } else {
        text = decode(
            body,
            &find(&headers, "content-transfer-encoding").unwrap_or_default(),
        );
    }
    Ok(Received {
        file,
        headers,
        text,
        html,
    })
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    out
}

fn find(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.eq_ignore_ascii_case(name)).then(|| v.trim_matches('"').to_owned())
    })
}

fn decode(body: &str, encoding: &str) -> String {
    match encoding.to_ascii_lowercase().as_str() {
        "quoted-printable" => quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        }
        _ => body.to_owned(),
    }
}

fn quoted_printable(body: &str) -> String {
    let mut bytes = Vec::new();
    let mut lines = body.split('\n').peekable();
    while let Some(line) = lines.next() {
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (line, false),
        };
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'='
                && i + 2 < b.len() + 1
                && let Some(hex) = line.get(i + 1..i + 3)
                && let Ok(v) = u8::from_str_radix(hex, 16)
            {
                bytes.push(v);
                i += 3;
                continue;
            }
            bytes.push(b[i]);
            i += 1;
        }
        if !soft && lines.peek().is_some() {
            bytes.push(b'\n');
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_decodes_soft_breaks_and_escapes() {
        assert_eq!(
            quoted_printable("https://x.example/a?token=3Dabc=\ndef\nnext =C3=A9"),
            "https://x.example/a?token=abcdef\nnext é"
        );
    }
}
