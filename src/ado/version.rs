//! The api-version each request carries, and its negotiation down to what an Azure DevOps
//! Server speaks (API_FACTS §5). Owns the process-wide record of the versions servers said
//! they support; knows nothing of tokens, retries or connectors.
//!
//! A Server refuses a version newer than its own with HTTP 400 "The requested REST API
//! version of 7.1 is out of range for this server. The latest REST API version this server
//! supports is 7.0." (Server 2022: 7.0, Server 2020: 6.0 or 6.1). The client then lowers the
//! version to the one named and sends the request again; the lowered version is kept for the
//! whole process and every client of the same organization URL, so each connector (and each
//! pass of `run`) does not pay the refusal again, and the change is logged once.
//!
//! An API that is GA in 7.1 may still be a preview in the version a Server speaks (which ones
//! is not in API_FACTS); such a request is answered 400 "The requested version \"7.0\" of the
//! resource is under preview. The -preview flag must be supplied in the api-version for such
//! requests." The endpoint is then asked with `7.0-preview` from then on, as the message says.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{LazyLock, Mutex, PoisonError};

/// A REST api-version number, without its `-preview.N` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// `7.1`, `7.1-preview.1`, `6.0-preview` → the number; anything else → `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let number = text.trim().split('-').next()?;
        let (major, minor) = number.split_once('.')?;
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The PR list's `searchCriteria.minTime`/`maxTime`/`queryTimeRangeType` exist from
/// api-version 7.1 on (Services, Azure DevOps Server 2022.1); older servers ignore them and list
/// everything (API_FACTS §4.3).
pub const PR_TIME_FILTERS: Version = Version::new(7, 1);

/// The version a Server's "out of range" answer names as the newest it supports
/// (`…The latest REST API version this server supports is 7.0.`), when `message` is one.
pub fn supported_in(message: &str) -> Option<Version> {
    const MARKER: &str = "latest rest api version this server supports is";
    let lower = message.to_ascii_lowercase();
    if !lower.contains("out of range") {
        return None;
    }
    let at = lower.find(MARKER)? + MARKER.len();
    let tail = message[at..].trim_start();
    let end = tail
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tail.len());
    Version::parse(tail[..end].trim_end_matches('.'))
}

/// Whether `message` is ADO's answer to a GA api-version of an API that is only a preview
/// at that version (`VssInvalidPreviewVersionException`).
pub fn preview_required(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("is under preview") && lower.contains("-preview")
}

/// Versions lowered so far, by organization URL: one record per process.
static LOWERED: LazyLock<Mutex<HashMap<String, Version>>> = LazyLock::new(Default::default);

/// Endpoints (by label) a server answered "under preview", by organization URL.
static PREVIEW: LazyLock<Mutex<HashSet<(String, &'static str)>>> = LazyLock::new(Default::default);

/// The api-version one client sends: the configured one until the server said it supports
/// only an older one.
#[derive(Debug)]
pub struct ApiVersion {
    /// `organization.api_version` as configured (`7.1`, or with a preview suffix).
    configured: String,
    /// The organization URL: the key of [`LOWERED`].
    organization: String,
}

impl ApiVersion {
    pub fn new(configured: &str, organization: &str) -> Self {
        Self {
            configured: configured.to_string(),
            organization: organization.trim_end_matches('/').to_string(),
        }
    }

    fn lowered(&self) -> Option<Version> {
        LOWERED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.organization)
            .copied()
    }

    /// The api-version to send now: the configured text, or the lowered number.
    pub fn current(&self) -> String {
        match self.lowered() {
            Some(v) => v.to_string(),
            None => self.configured.clone(),
        }
    }

    /// The api-version to send to the endpoint labelled `label`: [`Self::current`], with a
    /// preview suffix when the endpoint exists only as a preview (`preview_only`, API_FACTS
    /// §0) or the server said so ([`Self::require_preview`]).
    pub fn for_endpoint(&self, label: &'static str, preview_only: bool) -> String {
        let version = self.current();
        if version.contains("preview") {
            return version;
        }
        if preview_only {
            return format!("{version}-preview.1");
        }
        let marked = PREVIEW
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(self.organization.clone(), label));
        if marked {
            format!("{version}-preview")
        } else {
            version
        }
    }

    /// Records that the server serves the endpoint labelled `label` only as a preview.
    /// Returns whether that is news.
    pub fn require_preview(&self, label: &'static str) -> bool {
        PREVIEW
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((self.organization.clone(), label))
    }

    /// Whether requests go out with at least `v` (a feature that arrived with it is there).
    pub fn at_least(&self, v: Version) -> bool {
        self.lowered()
            .or_else(|| Version::parse(&self.configured))
            .is_some_and(|current| current >= v)
    }

    /// Records that the server supports `supported` at most. Returns whether it lowered the
    /// version (false when it already was that low or lower, or `supported` is not lower than
    /// the configured one: a server that refuses what it claims to speak is not negotiated
    /// with, or the client would loop).
    pub fn lower_to(&self, supported: Version) -> bool {
        let configured = Version::parse(&self.configured);
        if configured.is_some_and(|c| supported >= c) {
            return false;
        }
        let mut map = LOWERED.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&self.organization) {
            Some(v) if *v <= supported => false,
            _ => {
                map.insert(self.organization.clone(), supported);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_with_and_without_preview() {
        assert_eq!(Version::parse("7.1"), Some(Version::new(7, 1)));
        assert_eq!(Version::parse("7.1-preview.1"), Some(Version::new(7, 1)));
        assert_eq!(Version::parse(" 6.0-preview "), Some(Version::new(6, 0)));
        assert_eq!(Version::parse("banana"), None);
        assert_eq!(Version::parse("7"), None);
        assert!(Version::new(7, 0) < Version::new(7, 1));
        assert!(Version::new(6, 1) < Version::new(7, 0));
        assert_eq!(Version::new(6, 0).to_string(), "6.0");
    }

    #[test]
    fn reads_the_supported_version_from_the_out_of_range_message() {
        // API_FACTS §5, as Server 2022 words it.
        let m = "The requested REST API version of 7.1 is out of range for this server. The \
                 latest REST API version this server supports is 7.0.";
        assert_eq!(supported_in(m), Some(Version::new(7, 0)));
        let m = "The requested REST API version of 7.1 is out of range for this server. The \
                 latest REST API version this server supports is 6.1";
        assert_eq!(supported_in(m), Some(Version::new(6, 1)));
        assert_eq!(supported_in("VS402337: too many results"), None);
        assert_eq!(
            supported_in("out of range. The latest REST API version this server supports is ?"),
            None
        );
    }

    #[test]
    fn an_endpoint_under_preview_is_asked_with_the_preview_suffix() {
        // The sim's and ADO's wording (VssInvalidPreviewVersionException).
        let m = "The requested version \"7.0\" of the resource is under preview. The -preview \
                 flag must be supplied in the api-version for such requests. For example: \
                 \"7.0-preview\"";
        assert!(preview_required(m));
        assert!(!preview_required("The api-version '7.x' is not valid."));
        let v = ApiVersion::new("7.1", "http://version-test.invalid/tfs/P");
        assert_eq!(v.for_endpoint("environments", false), "7.1");
        assert_eq!(v.for_endpoint("graph_users", true), "7.1-preview.1");
        assert!(v.require_preview("environments"));
        assert!(!v.require_preview("environments"));
        assert_eq!(v.for_endpoint("environments", false), "7.1-preview");
        assert_eq!(v.for_endpoint("builds", false), "7.1");
        assert!(v.lower_to(Version::new(7, 0)));
        assert_eq!(v.for_endpoint("environments", false), "7.0-preview");
        let other = ApiVersion::new("7.1", "http://version-test.invalid/tfs/Q");
        assert_eq!(other.for_endpoint("environments", false), "7.1");
    }

    #[test]
    fn lowering_is_shared_by_organization_and_never_raises() {
        let a = ApiVersion::new("7.1", "http://version-test.invalid/tfs/A/");
        let b = ApiVersion::new("7.1", "http://version-test.invalid/tfs/A");
        let other = ApiVersion::new("7.1", "http://version-test.invalid/tfs/B");
        assert!(a.at_least(PR_TIME_FILTERS));
        assert!(!a.lower_to(Version::new(7, 1)), "not lower than configured");
        assert!(!a.lower_to(Version::new(8, 0)));
        assert!(a.lower_to(Version::new(7, 0)));
        assert!(
            !b.lower_to(Version::new(7, 0)),
            "already that low, through another client"
        );
        assert_eq!(b.current(), "7.0");
        assert!(!b.at_least(PR_TIME_FILTERS));
        assert!(a.lower_to(Version::new(6, 0)));
        assert!(!a.lower_to(Version::new(7, 0)), "never raised again");
        assert_eq!(a.current(), "6.0");
        assert_eq!(other.current(), "7.1");
        let preview = ApiVersion::new("7.1-preview.2", "http://version-test.invalid/tfs/C");
        assert_eq!(preview.current(), "7.1-preview.2");
        assert!(preview.at_least(PR_TIME_FILTERS));
    }
}
