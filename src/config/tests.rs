//! Loading, validation and redaction of the settings.

use super::*;
use secrecy::SecretString;

fn load(text: &str, env: &[(&str, &str)]) -> Result<Settings, Error> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ado-ingest.toml");
    std::fs::write(&path, text).unwrap();
    Settings::load_with_env(
        Some(&path),
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

const GOOD: &str = r#"
[database]
url = "sqlite://x.db"
[organization]
url = "https://dev.azure.com/contoso"
[connectors.repos]
tokens = ["literal-token"]
"#;

#[test]
fn defaults_fill_everything_but_the_required_keys() {
    let s = load(GOOD, &[]).unwrap();
    assert_eq!(s.organization.api_version, "7.1");
    assert_eq!(s.sync.overlap, Duration::from_secs(600));
    let r = s.connectors.repos.as_ref().unwrap();
    assert!(r.enabled);
    assert_eq!(r.burst, 20);
    assert_eq!(s.org_key(), "contoso");
    assert_eq!(s.graph_url(), "https://vssps.dev.azure.com/contoso");
    assert_eq!(s.release_url(), "https://vsrm.dev.azure.com/contoso");
}

#[test]
fn server_hosts_default_to_the_collection_and_can_be_overridden() {
    let server = GOOD.replace(
        "https://dev.azure.com/contoso",
        "https://ado.corp.example/tfs/DefaultCollection",
    );
    let s = load(&server, &[]).unwrap();
    assert_eq!(
        s.release_url(),
        "https://ado.corp.example/tfs/DefaultCollection"
    );
    assert_eq!(
        s.graph_url(),
        "https://ado.corp.example/tfs/DefaultCollection"
    );
    let text = server.replace(
        "[connectors.repos]",
        "release_url = \"https://rm.corp.example/tfs/DefaultCollection\"\n[connectors.repos]",
    );
    let s = load(&text, &[]).unwrap();
    assert_eq!(
        s.release_url(),
        "https://rm.corp.example/tfs/DefaultCollection"
    );
    let bad = server.replace(
        "[connectors.repos]",
        "release_url = \"vsrm.example\"\n[connectors.repos]",
    );
    let err = load(&bad, &[]).unwrap_err().to_string();
    assert!(err.contains("organization.release_url"), "{err}");
}

#[test]
fn unknown_key_is_rejected_with_its_name_and_file() {
    let err = load(&format!("{GOOD}\n[sync]\noverlapp = \"5m\"\n"), &[]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("overlapp"), "{msg}");
    assert!(msg.contains("ado-ingest.toml"), "{msg}");
}

#[test]
fn env_overrides_the_file() {
    let s = load(
        GOOD,
        &[
            ("ADO_INGEST__CONNECTORS__REPOS__BURST", "7"),
            ("ADO_INGEST__SYNC__OVERLAP", "2m"),
        ],
    )
    .unwrap();
    assert_eq!(s.connectors.repos.unwrap().burst, 7);
    assert_eq!(s.sync.overlap, Duration::from_secs(120));
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[database]
url = "mysql://x"
[organization]
url = "not a url"
api_version = "latest"
[connectors.repos]
tokens = ["env:ADO_INGEST_TEST_SURELY_UNSET_VAR"]
burst = 0
"#;
    let msg = load(text, &[]).unwrap_err().to_string();
    for needle in [
        "database.url",
        "organization.url",
        "organization.api_version: `latest` is not an api-version",
        "ADO_INGEST_TEST_SURELY_UNSET_VAR is not set",
        "connectors.repos.burst",
    ] {
        assert!(msg.contains(needle), "missing {needle} in {msg}");
    }
}

#[test]
fn loading_without_secrets_skips_only_the_token_references() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ado-ingest.toml");
    let unset = GOOD.replace("literal-token", "env:ADO_INGEST_TEST_SURELY_UNSET_VAR");
    std::fs::write(&path, &unset).unwrap();
    let s = Settings::load_without_secrets(Some(&path)).expect("tokens are not resolved");
    assert_eq!(s.org_key(), "contoso");
    std::fs::write(&path, unset.replace("sqlite://x.db", "mysql://x")).unwrap();
    let msg = Settings::load_without_secrets(Some(&path))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("database.url"), "{msg}");
    assert!(!msg.contains("SURELY_UNSET"), "{msg}");
}

#[test]
fn example_config_loads() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("pat");
    std::fs::write(&secret, "x").unwrap();
    let secret = secret.display().to_string();
    let text = include_str!("../../config/example.toml")
        .replace("env:ADO_REPOS_PAT_1", &format!("file:{secret}"))
        .replace("file:/run/secrets/ado_pat_2", &format!("file:{secret}"))
        .replace("env:ADO_BOARDS_PAT", &format!("file:{secret}"))
        .replace("env:ADO_COMMITS_PAT", &format!("file:{secret}"))
        .replace("env:ADO_PIPELINES_PAT", &format!("file:{secret}"));
    let s = Settings::from_toml(Some(&text), "example.toml", std::iter::empty()).unwrap();
    assert!(s.connectors.pull_commits.is_some());
    let pipelines = s
        .connectors
        .pipelines
        .as_ref()
        .expect("[connectors.pipelines]");
    assert_eq!(
        pipelines.pipelines(),
        crate::config::PipelinesSettings::default(),
        "the example shows the defaults"
    );
    let commits = s.connectors.commits.as_ref().expect("[connectors.commits]");
    assert!(!commits.enabled, "the Commits connector ships disabled");
    let depth = s
        .connectors
        .repos
        .as_ref()
        .unwrap()
        .pull_request_depth
        .unwrap();
    assert_eq!(depth, crate::config::PullRequestDepthSettings::default());
    let repos = s.connectors.repos.unwrap();
    assert_eq!(repos.resolve_tokens().unwrap()[1].name, "svc-repos-2");
    assert_eq!(s.http.max_retries, HttpSettings::default().max_retries);
}

#[test]
fn pull_request_depth_is_a_repos_setting() {
    let text = |section: &str| {
        format!(
            "[database]\nurl = \"sqlite://x.db\"\n[organization]\nurl = \"https://dev.azure.com/o\"\n\
             [connectors.{section}]\ntokens = [\"env:PATH\"]\n\
             [connectors.{section}.pull_request_depth]\nrefresh_active_after = \"2h\"\n"
        )
    };
    let s = Settings::from_toml(Some(&text("repos")), "t.toml", std::iter::empty()).unwrap();
    let depth = s.connectors.repos.unwrap().pull_request_depth.unwrap();
    assert!(depth.enabled && depth.policy_evaluations);
    assert_eq!(depth.refresh_active_after, Duration::from_secs(7200));
    let err = Settings::from_toml(Some(&text("boards")), "t.toml", std::iter::empty())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("connectors.boards.pull_request_depth"),
        "{err}"
    );
}

#[test]
fn every_registered_connector_has_a_config_section() {
    let mut known = ConnectorsSettings::KNOWN.to_vec();
    let mut registered = crate::connectors::names();
    known.sort();
    registered.sort();
    assert_eq!(known, registered);
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
    assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
    assert!(parse_duration("5 fortnights").is_err());
}

#[test]
fn token_debug_never_shows_the_value() {
    let t = Token {
        name: "env:X".into(),
        secret: SecretString::from("hunter2".to_string()),
    };
    assert!(!format!("{t:?}").contains("hunter2"));
}

#[test]
fn legacy_visualstudio_urls_are_services_with_their_own_hosts() {
    let text = GOOD.replace(
        "https://dev.azure.com/contoso",
        "https://contoso.visualstudio.com/",
    );
    let s = load(&text, &[]).unwrap();
    assert_eq!(s.org_key(), "contoso");
    assert_eq!(s.release_url(), "https://contoso.vsrm.visualstudio.com");
    assert_eq!(s.graph_url(), "https://contoso.vssps.visualstudio.com");
}

#[test]
fn org_key_is_the_collection_for_server_urls() {
    let text = GOOD.replace(
        "https://dev.azure.com/contoso",
        "https://ado.corp.example/tfs/DefaultCollection/",
    );
    assert_eq!(load(&text, &[]).unwrap().org_key(), "DefaultCollection");
}

#[test]
fn debug_output_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let pat = dir.path().join("pat");
    std::fs::write(&pat, "file-s3cret").unwrap();
    let text = r#"
[database]
url = "postgres://ado:db-s3cret@db.example/ingest?password=q-s3cret"
[organization]
url = "https://dev.azure.com/contoso"
[server]
webhook_secret = "hook-s3cret"
[connectors.repos]
tokens = ["pat-s3cret", { name = "ci", secret = "named-s3cret" }, "file:PAT"]
"#
    .replace("PAT", &pat.display().to_string());
    let s = load(&text, &[]).unwrap();
    let shown = format!("{s:?}");
    for secret in [
        "db-s3cret",
        "q-s3cret",
        "hook-s3cret",
        "pat-s3cret",
        "named-s3cret",
        "file-s3cret",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("file:/"),
        "references still show where a token is: {shown}"
    );
}

#[test]
fn clear_text_transport_is_warned_about_except_on_loopback() {
    let with = |db: &str, org: &str| {
        load(
            &GOOD
                .replace("sqlite://x.db", db)
                .replace("https://dev.azure.com/contoso", org),
            &[],
        )
        .unwrap()
        .transport_warnings()
    };
    assert!(with("sqlite://x.db", "https://dev.azure.com/contoso").is_empty());
    let w = with(
        "sqlite://x.db",
        "http://tfs.corp.example/tfs/DefaultCollection",
    );
    assert_eq!(
        w.len(),
        1,
        "the organization URL, once (graph and release default to it): {w:?}"
    );
    assert!(w[0].contains("clear text"), "{w:?}");
    assert!(with("sqlite://x.db", "http://127.0.0.1:8080/org").is_empty());
    let release = load(
        &GOOD.replace(
            "[connectors.repos]",
            "release_url = \"http://rm.corp.example/tfs/DefaultCollection\"\n[connectors.repos]",
        ),
        &[],
    )
    .unwrap()
    .transport_warnings();
    assert_eq!(release.len(), 1, "{release:?}");
    assert!(
        release[0].starts_with("organization.release_url"),
        "{release:?}"
    );
    let w = with(
        "postgres://u:p@db.example/ingest",
        "https://dev.azure.com/contoso",
    );
    assert!(
        w[0].contains("sslmode=prefer") && !w[0].contains(":p@"),
        "{w:?}"
    );
    assert!(
        with(
            "postgres://db.example/ingest?sslmode=verify-full",
            "https://dev.azure.com/contoso"
        )
        .is_empty()
    );
    assert!(
        with(
            "postgres://postgres@127.0.0.1/test",
            "https://dev.azure.com/contoso"
        )
        .is_empty()
    );
}
