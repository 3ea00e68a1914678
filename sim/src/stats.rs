//! Request accounting, so tests and benchmarks can assert how many calls an ingestion needed.
//!
//! Every request to the ADO surface (including rejected, throttled and discovery requests) is
//! counted by endpoint label, by the token it presented and by status code. Calls to the
//! `/_sim/` admin API are not counted: reading the truth must not change the numbers a test is
//! about to assert.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Key used in `by_token` for requests without any credentials.
pub(crate) const NO_TOKEN: &str = "(none)";

#[derive(Default)]
pub(crate) struct Stats {
    requests: u64,
    by_endpoint: BTreeMap<String, u64>,
    by_token: BTreeMap<String, u64>,
    by_status: BTreeMap<String, u64>,
    delayed: u64,
    throttled: u64,
}

impl Stats {
    pub(crate) fn record(&mut self, endpoint: &str, token: Option<&str>, status: u16) {
        self.requests += 1;
        *self.by_endpoint.entry(endpoint.to_string()).or_default() += 1;
        *self
            .by_token
            .entry(token.unwrap_or(NO_TOKEN).to_string())
            .or_default() += 1;
        *self.by_status.entry(status.to_string()).or_default() += 1;
    }

    pub(crate) fn delayed(&mut self) {
        self.delayed += 1;
    }

    pub(crate) fn throttled(&mut self) {
        self.throttled += 1;
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "by_endpoint": self.by_endpoint,
            "by_token": self.by_token,
            "by_status": self.by_status,
            "delayed": self.delayed,
            "throttled": self.throttled,
        })
    }
}
