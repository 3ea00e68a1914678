//! `ado-ingest demo`: the newcomer's first command. Starts the bundled simulator on a loopback
//! port, backfills it into a fresh SQLite file with `config/demo.toml`, and prints what landed
//! and how to query it. Needs no ADO account.

use crate::config::{self, Settings};
use crate::connectors::Mode;
use crate::metrics::Metrics;
use crate::progress::Progress;
use crate::store::{AnyStore, Store};
use crate::sync::{self, ConnectorReport};
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The configuration `demo` runs with.
pub const DEMO_TOML: &str = include_str!("../config/demo.toml");

/// What the demo did, for the caller to print and to choose the exit code.
pub struct DemoOutcome {
    pub reports: Vec<ConnectorReport>,
    pub counts: Vec<(String, i64)>,
    pub db: String,
    pub sim_url: String,
}

/// Errors before the backfill could start.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The simulator could not bind a loopback port.
    #[error("cannot start the simulator: {0}")]
    Sim(std::io::Error),
    /// The demo database could not be replaced.
    #[error("cannot remove the previous demo database {path}: {source}")]
    Remove {
        path: String,
        source: std::io::Error,
    },
    /// The embedded demo configuration did not load.
    #[error(transparent)]
    Config(#[from] config::Error),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// A connector could not be set up.
    #[error(transparent)]
    Setup(#[from] sync::SetupError),
}

/// Runs the demo against a fresh database at `db`.
pub async fn run(db: &Path, cancel: CancellationToken) -> Result<DemoOutcome, Error> {
    let sim = ado_sim::Sim::new(ado_sim::SimConfig::default());
    let running = sim
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .map_err(Error::Sim)?;
    let sim_url = running.base_url();
    let release_url = running.release_base_url();
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", db.display());
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Remove { path: p, source }),
        }
    }
    let db_url = format!("sqlite://{}", db.display());
    let text = DEMO_TOML
        .replace("sqlite://ado-ingest-demo.db", &db_url)
        .replace("http://127.0.0.1:0/vsrm/contoso", &release_url)
        .replace("http://127.0.0.1:0/contoso", &sim_url);
    let settings = Settings::from_toml(Some(&text), "config/demo.toml", std::iter::empty())?;
    let store = AnyStore::connect(&settings.database.url).await?;
    store.migrate().await?;
    let metrics = Arc::new(Metrics::default());
    let connectors = sync::select_connectors(&settings, &[])?;
    let progress = Progress::start("demo backfill", metrics.clone());
    let reports = sync::run(
        &settings,
        &store,
        Mode::Backfill,
        &connectors,
        metrics,
        cancel,
    )
    .await;
    progress.finish().await;
    let reports = reports?;
    let counts = store.table_counts().await?;
    running.shutdown().await;
    Ok(DemoOutcome {
        reports,
        counts,
        db: db.display().to_string(),
        sim_url,
    })
}
