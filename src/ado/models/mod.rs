//! Serde models of ADO responses, one file per area. Every model tolerates missing optional
//! fields and unknown fields: the recorded examples are old and lack newer fields such as
//! `isDraft` (API_FACTS §0), and ADO adds fields over time.

pub mod core;
pub mod git;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The `{"count": N, "value": [...]}` envelope of collection GETs (API_FACTS §0).
#[derive(Debug, Deserialize)]
pub struct ListEnvelope<T> {
    #[serde(default)]
    pub count: Option<u64>,
    pub value: Vec<T>,
}

/// A typed item together with the exact JSON text it was read from (stored in `raw`).
#[derive(Debug)]
pub struct WithRaw<T> {
    pub value: T,
    pub raw: Box<RawValue>,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for WithRaw<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        let value = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        Ok(Self { value, raw })
    }
}

/// An identity reference (`IdentityRef`): creators, reviewers, authors.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IdentityRef {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub is_container: bool,
    #[serde(default)]
    pub descriptor: Option<String>,
}

#[cfg(test)]
pub(crate) mod example {
    //! Reads the recorded examples in `../shared/ado-api/examples/`.
    use std::path::PathBuf;

    pub fn path(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/ado-api/examples")
            .join(rel)
    }

    /// The 200 response body of a recorded example (or the whole file for webhook payloads).
    pub fn body(rel: &str) -> serde_json::Value {
        let p = path(rel);
        let text = std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("cannot read example {}: {e}", p.display()));
        let v: serde_json::Value = serde_json::from_str(&text).expect("example is JSON");
        match v.pointer("/responses/200/body") {
            Some(b) => b.clone(),
            None => v,
        }
    }

    /// The body as text (for `WithRaw` parsing).
    pub fn body_text(rel: &str) -> String {
        body(rel).to_string()
    }
}
