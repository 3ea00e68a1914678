//! The token requests themselves (API_FACTS §12): Entra's client-credentials flow with a
//! client secret or a federated assertion, and the Instance Metadata Service. Each answer is
//! read leniently and classified once: the identity was refused ([`AuthError::Refused`], with
//! Entra's `error` and `AADSTS…` description) or the service could not answer
//! ([`AuthError::Unavailable`]). No message carries a secret: the form body is never logged
//! and Entra's errors do not echo it.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::cache::AccessToken;
use crate::ado::auth::AuthError;

/// Azure DevOps' application id: the resource of every token (API_FACTS §12).
pub const ADO_RESOURCE: &str = "499b84ac-1321-427f-aa17-267ca6975798";
/// The v2 scope for client credentials: the resource's `.default`.
pub const ADO_SCOPE: &str = "499b84ac-1321-427f-aa17-267ca6975798/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest lifetime believed: a bogus `expires_in` must not overflow an `Instant`.
const MAX_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// IMDS tries (API_FACTS §12: "5 tries" on 404, 410, 429 and 5xx).
const IMDS_TRIES: u32 = 5;

/// Where an entry's tokens come from.
pub enum Source {
    /// `POST {authority}/{tenant}/oauth2/v2.0/token` with `client_secret`.
    Secret {
        url: String,
        client_id: String,
        secret: SecretString,
    },
    /// The same with `client_assertion` = the contents of `token_file`, read at every
    /// request because the kubelet rotates it (API_FACTS §12).
    Assertion {
        url: String,
        client_id: String,
        token_file: PathBuf,
    },
    /// `GET {endpoint}?api-version=2018-02-01&resource=…[&client_id=…]` with `Metadata: true`.
    Imds {
        endpoint: String,
        client_id: Option<String>,
    },
}

/// Fetches tokens for one entry.
pub struct Fetcher {
    pub http: reqwest::Client,
    pub source: Source,
    /// First wait between IMDS tries; doubled each time up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Fetcher {
    pub async fn fetch(&self) -> Result<AccessToken, AuthError> {
        match &self.source {
            Source::Secret {
                url,
                client_id,
                secret,
            } => {
                let body = form(client_id, &[("client_secret", secret.expose_secret())]);
                self.client_credentials(url, body).await
            }
            Source::Assertion {
                url,
                client_id,
                token_file,
            } => {
                let assertion = tokio::fs::read_to_string(token_file).await.map_err(|e| {
                    // Unavailable, not refused: the kubelet may be rewriting it.
                    AuthError::Unavailable(format!(
                        "cannot read the federated token file {}: {e}",
                        token_file.display()
                    ))
                })?;
                let body = form(
                    client_id,
                    &[
                        ("client_assertion_type", JWT_BEARER),
                        ("client_assertion", assertion.trim()),
                    ],
                );
                self.client_credentials(url, body).await
            }
            Source::Imds {
                endpoint,
                client_id,
            } => self.imds(endpoint, client_id.as_deref()).await,
        }
    }

    async fn client_credentials(&self, url: &str, body: String) -> Result<AccessToken, AuthError> {
        let response = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable_service("token endpoint", &e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unreachable_service("token endpoint", &e))?;
        match status.as_u16() {
            200 => parse_token(&bytes),
            // Entra's refusals: a wrong secret (401 invalid_client), an unknown client or
            // tenant, a bad scope (400) — retrying cannot help (API_FACTS §12).
            400 | 401 | 403 | 404 => Err(AuthError::Refused(refusal(status, &bytes))),
            _ => Err(AuthError::Unavailable(format!(
                "token endpoint answered HTTP {status}{}",
                snippet(&bytes)
            ))),
        }
    }

    async fn imds(
        &self,
        endpoint: &str,
        client_id: Option<&str>,
    ) -> Result<AccessToken, AuthError> {
        let mut query = vec![("api-version", "2018-02-01"), ("resource", ADO_RESOURCE)];
        if let Some(id) = client_id {
            query.push(("client_id", id));
        }
        let mut wait = self.min_backoff;
        let mut last = String::new();
        for attempt in 1..=IMDS_TRIES {
            if attempt > 1 {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(self.max_backoff);
            }
            let response = self
                .http
                .get(endpoint)
                .query(&query)
                // Lower-case `true`, or IMDS answers 400 bad_request_102 (API_FACTS §12).
                .header("Metadata", "true")
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    // A VM without IMDS never answers: not worth five tries.
                    return Err(unreachable_service("IMDS", &e));
                }
            };
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| unreachable_service("IMDS", &e))?;
            match status.as_u16() {
                200 => return parse_token(&bytes),
                // 404 (not ready yet), 410 (IMDS updating, "available within 70 seconds"),
                // 429 and 5xx are retried; any other 4xx is final (API_FACTS §12).
                404 | 410 | 429 | 500..=599 => {
                    last = format!("IMDS answered HTTP {status}{}", snippet(&bytes));
                    tracing::debug!(
                        attempt,
                        status = status.as_u16(),
                        "IMDS not ready; trying again"
                    );
                }
                400..=499 => return Err(AuthError::Refused(refusal(status, &bytes))),
                _ => {
                    return Err(AuthError::Unavailable(format!(
                        "IMDS answered HTTP {status}{}",
                        snippet(&bytes)
                    )));
                }
            }
        }
        Err(AuthError::Unavailable(format!(
            "{last} ({IMDS_TRIES} tries)"
        )))
    }
}

/// The client-credentials form body (API_FACTS §12).
fn form(client_id: &str, credential: &[(&str, &str)]) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    f.append_pair("client_id", client_id)
        .append_pair("scope", ADO_SCOPE)
        .append_pair("grant_type", "client_credentials");
    for (k, v) in credential {
        f.append_pair(k, v);
    }
    f.finish()
}

/// A number as JSON number or as a string of digits: IMDS sends `"expires_in":"3599"`,
/// Entra sends `3599` (API_FACTS §12).
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Int(u64),
    Float(f64),
    Text(String),
}

impl Number {
    fn seconds(&self) -> Option<u64> {
        match self {
            Number::Int(n) => Some(*n),
            Number::Float(f) if f.is_finite() && *f >= 0.0 => Some(*f as u64),
            Number::Float(_) => None,
            Number::Text(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| *f >= 0.0)
                .map(|f| f as u64),
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<Number>,
    /// Epoch seconds; used when `expires_in` is missing.
    expires_on: Option<Number>,
}

/// Reads a token answer of either service.
pub fn parse_token(body: &[u8]) -> Result<AccessToken, AuthError> {
    let answer: TokenAnswer = serde_json::from_slice(body).map_err(|e| {
        AuthError::Unavailable(format!("the token answer is not the expected JSON: {e}"))
    })?;
    let token = answer
        .access_token
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| AuthError::Unavailable("the token answer has no access_token".into()))?;
    let seconds = answer
        .expires_in
        .as_ref()
        .and_then(Number::seconds)
        .or_else(|| {
            let on = answer.expires_on.as_ref().and_then(Number::seconds)?;
            let now = chrono::Utc::now().timestamp().max(0) as u64;
            Some(on.saturating_sub(now))
        })
        .ok_or_else(|| {
            AuthError::Unavailable("the token answer has neither expires_in nor expires_on".into())
        })?;
    Ok(AccessToken {
        token: SecretString::from(token),
        lifetime: Duration::from_secs(seconds).min(MAX_LIFETIME),
    })
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: Option<String>,
    error_description: Option<String>,
}

/// `invalid_client: AADSTS7000215: Invalid client secret provided. …` — Entra's code and the
/// first line of its description (the rest is trace and correlation ids).
fn refusal(status: StatusCode, body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(ErrorAnswer {
            error: Some(error),
            error_description,
        }) => {
            let description = error_description.unwrap_or_default();
            let first = description.lines().next().unwrap_or("").trim();
            let first: String = first.chars().take(300).collect();
            if first.is_empty() {
                format!("HTTP {}: {error}", status.as_u16())
            } else {
                format!("HTTP {}: {error}: {first}", status.as_u16())
            }
        }
        _ => format!("HTTP {}{}", status.as_u16(), snippet(body)),
    }
}

/// `: ` and the body's first 200 characters on one line (the client's snippet), or nothing.
fn snippet(body: &[u8]) -> String {
    let text = crate::ado::response::snippet(body);
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

fn unreachable_service(what: &str, e: &reqwest::Error) -> AuthError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "failed"
    };
    AuthError::Unavailable(format!("{what} {kind}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imds_string_numbers_and_entra_numbers_both_read() {
        let imds = br#"{"access_token":"eyJ0","refresh_token":"","expires_in":"3599","expires_on":"1506484173","not_before":"1506480273","resource":"499b84ac-1321-427f-aa17-267ca6975798","token_type":"Bearer"}"#;
        let t = parse_token(imds).unwrap();
        assert_eq!(t.lifetime, Duration::from_secs(3599));
        assert_eq!(t.token.expose_secret(), "eyJ0");
        let entra = br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ1"}"#;
        assert_eq!(
            parse_token(entra).unwrap().lifetime,
            Duration::from_secs(3599)
        );
    }

    #[test]
    fn expires_on_stands_in_for_a_missing_expires_in() {
        let on = chrono::Utc::now().timestamp() + 600;
        let body = format!(r#"{{"access_token":"x","expires_on":"{on}"}}"#);
        let t = parse_token(body.as_bytes()).unwrap();
        assert!(t.lifetime > Duration::from_secs(590) && t.lifetime <= Duration::from_secs(600));
        let huge = br#"{"access_token":"x","expires_in":1e30}"#;
        assert_eq!(parse_token(huge).unwrap().lifetime, MAX_LIFETIME);
    }

    #[test]
    fn answers_without_a_token_or_lifetime_are_unavailable() {
        for body in [
            &br#"{"expires_in":"10"}"#[..],
            br#"{"access_token":"x"}"#,
            br#"<html>"#,
        ] {
            assert!(matches!(parse_token(body), Err(AuthError::Unavailable(_))));
        }
    }

    #[test]
    fn a_refusal_names_the_error_and_the_first_line_of_aadsts() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[7000215]}"#;
        assert_eq!(
            refusal(StatusCode::UNAUTHORIZED, body),
            "HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(refusal(StatusCode::BAD_REQUEST, b""), "HTTP 400");
    }

    #[test]
    fn the_form_carries_the_ado_scope() {
        let f = form("c1", &[("client_secret", "a&b=c")]);
        assert_eq!(
            f,
            "client_id=c1&scope=499b84ac-1321-427f-aa17-267ca6975798%2F.default&grant_type=client_credentials&client_secret=a%26b%3Dc"
        );
    }
}
