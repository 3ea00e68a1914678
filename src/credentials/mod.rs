//! Stored credentials (issue 14): the names and rules of the `credentials` table, their
//! encryption under `ADO_INGEST_MASTER_KEY`, and the live set a running process reads its
//! `cred:NAME` pool entries from. Owns no HTTP calls and no SQL of its own (the store does).

pub mod model;
pub mod vault;

pub use vault::{Vault, VaultError, fingerprint};

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
