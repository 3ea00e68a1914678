//! `ado-ingest validate` (issue 14), the real binary against the simulator: for every
//! connector it tells apart a good token (ok), an unknown one (invalid_credentials), one
//! without the connector's scope (invalid_permissions, naming the endpoint and the scope) and
//! one whose user is in no project (no_resources); exit 0 only when all pass; a stored
//! credential near its expiry is warned about and its status recorded.

use crate::support::{self, Setup, TestDb};
use ado_sim::{Pat, SimConfig};
use serde_json::Value;
use std::path::Path;

const GOOD: &str = "val-good";
const UNKNOWN: &str = "val-unknown";
const LOST: &str = "val-no-project";
/// Scopes that grant no connector's data endpoints (only the projects listing).
const PROJECT_ONLY: &str = "val-project-only";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

const CONNECTORS: [&str; 5] = ["repos", "boards", "pull_commits", "commits", "pipelines"];

fn org() -> SimConfig {
    SimConfig {
        seed: 41,
        projects: 2,
        repos_per_project: 1,
        prs_per_repo: 5,
        work_items_per_project: 5,
        definitions_per_project: 1,
        builds_per_definition: 2,
        release_definitions_per_project: 1,
        environments_per_project: 1,
        pats: vec![
            Pat::full(GOOD),
            Pat::full(LOST),
            Pat {
                token: PROJECT_ONLY.into(),
                scopes: vec!["vso.project".into()],
            },
        ],
        outsiders: vec![LOST.into()],
        ..SimConfig::default()
    }
}

async fn validate(config: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = support::binary();
    cmd.arg("--config").arg(config).args(args);
    cmd.env("ADO_INGEST_MASTER_KEY", KEY);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_tells_the_four_outcomes_apart_for_every_connector() {
    let sim = support::start_sim(org()).await;
    let url = sim.base_url();
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(&url, db.url());
    setup.connectors = CONNECTORS.to_vec();
    setup.release_url = Some(&url);
    let tokens = format!(
        r#"{{ name = "good", secret = "{GOOD}" }}, {{ name = "unknown", secret = "{UNKNOWN}" }}, {{ name = "scopeless", secret = "{PROJECT_ONLY}" }}, {{ name = "lost", secret = "{LOST}" }}"#
    );
    setup.tokens = &tokens;
    let config = setup.write(dir.path());

    let (code, out, err) = validate(&config, &["validate", "--format", "json"]).await;
    assert_eq!(code, 1, "not every credential passes: {err}");
    let reports: Vec<Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(reports.len(), CONNECTORS.len() * 4, "{out}");
    for connector in CONNECTORS {
        let outcome = |credential: &str| -> &Value {
            reports
                .iter()
                .find(|r| r["connector"] == connector && r["credential"] == credential)
                .unwrap_or_else(|| panic!("{connector}/{credential} reported: {out}"))
        };
        assert_eq!(
            outcome("good")["outcome"],
            "ok",
            "{connector}: {}",
            outcome("good")
        );
        assert_eq!(
            outcome("unknown")["outcome"],
            "invalid_credentials",
            "{connector}"
        );
        assert_eq!(outcome("lost")["outcome"], "no_resources", "{connector}");
        let scopeless = outcome("scopeless");
        assert_eq!(
            scopeless["outcome"], "invalid_permissions",
            "{connector}: {scopeless}"
        );
        let message = scopeless["message"].as_str().unwrap();
        let scope = match connector {
            "boards" => "vso.work",
            "pipelines" => "vso.build",
            _ => "vso.code",
        };
        assert!(
            message.contains(scope),
            "{connector} names {scope}: {message}"
        );
        assert!(message.contains("403"), "{message}");
    }
    assert!(
        !out.contains(GOOD) && !err.contains(GOOD),
        "no secret in the output"
    );

    // Only the good token: exit 0, and a table a person can read.
    let good_only = format!(r#"{{ name = "good", secret = "{GOOD}" }}"#);
    setup.tokens = &good_only;
    let config = setup.write(dir.path());
    let (code, out, err) = validate(&config, &["validate"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.contains(" ok ")).count(),
        CONNECTORS.len(),
        "{out}"
    );

    // A stored credential expiring in 3 days: ok with a warning, and its status recorded.
    let expires = (chrono::Utc::now().date_naive() + chrono::Days::new(3)).to_string();
    let mut create = support::binary();
    create
        .arg("--config")
        .arg(&config)
        .args([
            "--connector",
            "repos",
            "credentials",
            "create",
            "--name",
            "repos-pat",
        ])
        .args(["--expires", &expires, "--secret-env", "VAL_SECRET"])
        .env("VAL_SECRET", GOOD)
        .env("ADO_INGEST_MASTER_KEY", KEY);
    let out = tokio::task::spawn_blocking(move || create.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = r#""cred:repos-pat""#;
    setup.tokens = stored;
    setup.connectors = vec!["repos"];
    let config = setup.write(dir.path());
    let (code, out, err) = validate(&config, &["validate", "--format", "json"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let reports: Vec<Value> = serde_json::from_str(&out).unwrap();
    let warnings = reports[0]["warnings"].to_string();
    assert!(
        warnings.contains(&format!("expires on {expires}, in 3 day")),
        "{warnings}"
    );
    let mut info = support::binary();
    info.arg("--config").arg(&config).args([
        "credentials",
        "info",
        "--name",
        "repos-pat",
        "--format",
        "json",
    ]);
    let out = tokio::task::spawn_blocking(move || info.output().unwrap())
        .await
        .unwrap();
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["status"], "active");
    assert!(view["validated_at"].is_string(), "{view}");
}
