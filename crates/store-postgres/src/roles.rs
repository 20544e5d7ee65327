//! [`RoleStore`] on PostgreSQL.
//!
//! Writes to one user's roles lock the user's row first (`FOR NO KEY
//! UPDATE`), so two concurrent changes of one user's roles apply one after
//! the other, each with its own audit event.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use latchkey_core::audit::AuditEvent;
use latchkey_core::roles::{Role, UserRoleGraph};
use latchkey_core::store::{RoleStore, StoreError, truncate_to_millis};
use time::OffsetDateTime;
use tokio_postgres::Row;

use crate::audit::insert_event;
use crate::{PgStore, map_err, settle};

macro_rules! columns {
    () => {
        "name, description, parent, permissions, builtin, created_at, updated_at"
    };
}

const LIST: &str = concat!("SELECT ", columns!(), " FROM roles ORDER BY name");
const BY_NAME: &str = concat!("SELECT ", columns!(), " FROM roles WHERE name = $1");
const INSERT: &str = concat!(
    "INSERT INTO roles (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING"
);
const UPDATE: &str = "UPDATE roles SET description = $2, parent = $3, permissions = $4, \
     updated_at = $5 WHERE name = $1";
/// The user's assigned roles and everything reachable from them by parent
/// links; `UNION` (not `UNION ALL`) stops at roles already seen, so even a
/// cycle ends.
const GRAPH_OF_USER: &str = "WITH RECURSIVE chain(name) AS ( \
       SELECT role FROM user_roles WHERE user_id = $1 \
       UNION \
       SELECT r.parent FROM roles r JOIN chain c ON r.name = c.name WHERE r.parent IS NOT NULL \
     ) \
     SELECT r.name, r.description, r.parent, r.permissions, r.builtin, r.created_at, r.updated_at, \
            EXISTS (SELECT 1 FROM user_roles u WHERE u.user_id = $1 AND u.role = r.name) \
     FROM roles r JOIN chain c ON c.name = r.name ORDER BY r.name";
const LOCK_USER: &str = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE";
const ASSIGN: &str = "INSERT INTO user_roles (user_id, role, granted_at) \
     SELECT $1, name, $3 FROM roles WHERE name = $2 ON CONFLICT DO NOTHING";
const ROLE_EXISTS: &str = "SELECT 1 FROM roles WHERE name = $1";

fn role_from(r: &Row) -> Result<Role, StoreError> {
    (|| {
        let permissions: String = r.try_get(3)?;
        Ok(Role {
            name: r.try_get(0)?,
            description: r.try_get(1)?,
            parent: r.try_get(2)?,
            permissions: permissions.split_whitespace().map(str::to_owned).collect(),
            builtin: r.try_get(4)?,
            created_at: r.try_get(5)?,
            updated_at: r.try_get(6)?,
        })
    })()
    .map_err(map_err)
}

/// The roles assigned to the user and every role reachable from them.
pub(crate) async fn role_graph(
    c: &impl GenericClient,
    user_id: &str,
) -> Result<UserRoleGraph, StoreError> {
    let stmt = c.prepare_cached(GRAPH_OF_USER).await.map_err(map_err)?;
    let mut graph = UserRoleGraph::default();
    for row in c.query(&stmt, &[&user_id]).await.map_err(map_err)? {
        let role = role_from(&row)?;
        if row.try_get::<_, bool>(7).map_err(map_err)? {
            graph.assigned.push(role.name.clone());
        }
        graph.roles.push(role);
    }
    Ok(graph)
}

/// Locks the user's row; `false` if there is no such user.
pub(crate) async fn lock_user(c: &impl GenericClient, user_id: &str) -> Result<bool, StoreError> {
    let stmt = c.prepare_cached(LOCK_USER).await.map_err(map_err)?;
    Ok(c.query_opt(&stmt, &[&user_id])
        .await
        .map_err(map_err)?
        .is_some())
}

/// Assigns each role (all must exist: `NotFound` otherwise).
pub(crate) async fn assign(
    c: &impl GenericClient,
    user_id: &str,
    roles: &[String],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let now = truncate_to_millis(now);
    let stmt = c.prepare_cached(ASSIGN).await.map_err(map_err)?;
    let exists = c.prepare_cached(ROLE_EXISTS).await.map_err(map_err)?;
    for role in roles {
        let n = c
            .execute(&stmt, &[&user_id, role, &now])
            .await
            .map_err(map_err)?;
        if n == 0
            && c.query_opt(&exists, &[role])
                .await
                .map_err(map_err)?
                .is_none()
        {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

#[async_trait]
impl RoleStore for PgStore {
    async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client.prepare_cached(LIST).await.map_err(map_err)?;
                client
                    .query(&stmt, &[])
                    .await
                    .map_err(map_err)?
                    .iter()
                    .map(role_from)
                    .collect()
            })
            .await;
        settle(client, result)
    }

    async fn role_by_name(&self, name: &str) -> Result<Option<Role>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client.prepare_cached(BY_NAME).await.map_err(map_err)?;
                client
                    .query_opt(&stmt, &[&name])
                    .await
                    .map_err(map_err)?
                    .as_ref()
                    .map(role_from)
                    .transpose()
            })
            .await;
        settle(client, result)
    }

    async fn insert_role(&self, role: &Role, event: &AuditEvent) -> Result<(), StoreError> {
        let created_at = truncate_to_millis(role.created_at);
        let updated_at = truncate_to_millis(role.updated_at);
        let permissions = role.permissions.join(" ");
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                let stmt = tx.prepare_cached(INSERT).await.map_err(map_err)?;
                let n = tx
                    .execute(
                        &stmt,
                        &[
                            &role.name,
                            &role.description,
                            &role.parent,
                            &permissions,
                            &role.builtin,
                            &created_at,
                            &updated_at,
                        ],
                    )
                    .await
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::Conflict("name"));
                }
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(map_err)
            })
            .await;
        settle(client, result)
    }

    async fn update_role(&self, role: &Role, event: &AuditEvent) -> Result<(), StoreError> {
        let updated_at = truncate_to_millis(role.updated_at);
        let permissions = role.permissions.join(" ");
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                let stmt = tx.prepare_cached(UPDATE).await.map_err(map_err)?;
                let n = tx
                    .execute(
                        &stmt,
                        &[
                            &role.name,
                            &role.description,
                            &role.parent,
                            &permissions,
                            &updated_at,
                        ],
                    )
                    .await
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(map_err)
            })
            .await;
        settle(client, result)
    }

    async fn delete_role(&self, name: &str, event: &AuditEvent) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                // Lock the role first: a concurrent child insert (which
                // checks the parent's row) waits or is seen.
                let n = tx
                    .query_opt("SELECT 1 FROM roles WHERE name = $1 FOR UPDATE", &[&name])
                    .await
                    .map_err(map_err)?;
                if n.is_none() {
                    return Err(StoreError::NotFound);
                }
                let child = tx
                    .query_opt("SELECT 1 FROM roles WHERE parent = $1 LIMIT 1", &[&name])
                    .await
                    .map_err(map_err)?;
                if child.is_some() {
                    return Err(StoreError::Conflict("parent"));
                }
                let holders = tx
                    .execute("DELETE FROM user_roles WHERE role = $1", &[&name])
                    .await
                    .map_err(map_err)?;
                tx.execute("DELETE FROM roles WHERE name = $1", &[&name])
                    .await
                    .map_err(map_err)?;
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(holders)
            })
            .await;
        settle(client, result)
    }

    async fn user_role_graph(&self, user_id: &str) -> Result<UserRoleGraph, StoreError> {
        let client = self.client().await?;
        let result = self.bounded_store(role_graph(&client, user_id)).await;
        settle(client, result)
    }

    async fn assigned_roles_of_users(
        &self,
        user_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.client().await?;
        let result = self
            .bounded_store(async {
                let stmt = client
                    .prepare_cached(
                        "SELECT user_id, role FROM user_roles WHERE user_id = ANY($1) \
                         ORDER BY user_id, role",
                    )
                    .await
                    .map_err(map_err)?;
                client
                    .query(&stmt, &[&user_ids])
                    .await
                    .map_err(map_err)?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect::<Result<_, tokio_postgres::Error>>()
                    .map_err(map_err)
            })
            .await;
        settle(client, result)
    }

    async fn set_user_roles(
        &self,
        user_id: &str,
        roles: &[String],
        end_sessions: Option<&str>,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let now = truncate_to_millis(now);
        let mut client = self.client().await?;
        let result = self
            .bounded_store(async {
                let tx = client.transaction().await.map_err(map_err)?;
                if !lock_user(&tx, user_id).await? {
                    return Err(StoreError::NotFound);
                }
                // Roles kept keep their granted_at.
                tx.execute(
                    "DELETE FROM user_roles WHERE user_id = $1 AND NOT (role = ANY($2))",
                    &[&user_id, &roles],
                )
                .await
                .map_err(map_err)?;
                assign(&tx, user_id, roles, now).await?;
                let mut ended = 0;
                if let Some(reason) = end_sessions {
                    ended = tx
                        .execute(
                            "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
                             WHERE user_id = $1 AND revoked_at IS NULL",
                            &[&user_id, &now, &reason],
                        )
                        .await
                        .map_err(map_err)?;
                }
                insert_event(&tx, event).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(ended)
            })
            .await;
        settle(client, result)
    }
}
