//! # ado-sim — a fake Azure DevOps organization over HTTP
//!
//! The simulator serves a generated ADO organization (projects, repositories, pull requests,
//! users, teams, work items with their revision histories, areas, iterations, the Agile
//! process) on a loopback port with the real API's URL shapes, JSON shapes, pagination rules,
//! api-version checks, PAT authentication quirks, rate-limit headers and failure modes, as
//! recorded in `ado-api/API_FACTS.md` and `ado-api/examples/`. Tests, benchmarks and
//! `ado-ingest demo` run against it instead of a real organization.
//!
//! - The data is deterministic: the same [`SimConfig`] (seed, sizes, start time) gives
//!   byte-identical data.
//! - [`Sim::truth`] exports every entity exactly as the endpoints serialize it, so an
//!   ingested database can be compared with it ([`Sim::truth_kinds`] for some kinds only).
//! - Every PR has its inside — iterations and their changed files, commits, comment threads,
//!   linked work items, statuses, policy evaluations — generated lazily per PR from a stream
//!   of its own (`children`), served with ADO's URL shapes and paging.
//! - Build definitions (YAML and classic) and builds in every status (`builds`), with their
//!   timelines (stages, jobs, tasks, checkpoints, retried attempts; 204 for a YAML build that
//!   failed to compile, 404 once retention deleted it) and the commits they built, served
//!   under `{project}/_apis/build/` with ADO's timestamp continuation tokens — and, on
//!   request, the reported token bug that answers page one again
//!   ([`SimConfig::build_token_repeats_first_page`]). [`Sim::mutate_builds`] moves them on
//!   (queued, started, finished late, retried, canceled, deleted by retention).
//! - [`Sim::mutate`] moves the org forward (new, completed, abandoned, re-voted PRs, deleted
//!   repositories, edited, moved, deleted and restored work items…) with real current
//!   timestamps, to exercise incremental sync. [`Sim::apply`] makes one exact [`Change`]
//!   (delete this repository, create N PRs, force-push a default branch), and [`Sim::apply_before_pr_listing`] makes it
//!   just before a chosen PR-list request, in the middle of a client's walk.
//! - Classic releases and deployments are served on a release host of their own
//!   ([`Sim::release_base_url`], standing in for `vsrm.dev.azure.com`), YAML environments and
//!   their deployment records on the organization host (`releases`); their random round is
//!   [`Sim::mutate_releases`], separate from [`Sim::mutate`].
//! - Azure DevOps Server can be imitated: [`SimConfig::server`] serves a collection URL
//!   (with or without a virtual directory), caps the api-version (2022: 7.0, 2020: 6.0),
//!   removes the Graph API and the PR list's time filters; [`SimConfig::refuse_reporting`]
//!   removes the reporting streams (an older Server), so a client's fallbacks can be tested.
//! - Service hooks (`hooks`): web hook subscriptions under `_apis/hooks/subscriptions`
//!   (create, list, get, replace, delete, notifications) and their deliveries — every
//!   mutation entry point ([`Sim::apply`], [`Sim::mutate`], [`Sim::mutate_builds`], work item
//!   deletion and restore) POSTs ADO-shaped `git.pullrequest.*`, PR comment, `workitem.*` and
//!   `build.complete` events to the matching subscriptions on background tasks, with ADO's
//!   retries, probation and 410 rule (API_FACTS §6). [`Sim::deliveries`] logs what was sent,
//!   [`Sim::wait_deliveries_idle`] waits for it, [`SimConfig::webhook_retry_scale`] and
//!   [`SimConfig::webhook_delivery`] speed it up or turn it off.
//! - Faults ([`FaultConfig`]), a usage budget ([`BudgetConfig`]) and token revocation can be
//!   changed while the server runs; [`Sim::stats`] counts requests per endpoint and token.
//!
//! The same controls exist over HTTP under `/_sim/` (no auth), for the `ado-sim` binary:
//! `GET /_sim/truth[?kinds=a,b]`, `POST /_sim/mutate` (`{"seed", "changes",
//! "work_item_changes"?}`), `POST /_sim/mutate_builds` and `POST /_sim/mutate_releases`
//! (`{"seed", "changes"}`), `POST /_sim/change` (a [`Change`] as JSON), `GET|DELETE
//! /_sim/stats`, `GET /_sim/requests` (the request log), `GET|POST /_sim/faults`, `GET
//! /_sim/deliveries` (the service hook delivery log).
//!
//! The Graph API (`_apis/graph/users`) lives on `vssps.dev.azure.com` in Services; the
//! simulator serves it under the same organization URL as everything else.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ado_sim::{Sim, SimConfig};
//! let running = Sim::new(SimConfig { seed: 7, ..SimConfig::default() })
//!     .serve("127.0.0.1:0".parse().unwrap())
//!     .await?;
//! let org_url = running.base_url(); // http://127.0.0.1:PORT/contoso
//! // ... point a client at org_url with the PAT "demo-pat" ...
//! let truth = running.sim.truth();
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Module map (all private): `data` generates the org and `model` holds it with its indexes;
//! `boards` holds (and generates, serializes, mutates, queries) the work item side; `json` is
//! the one place the other entities become JSON; `routes` is the HTTP surface (`core`, `git`,
//! `teams`, `graph`, `wit`, `admin`, `children`, `build`, `release`, `environments`, `hooks`);
//! `children` holds (and generates, serializes, mutates) the inside of PRs; `builds` holds
//! (and generates, serializes, queries, mutates) definitions and builds, deriving timelines
//! (`builds::timeline`) and changes on read, and offers `builds::of_project` to other areas
//! that refer to builds; `releases` holds (and generates, serializes, mutates) classic
//! releases and YAML environments; `history` folds branch histories (merge commits
//! of completed PRs, as force-pushes left them); `auth`, `budget`, `faults` and `stats` are the
//! behaviours applied to every request; `truth` and `mutate` back the admin API; `rng` and
//! `time` are the deterministic PRNG and ADO's timestamp format; `script` holds the precise
//! changes; `hooks` holds service hook subscriptions (`subscriptions`), turns what mutations
//! recorded into events (`payload`) and delivers them (`deliver`).

mod auth;
mod boards;
mod budget;
mod builds;
mod children;
mod data;
mod entra;
mod faults;
mod history;
mod hooks;
mod json;
mod model;
mod mutate;
mod releases;
mod rng;
mod routes;
mod script;
mod stats;
mod time;
mod truth;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::Pat;
pub use budget::BudgetConfig;
pub use entra::{EntraConfig, FederatedCredential, ManagedIdentity, ServicePrincipal};
pub use faults::FaultConfig;
pub use hooks::{Delivery, SubscriptionStatus};
pub use script::Change;

/// Requests the request log keeps.
pub const REQUEST_LOG_CAP: usize = 100_000;

/// One answered request of [`Sim::request_log`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoggedRequest {
    pub method: String,
    /// Path and query as sent (percent-encoded).
    pub target: String,
    pub status: u16,
}

/// The newest api-version Azure DevOps Services answers (API_FACTS §5: Services 1.0–7.x).
pub const SERVICES_MAX_API_VERSION: (u32, u32) = (7, 2);

/// Azure DevOps Server instead of Services (API_FACTS §5): the organization URL is a collection
/// URL (`http://HOST/tfs/DefaultCollection`: name the org `DefaultCollection`), release calls
/// go to the collection (no `vsrm` host), there is no Graph API (404; the truth then holds no
/// `users`), `connectionData` says `onPremises`, api-versions newer than the release's are
/// refused with ADO's 400 "out of range" message, and the PR list ignores `minTime`,
/// `maxTime` and `queryTimeRangeType` (they arrived with api-version 7.1, after both
/// releases, API_FACTS §4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerMode {
    pub release: ServerRelease,
    /// Path before the collection (`tfs` for `http://HOST/tfs/DefaultCollection`; `None` for
    /// `http://HOST/DefaultCollection`): the deployment's IIS virtual directory.
    pub virtual_directory: Option<String>,
}

impl ServerMode {
    /// `release` under the classic `tfs` virtual directory.
    pub fn under_tfs(release: ServerRelease) -> Self {
        Self {
            release,
            virtual_directory: Some("tfs".to_string()),
        }
    }
}

/// A release of Azure DevOps Server, by the newest api-version it answers (API_FACTS §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRelease {
    /// Azure DevOps Server 2020: api-version 6.0 at most.
    Server2020,
    /// Azure DevOps Server 2022 (RTM, before 2022.1): api-version 7.0 at most.
    Server2022,
}

impl ServerRelease {
    /// The newest api-version this release answers.
    pub fn max_api_version(self) -> (u32, u32) {
        match self {
            ServerRelease::Server2020 => (6, 0),
            ServerRelease::Server2022 => (7, 0),
        }
    }
}

impl std::str::FromStr for ServerRelease {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "2020" => Ok(ServerRelease::Server2020),
            "2022" => Ok(ServerRelease::Server2022),
            other => Err(format!(
                "unknown Azure DevOps Server release `{other}` (2020 or 2022)"
            )),
        }
    }
}

/// The token every default configuration accepts, with every scope.
pub const DEMO_PAT: &str = "demo-pat";

/// What to generate and how to behave.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Organization name: the first path segment of every URL (matched case-insensitively);
    /// in [`Self::server`] mode the collection's name, after the virtual directory.
    pub org: String,
    pub seed: u64,
    pub projects: usize,
    pub repos_per_project: usize,
    /// Average PRs per repository; the first repository of each project holds 40% of the
    /// project's PRs. Total PRs = projects × repos_per_project × prs_per_repo.
    pub prs_per_repo: usize,
    /// Accepted tokens. Default: [`DEMO_PAT`] with every scope.
    pub pats: Vec<Pat>,
    /// Per-token usage budget; `None` = unlimited and no `X-RateLimit-*` headers.
    pub budget: Option<BudgetConfig>,
    pub faults: FaultConfig,
    /// End of the generated two-year history. `None` = midnight UTC today, so the same seed
    /// gives the same data all day long; set it when data must never change (snapshots).
    pub start_time: Option<DateTime<Utc>>,
    /// Work items per project (ids are org-wide), each with 1–10 revisions (≈ 5 on
    /// average). 0 = no work items, and mutations then leave Boards alone.
    pub work_items_per_project: usize,
    /// Largest page of the reporting streams; `$maxPageSize` can only lower it.
    pub reporting_page_cap: usize,
    /// Behave like Azure DevOps Server (API_FACTS §5): `None` = Services. See [`ServerMode`].
    pub server: Option<ServerMode>,
    /// Answer the reporting revisions and links streams with 404, like an older Server that
    /// lacks them, so a client's WIQL fallback can be tested. Changeable at runtime with
    /// [`Sim::set_refuse_reporting`].
    pub refuse_reporting: bool,
    /// Tokens whose user belongs to no project: they authenticate, and the projects
    /// listing they get is empty (a credential that sees nothing).
    pub outsiders: Vec<String>,
    /// WIQL's result size limit (ADO: 20,000, error VS402337, API_FACTS §1.4). Lower it to
    /// test a client's keyset paging on a small org.
    pub wiql_max_results: usize,
    /// How far the simulated service's clock is from the host's (positive: ahead). It moves
    /// the `Date` header of every response and the times mutations stamp (closed dates,
    /// revision dates), so a client that trusts its own clock can be caught. Changeable at
    /// runtime with [`Sim::set_clock_offset`].
    pub clock_offset: chrono::Duration,
    /// Changed files of the last iteration of ONE PR — the newest generated PR of the first
    /// repository (the first repository of the first project) — so a client's paging of
    /// iteration changes (2,000 a page at most) can be tested; 0 = that PR is ordinary.
    pub big_pr_files: usize,
    /// Comments of one extra discussion thread on the same PR as [`Self::big_pr_files`];
    /// 0 = no such thread.
    pub big_thread_comments: usize,
    /// Build definitions per project (ids 1, 2, … in each project), YAML and classic mixed,
    /// each on one of the project's repositories; 0 = no builds at all.
    pub definitions_per_project: usize,
    /// Builds per definition, spread over the generated history, the newest ones in every
    /// status (see the `builds` module). Total = projects × definitions × this.
    pub builds_per_definition: usize,
    /// Share of YAML builds whose pipeline failed to compile: failed without starting, and
    /// their timeline answers 204 No Content.
    pub build_compile_failure_share: f64,
    /// The builds continuation-token quirk (MicrosoftDocs/vsts-rest-api-specs#178): `Some(n)`
    /// answers every n-th builds request that carries a continuation token with page one
    /// again (same items, same next token); `None` = tokens always work. Changeable at runtime
    /// with [`Sim::set_build_token_repeats_first_page`].
    pub build_token_repeats_first_page: Option<u32>,
    /// Classic release definitions per project (2–4 stages each); 0 = no classic releases.
    pub release_definitions_per_project: usize,
    /// Releases per release definition, spread over the history, with their deployments.
    pub releases_per_definition: usize,
    /// YAML pipeline environments per project (named for pipeline stages: `staging`,
    /// `production`…); 0 = none.
    pub environments_per_project: usize,
    /// Runs of each project's YAML pipelines over the history: the first environment of a
    /// project gets about this many deployment records, later stages fewer (a run stops at a
    /// stage that does not succeed).
    pub deployment_records_per_environment: usize,
    /// Multiplies the service hooks' retry delays (ADO: ~1, 2, 4 … 60 s, API_FACTS §6), so
    /// a test can use 0.001. Changeable at runtime with [`Sim::set_webhook_retry_scale`].
    pub webhook_retry_scale: f64,
    /// Whether service hook events are delivered at all (see the `hooks` module); off, no
    /// event is sent or recorded. Changeable at runtime with [`Sim::set_webhook_delivery`].
    pub webhook_delivery: bool,
    /// The Entra ID tenant: service principals, managed identities and federated credentials
    /// the token endpoints accept, and the lifetime of the tokens they issue (see `entra`).
    pub entra: EntraConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            org: "contoso".to_string(),
            seed: 1,
            projects: 3,
            repos_per_project: 4,
            prs_per_repo: 100,
            pats: vec![Pat::full(DEMO_PAT)],
            budget: None,
            faults: FaultConfig::default(),
            start_time: None,
            work_items_per_project: 20,
            reporting_page_cap: 200,
            server: None,
            refuse_reporting: false,
            outsiders: Vec::new(),
            wiql_max_results: 20_000,
            clock_offset: chrono::Duration::zero(),
            big_pr_files: 0,
            big_thread_comments: 0,
            definitions_per_project: 3,
            builds_per_definition: 20,
            build_compile_failure_share: 0.02,
            build_token_repeats_first_page: None,
            release_definitions_per_project: 2,
            releases_per_definition: 10,
            environments_per_project: 2,
            deployment_records_per_environment: 15,
            webhook_retry_scale: 1.0,
            webhook_delivery: true,
            entra: EntraConfig::default(),
        }
    }
}

/// A simulated organization. Cheap to clone: clones share the same org and settings.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) org_name: String,
    pub(crate) seed: u64,
    /// The whole org. Never held across an `.await`.
    pub(crate) state: RwLock<model::Org>,
    pub(crate) pats: RwLock<auth::PatStore>,
    /// The Entra ID tenant and the bearer tokens it issued.
    pub(crate) entra: Mutex<entra::Entra>,
    pub(crate) budget: Mutex<budget::Budget>,
    pub(crate) faults: Mutex<FaultConfig>,
    pub(crate) request_counter: AtomicU64,
    pub(crate) stats: Mutex<stats::Stats>,
    /// Every ADO request in arrival order (the newest [`REQUEST_LOG_CAP`]).
    pub(crate) request_log: Mutex<std::collections::VecDeque<LoggedRequest>>,
    /// The organization URL as served, e.g. `http://127.0.0.1:PORT/contoso`; URLs inside the
    /// JSON are built from it so a client can follow them.
    pub(crate) base_url: RwLock<String>,
    /// [`SimConfig::server`] is set: no Graph, releases under the collection.
    pub(crate) server_mode: bool,
    /// The newest api-version served (`major`, `minor`); a newer one is refused with 400.
    pub(crate) max_api_version: (u32, u32),
    /// Path segments before the collection (`tfs`), each matched case-insensitively.
    pub(crate) virtual_directory: Vec<String>,
    /// Whether the PR list honours `minTime`/`maxTime`/`queryTimeRangeType` (7.1 only).
    pub(crate) pr_time_filters: bool,
    pub(crate) refuse_reporting: AtomicBool,
    pub(crate) outsiders: Vec<String>,
    pub(crate) reporting_page_cap: usize,
    pub(crate) wiql_max_results: usize,
    /// [`SimConfig::clock_offset`] in ticks, for the `Date` header (`Org::clock_offset` has
    /// the same value for mutations; both are set together).
    pub(crate) clock_offset: std::sync::atomic::AtomicI64,
    /// Scripted changes applied so far (seeds the PRs they create).
    pub(crate) scripted: AtomicU64,
    /// Scripted changes waiting for a PR-list request ([`Sim::apply_before_pr_listing`]).
    pub(crate) scheduled: Mutex<Vec<script::Scheduled>>,
    /// Service hook subscriptions and their deliveries.
    pub(crate) hooks: hooks::Hooks,
}

impl Sim {
    /// Generates the org. Costs roughly a second per few hundred thousand PRs or per
    /// hundred thousand work items (release build).
    pub fn new(cfg: SimConfig) -> Sim {
        let start = cfg
            .start_time
            .map_or_else(time::today_midnight_ticks, time::to_ticks);
        let sizes = data::Sizes {
            projects: cfg.projects,
            repos_per_project: cfg.repos_per_project,
            prs_per_repo: cfg.prs_per_repo,
            work_items_per_project: cfg.work_items_per_project,
        };
        let mut org = data::generate(&cfg.org, cfg.seed, &sizes, start);
        org.child_settings.big_pr_files = cfg.big_pr_files;
        org.child_settings.big_thread_comments = cfg.big_thread_comments;
        // Builds and then the release side come last, each from streams of its own: nothing
        // generated before depends on them, builds read nothing of the release side, and the
        // release side names real builds (see `releases::builds`), so it needs them first.
        let build_sizes = builds::generate::Sizes {
            definitions_per_project: cfg.definitions_per_project,
            builds_per_definition: cfg.builds_per_definition,
            compile_failure_share: cfg.build_compile_failure_share,
        };
        org.builds = builds::generate::generate(&org, cfg.seed, &build_sizes, start);
        org.builds.token_repeats = cfg.build_token_repeats_first_page.filter(|n| *n > 0);
        let release_sizes = releases::generate::Sizes {
            definitions_per_project: cfg.release_definitions_per_project,
            releases_per_definition: cfg.releases_per_definition,
            environments_per_project: cfg.environments_per_project,
            records_per_environment: cfg.deployment_records_per_environment,
        };
        let server_mode = cfg.server.is_some();
        releases::generate::generate(&mut org, cfg.seed, &release_sizes, start, server_mode);
        let clock = cfg.clock_offset.num_microseconds().unwrap_or(0) * 10;
        org.clock_offset = clock;
        // Generated history is not news: service hooks only see what changes from now on.
        org.hook_stream_mark = org.boards.stream.len();
        let base = format!("http://localhost/{}", cfg.org);
        Sim {
            inner: Arc::new(Inner {
                org_name: cfg.org,
                seed: cfg.seed,
                state: RwLock::new(org),
                pats: RwLock::new(auth::PatStore::new(&cfg.pats)),
                entra: Mutex::new(entra::Entra::new(cfg.entra)),
                budget: Mutex::new(budget::Budget::new(cfg.budget)),
                faults: Mutex::new(cfg.faults),
                request_counter: AtomicU64::new(0),
                stats: Mutex::new(stats::Stats::default()),
                request_log: Mutex::new(std::collections::VecDeque::new()),
                base_url: RwLock::new(base),
                server_mode,
                max_api_version: cfg
                    .server
                    .as_ref()
                    .map_or(SERVICES_MAX_API_VERSION, |s| s.release.max_api_version()),
                virtual_directory: cfg
                    .server
                    .as_ref()
                    .and_then(|s| s.virtual_directory.as_deref())
                    .map(|d| {
                        d.split('/')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                pr_time_filters: !server_mode,
                refuse_reporting: AtomicBool::new(cfg.refuse_reporting),
                outsiders: cfg.outsiders.clone(),
                reporting_page_cap: cfg.reporting_page_cap,
                wiql_max_results: cfg.wiql_max_results,
                clock_offset: std::sync::atomic::AtomicI64::new(clock),
                scripted: AtomicU64::new(0),
                scheduled: Mutex::new(Vec::new()),
                hooks: hooks::Hooks::new(cfg.webhook_delivery, cfg.webhook_retry_scale),
            }),
        }
    }

    /// Binds `addr` (port 0 picks a free port) and serves in a spawned task until
    /// [`RunningSim::shutdown`] or until the returned [`RunningSim`] is dropped.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<RunningSim> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let reachable = if local.ip().is_unspecified() {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
        } else {
            local
        };
        let mut prefix = String::new();
        for d in &self.inner.virtual_directory {
            prefix.push_str(d);
            prefix.push('/');
        }
        *write(&self.inner.base_url) =
            format!("http://{reachable}/{prefix}{}", self.inner.org_name);
        self.inner
            .hooks
            .set_runtime(tokio::runtime::Handle::current());
        let (tx, rx) = oneshot::channel::<()>();
        let app = routes::router(self.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        tracing::info!(addr = %local, org = %self.inner.org_name, "ado-sim listening");
        Ok(RunningSim {
            addr: local,
            sim: self,
            server: ServerHandle {
                stop: Some(tx),
                task: Some(task),
            },
        })
    }

    /// The organization name as configured.
    pub fn org(&self) -> &str {
        &self.inner.org_name
    }

    /// The organization URL that appears inside the JSON (`http://localhost/ORG` until served).
    pub fn base_url(&self) -> String {
        read(&self.inner.base_url).clone()
    }

    /// The release host's URL, where `_apis/release/*` is served: `http://127.0.0.1:PORT/vsrm/ORG`
    /// (standing in for `https://vsrm.dev.azure.com/ORG`), or [`Sim::base_url`] itself in
    /// [`SimConfig::server`] mode (Azure DevOps Server serves releases under the collection).
    pub fn release_base_url(&self) -> String {
        releases::release_base(&self.base_url(), self.inner.server_mode)
    }

    /// Applies `changes` random release-side changes drawn from `seed` — new releases, new
    /// deployments of old releases, deployments finishing, releases abandoned, new and
    /// finishing environment deployment records — with real current timestamps; never part of
    /// [`Sim::mutate`]. Same as `POST /_sim/mutate_releases` with `{"seed", "changes"}`.
    /// Answers `{"changed": {"releases_created", "releases_redeployed",
    /// "deployments_finished", "releases_abandoned", "environment_records_created",
    /// "environment_records_finished"}, "touched_releases": [{"projectId", "id"}],
    /// "touched_deployments": [{"projectId", "id"}], "touched_environment_records": [id]}`.
    pub fn mutate_releases(&self, seed: u64, changes: usize) -> serde_json::Value {
        releases::mutate::mutate(&mut write(&self.inner.state), seed, changes)
    }

    /// Every kind of the ground truth, same as `GET /_sim/truth`: `{"projects":[…],
    /// "repositories":[…], "pull_requests":[…], "work_items":[…], "work_item_revisions":[…],
    /// "work_item_links":[…], "teams":[…], "team_members":[…], "users":[…],
    /// "iterations":[…], "areas":[…], "work_item_types":[…], "fields":[…],
    /// "pull_request_iterations":[…], "pull_request_changes":[…], "pull_request_threads":[…],
    /// "pull_request_work_items":[…], "pull_request_statuses":[…],
    /// "pull_request_policy_evaluations":[…], "pull_request_commits":[…], "commits":[…],
    /// "pipelines":[…], "builds":[…], "build_timeline_records":[…], "build_changes":[…],
    /// "releases":[…], "release_environments":[…], "release_deployments":[…],
    /// "environments":[…], "environment_deployments":[…]}`
    /// (see the `truth` module for each element's shape and identity representation).
    pub fn truth(&self) -> serde_json::Value {
        self.truth_kinds(&[])
    }

    /// Only the named kinds (unknown names are ignored; none = every kind), same as
    /// `GET /_sim/truth?kinds=a,b`. Cheap for the PR kinds whatever the Boards size.
    pub fn truth_kinds(&self, kinds: &[&str]) -> serde_json::Value {
        let base = self.base_url();
        let org = read(&self.inner.state);
        serde_json::to_value(truth::view(&base, &org, kinds, !self.inner.server_mode))
            .unwrap_or_default()
    }

    pub(crate) fn truth_bytes(&self, kinds: &[&str]) -> Vec<u8> {
        let base = self.base_url();
        let org = read(&self.inner.state);
        serde_json::to_vec(&truth::view(&base, &org, kinds, !self.inner.server_mode))
            .unwrap_or_default()
    }

    /// Applies `changes` random PR/repository changes drawn from `seed` and as many work item
    /// changes (from a separate stream, so the PR changes of a seed never depend on Boards);
    /// answers `{"changed": {"pull_requests_created": n, …, "work_items_edited": n, …},
    /// "touched_pull_requests": [ids]}` (the PRs created or changed, whose children moved),
    /// same as `POST /_sim/mutate`.
    pub fn mutate(&self, seed: u64, changes: usize) -> serde_json::Value {
        self.mutate_split(seed, changes, changes)
    }

    /// [`Sim::mutate`] with separate counts: `changes` PR changes, `work_item_changes`
    /// work item changes.
    pub fn mutate_split(
        &self,
        seed: u64,
        changes: usize,
        work_item_changes: usize,
    ) -> serde_json::Value {
        let mut org = write(&self.inner.state);
        let answer = mutate::mutate(&mut org, seed, changes, work_item_changes);
        self.publish(&mut org);
        answer
    }

    /// How big the org is now: `{"projects", "repositories", "pull_requests", "work_items",
    /// "work_items_deleted", "work_item_revisions", "work_item_links", "teams", "users",
    /// "releases", "release_deployments", "environments", "environment_deployments"}`
    /// (live entities, except `work_items`, which counts the recycle bin too). Cheap at any
    /// size, unlike [`Sim::truth`].
    pub fn counts(&self) -> serde_json::Value {
        let org = read(&self.inner.state);
        let b = &org.boards;
        serde_json::json!({
            "projects": org.projects.len(),
            "repositories": org.repos.iter().filter(|r| !r.deleted).count(),
            "pull_requests": org.global.ids(None).len(),
            "work_items": b.items.len(),
            "work_items_deleted": b.items.iter().filter(|i| i.deleted).count(),
            "work_item_revisions": b.stream.len(),
            "work_item_links": b.links.len(),
            "teams": b.projects.iter().map(|p| p.teams.len()).sum::<usize>(),
            "users": org.user_count,
            "releases": org.releases.projects.iter().map(|p| p.releases.len()).sum::<usize>(),
            "release_deployments": org.releases.projects.iter().map(|p| p.deployments.len()).sum::<usize>(),
            "environments": org.releases.environments.len(),
            "environment_deployments": org.releases.records.len(),
        })
    }

    /// Destroys work item `id` from the recycle bin (false when it is not there).
    pub fn destroy_work_item(&self, id: u32) -> bool {
        crate::boards::mutate::destroy(&mut write(&self.inner.state), id)
    }

    /// Moves live work item `id` to the recycle bin (false when it is not live).
    pub fn delete_work_item(&self, id: u32) -> bool {
        let mut org = write(&self.inner.state);
        let done = crate::boards::mutate::delete(&mut org, id);
        self.publish(&mut org);
        done
    }

    /// Restores work item `id` with the deletion's `ChangedDate`; only right after
    /// [`Sim::delete_work_item`] with no change since (false otherwise).
    pub fn restore_work_item_at_deletion_time(&self, id: u32) -> bool {
        let mut org = write(&self.inner.state);
        let done = crate::boards::mutate::restore_at_deletion_time(&mut org, id);
        self.publish(&mut org);
        done
    }

    /// Moves the simulated service's clock (see [`SimConfig::clock_offset`]).
    pub fn set_clock_offset(&self, offset: chrono::Duration) {
        let ticks = offset.num_microseconds().unwrap_or(0) * 10;
        write(&self.inner.state).clock_offset = ticks;
        self.inner.clock_offset.store(ticks, Ordering::Relaxed);
    }

    /// Now by the simulated service's clock.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let ticks = self.inner.clock_offset.load(Ordering::Relaxed);
        chrono::Utc::now() + chrono::Duration::microseconds(ticks / 10)
    }

    /// Turns the reporting streams off (404) or back on while the server runs.
    pub fn set_refuse_reporting(&self, refuse: bool) {
        self.inner.refuse_reporting.store(refuse, Ordering::Relaxed);
    }

    pub(crate) fn refuses_reporting(&self) -> bool {
        self.inner.refuse_reporting.load(Ordering::Relaxed)
    }

    /// `{"requests", "by_endpoint", "by_token", "by_status", "delayed", "throttled"}`.
    pub fn stats(&self) -> serde_json::Value {
        lock(&self.inner.stats).to_json()
    }

    pub fn reset_stats(&self) {
        *lock(&self.inner.stats) = stats::Stats::default();
        lock(&self.inner.request_log).clear();
    }

    /// The ADO requests answered since the start or the last [`Sim::reset_stats`], oldest
    /// first (at most [`REQUEST_LOG_CAP`], the newest kept), so a test can assert what a
    /// client asked for and in which order (e.g. that a resumed backfill skipped what was
    /// committed).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.inner.request_log).iter().cloned().collect()
    }

    pub(crate) fn log_request(&self, method: String, target: String, status: u16) {
        let mut log = lock(&self.inner.request_log);
        if log.len() >= REQUEST_LOG_CAP {
            log.pop_front();
        }
        log.push_back(LoggedRequest {
            method,
            target,
            status,
        });
    }

    pub fn faults(&self) -> FaultConfig {
        *lock(&self.inner.faults)
    }

    pub fn set_faults(&self, f: FaultConfig) {
        *lock(&self.inner.faults) = f;
    }

    pub fn budget(&self) -> Option<BudgetConfig> {
        lock(&self.inner.budget).config()
    }

    /// Replaces the budget (`None` = unlimited) and empties every token's bucket.
    pub fn set_budget(&self, b: Option<BudgetConfig>) {
        lock(&self.inner.budget).set(b);
    }

    /// From now on the token is rejected (203, or 401 with `X-TFS-FedAuthRedirect: Suppress`).
    pub fn revoke_pat(&self, token: &str) {
        write(&self.inner.pats).revoke(token);
    }

    /// Accepts a new token, or replaces the scopes of (and un-revokes) an existing one.
    pub fn add_pat(&self, pat: Pat) {
        write(&self.inner.pats).add(pat);
    }

    /// The Entra ID side's counts: `{"issued", "by_identity": {"sp:CLIENT": n, …},
    /// "by_assertion": {ASSERTION: n}, "refused", "imds_requests", "expired_presented"}`
    /// (ADO requests refused because their bearer token had expired). Not reset by
    /// [`Sim::reset_stats`].
    pub fn entra_stats(&self) -> serde_json::Value {
        lock(&self.inner.entra).stats()
    }

    /// Changes the tenant (identities, federated credentials, token lifetime); tokens already
    /// issued stay valid until they expire.
    pub fn update_entra(&self, change: impl FnOnce(&mut EntraConfig)) {
        change(&mut lock(&self.inner.entra).config);
    }

    /// Every bearer token issued so far is refused from now on (as if revoked), so a client
    /// must fetch a new one.
    pub fn revoke_entra_tokens(&self) {
        lock(&self.inner.entra).revoke_all();
    }

    /// The next `n` IMDS requests are answered 503 (a client retries them, API_FACTS §12).
    pub fn fail_imds(&self, n: u32) {
        lock(&self.inner.entra).imds_failures = n;
    }
}

/// A served [`Sim`]. Dropping it stops the server, so keep it alive while clients run.
pub struct RunningSim {
    /// The bound address.
    pub addr: SocketAddr,
    pub sim: Sim,
    server: ServerHandle,
}

struct ServerHandle {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl RunningSim {
    /// The organization URL, e.g. `http://127.0.0.1:PORT/contoso`.
    pub fn base_url(&self) -> String {
        self.sim.base_url()
    }

    /// The release host's URL, e.g. `http://127.0.0.1:PORT/vsrm/contoso` (see
    /// [`Sim::release_base_url`]).
    pub fn release_base_url(&self) -> String {
        self.sim.release_base_url()
    }

    /// Stops accepting connections and waits (up to 5 s) for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.server.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.server.task.take() {
            let finished = tokio::time::timeout(Duration::from_secs(5), &mut task).await;
            if finished.is_err() {
                task.abort();
            }
        }
    }
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
