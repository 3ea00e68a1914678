//! Injected failures: latency, 5xx answers and connections that break mid-body.
//!
//! The draws for request number `n` come from a PRNG seeded with the sim's seed and `n`, so a
//! run with the same seed and the same request order meets the same faults. Faults apply to
//! `_apis` requests only, never to discovery (`OPTIONS`) or the `/_sim/` admin API, so a test
//! can always inspect and reset the simulator.

use std::time::Duration;

use axum::body::{Body, Bytes};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// What to break. The default breaks nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added to every `_apis` request.
    pub latency_ms: u64,
    /// Uniform extra latency in `0..=latency_jitter_ms`.
    pub latency_jitter_ms: u64,
    /// Probability of answering 500 or 503 instead of doing the work.
    pub error_rate: f64,
    /// Probability that a 200 response's body stream breaks halfway through.
    pub reset_rate: f64,
    /// Probability of answering 200 with an HTML maintenance page instead of doing the work,
    /// as a proxy or gateway in front of ADO does.
    pub html_rate: f64,
}

/// The faults chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Draw {
    pub latency: Duration,
    /// `Some(500 | 503)` when the request must fail.
    pub error: Option<u16>,
    pub reset: bool,
    /// Answer with [`MAINTENANCE_PAGE`].
    pub html: bool,
}

/// What a proxy in front of the organization answers while it is down for maintenance.
pub(crate) const MAINTENANCE_PAGE: &str = "<!DOCTYPE html><html><head><title>503 Service \
    Temporarily Unavailable</title></head><body><h1>Down for maintenance</h1><p>The gateway is \
    being updated. Please come back in a few minutes.</p></body></html>";

pub(crate) fn draw(cfg: &FaultConfig, seed: u64, request_no: u64) -> Draw {
    let mut rng = Rng::derive(seed ^ 0xFA17, request_no);
    let jitter = if cfg.latency_jitter_ms > 0 {
        rng.below(cfg.latency_jitter_ms + 1)
    } else {
        0
    };
    let error = rng
        .chance(cfg.error_rate)
        .then(|| if rng.chance(0.5) { 500 } else { 503 });
    let reset = rng.chance(cfg.reset_rate);
    // Drawn last, so the other draws of a seed stay what they were.
    let html = cfg.html_rate > 0.0 && rng.chance(cfg.html_rate);
    Draw {
        latency: Duration::from_millis(cfg.latency_ms + jitter),
        error,
        reset,
        html,
    }
}

/// ADO's messages for the two server errors clients must retry.
pub(crate) fn error_message(status: u16) -> (&'static str, &'static str) {
    match status {
        503 => (
            "TF400898: The service is temporarily unavailable. Try again later.",
            "ServiceUnavailableException",
        ),
        _ => (
            "TF400898: An Internal Error Occurred. Activity Id: 00000000-0000-0000-0000-000000000000.",
            "InternalServerErrorException",
        ),
    }
}

/// A body that sends the first half of `bytes`, pauses so the client has received it, and
/// then fails: hyper aborts the connection and the client sees a truncated chunked body.
pub(crate) fn broken_body(bytes: Vec<u8>) -> Body {
    let all = Bytes::from(bytes);
    let first = all.slice(..all.len() / 2);
    let items: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(first),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "ado-sim: injected connection reset",
        )),
    ];
    let stream = futures::stream::iter(items).then(|item| async move {
        if item.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        item
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_faults_by_default() {
        for n in 0..100 {
            let d = draw(&FaultConfig::default(), 1, n);
            assert_eq!(d.latency, Duration::ZERO);
            assert_eq!(d.error, None);
            assert!(!d.reset);
        }
    }

    #[test]
    fn rates_are_roughly_honoured_and_repeatable() {
        let cfg = FaultConfig {
            latency_ms: 5,
            latency_jitter_ms: 10,
            error_rate: 0.2,
            reset_rate: 0.1,
            html_rate: 0.0,
        };
        let draws: Vec<Draw> = (0..2000).map(|n| draw(&cfg, 3, n)).collect();
        let errors = draws.iter().filter(|d| d.error.is_some()).count();
        let resets = draws.iter().filter(|d| d.reset).count();
        assert!((300..500).contains(&errors), "{errors}");
        assert!((130..270).contains(&resets), "{resets}");
        assert!(draws.iter().all(
            |d| d.latency >= Duration::from_millis(5) && d.latency <= Duration::from_millis(15)
        ));
        assert_eq!(draws[17], draw(&cfg, 3, 17));
    }
}
