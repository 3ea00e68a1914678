//! The credentials API of `run` (`/api/v1/credentials`, issue 14), the real binary against the
//! simulator: the bearer token guards it, create / get / list / patch / delete answer JSON
//! without a secret, a created or rotated credential comes back validated, bad input and a
//! missing master key are 4xx with a code, and the API is off without `server.admin_token`.

use crate::support::{self, Setup, TestDb, service::Service};
use ado_sim::{Pat, SimConfig};
use serde_json::{Value, json};
use std::time::Duration;

const PAT: &str = "api-pat-3c9e1f-not-for-logs";
const ROTATED: &str = "api-pat-rotated-7d2a-not-for-logs";
const ADMIN: &str = "admin-token-for-tests";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

async fn call(
    service: &Service,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut r = reqwest::Client::new()
        .request(method, format!("{}{path}", service.base))
        .timeout(Duration::from_secs(30));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    for s in [PAT, ROTATED] {
        assert!(!text.contains(s), "{path} answered a secret: {text}");
    }
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credentials_api_manages_validates_and_never_answers_a_secret() {
    let sim = support::start_sim(SimConfig {
        seed: 51,
        projects: 2,
        repos_per_project: 1,
        prs_per_repo: 5,
        pats: vec![Pat::full("demo-pat"), Pat::full(PAT)],
        ..SimConfig::default()
    })
    .await;
    let url = sim.base_url();
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(&url, db.url());
    setup.interval = "1h";
    setup.extra = "\n[server]\nlisten = \"127.0.0.1:0\"\nadmin_token = \"env:IT_ADMIN_TOKEN\"\n";
    let config = setup.write(dir.path());
    let service = Service::start_with_env(
        &config,
        &[("IT_ADMIN_TOKEN", ADMIN), ("ADO_INGEST_MASTER_KEY", KEY)],
    );
    use reqwest::Method as M;
    let base = "/api/v1/credentials";

    for token in [None, Some("wrong")] {
        let (status, body, _) = call(&service, M::GET, base, token, None).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    }

    let create = json!({
        "name": "repos-pat", "connectors": ["repos"], "secret": PAT,
        "description": "api", "expires_on": "2099-01-01",
    });
    let (status, body, text) =
        call(&service, M::POST, base, Some(ADMIN), Some(create.clone())).await;
    assert_eq!(status, 201, "{text}");
    assert_eq!(body["credential"]["name"], "repos-pat");
    assert_eq!(body["credential"]["version"], 1);
    assert!(
        body["credential"]["credentials_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(body["validation"][0]["outcome"], "ok", "{text}");
    assert_eq!(body["validation"][0]["connector"], "repos");

    let (status, body, _) = call(&service, M::POST, base, Some(ADMIN), Some(create)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("already_exists"))
    );
    for (bad, code) in [
        (
            json!({"name": "Bad Name", "connectors": ["repos"], "secret": "x"}),
            "invalid_input",
        ),
        (
            json!({"name": "d", "connectors": ["repos"], "secret": "x", "description": "x".repeat(257)}),
            "invalid_input",
        ),
        (
            json!({"name": "u", "connectors": ["repos"], "secret": "x", "colour": "red"}),
            "invalid_input",
        ),
        (
            json!({"name": "c", "connectors": ["nope"], "secret": "x"}),
            "invalid_input",
        ),
        (
            json!({"name": "e", "connectors": ["repos"], "secret": "x", "expires_on": "soon"}),
            "invalid_input",
        ),
    ] {
        let (status, body, text) =
            call(&service, M::POST, base, Some(ADMIN), Some(bad.clone())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some(code)),
            "{bad}: {text}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    let (status, body, _) = call(&service, M::GET, base, Some(ADMIN), None).await;
    assert_eq!((status, body["count"].as_u64()), (200, Some(1)));
    let (status, body, _) = call(
        &service,
        M::GET,
        &format!("{base}/repos-pat"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!((status, body["description"].as_str()), (200, Some("api")));

    // Rotation: a partial PATCH; the new secret is validated at once.
    sim.sim.add_pat(Pat::full(ROTATED));
    let (status, body, text) = call(
        &service,
        M::PATCH,
        &format!("{base}/repos-pat"),
        Some(ADMIN),
        Some(json!({"secret": ROTATED, "description": null})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(body["credential"]["version"], 2);
    assert_eq!(body["credential"]["description"], Value::Null);
    assert_eq!(body["credential"]["expires_on"], "2099-01-01", "untouched");
    assert_eq!(body["validation"][0]["outcome"], "ok", "{text}");
    sim.sim.reset_stats();
    let (status, body, text) = call(
        &service,
        M::POST,
        &format!("{base}/repos-pat/validate"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{text}");
    assert!(sim.sim.stats()["by_token"][ROTATED].as_u64().unwrap_or(0) > 0);

    // A secret ADO does not know: stored (version 3), validated as invalid_credentials, and
    // the credential marked invalid.
    let (status, body, text) = call(
        &service,
        M::PATCH,
        &format!("{base}/repos-pat"),
        Some(ADMIN),
        Some(json!({"secret": "not-a-pat-ado-knows"})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        body["validation"][0]["outcome"], "invalid_credentials",
        "{text}"
    );
    let (_, body, _) = call(
        &service,
        M::GET,
        &format!("{base}/repos-pat"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(body["status"], "invalid");
    let (status, body, _) = call(
        &service,
        M::PATCH,
        &format!("{base}/repos-pat"),
        Some(ADMIN),
        Some(json!({"method": "managed_identity"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_input"))
    );

    let (status, _, _) = call(
        &service,
        M::DELETE,
        &format!("{base}/repos-pat"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, body, _) = call(
        &service,
        M::GET,
        &format!("{base}/repos-pat"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let log = service.log();
    for s in [PAT, ROTATED, ADMIN] {
        assert!(!log.contains(s), "the log holds a secret");
    }
    drop(service);

    // Without the master key nothing with a secret is stored; without admin_token no API.
    let no_key = Service::start_with_env(&config, &[("IT_ADMIN_TOKEN", ADMIN)]);
    let (status, body, _) = call(
        &no_key,
        M::POST,
        base,
        Some(ADMIN),
        Some(json!({"name": "k", "connectors": ["repos"], "secret": PAT})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("master_key_missing"))
    );
    drop(no_key);
    setup.extra = "\n[server]\nlisten = \"127.0.0.1:0\"\n";
    let config = setup.write(dir.path());
    let off = Service::start(&config);
    let (status, body, _) = call(&off, M::GET, base, Some(ADMIN), None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("api_off")));
}
