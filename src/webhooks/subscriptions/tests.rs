//! Unit tests: which subscriptions are ours, which is identical, the body sent, the output.

use super::*;
use crate::ado::models::example;
use crate::ado::models::hooks::SubscriptionStatus;

fn receiver(url: &str) -> Receiver {
    Receiver::parse(url).unwrap()
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn sub(json: serde_json::Value) -> Subscription {
    serde_json::from_value(json).unwrap()
}

fn project(id: &str, name: &str) -> TeamProject {
    serde_json::from_value(serde_json::json!({"id": id, "name": name})).unwrap()
}

const PR_CREATED: Event = event("git.pullrequest.created", "1.0");

#[test]
fn every_event_the_receiver_takes_is_subscribed_by_its_connector_and_no_other() {
    // The receiver takes each subscribed event and re-fetches it with the connector that
    // subscribes it (the resource names every target's keys).
    let resource = serde_json::json!({
        "id": 1, "pullRequestId": 1,
        "repository": {"id": "r", "project": {"id": "p"}}, "project": {"id": "p"},
        "pullRequest": {"pullRequestId": 1, "repository": {"id": "r", "project": {"id": "p"}}},
        "fields": {"System.TeamProject": "P"}
    });
    for a in AREAS {
        for e in a.events {
            let body =
                serde_json::json!({"id": "x", "eventType": e.event_type, "resource": resource});
            let parsed = crate::webhooks::event::parse(body.to_string().as_bytes())
                .unwrap_or_else(|m| panic!("{}: {m}", e.event_type));
            assert_eq!(parsed.target.connector(), a.connector, "{}", e.event_type);
        }
    }
    assert!(!crate::webhooks::event::taken("git.push"));
    for a in AREAS {
        assert!(
            a.events.iter().all(|e| a.covers(e.event_type)),
            "{}",
            a.connector
        );
    }
    assert_eq!(
        AREAS
            .iter()
            .map(|a| (a.connector, a.scope))
            .collect::<Vec<_>>(),
        [
            ("repos", "vso.code"),
            ("boards", "vso.work"),
            ("pipelines", "vso.build")
        ]
    );
}

#[test]
fn only_https_or_loopback_http_is_a_receiver() {
    for ok in [
        "https://ingest.example.com/webhooks/ado",
        "http://127.0.0.1:8080/webhooks/ado",
        "http://localhost:9000/webhooks/ado",
        "http://[::1]:9000/webhooks/ado",
    ] {
        assert!(Receiver::parse(ok).is_ok(), "{ok}");
    }
    let refused = |url: &str| match Receiver::parse(url) {
        Err(Error::Url { reason, .. }) => reason,
        other => panic!("{url}: {other:?}"),
    };
    assert!(refused("http://ingest.example.com/webhooks/ado").contains("must be https"));
    assert!(refused("ftp://ingest.example.com/x").contains("scheme ftp"));
    assert!(refused("https://user:pw@ingest.example.com/x").contains("credentials"));
    assert!(refused("ingest.example.com/webhooks").contains("not a URL"));
    // The refused URL is shown without its credentials.
    let e = Receiver::parse("https://user:pw@ingest.example.com/x").unwrap_err();
    assert!(!e.to_string().contains("pw"), "{e}");
    assert!(e.is_usage());
}

#[test]
fn a_url_is_the_same_without_trailing_slash_and_in_any_host_case() {
    let r = receiver("https://Ingest.Example.com/webhooks/ado");
    assert!(r.is("https://ingest.example.com/webhooks/ado/"));
    assert!(r.is("HTTPS://INGEST.EXAMPLE.COM:443/webhooks/ado"));
    assert!(
        !r.is("https://ingest.example.com/Webhooks/ado"),
        "paths are case-sensitive"
    );
    assert!(!r.is("https://ingest.example.com/webhooks/ado?x=1"));
    assert!(!r.is("https://other.example.com/webhooks/ado"));
    assert!(!r.is("http://ingest.example.com/webhooks/ado"));
}

#[test]
fn ours_is_web_hooks_posting_to_our_url_and_nothing_else_in_the_recorded_listing() {
    let all: Vec<Subscription> =
        example::list("hooks/subscriptions__GET__hooks_subscriptions_.json");
    let r = receiver("https://requestb.in/stkb4jst");
    assert!(
        all.iter().all(|s| !is_ours(s, &r)),
        "another scheme is another URL"
    );
    // The recording's receivers are http on a public host: compare as the listing has them.
    let r = Receiver {
        text: "http://requestb.in/stkb4jst".into(),
        normalized: normalize("http://requestb.in/stkb4jst/"),
    };
    let ours: Vec<(&str, &str)> = all
        .iter()
        .filter(|s| is_ours(s, &r))
        .map(|s| (s.event_type.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(
        ours,
        [
            ("build.complete", "disabledBySystem"),
            ("git.push", "onProbation"),
            ("workitem.commented", "enabled"),
            ("workitem.created", "disabledBySystem"),
            ("workitem.updated", "disabledBySystem"),
        ]
    );
    // Jenkins, MyGet, Trello, Zendesk and other web hook URLs are foreign.
    assert!(
        all.iter()
            .filter(|s| s.consumer_id != CONSUMER_ID)
            .all(|s| !is_ours(s, &r))
    );
}

#[test]
fn a_foreign_consumer_with_our_url_is_not_ours() {
    let r = receiver("https://h.example/webhooks/ado");
    let mut s = sub(serde_json::json!({
        "id": "1", "eventType": "git.pullrequest.created", "consumerId": "webHooks",
        "consumerActionId": "httpRequest",
        "consumerInputs": {"url": "https://h.example/webhooks/ado/"},
    }));
    assert!(is_ours(&s, &r));
    s.consumer_action_id = Some("somethingElse".into());
    assert!(!is_ours(&s, &r));
    s.consumer_action_id = Some(CONSUMER_ACTION_ID.into());
    s.consumer_id = "azureServiceBus".into();
    assert!(!is_ours(&s, &r));
}

#[test]
fn identical_means_same_event_version_and_project() {
    let s = sub(serde_json::json!({
        "id": "1", "eventType": "git.pullrequest.created", "resourceVersion": "1.0",
        "consumerId": "webHooks", "publisherInputs": {"projectId": "AB-12"},
    }));
    assert!(is_same(&s, &PR_CREATED, "ab-12"));
    assert!(!is_same(&s, &PR_CREATED, "cd-34"));
    assert!(!is_same(
        &s,
        &event("git.pullrequest.created", "2.0"),
        "ab-12"
    ));
    assert!(!is_same(
        &s,
        &event("git.pullrequest.updated", "1.0"),
        "ab-12"
    ));
    let unversioned = sub(serde_json::json!({
        "id": "2", "eventType": "git.pullrequest.created", "resourceVersion": null,
        "consumerId": "webHooks", "publisherInputs": {"projectId": "ab-12"},
    }));
    assert!(!is_same(&unversioned, &PR_CREATED, "ab-12"));
}

#[test]
fn the_body_pins_the_version_and_carries_the_secret_header() {
    let body = request_body(
        &event("ms.vss-code.git-pullrequest-comment-event", "2.0"),
        "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c",
        &receiver("https://ingest.example.com/webhooks/ado"),
        &secret("s3cret"),
    );
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        serde_json::json!({
            "publisherId": "tfs",
            "eventType": "ms.vss-code.git-pullrequest-comment-event",
            "resourceVersion": "2.0",
            "consumerId": "webHooks",
            "consumerActionId": "httpRequest",
            "publisherInputs": {"projectId": "6ce954b1-ce1f-45d1-b94d-e6bf2464ba2c"},
            "consumerInputs": {
                "url": "https://ingest.example.com/webhooks/ado",
                "httpHeaders": "X-ADO-Signature:s3cret"
            }
        })
    );
}

#[test]
fn the_secret_header_is_current_different_or_masked() {
    let with = |headers: Option<&str>| {
        let mut inputs = serde_json::json!({"url": "https://h/x"});
        if let Some(h) = headers {
            inputs["httpHeaders"] = h.into();
        }
        sub(serde_json::json!({
            "id": "1", "eventType": "git.push", "consumerId": "webHooks",
            "consumerInputs": inputs,
        }))
    };
    let s = secret("s3cret");
    assert_eq!(
        check_secret(&with(Some("X-ADO-Signature:s3cret")), &s),
        SecretCheck::Current
    );
    assert_eq!(
        check_secret(&with(Some("Other:1\nx-ado-signature: s3cret\r\n")), &s),
        SecretCheck::Current
    );
    assert_eq!(
        check_secret(&with(Some("X-ADO-Signature:old")), &s),
        SecretCheck::Differs
    );
    assert_eq!(
        check_secret(&with(Some("Other:1")), &s),
        SecretCheck::Differs
    );
    assert_eq!(check_secret(&with(None), &s), SecretCheck::Differs);
    assert_eq!(
        check_secret(&with(Some("********")), &s),
        SecretCheck::Masked
    );
    assert_eq!(
        check_secret(&with(Some("X-ADO-Signature:********")), &s),
        SecretCheck::Masked
    );
}

#[test]
fn projects_are_every_allowed_one_or_those_named() {
    let visible = || {
        vec![
            project("id-a", "Alpha"),
            project("id-b", "Beta"),
            project("id-c", "Gamma"),
        ]
    };
    let names = |ps: Vec<TeamProject>| ps.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(
        names(select_projects("repos", visible(), &[], &[]).unwrap()),
        ["Alpha", "Beta", "Gamma"]
    );
    let allowed = ["beta".to_string(), "ID-C".to_string()];
    assert_eq!(
        names(select_projects("repos", visible(), &allowed, &[]).unwrap()),
        ["Beta", "Gamma"]
    );
    let wanted = ["GAMMA".to_string(), "id-c".to_string(), "alpha".to_string()];
    assert_eq!(
        names(select_projects("repos", visible(), &[], &wanted).unwrap()),
        ["Gamma", "Alpha"]
    );
    assert!(matches!(
        select_projects("repos", visible(), &[], &["Delta".to_string()]),
        Err(Error::UnknownProject { ref name, .. }) if name == "Delta"
    ));
    assert!(matches!(
        select_projects("repos", visible(), &allowed, &["Alpha".to_string()]),
        Err(Error::NotAllowed { .. })
    ));
}

#[test]
fn change_lines_name_the_action_event_and_project() {
    let change = |action, id: Option<&str>| {
        Change {
            action,
            event_type: "workitem.updated".into(),
            resource_version: Some("1.0".into()),
            project: "Fabrikam".into(),
            id: id.map(str::to_string),
        }
        .to_string()
    };
    assert_eq!(
        change(Action::Created, Some("id-1")),
        "created workitem.updated (1.0) in project Fabrikam: id-1"
    );
    assert_eq!(
        change(Action::WouldCreate, None),
        "would create workitem.updated (1.0) in project Fabrikam"
    );
    assert_eq!(
        change(Action::Kept, Some("id-1")),
        "kept workitem.updated (1.0) in project Fabrikam: id-1"
    );
    assert!(change(Action::KeptMasked, Some("id-1")).contains("could not be checked"));
    assert!(change(Action::Updated, Some("id-1")).starts_with("updated "));
    assert!(change(Action::Deleted, Some("id-1")).starts_with("deleted "));
}

#[test]
fn the_table_flags_restricted_and_disabled_ones_with_their_last_failure() {
    let row = |status: SubscriptionStatus, failure: Option<LastFailure>| Listed {
        id: "7b1c".into(),
        connector: "repos",
        event_type: "git.pullrequest.updated".into(),
        resource_version: Some("1.0".into()),
        project_id: Some("id-a".into()),
        project: Some("Alpha".into()),
        url: Some("https://h/x".into()),
        status: status.as_str().into(),
        state: state_label(&status),
        last_failure: failure,
    };
    let failure = LastFailure {
        at: crate::ado::models::parse_date("2024-05-02T10:03:03Z"),
        message: Some("The remote server returned an error:\r\n(503) Server Unavailable.".into()),
    };
    let rows = [
        row(SubscriptionStatus::Enabled, None),
        row(SubscriptionStatus::OnProbation, Some(failure)),
        row(SubscriptionStatus::DisabledBySystem, None),
        row(SubscriptionStatus::DisabledByUser, None),
    ];
    let text = table(&rows, false);
    insta::assert_snapshot!(text, @r"
    STATE                 EVENT                    VERSION  PROJECT  ID
    enabled               git.pullrequest.updated  1.0      Alpha    7b1c
    Enabled (restricted)  git.pullrequest.updated  1.0      Alpha    7b1c
      last failure 2024-05-02T10:03:03Z: The remote server returned an error: (503) Server Unavailable.
    disabled by system    git.pullrequest.updated  1.0      Alpha    7b1c
    disabled by user      git.pullrequest.updated  1.0      Alpha    7b1c
    ");
    assert!(
        table(&rows[..1], true)
            .lines()
            .next()
            .unwrap()
            .ends_with("URL")
    );
    assert_eq!(table(&[], false), "no web hook subscriptions found\n");
}

#[test]
fn a_403_names_the_scope_and_the_permission() {
    let e = Error::Permission {
        connector: "boards",
        scope: "vso.work",
        endpoint: "hooks_subscriptions",
        message: "Access denied".into(),
    };
    let text = e.to_string();
    for part in [
        "vso.work",
        "Edit subscriptions",
        "Project Collection Administrators",
        "connectors.boards.tokens",
    ] {
        assert!(text.contains(part), "{text}");
    }
    assert!(!e.is_usage());
    assert!(
        Error::NoSecret
            .to_string()
            .contains("server.webhook_secret")
    );
}
