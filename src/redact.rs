//! Redaction of what may carry a secret before it reaches a message, a log line or `Debug`
//! output: database URLs and token references. Owns no I/O.

use std::fmt;

/// A URL with its user name, password and query removed (a Postgres URL can carry
/// `?password=`); text that does not parse as a URL is not shown at all, since where its
/// secret is cannot be known.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.has_host() {
                // Both setters only fail for URLs without a host, excluded here.
                let _ = parsed.set_username("");
                let _ = parsed.set_password(None);
            }
            let had_query = parsed.query().is_some();
            parsed.set_query(None);
            let mut shown = parsed.to_string();
            if had_query {
                shown.push_str("?…");
            }
            shown
        }
        Err(_) => "(a URL that does not parse; not shown)".into(),
    }
}

/// A secret setting's `Debug`: whether it is set, never its value.
pub struct Hidden<'a>(pub &'a Option<String>);

impl fmt::Debug for Hidden<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some([redacted])"),
            None => f.write_str("None"),
        }
    }
}

/// A token reference's `Debug`: `env:VAR`, `file:/path` and `cred:NAME` name where the secret
/// is and are shown; anything else is a literal token and is not.
pub fn reference(r: &str) -> &str {
    if ["env:", "file:", "cred:"].iter().any(|p| r.starts_with(p)) {
        r
    } else {
        "[literal, redacted]"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_query_and_unparseable_ones_are_hidden() {
        assert_eq!(
            redact_url("postgres://ado:s3cret@db.example:5432/ingest?sslmode=require&password=x"),
            "postgres://db.example:5432/ingest?…"
        );
        assert_eq!(
            redact_url("sqlite://ado-ingest.db"),
            "sqlite://ado-ingest.db"
        );
        let odd = redact_url("postgres://ado:s3cret@db example/ingest");
        assert!(!odd.contains("s3cret") && !odd.contains("ado"), "{odd}");
        assert_eq!(reference("env:ADO_PAT"), "env:ADO_PAT");
        assert_eq!(reference("abcdef0123"), "[literal, redacted]");
        assert_eq!(
            format!("{:?}", Hidden(&Some("x".into()))),
            "Some([redacted])"
        );
    }
}
