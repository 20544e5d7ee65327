//! The hash-bound limit of password logins: how many argon2id verifications
//! per second latchkey's own hashing pool does on this machine, with no
//! server, no network and no database around it. A login costs one such
//! verification, so no server can log people in faster than this; the
//! benchmark (`bench/run.sh`) reports login throughput as a share of it.
//!
//! ```sh
//! cargo run --release -p latchkey-core --example hash_limit -- --workers 2 --seconds 10
//! ```
//!
//! Options: `--workers N` (0: one per core, as the server's default),
//! `--seconds S`, `--m KIB --t PASSES --p LANES` (default: the server's
//! defaults, m=19456, t=2, p=1). Prints one line of `key=value` pairs; CPU
//! time comes from `/proc/self/stat` (Linux), so it is `n/a` elsewhere.

use std::time::{Duration, Instant};

use latchkey_core::password::{HashParams, Password, PasswordHasher, PoolConfig, Verified};

/// Keeps this many verifications in flight: enough to keep every worker
/// busy, within the pool's queue.
const IN_FLIGHT_PER_WORKER: usize = 4;

struct Options {
    workers: usize,
    seconds: f64,
    params: HashParams,
    ticks_per_sec: f64,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        workers: 0,
        seconds: 10.0,
        params: HashParams::default(),
        ticks_per_sec: 100.0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--workers" => o.workers = number(&flag, &value)?,
            "--seconds" => o.seconds = number(&flag, &value)?,
            "--m" => o.params.m_cost_kib = number(&flag, &value)?,
            "--t" => o.params.t_cost = number(&flag, &value)?,
            "--p" => o.params.p_cost = number(&flag, &value)?,
            // `getconf CLK_TCK`; 100 on every common Linux.
            "--clk-tck" => o.ticks_per_sec = number(&flag, &value)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(o)
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: not a number: {value}"))
}

/// CPU time of this process (all threads) in clock ticks, from
/// `/proc/self/stat` fields 14 and 15 (utime, stime).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces: count from after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let o = parse()?;
    let hasher = PasswordHasher::new(PoolConfig {
        workers: o.workers,
        queue_capacity: 64,
        params: o.params,
    })
    .map_err(|e| e.to_string())?;
    let policy = Default::default();
    let password = || Password::new("correct-horse-battery", &policy);
    let stored = hasher
        .hash(password().map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;

    let deadline = Instant::now() + Duration::from_secs_f64(o.seconds);
    let cpu_before = cpu_ticks();
    let started = Instant::now();
    let tasks: Vec<_> = (0..hasher.workers() * IN_FLIGHT_PER_WORKER)
        .map(|_| {
            let hasher = hasher.clone();
            let stored = stored.clone();
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let candidate = Password::for_verification("correct-horse-battery");
                    match hasher.verify(candidate, Some(&stored)).await {
                        Ok(Verified::Match { .. }) => done += 1,
                        Ok(Verified::Mismatch) => return Err("the password did not match".into()),
                        Err(e) => return Err(e.to_string()),
                    }
                }
                Ok::<u64, String>(done)
            })
        })
        .collect();
    let mut hashes = 0;
    for task in tasks {
        hashes += task.await.map_err(|e| e.to_string())??;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu_ms_per_hash = match (cpu_before, cpu_ticks()) {
        (Some(a), Some(b)) if hashes > 0 => format!(
            "{:.2}",
            (b - a) as f64 * 1000.0 / o.ticks_per_sec / hashes as f64
        ),
        _ => "n/a".into(),
    };
    println!(
        "workers={} m_kib={} t={} p={} hashes={hashes} seconds={wall:.2} hashes_per_sec={:.1} cpu_ms_per_hash={cpu_ms_per_hash}",
        hasher.workers(),
        o.params.m_cost_kib,
        o.params.t_cost,
        o.params.p_cost,
        hashes as f64 / wall,
    );
    Ok(())
}
