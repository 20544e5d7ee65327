//! Per-operation cost of signing and verifying JWTs with each algorithm.
//!
//! Run in release: `cargo run --release -p latchkey-tokens --example sign_verify_cost`.
//! Figures are CPU time of this thread (Linux `/proc/thread-self/schedstat`,
//! so other load on a shared machine does not inflate them), or wall-clock
//! time where that is unavailable.

use std::hint::black_box;
use std::time::Instant;

use latchkey_tokens::{
    Alg, SigningKey, Validation, VerifyingKey, random_token, sha256, verify_jwt,
};
use serde::{Deserialize, Serialize};

const ITERATIONS: u32 = 10_000;
const NOW: i64 = 1_700_000_000;

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    jti: String,
    client_id: String,
    scope: String,
}

/// Nanoseconds this thread has spent on a CPU, if the kernel tells.
fn thread_cpu_ns() -> Option<u64> {
    // The kernel brings the running thread's total up to date when it yields.
    std::thread::yield_now();
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Runs `f` `n` times and returns microseconds per call (CPU time if
/// available, else wall-clock).
fn per_op(n: u32, mut f: impl FnMut()) -> f64 {
    let (cpu, wall) = (thread_cpu_ns(), Instant::now());
    for _ in 0..n {
        f();
    }
    let total_us = match (cpu, thread_cpu_ns()) {
        #[allow(clippy::cast_precision_loss)]
        (Some(a), Some(b)) => (b - a) as f64 / 1e3,
        _ => wall.elapsed().as_secs_f64() * 1e6,
    };
    total_us / f64::from(n)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let claims = Claims {
        iss: "https://id.example.com".into(),
        sub: "0190f6c2-8c1a-7d4e-9b7a-3f2e1d0c9b8a".into(),
        aud: "https://api.example.com".into(),
        exp: NOW + 900,
        iat: NOW,
        jti: random_token(),
        client_id: "web-app".into(),
        scope: "openid profile email".into(),
    };
    let validation = Validation {
        issuer: "https://id.example.com",
        audience: "https://api.example.com",
        typ: "at+jwt",
        now: NOW,
        leeway_secs: 30,
    };

    let clock = if thread_cpu_ns().is_some() {
        "thread CPU"
    } else {
        "wall-clock"
    };
    println!("{clock} µs/op; sign_jwt and verify_jwt {ITERATIONS} iterations each");
    println!(
        "{:<6} {:>10} {:>10} {:>8} {:>14} {:>12}",
        "alg", "sign_jwt", "verify_jwt", "len", "from_pkcs8", "from_jwk"
    );
    for alg in [Alg::EdDSA, Alg::ES256, Alg::RS256] {
        let (key, der) = SigningKey::generate(alg, "bench".into())?;
        let public = VerifyingKey::from_jwk(&key.public_jwk())?;
        let token = key.sign_jwt("at+jwt", &claims)?;

        // Warm up.
        for _ in 0..100 {
            black_box(key.sign_jwt("at+jwt", &claims)?);
            black_box(verify_jwt::<Claims>(
                &token,
                |_| Some(public.clone()),
                &validation,
            )?);
        }
        let sign = per_op(ITERATIONS, || {
            black_box(key.sign_jwt("at+jwt", black_box(&claims)).ok());
        });
        let verify = per_op(ITERATIONS, || {
            black_box(
                verify_jwt::<Claims>(black_box(&token), |_| Some(public.clone()), &validation).ok(),
            );
        });
        // Key parsing, which SigningKey and VerifyingKey do once, not per token.
        let jwk = key.public_jwk();
        let parse_private = per_op(ITERATIONS, || {
            black_box(SigningKey::from_pkcs8(alg, "bench".into(), black_box(&der)).ok());
        });
        let parse_public = per_op(ITERATIONS * 10, || {
            black_box(VerifyingKey::from_jwk(black_box(&jwk)).ok());
        });
        println!(
            "{:<6} {sign:>10.1} {verify:>10.1} {:>8} {parse_private:>14.1} {parse_public:>12.1}",
            alg.as_str(),
            token.len()
        );
    }

    let sha = per_op(ITERATIONS * 100, || {
        black_box(sha256(black_box(b"0123456789abcdef0123456789abcdef")));
    });
    let token = per_op(ITERATIONS * 100, || {
        black_box(random_token());
    });
    println!("sha256(32 bytes) {sha:.3} µs/op; random_token() {token:.3} µs/op");
    Ok(())
}
