//! What one check costs: a token's first verification (signature) and a
//! repeated one (the cache), per algorithm. No server: the keys are given.
//!
//! `cargo run --release -p latchkey-verify --example cached_check`

use std::time::Instant;

use latchkey_proto::AccessClaims;
use latchkey_tokens::{Alg, Jwks, SigningKey};
use latchkey_verify::{Config, Verifier};

fn claims(jti: usize, now: i64) -> AccessClaims {
    AccessClaims {
        iss: "https://id.example".into(),
        sub: "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f60".into(),
        aud: "https://id.example".into(),
        exp: now + 900,
        iat: now,
        nbf: now,
        jti: format!("019a8d6e-2f41-7c3b-9a57-{jti:012}"),
        sid: "019a8d6e-2f41-7c3b-9a57-3b1d2c4e5f61".into(),
        client_id: "latchkey".into(),
        scope: "openid profile email".into(),
        roles: vec!["user".into()],
        permissions: vec![],
        amr: vec!["pwd".into()],
        acr: "aal1".into(),
        auth_time: now,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    for alg in [Alg::EdDSA, Alg::ES256, Alg::RS256] {
        let (key, _) = SigningKey::generate(alg, "k".into()).unwrap();
        let verifier = Verifier::with_keys(
            Config::new("https://id.example", "https://id.example").unwrap(),
            &Jwks {
                keys: vec![key.public_jwk()],
            },
        );
        let tokens: Vec<String> = (0..2000)
            .map(|i| key.sign_jwt("at+jwt", &claims(i, now)).unwrap())
            .collect();

        let start = Instant::now();
        for t in &tokens {
            verifier.verify(t).await.unwrap();
        }
        let first = start.elapsed() / 2000;

        let rounds = 200;
        let start = Instant::now();
        for _ in 0..rounds {
            for t in &tokens {
                std::hint::black_box(verifier.verify(t).await.unwrap());
            }
        }
        let cached = start.elapsed() / (rounds * 2000);
        println!(
            "{alg}: first check {:.1} µs, cached check {:.2} µs = {:.0} checks/s on one core ({} byte tokens, 2000 cached)",
            first.as_secs_f64() * 1e6,
            cached.as_secs_f64() * 1e6,
            1.0 / cached.as_secs_f64(),
            tokens[0].len()
        );
    }
}
