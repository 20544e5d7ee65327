//! What a wrong password costs, per kind of account, on the hash pool with
//! the server's default parameters: an unknown address, an argon2id account
//! and an account imported with a bcrypt hash. Printed twice: with the
//! mismatch floor at zero (how the three differ by their work alone) and
//! calibrated from the imported hash, as the server does (what a caller
//! sees). Timing is a benchmark, not a test: `bench/legacy-timing.sh`.
//!
//! ```sh
//! cargo run --release -p latchkey-core --example legacy_timing -- --rounds 20 --bcrypt-cost 10
//! ```

use std::time::{Duration, Instant};

use latchkey_core::password::{LengthPolicy, Password, PasswordHasher, PoolConfig, Verified};

fn main() -> Result<(), String> {
    let mut rounds = 20usize;
    let mut cost = 10u32;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let parsed = value
            .parse::<usize>()
            .map_err(|_| format!("{flag}: not a number"))?;
        match flag.as_str() {
            "--rounds" => rounds = parsed.max(1),
            "--bcrypt-cost" => cost = u32::try_from(parsed).map_err(|_| "cost out of range")?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(run(rounds, cost))
}

async fn run(rounds: usize, cost: u32) -> Result<(), String> {
    let hasher = PasswordHasher::new(PoolConfig {
        workers: 1,
        ..PoolConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let policy = LengthPolicy::default();
    let native = hasher
        .hash(Password::new("the native password", &policy).map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;
    let imported = bcrypt::hash("the imported password", cost).map_err(|e| e.to_string())?;
    let kinds: [(&str, Option<&str>); 3] = [
        ("unknown", None),
        ("argon2id", Some(&native)),
        ("imported_bcrypt", Some(&imported)),
    ];
    for calibrated in [false, true] {
        let floor = if calibrated {
            hasher.calibrate(std::slice::from_ref(&imported)).await
        } else {
            hasher.calibrate(&[]).await
        }
        .map_err(|e| e.to_string())?;
        let mut line = format!(
            "floor_ms={:.1} bcrypt_cost={cost} rounds={rounds}",
            ms(floor)
        );
        for (name, stored) in kinds {
            let mut times = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let started = Instant::now();
                let got = hasher
                    .verify(Password::for_verification("a wrong password"), stored)
                    .await
                    .map_err(|e| e.to_string())?;
                assert_eq!(got, Verified::Mismatch);
                times.push(started.elapsed());
            }
            times.sort();
            line.push_str(&format!(" {name}_median_ms={:.1}", ms(times[rounds / 2])));
        }
        println!("{line}");
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
