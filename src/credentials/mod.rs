//! Stored credentials (issue 14): the names and rules of the `credentials` table, their
//! encryption under `ADO_INGEST_MASTER_KEY`, and the live set a running process reads its
//! `cred:NAME` pool entries from. Owns no HTTP calls and no SQL of its own (the store does).

pub mod command;
pub mod live;
pub mod manage;
pub mod model;
pub mod vault;

pub use live::Live;
pub use manage::ManageError;
pub use vault::{Vault, VaultError, fingerprint};

/// Loads the stored credentials into `settings` when a connector's tokens refer to one
/// (`cred:NAME`), or `always` (the HTTP API manages them), so its client can be built; does
/// nothing otherwise (no master key needed).
/// A missing master key is not an error here: the credentials that need it say so when a
/// pool asks for them.
pub async fn attach(
    settings: &mut crate::config::Settings,
    store: &crate::store::AnyStore,
    metrics: &std::sync::Arc<crate::metrics::Metrics>,
    always: bool,
) -> Result<(), crate::engine::SetupError> {
    let wanted = settings
        .connectors
        .iter()
        .filter(|(_, c)| c.enabled)
        .flat_map(|(_, c)| c.tokens.iter())
        .any(|t| t.reference().and_then(crate::config::stored_name).is_some());
    if !(wanted || always) || settings.stored.is_some() {
        return Ok(());
    }
    let vault = match Vault::from_env() {
        Ok(v) => Some(v),
        Err(VaultError::MissingKey) => None,
        Err(e) => return Err(crate::engine::SetupError::Credentials(e.to_string())),
    };
    let make = crate::engine::stored_auth(settings, metrics.clone());
    settings.stored = Some(Live::load(store.clone(), vault, make).await?);
    Ok(())
}

/// Longest credential name.
pub const MAX_NAME: usize = 64;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 256;

/// Checks a credential name: 1–64 of `a-z`, `0-9` and `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!(
            "a credential name is 1 to {MAX_NAME} characters (got {})",
            name.chars().count()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "a credential name may hold only a-z, 0-9 and '-' (found {bad:?})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("repos-pat-1").is_ok());
        assert!(check_name(&"a".repeat(64)).is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"a".repeat(65)).is_err());
        assert!(check_name("Repos").unwrap_err().contains("'R'"));
        assert!(check_name("a b").is_err());
        assert!(check_name("a_b").is_err());
    }
}
