//! Conformance cases for roles, suspension, the admin writes and the audit
//! log (re-exported from [`crate::cases`]).

use latchkey_core::audit::{AuditEvent, AuditQuery, EventType};
use latchkey_core::auth::ClientInfo;
use latchkey_core::roles::{Access, Role, perm};
use latchkey_core::session::{SessionCreated, WhichSessions};
use latchkey_core::store::{Store, StoreError, truncate_to_millis};
use latchkey_core::user::{Suspension, User, UserSearch};
use latchkey_core::{Clock, SystemClock, id};
use time::{Duration, OffsetDateTime};

use super::{sample_session, sample_token, sample_user};
use crate::db::TestDb;

async fn migrated(db: &dyn TestDb) -> std::sync::Arc<dyn Store> {
    let store = db.open().await;
    store.migrate().await.expect("migrations apply");
    store
}

fn now() -> OffsetDateTime {
    truncate_to_millis(SystemClock.now())
}

fn event(kind: EventType, subject: Option<&str>) -> AuditEvent {
    let client = ClientInfo {
        ip: Some("198.51.100.9".into()),
        user_agent: Some("conformance".into()),
        request_id: Some(id::new_id()),
    };
    let mut e = AuditEvent::new(kind, now(), &client)
        .actor(Some("actor-1"))
        .detail("n", 1);
    if let Some(s) = subject {
        e = e.subject(s);
    }
    e
}

/// The events about `subject`, oldest first.
async fn events_about(store: &dyn Store, subject: &str) -> Vec<AuditEvent> {
    store
        .audit_events(&AuditQuery {
            subject_id: Some(subject.to_owned()),
            oldest_first: true,
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
}

fn custom(name: &str, parent: Option<&str>, perms: &[&str]) -> Role {
    let t = now();
    Role {
        name: name.into(),
        description: format!("the {name} role"),
        parent: parent.map(str::to_owned),
        permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
        builtin: false,
        created_at: t,
        updated_at: t,
    }
}

async fn stored_user(store: &dyn Store) -> User {
    let u = sample_user(&format!("{}@example.com", id::new_id()), None);
    store.insert_user(&u, &[], None).await.unwrap();
    u
}

/// The built-in roles are seeded; custom roles round-trip, conflict on
/// name, update, and delete with their assignments but not while another
/// role inherits from them. Each write leaves its event.
pub async fn roles_round_trip_and_delete_rules(db: &dyn TestDb) {
    let store = migrated(db).await;
    let names: Vec<String> = store
        .list_roles()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["admin", "moderator", "user"]);
    assert!(store.role_by_name("admin").await.unwrap().unwrap().builtin);

    let support = custom(
        "support",
        Some("moderator"),
        &["tickets:read", "users:read"],
    );
    store
        .insert_role(&support, &event(EventType::RoleCreated, None))
        .await
        .unwrap();
    assert_eq!(
        store.role_by_name("support").await.unwrap().as_ref(),
        Some(&support)
    );
    let err = store
        .insert_role(&support, &event(EventType::RoleCreated, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("name")), "{err:?}");

    let changed = Role {
        description: "changed".into(),
        parent: None,
        permissions: vec!["tickets:write".into()],
        updated_at: support.updated_at + Duration::minutes(1),
        ..support.clone()
    };
    store
        .update_role(&changed, &event(EventType::RoleUpdated, None))
        .await
        .unwrap();
    assert_eq!(store.role_by_name("support").await.unwrap(), Some(changed));
    let err = store
        .update_role(
            &custom("ghost", None, &[]),
            &event(EventType::RoleUpdated, None),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    let lead = custom("lead", Some("support"), &[]);
    store
        .insert_role(&lead, &event(EventType::RoleCreated, None))
        .await
        .unwrap();
    let err = store
        .delete_role("support", &event(EventType::RoleDeleted, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("parent")), "{err:?}");

    let user = stored_user(&*store).await;
    store
        .set_user_roles(
            &user.id,
            &["lead".into()],
            None,
            now(),
            &event(EventType::UserRolesChanged, Some(&user.id)),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .delete_role("lead", &event(EventType::RoleDeleted, None))
            .await
            .unwrap(),
        1,
        "one user had it"
    );
    assert!(
        store
            .user_role_graph(&user.id)
            .await
            .unwrap()
            .assigned
            .is_empty()
    );
    let err = store
        .delete_role("lead", &event(EventType::RoleDeleted, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    // four role writes succeeded: four role events (the failed ones left none)
    let events = store
        .audit_events(&AuditQuery {
            events: vec![
                "role.created".into(),
                "role.updated".into(),
                "role.deleted".into(),
            ],
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 4, "{events:?}");
}

/// The role graph of a user follows parent links to the top, marks what is
/// assigned, and resolves (with built-in definitions) to the right
/// permissions; set_user_roles replaces assignments atomically.
pub async fn role_graph_and_assignments(db: &dyn TestDb) {
    let store = migrated(db).await;
    let user = stored_user(&*store).await;
    let other = stored_user(&*store).await;
    assert_eq!(
        store.user_role_graph(&user.id).await.unwrap(),
        Default::default(),
        "nothing stored for the implicit user role"
    );
    store
        .insert_role(
            &custom("support", Some("moderator"), &["tickets:read"]),
            &event(EventType::RoleCreated, None),
        )
        .await
        .unwrap();
    store
        .set_user_roles(
            &user.id,
            &["support".into(), "admin".into()],
            None,
            now(),
            &event(EventType::UserRolesChanged, Some(&user.id)),
        )
        .await
        .unwrap();
    let graph = store.user_role_graph(&user.id).await.unwrap();
    let mut assigned = graph.assigned.clone();
    assigned.sort();
    assert_eq!(assigned, ["admin", "support"]);
    let mut reachable: Vec<&str> = graph.roles.iter().map(|r| r.name.as_str()).collect();
    reachable.sort();
    assert_eq!(reachable, ["admin", "moderator", "support", "user"]);
    let access = Access::resolve(&graph.assigned, &graph.roles);
    assert!(access.has("tickets:read") && access.has(perm::KEYS_ROTATE));

    // unknown role or user: NotFound, nothing changes
    for (uid, roles) in [
        (
            user.id.as_str(),
            vec!["moderator".to_owned(), "nope".to_owned()],
        ),
        ("no-such-user", vec!["moderator".to_owned()]),
    ] {
        let err = store
            .set_user_roles(
                uid,
                &roles,
                None,
                now(),
                &event(EventType::UserRolesChanged, Some(uid)),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound), "{err:?}");
    }
    assert_eq!(store.user_role_graph(&user.id).await.unwrap(), graph);

    // replacing, and ending sessions with it
    let t = now();
    let s = sample_session(&user.id, t);
    store
        .create_session(&s, Some(&sample_token(&s.id, t)))
        .await
        .unwrap();
    let ended = store
        .set_user_roles(
            &user.id,
            &["moderator".into()],
            Some("roles_changed"),
            t,
            &event(EventType::UserRolesChanged, Some(&user.id)),
        )
        .await
        .unwrap();
    assert_eq!(ended, 1);
    let s = store.session_by_id(&s.id).await.unwrap().unwrap();
    assert_eq!(s.revoked_reason.as_deref(), Some("roles_changed"));
    assert_eq!(
        store.user_role_graph(&user.id).await.unwrap().assigned,
        ["moderator"]
    );
    store
        .set_user_roles(
            &other.id,
            &["admin".into()],
            None,
            t,
            &event(EventType::UserRolesChanged, Some(&other.id)),
        )
        .await
        .unwrap();
    let pairs = store
        .assigned_roles_of_users(&[user.id.clone(), other.id.clone(), "x".into()])
        .await
        .unwrap();
    let mut expected = vec![
        (user.id.clone(), "moderator".to_owned()),
        (other.id.clone(), "admin".to_owned()),
    ];
    expected.sort();
    assert_eq!(pairs, expected);
    assert_eq!(
        events_about(&*store, &user.id).await.len(),
        2,
        "one event per successful change"
    );
}

/// Audit events round-trip exactly and are found by every filter, in both
/// orders and across pages; purging deletes only old events.
pub async fn audit_events_query_and_purge(db: &dyn TestDb) {
    let store = migrated(db).await;
    let t0 = now() - Duration::days(10);
    let mut all = Vec::new();
    for i in 0..6i64 {
        let mut e = event(
            if i % 2 == 0 {
                EventType::LoginFailed
            } else {
                EventType::Logout
            },
            Some(if i < 3 { "alice" } else { "bob" }),
        );
        e.at = t0 + Duration::days(i);
        e.actor_id = (i == 5).then(|| "alice".to_owned());
        e.reason = Some(format!("r{i}"));
        store.append_audit_event(&e).await.unwrap();
        all.push(e);
        // ids are time-ordered; keep them distinct in time
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    fn q(f: impl FnOnce(&mut AuditQuery)) -> AuditQuery {
        let mut q = AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        };
        f(&mut q);
        q
    }
    let ids = |v: Vec<AuditEvent>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let newest_first: Vec<String> = all.iter().rev().map(|e| e.id.clone()).collect();
    let got = store.audit_events(&q(|_| {})).await.unwrap();
    assert_eq!(got.first(), all.last(), "exact round trip");
    assert_eq!(ids(got), newest_first);
    for (query, expected) in [
        (q(|q| q.subject_id = Some("alice".into())), vec![2, 1, 0]),
        (q(|q| q.actor_id = Some("alice".into())), vec![5]),
        (q(|q| q.involving = Some("alice".into())), vec![5, 2, 1, 0]),
        (q(|q| q.events = vec!["logout".into()]), vec![5, 3, 1]),
        (
            q(|q| q.events = vec!["logout".into(), "login.failed".into()]),
            vec![5, 4, 3, 2, 1, 0],
        ),
        (
            q(|q| {
                q.since = Some(t0 + Duration::days(2));
                q.until = Some(t0 + Duration::days(4));
            }),
            vec![3, 2],
        ),
        (
            q(|q| {
                q.oldest_first = true;
                q.subject_id = Some("bob".into());
            }),
            vec![3, 4, 5],
        ),
    ] {
        let want: Vec<String> = expected.iter().map(|i| all[*i].id.clone()).collect();
        assert_eq!(
            ids(store.audit_events(&query).await.unwrap()),
            want,
            "{query:?}"
        );
    }
    // paging, both directions
    for oldest_first in [false, true] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .audit_events(&AuditQuery {
                    after_id: after.clone(),
                    oldest_first,
                    limit: 4,
                    ..AuditQuery::default()
                })
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|e| e.id.clone());
            seen.extend(ids(page));
        }
        let mut want = newest_first.clone();
        if oldest_first {
            want.reverse();
        }
        assert_eq!(seen, want);
    }
    // retention: events before the cut-off go, in batches
    let cut = t0 + Duration::days(3);
    assert_eq!(store.purge_audit_events(cut, 2).await.unwrap(), 2);
    assert_eq!(store.purge_audit_events(cut, 2).await.unwrap(), 1);
    assert_eq!(store.purge_audit_events(cut, 2).await.unwrap(), 0);
    let left = ids(store.audit_events(&q(|_| {})).await.unwrap());
    assert_eq!(left, newest_first[..3]);
}

/// Suspending sets the suspension, ends every session and refuses new
/// ones until it ends or is lifted.
pub async fn suspension_ends_sessions_and_blocks_new_ones(db: &dyn TestDb) {
    let store = migrated(db).await;
    let user = stored_user(&*store).await;
    let t = now();
    let s1 = sample_session(&user.id, t);
    store.create_session(&s1, None).await.unwrap();
    let suspension = Suspension {
        suspended_at: t,
        until: Some(t + Duration::hours(1)),
        reason: "spam".into(),
    };
    let ended = store
        .suspend_user(
            &user.id,
            &suspension,
            &event(EventType::UserSuspended, Some(&user.id)),
        )
        .await
        .unwrap();
    assert_eq!(ended, 1);
    let stored = store.user_by_id(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.suspension.as_ref(), Some(&suspension));
    assert_eq!(
        store
            .session_by_id(&s1.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_reason
            .as_deref(),
        Some("suspended")
    );
    assert_eq!(
        store
            .create_session(&sample_session(&user.id, t + Duration::minutes(1)), None)
            .await
            .unwrap(),
        SessionCreated::UserSuspended
    );
    // after it ends by itself, sessions may be created again
    assert_eq!(
        store
            .create_session(&sample_session(&user.id, t + Duration::hours(2)), None)
            .await
            .unwrap(),
        SessionCreated::Created
    );
    // an open-ended one, then lifted
    store
        .suspend_user(
            &user.id,
            &Suspension {
                until: None,
                ..suspension.clone()
            },
            &event(EventType::UserSuspended, Some(&user.id)),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .create_session(&sample_session(&user.id, t + Duration::days(400)), None)
            .await
            .unwrap(),
        SessionCreated::UserSuspended
    );
    store
        .unsuspend_user(
            &user.id,
            t,
            &event(EventType::UserUnsuspended, Some(&user.id)),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .user_by_id(&user.id)
            .await
            .unwrap()
            .unwrap()
            .suspension,
        None
    );
    assert_eq!(
        store
            .create_session(&sample_session(&user.id, t), None)
            .await
            .unwrap(),
        SessionCreated::Created
    );
    for err in [
        store
            .suspend_user(
                "nobody",
                &suspension,
                &event(EventType::UserSuspended, None),
            )
            .await
            .unwrap_err(),
        store
            .unsuspend_user("nobody", t, &event(EventType::UserUnsuspended, None))
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::NotFound), "{err:?}");
    }
    let kinds: Vec<String> = events_about(&*store, &user.id)
        .await
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(
        kinds,
        ["user.suspended", "user.suspended", "user.unsuspended"]
    );
}

/// The audited user writes change what they say, record their event in
/// the same transaction, and record nothing when they fail.
pub async fn admin_writes_are_audited_atomically(db: &dyn TestDb) {
    let store = migrated(db).await;
    let user = sample_user("made@example.com", Some("made"));
    store
        .insert_user(
            &user,
            &["moderator".into()],
            Some(&event(EventType::UserCreated, Some(&user.id))),
        )
        .await
        .unwrap();
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap().as_ref(),
        Some(&user)
    );
    assert_eq!(
        store.user_role_graph(&user.id).await.unwrap().assigned,
        ["moderator"]
    );
    // a taken email, or an unknown role: nothing is written
    let dup = sample_user("MADE@example.com", None);
    let err = store
        .insert_user(
            &dup,
            &[],
            Some(&event(EventType::UserCreated, Some(&dup.id))),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict("email")), "{err:?}");
    let ghost = sample_user("ghost@example.com", None);
    let err = store
        .insert_user(
            &ghost,
            &["nope".into()],
            Some(&event(EventType::UserCreated, Some(&ghost.id))),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(store.user_by_id(&ghost.id).await.unwrap(), None);
    assert!(events_about(&*store, &ghost.id).await.is_empty());
    assert!(events_about(&*store, &dup.id).await.is_empty());

    let renamed = User {
        name: Some("Renamed".into()),
        ..user.clone()
    };
    store
        .update_user(
            &renamed,
            Some(&event(EventType::UserUpdated, Some(&user.id))),
        )
        .await
        .unwrap();
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap().unwrap().name,
        renamed.name
    );

    // sessions: one (only the user's own), all but one, none left
    let t = now();
    let sessions: Vec<_> = (0..3).map(|_| sample_session(&user.id, t)).collect();
    for s in &sessions {
        store.create_session(s, None).await.unwrap();
    }
    let stranger = stored_user(&*store).await;
    let foreign = sample_session(&stranger.id, t);
    store.create_session(&foreign, None).await.unwrap();
    let ev = || event(EventType::SessionsRevoked, Some(&user.id));
    assert_eq!(
        store
            .revoke_sessions(
                &user.id,
                WhichSessions::One(&foreign.id),
                t,
                "admin",
                Some(&ev())
            )
            .await
            .unwrap(),
        0,
        "not the user's session"
    );
    assert!(
        store
            .session_by_id(&foreign.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert_eq!(
        store
            .revoke_sessions(
                &user.id,
                WhichSessions::One(&sessions[0].id),
                t,
                "user",
                Some(&ev())
            )
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .revoke_sessions(
                &user.id,
                WhichSessions::AllExcept(Some(&sessions[1].id)),
                t,
                "user",
                Some(&ev())
            )
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .active_sessions_of_user(&user.id, t)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .revoke_sessions(
                &user.id,
                WhichSessions::AllExcept(Some(&sessions[1].id)),
                t,
                "user",
                Some(&ev())
            )
            .await
            .unwrap(),
        0
    );

    store
        .delete_user(&user.id, &event(EventType::UserDeleted, Some(&user.id)))
        .await
        .unwrap();
    assert_eq!(store.user_by_id(&user.id).await.unwrap(), None);
    assert!(
        store
            .assigned_roles_of_users(std::slice::from_ref(&user.id))
            .await
            .unwrap()
            .is_empty()
    );
    let err = store
        .delete_user(&user.id, &event(EventType::UserDeleted, Some(&user.id)))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");

    let events = events_about(&*store, &user.id).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.updated",
            "sessions.revoked",
            "sessions.revoked",
            "user.deleted"
        ],
        "the log outlives the account; failed and empty writes left nothing"
    );
    assert_eq!(events[2].details["ended"], 1);
    assert_eq!(events[0].actor_id.as_deref(), Some("actor-1"));
    assert_eq!(events[0].ip.as_deref(), Some("198.51.100.9"));
}

/// The admin search matches email, username, name or id, filters by role,
/// escapes LIKE wildcards and pages in id order.
pub async fn search_users_by_text_and_role(db: &dyn TestDb) {
    let store = migrated(db).await;
    let mut a = sample_user("ada.lovelace@example.com", Some("countess"));
    a.name = Some("Ada King".into());
    let mut b = sample_user("grace@navy.example", Some("amazing_grace"));
    b.name = Some("Grace Hopper".into());
    let mut c = sample_user("c100%@example.com", None);
    c.name = None;
    for u in [&a, &b, &c] {
        store.insert_user(u, &[], None).await.unwrap();
    }
    store
        .set_user_roles(
            &b.id,
            &["admin".into()],
            None,
            now(),
            &event(EventType::UserRolesChanged, Some(&b.id)),
        )
        .await
        .unwrap();
    let search = |query: Option<&str>, role: Option<&str>| UserSearch {
        query: query.map(str::to_owned),
        role: role.map(str::to_owned),
        after_id: None,
        limit: 50,
    };
    let mut everyone = vec![a.id.clone(), b.id.clone(), c.id.clone()];
    everyone.sort();
    for (s, expected) in [
        (search(None, None), everyone.clone()),
        (search(Some("lovelace"), None), vec![a.id.clone()]),
        (search(Some("COUNTESS"), None), vec![a.id.clone()]),
        (search(Some("hopper"), None), vec![b.id.clone()]),
        (search(Some("example"), Some("admin")), vec![b.id.clone()]),
        (search(None, Some("user")), everyone.clone()),
        (search(Some(&c.id), None), vec![c.id.clone()]),
        (search(Some("100%"), None), vec![c.id.clone()]),
        (search(Some("%"), None), vec![c.id.clone()]),
        (search(Some("_"), None), vec![b.id.clone()]),
        (search(Some("nobody"), None), vec![]),
    ] {
        let got: Vec<String> = store
            .search_users(&s)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(got, expected, "{s:?}");
    }
    let page = store
        .search_users(&UserSearch {
            after_id: Some(everyone[0].clone()),
            limit: 1,
            ..UserSearch::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, everyone[1]);
}
