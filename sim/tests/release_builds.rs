//! The release side names real builds of the Build side: a deployment record's `owner` is a
//! build of its project and its `definition` that build's definition (a YAML one), each
//! generated run its own build; a release's artifact is a build of its project — after
//! generation, after mutation rounds and precise changes; projects without builds keep
//! synthetic references.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ado_sim::{Change, Sim, SimConfig};
use serde_json::Value;

fn cfg(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        projects: 2,
        repos_per_project: 2,
        prs_per_repo: 5,
        work_items_per_project: 0,
        definitions_per_project: 4,
        builds_per_definition: 25,
        release_definitions_per_project: 3,
        releases_per_definition: 20,
        environments_per_project: 3,
        deployment_records_per_environment: 30,
        ..SimConfig::default()
    }
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

struct BuildFacts {
    definition: u64,
    definition_name: String,
    number: String,
    finished: Option<String>,
}

/// Checks every reference of the release side against the builds; answers (records, releases)
/// checked.
fn check(sim: &Sim) -> (usize, usize) {
    let t = sim.truth_kinds(&[
        "pipelines",
        "builds",
        "environments",
        "environment_deployments",
        "releases",
    ]);
    // (project id, definition id) → YAML?
    let yaml: BTreeMap<(String, u64), bool> = arr(&t["pipelines"])
        .iter()
        .map(|d| {
            let key = (s(&d["project"]["id"]), d["id"].as_u64().unwrap());
            (key, d["process"]["type"] == 2)
        })
        .collect();
    // (project id, build id) → what a reference must repeat.
    let builds: HashMap<(String, u64), BuildFacts> = arr(&t["builds"])
        .iter()
        .map(|b| {
            let key = (s(&b["project"]["id"]), b["id"].as_u64().unwrap());
            let facts = BuildFacts {
                definition: b["definition"]["id"].as_u64().unwrap(),
                definition_name: s(&b["definition"]["name"]),
                number: s(&b["buildNumber"]),
                finished: b["finishTime"].as_str().map(str::to_string),
            };
            (key, facts)
        })
        .collect();
    assert!(!builds.is_empty());
    let env_project: BTreeMap<u64, String> = arr(&t["environments"])
        .iter()
        .map(|e| (e["id"].as_u64().unwrap(), s(&e["project"]["id"])))
        .collect();

    let records = arr(&t["environment_deployments"]);
    assert!(!records.is_empty());
    let mut plans: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for r in records {
        let project = &env_project[&r["environmentId"].as_u64().unwrap()];
        assert_eq!(&s(&r["scopeId"]), project);
        let owner = r["owner"]["id"].as_u64().unwrap();
        let b = builds
            .get(&(project.clone(), owner))
            .unwrap_or_else(|| panic!("record {}: no build {owner} in {project}", r["id"]));
        let def = r["definition"]["id"].as_u64().unwrap();
        assert_eq!(def, b.definition, "record {}: definition", r["id"]);
        assert_eq!(s(&r["definition"]["name"]), b.definition_name);
        assert_eq!(s(&r["owner"]["name"]), b.number);
        assert!(
            yaml[&(project.clone(), def)],
            "record {}: a YAML definition",
            r["id"]
        );
        plans.entry(owner).or_default().insert(s(&r["planId"]));
    }
    // One run, one plan (and generated runs have builds of their own).
    assert!(plans.values().all(|p| p.len() == 1), "{plans:?}");

    let releases = arr(&t["releases"]);
    assert!(!releases.is_empty());
    let mut before = 0;
    for r in releases {
        let project = s(&r["projectReference"]["id"]);
        let a = &arr(&r["artifacts"])[0]["definitionReference"];
        let id: u64 = s(&a["version"]["id"]).parse().unwrap();
        let b = builds
            .get(&(project.clone(), id))
            .unwrap_or_else(|| panic!("release {}: no build {id} in {project}", r["id"]));
        assert_eq!(s(&a["version"]["name"]), b.number);
        assert_eq!(s(&a["definition"]["id"]), b.definition.to_string());
        assert_eq!(s(&a["definition"]["name"]), b.definition_name);
        assert_eq!(s(&a["project"]["id"]), project);
        // Timestamps share one format, so they compare as text.
        if b.finished
            .as_deref()
            .is_some_and(|f| f <= r["createdOn"].as_str().unwrap())
        {
            before += 1;
        }
    }
    // Nearly every artifact was built before its release.
    assert!(
        before * 10 >= releases.len() * 9,
        "{before} of {}",
        releases.len()
    );
    (records.len(), releases.len())
}

#[test]
fn references_name_real_builds() {
    let sim = Sim::new(cfg(21));
    let (records, releases) = check(&sim);
    // Generated runs each have a build of their own while there are enough.
    let t = sim.truth_kinds(&["environment_deployments"]);
    let plans: BTreeSet<String> = arr(&t["environment_deployments"])
        .iter()
        .map(|r| s(&r["planId"]))
        .collect();
    let owners: BTreeSet<u64> = arr(&t["environment_deployments"])
        .iter()
        .map(|r| r["owner"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(plans.len(), owners.len());

    // The same seed names the same builds.
    let again = Sim::new(cfg(21)).truth_kinds(&["environment_deployments", "releases"]);
    assert_eq!(
        again,
        sim.truth_kinds(&["environment_deployments", "releases"])
    );

    // Mutations and precise changes name real builds too.
    sim.mutate_builds(3, 30);
    let v = sim.mutate_releases(5, 80);
    assert!(
        v["changed"]["environment_records_created"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(v["changed"]["releases_created"].as_u64().unwrap() > 0);
    let projects = sim.truth_kinds(&["projects"]);
    let name = s(&arr(&projects["projects"])[0]["name"]);
    sim.apply(&Change::CreateRelease {
        project: name,
        definition: 1,
    })
    .unwrap();
    for (environment, finished) in [(1, true), (1, false), (2, false)] {
        sim.apply(&Change::AddEnvironmentRecord {
            environment,
            finished,
        })
        .unwrap();
    }
    let (records2, releases2) = check(&sim);
    assert!(records2 > records && releases2 > releases);
}

#[test]
fn unfinished_records_name_running_or_recent_builds() {
    let sim = Sim::new(cfg(8));
    let t = sim.truth_kinds(&["builds", "environment_deployments"]);
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok();
    let builds: HashMap<u64, &Value> = arr(&t["builds"])
        .iter()
        .map(|b| (b["id"].as_u64().unwrap(), b))
        .collect();
    let newest = arr(&t["builds"])
        .iter()
        .filter_map(|b| time(&b["finishTime"]))
        .max()
        .unwrap();
    let open: Vec<&Value> = arr(&t["environment_deployments"])
        .iter()
        .filter(|r| r.get("result").is_none())
        .collect();
    assert!(!open.is_empty());
    for r in open {
        let b = builds[&r["owner"]["id"].as_u64().unwrap()];
        let running = b["status"] != "completed";
        let recent =
            time(&b["finishTime"]).is_some_and(|f| newest - f < chrono::Duration::days(60));
        assert!(running || recent, "record {}: build {b}", r["id"]);
    }
}

#[test]
fn projects_without_builds_keep_synthetic_references() {
    let sim = Sim::new(SimConfig {
        definitions_per_project: 0,
        ..cfg(3)
    });
    let t = sim.truth_kinds(&["builds", "environment_deployments", "releases"]);
    assert!(arr(&t["builds"]).is_empty());
    assert!(!arr(&t["environment_deployments"]).is_empty());
    for r in arr(&t["environment_deployments"]) {
        assert!(r["owner"]["id"].as_u64().unwrap() > 0);
        assert!(r["definition"]["id"].as_u64().unwrap() > 0);
    }
    sim.mutate_releases(1, 20);
}
