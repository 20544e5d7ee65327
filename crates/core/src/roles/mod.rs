//! Roles and permissions: what a user may do.
//!
//! A **permission** is a string `resource:action` (`users:read`). latchkey's
//! own permissions are listed in [`CATALOGUE`]; custom roles may also carry
//! other permissions of the same shape for resource servers (`billing:read`),
//! which latchkey hands out in tokens but never checks itself.
//!
//! A **role** has a name, optional parent and permissions; it inherits every
//! permission of its parent, transitively. The built-in roles are
//! `user` < `moderator` < `admin` ([`BUILTIN_ROLES`]): they are defined here,
//! in code, and cannot be changed or deleted (a row for each exists in the
//! store so that custom roles can name them as parent). Every account has the
//! `user` role implicitly: it is never stored per user and cannot be removed.
//!
//! Decisions:
//! - Effective roles include inherited ones: an admin's token says
//!   `roles: ["admin", "moderator", "user"]`, so a resource server checking
//!   for `moderator` admits admins too (the hierarchy the seed systems asked for).
//! - Resolution tolerates cycles and dangling parents (it walks with a visited
//!   set), although the write paths refuse to create them.
//! - Anti-escalation: whoever grants a role, or defines one, must hold every
//!   latchkey permission the role carries ([`Access::missing_for_grant`]).
//!   Custom permissions give no power over latchkey and are exempt.

mod error;
mod service;

use std::collections::{BTreeMap, BTreeSet};

pub use error::{PermissionDenied, RoleError};
pub use service::{RoleInput, RolePatch, Roles};

use time::OffsetDateTime;

/// latchkey's own permissions.
pub mod perm {
    /// List and read users, their roles and sessions.
    pub const USERS_READ: &str = "users:read";
    /// Create users and change their profiles.
    pub const USERS_WRITE: &str = "users:write";
    /// Delete users.
    pub const USERS_DELETE: &str = "users:delete";
    /// Suspend and unsuspend users.
    pub const USERS_SUSPEND: &str = "users:suspend";
    /// End other users' sessions.
    pub const SESSIONS_REVOKE: &str = "sessions:revoke";
    /// Read roles and the permission catalogue.
    pub const ROLES_READ: &str = "roles:read";
    /// Create, change and delete roles; grant and remove users' roles.
    pub const ROLES_MANAGE: &str = "roles:manage";
    /// Query the audit log.
    pub const AUDIT_READ: &str = "audit:read";
    /// Manage OAuth clients.
    pub const CLIENTS_MANAGE: &str = "clients:manage";
    /// Rotate token-signing keys.
    pub const KEYS_ROTATE: &str = "keys:rotate";
    /// Manage webhook endpoints and their deliveries.
    pub const WEBHOOKS_MANAGE: &str = "webhooks:manage";
}

/// Every permission latchkey itself checks, with what it allows.
pub const CATALOGUE: &[(&str, &str)] = &[
    (
        perm::USERS_READ,
        "List and read users, their roles and sessions",
    ),
    (perm::USERS_WRITE, "Create users and change their profiles"),
    (perm::USERS_DELETE, "Delete users"),
    (perm::USERS_SUSPEND, "Suspend and unsuspend users"),
    (perm::SESSIONS_REVOKE, "End other users' sessions"),
    (perm::ROLES_READ, "Read roles and permissions"),
    (
        perm::ROLES_MANAGE,
        "Create, change and delete roles; set users' roles",
    ),
    (perm::AUDIT_READ, "Query the audit log"),
    (perm::CLIENTS_MANAGE, "Manage OAuth clients"),
    (perm::KEYS_ROTATE, "Rotate token-signing keys"),
    (
        perm::WEBHOOKS_MANAGE,
        "Manage webhooks and their deliveries",
    ),
];

/// The base role every account has.
pub const USER: &str = "user";
/// The built-in moderator role.
pub const MODERATOR: &str = "moderator";
/// The built-in administrator role.
pub const ADMIN: &str = "admin";

/// A built-in role's definition.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinRole {
    /// Name.
    pub name: &'static str,
    /// Parent.
    pub parent: Option<&'static str>,
    /// Description.
    pub description: &'static str,
    /// Permissions of its own (the parent's are inherited).
    pub permissions: &'static [&'static str],
}

/// `user` < `moderator` < `admin`; admin holds the whole catalogue.
pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        name: USER,
        parent: None,
        description: "Every account: its own profile, sessions and activity",
        permissions: &[],
    },
    BuiltinRole {
        name: MODERATOR,
        parent: Some(USER),
        description: "Reads users, suspends them and ends their sessions",
        permissions: &[
            perm::USERS_READ,
            perm::USERS_SUSPEND,
            perm::SESSIONS_REVOKE,
            perm::ROLES_READ,
        ],
    },
    BuiltinRole {
        name: ADMIN,
        parent: Some(MODERATOR),
        description: "Everything latchkey can do",
        permissions: &[
            perm::USERS_WRITE,
            perm::USERS_DELETE,
            perm::ROLES_MANAGE,
            perm::AUDIT_READ,
            perm::CLIENTS_MANAGE,
            perm::KEYS_ROTATE,
            perm::WEBHOOKS_MANAGE,
        ],
    },
];

/// The built-in role of that name, if it is one.
pub fn builtin(name: &str) -> Option<&'static BuiltinRole> {
    BUILTIN_ROLES.iter().find(|r| r.name == name)
}

/// Whether `p` is one of latchkey's own permissions.
pub fn is_latchkey_permission(p: &str) -> bool {
    CATALOGUE.iter().any(|(name, _)| *name == p)
}

/// A role as stored. For built-in roles the store keeps only the name (and
/// timestamps); [`Role::with_builtin_definition`] fills in the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Unique name: 2–32 of `a-z 0-9 _ -`, starting with a letter.
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// The role whose permissions this one inherits.
    pub parent: Option<String>,
    /// Its own permissions, sorted and unique.
    pub permissions: Vec<String>,
    /// Whether the role is built in (read-only).
    pub builtin: bool,
    /// When it was created (millisecond precision).
    pub created_at: OffsetDateTime,
    /// When it last changed (millisecond precision).
    pub updated_at: OffsetDateTime,
}

impl Role {
    /// For a built-in role, the definition in code replaces whatever the
    /// store holds; other roles are returned unchanged.
    pub fn with_builtin_definition(mut self) -> Role {
        if let Some(b) = builtin(&self.name) {
            self.builtin = true;
            self.parent = b.parent.map(str::to_owned);
            self.description = b.description.to_owned();
            self.permissions = b.permissions.iter().map(|p| (*p).to_owned()).collect();
            self.permissions.sort();
        }
        self
    }
}

/// What the store knows about one user's roles: the names assigned to them,
/// and every role reachable from those by parent links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRoleGraph {
    /// The roles assigned to the user (never `user`, which is implicit).
    pub assigned: Vec<String>,
    /// The assigned roles and their ancestors.
    pub roles: Vec<Role>,
}

/// A user's resolved roles and permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Assigned roles, including the implicit `user`, sorted.
    pub assigned: BTreeSet<String>,
    /// Assigned roles and everything they inherit from, sorted.
    pub roles: BTreeSet<String>,
    /// Every permission of those roles, sorted.
    pub permissions: BTreeSet<String>,
}

impl Access {
    /// Resolves the roles assigned to a user over the given role rows.
    pub fn resolve(assigned: &[String], roles: &[Role]) -> Access {
        let by_name: BTreeMap<&str, Role> = roles
            .iter()
            .map(|r| (r.name.as_str(), r.clone().with_builtin_definition()))
            .collect();
        let mut access = Access::default();
        let mut stack: Vec<String> = assigned
            .iter()
            .cloned()
            .chain(std::iter::once(USER.to_owned()))
            .collect();
        access.assigned = stack.iter().cloned().collect();
        while let Some(name) = stack.pop() {
            if !access.roles.insert(name.clone()) {
                continue; // seen already: also ends any cycle
            }
            let (parent, permissions): (Option<String>, Vec<String>) =
                match (by_name.get(name.as_str()), builtin(&name)) {
                    (Some(r), _) => (r.parent.clone(), r.permissions.clone()),
                    (None, Some(b)) => (
                        b.parent.map(str::to_owned),
                        b.permissions.iter().map(|p| (*p).to_owned()).collect(),
                    ),
                    // an assigned role the store no longer has: it grants nothing
                    (None, None) => {
                        access.roles.remove(&name);
                        access.assigned.remove(&name);
                        continue;
                    }
                };
            access.permissions.extend(permissions);
            if let Some(p) = parent {
                stack.push(p);
            }
        }
        access
    }

    /// Whether the user holds `permission`.
    pub fn has(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    /// The latchkey permissions in `wanted` that this user lacks: someone
    /// may grant or define only what they hold themselves.
    pub fn missing_for_grant<'a>(
        &self,
        wanted: impl IntoIterator<Item = &'a String>,
    ) -> Option<String> {
        wanted
            .into_iter()
            .find(|p| is_latchkey_permission(p) && !self.has(p))
            .cloned()
    }

    /// The one rule over (actor, target) for every write to an account
    /// (profile, deletion, suspension and its lifting, sessions, roles,
    /// reset mail): the actor must hold every latchkey permission the
    /// target holds. Returns the first one missing, `None` when allowed.
    /// The route's own permission is checked separately.
    pub fn may_act_on(&self, target: &Access) -> Option<String> {
        self.missing_for_grant(&target.permissions)
    }
}

/// Checks a role name: 2–32 characters of `a-z`, `0-9`, `_`, `-`, starting
/// with a letter.
pub fn valid_role_name(name: &str) -> bool {
    let n = name.len();
    (2..=32).contains(&n)
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Checks a permission string: `resource:action`, each part 1–64 characters
/// of `a-z`, `0-9`, `_`, `-`, `.`, the action may also be `*`.
pub fn valid_permission(p: &str) -> bool {
    let Some((resource, action)) = p.split_once(':') else {
        return false;
    };
    let part = |s: &str| {
        (1..=64).contains(&s.len())
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.')
            })
    };
    part(resource) && (action == "*" || part(action))
}

/// Whether making `parent` the parent of `role` would close a cycle, given
/// every role (`role` itself may be new).
pub fn would_cycle(role: &str, parent: &str, roles: &[Role]) -> bool {
    let parents: BTreeMap<String, Option<String>> = roles
        .iter()
        .map(|r| {
            let r = r.clone().with_builtin_definition();
            (r.name, r.parent)
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut current = Some(parent.to_owned());
    while let Some(name) = current {
        if name == role {
            return true;
        }
        if !seen.insert(name.clone()) {
            return false; // an existing cycle not involving `role`
        }
        current = match parents.get(&name) {
            Some(parent) => parent.clone(),
            None => builtin(&name).and_then(|b| b.parent.map(str::to_owned)),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, parent: Option<&str>, perms: &[&str]) -> Role {
        Role {
            name: name.into(),
            description: String::new(),
            parent: parent.map(str::to_owned),
            permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
            builtin: false,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn names(set: &BTreeSet<String>) -> Vec<&str> {
        set.iter().map(String::as_str).collect()
    }

    #[test]
    fn builtin_hierarchy_inherits_downwards() {
        let admin = Access::resolve(&["admin".into()], &[]);
        assert_eq!(names(&admin.roles), ["admin", "moderator", "user"]);
        for (p, _) in CATALOGUE {
            assert!(admin.has(p), "admin lacks {p}");
        }
        let moderator = Access::resolve(&["moderator".into()], &[]);
        assert!(moderator.has(perm::USERS_READ) && moderator.has(perm::USERS_SUSPEND));
        assert!(!moderator.has(perm::ROLES_MANAGE) && !moderator.has(perm::USERS_DELETE));
        let user = Access::resolve(&[], &[]);
        assert_eq!(names(&user.roles), ["user"]);
        assert!(user.permissions.is_empty());
    }

    #[test]
    fn custom_roles_inherit_through_chains_and_stored_builtins_are_ignored() {
        let roles = vec![
            role("support", Some("moderator"), &["tickets:read"]),
            role("lead", Some("support"), &["tickets:assign"]),
            // a tampered stored definition of a built-in changes nothing
            role("moderator", None, &["keys:rotate"]),
        ];
        let a = Access::resolve(&["lead".into()], &roles);
        assert_eq!(names(&a.roles), ["lead", "moderator", "support", "user"]);
        assert_eq!(names(&a.assigned), ["lead", "user"]);
        assert!(a.has("tickets:read") && a.has("tickets:assign") && a.has(perm::USERS_READ));
        assert!(!a.has(perm::KEYS_ROTATE));
    }

    #[test]
    fn cycles_and_missing_roles_resolve_without_looping() {
        let roles = vec![
            role("a", Some("b"), &["x:1"]),
            role("b", Some("a"), &["x:2"]),
        ];
        let acc = Access::resolve(&["a".into(), "gone".into()], &roles);
        assert_eq!(names(&acc.roles), ["a", "b", "user"]);
        assert_eq!(names(&acc.permissions), ["x:1", "x:2"]);
        assert!(!acc.assigned.contains("gone"));
    }

    #[test]
    fn cycle_detection() {
        let roles = vec![
            role("a", None, &[]),
            role("b", Some("a"), &[]),
            role("c", Some("b"), &[]),
        ];
        assert!(would_cycle("a", "c", &roles));
        assert!(would_cycle("a", "a", &roles));
        assert!(!would_cycle("c", "a", &roles));
        assert!(!would_cycle("new", "c", &roles));
        assert!(!would_cycle("x", "admin", &roles));
        assert!(would_cycle("user", "admin", &roles));
    }

    #[test]
    fn grant_checks_only_latchkey_permissions() {
        let moderator = Access::resolve(&["moderator".into()], &[]);
        let wanted: Vec<String> = vec!["billing:read".into(), perm::USERS_READ.into()];
        assert_eq!(moderator.missing_for_grant(&wanted), None);
        let wanted: Vec<String> = vec![perm::USERS_READ.into(), perm::KEYS_ROTATE.into()];
        assert_eq!(
            moderator.missing_for_grant(&wanted).as_deref(),
            Some(perm::KEYS_ROTATE)
        );
    }

    #[test]
    fn who_may_act_on_whom() {
        // helpdesk: edits profiles and ends sessions, but cannot suspend
        let roles = vec![role(
            "helpdesk",
            Some("user"),
            &[
                perm::USERS_READ,
                perm::USERS_WRITE,
                perm::SESSIONS_REVOKE,
                "tickets:read",
            ],
        )];
        let of = |r: &str| Access::resolve(&[r.to_owned()], &roles);
        let names = ["user", "moderator", "admin", "helpdesk"];
        // (actor, targets it may act on), in the order of `names`
        let table = [
            ("user", [true, false, false, false]),
            ("moderator", [true, true, false, false]),
            ("admin", [true, true, true, true]),
            ("helpdesk", [true, false, false, true]),
        ];
        for (actor, allowed) in table {
            for (target, ok) in names.iter().zip(allowed) {
                assert_eq!(
                    of(actor).may_act_on(&of(target)).is_none(),
                    ok,
                    "{actor} on {target}"
                );
            }
        }
        assert_eq!(
            of("moderator").may_act_on(&of("admin")).as_deref(),
            Some(perm::AUDIT_READ),
            "names the first permission missing"
        );
    }

    #[test]
    fn names_and_permissions_are_validated() {
        for (n, ok) in [
            ("support", true),
            ("tier-2_ops", true),
            ("a", false),
            ("Admin", false),
            ("9lives", false),
            ("has space", false),
            (&"x".repeat(33), false),
        ] {
            assert_eq!(valid_role_name(n), ok, "{n}");
        }
        for (p, ok) in [
            ("users:read", true),
            ("billing.invoices:export", true),
            ("tickets:*", true),
            ("users", false),
            (":read", false),
            ("users:", false),
            ("Users:read", false),
            ("a:b:c", false),
            ("*:*", false),
        ] {
            assert_eq!(valid_permission(p), ok, "{p}");
        }
    }
}
