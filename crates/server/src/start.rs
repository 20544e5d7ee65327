//! Start-up: from a validated [`Config`] to a serving process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use latchkey_core::abuse::limiter::CounterBackend;
use latchkey_core::auth::{AuthConfig, Keyring, LifecycleConfig, Protection};
use latchkey_core::jobs::{Jobs, JobsConfig};
use latchkey_core::mail::{MailTransport, Theme};
use latchkey_core::password::{HashParams, LengthPolicy, PoolConfig};
use latchkey_core::password_policy::{BreachFilter, PasswordRules};
use latchkey_core::services::Services;
use latchkey_core::{Clock, Store, StoreError, SystemClock};
use latchkey_http::pages::Branding;
use latchkey_http::{AppSettings, AuthParts, CookieSettings, Limits, Network, Pages, ServeLimits};
use latchkey_redis::RedisCounters;
use latchkey_store_postgres::PgStore;
use latchkey_store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use url::Url;

use crate::config::{Config, DatabaseUrl, MailTransportConfig, MasterKey, Profile};

/// A failure to start, phrased for the operator: which setting, what happened.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// Creates the data directory when the configuration needs it (SQLite, or a
/// generated master key).
pub fn prepare_data_dir(config: &Config) -> Result<(), StartError> {
    let needs_dir =
        config.server.master_key.is_none() || matches!(config.database.url, DatabaseUrl::Sqlite(_));
    if needs_dir {
        std::fs::create_dir_all(&config.server.data_dir).map_err(|e| {
            StartError(format!(
                "data_dir: cannot create {}: {e}; set --data-dir / LATCHKEY_DATA_DIR to a writable directory",
                config.server.data_dir.display()
            ))
        })?;
    }
    Ok(())
}

/// The master key: configured, or (development only) generated into the data directory.
pub fn master_key(config: &Config) -> Result<MasterKey, StartError> {
    match (&config.server.master_key, config.server.profile) {
        (Some(k), _) => Ok(k.clone()),
        (None, Profile::Development) => {
            crate::master_key::load_or_generate(&config.server.data_dir)
                .map_err(|e| StartError(format!("master_key: {e}")))
        }
        (None, Profile::Production) => Err(StartError("master_key: required in production".into())),
    }
}

/// Opens the configured store. An unreachable database is an error naming
/// `database.url` (password redacted).
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    let redacted = config.database.url.redacted();
    let fail = |e: StoreError| {
        StartError(format!(
            "database.url: cannot use {redacted}: {e}; check that the database is running and reachable, \
             and that the URL is right"
        ))
    };
    match &config.database.url {
        DatabaseUrl::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StartError(format!(
                        "database.url: cannot create {}: {e}",
                        parent.display()
                    ))
                })?;
            }
            let readers = config.database.max_connections.min(8);
            Ok(Arc::new(SqliteStore::open(path, readers).map_err(fail)?))
        }
        DatabaseUrl::Postgres(url) => Ok(Arc::new(
            PgStore::connect(url, config.database.max_connections)
                .await
                .map_err(fail)?,
        )),
    }
}

/// Applies pending migrations, or refuses to go on with pending ones when
/// `database.migrate_on_start` is off.
pub async fn migrate(store: &dyn Store, apply: bool) -> Result<(), StartError> {
    if apply {
        let report = store
            .migrate()
            .await
            .map_err(|e| StartError(format!("database migration failed: {e}")))?;
        if !report.applied.is_empty() {
            tracing::info!(applied = ?report.applied, already = report.already_applied, "database migrated");
        }
        return Ok(());
    }
    let pending = store
        .pending_migrations()
        .await
        .map_err(|e| StartError(format!("cannot read the migration state: {e}")))?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(StartError(format!(
            "the database has pending migrations ({}) and database.migrate_on_start is false; run `latchkey migrate` first",
            pending.join(", ")
        )))
    }
}

/// Binds the listener; failure names the `listen` setting.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    TcpListener::bind(config.server.listen).await.map_err(|e| {
        StartError(format!(
            "listen: cannot listen on {}: {e}; choose another address or port with --listen / LATCHKEY_LISTEN",
            config.server.listen
        ))
    })
}

/// The public URL: as configured, or derived from the bound address.
pub fn public_url(config: &Config, bound: SocketAddr) -> Url {
    if let Some(u) = &config.server.public_url {
        return u.clone();
    }
    let host = if bound.ip().is_unspecified() {
        "localhost".to_owned()
    } else if bound.is_ipv6() {
        format!("[{}]", bound.ip())
    } else {
        bound.ip().to_string()
    };
    Url::parse(&format!("http://{host}:{}/", bound.port()))
        .expect("a host and port make a valid URL")
}

/// The issuer (`iss`) for a public URL: the URL without a trailing slash.
pub fn issuer(public: &Url) -> String {
    public.as_str().trim_end_matches('/').to_owned()
}

/// The keyring, loaded (and on first start, its first key made).
pub async fn keyring(
    config: &Config,
    store: &dyn Store,
    master: &MasterKey,
) -> Result<Arc<Keyring>, StartError> {
    let keys = Keyring::new(&master.0, config.tokens.alg);
    keys.init(store, SystemClock.now(), config.tokens.access_ttl)
        .await
        .map_err(|e| StartError(format!("signing keys: {e}")))?;
    Ok(Arc::new(keys))
}

/// The account service over `store` (for the command line).
pub async fn auth(
    config: &Config,
    store: Arc<dyn Store>,
    public: &Url,
    master: &MasterKey,
) -> Result<Arc<Services>, StartError> {
    let parts = auth_parts(config, store, public, master).await?;
    latchkey_http::app::auth(parts, &master.0).map_err(|e| StartError(format!("passwords: {e}")))
}

/// What the account service is made of, from the configuration.
pub async fn auth_parts(
    config: &Config,
    store: Arc<dyn Store>,
    public: &Url,
    master: &MasterKey,
) -> Result<AuthParts, StartError> {
    let keys = keyring(config, store.as_ref(), master).await?;
    let p = &config.passwords;
    let passwords = PoolConfig {
        workers: p.workers,
        queue_capacity: p.queue,
        params: HashParams {
            m_cost_kib: p.memory_kib,
            t_cost: p.iterations,
            p_cost: p.parallelism,
        },
    };
    let issuer = issuer(public);
    let auth_config = AuthConfig {
        audience: config
            .tokens
            .audience
            .clone()
            .unwrap_or_else(|| issuer.clone()),
        issuer,
        first_party_client_id: "latchkey".into(),
        scope: "openid profile email".into(),
        access_ttl: config.tokens.access_ttl,
        session_ttl: config.sessions.ttl,
        session_idle_ttl: config.sessions.idle_ttl,
        refresh_grace: config.tokens.refresh_grace,
        password_policy: LengthPolicy {
            min_chars: p.min_length,
            ..LengthPolicy::default()
        },
        include_permissions: config.tokens.include_permissions,
        scopes: config.oauth.scopes.clone(),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let breached = match &p.breached_filter {
        None => None,
        Some(path) => {
            let filter = BreachFilter::open(path)
                .map_err(|e| StartError(format!("passwords.breached_filter: {e}")))?;
            tracing::info!(items = filter.items(), on_disk = filter.on_disk(), path = %path.display(), "breach filter loaded");
            Some(Arc::new(filter))
        }
    };
    let protection = Protection {
        brute_force: config.brute_force.policy.clone(),
        passwords: PasswordRules {
            reject_common: p.reject_common,
            breached,
            min_strength: p.min_strength,
            ..PasswordRules::default()
        },
        device_cookie_ttl: config.brute_force.device_cookie_ttl,
    };
    let acc = &config.accounts;
    let lifecycle = LifecycleConfig {
        require_verified_email: acc.require_verified_email,
        reauth_max_age: acc.reauth_max_age,
        deletion_grace: acc.deletion_grace,
        new_sign_in_notice: acc.new_sign_in_notice,
        reveal_existing_on_register: acc.reveal_existing_on_register,
        mail_max_attempts: config.mail.max_attempts,
        theme: Theme {
            product_name: config.branding.product_name.clone(),
            logo_url: config.branding.logo_url.clone(),
            color: config.branding.color.clone(),
        },
        locale: config.mail.locale.clone(),
        catalogue: config.pages.catalogue.clone(),
        mfa: config.mfa.clone(),
        passwordless: latchkey_core::passwordless::PasswordlessConfig {
            magic_link: config.passwordless.magic_link,
            email_code: config.passwordless.email_code,
            magic_link_ttl: config.passwordless.magic_link_ttl,
            email_code_ttl: config.passwordless.email_code_ttl,
            signup: acc.passwordless_signup,
        },
        webhooks: latchkey_core::webhooks::WebhooksConfig {
            allow_private: config.webhooks.allow_private,
        },
        ..LifecycleConfig::default()
    };
    Ok(AuthParts {
        store,
        clock,
        keys,
        passwords,
        config: auth_config,
        protection,
        lifecycle,
    })
}

/// The rate-limit counters shared between nodes: through Redis with
/// `redis.url` (the limiter falls back to local counters while it is
/// unreachable), else none.
pub async fn shared_counters(config: &Config) -> Option<Arc<dyn CounterBackend>> {
    let r = config.redis.as_ref()?;
    let redis = RedisCounters::new(r.connection.clone());
    match redis.ping().await {
        Ok(()) => {
            tracing::info!(redis = %r.redacted_url, "rate limits are shared through Redis")
        }
        Err(e) => tracing::warn!(
            event = "rate_limit.shared_unavailable",
            redis = %r.redacted_url,
            error = %e,
            "Redis is unreachable: enforcing local limits until it answers"
        ),
    }
    Some(Arc::new(redis))
}

/// Network rules for the edge: proxies, IP lists, CORS, HSTS (only under an
/// https public URL).
pub fn network(config: &Config, public: &Url) -> Network {
    let https = public.scheme() == "https";
    let hsts = config.http.hsts_max_age_secs;
    let access = &config.access;
    Network {
        trusted_proxies: config.proxies.trusted.clone(),
        allow: access.allow.clone(),
        deny: access.deny.clone(),
        admin_allow: access.admin_allow.clone(),
        admin_deny: access.admin_deny.clone(),
        cors: config.cors.clone(),
        hsts_max_age_secs: (https && hsts > 0).then_some(hsts),
        authz: config.authz.clone(),
    }
}

/// Deletes forgotten sign-in failure counters every ten minutes. Every node
/// runs it; the delete is idempotent, so several at once do no harm.
fn spawn_failure_purge(auth: Arc<Services>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            match auth.sessions().purge_login_failures().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "forgotten sign-in failure counters deleted"),
                Err(e) => {
                    tracing::warn!(error = %e, "purging sign-in failure counters failed; will retry")
                }
            }
        }
    });
}

/// The configured mail transport: `.eml` files in `<data_dir>/mail` by
/// default, or SMTP. The sender defaults to `<product> <no-reply@<host>>`.
pub fn mail_transport(config: &Config, public: &Url) -> Result<Arc<dyn MailTransport>, StartError> {
    let host = public.host_str().unwrap_or("localhost").to_owned();
    let from = match &config.mail.from {
        Some(from) => from.clone(),
        None => {
            let domain = if host.contains('.') {
                host.clone()
            } else {
                format!("{host}.localdomain")
            };
            let from_text = format!("{} <no-reply@{domain}>", config.branding.product_name);
            latchkey_mail::parse_mailbox(&from_text)
                .map_err(|e| StartError(format!("mail.from: {from_text:?} is {e}")))?
        }
    };
    Ok(match &config.mail.transport {
        MailTransportConfig::File => {
            let dir = config.server.data_dir.join("mail");
            tracing::info!(dir = %dir.display(), "mail is written to files, and its links are logged (development mail mode)");
            Arc::new(latchkey_mail::FileTransport::new(&dir, from, &host))
        }
        MailTransportConfig::Smtp(smtp) => Arc::new(
            latchkey_mail::SmtpTransport::new(
                &latchkey_mail::SmtpSettings {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    security: smtp.security,
                    username: smtp.username.clone(),
                    password: smtp.password.clone(),
                    timeout: smtp.timeout,
                    ca_file: smtp.ca_file.clone(),
                    hello_name: host,
                },
                from,
            )
            .map_err(|e| StartError(format!("mail: {e}")))?,
        ),
    })
}

/// The background job runner's tuning.
pub fn jobs_config(config: &Config) -> JobsConfig {
    JobsConfig {
        lease: config.jobs.lease,
        retry_base: config.jobs.retry_base,
        retry_max: config.jobs.retry_max,
        sweep_interval: config.jobs.sweep_interval,
        retention: config.jobs.retention,
        event_retention: config.events.retention,
    }
}

/// Runs background jobs until `stop` turns true: due jobs one at a time,
/// the sweep once per interval (one node of many does it), and a poll every
/// `poll` (at once when this node queued work). On stop, the job in hand is
/// finished first; nothing else is claimed.
pub fn spawn_jobs(
    jobs: Jobs,
    poll: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let sweep_every = std::time::Duration::from_secs(
            jobs.config().sweep_interval.whole_seconds().max(1) as u64,
        );
        let mut next_sweep = tokio::time::Instant::now();
        let mut failures: u32 = 0;
        // new events wake the loop: webhook deliveries start within the
        // hub's poll (200 ms), not the jobs' poll
        let mut events = jobs.auth().events().watch_newest();
        while !*stop.borrow() {
            if tokio::time::Instant::now() >= next_sweep {
                match jobs.schedule_sweep().await {
                    Ok(_) => next_sweep += sweep_every,
                    Err(e) => {
                        tracing::warn!(error = %e, "could not schedule the sweep; will retry")
                    }
                }
            }
            jobs.fan_out_webhooks().await;
            loop {
                if *stop.borrow() {
                    return;
                }
                match jobs.run_next().await {
                    Ok(latchkey_core::jobs::Ran::Idle) => {
                        failures = 0;
                        break;
                    }
                    Ok(_) => failures = 0,
                    Err(e) => {
                        failures = (failures + 1).min(6);
                        tracing::warn!(error = %e, "background jobs: the store failed; backing off");
                        break;
                    }
                }
            }
            let wait = poll * (1 << failures);
            tokio::select! {
                _ = stop.changed() => {}
                () = jobs.auth().jobs_woken() => {}
                _ = events.changed() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    })
}

/// The hosted pages: the theme's templates (or the built-in ones) and the
/// origins sign-in may return to.
fn pages(config: &Config) -> Pages {
    let b = &config.branding;
    Pages::new(
        config.pages.theme_dir.clone(),
        config.pages.catalogue.clone(),
    )
    .with_branding(Branding {
        product_name: b.product_name.clone(),
        // the stylesheet's own accent unless one is configured
        color: (b.color != latchkey_core::mail::Theme::default().color).then(|| b.color.clone()),
        background_color: b.background_color.clone(),
        custom_css: b.custom_css.as_ref().map(|(_, css)| css.clone()),
    })
    .with_return_origins(config.pages.allowed_return_origins.clone())
}

/// Cookie settings for a public URL: `Secure` and `__Host-` under https.
pub fn cookie_settings(public: &Url) -> CookieSettings {
    CookieSettings {
        secure: public.scheme() == "https",
        origin: public.origin().ascii_serialization(),
    }
}

/// Rotates the signing key on schedule. Every node runs this; the store's
/// conditional rotation makes exactly one of them rotate, and a restart
/// loses nothing (the schedule is the active key's age, kept in the store).
fn spawn_key_rotation(auth: Arc<Services>, period: time::Duration, max_ttl: time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let now = SystemClock.now();
            match auth
                .keys()
                .rotate(auth.store(), now, Some(now - period), max_ttl)
                .await
            {
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "scheduled key rotation failed; will retry"),
            }
            if let Err(e) = auth.oauth().rotate_keys(Some(now - period)).await {
                tracing::warn!(error = %e, "scheduled ID-token key rotation failed; will retry");
            }
            // pick up keys rotated by other nodes, and drop expired ones
            if let Err(e) = auth.keys().reload(auth.store(), now).await {
                tracing::warn!(error = %e, "reloading signing keys failed; will retry");
            }
        }
    });
}

/// Follows the store's active signing key: a rotation by another node or by
/// `latchkey keys rotate` is in force here within seconds
/// ([`latchkey_core::keyring::FOLLOW_INTERVAL`]); the retired key
/// keeps verifying until it is unpublished.
fn spawn_key_follower(auth: Arc<Services>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(latchkey_core::keyring::FOLLOW_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match auth.keys().follow(auth.store(), SystemClock.now()).await {
                Ok(true) => tracing::info!("signing keys reloaded: the active key changed"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "checking the signing keys failed; will retry")
                }
            }
            match auth.oauth().follow_keys().await {
                Ok(true) => tracing::info!("ID-token keys reloaded: the active key changed"),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "checking the ID-token keys failed; will retry")
                }
            }
        }
    });
}

/// Deletes audit events past their retention, hourly (the first sweep a
/// minute after start). Every node runs it: the deletion is idempotent, in
/// small batches, and keeps no state, so several nodes and restarts at any
/// moment are safe.
/// Counts the imported password hashes left (one scan of the users) every
/// five minutes, for `latchkey_legacy_password_hashes`, and times one of each
/// scheme for the hash pool's mismatch floor (at start too: the first tick is
/// at once).
fn spawn_legacy_hash_gauge(auth: Arc<Services>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = latchkey_core::legacy_hashes::record_gauge(auth.store()).await {
                tracing::warn!(error = %e, "cannot count the imported password hashes");
            }
            match latchkey_core::legacy_hashes::calibrate_floor(auth.store(), auth.hasher()).await {
                Ok(floor) => tracing::debug!(
                    floor_ms = floor.as_millis() as u64,
                    "password mismatch floor set from the imported hashes"
                ),
                Err(e) => tracing::warn!(error = %e, "cannot time the imported password hashes"),
            }
        }
    });
}

fn spawn_audit_retention(auth: Arc<Services>, retention: time::Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let cutoff = SystemClock.now() - retention;
            match latchkey_core::jobs::purge_audit_events_older_than(auth.store(), cutoff, 5_000)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "audit events past retention deleted"),
                Err(e) => tracing::warn!(error = %e, "audit retention sweep failed; will retry"),
            }
        }
    });
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn serve(config: Config, migrate_now: bool) -> Result<(), StartError> {
    let started = Instant::now();
    prepare_data_dir(&config)?;
    let master = master_key(&config)?;
    let store = open_store(&config).await?;
    migrate(store.as_ref(), migrate_now).await?;
    let listener = bind(&config).await?;
    let bound = listener
        .local_addr()
        .map_err(|e| StartError(format!("listen: {e}")))?;
    let public = public_url(&config, bound);
    let app = latchkey_http::app(
        AppSettings {
            auth: auth_parts(&config, store.clone(), &public, &master).await?,
            shared_counters: shared_counters(&config).await,
            max_keys: config.rate_limits.max_keys,
            guard: config.rate_limits.guard(&config.challenge),
            network: network(&config, &public),
            limits: Limits {
                max_body_bytes: config.http.max_body_bytes,
                max_header_bytes: config.http.max_header_bytes,
                request_timeout: config.http.request_timeout,
            },
            cookies: cookie_settings(&public),
            mail: mail_transport(&config, &public)?,
            jobs: jobs_config(&config),
            pages: pages(&config),
            federation: config.federation.clone(),
            webhooks: Arc::new(latchkey_http::webhook_transport::HttpWebhooks::new(
                config.webhooks.timeout,
                config.webhooks.allow_private,
            )),
        },
        &master.0,
    )
    .map_err(|e| StartError(format!("passwords: {e}")))?;
    let mut app = app;
    app.state = app
        .state
        .with_relying_party(latchkey_http::state::relying_party_of(
            &cookie_settings(&public).origin,
            config.passkeys.rp_id.as_deref(),
            &config.passkeys.origins,
        ));
    let router = app.router();
    let latchkey_http::App { auth, jobs, .. } = app;
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let jobs = spawn_jobs(jobs, config.jobs.poll_interval, jobs_stopped);
    if let Some(period) = config.tokens.key_rotation {
        spawn_key_rotation(auth.clone(), period, config.tokens.access_ttl);
    }
    spawn_key_follower(auth.clone());
    if let Some(retention) = config.audit.retention {
        spawn_audit_retention(auth.clone(), retention);
    }
    spawn_legacy_hash_gauge(auth.clone());
    let events = auth.events().clone();
    spawn_failure_purge(auth);
    let shutdown = shutdown_signal();
    let base = public.as_str().trim_end_matches('/');
    tracing::info!(
        listen = %bound,
        public_url = %public,
        database = store.backend(),
        ready_ms = started.elapsed().as_secs_f64() * 1000.0,
        "latchkey is ready: API {base}/v1, docs {base}/docs, OpenAPI {base}/openapi.json, \
         health {base}/health/ready, metrics {base}/metrics"
    );
    let drained = latchkey_http::serve(
        listener,
        router,
        ServeLimits {
            max_header_bytes: config.http.max_header_bytes,
            header_read_timeout: config.http.header_read_timeout,
            shutdown_timeout: config.http.shutdown_timeout,
        },
        async move {
            shutdown.await;
            // stop claiming jobs at once; the one in hand finishes below
            let _ = stop_jobs.send(true);
            // end the event streams, whose clients resume on another node
            events.close();
        },
    )
    .await;
    if tokio::time::timeout(config.http.shutdown_timeout, jobs)
        .await
        .is_err()
    {
        tracing::warn!(
            "a background job was still running at shutdown; its lease will expire and another run will retry it"
        );
    }
    tracing::info!(drained, "latchkey stopped");
    Ok(())
}

/// A future completing on SIGTERM or SIGINT (Ctrl-C). The handlers are
/// installed when this is called, not when the future is first polled, so a
/// signal that arrives right after start-up is not lost (nor does it kill
/// the process the default way).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = int => tracing::info!(signal = "SIGINT", "shutdown requested"),
                () = term => tracing::info!(signal = "SIGTERM", "shutdown requested"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!(signal = "Ctrl-C", "shutdown requested");
        }
    }
}
