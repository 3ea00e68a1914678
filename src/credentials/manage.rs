//! Create, update, show, list and delete stored credentials: the rules the CLI and the HTTP
//! API share. Secrets come in as `SecretString`, are sealed here and leave only as a
//! fingerprint; every error names the credential and the rule, never a secret.

use chrono::{NaiveDate, Utc};
use secrecy::SecretString;

use super::model::{self, Method, Record, Status, View};
use super::vault::{Vault, VaultError, fingerprint};
use crate::store::{AnyStore, CredentialFields, CredentialStore};

/// A management failure, with the code the HTTP API answers and the CLI's exit status.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// A bad name, description, connector, date or a missing part.
    #[error("{0}")]
    Invalid(String),
    /// No credential has that name.
    #[error("no stored credential named `{0}` (see `ado-ingest credentials list`)")]
    NotFound(String),
    /// The name is taken.
    #[error("a credential named `{0}` exists already; update it or choose another name")]
    Exists(String),
    /// It was changed by someone else between read and write.
    #[error("credential `{0}` was changed meanwhile; read it again and retry")]
    Conflict(String),
    /// The master key is missing, malformed or not the one the credentials were sealed with.
    #[error(transparent)]
    Key(#[from] VaultError),
    /// The database failed.
    #[error("the credentials table: {0}")]
    Store(#[from] crate::store::Error),
}

impl ManageError {
    /// The machine-readable code (HTTP API `code`).
    pub fn code(&self) -> &'static str {
        match self {
            ManageError::Invalid(_) => "invalid_input",
            ManageError::NotFound(_) => "not_found",
            ManageError::Exists(_) => "already_exists",
            ManageError::Conflict(_) => "conflict",
            ManageError::Key(VaultError::MissingKey | VaultError::BadKey(_)) => {
                "master_key_missing"
            }
            ManageError::Key(VaultError::SealFailed { .. }) => "encryption_failed",
            ManageError::Key(_) => "master_key_wrong",
            ManageError::Store(_) => "store_error",
        }
    }

    /// The HTTP status for it.
    pub fn http_status(&self) -> u16 {
        match self {
            ManageError::Key(VaultError::SealFailed { .. }) | ManageError::Store(_) => 500,
            ManageError::Invalid(_) | ManageError::Key(_) => 400,
            ManageError::NotFound(_) => 404,
            ManageError::Exists(_) | ManageError::Conflict(_) => 409,
        }
    }

    /// The CLI's exit status: 2 for what the user must fix in the command, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            ManageError::Store(_)
            | ManageError::Conflict(_)
            | ManageError::Key(VaultError::SealFailed { .. }) => 1,
            _ => 2,
        }
    }
}

/// What `create` takes.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub name: String,
    pub description: Option<String>,
    pub connectors: Vec<String>,
    pub method: Method,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub authority: Option<String>,
    pub endpoint: Option<String>,
    pub secret: Option<SecretString>,
    pub expires_on: Option<NaiveDate>,
}

/// What `update` takes: only the parts to change (`Some(None)` clears an optional part).
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub description: Option<Option<String>>,
    pub connectors: Option<Vec<String>>,
    pub tenant_id: Option<Option<String>>,
    pub client_id: Option<Option<String>>,
    pub authority: Option<Option<String>>,
    pub endpoint: Option<Option<String>>,
    pub secret: Option<SecretString>,
    pub expires_on: Option<Option<NaiveDate>>,
}

impl Patch {
    /// Whether it changes the secret (an update that does is validated again).
    pub fn rotates(&self) -> bool {
        self.secret.is_some()
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Refuses a key other than the one the stored credentials were sealed with: mixing keys
/// would leave some rows that no single key opens.
async fn check_key(store: &AnyStore, vault: &Vault) -> Result<(), ManageError> {
    for r in store.credentials().await? {
        if let Some(sealed) = &r.secret_sealed
            && let Some(id) = sealed.split(':').nth(1)
            && id != vault.key_id()
        {
            return Err(VaultError::WrongKey {
                name: r.name,
                sealed_with: id.to_string(),
                current: vault.key_id().to_string(),
            }
            .into());
        }
    }
    Ok(())
}

/// Stores a new credential. Needs the master key when the method has a secret.
pub async fn create(
    store: &AnyStore,
    vault: Option<&Vault>,
    new: NewCredential,
) -> Result<View, ManageError> {
    let connectors = dedup(new.connectors);
    model::check_all(
        &new.name,
        new.description.as_deref(),
        &connectors,
        new.method,
        new.tenant_id.as_deref(),
        new.client_id.as_deref(),
        new.secret.is_some(),
    )
    .map_err(ManageError::Invalid)?;
    let (secret_sealed, credentials_hash) = match &new.secret {
        Some(secret) => {
            let vault = vault.ok_or(VaultError::MissingKey)?;
            check_key(store, vault).await?;
            (
                Some(vault.seal(&new.name, secret)?),
                Some(fingerprint(secret)),
            )
        }
        None => (None, None),
    };
    let fields = CredentialFields {
        description: new.description,
        connectors,
        method: new.method,
        tenant_id: new.tenant_id,
        client_id: new.client_id,
        authority: new.authority,
        endpoint: new.endpoint,
        secret_sealed,
        credentials_hash,
        expires_on: new.expires_on,
        status: Status::Active,
        status_detail: None,
    };
    if !store
        .insert_credential(&new.name, &fields, Utc::now())
        .await?
    {
        return Err(ManageError::Exists(new.name));
    }
    info(store, &new.name).await
}

/// Changes the given parts of `name`; a new secret is sealed, fingerprinted and makes the
/// credential active again. The version goes up by one.
pub async fn update(
    store: &AnyStore,
    vault: Option<&Vault>,
    name: &str,
    patch: Patch,
) -> Result<View, ManageError> {
    let current = record(store, name).await?;
    let pick = |new: Option<Option<String>>, old: &Option<String>| new.unwrap_or(old.clone());
    let mut fields = CredentialFields {
        description: pick(patch.description.clone(), &current.description),
        connectors: dedup(
            patch
                .connectors
                .clone()
                .unwrap_or(current.connectors.clone()),
        ),
        method: current.method,
        tenant_id: pick(patch.tenant_id.clone(), &current.tenant_id),
        client_id: pick(patch.client_id.clone(), &current.client_id),
        authority: pick(patch.authority.clone(), &current.authority),
        endpoint: pick(patch.endpoint.clone(), &current.endpoint),
        secret_sealed: current.secret_sealed.clone(),
        credentials_hash: current.credentials_hash.clone(),
        expires_on: patch.expires_on.unwrap_or(current.expires_on),
        status: current.status,
        status_detail: current.status_detail.clone(),
    };
    model::check_all(
        name,
        fields.description.as_deref(),
        &fields.connectors,
        fields.method,
        fields.tenant_id.as_deref(),
        fields.client_id.as_deref(),
        fields.secret_sealed.is_some() || patch.secret.is_some(),
    )
    .map_err(ManageError::Invalid)?;
    if let Some(secret) = &patch.secret {
        let vault = vault.ok_or(VaultError::MissingKey)?;
        check_key(store, vault).await?;
        fields.secret_sealed = Some(vault.seal(name, secret)?);
        fields.credentials_hash = Some(fingerprint(secret));
        fields.status = Status::Active;
        fields.status_detail = None;
    }
    if patch.expires_on.is_some() && fields.status == Status::Expired {
        fields.status = Status::Active;
    }
    if !store
        .update_credential(name, current.version, &fields, Utc::now())
        .await?
    {
        return Err(ManageError::Conflict(name.to_string()));
    }
    info(store, name).await
}

/// One credential's view.
pub async fn info(store: &AnyStore, name: &str) -> Result<View, ManageError> {
    Ok(record(store, name).await?.view(today()))
}

/// Every credential's view, by name.
pub async fn list(store: &AnyStore) -> Result<Vec<View>, ManageError> {
    let today = today();
    Ok(store
        .credentials()
        .await?
        .iter()
        .map(|r| r.view(today))
        .collect())
}

/// Deletes `name`.
pub async fn delete(store: &AnyStore, name: &str) -> Result<(), ManageError> {
    if store.delete_credential(name).await? {
        Ok(())
    } else {
        Err(ManageError::NotFound(name.to_string()))
    }
}

async fn record(store: &AnyStore, name: &str) -> Result<Record, ManageError> {
    super::check_name(name).map_err(|e| ManageError::Invalid(format!("name: {e}")))?;
    store
        .credential(name)
        .await?
        .ok_or_else(|| ManageError::NotFound(name.to_string()))
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|c| seen.insert(c.clone()));
    v
}
