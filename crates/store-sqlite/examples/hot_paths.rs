//! CPU per request of the two hot paths on SQLite, driving the service
//! directly (no HTTP, no network): a refresh-token exchange, and a token
//! check as `GET /v1/account` and introspection make it. The numbers are
//! process CPU time (every thread: runtime, SQLite writer and readers)
//! divided by the operations done, from `/proc/self/stat` (Linux).
//!
//! ```sh
//! cargo run --release -p latchkey-store-sqlite --example hot_paths -- --ops 20000
//! ```

use std::sync::Arc;
use std::time::Instant;

use latchkey_core::accounts::Registration;
use latchkey_core::auth::{AuthConfig, ClientInfo, Context, Keyring};
use latchkey_core::password::{HashParams, LengthPolicy, PasswordHasher, PoolConfig};
use latchkey_core::services::Services;
use latchkey_core::session::SessionKind;
use latchkey_core::sign_in::LoginOutcome;
use latchkey_core::{Store, SystemClock};
use latchkey_store_sqlite::SqliteStore;
use time::Duration;

/// CPU time of this process (all threads) in clock ticks (utime + stime).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// Runs `op` `n` times, one after the other, and prints its CPU and wall
/// time per operation (clock ticks of 10 ms: `getconf CLK_TCK` is 100).
async fn measure<F, Fut>(name: &str, n: u32, mut op: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (cpu, wall) = (cpu_ticks(), Instant::now());
    for _ in 0..n {
        op().await;
    }
    let cpu_us = (cpu_ticks() - cpu) as f64 * 10_000.0 / f64::from(n);
    let wall_us = wall.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("{name}: cpu_us_per_op={cpu_us:.1} wall_us_per_op={wall_us:.1} ops={n}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mut ops: u32 = 20_000;
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--ops", Some(v)) => ops = v.parse().expect("--ops N"),
            _ => panic!("usage: hot_paths [--ops N]"),
        }
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("latchkey.db"), 2).expect("open SQLite");
    store.migrate().await.expect("migrate");
    let store: Arc<dyn Store> = Arc::new(store);
    let master = [7u8; 32];
    let clock = Arc::new(SystemClock);
    let keys = Keyring::new(&master, "EdDSA".parse().expect("EdDSA"));
    keys.init(
        store.as_ref(),
        time::OffsetDateTime::now_utc(),
        Duration::minutes(15),
    )
    .await
    .expect("signing keys");
    let hasher = PasswordHasher::new(PoolConfig {
        workers: 1,
        queue_capacity: 4,
        params: HashParams::default(),
    })
    .expect("hasher");
    let auth = Services::new(Context::new(
        store,
        clock,
        hasher,
        Arc::new(keys),
        &master,
        AuthConfig {
            issuer: "http://latchkey.test".into(),
            audience: "http://latchkey.test".into(),
            first_party_client_id: "latchkey".into(),
            scope: "openid profile email".into(),
            access_ttl: Duration::minutes(15),
            session_ttl: Duration::days(30),
            session_idle_ttl: Duration::days(7),
            refresh_grace: Duration::seconds(10),
            password_policy: LengthPolicy::default(),
            include_permissions: false,
            scopes: Default::default(),
        },
    ));
    let client = ClientInfo::default();
    let password = "correct horse battery staple";
    auth.accounts()
        .register(
            Registration {
                locale: None,
                email: "bench@example.com".into(),
                password: password.into(),
                username: None,
                name: None,
            },
            &client,
        )
        .await
        .expect("register");
    let LoginOutcome::Tokens(first) = auth
        .sessions()
        .login("bench@example.com", password, &client, SessionKind::Bearer)
        .await
        .expect("login")
    else {
        panic!("bearer login answers tokens");
    };
    let (client_id, secret) = match auth.sessions().create_client("bench").await {
        Ok((c, s)) => (c.id, s),
        Err(e) => panic!("client: {e}"),
    };

    let access = first.access_token.clone();
    let mut refresh = first.refresh_token.clone();
    let auth = &auth;
    let token = access.as_str();
    // what GET /v1/account does: the user comes with the session
    let token_check = || async move {
        let principal = auth
            .sessions()
            .authenticate_bearer(token)
            .await
            .expect("token check");
        assert_eq!(principal.user.email, "bench@example.com");
    };
    measure("warm-up (token check)", ops / 4, token_check).await;
    measure("token_check (GET /v1/account)", ops, token_check).await;
    measure("introspection (client + token)", ops, || {
        let (access, client_id, secret) = (access.clone(), client_id.clone(), secret.clone());
        async move {
            auth.sessions()
                .authenticate_client(&client_id, &secret)
                .await
                .expect("client");
            assert!(
                auth.sessions()
                    .introspect(&access)
                    .await
                    .expect("introspect")
                    .active
            );
        }
    })
    .await;
    let (cpu, wall) = (cpu_ticks(), Instant::now());
    for _ in 0..ops / 4 {
        refresh = auth
            .sessions()
            .refresh(&refresh, &client)
            .await
            .expect("refresh")
            .refresh_token;
    }
    let n = f64::from(ops / 4);
    println!(
        "refresh: cpu_us_per_op={:.1} wall_us_per_op={:.1} ops={}",
        (cpu_ticks() - cpu) as f64 * 10_000.0 / n,
        wall.elapsed().as_secs_f64() * 1e6 / n,
        ops / 4
    );
}
