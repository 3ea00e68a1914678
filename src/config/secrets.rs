//! Token references and their resolution: what a `tokens` entry says (`env:VAR`,
//! `file:/path`, a literal, optionally with a display name) and the secret it resolves to.
//! Nothing here prints a secret: Debug redacts, errors name the variable or file.

use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConnectorSettings;
use super::identity::{Identity, IdentityRef, ProcessEnv};

/// A token as written in the config: a reference, optionally with a display name, or an
/// Entra ID identity (a table with a `method`, see `config::identity`).
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub enum TokenRef {
    // First: a table with a `method` is an identity even if it also has a `secret` key
    // (which validation then reports as unknown).
    Identity(IdentityRef),
    Plain(String),
    Named { name: String, secret: String },
}

impl fmt::Debug for TokenRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenRef::Plain(r) => f
                .debug_tuple("Plain")
                .field(&crate::redact::reference(r))
                .finish(),
            TokenRef::Named { name, secret } => f
                .debug_struct("Named")
                .field("name", name)
                .field("secret", &crate::redact::reference(secret))
                .finish(),
            TokenRef::Identity(id) => id.fmt(f),
        }
    }
}

/// A resolved token: its display name (for logs) and its secret value.
#[derive(Clone)]
pub struct Token {
    /// What logs and errors show: the configured name or the reference (`env:VAR`), never
    /// the value.
    pub name: String,
    pub secret: SecretString,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl TokenRef {
    /// The reference as written (`env:VAR`, `file:…`, `cred:NAME` or a literal) of a PAT
    /// entry; `None` for an identity.
    pub fn reference(&self) -> Option<&str> {
        match self {
            TokenRef::Plain(s) => Some(s),
            TokenRef::Named { secret, .. } => Some(secret),
            TokenRef::Identity(_) => None,
        }
    }

    /// The name logs show for this token.
    pub fn display_name(&self, index: usize) -> String {
        match self {
            TokenRef::Named { name, .. } => name.clone(),
            TokenRef::Identity(id) => id.name.clone().unwrap_or(format!("tokens[{index}]")),
            TokenRef::Plain(s) if s.starts_with("env:") || s.starts_with("cred:") => s.clone(),
            TokenRef::Plain(s) if s.starts_with("file:") => s.clone(),
            TokenRef::Plain(_) => format!("tokens[{index}]"),
        }
    }
}

/// What a pool entry authenticates with, once its references are read.
#[derive(Clone)]
pub enum Credential {
    /// A PAT (from `env:`, `file:` or a literal).
    Pat(SecretString),
    /// `cred:NAME`: a credential of the credentials store, looked up when the connector's
    /// client is built (and again whenever it changes).
    Stored(String),
    /// An Entra ID identity (service principal, managed identity, workload identity) whose
    /// bearer tokens are fetched and refreshed by `ado::entra`.
    Entra(Identity),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Pat(_) => f.write_str("Pat([redacted])"),
            Credential::Stored(name) => write!(f, "Stored({name})"),
            Credential::Entra(id) => f.debug_tuple("Entra").field(id).finish(),
        }
    }
}

/// One entry of a connector's pool: the name logs show and its credential.
#[derive(Clone, Debug)]
pub struct PoolEntry {
    pub name: String,
    pub credential: Credential,
}

/// The stored credential a `cred:NAME` reference names, when it is one.
pub fn stored_name(reference: &str) -> Option<&str> {
    reference.strip_prefix("cred:").map(str::trim)
}

impl ConnectorSettings {
    /// Every pool entry with its credential read (`cred:` references stay names; they are
    /// looked up in the credentials store when the client is built).
    pub fn resolve_entries(&self) -> Result<Vec<PoolEntry>, String> {
        self.tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let name = t.display_name(i);
                let credential = match t {
                    TokenRef::Identity(id) => Credential::Entra(
                        id.resolve(&ProcessEnv)
                            .map_err(|e| format!("tokens[{i}].{e}"))?,
                    ),
                    TokenRef::Plain(r) | TokenRef::Named { secret: r, .. } => {
                        match stored_name(r) {
                            Some(stored) => Credential::Stored(stored.to_string()),
                            None => Credential::Pat(resolve_secret(r)?),
                        }
                    }
                };
                Ok(PoolEntry { name, credential })
            })
            .collect()
    }

    /// Resolves every token reference (already checked by validation).
    pub fn resolve_tokens(&self) -> Result<Vec<Token>, String> {
        self.tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let reference = t
                    .reference()
                    .ok_or_else(|| format!("tokens[{i}] is an Entra ID identity, not a PAT"))?;
                Ok(Token {
                    name: t.display_name(i),
                    secret: resolve_secret(reference)?,
                })
            })
            .collect()
    }
}

/// Resolves `env:VAR`, `file:/path` or a literal value. Error messages name the variable or
/// file, never a secret value.
pub fn resolve_secret(reference: &str) -> Result<SecretString, String> {
    if let Some(var) = reference.strip_prefix("env:") {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v.trim().to_string())),
            Ok(_) => Err(format!("environment variable {var} is empty")),
            Err(_) => Err(format!("environment variable {var} is not set")),
        }
    } else if let Some(path) = reference.strip_prefix("file:") {
        let p = PathBuf::from(path);
        match std::fs::read_to_string(&p) {
            Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v.trim().to_string())),
            Ok(_) => Err(format!("secret file {path} is empty")),
            Err(e) => Err(format!("cannot read secret file {path}: {e}")),
        }
    } else if reference.starts_with("cred:") {
        Err("a cred: reference names a stored credential; it is allowed only in a connector's tokens".into())
    } else if reference.trim().is_empty() {
        Err("empty token".into())
    } else {
        Ok(SecretString::from(reference.to_string()))
    }
}

/// True when a resolved token came from a literal in the file (logged as a warning).
pub fn is_literal(t: &TokenRef) -> bool {
    let r = match t {
        TokenRef::Identity(id) => id.client_secret.as_deref(),
        _ => t.reference(),
    };
    r.is_some_and(|r| !(r.starts_with("env:") || r.starts_with("file:") || r.starts_with("cred:")))
}

/// Exposes a secret for building an auth header; the only place outside `ado::pool` that
/// reads a token's value is the credentials check in tests.
pub fn expose(s: &SecretString) -> &str {
    s.expose_secret()
}
