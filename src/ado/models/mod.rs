//! Serde models of ADO responses, one file per area. Every model tolerates missing optional
//! fields and unknown fields: the recorded examples are old and lack newer fields such as
//! `isDraft` (API_FACTS §0), and ADO adds fields over time.

pub mod build;
pub mod core;
pub mod environment;
pub mod git;
pub mod git_commits;
pub mod git_pr;
pub mod graph;
pub mod hooks;
pub mod policy;
pub mod release;
pub mod wit;

use chrono::{DateTime, NaiveDateTime, Utc};
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

/// A listed item decoded from its own JSON text. Pages are read as one raw text per item so
/// one item of an unexpected shape is left out (logged with its id) instead of failing the
/// whole page, and with it every later run (issue 9, item 6).
pub trait ListedItem: Sized {
    /// The item, or why not with the text handed back (for the log line).
    fn from_raw(raw: Box<RawValue>) -> Result<Self, (serde_json::Error, Box<RawValue>)>;
}

impl<T: DeserializeOwned> ListedItem for WithRaw<T> {
    fn from_raw(raw: Box<RawValue>) -> Result<Self, (serde_json::Error, Box<RawValue>)> {
        match serde_json::from_str(raw.get()) {
            Ok(value) => Ok(Self { value, raw }),
            Err(e) => Err((e, raw)),
        }
    }
}

/// Items that keep no raw JSON.
macro_rules! listed_without_raw {
    ($($t:ty),*) => {$(
        impl ListedItem for $t {
            fn from_raw(raw: Box<RawValue>) -> Result<Self, (serde_json::Error, Box<RawValue>)> {
                serde_json::from_str(raw.get()).map_err(|e| (e, raw))
            }
        }
    )*};
}
listed_without_raw!(
    core::TeamMember,
    wit::WorkItemTypeCategory,
    wit::WorkItemDeleteReference
);

/// An item a listing by id may answer `null` for (`errorPolicy=omit`: an id it cannot
/// return, deleted or destroyed).
impl<T: ListedItem> ListedItem for Option<T> {
    fn from_raw(raw: Box<RawValue>) -> Result<Self, (serde_json::Error, Box<RawValue>)> {
        if raw.get().trim() == "null" {
            Ok(None)
        } else {
            T::from_raw(raw).map(Some)
        }
    }
}

/// The identifying field of an item whose JSON could not be read, for the log line.
pub fn item_id_hint(raw: &RawValue) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(raw.get()) else {
        return "(not an object)".into();
    };
    [
        "id",
        "pullRequestId",
        "workItemId",
        "changeTrackingId",
        "commitId",
        "evaluationId",
        "name",
        "descriptor",
    ]
    .iter()
    .find_map(|k| map.get(*k).map(|v| format!("{k}={v}")))
    .unwrap_or_else(|| "(no id)".into())
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

/// Parses an ADO timestamp leniently: RFC 3339 with any number of fractional digits (ADO sends
/// up to 7), or the same without an offset, read as UTC (`"0001-01-01T00:00:00"`, API_FACTS
/// §4.1). .NET's `DateTime.MinValue` (year 1) is ADO's "not set" and gives `None`, as does
/// text that is no timestamp at all.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let at = match DateTime::parse_from_rfc3339(text) {
        Ok(at) => at.to_utc(),
        Err(_) => NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()?
            .and_utc(),
    };
    (at.timestamp() >= MIN_VALUE_DAY_END).then_some(at)
}

/// 0001-01-02T00:00:00Z in Unix seconds: anything before it is .NET's MinValue sentinel.
const MIN_VALUE_DAY_END: i64 = -62_135_510_400;

/// `deserialize_with` for an optional ADO timestamp, parsed by [`parse_date`]; a value that is
/// not a string (or not a timestamp) is `None` rather than an error, so one odd date never
/// rejects a whole page.
pub fn lenient_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.as_ref().and_then(|v| v.as_str()).and_then(parse_date))
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

    /// The items of a recorded `{count, value}` list, each read as a listing reads it (from
    /// its own JSON text, `WithRaw`); the file must hold at least one.
    pub fn list<T: serde::de::DeserializeOwned>(rel: &str) -> Vec<T> {
        let env: super::ListEnvelope<super::WithRaw<T>> =
            serde_json::from_str(&body_text(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(!env.value.is_empty(), "{rel} has items");
        env.value.into_iter().map(|p| p.value).collect()
    }

    /// A recorded single-object body.
    pub fn single<T: serde::de::DeserializeOwned>(rel: &str) -> T {
        serde_json::from_value(body(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn a_skipped_item_is_named_by_its_own_key() {
        let hint = |j: &str| {
            super::item_id_hint(&serde_json::value::RawValue::from_string(j.into()).unwrap())
        };
        assert_eq!(
            hint(r#"{"changeTrackingId": 7, "item": {}}"#),
            "changeTrackingId=7"
        );
        assert_eq!(hint(r#"{"commitId": "ab12"}"#), r#"commitId="ab12""#);
        assert_eq!(hint(r#"{"evaluationId": "e"}"#), r#"evaluationId="e""#);
        assert_eq!(hint("[1]"), "(not an object)");
    }

    #[test]
    fn dates_parse_leniently() {
        let seven = parse_date("2014-12-29T20:49:21.6171234Z").unwrap();
        assert_eq!(seven.timestamp_subsec_nanos(), 617_123_400);
        assert_eq!(
            parse_date("2014-10-27T00:00:00"),
            parse_date("2014-10-27T00:00:00Z")
        );
        assert!(parse_date("2015-06-23T18:25:16.137+02:00").is_some());
        assert_eq!(
            parse_date("0001-01-01T00:00:00"),
            None,
            ".NET MinValue is unset"
        );
        assert_eq!(parse_date("0001-01-01T00:00:00Z"), None);
        assert!(parse_date("9999-01-01T00:00:00Z").is_some());
        assert_eq!(parse_date("yesterday"), None);
    }

    proptest::proptest! {
        /// Any text, timestamp-like or not, parses to a date or to `None`, never a panic.
        #[test]
        fn parse_date_never_panics(
            text in "[0-9T:.+Z -]{0,40}|[+-]?[0-9]{1,12}-[0-9]{1,3}-[0-9]{1,3}T[0-9:.]{0,20}([+-][0-9:]{0,8}|Z)?|\\PC{0,40}",
        ) {
            let _ = parse_date(&text);
        }
    }
}
