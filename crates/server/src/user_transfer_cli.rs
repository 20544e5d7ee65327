//! `latchkey user export` and `latchkey user import`: every account as one
//! JSON object per line (`email`, `email_verified`, `username`, `name`,
//! `roles`, `identities`, `created_at`, and with `--with-hashes` the
//! `password_hash`; export adds `id`, which import ignores). Import also
//! reads Auth0's export lines (`passwordHash`) and a Keycloak realm export
//! (one document whose `users` carry `credentials`); foreign hashes are
//! core's (`latchkey_core::legacy_hashes`). Without
//! `--with-hashes` no hash leaves the store. Import checks the whole file
//! before it writes anything; the rules for each account are core's
//! (`Admin::admin_check_import_batch`, `Admin::admin_import_batch`).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use latchkey_core::admin::{Actor, AdminError, ImportedIdentity, ImportedUser};
use latchkey_core::error::SharedError;
use latchkey_core::legacy_hashes::keycloak_credential;
use latchkey_core::services::Services;
use latchkey_core::user::{User, UserSearch, normalize_email, normalize_username};
use latchkey_core::user_transfer::{BATCH, LinkedIdentity};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::start::StartError;

/// Accounts read per page.
const PAGE: u32 = 1_000;

/// One exported line.
fn line(user: &User, roles: &[String], identities: &[&LinkedIdentity], with_hashes: bool) -> Value {
    let identities: Vec<Value> = identities
        .iter()
        .map(|i| {
            json!({
                "provider": i.provider,
                "subject": i.subject,
                "email": i.email,
                "email_verified": i.email_verified,
            })
        })
        .collect();
    let mut v = json!({
        "id": user.id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "name": user.name,
        "roles": roles,
        "identities": identities,
        "created_at": user.created_at.format(&Rfc3339).unwrap_or_default(),
    });
    if with_hashes {
        v["password_hash"] = json!(user.password_hash);
    }
    v
}

/// Writes every account to `out`, in id order; returns how many.
pub async fn export_users(
    auth: &Services,
    with_hashes: bool,
    out: &mut impl Write,
) -> Result<u64, StartError> {
    let actor = Actor::command_line();
    let write_err = |e: std::io::Error| StartError(format!("cannot write: {e}"));
    let mut search = UserSearch {
        query: None,
        role: None,
        after_id: None,
        limit: PAGE,
    };
    let mut written = 0u64;
    loop {
        let page = auth
            .admin()
            .admin_users(&actor, &search)
            .await
            .map_err(|e| StartError(format!("cannot list users: {e}")))?;
        let Some((last, _)) = page.last() else { break };
        search.after_id = Some(last.id.clone());
        let ids: Vec<String> = page.iter().map(|(u, _)| u.id.clone()).collect();
        let linked = auth
            .store()
            .identities_of_users(&ids)
            .await
            .map_err(|e| StartError(format!("cannot list linked identities: {e}")))?;
        let mut by_user: HashMap<&str, Vec<&LinkedIdentity>> = HashMap::new();
        for (id, identity) in &linked {
            by_user.entry(id.as_str()).or_default().push(identity);
        }
        for (user, roles) in &page {
            let identities = by_user.get(user.id.as_str()).map_or(&[][..], Vec::as_slice);
            serde_json::to_writer(&mut *out, &line(user, roles, identities, with_hashes))
                .map_err(|e| StartError(format!("cannot write: {e}")))?;
            out.write_all(b"\n").map_err(write_err)?;
            written += 1;
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    out.flush().map_err(write_err)?;
    Ok(written)
}

/// One line of an import file: the shape `export` writes (keys it does not
/// know, such as `id`, are ignored).
#[derive(Debug, Deserialize)]
struct ImportLine {
    email: String,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    identities: Vec<IdentityLine>,
    /// Auth0's bulk export of password hashes calls it `passwordHash`.
    #[serde(default, alias = "passwordHash")]
    password_hash: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// A linked upstream identity of an import line (what export writes).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityLine {
    provider: String,
    subject: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
}

impl From<IdentityLine> for ImportedIdentity {
    fn from(i: IdentityLine) -> Self {
        ImportedIdentity {
            provider: i.provider,
            subject: i.subject,
            email: i.email,
            email_verified: i.email_verified,
        }
    }
}

/// A user of a Keycloak realm export (`kc.sh export`): its password
/// credential (PBKDF2 or argon2 with parameters) becomes the hash; realm
/// roles other than Keycloak's defaults are imported as roles.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeycloakUser {
    email: String,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    credentials: Vec<KeycloakCredential>,
    #[serde(default)]
    realm_roles: Vec<String>,
    #[serde(default)]
    created_timestamp: Option<i64>,
    #[serde(default)]
    federated_identities: Vec<KeycloakFederated>,
}

/// A Keycloak user's link to an identity provider.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeycloakFederated {
    identity_provider: String,
    user_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeycloakCredential {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    secret_data: String,
    #[serde(default)]
    credential_data: String,
}

/// Keycloak's own realm roles, present on every user.
fn keycloak_default_role(role: &str) -> bool {
    role.starts_with("default-roles-") || role == "offline_access" || role == "uma_authorization"
}

fn keycloak_user(value: Value) -> Result<ImportedUser, String> {
    let u: KeycloakUser =
        serde_json::from_value(value).map_err(|e| format!("not a Keycloak user: {e}"))?;
    let mut passwords = u.credentials.iter().filter(|c| c.kind == "password");
    let password_hash = match (passwords.next(), passwords.next()) {
        (None, _) => None,
        (Some(c), None) => Some(
            keycloak_credential(&c.secret_data, &c.credential_data)
                .map_err(|e| format!("password_hash: {e}"))?,
        ),
        (Some(_), Some(_)) => return Err("more than one password credential".into()),
    };
    let name = match (u.first_name, u.last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    };
    let created_at = u
        .created_timestamp
        .map(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .map_err(|_| format!("createdTimestamp {ms} is out of range"))
        })
        .transpose()?;
    Ok(ImportedUser {
        email: u.email,
        email_verified: u.email_verified,
        username: u.username,
        name,
        roles: u
            .realm_roles
            .into_iter()
            .filter(|r| !keycloak_default_role(r))
            .collect(),
        password_hash,
        created_at,
        identities: u
            .federated_identities
            .into_iter()
            .map(|f| ImportedIdentity {
                provider: f.identity_provider,
                subject: f.user_id,
                email: None,
                email_verified: false,
            })
            .collect(),
    })
}

/// Firebase's password hash parameters, which `firebase auth:export` leaves
/// out (console: Authentication, Users, ⋮, Password hash parameters), named
/// as `firebase auth:import` names them.
#[derive(Debug, Clone)]
pub struct FirebaseHashConfig {
    /// `base64_signer_key` (`--hash-key`).
    pub signer_key: String,
    /// `base64_salt_separator` (`--salt-separator`).
    pub salt_separator: String,
    /// `rounds` (`--rounds`).
    pub rounds: u32,
    /// `mem_cost` (`--mem-cost`).
    pub mem_cost: u32,
}

/// A user of `firebase auth:export --format=json` (it has `localId`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirebaseUser {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    password_hash: Option<String>,
    #[serde(default)]
    salt: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    /// Milliseconds since the epoch, as a string.
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    provider_user_info: Vec<FirebaseProvider>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirebaseProvider {
    provider_id: String,
    #[serde(default)]
    raw_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// A Firebase user: its scrypt hash in the Firebase form with the project's
/// parameters, its sign-in providers other than password and phone as
/// linked identities.
fn firebase_user(value: Value, hash: Option<&FirebaseHashConfig>) -> Result<ImportedUser, String> {
    let u: FirebaseUser =
        serde_json::from_value(value).map_err(|e| format!("not a Firebase user: {e}"))?;
    let email = u
        .email
        .ok_or("email: a Firebase user without an address (phone only) cannot be imported")?;
    let password_hash = match (u.password_hash, u.salt) {
        (None, _) => None,
        (Some(_), None) => return Err("passwordHash without salt".into()),
        (Some(h), Some(salt)) => {
            let c = hash.ok_or(
                "passwordHash: Firebase hashes need --hash-key, --salt-separator, --rounds and \
                 --mem-cost (the project's password hash parameters)",
            )?;
            Some(format!(
                "$firebase-scrypt$ln={},r={}${}${}${salt}${h}",
                c.mem_cost, c.rounds, c.signer_key, c.salt_separator
            ))
        }
    };
    let created_at = u
        .created_at
        .map(|ms| {
            ms.parse::<i64>()
                .ok()
                .and_then(|ms| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                })
                .ok_or_else(|| format!("createdAt: expected milliseconds, got {ms:?}"))
        })
        .transpose()?;
    let identities = u
        .provider_user_info
        .into_iter()
        .filter(|p| p.provider_id != "password" && p.provider_id != "phone")
        .filter_map(|p| {
            Some(ImportedIdentity {
                provider: p.provider_id,
                subject: p.raw_id?,
                email: p.email,
                email_verified: false,
            })
        })
        .collect();
    Ok(ImportedUser {
        email,
        email_verified: u.email_verified,
        username: None,
        name: u.display_name,
        roles: Vec::new(),
        password_hash,
        created_at,
        identities,
    })
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Accounts created.
    pub created: u64,
    /// Accounts whose address existed already (left as they were).
    pub present: u64,
}

/// Parses one line into an account to import, or says what is wrong.
fn parse_line(text: &str, firebase: Option<&FirebaseHashConfig>) -> Result<ImportedUser, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("not an account as JSON: {e}"))?;
    parse_account(value, firebase)
}

/// One account: a Keycloak user (it has `credentials`) or an import line.
fn parse_account(
    value: Value,
    firebase: Option<&FirebaseHashConfig>,
) -> Result<ImportedUser, String> {
    if value.get("credentials").is_some() {
        return keycloak_user(value);
    }
    if value.get("localId").is_some() {
        return firebase_user(value, firebase);
    }
    let line: ImportLine =
        serde_json::from_value(value).map_err(|e| format!("not an account as JSON: {e}"))?;
    let created_at = line
        .created_at
        .map(|t| {
            OffsetDateTime::parse(&t, &Rfc3339)
                .map_err(|_| format!("created_at: expected an RFC 3339 time, got {t:?}"))
        })
        .transpose()?;
    Ok(ImportedUser {
        email: line.email,
        email_verified: line.email_verified,
        username: line.username,
        name: line.name,
        roles: line.roles,
        password_hash: line.password_hash,
        created_at,
        identities: line.identities.into_iter().map(Into::into).collect(),
    })
}

/// An account of a file by its number, or what is wrong with it.
type Entry = (usize, Result<ImportedUser, String>);

/// The accounts of a file, numbered: JSON lines (by line), or one JSON
/// document with a `users` array, as a Keycloak realm export is (by user).
fn entries(text: &str, firebase: Option<&FirebaseHashConfig>) -> (&'static str, Vec<Entry>) {
    if let Ok(Value::Object(mut doc)) = serde_json::from_str::<Value>(text)
        && let Some(Value::Array(users)) = doc.remove("users")
    {
        let users = users
            .into_iter()
            .map(|u| parse_account(u, firebase))
            .enumerate();
        return ("user", users.map(|(i, u)| (i + 1, u)).collect());
    }
    let lines = text.lines().enumerate();
    let lines = lines.filter(|(_, l)| !l.trim().is_empty());
    (
        "line",
        lines
            .map(|(i, l)| (i + 1, parse_line(l, firebase)))
            .collect(),
    )
}

fn problems(e: AdminError) -> Result<String, StartError> {
    match e {
        AdminError::Shared(SharedError::Validation(problems)) => Ok(problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ")),
        AdminError::UsernameTaken => Ok("username: taken by another account".into()),
        other => Err(StartError(format!("cannot check the import: {other}"))),
    }
}

/// The accounts of a CSV file with a header row naming its columns (those
/// of an import line, in any order; `email` required): `roles` separated by
/// spaces, `email_verified` `true`/`false` (or `1`/`0`), an empty cell for
/// an absent value. Numbered by the line a record starts on.
fn csv_entries(text: &str) -> Vec<Entry> {
    const COLUMNS: [&str; 8] = [
        "email",
        "email_verified",
        "password_hash",
        "username",
        "name",
        "roles",
        "identities",
        "created_at",
    ];
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return vec![(1, Err(format!("not a CSV header: {e}")))],
    };
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(h)) {
        return vec![(
            1,
            Err(format!("unknown column {unknown:?} (known: {COLUMNS:?})")),
        )];
    }
    if !headers.iter().any(|h| h == "email") {
        return vec![(1, Err("no email column".into()))];
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                out.push((line, Err(format!("not a CSV record: {e}"))));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let mut object = serde_json::Map::new();
        let mut problem = None;
        for (column, cell) in headers.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            let value = match column {
                "email_verified" => match cell {
                    "true" | "1" => json!(true),
                    "false" | "0" => json!(false),
                    other => {
                        problem = Some(format!(
                            "email_verified: expected true or false, got {other:?}"
                        ));
                        break;
                    }
                },
                "roles" => json!(cell.split_whitespace().collect::<Vec<_>>()),
                "identities" => match serde_json::from_str::<Value>(cell) {
                    Ok(v) => v,
                    Err(e) => {
                        problem = Some(format!("identities: not JSON: {e}"));
                        break;
                    }
                },
                _ => json!(cell),
            };
            object.insert(column.to_owned(), value);
        }
        out.push((
            line,
            match problem {
                Some(why) => Err(why),
                None => parse_account(Value::Object(object), None),
            },
        ));
    }
    out
}

/// A progress bar on a terminal; elsewhere a line at every tenth.
struct Progress {
    bar: indicatif::ProgressBar,
    verb: &'static str,
    total: u64,
    step: u64,
    shown: u64,
}

impl Progress {
    fn new(verb: &'static str, total: usize) -> Progress {
        use std::io::IsTerminal;
        let total = total as u64;
        let bar = if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} {wide_bar} {pos}/{len} ({per_sec}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            bar.set_message(verb);
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        Progress {
            bar,
            verb,
            total,
            step: (total / 10).max(1),
            shown: 0,
        }
    }

    fn advance(&mut self, by: u64) {
        self.set(self.shown + by);
    }

    fn set(&mut self, done: u64) {
        self.bar.set_position(done);
        if self.bar.is_hidden() && done / self.step > self.shown / self.step {
            eprintln!("{} {done} of {}", self.verb, self.total);
        }
        self.shown = done;
    }

    fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// `latchkey user import FILE`: checks every line first and imports nothing
/// if any is bad (each bad line is named); then creates the accounts whose
/// address is new, in batches of one transaction each. Running it again
/// (after a failure or a kill) creates nothing twice.
///
/// `firebase`: the project's hash parameters, for a `firebase auth:export`
/// file with password hashes.
pub async fn import_users(
    auth: &Services,
    file: &Path,
    firebase: Option<&FirebaseHashConfig>,
) -> Result<ImportReport, StartError> {
    let actor = Actor::command_line();
    let text = std::fs::read_to_string(file)
        .map_err(|e| StartError(format!("cannot read {}: {e}", file.display())))?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let (unit, entries) = if is_csv {
        ("line", csv_entries(&text))
    } else {
        entries(&text, firebase)
    };
    let mut accounts = Vec::new();
    let mut numbers = Vec::new();
    let mut bad = Vec::new();
    let mut emails = HashMap::new();
    let mut usernames = HashMap::new();
    let mut identities = HashMap::new();
    for (n, entry) in entries {
        let account = match entry {
            Ok(a) => a,
            Err(why) => {
                bad.push((n, why));
                continue;
            }
        };
        if let Some(first) = emails.insert(normalize_email(&account.email), n) {
            bad.push((n, format!("email: the same address as {unit} {first}")));
            continue;
        }
        if let Some(u) = &account.username
            && let Some(first) = usernames.insert(normalize_username(u), n)
        {
            bad.push((n, format!("username: the same as {unit} {first}")));
            continue;
        }
        let key =
            |i: &ImportedIdentity| (i.provider.trim().to_owned(), i.subject.trim().to_owned());
        // twice in one account is the account's own problem (core names it)
        if let Some(first) = account
            .identities
            .iter()
            .find_map(|i| identities.insert(key(i), n).filter(|first| *first != n))
        {
            bad.push((
                n,
                format!("identities: a provider and subject of {unit} {first}"),
            ));
            continue;
        }
        accounts.push(account);
        numbers.push(n);
    }
    let mut checking = Progress::new("checked", accounts.len());
    let mut checked = Vec::with_capacity(accounts.len());
    for (batch, numbers) in accounts.chunks(BATCH).zip(numbers.chunks(BATCH)) {
        let results = auth
            .admin()
            .admin_check_import_batch(&actor, batch)
            .await
            .map_err(|e| StartError(format!("cannot check the import: {e}")))?;
        for (result, n) in results.into_iter().zip(numbers) {
            match result {
                Ok(account) => checked.push(account),
                Err(e) => bad.push((*n, problems(e)?)),
            }
        }
        checking.advance(batch.len() as u64);
    }
    drop(accounts);
    checking.finish();
    bad.sort_by_key(|(n, _)| *n);
    if !bad.is_empty() {
        let lines: Vec<String> = bad
            .iter()
            .map(|(n, why)| format!("  {unit} {n}: {why}"))
            .collect();
        return Err(StartError(format!(
            "{} bad {unit}(s) in {}; nothing was imported:\n{}",
            bad.len(),
            file.display(),
            lines.join("\n")
        )));
    }
    let mut report = ImportReport::default();
    let mut importing = Progress::new("imported", checked.len());
    let mut checked = checked.into_iter().peekable();
    while checked.peek().is_some() {
        let batch: Vec<_> = checked.by_ref().take(BATCH).collect();
        match auth.admin().admin_import_batch(&actor, batch).await {
            Ok((created, present)) => {
                report.created += created;
                report.present += present;
            }
            Err(e) => {
                return Err(StartError(format!(
                    "stopped after {} account(s): {}; run the import again to go on",
                    report.created + report.present,
                    problems(e)?
                )));
            }
        }
        importing.set(report.created + report.present);
    }
    importing.finish();
    Ok(report)
}
