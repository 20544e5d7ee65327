//! `latchkey user …` and `latchkey audit export`: administration from the
//! command line, through the same domain operations as the admin API.
//!
//! The operator at the command line acts with every latchkey permission
//! (they hold the database already); their actions are recorded in the
//! audit log with no actor and `via: command_line`.
//!
//! Passwords are never taken from an argument (arguments end up in shell
//! history and in `ps`): on a terminal they are prompted for twice without
//! echo; otherwise the first line of standard input is the password.

use std::io::{BufRead, IsTerminal, Write};

use latchkey_core::admin::{Actor, AdminError, NewUser};
use latchkey_core::audit::AuditQuery;
use latchkey_core::error::SharedError;
use latchkey_core::services::Services;
use latchkey_core::user::{UserSearch, normalize_email};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::start::StartError;

fn fail(what: &str, e: AdminError) -> StartError {
    let detail = match e {
        AdminError::Shared(SharedError::Validation(problems)) => problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; "),
        AdminError::EmailTaken => "an account with this email address exists already".into(),
        AdminError::UsernameTaken => "the username is taken".into(),
        AdminError::Shared(SharedError::NotFound) => "no such user".into(),
        other => other.to_string(),
    };
    StartError(format!("{what}: {detail}"))
}

/// Reads a new password: prompted twice without echo on a terminal, else
/// the first line of standard input (its line ending removed).
pub fn read_password() -> Result<String, StartError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map_err(|e| {
            StartError(format!("cannot read the password from standard input: {e}"))
        })?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            return Err(StartError(
                "no password on standard input: pipe it in (e.g. from a password manager), \
                 or run on a terminal to be prompted"
                    .into(),
            ));
        }
        return Ok(password);
    }
    let first = prompt_hidden("Password: ")?;
    let second = prompt_hidden("Repeat the password: ")?;
    if first != second {
        return Err(StartError(
            "the passwords differ; nothing was changed".into(),
        ));
    }
    Ok(first)
}

/// Prints `prompt` on standard error and reads a line from the terminal
/// with echo off, restoring the terminal afterwards.
fn prompt_hidden(prompt: &str) -> Result<String, StartError> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let io_err = |e: std::io::Error| StartError(format!("cannot read the password: {e}"));
    let saved = tcgetattr(&stdin).map_err(|e| io_err(e.into()))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    quiet.local_modes.insert(LocalModes::ECHONL);
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    tcsetattr(&stdin, OptionalActions::Flush, &quiet).map_err(|e| io_err(e.into()))?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    // restore before anything else can fail
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    read.map_err(io_err)?;
    restored.map_err(|e| io_err(e.into()))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// `latchkey user create`.
pub async fn create_user(
    auth: &Services,
    email: String,
    username: Option<String>,
    name: Option<String>,
    roles: Vec<String>,
    verified: bool,
    password: String,
) -> Result<(), StartError> {
    let actor = Actor::command_line();
    let user = auth
        .admin()
        .admin_create_user(
            &actor,
            NewUser {
                email,
                password,
                username,
                name,
                email_verified: verified,
                roles,
            },
        )
        .await
        .map_err(|e| fail("cannot create the user", e))?;
    let access = auth
        .access(&user.id)
        .await
        .map_err(|e| fail("cannot read the roles", e.into()))?;
    println!("created user {} <{}>", user.id, user.email);
    println!(
        "roles: {}",
        access
            .assigned
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// `latchkey user list`.
pub async fn list_users(
    auth: &Services,
    query: Option<String>,
    role: Option<String>,
    limit: u32,
) -> Result<(), StartError> {
    let actor = Actor::command_line();
    let mut after: Option<String> = None;
    let mut left = limit;
    let now = OffsetDateTime::now_utc();
    while left > 0 {
        let page = auth
            .admin()
            .admin_users(
                &actor,
                &UserSearch {
                    query: query.clone(),
                    role: role.clone(),
                    after_id: after.clone(),
                    limit: left.min(200),
                },
            )
            .await
            .map_err(|e| fail("cannot list users", e))?;
        if page.is_empty() {
            break;
        }
        left = left.saturating_sub(page.len() as u32);
        after = page.last().map(|(u, _)| u.id.clone());
        for (u, roles) in page {
            let state = match u.active_suspension(now) {
                Some(s) => match s.until {
                    Some(t) => format!(
                        "  suspended until {}",
                        t.format(&Rfc3339).unwrap_or_default()
                    ),
                    None => "  suspended".to_owned(),
                },
                None => String::new(),
            };
            println!("{}  {}  [{}]{state}", u.id, u.email, roles.join(", "));
        }
    }
    Ok(())
}

/// `latchkey user set-role`: replaces the user's roles.
pub async fn set_roles(
    auth: &Services,
    user: &str,
    roles: Vec<String>,
    end_sessions: bool,
) -> Result<(), StartError> {
    let actor = Actor::command_line();
    let id = if user.contains('@') {
        auth.store()
            .user_by_email(&normalize_email(user))
            .await
            .map_err(|e| StartError(format!("cannot read the user: {e}")))?
            .ok_or_else(|| StartError(format!("no user with the email address {user}")))?
            .id
    } else {
        user.to_owned()
    };
    let access = auth
        .admin()
        .admin_set_roles(&actor, &id, &roles, end_sessions)
        .await
        .map_err(|e| fail("cannot set the roles", e))?;
    println!(
        "{id}: roles {}",
        access
            .assigned
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn parse_time(flag: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, StartError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                StartError(format!(
                    "{flag}: expected an RFC 3339 time such as 2026-11-22T10:00:00Z, got {v:?}"
                ))
            })
        })
        .transpose()
}

/// `latchkey audit export`: every matching event, oldest first, one JSON
/// object per line on standard output.
pub async fn export_audit(
    auth: &Services,
    since: Option<&str>,
    until: Option<&str>,
    user: Option<String>,
    actor_id: Option<String>,
    events: Vec<String>,
) -> Result<u64, StartError> {
    let actor = Actor::command_line();
    let mut query = AuditQuery {
        subject_id: user,
        actor_id,
        events,
        since: parse_time("--since", since)?,
        until: parse_time("--until", until)?,
        oldest_first: true,
        limit: 1_000,
        ..AuditQuery::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut written = 0u64;
    loop {
        let page = auth
            .admin()
            .admin_audit(&actor, &query)
            .await
            .map_err(|e| fail("cannot read the audit log", e))?;
        let Some(last) = page.last() else { break };
        query.after_id = Some(last.id.clone());
        for e in &page {
            serde_json::to_writer(&mut out, &e.to_json())
                .map_err(|e| StartError(format!("cannot write: {e}")))?;
            out.write_all(b"\n")
                .map_err(|e| StartError(format!("cannot write: {e}")))?;
            written += 1;
        }
        if page.len() < query.limit as usize {
            break;
        }
    }
    out.flush()
        .map_err(|e| StartError(format!("cannot write: {e}")))?;
    Ok(written)
}
