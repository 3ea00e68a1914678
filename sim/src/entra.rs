//! Entra ID as Azure DevOps sees it (API_FACTS §12): the identities the simulated tenant knows
//! (service principals with a client secret, managed identities behind IMDS, federated
//! credentials for workload identity), the short-lived bearer tokens it issues, and whether an
//! ADO request's `Authorization: Bearer …` is one of them, unexpired.
//!
//! A bearer token that is unknown, revoked or expired is refused exactly like a bad PAT (203
//! sign-in page, or 401 with `X-TFS-FedAuthRedirect: Suppress`; see `auth`). An accepted one has
//! every scope: a principal's access comes from ADO's permission model, not from PAT scopes.
//! The HTTP side (the token endpoint, IMDS) is `routes::entra`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::auth::{Caller, PatStore};
use crate::{Inner, lock, read};

/// Azure DevOps' application id, the only resource the simulated tenant issues tokens for.
pub const ADO_RESOURCE: &str = "499b84ac-1321-427f-aa17-267ca6975798";

/// A service principal: client credentials with a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePrincipal {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// A managed identity served by IMDS: `client_id` = `None` is the system-assigned one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedIdentity {
    pub client_id: Option<String>,
}

/// A federated identity credential: the app `client_id` of `tenant_id` accepts `assertion`
/// (the service account token a workload presents) as its client assertion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedCredential {
    pub tenant_id: String,
    pub client_id: String,
    pub assertion: String,
}

/// The simulated tenant.
#[derive(Clone, Debug)]
pub struct EntraConfig {
    /// `expires_in` of every issued token; tests use a second or two so that tokens run out
    /// during a run. Default 3599 s, like Entra's usual answer.
    pub token_lifetime: Duration,
    pub service_principals: Vec<ServicePrincipal>,
    pub managed_identities: Vec<ManagedIdentity>,
    pub federated: Vec<FederatedCredential>,
}

impl Default for EntraConfig {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(3599),
            service_principals: Vec::new(),
            managed_identities: Vec::new(),
            federated: Vec::new(),
        }
    }
}

struct Issued {
    /// `sp:CLIENT`, `wif:CLIENT`, `mi:CLIENT` or `mi:system`: what stats and the budget see.
    identity: String,
    expires: Instant,
}

#[derive(Default)]
struct Counts {
    issued: u64,
    by_identity: BTreeMap<String, u64>,
    by_assertion: BTreeMap<String, u64>,
    refused: u64,
    imds_requests: u64,
    /// ADO requests refused because their bearer token had expired.
    expired_presented: u64,
}

/// The tenant's state: its configuration (changeable at runtime) and the tokens it issued.
pub(crate) struct Entra {
    pub(crate) config: EntraConfig,
    issued: HashMap<String, Issued>,
    counts: Counts,
    /// IMDS requests still to answer with 503 ([`crate::Sim::fail_imds`]).
    pub(crate) imds_failures: u32,
}

/// Why a token request is refused: Entra's `error`, its AADSTS number and message.
pub(crate) struct Refusal {
    pub status: u16,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
}

fn refuse(status: u16, error: &'static str, code: u32, message: String) -> Refusal {
    Refusal {
        status,
        error,
        code,
        message,
    }
}

/// The credential a client-credentials request presented.
pub(crate) enum Presented<'a> {
    Secret(&'a str),
    Assertion(&'a str),
}

impl Entra {
    pub(crate) fn new(config: EntraConfig) -> Self {
        Self {
            config,
            issued: HashMap::new(),
            counts: Counts::default(),
            imds_failures: 0,
        }
    }

    /// A client-credentials request for `client_id` of `tenant`: a new token, or Entra's
    /// refusal. The scope was checked by the route.
    pub(crate) fn client_credentials(
        &mut self,
        tenant: &str,
        client_id: &str,
        presented: Presented<'_>,
    ) -> Result<(String, Duration), Refusal> {
        let cfg = &self.config;
        let tenant_known = cfg.service_principals.iter().any(|s| s.tenant_id == tenant)
            || cfg.federated.iter().any(|f| f.tenant_id == tenant);
        if !tenant_known {
            self.counts.refused += 1;
            return Err(refuse(
                400,
                "invalid_request",
                90002,
                format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
                ),
            ));
        }
        let not_found = || {
            refuse(
                400,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
                ),
            )
        };
        let result = match presented {
            Presented::Secret(secret) => {
                match cfg
                    .service_principals
                    .iter()
                    .find(|s| s.tenant_id == tenant && s.client_id == client_id)
                {
                    None => Err(not_found()),
                    Some(sp) if sp.client_secret != secret => Err(refuse(
                        401,
                        "invalid_client",
                        7000215,
                        format!(
                            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                        ),
                    )),
                    Some(_) => Ok(format!("sp:{client_id}")),
                }
            }
            Presented::Assertion(assertion) => {
                let mut creds = cfg
                    .federated
                    .iter()
                    .filter(|f| f.tenant_id == tenant && f.client_id == client_id)
                    .peekable();
                if creds.peek().is_none() {
                    Err(not_found())
                } else if creds.any(|f| f.assertion == assertion) {
                    *self
                        .counts
                        .by_assertion
                        .entry(assertion.to_string())
                        .or_default() += 1;
                    Ok(format!("wif:{client_id}"))
                } else {
                    Err(refuse(
                        400,
                        "invalid_client",
                        70021,
                        "No matching federated identity record found for presented assertion."
                            .into(),
                    ))
                }
            }
        };
        match result {
            Ok(identity) => Ok(self.issue(identity)),
            Err(r) => {
                self.counts.refused += 1;
                Err(r)
            }
        }
    }

    /// An IMDS request for the managed identity `client_id` (or the only one attached).
    pub(crate) fn managed_identity(
        &mut self,
        client_id: Option<&str>,
    ) -> Result<(String, Duration), &'static str> {
        let ids = &self.config.managed_identities;
        let found = match client_id {
            Some(c) => ids.iter().find(|m| m.client_id.as_deref() == Some(c)),
            None if ids.len() > 1 => {
                self.counts.refused += 1;
                return Err(
                    "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
                );
            }
            None => ids.first(),
        };
        let Some(mi) = found else {
            self.counts.refused += 1;
            return Err("Identity not found");
        };
        let identity = format!("mi:{}", mi.client_id.as_deref().unwrap_or("system"));
        Ok(self.issue(identity))
    }

    pub(crate) fn imds_request(&mut self) {
        self.counts.imds_requests += 1;
    }

    fn issue(&mut self, identity: String) -> (String, Duration) {
        self.counts.issued += 1;
        *self.counts.by_identity.entry(identity.clone()).or_default() += 1;
        let lifetime = self.config.token_lifetime;
        // Unique and recognisable; real ones are JWTs, which a client must treat as opaque.
        let token = format!(
            "eyJzaW0iOiJlbnRyYSJ9.{}.{:016x}",
            self.counts.issued,
            fnv(&format!("{identity}/{}", self.counts.issued))
        );
        self.issued.insert(
            token.clone(),
            Issued {
                identity,
                expires: Instant::now() + lifetime,
            },
        );
        (token, lifetime)
    }

    /// Forgets every issued token: ADO refuses them from now on.
    pub(crate) fn revoke_all(&mut self) {
        self.issued.clear();
    }

    pub(crate) fn stats(&self) -> Value {
        json!({
            "issued": self.counts.issued,
            "by_identity": self.counts.by_identity,
            "by_assertion": self.counts.by_assertion,
            "refused": self.counts.refused,
            "imds_requests": self.counts.imds_requests,
            "expired_presented": self.counts.expired_presented,
        })
    }
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

/// Who an ADO request is: a PAT the simulator accepts, else a bearer token the tenant issued
/// that has not expired (every scope), else rejected. Expired and unknown bearer tokens are
/// rejected like bad PATs; the statistics then name the identity, never the token.
pub(crate) fn authenticate(inner: &Inner, authorization: Option<&str>) -> Caller {
    let caller = read::<PatStore>(&inner.pats).authenticate(authorization);
    let Caller::Rejected { .. } = &caller else {
        return caller;
    };
    let Some(token) = authorization
        .map(str::trim)
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
    else {
        return caller;
    };
    let mut entra = lock(&inner.entra);
    let found = entra
        .issued
        .get(token)
        .map(|i| (i.identity.clone(), Instant::now() < i.expires));
    match found {
        Some((identity, true)) => Caller::Known {
            token: identity,
            scopes: Vec::new(),
        },
        Some((identity, false)) => {
            entra.counts.expired_presented += 1;
            Caller::Rejected {
                presented: Some(format!("{identity} (expired token)")),
            }
        }
        None => Caller::Rejected {
            presented: Some("(unknown bearer token)".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Entra {
        Entra::new(EntraConfig {
            token_lifetime: Duration::from_millis(50),
            service_principals: vec![ServicePrincipal {
                tenant_id: "t".into(),
                client_id: "sp".into(),
                client_secret: "right".into(),
            }],
            managed_identities: vec![ManagedIdentity { client_id: None }],
            federated: vec![FederatedCredential {
                tenant_id: "t".into(),
                client_id: "app".into(),
                assertion: "jwt-1".into(),
            }],
        })
    }

    #[test]
    fn secrets_and_assertions_are_checked_with_entra_errors() {
        let mut e = tenant();
        assert!(
            e.client_credentials("t", "sp", Presented::Secret("right"))
                .is_ok()
        );
        let wrong = e
            .client_credentials("t", "sp", Presented::Secret("wrong"))
            .unwrap_err();
        assert_eq!(
            (wrong.status, wrong.error, wrong.code),
            (401, "invalid_client", 7000215)
        );
        let unknown = e
            .client_credentials("t", "nobody", Presented::Secret("x"))
            .unwrap_err();
        assert_eq!(unknown.code, 700016);
        assert_eq!(
            e.client_credentials("other", "sp", Presented::Secret("right"))
                .unwrap_err()
                .code,
            90002
        );
        assert!(
            e.client_credentials("t", "app", Presented::Assertion("jwt-1"))
                .is_ok()
        );
        assert_eq!(
            e.client_credentials("t", "app", Presented::Assertion("jwt-0"))
                .unwrap_err()
                .code,
            70021
        );
        assert!(e.managed_identity(None).is_ok());
        assert_eq!(
            e.managed_identity(Some("u")).unwrap_err(),
            "Identity not found"
        );
        let s = e.stats();
        assert_eq!(s["issued"], 3);
        assert_eq!(s["refused"], 5);
        assert_eq!(s["by_assertion"]["jwt-1"], 1);
    }
}
