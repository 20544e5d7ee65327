//! `latchkey user export`: every account as one JSON object per line, in
//! the shape an import reads (`email`, `email_verified`, `username`,
//! `name`, `roles`, `identities`, and with `--with-hashes` the PHC
//! `password_hash`), plus `id` and `created_at`. Without `--with-hashes` no
//! hash leaves the store.

use std::io::Write;

use latchkey_core::auth::{Actor, Auth};
use latchkey_core::user::{User, UserSearch};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::start::StartError;

/// Accounts read per page.
const PAGE: u32 = 1_000;

/// One exported line.
fn line(user: &User, roles: &[String], with_hashes: bool) -> Value {
    let mut v = json!({
        "id": user.id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "name": user.name,
        "roles": roles,
        // linked upstream identities: none are stored yet
        "identities": [],
        "created_at": user.created_at.format(&Rfc3339).unwrap_or_default(),
    });
    if with_hashes {
        v["password_hash"] = json!(user.password_hash);
    }
    v
}

/// Writes every account to `out`, in id order; returns how many.
pub async fn export_users(
    auth: &Auth,
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
            .admin_users(&actor, &search)
            .await
            .map_err(|e| StartError(format!("cannot list users: {e}")))?;
        let Some((last, _)) = page.last() else { break };
        search.after_id = Some(last.id.clone());
        for (user, roles) in &page {
            serde_json::to_writer(&mut *out, &line(user, roles, with_hashes))
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
