//! Running the real `latchkey` binary in tests.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test.
pub fn latchkey() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    // latchkey refuses unknown LATCHKEY_* variables; the test runner's own
    // (LATCHKEY_SKIP_LINT and the like) must not reach the server under test.
    for (name, _) in std::env::vars() {
        if name.starts_with("LATCHKEY_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("LATCHKEY_LOG_FORMAT", "json");
    cmd
}

/// Runs a command in `dir` to completion.
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = latchkey();
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run latchkey")
}

/// A running server.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub lines: mpsc::Receiver<String>,
}

impl Server {
    /// Starts `latchkey serve` in `dir` on a free port and waits for its
    /// ready line.
    pub fn start(dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = latchkey();
        cmd.current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn latchkey serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let addr = loop {
            let line = match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    panic!("latchkey serve did not report ready: {:?}", child.wait());
                }
            };
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("latchkey is ready"))
            {
                break v["listen"].as_str().unwrap().parse().unwrap();
            }
        };
        Server { child, addr, lines }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("latchkey did not exit within 10 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one request with a JSON body (and a bearer token) to `addr`.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> latchkey_testkit::raw_http::RawResponse {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    latchkey_testkit::raw_http::send(addr, head.as_bytes()).expect("request")
}

/// A response's body as JSON.
pub fn json(r: &latchkey_testkit::raw_http::RawResponse) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

/// The cheapest argon2id the configuration allows, for tests about
/// something other than the hash.
pub const CHEAP_HASH: &[(&str, &str)] = &[
    ("LATCHKEY_PASSWORDS_ARGON2_MEMORY_KIB", "8192"),
    ("LATCHKEY_PASSWORDS_ARGON2_ITERATIONS", "1"),
];

/// A successful command's standard output as JSON lines.
pub fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `POST /v1/auth/login` with an identifier and a password.
pub fn login(
    addr: SocketAddr,
    identifier: &str,
    password: &str,
) -> latchkey_testkit::raw_http::RawResponse {
    let body = serde_json::json!({"identifier": identifier, "password": password});
    request(addr, "POST", "/v1/auth/login", None, &body.to_string())
}
