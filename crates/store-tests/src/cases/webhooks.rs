//! Conformance cases of the webhooks slice (issue 18): endpoints with
//! their audit events, the fan-out that moves an endpoint's cursor once
//! with its deliveries and their jobs, the delivery log and what an
//! attempt does to its endpoint, requeueing, and the event rows webhooks
//! add to the stream.

use latchkey_core::audit::{AuditEvent, EventType};
use latchkey_core::auth::ClientInfo;
use latchkey_core::events::EventFilter;
use latchkey_core::lifecycle::NewJob;
use latchkey_core::store::{Store, StoreError, truncate_to_millis};
use latchkey_core::webhooks::{
    Attempt, AttemptRecord, Delivery, DeliveryStatus, Endpoint, Format, JOB_WEBHOOK,
};
use latchkey_core::{Clock, SystemClock, id};
use time::{Duration, OffsetDateTime};

use super::migrated;
use super::oauth::events_by;
use crate::db::TestDb;

fn now() -> OffsetDateTime {
    truncate_to_millis(SystemClock.now())
}

fn event(kind: EventType, actor: &str) -> AuditEvent {
    AuditEvent::new(kind, now(), &ClientInfo::default()).actor(Some(actor))
}

fn endpoint(cursor: i64) -> Endpoint {
    let t = now();
    Endpoint {
        id: format!("wh_{}", id::new_id()),
        url: "https://hooks.example.com/in".into(),
        description: "orders".into(),
        event_types: vec!["session.revoked".into(), "user.created".into()],
        format: Format::SecurityEventToken,
        audience: Some("https://rs.example.com".into()),
        secret_sealed: vec![1, 2, 3],
        enabled: true,
        cursor,
        failing_since: None,
        disabled_reason: None,
        created_at: t,
        updated_at: t,
    }
}

fn delivery(endpoint: &Endpoint, event_id: i64, at: OffsetDateTime) -> (Delivery, NewJob) {
    let t = now();
    let id = format!("msg_{}", id::new_id());
    let d = Delivery {
        id: id.clone(),
        endpoint_id: endpoint.id.clone(),
        event_id,
        event_type: "session.revoked".into(),
        event_at: at,
        payload: format!(r#"{{"event":{event_id}}}"#),
        status: DeliveryStatus::Pending,
        attempts: 0,
        last_status: None,
        last_latency_ms: None,
        last_error: None,
        created_at: t,
        updated_at: t,
    };
    (d, job(&id))
}

fn job(delivery_id: &str) -> NewJob {
    let t = now();
    let id = id::new_id();
    NewJob {
        idempotency_key: format!("webhook:{delivery_id}:{id}"),
        id,
        kind: JOB_WEBHOOK.into(),
        payload: delivery_id.as_bytes().to_vec(),
        run_at: t,
        max_attempts: 5,
        created_at: t,
    }
}

async fn webhook_jobs(store: &dyn Store) -> Vec<String> {
    let t = now();
    let mut payloads: Vec<String> = store
        .claim_jobs("conformance", t, t + Duration::minutes(1), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == JOB_WEBHOOK)
        .map(|j| String::from_utf8(j.payload).unwrap())
        .collect();
    payloads.sort();
    payloads
}

/// An endpoint round-trips; an update writes every field but the cursor;
/// deletion takes it; each write has its audit event; a missing one is
/// `NotFound`.
pub async fn webhook_endpoints_round_trip_update_and_delete(db: &dyn TestDb) {
    let store = migrated(db).await;
    let actor = id::new_id();
    let mut e = endpoint(7);
    store
        .insert_webhook(&e, &event(EventType::WebhookCreated, &actor))
        .await
        .unwrap();
    assert_eq!(store.webhook(&e.id).await.unwrap(), Some(e.clone()));
    assert_eq!(store.webhooks().await.unwrap(), vec![e.clone()]);

    e.url = "http://other.example.com:8080/x".into();
    e.description = String::new();
    e.event_types = vec!["login.failed".into()];
    e.secret_sealed = vec![9; 40];
    e.enabled = false;
    e.failing_since = Some(now() - Duration::hours(3));
    e.disabled_reason = Some("why".into());
    e.updated_at = now() + Duration::seconds(1);
    let moved = Endpoint {
        cursor: 99,
        ..e.clone()
    };
    store
        .update_webhook(&moved, &event(EventType::WebhookUpdated, &actor))
        .await
        .unwrap();
    assert_eq!(
        store.webhook(&e.id).await.unwrap(),
        Some(e.clone()),
        "all but the cursor"
    );

    store
        .delete_webhook(&e.id, &event(EventType::WebhookDeleted, &actor))
        .await
        .unwrap();
    assert_eq!(store.webhook(&e.id).await.unwrap(), None);
    assert!(matches!(
        store
            .delete_webhook(&e.id, &event(EventType::WebhookDeleted, &actor))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .update_webhook(&e, &event(EventType::WebhookUpdated, &actor))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        events_by(store.as_ref(), &actor).await,
        ["webhook.created", "webhook.updated", "webhook.deleted"]
    );
}

/// The fan-out stores deliveries with their jobs only while the cursor is
/// where the caller read it: a second node with the same view stores
/// nothing. Deliveries list newest first, `since` bounds them.
pub async fn webhook_fan_out_moves_the_cursor_once_with_its_jobs(db: &dyn TestDb) {
    let store = migrated(db).await;
    let e = endpoint(0);
    store
        .insert_webhook(&e, &event(EventType::WebhookCreated, "a"))
        .await
        .unwrap();
    let early = now() - Duration::hours(2);
    let rows = vec![delivery(&e, 3, early), delivery(&e, 5, now())];
    assert!(
        store
            .enqueue_webhook_deliveries(&e.id, 0, 9, &rows)
            .await
            .unwrap()
    );
    let again = vec![delivery(&e, 3, early)];
    assert!(
        !store
            .enqueue_webhook_deliveries(&e.id, 0, 9, &again)
            .await
            .unwrap()
    );
    assert!(
        !store
            .enqueue_webhook_deliveries("wh_unknown", 0, 9, &again)
            .await
            .unwrap()
    );
    assert_eq!(store.webhook(&e.id).await.unwrap().unwrap().cursor, 9);

    let listed = store.webhook_deliveries(&e.id, None, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| d.event_id).collect::<Vec<_>>(),
        [5, 3]
    );
    assert_eq!(listed[1], rows[0].0);
    let recent = store
        .webhook_deliveries(&e.id, Some(now() - Duration::hours(1)), 10)
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(
        store
            .webhook_deliveries(&e.id, None, 1)
            .await
            .unwrap()
            .len(),
        1
    );

    let mut ids: Vec<String> = rows.iter().map(|(d, _)| d.id.clone()).collect();
    ids.sort();
    assert_eq!(
        webhook_jobs(store.as_ref()).await,
        ids,
        "one job per delivery"
    );
    assert!(
        store
            .webhook_delivery(&again[0].0.id)
            .await
            .unwrap()
            .is_none()
    );
}

fn record(
    status: DeliveryStatus,
    http: Option<u16>,
    failing: Option<OffsetDateTime>,
    disable: Option<&str>,
) -> AttemptRecord {
    AttemptRecord {
        attempt: Attempt {
            at: now(),
            status: http,
            latency_ms: 42,
            error: (status != DeliveryStatus::Delivered).then(|| "status 500".to_owned()),
        },
        status,
        failing_since: failing,
        disable: disable.map(str::to_owned),
    }
}

/// An attempt updates its delivery, logs a row and sets its endpoint's
/// failure state in one write, only while the delivery is pending; a
/// disabling attempt turns the endpoint off with its reason and audit
/// event; requeueing sets deliveries pending again with a new job each;
/// deleting the endpoint takes its deliveries and their log.
pub async fn webhook_attempts_are_logged_and_decide_the_endpoint(db: &dyn TestDb) {
    let store = migrated(db).await;
    let e = endpoint(0);
    store
        .insert_webhook(&e, &event(EventType::WebhookCreated, "a"))
        .await
        .unwrap();
    let rows = vec![delivery(&e, 1, now()), delivery(&e, 2, now())];
    assert!(
        store
            .enqueue_webhook_deliveries(&e.id, 0, 2, &rows)
            .await
            .unwrap()
    );
    webhook_jobs(store.as_ref()).await;
    let (first, second) = (&rows[0].0.id, &rows[1].0.id);

    let since = now() - Duration::hours(2);
    let failed = record(DeliveryStatus::Pending, Some(500), Some(since), None);
    assert!(
        store
            .record_webhook_attempt(first, &failed, None)
            .await
            .unwrap()
    );
    let d = store.webhook_delivery(first).await.unwrap().unwrap();
    assert_eq!(
        (
            d.status,
            d.attempts,
            d.last_status,
            d.last_latency_ms,
            d.last_error.as_deref()
        ),
        (
            DeliveryStatus::Pending,
            1,
            Some(500),
            Some(42),
            Some("status 500")
        )
    );
    assert_eq!(
        store.webhook(&e.id).await.unwrap().unwrap().failing_since,
        Some(since)
    );

    let ok = record(DeliveryStatus::Delivered, Some(204), None, None);
    assert!(
        store
            .record_webhook_attempt(first, &ok, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_webhook_attempt(first, &ok, None)
            .await
            .unwrap(),
        "delivered: no more attempts"
    );
    assert!(
        !store
            .record_webhook_attempt("msg_unknown", &ok, None)
            .await
            .unwrap()
    );
    let endpoint_now = store.webhook(&e.id).await.unwrap().unwrap();
    assert_eq!(
        (endpoint_now.failing_since, endpoint_now.enabled),
        (None, true)
    );
    let log = store.webhook_attempts(first).await.unwrap();
    assert_eq!(
        log.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(500), Some(204)]
    );
    assert_eq!(log[0], failed.attempt);

    let off = record(
        DeliveryStatus::Failed,
        None,
        Some(since),
        Some("a day of failures"),
    );
    let disabled = AuditEvent::new(EventType::WebhookDisabled, now(), &ClientInfo::default())
        .actor(Some("system-test"));
    assert!(
        store
            .record_webhook_attempt(second, &off, Some(&disabled))
            .await
            .unwrap()
    );
    let e_off = store.webhook(&e.id).await.unwrap().unwrap();
    assert!(!e_off.enabled);
    assert_eq!(e_off.disabled_reason.as_deref(), Some("a day of failures"));
    assert_eq!(
        events_by(store.as_ref(), "system-test").await,
        ["webhook.disabled"]
    );
    assert_eq!(
        store
            .webhook_delivery(second)
            .await
            .unwrap()
            .unwrap()
            .status,
        DeliveryStatus::Failed
    );

    let requeue = vec![
        (first.clone(), job(first)),
        (second.clone(), job(second)),
        ("msg_unknown".to_owned(), job("msg_unknown")),
    ];
    assert_eq!(
        store
            .requeue_webhook_deliveries(&requeue, now())
            .await
            .unwrap(),
        2
    );
    for id in [first, second] {
        let d = store.webhook_delivery(id).await.unwrap().unwrap();
        assert_eq!((d.status, d.attempts), (DeliveryStatus::Pending, 0));
    }
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(webhook_jobs(store.as_ref()).await, expected);

    store
        .delete_webhook(&e.id, &event(EventType::WebhookDeleted, "a"))
        .await
        .unwrap();
    assert!(store.webhook_delivery(first).await.unwrap().is_none());
    assert!(store.webhook_attempts(first).await.unwrap().is_empty());
}

/// The audit events of new accounts, profile changes and failed sign-ins
/// become `user.created`, `user.updated` and `login.failed` rows of the
/// event stream, in their own transaction.
pub async fn webhook_event_types_are_recorded_from_the_audit_log(db: &dyn TestDb) {
    let store = migrated(db).await;
    let before = store.last_event_id().await.unwrap();
    let client = ClientInfo::default();
    for (kind, subject) in [
        (EventType::UserRegistered, Some("u1")),
        (EventType::UserCreated, Some("u2")),
        (EventType::UserUpdated, Some("u2")),
        (EventType::AccountUpdated, Some("u1")),
        (EventType::LoginFailed, None),
        (EventType::LoginSucceeded, Some("u1")),
    ] {
        let mut e = AuditEvent::new(kind, now(), &client);
        if let Some(s) = subject {
            e = e.subject(s);
        }
        if kind == EventType::LoginFailed {
            e = e.reason("unknown_account");
        }
        store.append_audit_event(&e).await.unwrap();
    }
    let types = [
        "user.created",
        "user.updated",
        "login.failed",
        "user.deleted",
    ];
    let events = store
        .events_after(
            before,
            &EventFilter {
                types: &types,
                sub: None,
            },
            100,
        )
        .await
        .unwrap();
    let seen: Vec<(String, Option<String>)> = events
        .iter()
        .map(|e| (e.kind.clone(), e.sub.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("user.created".to_owned(), Some("u1".to_owned())),
            ("user.created".to_owned(), Some("u2".to_owned())),
            ("user.updated".to_owned(), Some("u2".to_owned())),
            ("user.updated".to_owned(), Some("u1".to_owned())),
            ("login.failed".to_owned(), None),
        ]
    );
    assert_eq!(events[4].data["reason"], "unknown_account");
    assert_eq!(events[0].data["sub"], "u1");
}
