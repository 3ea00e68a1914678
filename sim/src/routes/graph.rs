//! The Graph API's user list (API_FACTS §1.1, §5).
//!
//! On Services it lives on `vssps.dev.azure.com`; the simulator serves it under its own
//! organization URL, which is what a client configured with `graph_url = url` (the Server
//! rule) or pointed at the simulator calls. Pages hold [`PAGE`] users; while more remain the
//! response carries `X-MS-ContinuationToken`, an opaque blob the client sends back as
//! `continuationToken` — "the only reliable way to know if there is more data left is the
//! presence of a continuation token". In server mode the route does not exist (404): Azure
//! DevOps Server has no Graph API.

use axum::http::StatusCode;
use base64::Engine as _;

use super::{Query, Reply};
use crate::boards::json::{Ctx, graph_user};
use crate::json::List;
use crate::{Sim, read};

/// Users per page.
pub(crate) const PAGE: usize = 20;

fn encode(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("users:{offset}"))
}

fn decode(token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("users:")?
        .parse()
        .ok()
}

/// `GET _apis/graph/users[?continuationToken=…&subjectTypes=aad,…]`.
pub(super) fn users(sim: &Sim, query: &Query) -> Reply {
    let offset = match query.get("continuationtoken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match decode(t) {
            Some(o) => o,
            None => {
                return Reply::error(
                    StatusCode::BAD_REQUEST,
                    &format!("The continuation token '{t}' is not valid."),
                    "InvalidContinuationTokenException",
                );
            }
        },
    };
    // Every simulated user is an Entra (aad) user.
    let wanted = query.get("subjecttypes").is_none_or(|s| {
        s.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("aad") || t.trim().is_empty())
    });
    let base = sim.base_url();
    let org = read(&sim.inner.state);
    let ctx = Ctx {
        base: &base,
        org: &org,
    };
    let total = if wanted { org.user_count } else { 0 };
    let start = offset.min(total);
    let end = (start + PAGE).min(total);
    let value: Vec<_> = (start..end).map(|u| graph_user(ctx, u)).collect();
    let reply = Reply::json(&List::new(value));
    if end < total {
        reply.with_header("X-MS-ContinuationToken", encode(end))
    } else {
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(decode(&encode(40)), Some(40));
        assert_eq!(decode("nope"), None);
    }
}
