//! Entra ID identities as pool entries: what a `tokens` table with a `method` says
//! ([`IdentityRef`]), its validation (every problem named by its key), and the resolved
//! [`Identity`] the connector's token provider is built from (`ado::entra`).
//!
//! Owns the configuration side only: no HTTP here. The defaults follow API_FACTS §12: Entra's
//! public authority, the IMDS endpoint, and for workload identity the variables the AKS
//! webhook injects (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`,
//! `AZURE_AUTHORITY_HOST`). Nothing here prints a secret: Debug redacts the client secret's
//! value and errors name its reference (`env:VAR`), never what it holds.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::secrets::resolve_secret;

/// Entra's public-cloud authority (API_FACTS §12, client credentials).
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The Azure Instance Metadata Service's token endpoint (API_FACTS §12, IMDS).
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The three ways an entry can get an Entra ID token.
const METHODS: &str = "service_principal, managed_identity, workload_identity";
/// Every key an identity table may have.
const KEYS: &str =
    "name, method, tenant_id, client_id, client_secret, authority, endpoint, token_file";

/// An identity table as written in the config, every field optional so that validation, not
/// the parser, says which one is missing (serde's untagged enums only say "did not match").
#[derive(Clone, Deserialize)]
pub struct IdentityRef {
    pub name: Option<String>,
    pub method: String,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    /// A secret reference (`env:VAR`, `file:/path`, or a literal).
    pub client_secret: Option<String>,
    pub authority: Option<String>,
    pub endpoint: Option<String>,
    pub token_file: Option<String>,
    /// Keys this table should not have, reported by validation.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

impl fmt::Debug for IdentityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityRef")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_deref().map(crate::redact::reference),
            )
            .field("authority", &self.authority)
            .field("endpoint", &self.endpoint)
            .field("token_file", &self.token_file)
            .finish()
    }
}

/// A resolved identity: everything its token provider needs.
#[derive(Clone)]
pub enum Identity {
    /// Client credentials with a client secret.
    ServicePrincipal {
        tenant_id: String,
        client_id: String,
        client_secret: SecretString,
        authority: String,
    },
    /// The Azure Instance Metadata Service of the VM or container the process runs on;
    /// `client_id` picks a user-assigned identity.
    ManagedIdentity {
        client_id: Option<String>,
        endpoint: String,
    },
    /// Client credentials with a federated token (a Kubernetes service account token) read
    /// from `token_file` at every token request.
    WorkloadIdentity {
        tenant_id: String,
        client_id: String,
        token_file: PathBuf,
        authority: String,
    },
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::ServicePrincipal {
                tenant_id,
                client_id,
                authority,
                ..
            } => f
                .debug_struct("ServicePrincipal")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .field("authority", authority)
                .finish(),
            Identity::ManagedIdentity {
                client_id,
                endpoint,
            } => f
                .debug_struct("ManagedIdentity")
                .field("client_id", client_id)
                .field("endpoint", endpoint)
                .finish(),
            Identity::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
                authority,
            } => f
                .debug_struct("WorkloadIdentity")
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("token_file", token_file)
                .field("authority", authority)
                .finish(),
        }
    }
}

impl Identity {
    /// The method's name, as config, logs and metrics write it.
    pub fn method(&self) -> &'static str {
        match self {
            Identity::ServicePrincipal { .. } => "service_principal",
            Identity::ManagedIdentity { .. } => "managed_identity",
            Identity::WorkloadIdentity { .. } => "workload_identity",
        }
    }
}

/// Where the values the workload identity webhook injects come from (the process
/// environment; a map in tests).
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Env for BTreeMap<&str, &str> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).map(|v| v.to_string())
    }
}

impl IdentityRef {
    /// Every problem of this table, each prefixed with `key` (`connectors.repos.tokens[1]`)
    /// and the field. With `resolve`, secrets, the token file and the environment defaults
    /// are read too; without, only the shape is checked (commands that only read the
    /// database).
    pub fn problems(&self, key: &str, resolve: bool) -> Vec<String> {
        let mut problems: Vec<String> = self
            .unknown
            .keys()
            .map(|k| format!("{key}.{k}: unknown key; an identity table has {KEYS}"))
            .collect();
        if self.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            problems.push(format!(
                "{key}.name: required (logs and errors name the entry by it)"
            ));
        }
        if !matches!(
            self.method.as_str(),
            "service_principal" | "managed_identity" | "workload_identity"
        ) {
            problems.push(format!(
                "{key}.method: `{}` is not one of {METHODS}",
                self.method
            ));
            return problems;
        }
        let allowed: &[&str] = match self.method.as_str() {
            "service_principal" => &["tenant_id", "client_id", "client_secret", "authority"],
            "managed_identity" => &["client_id", "endpoint"],
            _ => &["tenant_id", "client_id", "authority", "token_file"],
        };
        for (field, set) in [
            ("tenant_id", self.tenant_id.is_some()),
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("authority", self.authority.is_some()),
            ("endpoint", self.endpoint.is_some()),
            ("token_file", self.token_file.is_some()),
        ] {
            if set && !allowed.contains(&field) {
                problems.push(format!(
                    "{key}.{field}: not a setting of method {}",
                    self.method
                ));
            }
        }
        for (field, value) in [("authority", &self.authority), ("endpoint", &self.endpoint)] {
            if let Some(v) = value
                && !is_http_url(v)
            {
                problems.push(format!("{key}.{field}: `{v}` must be an http(s) URL"));
            }
        }
        if self.method == "service_principal" {
            for (field, value) in [
                ("tenant_id", &self.tenant_id),
                ("client_id", &self.client_id),
                ("client_secret", &self.client_secret),
            ] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    problems.push(format!("{key}.{field}: required for a service principal"));
                }
            }
        }
        if resolve
            && problems.is_empty()
            && let Err(e) = self.resolve(&ProcessEnv)
        {
            problems.push(format!("{key}.{e}"));
        }
        problems
    }

    /// The identity with its secret read and its defaults filled in. The error starts with
    /// the field it concerns (`client_secret: environment variable X is not set`).
    pub fn resolve(&self, env: &dyn Env) -> Result<Identity, String> {
        match self.method.as_str() {
            "service_principal" => Ok(Identity::ServicePrincipal {
                tenant_id: field(&self.tenant_id)
                    .ok_or("tenant_id: required for a service principal")?
                    .to_string(),
                client_id: field(&self.client_id)
                    .ok_or("client_id: required for a service principal")?
                    .to_string(),
                client_secret: {
                    let r = field(&self.client_secret)
                        .ok_or("client_secret: required for a service principal")?;
                    resolve_secret(r).map_err(|e| format!("client_secret: {e}"))?
                },
                authority: field(&self.authority)
                    .unwrap_or(DEFAULT_AUTHORITY)
                    .to_string(),
            }),
            "managed_identity" => Ok(Identity::ManagedIdentity {
                client_id: field(&self.client_id).map(String::from),
                endpoint: field(&self.endpoint)
                    .unwrap_or(DEFAULT_IMDS_ENDPOINT)
                    .to_string(),
            }),
            "workload_identity" => {
                let or_env = |v: &Option<String>, var: &str, name: &str| {
                    field(v)
                        .map(String::from)
                        .or_else(|| env.var(var))
                        .ok_or(format!(
                            "{name}: required for workload identity (or set {var})"
                        ))
                };
                let token_file = PathBuf::from(or_env(
                    &self.token_file,
                    "AZURE_FEDERATED_TOKEN_FILE",
                    "token_file",
                )?);
                // Read once here so a wrong path is a configuration error, not a refused
                // entry at the first request; the provider reads it again at every token
                // request, since the kubelet rotates it (API_FACTS §12).
                match std::fs::read_to_string(&token_file) {
                    Ok(t) if !t.trim().is_empty() => {}
                    Ok(_) => return Err(format!("token_file: {} is empty", token_file.display())),
                    Err(e) => {
                        return Err(format!(
                            "token_file: cannot read {}: {e}",
                            token_file.display()
                        ));
                    }
                }
                let authority = field(&self.authority)
                    .map(String::from)
                    .or_else(|| env.var("AZURE_AUTHORITY_HOST"))
                    .unwrap_or_else(|| DEFAULT_AUTHORITY.to_string());
                if !is_http_url(&authority) {
                    return Err(format!("authority: `{authority}` must be an http(s) URL"));
                }
                Ok(Identity::WorkloadIdentity {
                    tenant_id: or_env(&self.tenant_id, "AZURE_TENANT_ID", "tenant_id")?,
                    client_id: or_env(&self.client_id, "AZURE_CLIENT_ID", "client_id")?,
                    token_file,
                    authority,
                })
            }
            other => Err(format!("method: `{other}` is not one of {METHODS}")),
        }
    }
}

/// A set, non-blank value.
fn field(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn is_http_url(v: &str) -> bool {
    url::Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// `{authority}/{tenant}/oauth2/v2.0/token`, whether or not the authority ends with `/`
/// (`AZURE_AUTHORITY_HOST` is injected with one; API_FACTS §12 says that is unverified, so
/// both are accepted).
pub fn token_url(authority: &str, tenant: &str) -> String {
    format!(
        "{}/{}/oauth2/v2.0/token",
        authority.trim_end_matches('/'),
        tenant.trim_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(toml_text: &str) -> IdentityRef {
        #[derive(Deserialize)]
        struct W {
            t: IdentityRef,
        }
        let w: W = config::Config::builder()
            .add_source(config::File::from_str(
                &format!("t = {toml_text}"),
                config::FileFormat::Toml,
            ))
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        w.t
    }

    #[test]
    fn a_service_principal_resolves_with_the_default_authority() {
        let t = table(
            r#"{ name = "sp", method = "service_principal", tenant_id = "t1", client_id = "c1", client_secret = "s3cret-value" }"#,
        );
        assert!(t.problems("k", true).is_empty());
        let id = t.resolve(&ProcessEnv).unwrap();
        let Identity::ServicePrincipal { authority, .. } = &id else {
            panic!("{id:?}")
        };
        assert_eq!(authority, DEFAULT_AUTHORITY);
        let shown = format!("{id:?} {t:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
    }

    #[test]
    fn missing_and_misplaced_keys_are_named() {
        let t = table(
            r#"{ name = "sp", method = "service_principal", client_id = "c", endpoint = "http://x", tenantid = "t" }"#,
        );
        let p = t.problems("connectors.repos.tokens[1]", true);
        let text = p.join("\n");
        for expected in [
            "connectors.repos.tokens[1].tenantid: unknown key",
            "connectors.repos.tokens[1].endpoint: not a setting of method service_principal",
            "connectors.repos.tokens[1].tenant_id: required for a service principal",
            "connectors.repos.tokens[1].client_secret: required for a service principal",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
        let bad = table(r#"{ name = "x", method = "certificate" }"#);
        assert_eq!(
            bad.problems("k", true),
            vec![format!("k.method: `certificate` is not one of {METHODS}")]
        );
        let unnamed = table(r#"{ method = "managed_identity", endpoint = "not a url" }"#);
        let p = unnamed.problems("k", false).join("\n");
        assert!(p.contains("k.name: required"), "{p}");
        assert!(
            p.contains("k.endpoint: `not a url` must be an http(s) URL"),
            "{p}"
        );
    }

    #[test]
    fn a_secret_that_cannot_be_read_names_its_variable() {
        let t = table(
            r#"{ name = "sp", method = "service_principal", tenant_id = "t", client_id = "c", client_secret = "env:ADO_INGEST_TEST_NO_SUCH_VAR" }"#,
        );
        assert_eq!(
            t.problems("k", true),
            vec!["k.client_secret: environment variable ADO_INGEST_TEST_NO_SUCH_VAR is not set"]
        );
        assert!(
            t.problems("k", false).is_empty(),
            "not resolved: no problem"
        );
    }

    #[test]
    fn managed_identity_defaults_to_imds() {
        let t = table(r#"{ name = "mi", method = "managed_identity" }"#);
        let Identity::ManagedIdentity {
            client_id,
            endpoint,
        } = t.resolve(&ProcessEnv).unwrap()
        else {
            panic!()
        };
        assert_eq!(client_id, None);
        assert_eq!(endpoint, DEFAULT_IMDS_ENDPOINT);
    }

    #[test]
    fn workload_identity_fills_in_from_the_webhook_variables() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("azure-identity-token");
        std::fs::write(&file, "eyJ.federated.jwt\n").unwrap();
        let file_s = file.display().to_string();
        let env = BTreeMap::from([
            ("AZURE_TENANT_ID", "tenant-env"),
            ("AZURE_CLIENT_ID", "client-env"),
            ("AZURE_FEDERATED_TOKEN_FILE", file_s.as_str()),
            ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
        ]);
        let t = table(r#"{ name = "wif", method = "workload_identity", client_id = "mine" }"#);
        let Identity::WorkloadIdentity {
            tenant_id,
            client_id,
            token_file,
            authority,
        } = t.resolve(&env).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (tenant_id.as_str(), client_id.as_str()),
            ("tenant-env", "mine")
        );
        assert_eq!(token_file, file);
        assert_eq!(
            token_url(&authority, &tenant_id),
            "https://login.microsoftonline.com/tenant-env/oauth2/v2.0/token"
        );
        let none = BTreeMap::new();
        assert_eq!(
            t.resolve(&none).unwrap_err(),
            "token_file: required for workload identity (or set AZURE_FEDERATED_TOKEN_FILE)"
        );
    }

    #[test]
    fn a_pool_mixes_pats_and_identities_and_errors_name_the_key() {
        let text = r#"
[database]
url = "sqlite://x.db"
[organization]
url = "https://dev.azure.com/contoso"
[connectors.repos]
tokens = [
  { name = "pat", secret = "literal-pat" },
  { name = "sp", method = "service_principal", tenant_id = "t", client_id = "c", client_secret = "sp-s3cret" },
  { name = "mi", method = "managed_identity", client_id = "u" },
]
"#;
        let s =
            crate::config::Settings::from_toml(Some(text), "t.toml", std::iter::empty()).unwrap();
        let repos = s.connectors.repos.as_ref().unwrap();
        let entries = repos.resolve_entries().unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["pat", "sp", "mi"]);
        assert!(matches!(
            &entries[1].credential,
            crate::config::Credential::Entra(Identity::ServicePrincipal { .. })
        ));
        let shown = format!("{s:?} {entries:?}");
        assert!(
            !shown.contains("sp-s3cret") && !shown.contains("literal-pat"),
            "{shown}"
        );

        let broken = text.replace(r#"tenant_id = "t", "#, "");
        let e = crate::config::Settings::from_toml(Some(&broken), "t.toml", std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("connectors.repos.tokens[1].tenant_id: required for a service principal"),
            "{e}"
        );
    }

    #[test]
    fn token_url_joins_with_or_without_slashes() {
        for a in ["https://h", "https://h/"] {
            assert_eq!(token_url(a, "t"), "https://h/t/oauth2/v2.0/token");
        }
    }
}
