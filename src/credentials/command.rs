//! `ado-ingest credentials create|update|info|list|delete`: reads the secret from an
//! environment variable or standard input (never argv), calls [`super::manage`], prints the
//! view as a table or JSON. Returns the exit status: 0, 1 (database), 2 (the command).

use std::io::{BufRead, IsTerminal};

use secrecy::SecretString;

use super::manage::{self, ManageError, NewCredential, Patch};
use super::model::{self, Method, View};
use super::vault::Vault;
use crate::cli::{CredentialMethod, CredentialsCommand, StatusFormat};
use crate::store::AnyStore;

/// Runs one `credentials` subcommand against `store`; `connectors` is the global
/// `--connector` list.
pub async fn run(store: &AnyStore, command: &CredentialsCommand, connectors: &[String]) -> u8 {
    match execute(store, command, connectors).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn execute(
    store: &AnyStore,
    command: &CredentialsCommand,
    connectors: &[String],
) -> Result<(), ManageError> {
    match command {
        CredentialsCommand::Create {
            name,
            method,
            description,
            tenant_id,
            client_id,
            authority,
            endpoint,
            expires,
            secret_env,
            format,
        } => {
            let method = match method {
                CredentialMethod::Pat => Method::Pat,
                CredentialMethod::ServicePrincipal => Method::ServicePrincipal,
                CredentialMethod::ManagedIdentity => Method::ManagedIdentity,
            };
            // Check what needs no secret first, so a bad name is reported before stdin is
            // read.
            super::check_name(name).map_err(|e| ManageError::Invalid(format!("name: {e}")))?;
            if let Some(d) = description {
                model::check_description(d)
                    .map_err(|e| ManageError::Invalid(format!("description: {e}")))?;
            }
            let expires_on = expires
                .as_deref()
                .map(model::parse_date)
                .transpose()
                .map_err(|e| ManageError::Invalid(format!("--expires: {e}")))?;
            let (vault, secret) = if method.has_secret() {
                let vault = Vault::from_env()?;
                (Some(vault), Some(read_secret(secret_env.as_deref())?))
            } else {
                if secret_env.is_some() {
                    return Err(ManageError::Invalid(
                        "a managed_identity credential has no secret; drop --secret-env".into(),
                    ));
                }
                (None, None)
            };
            let view = manage::create(
                store,
                vault.as_ref(),
                NewCredential {
                    name: name.clone(),
                    description: description.clone(),
                    connectors: connectors.to_vec(),
                    method,
                    tenant_id: tenant_id.clone(),
                    client_id: client_id.clone(),
                    authority: authority.clone(),
                    endpoint: endpoint.clone(),
                    secret,
                    expires_on,
                },
            )
            .await?;
            print_one(&view, *format);
        }
        CredentialsCommand::Update {
            name,
            description,
            tenant_id,
            client_id,
            authority,
            endpoint,
            expires,
            secret_env,
            secret_stdin,
            format,
        } => {
            let clearable = |v: &Option<String>| {
                v.as_ref()
                    .map(|s| Some(s.clone()).filter(|s| !s.is_empty()))
            };
            let expires_on = match expires.as_deref() {
                None => None,
                Some("") => Some(None),
                Some(d) => {
                    Some(Some(model::parse_date(d).map_err(|e| {
                        ManageError::Invalid(format!("--expires: {e}"))
                    })?))
                }
            };
            let rotate = secret_env.is_some() || *secret_stdin;
            let vault = if rotate {
                Some(Vault::from_env()?)
            } else {
                None
            };
            let patch = Patch {
                description: clearable(description),
                connectors: (!connectors.is_empty()).then(|| connectors.to_vec()),
                tenant_id: clearable(tenant_id),
                client_id: clearable(client_id),
                authority: clearable(authority),
                endpoint: clearable(endpoint),
                secret: if rotate {
                    Some(read_secret(secret_env.as_deref())?)
                } else {
                    None
                },
                expires_on,
            };
            let view = manage::update(store, vault.as_ref(), name, patch).await?;
            print_one(&view, *format);
        }
        CredentialsCommand::Info { name, format } => {
            print_one(&manage::info(store, name).await?, *format);
        }
        CredentialsCommand::List { format } => {
            let views = manage::list(store).await?;
            match format {
                StatusFormat::Json => println!("{}", json(&views)),
                StatusFormat::Table => print!("{}", table(&views)),
            }
        }
        CredentialsCommand::Delete { name } => {
            manage::delete(store, name).await?;
            println!("deleted {name}");
        }
    }
    Ok(())
}

/// The secret from `VAR`, or one line of standard input.
fn read_secret(var: Option<&str>) -> Result<SecretString, ManageError> {
    let value = match var {
        Some(var) => std::env::var(var).map_err(|_| {
            ManageError::Invalid(format!(
                "--secret-env: environment variable {var} is not set"
            ))
        })?,
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("secret (one line, not echoed by a pipe; end with Enter):");
            }
            let mut line = String::new();
            stdin.lock().read_line(&mut line).map_err(|e| {
                ManageError::Invalid(format!("cannot read the secret from standard input: {e}"))
            })?;
            line
        }
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(ManageError::Invalid(
            "the secret is empty (give it on standard input or with --secret-env VAR)".into(),
        ));
    }
    Ok(SecretString::from(value.to_string()))
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn print_one(view: &View, format: StatusFormat) {
    match format {
        StatusFormat::Json => println!("{}", json(view)),
        StatusFormat::Table => {
            let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            let time = |v: Option<chrono::DateTime<chrono::Utc>>| {
                v.map_or("-".into(), |t| {
                    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
                })
            };
            let rows = [
                ("name", view.name.clone()),
                ("method", view.method_str().to_string()),
                ("connectors", view.connectors.join(", ")),
                ("description", opt(&view.description)),
                ("tenant id", opt(&view.tenant_id)),
                ("client id", opt(&view.client_id)),
                ("authority", opt(&view.authority)),
                ("endpoint", opt(&view.endpoint)),
                ("secret", opt(&view.credentials_hash)),
                (
                    "expires",
                    view.expires_on.map_or("-".into(), |d| d.to_string()),
                ),
                ("status", status_text(view)),
                ("version", view.version.to_string()),
                ("created", time(Some(view.created_at))),
                ("updated", time(Some(view.updated_at))),
                ("last used", time(view.last_used_at)),
                ("validated", time(view.validated_at)),
            ];
            for (k, v) in rows {
                println!("{k:<12} {v}");
            }
        }
    }
}

fn status_text(view: &View) -> String {
    match &view.status_detail {
        Some(d) => format!("{} ({d})", view.status.as_str()),
        None => view.status.as_str().to_string(),
    }
}

fn table(views: &[View]) -> String {
    if views.is_empty() {
        return "no stored credentials\n".into();
    }
    let mut rows = vec![[
        "NAME".to_string(),
        "METHOD".into(),
        "CONNECTORS".into(),
        "SECRET".into(),
        "EXPIRES".into(),
        "STATUS".into(),
        "VERSION".into(),
        "LAST USED".into(),
    ]];
    for v in views {
        rows.push([
            v.name.clone(),
            v.method_str().to_string(),
            v.connectors.join(","),
            v.credentials_hash.clone().unwrap_or_else(|| "-".into()),
            v.expires_on.map_or("-".into(), |d| d.to_string()),
            v.status.as_str().to_string(),
            v.version.to_string(),
            v.last_used_at
                .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

impl View {
    fn method_str(&self) -> &'static str {
        self.method.as_str()
    }
}
