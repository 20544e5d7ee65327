//! `latchkey`: the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use latchkey_server::client_cli::ClientCommand;
use latchkey_server::config::{self, Config, Overrides};
use latchkey_server::{admin_cli, client_cli, seed_cli, start, telemetry, user_transfer_cli};

/// latchkey: an authentication and identity server.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about, long_about = None)]
struct Cli {
    /// TOML configuration file [default: ./latchkey.toml if present; env LATCHKEY_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, IP:PORT [env LATCHKEY_LISTEN; default 127.0.0.1:8080]
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// Data directory [env LATCHKEY_DATA_DIR; default ./latchkey-data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<String>,
    /// Public URL users reach latchkey at [env LATCHKEY_PUBLIC_URL; default http://<listen>]
    #[arg(long, global = true, value_name = "URL")]
    public_url: Option<String>,
    /// sqlite://PATH or postgres://… [env LATCHKEY_DATABASE_URL; default SQLite in the data directory]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Do not apply pending migrations at start (refuse to start if there are any).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage token-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage OAuth clients: create, list, update, delete, rotate-secret.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users: create the first administrator, list, set roles.
    #[command(subcommand)]
    User(UserCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Password lists (offline; needs no configuration).
    #[command(subcommand)]
    Passwords(PasswordsCommand),
    /// Copy the SQLite store into FILE while the server keeps serving: a
    /// consistent snapshot, checked with PRAGMA integrity_check, written
    /// under a temporary name and renamed when complete.
    Backup {
        /// The file to write (must not exist).
        file: PathBuf,
    },
    /// Ask the server on the configured listen address whether it is ready
    /// (GET /health/ready): exit 0 if so, 1 if not. For container health
    /// checks; reads the same configuration as `serve`.
    Health {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 5, value_name = "SECS")]
        timeout: u64,
    },
    /// Make test data: N accounts sharing one known password, sessions,
    /// roles and audit events (refused in production).
    Seed {
        /// How many accounts.
        #[arg(long, value_name = "N")]
        users: u64,
    },
    /// Hosted-page themes (offline; needs no configuration).
    #[command(subcommand)]
    Theme(ThemeCommand),
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
enum ThemeCommand {
    /// Render every template of the theme in DIR against this version's
    /// template contract (docs/theming.md) in every language, and name each
    /// value a template uses that no longer exists and each catalogue key a
    /// language lacks. Exit 0 when the theme works with this version.
    Check {
        /// The theme directory (`pages.theme_dir`).
        dir: PathBuf,
        /// The languages to check (`pages.locales`), the default first.
        #[arg(long, default_value = "en,de,fr", value_name = "LIST")]
        locales: String,
    },
}

#[derive(Debug, Subcommand)]
enum PasswordsCommand {
    /// Build a breach-corpus Bloom filter for `passwords.breached_filter`
    /// from a list of passwords, one a line, or (with --sha1) of SHA-1
    /// digests in the Pwned Passwords format `HASH[:COUNT]`.
    BuildFilter {
        /// The list to read.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// The filter file to write.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Chance that a password not in the list is refused anyway.
        #[arg(long, default_value_t = 0.001, value_name = "RATE")]
        false_positive_rate: f64,
        /// Lines are SHA-1 digests in hex, not passwords.
        #[arg(long)]
        sha1: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new signing key now; the old one stays published until its tokens expire.
    Rotate,
    /// List the signing keys and their state.
    List,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user. The password is prompted for on a terminal (without
    /// echo), or read as the first line of standard input; never an argument.
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Username.
        #[arg(long)]
        username: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// A role to assign (repeatable), e.g. --role admin.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Mark the email address as confirmed.
        #[arg(long)]
        verified: bool,
    },
    /// List users with their roles.
    List {
        /// Text in the email address, username or name, or a user id.
        #[arg(long)]
        query: Option<String>,
        /// Only users with this role.
        #[arg(long)]
        role: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
    /// Write every account as JSON lines to standard output (the shape an
    /// import reads); password hashes only with --with-hashes.
    Export {
        /// Include each account's password hash (PHC string): protect the output.
        #[arg(long)]
        with_hashes: bool,
    },
    /// Import accounts with their password hashes from JSON lines (the
    /// shape `export` writes, or Auth0's export), a `.csv` file with the
    /// same columns, or a Keycloak realm export; argon2, bcrypt, scrypt,
    /// Firebase scrypt and PBKDF2 hashes (docs/operations.md). Every line is
    /// checked first; one bad line imports nothing. Addresses present
    /// already are left alone, so an interrupted import can run again.
    Import {
        /// The file: JSON lines, `*.csv`, or one JSON document with `users`
        /// (a Keycloak realm export, or `firebase auth:export --format=json`).
        file: PathBuf,
        /// Firebase's `base64_signer_key` (with the three below: the
        /// project's password hash parameters, for Firebase's scrypt hashes).
        #[arg(long, value_name = "BASE64", requires_all = ["salt_separator", "rounds", "mem_cost"])]
        hash_key: Option<String>,
        /// Firebase's `base64_salt_separator`.
        #[arg(long, value_name = "BASE64", requires = "hash_key")]
        salt_separator: Option<String>,
        /// Firebase's `rounds`.
        #[arg(long, requires = "hash_key")]
        rounds: Option<u32>,
        /// Firebase's `mem_cost`.
        #[arg(long, requires = "hash_key")]
        mem_cost: Option<u32>,
    },
    /// Replace a user's roles (`--role user` alone removes every other role).
    SetRole {
        /// The user's email address or id.
        user: String,
        /// A role to have (repeatable).
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<String>,
        /// Also end the user's sessions, so that no token keeps the old roles.
        #[arg(long)]
        end_sessions: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Write audit events as JSON lines (oldest first) to standard output.
    Export {
        /// At or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// Events about this user id.
        #[arg(long)]
        user: Option<String>,
        /// Events by this user id.
        #[arg(long)]
        actor: Option<String>,
        /// Only these event types (repeatable), e.g. --event login.failed.
        #[arg(long = "event", value_name = "EVENT")]
        events: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and reach the database, without starting.
    Check,
    /// Print the effective configuration, secrets redacted, with each value's source.
    Show,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!("latchkey {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if let Command::Theme(ThemeCommand::Check { dir, locales }) = &cli.command {
        let locales: Vec<String> = locales
            .split([',', ' '])
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if !dir.is_dir() {
            eprintln!("latchkey: {}: no such directory", dir.display());
            return ExitCode::FAILURE;
        }
        let problems = latchkey_http::pages::contract::check(dir, &locales);
        if problems.is_empty() {
            println!(
                "{}: the theme works with template contract version {} in {}",
                dir.display(),
                latchkey_http::pages::contract::VERSION,
                locales.join(", ")
            );
            return ExitCode::SUCCESS;
        }
        for p in &problems {
            eprintln!("{}: {p}", dir.display());
        }
        eprintln!("latchkey: the theme has {} problem(s)", problems.len());
        return ExitCode::FAILURE;
    }
    if let Command::Passwords(PasswordsCommand::BuildFilter {
        input,
        output,
        false_positive_rate,
        sha1,
    }) = &cli.command
    {
        return match latchkey_server::tools::build_filter(
            input,
            output,
            *false_positive_rate,
            *sha1,
        ) {
            Ok(r) => {
                println!(
                    "wrote {}: {} entries ({} lines skipped), {} bytes; set passwords.breached_filter to use it",
                    output.display(),
                    r.items,
                    r.skipped,
                    r.bytes
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("latchkey: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let overrides = Overrides {
        config_file: cli.config,
        listen: cli.listen,
        data_dir: cli.data_dir,
        public_url: cli.public_url,
        database_url: cli.database_url,
    };
    let config = match config::load(&overrides) {
        Ok(c) => c,
        Err(e) => {
            eprint!("latchkey: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Backup { file } = &cli.command {
        return match latchkey_server::backup_cli::backup(&config, file) {
            Ok(r) => {
                println!(
                    "backup written to {}: {} users, {} bytes, integrity ok, in {} ms",
                    r.file.display(),
                    r.users,
                    r.bytes,
                    r.elapsed.as_millis()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("latchkey: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Health { timeout } = cli.command {
        let checked = latchkey_server::health_cli::target(config.server.listen).and_then(|addr| {
            latchkey_server::health_cli::check(addr, std::time::Duration::from_secs(timeout))
        });
        return match checked {
            Ok(body) => {
                println!("{body}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("latchkey: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let sink = match cli.command {
        Command::Serve { .. } => telemetry::Sink::Stdout,
        _ => telemetry::Sink::Stderr,
    };
    let traces = match cli.command {
        Command::Serve { .. } => config.telemetry.otlp_traces_url.as_ref(),
        _ => None,
    };
    let traces = match telemetry::init(&config.log.level, config.log.format, sink, traces) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("latchkey: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("latchkey: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, config));
    drop(runtime);
    // the last spans, after the server has stopped
    drop(traces);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "latchkey cannot continue");
            eprintln!("latchkey: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), start::StartError> {
    match command {
        Command::Serve { no_migrate } => {
            let apply = config.database.migrate_on_start && !no_migrate;
            start::serve(config, apply).await
        }
        Command::Migrate => {
            start::prepare_data_dir(&config)?;
            let store = start::open_store(&config).await?;
            let report = store
                .migrate()
                .await
                .map_err(|e| start::StartError(format!("database migration failed: {e}")))?;
            println!(
                "applied {} migration(s){}; {} were already applied",
                report.applied.len(),
                if report.applied.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", report.applied.join(", "))
                },
                report.already_applied
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            let store = start::open_store(&config).await?;
            store
                .ping()
                .await
                .map_err(|e| start::StartError(format!("database.url: {e}")))?;
            let pending = store.pending_migrations().await.unwrap_or_default();
            println!(
                "configuration is valid; the database ({}) is reachable{}",
                store.backend(),
                if pending.is_empty() {
                    String::new()
                } else {
                    format!("; pending migrations: {}", pending.join(", "))
                }
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Show) => {
            print!("{}", config::show(&config));
            Ok(())
        }
        Command::Keys(cmd) => {
            start::prepare_data_dir(&config)?;
            let master = start::master_key(&config)?;
            let store = start::open_store(&config).await?;
            start::migrate(store.as_ref(), config.database.migrate_on_start).await?;
            let keys = start::keyring(&config, store.as_ref(), &master).await?;
            let now = time::OffsetDateTime::now_utc();
            if let KeysCommand::Rotate = cmd {
                keys.rotate(store.as_ref(), now, None, config.tokens.access_ttl)
                    .await
                    .map_err(|e| start::StartError(format!("key rotation failed: {e}")))?;
                println!(
                    "rotated: new tokens are signed with the new key; running servers pick it up within seconds, and the old key keeps verifying until its tokens expire"
                );
                // the RSA key of ID tokens too, once one exists
                let public = start::public_url(&config, config.server.listen);
                let auth = start::auth(&config, store.clone(), &public, &master).await?;
                if auth
                    .oauth()
                    .rotate_id_token_key()
                    .await
                    .map_err(|e| start::StartError(format!("ID-token key rotation failed: {e}")))?
                {
                    println!("rotated the ID-token key as well (listed with id-token)");
                }
            }
            let listed = store
                .signing_keys()
                .await
                .map_err(|e| start::StartError(format!("cannot list keys: {e}")))?;
            let id_token_keys = store
                .id_token_keys()
                .await
                .map_err(|e| start::StartError(format!("cannot list keys: {e}")))?;
            let tagged = listed
                .into_iter()
                .map(|k| ("", k))
                .chain(id_token_keys.into_iter().map(|k| ("id-token  ", k)));
            for (tag, k) in tagged {
                let state = match (k.retired_at, k.publish_until) {
                    (None, _) => "active".to_owned(),
                    (Some(_), Some(until)) if until > now => {
                        format!("retired, published until {until}")
                    }
                    _ => "retired, unpublished".to_owned(),
                };
                println!(
                    "{tag}{}  {:6}  created {}  {}",
                    k.kid, k.alg, k.created_at, state
                );
            }
            Ok(())
        }
        Command::Client(cmd) => {
            start::prepare_data_dir(&config)?;
            let master = start::master_key(&config)?;
            let store = start::open_store(&config).await?;
            start::migrate(store.as_ref(), config.database.migrate_on_start).await?;
            let public = start::public_url(&config, config.server.listen);
            let auth = start::auth(&config, store, &public, &master).await?;
            client_cli::run(&auth, cmd).await?;
            Ok(())
        }
        Command::User(cmd) => {
            // Read the password before any start-up work, so that a prompt
            // is not interleaved with log lines.
            let password = match &cmd {
                UserCommand::Create { .. } => Some(admin_cli::read_password()?),
                _ => None,
            };
            let auth = command_auth(&config).await?;
            match cmd {
                UserCommand::Create {
                    email,
                    username,
                    name,
                    roles,
                    verified,
                } => {
                    admin_cli::create_user(
                        &auth,
                        email,
                        username,
                        name,
                        roles,
                        verified,
                        password.unwrap_or_default(),
                    )
                    .await
                }
                UserCommand::List { query, role, limit } => {
                    admin_cli::list_users(&auth, query, role, limit).await
                }
                UserCommand::SetRole {
                    user,
                    roles,
                    end_sessions,
                } => admin_cli::set_roles(&auth, &user, roles, end_sessions).await,
                UserCommand::Import {
                    file,
                    hash_key,
                    salt_separator,
                    rounds,
                    mem_cost,
                } => {
                    let firebase = match (hash_key, salt_separator, rounds, mem_cost) {
                        (Some(signer_key), Some(salt_separator), Some(rounds), Some(mem_cost)) => {
                            Some(user_transfer_cli::FirebaseHashConfig {
                                signer_key,
                                salt_separator,
                                rounds,
                                mem_cost,
                            })
                        }
                        _ => None,
                    };
                    let r =
                        user_transfer_cli::import_users(&auth, &file, firebase.as_ref()).await?;
                    println!(
                        "imported {} account(s); {} were present already",
                        r.created, r.present
                    );
                    Ok(())
                }
                UserCommand::Export { with_hashes } => {
                    let stdout = std::io::stdout();
                    let mut out = std::io::BufWriter::new(stdout.lock());
                    let n = user_transfer_cli::export_users(&auth, with_hashes, &mut out).await?;
                    eprintln!(
                        "exported {n} account(s){}",
                        if with_hashes {
                            " with password hashes: keep the file private"
                        } else {
                            ""
                        }
                    );
                    Ok(())
                }
            }
        }
        Command::Seed { users } => {
            seed_cli::refuse_production(&config)?;
            let auth = command_auth(&config).await?;
            let r = seed_cli::seed(&config, auth, users).await?;
            let secs = r.elapsed.as_secs_f64();
            println!(
                "seeded {} accounts ({} signed in) in {secs:.1} s ({:.0} accounts/s); \
                 the first is {}, every password is {:?}",
                r.users,
                r.sessions,
                r.users as f64 / secs.max(0.001),
                r.first_email,
                seed_cli::SEED_PASSWORD
            );
            Ok(())
        }
        Command::Audit(AuditCommand::Export {
            since,
            until,
            user,
            actor,
            events,
        }) => {
            let auth = command_auth(&config).await?;
            let n = admin_cli::export_audit(
                &auth,
                since.as_deref(),
                until.as_deref(),
                user,
                actor,
                events,
            )
            .await?;
            eprintln!("exported {n} event(s)");
            Ok(())
        }
        Command::Version
        | Command::Passwords(_)
        | Command::Theme(_)
        | Command::Health { .. }
        | Command::Backup { .. } => {
            unreachable!("handled before configuration")
        }
    }
}

/// The account service for a command: data directory, master key, store
/// (migrated when `database.migrate_on_start` allows) and keys.
async fn command_auth(
    config: &Config,
) -> Result<std::sync::Arc<latchkey_core::services::Services>, start::StartError> {
    start::prepare_data_dir(config)?;
    let master = start::master_key(config)?;
    let store = start::open_store(config).await?;
    start::migrate(store.as_ref(), config.database.migrate_on_start).await?;
    let public = start::public_url(config, config.server.listen);
    start::auth(config, store, &public, &master).await
}
