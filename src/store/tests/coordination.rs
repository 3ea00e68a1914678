//! Leases and the run bookkeeping of replicas: one holder per scope, expiry, due times,
//! renewal, release, and dead replicas' runs.

use super::*;
use crate::store::{Coordination, REPLICA};

contract_tests! {
    a_scope_has_one_holder_until_released_or_expired => case_leases,
    runs_of_dead_replicas_are_abandoned_and_live_ones_kept => case_dead_replicas,
    projects_another_replica_listed_are_read_back => case_visible_projects,
    forgetting_holders_frees_every_lease_of_the_org_only => case_forget_holders,
}

async fn case_forget_holders(s: &AnyStore) {
    let t0 = at("2024-06-01T10:00:00Z");
    let until = t0 + chrono::Duration::seconds(60);
    for (org, scope) in [(ORG, "project:p1"), (ORG, "org"), ("other", "project:p1")] {
        assert!(
            s.claim(org, "repos", scope, "dead", t0, until, t0)
                .await
                .unwrap()
        );
    }
    s.claim(ORG, REPLICA, "dead", "dead", t0, until, t0)
        .await
        .unwrap();
    assert_eq!(s.forget_holders(ORG).await.unwrap(), 2);
    let soon = t0 + chrono::Duration::seconds(1);
    assert!(
        s.claim(ORG, "repos", "project:p1", "new", soon, until, t0)
            .await
            .unwrap(),
        "freed before its expiry"
    );
    assert!(
        !s.claim("other", "repos", "project:p1", "new", soon, until, t0)
            .await
            .unwrap(),
        "another organization's lease is kept"
    );
    let lease = s
        .lease(ORG, "repos", "project:p1")
        .await
        .unwrap()
        .expect("the row exists");
    assert_eq!(
        (lease.holder.as_deref(), lease.expires_at, lease.done_at),
        (Some("new"), Some(until), None)
    );
    assert_eq!(s.lease(ORG, "repos", "project:nope").await.unwrap(), None);
}

async fn case_leases(s: &AnyStore) {
    let t0 = at("2024-06-01T10:00:00Z");
    let secs = |n: i64| chrono::Duration::seconds(n);
    let claim = |holder: &'static str, now: DateTime<Utc>, due: DateTime<Utc>| {
        let s = s.clone();
        async move {
            s.claim(ORG, "repos", "project:p1", holder, now, now + secs(60), due)
                .await
                .expect("claim")
        }
    };
    assert!(claim("a", t0, t0).await, "a free scope is taken");
    assert!(!claim("b", t0 + secs(1), t0).await, "held by a: refused");
    assert!(
        claim("a", t0 + secs(2), t0).await,
        "the holder may claim again"
    );
    // Renewal keeps it past the first expiry.
    assert_eq!(s.renew(ORG, "a", t0 + secs(120)).await.unwrap(), 1);
    assert!(!claim("b", t0 + secs(90), t0).await, "renewed: still a's");
    // Expired: another replica takes it over.
    assert!(claim("b", t0 + secs(121), t0).await, "expired: taken over");
    // A release by the old holder does nothing now.
    s.release(ORG, "repos", "project:p1", "a", Some(t0 + secs(122)))
        .await
        .unwrap();
    assert!(
        !claim("c", t0 + secs(123), t0 + secs(200)).await,
        "still b's"
    );
    // b finishes: the scope is free, but not due for passes that started before it was done.
    s.release(ORG, "repos", "project:p1", "b", Some(t0 + secs(130)))
        .await
        .unwrap();
    assert!(
        !claim("c", t0 + secs(131), t0 + secs(100)).await,
        "done at +130: not due before +100"
    );
    assert!(
        claim("c", t0 + secs(131), t0 + secs(131)).await,
        "due for a pass that started after it was done"
    );
    // A failed pass gives it back without `done_at`: due again at once.
    s.release(ORG, "repos", "project:p1", "c", None)
        .await
        .unwrap();
    assert!(claim("d", t0 + secs(132), t0 + secs(131)).await);
    // Scopes are per connector and organization.
    assert!(
        s.claim(ORG, "boards", "project:p1", "e", t0, t0 + secs(60), t0)
            .await
            .unwrap()
    );
    assert!(
        s.claim(
            "fabrikam",
            "repos",
            "project:p1",
            "e",
            t0,
            t0 + secs(60),
            t0
        )
        .await
        .unwrap()
    );
    // Shutdown gives back everything a holder has.
    assert_eq!(s.release_all(ORG, "e").await.unwrap(), 1);
    assert!(
        s.claim(ORG, "boards", "project:p1", "f", t0, t0 + secs(60), t0)
            .await
            .unwrap()
    );
}

async fn case_dead_replicas(s: &AnyStore) {
    let t0 = at("2024-06-01T10:00:00Z");
    let live = s.start_run(ORG, "repos", "sync", t0).await.unwrap();
    let dead = s.start_run(ORG, "boards", "sync", t0).await.unwrap();
    let unowned = s.start_run(ORG, "boards", "backfill", t0).await.unwrap();
    s.own_run(live, "alive").await.unwrap();
    s.own_run(dead, "gone").await.unwrap();
    let ttl = chrono::Duration::seconds(60);
    for holder in ["alive", "gone"] {
        assert!(
            s.claim(ORG, REPLICA, holder, holder, t0, t0 + ttl, t0)
                .await
                .unwrap()
        );
    }
    // Only `alive` keeps renewing.
    let later = t0 + chrono::Duration::seconds(90);
    s.renew(ORG, "alive", later + ttl).await.unwrap();
    assert_eq!(s.abandon_dead(ORG, later).await.unwrap(), 2);
    let outcome = |connector: &'static str, mode: &'static str| {
        let s = s.clone();
        async move {
            let r = s.last_run(ORG, connector, mode).await.unwrap().unwrap();
            (r.id, r.outcome)
        }
    };
    assert_eq!(outcome("repos", "sync").await, (live, "running".into()));
    assert_eq!(outcome("boards", "sync").await, (dead, "abandoned".into()));
    assert_eq!(
        outcome("boards", "backfill").await,
        (unowned, "abandoned".into())
    );
    // A replica that shuts down cleanly drops its liveness row.
    s.release_all(ORG, "alive").await.unwrap();
    assert!(
        s.claim(ORG, REPLICA, "alive", "other", later, later + ttl, later)
            .await
            .unwrap(),
        "the liveness row is gone, so anyone may create it"
    );
}

async fn case_visible_projects(s: &AnyStore) {
    let t = at("2024-06-01T10:00:00Z");
    let mut batch = Batch::new(t);
    crate::connectors::projects::write_listing(
        &mut batch,
        "repos",
        vec![project("p1", None), project("p2", None)],
        true,
    );
    s.apply(ORG, &batch).await.unwrap();
    let mut batch = Batch::new(t);
    crate::connectors::projects::write_listing(
        &mut batch,
        "boards",
        vec![project("p2", None)],
        true,
    );
    s.apply(ORG, &batch).await.unwrap();
    let names = |connector: &'static str| {
        let s = s.clone();
        async move {
            s.visible_projects(ORG, connector)
                .await
                .unwrap()
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names("repos").await,
        vec![
            ("p1".into(), "Project p1".into()),
            ("p2".into(), "Project p2".into())
        ]
    );
    assert_eq!(
        names("boards").await,
        vec![("p2".into(), "Project p2".into())]
    );
    assert!(names("pipelines").await.is_empty());
}
