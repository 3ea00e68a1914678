//! Pipelines benchmark (harness-less: `cargo bench --bench pipelines`).
//!
//! A simulated org (default 4 projects × 5 build definitions × 1,000 builds = 20,000 builds;
//! 4 release definitions × 125 releases and 4 YAML environments × up to 500 deployment
//! records per project) is copied by the real `ado-ingest` binary with the Pipelines
//! connector alone — build changes, releases and environments on — into a fresh SQLite file
//! (and a fresh Postgres database when `TEST_DATABASE_URL` is set). Per store it measures
//! three runs:
//! 1. `backfill`;
//! 2. `sync` after `mutate_builds` touched ~1% of the builds and `mutate_releases` applied
//!    one change per 50 releases;
//! 3. `sync` with nothing changed (idle).
//!
//! Requests come from the simulator's own count by endpoint and are set against the fewest
//! the page caps allow for what the phase must read, computed from the simulator's truth
//! before and after the mutation (the formulas are printed with the table). Wall time, rows
//! written (the binary's summary lines), CPU and peak RSS as in `pr_depth`
//! (`benches/support/ingest_run.rs`). The sync settings are the product's defaults: a sync
//! right after a backfill is no reconciliation, so it neither looks for retention-deleted
//! builds nor walks the releases from the start.
//!
//! Knobs: `BENCH_PROJECTS` (default 4), `BENCH_DEFINITIONS_PER_PROJECT` (5),
//! `BENCH_BUILDS_PER_DEFINITION` (1,000), `BENCH_RELEASE_DEFINITIONS_PER_PROJECT` (4),
//! `BENCH_RELEASES_PER_DEFINITION` (125), `BENCH_ENVIRONMENTS_PER_PROJECT` (4),
//! `BENCH_RECORDS_PER_ENVIRONMENT` (500), `BENCH_LATENCY_MS` (0: the simulator's latency
//! added to every request).

#[path = "support/ingest_run.rs"]
mod ingest_run;

use ado_sim::{FaultConfig, Sim, SimConfig};
use ingest_run::{
    Run, Target, connector_section, db_env_shown, env_num, limits_shown, print_resources, ratio,
    run_binary, table_counts, targets,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// Largest page of each listing, as the minimum assumes it (the simulator serves these).
/// `builds`: ADO documents no cap; 1,000 is what the connector asks and ADO's other lists take.
const BUILDS_PAGE: u64 = 1000;
/// `build/definitions` and `distributedtask/environments`.
const DEFINITIONS_PAGE: u64 = 1000;
/// `builds/{id}/changes`: 200 whatever `$top` asks (API_FACTS §1.1).
const CHANGES_PAGE: u64 = 200;
/// `release/releases` and `release/deployments` (`$top` ≤ 100).
const RELEASES_PAGE: u64 = 100;
/// `environmentdeploymentrecords` (`top` ≤ 500 in the simulator; ADO documents no cap).
const RECORDS_PAGE: u64 = 500;

/// The simulator's truth reduced to what the minimum is computed from.
#[derive(Default)]
struct Snapshot {
    /// Definitions per project id.
    definitions: BTreeMap<String, u64>,
    /// Every build, retention-deleted ones included, by id.
    builds: BTreeMap<u64, Build>,
    /// Releases as (project id, release id): release ids are per project.
    releases: BTreeSet<(String, u64)>,
    /// Deployments, (project id, deployment id) → release id.
    deployments: BTreeMap<(String, u64), u64>,
    /// Environment id → project id.
    environments: BTreeMap<u64, String>,
    /// Deployment record id → environment id.
    records: BTreeMap<u64, u64>,
}

struct Build {
    project: String,
    completed: bool,
    deleted: bool,
    changes: u64,
}

impl Build {
    /// Finished and still there: its timeline and changes are due once.
    fn finished(&self) -> bool {
        self.completed && !self.deleted
    }
}

fn items<'a>(truth: &'a Value, kind: &str) -> impl Iterator<Item = &'a Value> {
    truth[kind].as_array().into_iter().flatten()
}

fn id(v: &Value) -> u64 {
    v["id"].as_u64().unwrap_or(0)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

impl Snapshot {
    fn read(sim: &Sim) -> Snapshot {
        let mut s = Snapshot::default();
        // Changes first, one kind at a time: their messages are the bulk of the truth.
        let mut changes: BTreeMap<u64, u64> = BTreeMap::new();
        for c in items(&sim.truth_kinds(&["build_changes"]), "build_changes") {
            *changes
                .entry(c["buildId"].as_u64().unwrap_or(0))
                .or_default() += 1;
        }
        let t = sim.truth_kinds(&[
            "pipelines",
            "builds",
            "releases",
            "release_deployments",
            "environments",
            "environment_deployments",
        ]);
        for d in items(&t, "pipelines") {
            *s.definitions.entry(text(&d["project"]["id"])).or_default() += 1;
        }
        for b in items(&t, "builds") {
            s.builds.insert(
                id(b),
                Build {
                    project: text(&b["project"]["id"]),
                    completed: b["status"] == "completed",
                    deleted: b["deleted"].as_bool().unwrap_or(false),
                    changes: changes.get(&id(b)).copied().unwrap_or(0),
                },
            );
        }
        for r in items(&t, "releases") {
            s.releases
                .insert((text(&r["projectReference"]["id"]), id(r)));
        }
        for d in items(&t, "release_deployments") {
            s.deployments.insert(
                (text(&d["projectReference"]["id"]), id(d)),
                id(&d["release"]),
            );
        }
        for e in items(&t, "environments") {
            s.environments.insert(id(e), text(&e["project"]["id"]));
        }
        for r in items(&t, "environment_deployments") {
            s.records
                .insert(id(r), r["environmentId"].as_u64().unwrap_or(0));
        }
        s
    }

    fn projects(&self) -> BTreeSet<&str> {
        self.definitions.keys().map(String::as_str).collect()
    }
}

/// `n` items in pages of `page`, at least one request (an empty answer is an answer).
fn pages(n: u64, page: u64) -> u64 {
    n.div_ceil(page).max(1)
}

fn per<K: Ord>(keys: impl Iterator<Item = K>) -> BTreeMap<K, u64> {
    let mut out = BTreeMap::new();
    for k in keys {
        *out.entry(k).or_default() += 1;
    }
    out
}

/// Pages per project of the items counted per project, every project at least one.
fn pages_per_project(projects: &BTreeSet<&str>, counts: &BTreeMap<&str, u64>, page: u64) -> u64 {
    projects
        .iter()
        .map(|p| pages(counts.get(p).copied().unwrap_or(0), page))
        .sum()
}

/// What a phase had to read, as the inputs of the minimum.
#[derive(Default)]
struct Due {
    /// Builds whose timeline is due (finished, never fetched or touched).
    timelines: BTreeSet<u64>,
    /// Builds whose changes are due (finished and never fetched).
    changes: BTreeSet<u64>,
    /// A backfill lists every build (deleted ones included, `deletedFilter=includeDeleted`);
    /// a sync lists the builds finished since the watermark and the unfinished ones.
    backfill: bool,
    /// Builds finished since the previous pass, per project.
    finished_since: BTreeMap<String, u64>,
    /// Releases to list (created since the previous pass), per project.
    new_releases: BTreeMap<String, u64>,
    /// Deployments to list (changed since the previous pass), per project.
    deployments: BTreeMap<String, u64>,
    /// Existing releases a changed deployment belongs to: read again by id.
    reread_releases: u64,
    /// Deployment records to list (new or changed), per environment.
    records: BTreeMap<u64, u64>,
}

/// An endpoint group of the table: its simulator labels and its minimum.
struct Kind {
    name: &'static str,
    labels: &'static [&'static str],
    formula: &'static str,
    minimum: fn(&Snapshot, &Due) -> u64,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "projects",
        labels: &["projects"],
        formula: "1",
        minimum: |_, _| 1,
    },
    Kind {
        name: "build definitions",
        labels: &["build_definitions"],
        formula: "⌈definitions / 1,000⌉ per project",
        minimum: |s, _| {
            let counts = s
                .definitions
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect();
            pages_per_project(&s.projects(), &counts, DEFINITIONS_PAGE)
        },
    },
    Kind {
        name: "builds (lists, by id)",
        labels: &["builds", "build"],
        formula: "backfill: ⌈builds incl. deleted / 1,000⌉ per project; sync: ⌈finished since / 1,000⌉ + ⌈unfinished / 1,000⌉ per project",
        minimum: |s, due| {
            let projects = s.projects();
            if due.backfill {
                let all = per(s.builds.values().map(|b| b.project.as_str()));
                pages_per_project(&projects, &all, BUILDS_PAGE)
            } else {
                let open = per(s
                    .builds
                    .values()
                    .filter(|b| !b.completed && !b.deleted)
                    .map(|b| b.project.as_str()));
                let since = due
                    .finished_since
                    .iter()
                    .map(|(k, v)| (k.as_str(), *v))
                    .collect();
                pages_per_project(&projects, &since, BUILDS_PAGE)
                    + pages_per_project(&projects, &open, BUILDS_PAGE)
            }
        },
    },
    Kind {
        name: "timelines",
        labels: &["build_timeline"],
        formula: "1 per finished build due (backfill: every finished, not deleted; sync: those touched)",
        minimum: |_, due| due.timelines.len() as u64,
    },
    Kind {
        name: "build changes",
        labels: &["build_changes"],
        formula: "⌈changes / 200⌉ (≥ 1) per build finished since the previous pass",
        minimum: |s, due| {
            due.changes
                .iter()
                .map(|b| pages(s.builds.get(b).map_or(0, |b| b.changes), CHANGES_PAGE))
                .sum()
        },
    },
    Kind {
        name: "releases (list)",
        labels: &["release_releases"],
        formula: "⌈releases created since / 100⌉ per project",
        minimum: |s, due| {
            let counts = due
                .new_releases
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect();
            pages_per_project(&s.projects(), &counts, RELEASES_PAGE)
        },
    },
    Kind {
        name: "release deployments",
        labels: &["release_deployments"],
        formula: "⌈deployments changed since / 100⌉ per project",
        minimum: |s, due| {
            let counts = due
                .deployments
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect();
            pages_per_project(&s.projects(), &counts, RELEASES_PAGE)
        },
    },
    Kind {
        name: "releases read again",
        labels: &["release_release"],
        formula: "older releases whose deployments changed (backfill: 0, the list holds them)",
        minimum: |_, due| due.reread_releases,
    },
    Kind {
        name: "environments",
        labels: &["environments"],
        formula: "⌈environments / 1,000⌉ per project",
        minimum: |s, _| {
            let counts = per(s.environments.values().map(String::as_str));
            pages_per_project(&s.projects(), &counts, DEFINITIONS_PAGE)
        },
    },
    Kind {
        name: "environment records",
        labels: &["environment_deployment_records"],
        formula: "⌈records new or changed / 500⌉ per environment",
        minimum: |s, due| {
            s.environments
                .keys()
                .map(|e| pages(due.records.get(e).copied().unwrap_or(0), RECORDS_PAGE))
                .sum()
        },
    },
];

/// Every build finished and every release, deployment and record of the snapshot is due.
fn backfill_due(s: &Snapshot) -> Due {
    let finished: BTreeSet<u64> = s
        .builds
        .iter()
        .filter(|(_, b)| b.finished())
        .map(|(id, _)| *id)
        .collect();
    Due {
        timelines: finished.clone(),
        changes: finished,
        backfill: true,
        finished_since: BTreeMap::new(),
        new_releases: per(s.releases.iter().map(|(p, _)| p.clone())),
        deployments: per(s.deployments.keys().map(|(p, _)| p.clone())),
        reread_releases: 0,
        records: per(s.records.values().copied()),
    }
}

/// What the mutation rounds made due, from their answers and the truth before and after.
fn mutation_due(before: &Snapshot, after: &Snapshot, built: &Value, released: &Value) -> Due {
    let ids = |v: &Value| -> Vec<u64> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect()
    };
    let touched_builds = ids(&built["touched_builds"]);
    let finished_now = |id: &u64| after.builds.get(id).is_some_and(Build::finished);
    let timelines: BTreeSet<u64> = touched_builds
        .iter()
        .copied()
        .filter(finished_now)
        .collect();
    let changes: BTreeSet<u64> = timelines
        .iter()
        .copied()
        .filter(|id| !before.builds.get(id).is_some_and(|b| b.completed))
        .collect();
    let finished_since = per(changes.iter().map(|id| after.builds[id].project.clone()));
    let new_releases = per(after
        .releases
        .difference(&before.releases)
        .map(|(p, _)| p.clone()));
    // Deployments are named by project and id (ids are per project).
    let touched_deployments: BTreeSet<(String, u64)> = released["touched_deployments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| (text(&d["projectId"]), id(d)))
        .filter(|k| after.deployments.contains_key(k))
        .collect();
    let deployments = per(touched_deployments.iter().map(|(p, _)| p.clone()));
    let reread_releases = touched_deployments
        .iter()
        .map(|k| (k.0.clone(), after.deployments[k]))
        .filter(|r| before.releases.contains(r))
        .collect::<BTreeSet<_>>()
        .len() as u64;
    let records = per(ids(&released["touched_environment_records"])
        .iter()
        .filter_map(|r| after.records.get(r).copied()));
    Due {
        timelines,
        changes,
        backfill: false,
        finished_since,
        new_releases,
        deployments,
        reread_releases,
        records,
    }
}

/// Nothing changed: each listing once.
fn idle_due() -> Due {
    Due::default()
}

/// One measured phase.
struct Phase {
    name: String,
    run: Run,
    /// The minimum per entry of [`KINDS`].
    minimum: Vec<u64>,
    /// Builds in the org (retention-deleted included) when it ran.
    builds: u64,
}

impl Phase {
    fn new(name: String, run: Run, s: &Snapshot, due: &Due) -> Phase {
        Phase {
            name,
            run,
            minimum: KINDS.iter().map(|k| (k.minimum)(s, due)).collect(),
            builds: s.builds.len() as u64,
        }
    }

    /// Requests to endpoints outside [`KINDS`] (token checks, connection data…).
    fn other(&self) -> u64 {
        let known: u64 = KINDS.iter().map(|k| self.run.sum(k.labels)).sum();
        self.run.requests - known
    }

    /// The minimum of [`KINDS`] plus the other requests at what they cost.
    fn minimum_total(&self) -> u64 {
        self.minimum.iter().sum::<u64>() + self.other()
    }
}

fn print_requests(phases: &[Phase]) {
    print!("| endpoint | minimum |");
    for p in phases {
        print!(" {} | min | × |", p.name);
    }
    println!();
    print!("|---|---|");
    for _ in phases {
        print!("---:|---:|---:|");
    }
    println!();
    for (i, k) in KINDS.iter().enumerate() {
        print!("| {} | {} |", k.name, k.formula);
        for p in phases {
            let n = p.run.sum(k.labels);
            print!(" {n} | {} | {} |", p.minimum[i], ratio(n, p.minimum[i]));
        }
        println!();
    }
    print!("| other (counted as their own minimum) | – |");
    for p in phases {
        print!(" {} | {} | – |", p.other(), p.other());
    }
    println!();
    print!("| **all** | |");
    for p in phases {
        let min = p.minimum_total();
        print!(
            " **{}** | {min} | **{}** |",
            p.run.requests,
            ratio(p.run.requests, min)
        );
    }
    println!();
}

fn print_summary(phases: &[Phase]) {
    println!(
        "| phase | wall s | requests | req/s | requests / 1,000 builds | minimum | × minimum | rows written | rows/s | peak RSS MB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in phases {
        let r = &p.run;
        let secs = r.wall.as_secs_f64().max(1e-9);
        println!(
            "| {}{} | {secs:.1} | {} | {:.0} | {:.1} | {} | {} | {} | {:.0} | {:.1} |",
            p.name,
            if r.ok { "" } else { " (FAILED)" },
            r.requests,
            r.requests as f64 / secs,
            r.requests as f64 * 1000.0 / p.builds.max(1) as f64,
            p.minimum_total(),
            ratio(r.requests, p.minimum_total()),
            r.rows_reported,
            r.rows_reported as f64 / secs,
            r.peak_rss_kb as f64 / 1024.0,
        );
    }
}

/// The Pipelines tables after the backfill.
const TABLES: [&str; 9] = [
    "pipelines",
    "builds",
    "build_timeline_records",
    "build_changes",
    "releases",
    "release_environments",
    "release_deployments",
    "environments",
    "environment_deployments",
];

fn print_tables(counts: &BTreeMap<String, i64>, wall: Duration) {
    let get = |t: &str| counts.get(t).copied().unwrap_or(0);
    let total: i64 = counts.values().sum();
    println!("| table after backfill | rows |");
    println!("|---|---:|");
    for t in TABLES {
        println!("| {t} | {} |", get(t));
    }
    println!(
        "| every counted table, bookkeeping included ({} rows/s of backfill wall time) | {total} |",
        (total as f64 / wall.as_secs_f64().max(1e-9)).round()
    );
}

/// The scenario's sizes.
#[derive(Clone, Copy)]
struct Scale {
    projects: usize,
    definitions: usize,
    builds: usize,
    release_definitions: usize,
    releases: usize,
    environments: usize,
    records: usize,
    latency_ms: u64,
}

#[tokio::main]
async fn main() {
    let scale = Scale {
        projects: env_num("BENCH_PROJECTS", 4) as usize,
        definitions: env_num("BENCH_DEFINITIONS_PER_PROJECT", 5) as usize,
        builds: env_num("BENCH_BUILDS_PER_DEFINITION", 1000) as usize,
        release_definitions: env_num("BENCH_RELEASE_DEFINITIONS_PER_PROJECT", 4) as usize,
        releases: env_num("BENCH_RELEASES_PER_DEFINITION", 125) as usize,
        environments: env_num("BENCH_ENVIRONMENTS_PER_PROJECT", 4) as usize,
        records: env_num("BENCH_RECORDS_PER_ENVIRONMENT", 500) as usize,
        latency_ms: env_num("BENCH_LATENCY_MS", 0),
    };
    let s = scale;
    println!(
        "`{}BENCH_PROJECTS={} BENCH_DEFINITIONS_PER_PROJECT={} BENCH_BUILDS_PER_DEFINITION={} \
         BENCH_RELEASE_DEFINITIONS_PER_PROJECT={} BENCH_RELEASES_PER_DEFINITION={} \
         BENCH_ENVIRONMENTS_PER_PROJECT={} BENCH_RECORDS_PER_ENVIRONMENT={} BENCH_LATENCY_MS={} \
         cargo bench --bench pipelines`\n",
        db_env_shown(),
        s.projects,
        s.definitions,
        s.builds,
        s.release_definitions,
        s.releases,
        s.environments,
        s.records,
        s.latency_ms,
    );
    println!(
        "Connector pipelines alone (build_changes, releases and environments on; sync settings \
         the defaults); {}; simulator latency {} ms; machine: {} CPUs.\n",
        limits_shown(),
        s.latency_ms,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let dir = tempfile::tempdir().expect("temp dir");
    for target in targets(dir.path(), "pipelines").await {
        run_target(&target, dir.path(), scale).await;
        target.drop_database().await;
    }
}

async fn run_target(target: &Target, dir: &Path, s: Scale) {
    let running = Sim::new(SimConfig {
        seed: 1,
        projects: s.projects,
        repos_per_project: 2,
        prs_per_repo: 5,
        work_items_per_project: 0,
        definitions_per_project: s.definitions,
        builds_per_definition: s.builds,
        release_definitions_per_project: s.release_definitions,
        releases_per_definition: s.releases,
        environments_per_project: s.environments,
        deployment_records_per_environment: s.records,
        faults: FaultConfig {
            latency_ms: s.latency_ms,
            ..FaultConfig::default()
        },
        ..SimConfig::default()
    })
    .serve(([127, 0, 0, 1], 0).into())
    .await
    .expect("simulator");
    let sim = running.sim.clone();
    let before = Snapshot::read(&sim);
    let finished = before.builds.values().filter(|b| b.finished()).count();
    let deleted = before.builds.values().filter(|b| b.deleted).count();
    let changes: u64 = before.builds.values().map(|b| b.changes).sum();
    println!("### {}\n", target.label);
    println!(
        "Simulator: seed 1, {} projects × {} definitions × {} builds = {} builds ({finished} \
         finished, {deleted} retention-deleted, {changes} build changes); {} releases with {} \
         deployments; {} environments with {} deployment records.\n",
        s.projects,
        s.definitions,
        s.builds,
        before.builds.len(),
        before.releases.len(),
        before.deployments.len(),
        before.environments.len(),
        before.records.len(),
    );

    let config = dir.join(format!("{}.toml", target.label));
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\n\n[organization]\nurl = \"{}\"\nrelease_url = \"{}\"\n{}",
            target.url,
            running.base_url(),
            running.release_base_url(),
            connector_section(
                "pipelines",
                "build_changes = true\nreleases = true\nenvironments = true\n"
            ),
        ),
    )
    .expect("write config");

    let postgres = target.postgres();
    let backfill = run_binary(&sim, &config, "backfill", postgres).await;
    let tables = table_counts(&target.url).await;

    // About 1% of the builds change, and one release-side change per 50 releases.
    let build_changes = (before.builds.len() / 100).max(1);
    let release_changes = (before.releases.len() / 50).max(1);
    let built = sim.mutate_builds(42, build_changes);
    let released = sim.mutate_releases(42, release_changes);
    let after = Snapshot::read(&sim);
    println!(
        "Mutation: `mutate_builds(42, {build_changes})` {}; `mutate_releases(42, {release_changes})` {}.\n",
        built["changed"], released["changed"]
    );
    let touched = built["touched_builds"].as_array().map_or(0, Vec::len);

    let incremental = run_binary(&sim, &config, "sync", postgres).await;
    let idle = run_binary(&sim, &config, "sync", postgres).await;

    let phases = [
        Phase::new("backfill".into(), backfill, &before, &backfill_due(&before)),
        Phase::new(
            format!("sync ({touched} builds touched)"),
            incremental,
            &after,
            &mutation_due(&before, &after, &built, &released),
        ),
        Phase::new("idle sync".into(), idle, &after, &idle_due()),
    ];
    println!("Requests (the simulator's count) against the minimum the page caps allow:\n");
    print_requests(&phases);
    println!();
    print_summary(&phases);
    println!("\nRows and resources (rows: the binary's summary lines):\n");
    let resources: Vec<(&str, &Run)> = phases.iter().map(|p| (p.name.as_str(), &p.run)).collect();
    print_resources(&resources);
    println!();
    print_tables(&tables, phases[0].run.wall);
    println!();
    running.shutdown().await;
    let _ = std::fs::remove_file(&config);
}
