//! A stored credential's shape: its method, status, the row the store keeps (secret parts
//! sealed) and the view every response shows (secret parts never). Owns the input rules
//! (names, descriptions, which parts a method needs); no I/O.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{MAX_DESCRIPTION, check_name};

/// How a stored credential authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A personal access token (its secret part is the token).
    Pat,
    /// An Entra ID service principal, client-credentials flow (its secret part is the client
    /// secret; tenant id and client id are shown).
    ServicePrincipal,
    /// An Azure managed identity (no secret part; an optional client id for a user-assigned
    /// identity and an optional token endpoint).
    ManagedIdentity,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Pat => "pat",
            Method::ServicePrincipal => "service_principal",
            Method::ManagedIdentity => "managed_identity",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "pat" => Ok(Method::Pat),
            "service_principal" => Ok(Method::ServicePrincipal),
            "managed_identity" => Ok(Method::ManagedIdentity),
            other => Err(format!(
                "unknown method `{other}` (pat, service_principal or managed_identity)"
            )),
        }
    }

    /// Whether the method has a secret part.
    pub fn has_secret(self) -> bool {
        !matches!(self, Method::ManagedIdentity)
    }
}

/// Whether a credential can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Usable (or not checked yet).
    Active,
    /// Azure DevOps or the token service refused it at its last use or validation.
    Invalid,
    /// Its expiry date has passed.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Invalid => "invalid",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "invalid" => Status::Invalid,
            "expired" => Status::Expired,
            _ => Status::Active,
        }
    }
}

/// A row of `credentials`: everything but the secret in clear, the secret sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub connectors: Vec<String>,
    pub method: Method,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub authority: Option<String>,
    pub endpoint: Option<String>,
    /// `Vault::seal`'s output; `None` for a managed identity.
    pub secret_sealed: Option<String>,
    pub credentials_hash: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub status: Status,
    /// Why it is invalid (the last refusal), never a secret.
    pub status_detail: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub validated_at: Option<DateTime<Utc>>,
}

/// What every response shows of a credential: never the secret, only its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct View {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub connectors: Vec<String>,
    pub method: Method,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub authority: Option<String>,
    pub endpoint: Option<String>,
    pub credentials_hash: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub status: Status,
    pub status_detail: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub validated_at: Option<DateTime<Utc>>,
}

impl Record {
    /// The status as of `today`: an active credential past its expiry date is expired.
    pub fn effective_status(&self, today: NaiveDate) -> Status {
        match (self.status, self.expires_on) {
            (Status::Active, Some(d)) if d < today => Status::Expired,
            (s, _) => s,
        }
    }

    /// The view of this row (no secret part).
    pub fn view(&self, today: NaiveDate) -> View {
        View {
            id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            connectors: self.connectors.clone(),
            method: self.method,
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            authority: self.authority.clone(),
            endpoint: self.endpoint.clone(),
            credentials_hash: self.credentials_hash.clone(),
            expires_on: self.expires_on,
            status: self.effective_status(today),
            status_detail: self.status_detail.clone(),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_used_at: self.last_used_at,
            validated_at: self.validated_at,
        }
    }
}

/// Checks a description: at most 256 characters.
pub fn check_description(d: &str) -> Result<(), String> {
    let n = d.chars().count();
    if n > MAX_DESCRIPTION {
        return Err(format!(
            "a description is at most {MAX_DESCRIPTION} characters (got {n})"
        ));
    }
    Ok(())
}

/// Checks the connectors a credential serves: at least one, each a registered connector.
pub fn check_connectors(connectors: &[String]) -> Result<(), String> {
    if connectors.is_empty() {
        return Err(format!(
            "name the connector(s) it serves ({})",
            crate::connectors::names().join(", ")
        ));
    }
    for c in connectors {
        if crate::connectors::find(c).is_err() {
            return Err(format!(
                "unknown connector `{c}` (known: {})",
                crate::connectors::names().join(", ")
            ));
        }
    }
    Ok(())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))
}

/// Checks that the parts a method needs are there, and no secret for a method without one.
pub fn check_parts(
    method: Method,
    tenant_id: Option<&str>,
    client_id: Option<&str>,
    has_secret: bool,
) -> Result<(), String> {
    match method {
        Method::Pat if !has_secret => Err("a pat credential needs its token as the secret".into()),
        Method::ServicePrincipal if tenant_id.is_none_or(str::is_empty) => {
            Err("a service_principal credential needs --tenant-id".into())
        }
        Method::ServicePrincipal if client_id.is_none_or(str::is_empty) => {
            Err("a service_principal credential needs --client-id".into())
        }
        Method::ServicePrincipal if !has_secret => {
            Err("a service_principal credential needs its client secret as the secret".into())
        }
        Method::ManagedIdentity if has_secret => {
            Err("a managed_identity credential has no secret; give none".into())
        }
        _ => Ok(()),
    }
}

/// Every input rule at once, for a create or the merged result of an update.
pub fn check_all(
    name: &str,
    description: Option<&str>,
    connectors: &[String],
    method: Method,
    tenant_id: Option<&str>,
    client_id: Option<&str>,
    has_secret: bool,
) -> Result<(), String> {
    check_name(name).map_err(|e| format!("name: {e}"))?;
    if let Some(d) = description {
        check_description(d).map_err(|e| format!("description: {e}"))?;
    }
    check_connectors(connectors).map_err(|e| format!("connectors: {e}"))?;
    check_parts(method, tenant_id, client_id, has_secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check_description(&"x".repeat(256)).is_ok());
        assert!(
            check_description(&"x".repeat(257))
                .unwrap_err()
                .contains("257")
        );
        assert!(check_connectors(&[]).is_err());
        assert!(check_connectors(&["repos".into(), "boards".into()]).is_ok());
        assert!(
            check_connectors(&["nope".into()])
                .unwrap_err()
                .contains("nope")
        );
        assert!(check_parts(Method::Pat, None, None, false).is_err());
        assert!(check_parts(Method::Pat, None, None, true).is_ok());
        assert!(check_parts(Method::ServicePrincipal, Some("t"), None, true).is_err());
        assert!(check_parts(Method::ServicePrincipal, Some("t"), Some("c"), true).is_ok());
        assert!(check_parts(Method::ManagedIdentity, None, None, true).is_err());
        assert!(check_parts(Method::ManagedIdentity, None, Some("c"), false).is_ok());
        assert_eq!(
            Method::parse("service_principal"),
            Ok(Method::ServicePrincipal)
        );
        assert!(Method::parse("ntlm").is_err());
        assert!(parse_date("2026-13-01").is_err());
    }

    #[test]
    fn expiry_makes_an_active_credential_expired() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let mut r = Record {
            id: 1,
            name: "a".into(),
            description: None,
            connectors: vec!["repos".into()],
            method: Method::Pat,
            tenant_id: None,
            client_id: None,
            authority: None,
            endpoint: None,
            secret_sealed: Some("v1:x:y".into()),
            credentials_hash: Some("sha256:0".into()),
            expires_on: Some(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()),
            status: Status::Active,
            status_detail: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            last_used_at: None,
            validated_at: None,
        };
        assert_eq!(r.effective_status(today), Status::Expired);
        r.expires_on = Some(today);
        assert_eq!(r.effective_status(today), Status::Active);
        let json = serde_json::to_string(&r.view(today)).unwrap();
        assert!(!json.contains("v1:x:y"), "{json}");
    }
}
