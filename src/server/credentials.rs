//! `/api/v1/credentials`: the stored credentials over HTTP in `run` — POST create, GET list,
//! GET one, PATCH update (partial), DELETE, and POST `{name}/validate` — behind the bearer
//! token `server.admin_token` (none configured: the API answers 404). Every answer is JSON;
//! errors are `{"code", "message"}`; no answer ever holds a secret. A change is loaded into
//! the running pools at once; a created or rotated credential is validated and the result
//! returned with it.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::credentials::manage::{self, ManageError, NewCredential, Patch};
use crate::credentials::model::{Method, parse_date};
use crate::credentials::{Vault, VaultError};
use crate::service::state::ServiceState;
use crate::store::AnyStore;

/// What the API needs: its token, the settings (for validation), the database.
pub struct Admin {
    pub token: SecretString,
    pub settings: Arc<Settings>,
    pub store: AnyStore,
    pub cancel: CancellationToken,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A refusal: its status, code and message (answered as JSON).
pub struct Refusal {
    status: u16,
    code: String,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response()
    }
}

fn refusal(status: u16, code: &str, message: &str) -> Refusal {
    Refusal {
        status,
        code: code.to_string(),
        message: message.to_string(),
    }
}

fn error(status: u16, code: &str, message: &str) -> Response {
    refusal(status, code, message).into_response()
}

fn manage_error(e: &ManageError) -> Response {
    if e.http_status() >= 500 {
        tracing::error!(error = %e, "credentials API");
    }
    error(e.http_status(), e.code(), &e.to_string())
}

/// The admin API, extracted from a request that carries its token; the request is refused
/// (404 `api_off` or 401 `unauthorized`) otherwise, before the handler runs.
pub struct Authorized(Arc<Admin>);

impl FromRequestParts<Arc<ServiceState>> for Authorized {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ServiceState>,
    ) -> Result<Self, Refusal> {
        let Some(admin) = &state.admin else {
            return Err(refusal(
                404,
                "api_off",
                "the credentials API is off: set server.admin_token to turn it on",
            ));
        };
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::webhooks::auth::constant_time_eq(
            presented.trim().as_bytes(),
            admin.token.expose_secret().as_bytes(),
        ) {
            tracing::warn!(
                status = 401,
                "credentials API: missing or wrong bearer token"
            );
            return Err(refusal(
                401,
                "unauthorized",
                "send Authorization: Bearer <server.admin_token>",
            ));
        }
        Ok(Authorized(admin.clone()))
    }
}

fn vault() -> Result<Option<Vault>, ManageError> {
    match Vault::from_env() {
        Ok(v) => Ok(Some(v)),
        Err(VaultError::MissingKey) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn object(body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(refusal(
            400,
            "invalid_input",
            "the body must be a JSON object",
        )),
        Err(e) => Err(refusal(
            400,
            "invalid_input",
            &format!("the body is not JSON: {e}"),
        )),
    }
}

const FIELDS: &[&str] = &[
    "name",
    "description",
    "connectors",
    "method",
    "tenant_id",
    "client_id",
    "authority",
    "endpoint",
    "secret",
    "expires_on",
];

/// A field: absent → `None`; `null` → `Some(None)`; a string → `Some(Some(s))`.
fn text(m: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>, ManageError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ManageError::Invalid(format!(
            "{key}: must be a string or null"
        ))),
    }
}

fn check_keys(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ManageError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ManageError::Invalid(format!(
            "unknown field `{k}` (known: {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn connectors(m: &Map<String, Value>) -> Result<Option<Vec<String>>, ManageError> {
    match m.get("connectors") {
        None => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    ManageError::Invalid("connectors: must be an array of names".into())
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        Some(_) => Err(ManageError::Invalid(
            "connectors: must be an array of names".into(),
        )),
    }
}

fn secret(m: &Map<String, Value>) -> Result<Option<SecretString>, ManageError> {
    match text(m, "secret")? {
        Some(Some(s)) if !s.trim().is_empty() => Ok(Some(SecretString::from(s.trim().to_string()))),
        Some(_) => Err(ManageError::Invalid("secret: must not be empty".into())),
        None => Ok(None),
    }
}

fn date(m: &Map<String, Value>) -> Result<Option<Option<chrono::NaiveDate>>, ManageError> {
    match text(m, "expires_on")? {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(d)) => parse_date(&d)
            .map(|d| Some(Some(d)))
            .map_err(|e| ManageError::Invalid(format!("expires_on: {e}"))),
    }
}

/// Loads the change into the running pools, and validates the credential when asked.
async fn after_change(admin: &Admin, name: &str, validate: bool) -> Value {
    if let Some(live) = &admin.settings.stored
        && let Err(e) = live.refresh().await
    {
        tracing::warn!(credential = %name, error = %e, "cannot load the changed credential");
    }
    if !validate {
        return Value::Null;
    }
    validation(admin, name).await
}

async fn validation(admin: &Admin, name: &str) -> Value {
    let Ok(Some(record)) = crate::store::CredentialStore::credential(&admin.store, name).await
    else {
        return Value::Null;
    };
    match crate::validate::stored(
        &admin.settings,
        &admin.store,
        name,
        &record.connectors,
        &admin.cancel,
    )
    .await
    {
        Ok(reports) => serde_json::to_value(reports).unwrap_or(Value::Null),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

async fn with_validation(admin: &Admin, name: &str, validate: bool) -> Result<Value, ManageError> {
    let validation = after_change(admin, name, validate).await;
    let view = manage::info(&admin.store, name).await?;
    Ok(json!({ "credential": view, "validation": validation }))
}

pub async fn list(Authorized(admin): Authorized) -> Response {
    match manage::list(&admin.store).await {
        Ok(views) => Json(json!({ "count": views.len(), "value": views })).into_response(),
        Err(e) => manage_error(&e),
    }
}

pub async fn get_one(Authorized(admin): Authorized, Path(name): Path<String>) -> Response {
    match manage::info(&admin.store, &name).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => manage_error(&e),
    }
}

pub async fn create(Authorized(admin): Authorized, body: Bytes) -> Response {
    let m = match object(&body) {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    let result = async {
        check_keys(&m, FIELDS)?;
        let name = text(&m, "name")?
            .flatten()
            .ok_or_else(|| ManageError::Invalid("name: required".into()))?;
        let method = match text(&m, "method")?.flatten() {
            Some(s) => {
                Method::parse(&s).map_err(|e| ManageError::Invalid(format!("method: {e}")))?
            }
            None => Method::Pat,
        };
        let new = NewCredential {
            name: name.clone(),
            description: text(&m, "description")?.flatten(),
            connectors: connectors(&m)?.unwrap_or_default(),
            method,
            tenant_id: text(&m, "tenant_id")?.flatten(),
            client_id: text(&m, "client_id")?.flatten(),
            authority: text(&m, "authority")?.flatten(),
            endpoint: text(&m, "endpoint")?.flatten(),
            secret: secret(&m)?,
            expires_on: date(&m)?.flatten(),
        };
        manage::create(&admin.store, vault()?.as_ref(), new).await?;
        tracing::info!(credential = %name, method = method.as_str(), "credential created");
        with_validation(&admin, &name, true).await
    }
    .await;
    match result {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(e) => manage_error(&e),
    }
}

pub async fn patch(
    Authorized(admin): Authorized,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let m = match object(&body) {
        Ok(m) => m,
        Err(r) => return r.into_response(),
    };
    let result = async {
        check_keys(&m, &FIELDS[1..])?;
        if m.contains_key("method") {
            return Err(ManageError::Invalid(
                "method: cannot change; create another credential".into(),
            ));
        }
        let patch = Patch {
            description: text(&m, "description")?,
            connectors: connectors(&m)?,
            tenant_id: text(&m, "tenant_id")?,
            client_id: text(&m, "client_id")?,
            authority: text(&m, "authority")?,
            endpoint: text(&m, "endpoint")?,
            secret: secret(&m)?,
            expires_on: date(&m)?,
        };
        let rotates = patch.rotates();
        manage::update(&admin.store, vault()?.as_ref(), &name, patch).await?;
        tracing::info!(credential = %name, rotated = rotates, "credential updated");
        with_validation(&admin, &name, rotates).await
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => manage_error(&e),
    }
}

pub async fn delete(Authorized(admin): Authorized, Path(name): Path<String>) -> Response {
    match manage::delete(&admin.store, &name).await {
        Ok(()) => {
            tracing::info!(credential = %name, "credential deleted");
            after_change(&admin, &name, false).await;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => manage_error(&e),
    }
}

pub async fn validate(Authorized(admin): Authorized, Path(name): Path<String>) -> Response {
    if let Err(e) = manage::info(&admin.store, &name).await {
        return manage_error(&e);
    }
    let reports = validation(&admin, &name).await;
    let all_ok = reports
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|r| r["outcome"] == "ok"));
    Json(json!({ "name": name, "ok": all_ok, "results": reports })).into_response()
}
