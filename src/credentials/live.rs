//! The stored credentials a running process uses: loaded once the database is open, read
//! again whenever a credential's version changes (an update through the HTTP API at once,
//! one from another process — the CLI — within [`POLL`]), so a rotated secret is sent on the
//! next request and a deleted one leaves its pool, without a restart.
//!
//! Each `cred:NAME` pool entry is a [`Stored`] provider that asks this set for the current
//! header at every request. Owns the decrypted secrets of this process (in `secrecy` types
//! only); the SQL is the store's, the sealing the vault's.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use reqwest::header::HeaderValue;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use super::model::{Method, Record};
use super::vault::Vault;
use crate::ado::auth::{Auth, AuthError, Provider};
use crate::store::{AnyStore, CredentialStore};

/// How often a running process looks for credentials changed by another process.
pub const POLL: Duration = Duration::from_secs(5);

/// Makes a stored credential's [`Auth`] from its row and opened secret (the engine's,
/// which knows the HTTP settings an Entra token request needs).
pub type MakeAuth =
    Arc<dyn Fn(&Record, Option<SecretString>) -> Result<Auth, String> + Send + Sync>;

struct Loaded {
    version: i64,
    method: Method,
    auth: Auth,
    used: AtomicBool,
}

/// The stored credentials of this process.
pub struct Live {
    store: AnyStore,
    vault: Option<Vault>,
    make: MakeAuth,
    loaded: RwLock<HashMap<String, Arc<Loaded>>>,
    /// Credentials that exist but cannot be used, with why (a wrong master key, say).
    broken: RwLock<HashMap<String, String>>,
}

impl fmt::Debug for Live {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .loaded
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("Live").field("loaded", &names).finish()
    }
}

impl Live {
    /// Loads every stored credential. `vault` is `None` when `ADO_INGEST_MASTER_KEY` is not
    /// set: credentials with a secret are then broken, with that reason.
    pub async fn load(
        store: AnyStore,
        vault: Option<Vault>,
        make: MakeAuth,
    ) -> Result<Arc<Self>, crate::store::Error> {
        let live = Arc::new(Self {
            store,
            vault,
            make,
            loaded: RwLock::new(HashMap::new()),
            broken: RwLock::new(HashMap::new()),
        });
        live.refresh().await?;
        Ok(live)
    }

    /// Reads again the credentials whose version changed and drops the deleted ones. Returns
    /// how many changed. (A credential's first use after a refresh stamps `last_used_at`.)
    pub async fn refresh(&self) -> Result<usize, crate::store::Error> {
        let versions = self.store.credential_versions().await?;
        let mut changed = 0;
        let current: HashMap<String, i64> = versions.into_iter().collect();
        let stale: Vec<String> = {
            let loaded = self.loaded.read().unwrap_or_else(|e| e.into_inner());
            for l in loaded.values() {
                // The next use stamps `last_used_at` again (at most once per poll).
                l.used.store(false, Ordering::Release);
            }
            current
                .iter()
                .filter(|(n, v)| loaded.get(*n).is_none_or(|l| l.version != **v))
                .map(|(n, _)| n.clone())
                .collect()
        };
        for name in stale {
            let Some(record) = self.store.credential(&name).await? else {
                continue;
            };
            changed += 1;
            match self.open(&record) {
                Ok(auth) => {
                    tracing::info!(credential = %name, version = record.version, method = record.method.as_str(), "stored credential loaded");
                    self.broken
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&name);
                    self.loaded
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(
                            name,
                            Arc::new(Loaded {
                                version: record.version,
                                method: record.method,
                                auth,
                                used: AtomicBool::new(false),
                            }),
                        );
                }
                Err(reason) => {
                    tracing::error!(credential = %name, error = %reason, "stored credential cannot be used");
                    self.loaded
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&name);
                    self.broken
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(name, reason);
                }
            }
        }
        let gone: Vec<String> = self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .filter(|n| !current.contains_key(*n))
            .cloned()
            .collect();
        for name in gone {
            tracing::info!(credential = %name, "stored credential deleted; its pool entries are retired");
            self.loaded
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&name);
            changed += 1;
        }
        self.broken
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n, _| current.contains_key(n));
        Ok(changed)
    }

    fn open(&self, record: &Record) -> Result<Auth, String> {
        let secret = match &record.secret_sealed {
            Some(sealed) => {
                let vault = self
                    .vault
                    .as_ref()
                    .ok_or_else(|| super::VaultError::MissingKey.to_string())?;
                Some(
                    vault
                        .open(&record.name, sealed)
                        .map_err(|e| e.to_string())?,
                )
            }
            None => None,
        };
        (self.make)(record, secret)
    }

    /// The pool entry for `cred:NAME`, or why there is none.
    pub fn provider(self: &Arc<Self>, name: &str) -> Result<Auth, String> {
        if let Some(reason) = self
            .broken
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Err(reason.clone());
        }
        if !self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(name)
        {
            return Err(format!(
                "no stored credential named `{name}` (see `ado-ingest credentials list`)"
            ));
        }
        Ok(Auth::Dynamic(Arc::new(Stored {
            name: name.to_string(),
            live: self.clone(),
        })))
    }

    /// Re-reads changed credentials every [`POLL`] until `cancel` fires.
    pub async fn watch(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(POLL) => {}
            }
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "cannot read the stored credentials; keeping the loaded ones");
            }
        }
    }

    fn get(&self, name: &str) -> Result<Arc<Loaded>, AuthError> {
        if let Some(l) = self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(l.clone());
        }
        let why = self
            .broken
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .unwrap_or_else(|| "it was deleted".to_string());
        Err(AuthError::Refused(format!(
            "stored credential `{name}`: {why}"
        )))
    }
}

/// A `cred:NAME` pool entry: the current version of the stored credential at each request.
struct Stored {
    name: String,
    live: Arc<Live>,
}

impl Provider for Stored {
    fn header(&self) -> BoxFuture<'_, Result<HeaderValue, AuthError>> {
        Box::pin(async move {
            let loaded = self.live.get(&self.name)?;
            if !loaded.used.swap(true, Ordering::AcqRel) {
                // A stamp, not a change; off the request's path, and a failure costs only it.
                let (store, name) = (self.live.store.clone(), self.name.clone());
                tokio::spawn(async move {
                    if let Err(e) = store.touch_credential(&name, Utc::now()).await {
                        tracing::debug!(credential = %name, error = %e, "cannot stamp last_used_at");
                    }
                });
            }
            loaded.auth.header().await
        })
    }

    fn refused(&self, header: &HeaderValue) -> bool {
        let Ok(loaded) = self.live.get(&self.name) else {
            return false;
        };
        let retry = match &loaded.auth {
            // Rotated since that header was made: the new secret deserves its request.
            Auth::Static(current) => current != header,
            Auth::Dynamic(p) => p.refused(header),
        };
        if !retry {
            // The current version was refused and the entry leaves its pool: say so where
            // `credentials info` and the API look (a rotation makes it active again).
            let (store, name, version) =
                (self.live.store.clone(), self.name.clone(), loaded.version);
            tokio::spawn(async move {
                let detail = format!(
                    "version {version} was refused by Azure DevOps (401/203) during a pass; \
                     rotate it with `ado-ingest credentials update`"
                );
                // Only the version that was refused: one rotated meanwhile (by another
                // process, not polled yet) is not marked.
                let result = match store.credential(&name).await {
                    Ok(Some(r)) if r.version == version => {
                        let status = super::model::Status::Invalid;
                        store
                            .set_credential_status(&name, status, Some(&detail), Utc::now())
                            .await
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    tracing::warn!(credential = %name, error = %e, "cannot record the refused credential's status");
                }
            });
        }
        retry
    }

    fn method(&self) -> &'static str {
        self.live
            .get(&self.name)
            .map(|l| l.method.as_str())
            .unwrap_or("stored")
    }
}
