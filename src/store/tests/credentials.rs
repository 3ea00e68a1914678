//! The `credentials` table on both backends: insert, unique names, optimistic updates,
//! versions, status and use stamps, delete.

use chrono::{DateTime, NaiveDate, Utc};

use crate::credentials::model::{Method, Status};
use crate::store::{AnyStore, CredentialFields, CredentialStore};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn fields(sealed: &str) -> CredentialFields {
    CredentialFields {
        description: Some("the repos PAT".into()),
        connectors: vec!["repos".into(), "pull_commits".into()],
        method: Method::Pat,
        tenant_id: None,
        client_id: None,
        authority: None,
        endpoint: None,
        secret_sealed: Some(sealed.into()),
        credentials_hash: Some("sha256:abc".into()),
        expires_on: NaiveDate::from_ymd_opt(2027, 1, 31),
        status: Status::Active,
        status_detail: None,
    }
}

async fn credentials_round_trip(s: &AnyStore) {
    let t0 = at("2026-12-01T00:00:00Z");
    assert!(
        s.insert_credential("repos-pat", &fields("v1:k:a"), t0)
            .await
            .unwrap()
    );
    assert!(
        !s.insert_credential("repos-pat", &fields("v1:k:b"), t0)
            .await
            .unwrap()
    );
    let r = s.credential("repos-pat").await.unwrap().unwrap();
    assert_eq!(r.version, 1);
    assert_eq!(r.connectors, vec!["repos", "pull_commits"]);
    assert_eq!(r.secret_sealed.as_deref(), Some("v1:k:a"));
    assert_eq!(r.expires_on, NaiveDate::from_ymd_opt(2027, 1, 31));
    assert_eq!(r.created_at, t0);
    assert_eq!(r.description.as_deref(), Some("the repos PAT"));

    let t1 = at("2026-12-02T00:00:00Z");
    let mut f = fields("v1:k:c");
    f.description = None;
    assert!(s.update_credential("repos-pat", 1, &f, t1).await.unwrap());
    // A stale version changes nothing.
    assert!(!s.update_credential("repos-pat", 1, &f, t1).await.unwrap());
    let r = s.credential("repos-pat").await.unwrap().unwrap();
    assert_eq!((r.version, r.updated_at, r.created_at), (2, t1, t0));
    assert_eq!(r.secret_sealed.as_deref(), Some("v1:k:c"));
    assert_eq!(r.description, None);

    s.touch_credential("repos-pat", t1).await.unwrap();
    s.set_credential_status("repos-pat", Status::Invalid, Some("401 on projects"), t1)
        .await
        .unwrap();
    let r = s.credential("repos-pat").await.unwrap().unwrap();
    assert_eq!(r.version, 2, "use and status are not changes");
    assert_eq!(r.status, Status::Invalid);
    assert_eq!(r.status_detail.as_deref(), Some("401 on projects"));
    assert_eq!((r.last_used_at, r.validated_at), (Some(t1), Some(t1)));

    let mut sp = fields("v1:k:d");
    sp.method = Method::ServicePrincipal;
    sp.tenant_id = Some("tenant".into());
    sp.client_id = Some("client".into());
    assert!(s.insert_credential("boards-sp", &sp, t1).await.unwrap());
    let all = s.credentials().await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["boards-sp", "repos-pat"]
    );
    assert_eq!(all[0].method, Method::ServicePrincipal);
    assert_eq!(all[0].tenant_id.as_deref(), Some("tenant"));
    assert_eq!(
        s.credential_versions().await.unwrap(),
        vec![("boards-sp".to_string(), 1), ("repos-pat".to_string(), 2)]
    );
    assert!(s.delete_credential("boards-sp").await.unwrap());
    assert!(!s.delete_credential("boards-sp").await.unwrap());
    assert!(s.credential("boards-sp").await.unwrap().is_none());
    assert!(!s.update_credential("boards-sp", 1, &sp, t1).await.unwrap());
}

contract_tests! {
    credentials_round_trip_on_every_backend => credentials_round_trip,
}
