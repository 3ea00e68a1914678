//! Who may deliver: ADO's Web Hooks consumer has no signature (API_FACTS §6, "There is no
//! HMAC signature"); it sends the subscription's `httpHeaders` verbatim or HTTP Basic
//! credentials. So the shared secret (`server.webhook_secret`) is accepted either as the
//! `X-ADO-Signature` header (what `webhooks subscribe` configures) or as the Basic password
//! (any user name), compared in constant time.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

/// The header `webhooks subscribe` puts in each subscription's `httpHeaders`.
pub const SIGNATURE_HEADER: &str = "X-ADO-Signature";

/// Whether `headers` carry `secret`, as `X-ADO-Signature` or as a Basic password.
pub fn authorized(headers: &HeaderMap, secret: &SecretString) -> bool {
    let secret = secret.expose_secret().as_bytes();
    if secret.is_empty() {
        return false;
    }
    let signature = headers
        .get_all(SIGNATURE_HEADER)
        .iter()
        .any(|v| constant_time_eq(v.as_bytes(), secret));
    signature
        || headers
            .get_all(AUTHORIZATION)
            .iter()
            .filter_map(|v| basic_password(v.as_bytes()))
            .any(|p| constant_time_eq(&p, secret))
}

/// The password of a `Basic base64(user:password)` value.
fn basic_password(value: &[u8]) -> Option<Vec<u8>> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// Compares without stopping at the first difference, so the time taken does not say how
/// much of a guess was right (only whether its length was).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn secret() -> SecretString {
        SecretString::from("s3cret-value")
    }

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    #[test]
    fn the_signature_header_or_the_basic_password_is_accepted() {
        assert!(authorized(
            &with("x-ado-signature", "s3cret-value"),
            &secret()
        ));
        assert!(authorized(
            &with("authorization", &basic("ado:s3cret-value")),
            &secret()
        ));
        assert!(authorized(
            &with("authorization", &basic(":s3cret-value")),
            &secret()
        ));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(!authorized(&HeaderMap::new(), &secret()));
        assert!(!authorized(
            &with("x-ado-signature", "s3cret-valu"),
            &secret()
        ));
        assert!(!authorized(
            &with("x-ado-signature", "s3cret-value "),
            &secret()
        ));
        assert!(!authorized(
            &with("authorization", &basic("s3cret-value:")),
            &secret()
        ));
        assert!(!authorized(
            &with("authorization", "Bearer s3cret-value"),
            &secret()
        ));
        assert!(!authorized(&with("authorization", "Basic !!!"), &secret()));
        // An empty secret never matches an empty header.
        assert!(!authorized(
            &with("x-ado-signature", ""),
            &SecretString::from("")
        ));
    }
}
