//! Personal access tokens, their scopes, and ADO's three ways of saying no (API_FACTS §3).
//!
//! - Unknown, revoked or missing token: **203** with an HTML sign-in page, because that is what
//!   ADO does for GET/POST; a client that only checks for 2xx "succeeds" with HTML. With
//!   `X-TFS-FedAuthRedirect: Suppress` the service answers **401** with a JSON envelope instead.
//! - Known token without the endpoint's scope: **403**.
//!
//! Basic auth carries the PAT as the password with any user name; Microsoft's Node client swaps
//! the two (`PAT:token`, CLIENT_DISCOVERY.md), so a known token is accepted in either position.

use std::collections::HashMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// A personal access token the simulator accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pat {
    /// The secret itself, as a client puts it in the Basic auth header.
    pub token: String,
    /// Scopes such as `"vso.code"` or `"vso.project"`. `"all"` or an empty list grants every
    /// scope; `"vso.code_write"` (any `_suffix`) also satisfies `"vso.code"`.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl Pat {
    /// A token with every scope.
    pub fn full(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            scopes: Vec::new(),
        }
    }

    /// Parses the CLI form `TOKEN[:scope,scope]`.
    pub fn parse_cli(s: &str) -> Self {
        match s.split_once(':') {
            Some((token, scopes)) => Self {
                token: token.to_string(),
                scopes: scopes
                    .split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect(),
            },
            None => Self::full(s),
        }
    }
}

struct Entry {
    scopes: Vec<String>,
    revoked: bool,
}

/// The accepted tokens.
pub(crate) struct PatStore {
    map: HashMap<String, Entry>,
}

/// Who a request is, after authentication.
pub(crate) enum Caller {
    Known {
        token: String,
        scopes: Vec<String>,
    },
    /// No credentials, or a token the simulator does not accept. `presented` is what the
    /// request carried, for the per-token statistics.
    Rejected {
        presented: Option<String>,
    },
}

impl PatStore {
    pub(crate) fn new(pats: &[Pat]) -> Self {
        let mut s = Self {
            map: HashMap::new(),
        };
        for p in pats {
            s.add(p.clone());
        }
        s
    }

    pub(crate) fn add(&mut self, p: Pat) {
        self.map.insert(
            p.token,
            Entry {
                scopes: p.scopes,
                revoked: false,
            },
        );
    }

    pub(crate) fn revoke(&mut self, token: &str) {
        if let Some(e) = self.map.get_mut(token) {
            e.revoked = true;
        }
    }

    fn valid(&self, token: &str) -> Option<&Entry> {
        self.map.get(token).filter(|e| !e.revoked)
    }

    /// Reads the `Authorization` header (`Basic` with the token as either half, or `Bearer`).
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Caller {
        let Some(h) = authorization else {
            return Caller::Rejected { presented: None };
        };
        let h = h.trim();
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        let candidates: Vec<String> = if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            match decoded {
                Some(d) => match d.split_once(':') {
                    Some((user, pass)) => vec![pass.to_string(), user.to_string()],
                    None => vec![d],
                },
                None => Vec::new(),
            }
        } else if scheme.eq_ignore_ascii_case("bearer") {
            vec![rest.trim().to_string()]
        } else {
            Vec::new()
        };
        for c in &candidates {
            if let Some(e) = self.valid(c) {
                return Caller::Known {
                    token: c.clone(),
                    scopes: e.scopes.clone(),
                };
            }
        }
        let presented = candidates.into_iter().find(|c| !c.is_empty());
        Caller::Rejected { presented }
    }
}

/// True when `scopes` grants any of `needed` (see [`Pat::scopes`] for the matching rule).
pub(crate) fn has_scope(scopes: &[String], needed: &[&str]) -> bool {
    if scopes.is_empty() || scopes.iter().any(|s| s.eq_ignore_ascii_case("all")) {
        return true;
    }
    needed.iter().any(|n| {
        scopes.iter().any(|s| {
            s.eq_ignore_ascii_case(n)
                || (s.len() > n.len()
                    && s.as_bytes()[..n.len()].eq_ignore_ascii_case(n.as_bytes())
                    && s.as_bytes()[n.len()] == b'_')
        })
    })
}

/// Stable index of the identity a token authenticates as (its "owner" in the user pool).
pub(crate) fn identity_of(token: &str, users: usize) -> usize {
    // FNV-1a: stable across runs and platforms, unlike std's RandomState.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in token.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    (h % users.max(1) as u64) as usize
}

/// The body of the 203 answer: ADO's sign-in page, reduced to what a human would recognise.
pub(crate) const SIGN_IN_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="utf-8"><title>Azure DevOps Services | Sign In</title></head>
<body>
<div id="signin">Sign in to your account to continue to Azure DevOps.</div>
<script type="text/javascript">window.location.href = "https://login.microsoftonline.com/";</script>
</body>
</html>
"#;

pub(crate) const UNAUTHORIZED_MESSAGE: &str =
    "TF400813: The user '' is not authorized to access this resource.";

pub(crate) fn missing_scope_message(needed: &[&str]) -> String {
    format!(
        "TF400813: The user is not authorized to access this resource. The personal access \
         token is missing the required scope '{}'.",
        needed.join("' or '")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    #[test]
    fn token_in_either_position() {
        let s = PatStore::new(&[Pat::full("tok")]);
        assert!(matches!(
            s.authenticate(Some(&basic("", "tok"))),
            Caller::Known { .. }
        ));
        assert!(matches!(
            s.authenticate(Some(&basic("PAT", "tok"))),
            Caller::Known { .. }
        ));
        assert!(matches!(
            s.authenticate(Some(&basic("tok", "PAT"))),
            Caller::Known { .. }
        ));
        assert!(matches!(
            s.authenticate(Some(&basic("", "nope"))),
            Caller::Rejected { presented: Some(p) } if p == "nope"
        ));
        assert!(matches!(
            s.authenticate(None),
            Caller::Rejected { presented: None }
        ));
    }

    #[test]
    fn revoked_is_rejected() {
        let mut s = PatStore::new(&[Pat::full("tok")]);
        s.revoke("tok");
        assert!(matches!(
            s.authenticate(Some(&basic("", "tok"))),
            Caller::Rejected { .. }
        ));
        s.add(Pat::full("tok"));
        assert!(matches!(
            s.authenticate(Some(&basic("", "tok"))),
            Caller::Known { .. }
        ));
    }

    #[test]
    fn scope_rules() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(has_scope(&v(&[]), &["vso.code"]));
        assert!(has_scope(&v(&["all"]), &["vso.code"]));
        assert!(has_scope(&v(&["vso.code_write"]), &["vso.code"]));
        assert!(!has_scope(&v(&["vso.codex"]), &["vso.code"]));
        assert!(!has_scope(&v(&["vso.project"]), &["vso.code"]));
        assert!(has_scope(
            &v(&["vso.project"]),
            &["vso.project", "vso.code"]
        ));
        assert_eq!(
            Pat::parse_cli("t:vso.code, vso.project").scopes,
            v(&["vso.code", "vso.project"])
        );
        assert!(Pat::parse_cli("t").scopes.is_empty());
    }
}
