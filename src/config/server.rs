//! `[server]`: where `run` listens and the secrets of its two authenticated routes (the
//! webhook receiver, the credentials API). Debug hides the secret references.

use serde::Deserialize;
use std::fmt;

/// `[server]` (used by `run`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// The bearer token of the credentials API (`/api/v1/credentials`), a secret reference
    /// (`env:`, `file:`); none = the API is off.
    #[serde(default)]
    pub admin_token: Option<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            webhook_secret: None,
            admin_token: None,
        }
    }
}

impl fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSettings")
            .field("listen", &self.listen)
            .field(
                "webhook_secret",
                &crate::redact::Hidden(&self.webhook_secret),
            )
            .field("admin_token", &crate::redact::Hidden(&self.admin_token))
            .finish()
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
