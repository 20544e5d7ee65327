//! [`RoleStore`] on SQLite.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::roles::{Role, UserRoleGraph};
use latchkey_core::store::{RoleStore, StoreError, from_unix_millis, to_unix_millis};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::{SqliteStore, map_err};

const COLUMNS: &str = "name, description, parent, permissions, builtin, created_at, updated_at";

/// The user's assigned roles and everything reachable from them by parent
/// links; `UNION` (not `UNION ALL`) stops at roles already seen, so even a
/// cycle ends.
const GRAPH_OF_USER: &str = "WITH RECURSIVE chain(name) AS ( \
       SELECT role FROM user_roles WHERE user_id = ?1 \
       UNION \
       SELECT r.parent FROM roles r JOIN chain c ON r.name = c.name WHERE r.parent IS NOT NULL \
     ) \
     SELECT r.name, r.description, r.parent, r.permissions, r.builtin, r.created_at, r.updated_at, \
            EXISTS (SELECT 1 FROM user_roles u WHERE u.user_id = ?1 AND u.role = r.name) \
     FROM roles r JOIN chain c ON c.name = r.name ORDER BY r.name";

type RawRole = (Role, i64, i64);

fn raw_role(r: &Row<'_>) -> rusqlite::Result<RawRole> {
    let permissions: String = r.get(3)?;
    Ok((
        Role {
            name: r.get(0)?,
            description: r.get(1)?,
            parent: r.get(2)?,
            permissions: permissions.split_whitespace().map(str::to_owned).collect(),
            builtin: r.get(4)?,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        },
        r.get(5)?,
        r.get(6)?,
    ))
}

fn finish((mut role, created, updated): RawRole) -> Result<Role, StoreError> {
    role.created_at = from_unix_millis(created)?;
    role.updated_at = from_unix_millis(updated)?;
    Ok(role)
}

/// Whether the user exists.
pub(crate) fn user_exists(c: &Connection, user_id: &str) -> Result<bool, StoreError> {
    c.prepare_cached("SELECT 1 FROM users WHERE id = ?1")
        .map_err(map_err)?
        .query_row(params![user_id], |_| Ok(()))
        .optional()
        .map_err(map_err)
        .map(|r| r.is_some())
}

/// Assigns each role (all must exist: `NotFound` otherwise).
/// The roles assigned to the user and every role reachable from them.
pub(crate) fn role_graph(c: &Connection, user_id: &str) -> Result<UserRoleGraph, StoreError> {
    let mut stmt = c.prepare_cached(GRAPH_OF_USER).map_err(map_err)?;
    let rows = stmt
        .query_map(params![user_id], |r| {
            Ok((raw_role(r)?, r.get::<_, bool>(7)?))
        })
        .map_err(map_err)?;
    let mut graph = UserRoleGraph::default();
    for row in rows {
        let (raw, assigned) = row.map_err(map_err)?;
        let role = finish(raw)?;
        if assigned {
            graph.assigned.push(role.name.clone());
        }
        graph.roles.push(role);
    }
    Ok(graph)
}

pub(crate) fn assign(
    c: &Connection,
    user_id: &str,
    roles: &[String],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut stmt = c
        .prepare_cached(
            "INSERT OR IGNORE INTO user_roles (user_id, role, granted_at) \
             SELECT ?1, name, ?3 FROM roles WHERE name = ?2",
        )
        .map_err(map_err)?;
    for role in roles {
        let n = stmt
            .execute(params![user_id, role, to_unix_millis(now)])
            .map_err(map_err)?;
        if n == 0 {
            let exists = c
                .prepare_cached("SELECT 1 FROM roles WHERE name = ?1")
                .map_err(map_err)?
                .query_row(params![role], |_| Ok(()))
                .optional()
                .map_err(map_err)?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
        }
    }
    Ok(())
}

#[async_trait]
impl RoleStore for SqliteStore {
    async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(&format!("SELECT {COLUMNS} FROM roles ORDER BY name"))
                .map_err(map_err)?;
            let rows = stmt.query_map([], raw_role).map_err(map_err)?;
            rows.map(|r| r.map_err(map_err).and_then(finish)).collect()
        })
        .await
    }

    async fn role_by_name(&self, name: &str) -> Result<Option<Role>, StoreError> {
        let name = name.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {COLUMNS} FROM roles WHERE name = ?1"))
                .map_err(map_err)?
                .query_row(params![name], raw_role)
                .optional()
                .map_err(map_err)?
                .map(finish)
                .transpose()
        })
        .await
    }

    async fn insert_role(&self, role: &Role, event: &AuditEvent) -> Result<(), StoreError> {
        let (role, event) = (role.clone(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let n = tx
                .prepare_cached(&format!(
                    "INSERT INTO roles ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                     ON CONFLICT (name) DO NOTHING"
                ))
                .map_err(map_err)?
                .execute(params![
                    role.name,
                    role.description,
                    role.parent,
                    role.permissions.join(" "),
                    role.builtin,
                    to_unix_millis(role.created_at),
                    to_unix_millis(role.updated_at),
                ])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::Conflict("name"));
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn update_role(&self, role: &Role, event: &AuditEvent) -> Result<(), StoreError> {
        let (role, event) = (role.clone(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let n = tx
                .prepare_cached(
                    "UPDATE roles SET description = ?2, parent = ?3, permissions = ?4, \
                     updated_at = ?5 WHERE name = ?1",
                )
                .map_err(map_err)?
                .execute(params![
                    role.name,
                    role.description,
                    role.parent,
                    role.permissions.join(" "),
                    to_unix_millis(role.updated_at),
                ])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn delete_role(&self, name: &str, event: &AuditEvent) -> Result<u64, StoreError> {
        let (name, event) = (name.to_owned(), event.clone());
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            let child = tx
                .prepare_cached("SELECT 1 FROM roles WHERE parent = ?1 LIMIT 1")
                .map_err(map_err)?
                .query_row(params![name], |_| Ok(()))
                .optional()
                .map_err(map_err)?;
            if child.is_some() {
                return Err(StoreError::Conflict("parent"));
            }
            let holders = tx
                .prepare_cached("DELETE FROM user_roles WHERE role = ?1")
                .map_err(map_err)?
                .execute(params![name])
                .map_err(map_err)?;
            let n = tx
                .prepare_cached("DELETE FROM roles WHERE name = ?1")
                .map_err(map_err)?
                .execute(params![name])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(holders as u64)
        })
        .await
    }

    async fn user_role_graph(&self, user_id: &str) -> Result<UserRoleGraph, StoreError> {
        let user_id = user_id.to_owned();
        self.read(move |c| role_graph(c, &user_id)).await
    }

    async fn assigned_roles_of_users(
        &self,
        user_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let ids = user_ids.to_vec();
        self.read(move |c| {
            let marks = vec!["?"; ids.len()].join(", ");
            let mut stmt = c
                .prepare(&format!(
                    "SELECT user_id, role FROM user_roles WHERE user_id IN ({marks}) \
                     ORDER BY user_id, role"
                ))
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params_from_iter(ids.iter()), |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err)).collect()
        })
        .await
    }

    async fn set_user_roles(
        &self,
        user_id: &str,
        roles: &[String],
        end_sessions: Option<&str>,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let (user_id, roles, event) = (user_id.to_owned(), roles.to_vec(), event.clone());
        let end_sessions = end_sessions.map(str::to_owned);
        self.write(move |c| {
            let tx = c.transaction().map_err(map_err)?;
            if !user_exists(&tx, &user_id)? {
                return Err(StoreError::NotFound);
            }
            // Roles kept keep their granted_at.
            let current: Vec<String> = tx
                .prepare_cached("SELECT role FROM user_roles WHERE user_id = ?1")
                .map_err(map_err)?
                .query_map(params![user_id], |r| r.get(0))
                .map_err(map_err)?
                .collect::<Result<_, _>>()
                .map_err(map_err)?;
            for gone in current.iter().filter(|r| !roles.contains(r)) {
                tx.prepare_cached("DELETE FROM user_roles WHERE user_id = ?1 AND role = ?2")
                    .map_err(map_err)?
                    .execute(params![user_id, gone])
                    .map_err(map_err)?;
            }
            assign(&tx, &user_id, &roles, now)?;
            let mut ended = 0;
            if let Some(reason) = end_sessions {
                ended = tx
                    .prepare_cached(
                        "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
                         WHERE user_id = ?1 AND revoked_at IS NULL",
                    )
                    .map_err(map_err)?
                    .execute(params![user_id, to_unix_millis(now), reason])
                    .map_err(map_err)? as u64;
            }
            insert_event(&tx, &event)?;
            tx.commit().map_err(map_err)?;
            Ok(ended)
        })
        .await
    }
}
