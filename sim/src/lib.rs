//! # ado-sim — a fake Azure DevOps organization over HTTP
//!
//! The simulator serves a generated ADO organization (projects, repositories, pull requests,
//! users) on a loopback port with the real API's URL shapes, JSON shapes, pagination rules,
//! api-version checks, PAT authentication quirks, rate-limit headers and failure modes, as
//! recorded in `ado-api/API_FACTS.md` and `ado-api/examples/`. Tests, benchmarks and
//! `ado-ingest demo` run against it instead of a real organization.
//!
//! - The data is deterministic: the same [`SimConfig`] (seed, sizes, start time) gives
//!   byte-identical data.
//! - [`Sim::truth`] exports every live entity exactly as the list endpoints serialize it, so an
//!   ingested database can be compared with it.
//! - [`Sim::mutate`] moves the org forward (new, completed, abandoned, re-voted PRs, deleted
//!   repositories…) with real current timestamps, to exercise incremental sync.
//! - Faults ([`FaultConfig`]), a usage budget ([`BudgetConfig`]) and token revocation can be
//!   changed while the server runs; [`Sim::stats`] counts requests per endpoint and token.
//!
//! The same controls exist over HTTP under `/_sim/` (no auth), for the `ado-sim` binary:
//! `GET /_sim/truth`, `POST /_sim/mutate`, `GET|DELETE /_sim/stats`, `GET|POST /_sim/faults`.
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
//! `json` is the one place entities become JSON; `routes` is the HTTP surface (`core`, `git`,
//! `admin`); `auth`, `budget`, `faults` and `stats` are the behaviours applied to every
//! request; `truth` and `mutate` back the admin API; `rng` and `time` are the deterministic
//! PRNG and ADO's timestamp format.

mod auth;
mod budget;
mod data;
mod faults;
mod json;
mod model;
mod mutate;
mod rng;
mod routes;
mod stats;
mod time;
mod truth;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::Pat;
pub use budget::BudgetConfig;
pub use faults::FaultConfig;

/// The token every default configuration accepts, with every scope.
pub const DEMO_PAT: &str = "demo-pat";

/// What to generate and how to behave.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Organization name: the first path segment of every URL (matched case-insensitively).
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
    pub(crate) budget: Mutex<budget::Budget>,
    pub(crate) faults: Mutex<FaultConfig>,
    pub(crate) request_counter: AtomicU64,
    pub(crate) stats: Mutex<stats::Stats>,
    /// The organization URL as served, e.g. `http://127.0.0.1:PORT/contoso`; URLs inside the
    /// JSON are built from it so a client can follow them.
    pub(crate) base_url: RwLock<String>,
}

impl Sim {
    /// Generates the org. Costs roughly a second per few hundred thousand PRs.
    pub fn new(cfg: SimConfig) -> Sim {
        let start = cfg
            .start_time
            .map_or_else(time::today_midnight_ticks, time::to_ticks);
        let sizes = data::Sizes {
            projects: cfg.projects,
            repos_per_project: cfg.repos_per_project,
            prs_per_repo: cfg.prs_per_repo,
        };
        let org = data::generate(&cfg.org, cfg.seed, &sizes, start);
        let base = format!("http://localhost/{}", cfg.org);
        Sim {
            inner: Arc::new(Inner {
                org_name: cfg.org,
                seed: cfg.seed,
                state: RwLock::new(org),
                pats: RwLock::new(auth::PatStore::new(&cfg.pats)),
                budget: Mutex::new(budget::Budget::new(cfg.budget)),
                faults: Mutex::new(cfg.faults),
                request_counter: AtomicU64::new(0),
                stats: Mutex::new(stats::Stats::default()),
                base_url: RwLock::new(base),
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
        *write(&self.inner.base_url) = format!("http://{reachable}/{}", self.inner.org_name);
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

    /// `{"projects":[…], "repositories":[…], "pull_requests":[…]}`, same as `GET /_sim/truth`.
    pub fn truth(&self) -> serde_json::Value {
        let base = self.base_url();
        let org = read(&self.inner.state);
        serde_json::to_value(truth::view(&base, &org)).unwrap_or_default()
    }

    pub(crate) fn truth_bytes(&self) -> Vec<u8> {
        let base = self.base_url();
        let org = read(&self.inner.state);
        serde_json::to_vec(&truth::view(&base, &org)).unwrap_or_default()
    }

    /// Applies `changes` random changes drawn from `seed`; answers
    /// `{"changed": {"pull_requests_created": n, …}}`, same as `POST /_sim/mutate`.
    pub fn mutate(&self, seed: u64, changes: usize) -> serde_json::Value {
        mutate::mutate(&mut write(&self.inner.state), seed, changes)
    }

    /// `{"requests", "by_endpoint", "by_token", "by_status", "delayed", "throttled"}`.
    pub fn stats(&self) -> serde_json::Value {
        lock(&self.inner.stats).to_json()
    }

    pub fn reset_stats(&self) {
        *lock(&self.inner.stats) = stats::Stats::default();
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
