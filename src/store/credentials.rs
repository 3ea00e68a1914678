//! The `credentials` table (migration 0012): stored credentials, their secret parts already
//! sealed by `credentials::Vault` before they reach this module. Owns the SQL on both
//! backends; knows nothing of keys, secrets or HTTP (`credentials` decides what a row holds).

use chrono::{DateTime, NaiveDate, Utc};
use std::future::Future;

use super::apply::{Cell, Exec};
use super::backend::{Backend, text, time};
use super::schema::{Type, Value};
use super::{AnyStore, Result, sql};
use crate::credentials::model::{Method, Record, Status};

/// The columns of a row a create or update writes (the store sets id, version and times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialFields {
    pub description: Option<String>,
    pub connectors: Vec<String>,
    pub method: Method,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub authority: Option<String>,
    pub endpoint: Option<String>,
    pub secret_sealed: Option<String>,
    pub credentials_hash: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub status: Status,
    pub status_detail: Option<String>,
}

/// The stored credentials' operations.
pub trait CredentialStore: Send + Sync {
    /// Inserts a credential named `name`; `false` when the name is taken.
    fn insert_credential(
        &self,
        name: &str,
        fields: &CredentialFields,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Replaces the fields of `name` if its version is still `version`, incrementing it.
    /// `false` when it is gone or was changed meanwhile.
    fn update_credential(
        &self,
        name: &str,
        version: i64,
        fields: &CredentialFields,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// One credential.
    fn credential(&self, name: &str) -> impl Future<Output = Result<Option<Record>>> + Send;

    /// Every credential, by name.
    fn credentials(&self) -> impl Future<Output = Result<Vec<Record>>> + Send;

    /// Each credential's name and version: what a running process compares to see changes.
    fn credential_versions(&self) -> impl Future<Output = Result<Vec<(String, i64)>>> + Send;

    /// Deletes `name`; `false` when there was none.
    fn delete_credential(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Records a use (not a change: the version stays).
    fn touch_credential(
        &self,
        name: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Records a validation or a refusal: status, why, when (not a change: the version stays).
    fn set_credential_status(
        &self,
        name: &str,
        status: Status,
        detail: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
}

const COLUMNS: &str = "id, name, description, connectors, method, tenant_id, client_id, \
                       authority, endpoint, secret_sealed, credentials_hash, expires_on, status, \
                       status_detail, version, created_at, updated_at, last_used_at, validated_at";

const TYPES: &[Type] = &[
    Type::Int,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Text,
    Type::Int,
    Type::Time,
    Type::Time,
    Type::Time,
    Type::Time,
];

fn opt(v: Option<&str>) -> (Type, Value<'_>) {
    (Type::Text, v.map_or(Value::Null, Value::Text))
}

fn owned(v: Option<String>) -> (Type, Value<'static>) {
    (Type::Text, v.map_or(Value::Null, Value::Owned))
}

/// The binds of the written columns, in `FIELDS` order.
fn field_binds(f: &CredentialFields) -> Vec<(Type, Value<'_>)> {
    vec![
        opt(f.description.as_deref()),
        owned(Some(f.connectors.join(","))),
        text(f.method.as_str()),
        opt(f.tenant_id.as_deref()),
        opt(f.client_id.as_deref()),
        opt(f.authority.as_deref()),
        opt(f.endpoint.as_deref()),
        opt(f.secret_sealed.as_deref()),
        opt(f.credentials_hash.as_deref()),
        owned(f.expires_on.map(|d| d.format("%Y-%m-%d").to_string())),
        text(f.status.as_str()),
        opt(f.status_detail.as_deref()),
    ]
}

const FIELDS: &[&str] = &[
    "description",
    "connectors",
    "method",
    "tenant_id",
    "client_id",
    "authority",
    "endpoint",
    "secret_sealed",
    "credentials_hash",
    "expires_on",
    "status",
    "status_detail",
];

fn record(row: Vec<Cell>) -> Option<Record> {
    let mut r = row.into_iter();
    let id = r.next()?.as_int()?;
    let name = r.next()?.into_text()?;
    let description = r.next()?.into_text();
    let connectors = r
        .next()?
        .into_text()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let method = Method::parse(&r.next()?.into_text()?).ok()?;
    Some(Record {
        id,
        name,
        description,
        connectors,
        method,
        tenant_id: r.next()?.into_text(),
        client_id: r.next()?.into_text(),
        authority: r.next()?.into_text(),
        endpoint: r.next()?.into_text(),
        secret_sealed: r.next()?.into_text(),
        credentials_hash: r.next()?.into_text(),
        expires_on: r
            .next()?
            .into_text()
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        status: Status::parse(&r.next()?.into_text().unwrap_or_default()),
        status_detail: r.next()?.into_text(),
        version: r.next()?.as_int()?,
        created_at: r.next()?.as_time()?,
        updated_at: r.next()?.as_time()?,
        last_used_at: r.next()?.as_time(),
        validated_at: r.next()?.as_time(),
    })
}

/// The credentials `SELECT … FROM credentials {tail}` finds (`{}` in `tail` are `binds`).
async fn select<B: Backend>(
    backend: &B,
    tail: &str,
    binds: Vec<(Type, Value<'_>)>,
) -> Result<Vec<Record>> {
    let mut c = backend.reader().await?;
    let d = c.dialect();
    let rows = c
        .fetch(
            sql::query(
                d,
                "credentials",
                &format!("SELECT {COLUMNS} FROM credentials {tail}"),
                binds,
            ),
            TYPES,
        )
        .await?;
    Ok(rows.into_iter().filter_map(record).collect())
}

impl<B: Backend> CredentialStore for B {
    async fn insert_credential(
        &self,
        name: &str,
        fields: &CredentialFields,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        let mut binds = vec![text(name)];
        binds.extend(field_binds(fields));
        binds.extend([time(at), time(at)]);
        let marks = vec!["{}"; FIELDS.len()].join(", ");
        let inserted = c
            .execute(sql::query(
                d,
                "credentials",
                &format!(
                    "INSERT INTO credentials (name, {}, version, created_at, updated_at) \
                     VALUES ({{}}, {marks}, 1, {{}}, {{}}) ON CONFLICT (name) DO NOTHING",
                    FIELDS.join(", ")
                ),
                binds,
            ))
            .await?;
        Ok(inserted > 0)
    }

    async fn update_credential(
        &self,
        name: &str,
        version: i64,
        fields: &CredentialFields,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        let sets: Vec<String> = FIELDS.iter().map(|f| format!("{f} = {{}}")).collect();
        let mut binds = field_binds(fields);
        binds.extend([time(at), text(name), (Type::Int, Value::Int(version))]);
        let changed = c
            .execute(sql::query(
                d,
                "credentials",
                &format!(
                    "UPDATE credentials SET {}, version = version + 1, updated_at = {{}} \
                     WHERE name = {{}} AND version = {{}}",
                    sets.join(", ")
                ),
                binds,
            ))
            .await?;
        Ok(changed > 0)
    }

    async fn credential(&self, name: &str) -> Result<Option<Record>> {
        let rows = select(self, "WHERE name = {}", vec![text(name)]).await?;
        Ok(rows.into_iter().next())
    }

    async fn credentials(&self) -> Result<Vec<Record>> {
        select(self, "ORDER BY name", vec![]).await
    }

    async fn credential_versions(&self) -> Result<Vec<(String, i64)>> {
        let mut c = self.reader().await?;
        let d = c.dialect();
        let rows = c
            .fetch(
                sql::query(
                    d,
                    "credentials",
                    "SELECT name, version FROM credentials ORDER BY name",
                    vec![],
                ),
                &[Type::Text, Type::Int],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut r = r.into_iter();
                Some((r.next()?.into_text()?, r.next()?.as_int()?))
            })
            .collect())
    }

    async fn delete_credential(&self, name: &str) -> Result<bool> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        let n = c
            .execute(sql::query(
                d,
                "credentials",
                "DELETE FROM credentials WHERE name = {}",
                vec![text(name)],
            ))
            .await?;
        Ok(n > 0)
    }

    async fn touch_credential(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "credentials",
            "UPDATE credentials SET last_used_at = {} WHERE name = {}",
            vec![time(at), text(name)],
        ))
        .await?;
        Ok(())
    }

    async fn set_credential_status(
        &self,
        name: &str,
        status: Status,
        detail: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut c = self.writer().await?;
        let d = c.dialect();
        c.execute(sql::query(
            d,
            "credentials",
            "UPDATE credentials SET status = {}, status_detail = {}, validated_at = {} \
             WHERE name = {}",
            vec![text(status.as_str()), opt(detail), time(at), text(name)],
        ))
        .await?;
        Ok(())
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl CredentialStore for AnyStore {
    async fn insert_credential(
        &self,
        name: &str,
        fields: &CredentialFields,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        delegate!(self, s => s.insert_credential(name, fields, at))
    }
    async fn update_credential(
        &self,
        name: &str,
        version: i64,
        fields: &CredentialFields,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        delegate!(self, s => s.update_credential(name, version, fields, at))
    }
    async fn credential(&self, name: &str) -> Result<Option<Record>> {
        delegate!(self, s => s.credential(name))
    }
    async fn credentials(&self) -> Result<Vec<Record>> {
        delegate!(self, s => s.credentials())
    }
    async fn credential_versions(&self) -> Result<Vec<(String, i64)>> {
        delegate!(self, s => s.credential_versions())
    }
    async fn delete_credential(&self, name: &str) -> Result<bool> {
        delegate!(self, s => s.delete_credential(name))
    }
    async fn touch_credential(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        delegate!(self, s => s.touch_credential(name, at))
    }
    async fn set_credential_status(
        &self,
        name: &str,
        status: Status,
        detail: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        delegate!(self, s => s.set_credential_status(name, status, detail, at))
    }
}
