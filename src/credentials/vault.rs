//! Encryption at rest of a credential's secret parts: AES-256-GCM under the key in
//! `ADO_INGEST_MASTER_KEY`, and the SHA-256 fingerprints shown instead of secrets.
//!
//! A sealed value is `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The key id (a
//! fingerprint of the master key, not the key) travels with it, so opening a value under
//! another key is reported as a wrong key rather than as damaged data. The credential's name
//! is the associated data: a ciphertext copied onto another row does not open. Owns no
//! storage and no I/O besides reading the variable.

use std::fmt;

use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};

/// The environment variable holding the master key.
pub const MASTER_KEY_VAR: &str = "ADO_INGEST_MASTER_KEY";

/// Why a value could not be sealed or opened. Never carries a secret.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// `ADO_INGEST_MASTER_KEY` is not set: secrets cannot be stored or read.
    #[error(
        "{MASTER_KEY_VAR} is not set: stored credentials are encrypted with it (32 random bytes, \
         base64 or hex; e.g. `openssl rand -base64 32`)"
    )]
    MissingKey,
    /// The variable is set but is not 32 bytes in base64 or hex.
    #[error(
        "{MASTER_KEY_VAR} is not a key: {0} (32 random bytes, base64 or hex; e.g. `openssl rand -base64 32`)"
    )]
    BadKey(String),
    /// The value was sealed under another master key.
    #[error(
        "credential `{name}` was encrypted under master key {sealed_with}, and {MASTER_KEY_VAR} \
         is key {current}: set the key it was stored with, or store the credential again"
    )]
    WrongKey {
        name: String,
        sealed_with: String,
        current: String,
    },
    /// The stored value is damaged or was not written by this program.
    #[error("credential `{name}`: the stored secret does not open ({reason})")]
    Corrupt { name: String, reason: String },
    /// Encryption itself failed: the system's random number generator gave no nonce, or the
    /// secret is beyond what AES-GCM seals. Nothing was stored.
    #[error("credential `{name}`: cannot encrypt the secret ({reason})")]
    SealFailed { name: String, reason: String },
}

/// The master key.
pub struct Vault {
    key: LessSafeKey,
    id: String,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("key_id", &self.id).finish()
    }
}

impl Vault {
    /// The key from `ADO_INGEST_MASTER_KEY`.
    pub fn from_env() -> Result<Self, VaultError> {
        match std::env::var(MASTER_KEY_VAR) {
            Ok(v) if !v.trim().is_empty() => Self::from_text(&SecretString::from(v)),
            _ => Err(VaultError::MissingKey),
        }
    }

    /// A key written as 64 hex digits or as base64 of 32 bytes.
    pub fn from_text(text: &SecretString) -> Result<Self, VaultError> {
        let t = text.expose_secret().trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| VaultError::BadKey("not hex".into()))?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(t))
                .map_err(|_| {
                    VaultError::BadKey(format!(
                        "{} characters that are neither 64 hex digits nor base64",
                        t.chars().count()
                    ))
                })?
        };
        if bytes.len() != 32 {
            return Err(VaultError::BadKey(format!(
                "it decodes to {} bytes, not 32",
                bytes.len()
            )));
        }
        let id = hex(&digest(
            &SHA256,
            &[b"ado-ingest master key\0".as_slice(), &bytes].concat(),
        )
        .as_ref()[..6]);
        let key = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| VaultError::BadKey("rejected by AES-256-GCM".into()))?;
        Ok(Self {
            key: LessSafeKey::new(key),
            id,
        })
    }

    /// The key's fingerprint (12 hex digits), stored beside each sealed value.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// Encrypts `secret` for the credential `name` under a fresh random nonce.
    pub fn seal(&self, name: &str, secret: &SecretString) -> Result<String, VaultError> {
        let failed = |reason: &str| VaultError::SealFailed {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| failed("the system random number generator failed"))?;
        let mut data = secret.expose_secret().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(name)),
                &mut data,
            )
            .map_err(|_| failed("AES-GCM refused the input"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!(
            "v1:{}:{}",
            self.id,
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Decrypts a value [`Vault::seal`] made for the credential `name`.
    pub fn open(&self, name: &str, sealed: &str) -> Result<SecretString, VaultError> {
        let corrupt = |reason: &str| VaultError::Corrupt {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let mut parts = sealed.splitn(3, ':');
        let (Some("v1"), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(corrupt("unknown format"));
        };
        if id != self.id {
            return Err(VaultError::WrongKey {
                name: name.to_string(),
                sealed_with: id.to_string(),
                current: self.id.clone(),
            });
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| corrupt("not base64"))?;
        if raw.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(corrupt("too short"));
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt("bad nonce"))?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad(name)), &mut data)
            .map_err(|_| corrupt("authentication failed: altered, or sealed for another name"))?;
        let text = std::str::from_utf8(plain).map_err(|_| corrupt("not UTF-8"))?;
        Ok(SecretString::from(text.to_string()))
    }
}

fn aad(name: &str) -> Vec<u8> {
    format!("ado-ingest credential\0{name}").into_bytes()
}

/// The fingerprint shown instead of a secret: `sha256:` and the first 12 hex digits of its
/// SHA-256, enough to tell two secrets apart and to match one a user holds, too short to
/// help guess it.
pub fn fingerprint(secret: &SecretString) -> String {
    format!(
        "sha256:{}",
        hex(&digest(&SHA256, secret.expose_secret().as_bytes()).as_ref()[..6])
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Vault {
        Vault::from_text(&SecretString::from(
            base64::engine::general_purpose::STANDARD.encode([byte; 32]),
        ))
        .unwrap()
    }

    #[test]
    fn seals_and_opens() {
        let v = key(7);
        let s = SecretString::from("my-pat-value".to_string());
        let sealed = v.seal("repos-pat", &s).unwrap();
        assert!(!sealed.contains("my-pat-value"));
        assert!(sealed.starts_with(&format!("v1:{}:", v.key_id())));
        assert_eq!(
            v.open("repos-pat", &sealed).unwrap().expose_secret(),
            "my-pat-value"
        );
        // A fresh nonce every time.
        assert_ne!(sealed, v.seal("repos-pat", &s).unwrap());
    }

    #[test]
    fn wrong_key_name_or_bytes_are_errors_not_garbage() {
        let sealed = key(7)
            .seal("a", &SecretString::from("x".to_string()))
            .unwrap();
        assert!(matches!(
            key(8).open("a", &sealed),
            Err(VaultError::WrongKey { .. })
        ));
        assert!(matches!(
            key(7).open("b", &sealed),
            Err(VaultError::Corrupt { .. })
        ));
        let mut bad = sealed.clone();
        bad.pop();
        bad.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(key(7).open("a", &bad).is_err());
        assert!(key(7).open("a", "plain").is_err());
    }

    #[test]
    fn key_forms() {
        let hex_key = "00".repeat(32);
        assert!(Vault::from_text(&SecretString::from(hex_key)).is_ok());
        let e = Vault::from_text(&SecretString::from("short".to_string())).unwrap_err();
        assert!(e.to_string().contains("ADO_INGEST_MASTER_KEY"), "{e}");
        let e = Vault::from_text(&SecretString::from(
            base64::engine::general_purpose::STANDARD.encode([1u8; 16]),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("16 bytes"), "{e}");
        assert!(!format!("{:?}", key(3)).contains("AwMD"));
    }

    #[test]
    fn fingerprints_are_short_and_stable() {
        let f = fingerprint(&SecretString::from("abc".to_string()));
        assert_eq!(f, "sha256:ba7816bf8f01");
    }
}
