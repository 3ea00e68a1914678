//! The webhook delivery log: an event id is recorded once, pending targets are read back
//! oldest first, finishing a target leaves the events received after its re-fetch started
//! pending, pruning keeps what is pending, and organizations are kept apart.

use super::*;
use crate::store::{WebhookEvent, WebhookLog, WebhookOutcome};

contract_tests! {
    an_event_id_is_recorded_once_and_finished_by_target => case_webhook_log,
}

fn event(id: &str, target: &str, received_at: &str) -> WebhookEvent {
    WebhookEvent {
        event_id: id.into(),
        event_type: "git.pullrequest.updated".into(),
        subscription_id: Some("sub".into()),
        target: target.into(),
        received_at: at(received_at),
    }
}

async fn case_webhook_log(s: &AnyStore) {
    let pr = "pull_request:p:r:1";
    let build = "build:p:9";
    assert!(
        s.record_webhook_event(ORG, &event("e1", pr, "2024-06-01T10:00:01Z"))
            .await
            .unwrap()
    );
    assert!(
        !s.record_webhook_event(ORG, &event("e1", pr, "2024-06-01T10:00:09Z"))
            .await
            .unwrap(),
        "a redelivery is not recorded again"
    );
    assert!(
        s.record_webhook_event("other", &event("e1", pr, "2024-06-01T10:00:01Z"))
            .await
            .unwrap(),
        "organizations are apart"
    );
    s.record_webhook_event(ORG, &event("e2", build, "2024-06-01T10:00:02Z"))
        .await
        .unwrap();
    s.record_webhook_event(ORG, &event("e3", pr, "2024-06-01T10:00:05Z"))
        .await
        .unwrap();
    assert_eq!(
        s.pending_webhook_targets(ORG).await.unwrap(),
        vec![pr.to_string(), build.to_string()],
        "pending targets, oldest first, once each"
    );

    // The re-fetch of `pr` started at :03: e3 arrived later and stays pending.
    let done = s
        .finish_webhook_events(
            ORG,
            pr,
            at("2024-06-01T10:00:03Z"),
            WebhookOutcome::Refetched,
            None,
            at("2024-06-01T10:00:04Z"),
        )
        .await
        .unwrap();
    assert_eq!(done, 1);
    s.finish_webhook_events(
        ORG,
        build,
        at("2024-06-01T10:00:03Z"),
        WebhookOutcome::Failed,
        Some("503 after retries"),
        at("2024-06-01T10:00:04Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        s.pending_webhook_targets(ORG).await.unwrap(),
        vec![pr.to_string()]
    );
    let events = s.webhook_events(ORG).await.unwrap();
    let ids: Vec<_> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["e1", "e2", "e3"]);
    assert_eq!(events[0].outcome.as_deref(), Some("refetched"));
    assert_eq!(events[0].processed_at, Some(at("2024-06-01T10:00:04Z")));
    assert_eq!(events[1].outcome.as_deref(), Some("failed"));
    assert_eq!(events[1].error.as_deref(), Some("503 after retries"));
    assert_eq!(events[2].processed_at, None);

    let summary = s
        .webhook_summary(ORG, at("2024-06-01T10:00:02Z"))
        .await
        .unwrap()
        .expect("events recorded");
    assert_eq!(
        (
            summary.received_since,
            summary.pending,
            summary.failed_since
        ),
        (2, 1, 1),
        "e2 and e3 since :02, e3 pending, e2 failed"
    );
    assert_eq!(summary.last_received_at, at("2024-06-01T10:00:05Z"));
    assert_eq!(
        summary.last_failure,
        Some((
            at("2024-06-01T10:00:04Z"),
            build.to_string(),
            "503 after retries".to_string()
        ))
    );
    assert_eq!(
        s.webhook_summary("nobody", at("2024-06-01T00:00:00Z"))
            .await
            .unwrap(),
        None
    );

    // Pruning removes processed events before the bound, never a pending one.
    assert_eq!(
        s.prune_webhook_events(ORG, at("2024-06-02T00:00:00Z"))
            .await
            .unwrap(),
        2
    );
    let left = s.webhook_events(ORG).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].event_id, "e3");
    assert_eq!(s.webhook_events("other").await.unwrap().len(), 1);
}
