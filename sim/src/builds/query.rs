//! The builds list and the definitions list: filters, order and continuation tokens, as pure
//! functions of the org (HTTP parsing is in `routes::build`).
//!
//! **Builds.** Every filter narrows the project's builds; the rest is sorted by the
//! `queryOrder` time, ties broken by id in the same direction (`…Ascending`: oldest and lowest
//! id first). The continuation token is the order time of the next build, printed as ADO
//! prints times (`2017-11-20T13:18:01.1275996Z`, API_FACTS §1.1), and the next request starts
//! at the first build at or after that time. When the page ends inside a run of builds that
//! share that time — so some were served and some not — the token is the time followed by
//! `~` and the id of the next build (`2017-11-20T13:18:01.1275996Z~1234`), and the next page
//! starts at exactly that build: nothing is skipped or repeated. Clients treat the token as
//! opaque, as Microsoft says it is.
//!
//! `maxBuildsPerDefinition` keeps the first n builds of each definition in that order,
//! counted from where the page starts (so a walk by tokens can see more than n of one
//! definition, as separate queries would).
//!
//! Builds that lack the order's time (unfinished ones for the finish-time orders, those not
//! started for the start-time orders) are never listed by those orders: the token is a point
//! on the order time, which they lack, so a walk could never reach them. That is an
//! assumption (ADO does not document it); list unfinished builds with a queue-time order or
//! the default one.
//!
//! **Definitions.** Filtered, ordered by `queryOrder` (default `none`: by id), paged by
//! `$top` with the id of the next definition as the token.

use super::{Build, Builds, Definition, Outcome, Status, identity};
use crate::model::Org;

/// Which time `queryOrder` sorts by and `minTime`/`maxTime` filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderTime {
    Queue,
    Start,
    Finish,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Order {
    pub time: OrderTime,
    pub descending: bool,
}

impl Order {
    /// `queueTimeDescending`, which we take to be ADO's default: the newest builds first,
    /// unfinished ones included (as users report of requests without `queryOrder` and
    /// `$top`). Not documented.
    pub(crate) const DEFAULT: Order = Order {
        time: OrderTime::Queue,
        descending: true,
    };

    /// A `BuildQueryOrder` name or number (case-insensitive).
    pub(crate) fn parse(s: &str) -> Option<Order> {
        let (time, descending) = match s.trim().to_ascii_lowercase().as_str() {
            "finishtimeascending" | "2" => (OrderTime::Finish, false),
            "finishtimedescending" | "3" => (OrderTime::Finish, true),
            "queuetimedescending" | "4" => (OrderTime::Queue, true),
            "queuetimeascending" | "5" => (OrderTime::Queue, false),
            "starttimedescending" | "6" => (OrderTime::Start, true),
            "starttimeascending" | "7" => (OrderTime::Start, false),
            _ => return None,
        };
        Some(Order { time, descending })
    }

    fn time_of(self, b: &Build) -> Option<i64> {
        match self.time {
            OrderTime::Queue => Some(b.queued),
            OrderTime::Start => b.started,
            OrderTime::Finish => b.finished,
        }
    }
}

/// `QueryDeletedOption`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Deleted {
    #[default]
    Exclude,
    Include,
    Only,
}

/// A position in the order: the time, and the id when the page ended inside a tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub time: i64,
    pub id: Option<u32>,
}

impl Token {
    pub(crate) fn parse(s: &str) -> Option<Token> {
        let (time, id) = match s.trim().split_once('~') {
            Some((t, id)) => (t, Some(id.trim().parse().ok()?)),
            None => (s.trim(), None),
        };
        Some(Token {
            time: crate::time::parse(time)?,
            id,
        })
    }

    pub(crate) fn print(&self) -> String {
        let t = crate::time::format(self.time);
        match self.id {
            Some(id) => format!("{t}~{id}"),
            None => t,
        }
    }
}

/// A parsed builds query. `min_time` is inclusive, `max_time` exclusive.
#[derive(Clone, Debug)]
pub(crate) struct BuildQuery {
    pub definitions: Option<Vec<u32>>,
    pub ids: Option<Vec<u32>>,
    pub order: Order,
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
    /// `BuildStatus` bits; `None` = every status.
    pub status: Option<u32>,
    pub result: Option<u32>,
    pub reason: Option<u32>,
    pub deleted: Deleted,
    pub branch: Option<String>,
    pub repository: Option<String>,
    pub number: Option<String>,
    pub tags: Vec<String>,
    pub requested_for: Option<String>,
    pub top: usize,
    pub per_definition: Option<usize>,
    pub token: Option<Token>,
}

impl BuildQuery {
    pub(crate) fn new(top: usize) -> BuildQuery {
        BuildQuery {
            definitions: None,
            ids: None,
            order: Order::DEFAULT,
            min_time: None,
            max_time: None,
            status: None,
            result: None,
            reason: None,
            deleted: Deleted::Exclude,
            branch: None,
            repository: None,
            number: None,
            tags: Vec::new(),
            requested_for: None,
            top,
            per_definition: None,
            token: None,
        }
    }
}

/// `*` matches any run of characters; case-insensitive.
pub(crate) fn glob(pattern: &str, s: &str) -> bool {
    let (p, s) = (pattern.to_lowercase(), s.to_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn matches(org: &Org, b: &Build, q: &BuildQuery) -> bool {
    let builds: &Builds = &org.builds;
    let d = builds.definition_of(b);
    let deleted_ok = match q.deleted {
        Deleted::Exclude => b.deleted.is_none(),
        Deleted::Include => true,
        Deleted::Only => b.deleted.is_some(),
    };
    let same = |a: &str, b: &Option<String>| b.as_deref().is_none_or(|b| a.eq_ignore_ascii_case(b));
    deleted_ok
        && q.definitions.as_ref().is_none_or(|v| v.contains(&d.id))
        && q.ids.as_ref().is_none_or(|v| v.contains(&b.id))
        && q.status.is_none_or(|m| m & b.status.bit() != 0)
        && q.result
            .is_none_or(|m| b.result.is_some_and(|r| m & r.bit() != 0))
        && q.reason.is_none_or(|m| m & b.reason.bit() != 0)
        && same(&b.branch, &q.branch)
        && same(&org.repos[d.repo].id, &q.repository)
        && q.number.as_deref().is_none_or(|n| glob(n, &b.number))
        && q.tags
            .iter()
            .all(|t| b.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
        && q.requested_for.as_deref().is_none_or(|r| {
            let who = identity(org, b.requested_for);
            who.id.eq_ignore_ascii_case(r) || who.unique_name.eq_ignore_ascii_case(r)
        })
}

/// One page of project `p`'s builds and the next token, if more remain.
pub(crate) fn builds<'a>(
    org: &'a Org,
    p: usize,
    q: &BuildQuery,
) -> (Vec<&'a Build>, Option<Token>) {
    let order = q.order;
    let mut rows: Vec<(i64, u32, &Build)> = super::of_project(org, p)
        .filter(|b| matches(org, b, q))
        .filter_map(|b| order.time_of(b).map(|t| (t, b.id, b)))
        .filter(|(t, _, _)| q.min_time.is_none_or(|m| *t >= m) && q.max_time.is_none_or(|m| *t < m))
        .collect();
    rows.sort_unstable_by_key(|(t, id, _)| (*t, *id));
    if order.descending {
        rows.reverse();
    }
    let start = match q.token {
        None => 0,
        Some(tok) => rows.partition_point(|(t, id, _)| {
            let before = (*t, *id) < (tok.time, tok.id.unwrap_or(0));
            let after = (*t, *id) > (tok.time, tok.id.unwrap_or(u32::MAX));
            if order.descending { after } else { before }
        }),
    };
    let mut per_def: std::collections::HashMap<usize, usize> = Default::default();
    let mut page: Vec<&Build> = Vec::new();
    let mut next = None;
    let mut last: Option<(i64, u32)> = None;
    for &(t, id, b) in &rows[start..] {
        if let Some(n) = q.per_definition {
            let c = per_def.entry(b.def).or_default();
            if *c >= n {
                continue;
            }
            *c += 1;
        }
        if page.len() == q.top {
            // The page is full: the token points at this build.
            let tie = last.is_some_and(|(lt, _)| lt == t);
            next = Some(Token {
                time: t,
                id: tie.then_some(id),
            });
            break;
        }
        page.push(b);
        last = Some((t, id));
    }
    (page, next)
}

/// `DefinitionQueryOrder`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum DefinitionOrder {
    #[default]
    None,
    LastModifiedAscending,
    LastModifiedDescending,
    NameAscending,
    NameDescending,
}

impl DefinitionOrder {
    pub(crate) fn parse(s: &str) -> Option<DefinitionOrder> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" | "0" => DefinitionOrder::None,
            "lastmodifiedascending" | "1" => DefinitionOrder::LastModifiedAscending,
            "lastmodifieddescending" | "2" => DefinitionOrder::LastModifiedDescending,
            "definitionnameascending" | "3" => DefinitionOrder::NameAscending,
            "definitionnamedescending" | "4" => DefinitionOrder::NameDescending,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct DefinitionQuery {
    pub name: Option<String>,
    pub path: Option<String>,
    pub ids: Option<Vec<u32>>,
    pub repository: Option<String>,
    pub process_type: Option<u32>,
    /// Only honoured with `includeAllProperties=true`, as the spec says.
    pub yaml_filename: Option<String>,
    pub order: DefinitionOrder,
    pub top: Option<usize>,
    /// The id of the first definition of the page.
    pub token: Option<u32>,
}

/// `\a\b` from `a/b`, `\a\b\` or `\\a\\b`: one leading backslash, none trailing.
pub(crate) fn folder(p: &str) -> String {
    let parts: Vec<&str> = p.split(['\\', '/']).filter(|s| !s.is_empty()).collect();
    format!("\\{}", parts.join("\\"))
}

/// One page of project `p`'s definitions and the next token; `Err` when the token names no
/// definition of the listing.
pub(crate) fn definitions<'a>(
    org: &'a Org,
    p: usize,
    q: &DefinitionQuery,
) -> Result<(Vec<&'a Definition>, Option<u32>), ()> {
    let b = &org.builds;
    let under = q.path.as_deref().map(folder);
    let mut v: Vec<&Definition> = b
        .by_project
        .get(p)
        .into_iter()
        .flatten()
        .map(|&d| &b.definitions[d])
        .filter(|d| {
            q.name.as_deref().is_none_or(|n| glob(n, &d.name))
                && under.as_deref().is_none_or(|f| {
                    let own = folder(&d.path);
                    own.eq_ignore_ascii_case(f)
                        || f == "\\"
                        || own
                            .to_lowercase()
                            .starts_with(&format!("{}\\", f.to_lowercase()))
                })
                && q.ids.as_ref().is_none_or(|ids| ids.contains(&d.id))
                && q.repository
                    .as_deref()
                    .is_none_or(|r| org.repos[d.repo].id.eq_ignore_ascii_case(r))
                && q.process_type
                    .is_none_or(|t| t == if d.yaml.is_some() { 2 } else { 1 })
                && q.yaml_filename.as_deref().is_none_or(|f| {
                    d.yaml.as_deref().is_some_and(|y| {
                        y.trim_start_matches('/')
                            .eq_ignore_ascii_case(f.trim_start_matches('/'))
                    })
                })
        })
        .collect();
    match q.order {
        DefinitionOrder::None => v.sort_by_key(|d| d.id),
        DefinitionOrder::LastModifiedAscending => v.sort_by_key(|d| (d.created, d.id)),
        DefinitionOrder::LastModifiedDescending => {
            v.sort_by_key(|d| (std::cmp::Reverse(d.created), std::cmp::Reverse(d.id)))
        }
        DefinitionOrder::NameAscending => v.sort_by_key(|d| (d.name.to_lowercase(), d.id)),
        DefinitionOrder::NameDescending => v.sort_by_key(|d| {
            (
                std::cmp::Reverse(d.name.to_lowercase()),
                std::cmp::Reverse(d.id),
            )
        }),
    }
    let start = match q.token {
        None => 0,
        Some(id) => v.iter().position(|d| d.id == id).ok_or(())?,
    };
    let top = q.top.unwrap_or(usize::MAX);
    let end = start.saturating_add(top).min(v.len());
    let next = v.get(end).map(|d| d.id);
    Ok((v[start..end].to_vec(), next))
}

/// Parses a `BuildStatus` filter: names or numbers, comma-separated (`all` = every status).
pub(crate) fn status_mask(s: &str) -> Option<u32> {
    flags(s, |x| {
        Some(match x {
            "none" => 0,
            "all" => Status::ALL.iter().map(|s| s.bit()).sum(),
            _ => Status::ALL
                .into_iter()
                .find(|s| s.as_str().eq_ignore_ascii_case(x))?
                .bit(),
        })
    })
}

/// Parses a `BuildResult` filter.
pub(crate) fn result_mask(s: &str) -> Option<u32> {
    flags(s, |x| {
        Some(match x {
            "none" => 0,
            _ => Outcome::parse(x)?.bit(),
        })
    })
}

/// Parses a `BuildReason` filter (every reason of the spec, generated or not).
pub(crate) fn reason_mask(s: &str) -> Option<u32> {
    const NAMES: [(&str, u32); 14] = [
        ("none", 0),
        ("manual", 1),
        ("individualci", 2),
        ("batchedci", 4),
        ("schedule", 8),
        ("scheduleforced", 16),
        ("usercreated", 32),
        ("validateshelveset", 64),
        ("checkinshelveset", 128),
        ("pullrequest", 256),
        ("buildcompletion", 512),
        ("resourcetrigger", 1024),
        ("triggered", 1967),
        ("all", 2047),
    ];
    flags(s, |x| {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(x))
            .map(|(_, v)| *v)
    })
}

fn flags(s: &str, one: impl Fn(&str) -> Option<u32>) -> Option<u32> {
    let mut mask = 0;
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        mask |= match part.parse::<u32>() {
            Ok(n) => n,
            Err(_) => one(&part.to_ascii_lowercase())?,
        };
    }
    Some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", "anything"));
        assert!(glob("api-*", "API-ci"));
        assert!(glob("*ci", "api-ci"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abde"));
        assert!(glob("exact", "Exact"));
        assert!(!glob("exact", "exactly"));
    }

    #[test]
    fn tokens_round_trip() {
        let t = Token::parse("2017-11-20T13:18:01.1275996Z").unwrap();
        assert_eq!(t.print(), "2017-11-20T13:18:01.1275996Z");
        let t = Token::parse("2017-11-20T13:18:01.1275996Z~42").unwrap();
        assert_eq!(t.id, Some(42));
        assert_eq!(t.print(), "2017-11-20T13:18:01.1275996Z~42");
        assert!(Token::parse("yesterday").is_none());
        assert!(Token::parse("2017-11-20T13:18:01Z~x").is_none());
    }

    #[test]
    fn flag_filters() {
        assert_eq!(status_mask("inProgress,notStarted"), Some(33));
        assert_eq!(status_mask("all"), Some(47));
        assert_eq!(status_mask("completed"), Some(2));
        assert_eq!(status_mask("2"), Some(2));
        assert_eq!(status_mask("bogus"), None);
        assert_eq!(result_mask("failed,canceled"), Some(40));
        assert_eq!(reason_mask("individualCI,batchedCI"), Some(6));
        assert_eq!(folder("team/sub"), "\\team\\sub");
        assert_eq!(folder("\\"), "\\");
    }
}
