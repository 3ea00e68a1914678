//! The subset of WIQL a connector sends (API_FACTS §1.4, §4.2), parsed and run against the
//! current work items.
//!
//! Accepted: `SELECT [f], … FROM WorkItems [WHERE c AND c …] [ORDER BY [f] [ASC|DESC], …]`
//! where a condition is `[field] op value` (`= <> > < >= <=`) or `[field] IN (v, …)` on
//! System.Id, System.TeamProject (a name or `@project`), System.ChangedDate,
//! System.CreatedDate (a quoted date or `@today[-N]`), System.WorkItemType, System.State,
//! System.AreaPath and System.IterationPath. Anything else is a 400 naming what the simulator
//! does not understand, so a client never silently gets a wrong answer.
//!
//! Two ADO rules are enforced: dates compare at day precision unless the request has
//! `timePrecision=true`, and a literal with a time part is then a 400 ("You cannot supply a
//! time with the date…", §4.2); a query matching more than the size limit (20,000) fails with
//! VS402337 instead of truncating (§1.4). The limit applies to the full match count, before
//! `$top` — whether `$top` avoids the error on real ADO is unverified, so clients must
//! keyset-page (`[System.Id] > N`) or narrow their date window either way. Deleted work items
//! are never returned.

use std::cmp::Ordering;

use super::process::{FieldId, TYPES, f};
use super::{Boards, Val, WorkItem};
use crate::time::TICKS_PER_DAY;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

impl Op {
    fn holds(self, o: Ordering) -> bool {
        match self {
            Op::Eq => o == Ordering::Equal,
            Op::Ne => o != Ordering::Equal,
            Op::Gt => o == Ordering::Greater,
            Op::Lt => o == Ordering::Less,
            Op::Ge => o != Ordering::Less,
            Op::Le => o != Ordering::Greater,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Gt => ">",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Le => "<=",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Int(i64),
    Str(String),
    /// `@project`.
    Project,
    /// A date: ticks, and whether the literal carried a time of day.
    Date {
        ticks: i64,
        has_time: bool,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Cond {
    pub field: FieldId,
    pub op: Op,
    /// One value, or several for `IN`.
    pub values: Vec<Lit>,
    /// The condition as written, for error messages.
    pub text: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Query {
    pub columns: Vec<FieldId>,
    pub conds: Vec<Cond>,
    /// (field, descending).
    pub order: Vec<(FieldId, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Field(String),
    Str(String),
    Num(i64),
    Op(Op),
    Comma,
    LParen,
    RParen,
    Minus,
}

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        match ch {
            _ if ch.is_whitespace() => i += 1,
            '[' => {
                let end = c[i..]
                    .iter()
                    .position(|&x| x == ']')
                    .ok_or("a field name is missing its closing ']'")?;
                out.push(Tok::Field(c[i + 1..i + end].iter().collect::<String>()));
                i += end + 1;
            }
            '\'' | '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match c.get(i) {
                        None => return Err("a string literal is not terminated".into()),
                        Some(&x) if x == ch && c.get(i + 1) == Some(&ch) => {
                            s.push(ch);
                            i += 2;
                        }
                        Some(&x) if x == ch => {
                            i += 1;
                            break;
                        }
                        Some(&x) => {
                            s.push(x);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(s));
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '-' => {
                out.push(Tok::Minus);
                i += 1;
            }
            '=' => {
                out.push(Tok::Op(Op::Eq));
                i += 1;
            }
            '<' | '>' => {
                let next = c.get(i + 1).copied();
                let (op, len) = match (ch, next) {
                    ('<', Some('>')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', _) => (Op::Lt, 1),
                    _ => (Op::Gt, 1),
                };
                out.push(Tok::Op(op));
                i += len;
            }
            _ if ch.is_ascii_digit() => {
                let start = i;
                while i < c.len() && c[i].is_ascii_digit() {
                    i += 1;
                }
                let s: String = c[start..i].iter().collect();
                out.push(Tok::Num(s.parse().map_err(|_| format!("bad number {s}"))?));
            }
            _ if ch.is_alphanumeric() || ch == '@' || ch == '_' || ch == '.' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || matches!(c[i], '@' | '_' | '.')) {
                    i += 1;
                }
                out.push(Tok::Word(c[start..i].iter().collect()));
            }
            _ => return Err(format!("unexpected character '{ch}'")),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    at: usize,
    b: &'a Boards,
    today: i64,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kw: &str) -> Result<(), String> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(format!("expected {kw}"))
        }
    }

    fn field(&mut self) -> Result<FieldId, String> {
        match self.next() {
            Some(Tok::Field(name)) => self
                .b
                .find_field(&name)
                .ok_or_else(|| format!("TF51005: The query references a field that does not exist. The error is caused by «{name}».")),
            other => Err(format!("expected a field in [brackets], found {other:?}")),
        }
    }

    fn literal(&mut self, field: FieldId) -> Result<Lit, String> {
        let is_date = matches!(field, f::CHANGED_DATE | f::CREATED_DATE);
        match self.next() {
            Some(Tok::Num(n)) if !is_date => Ok(Lit::Int(n)),
            Some(Tok::Str(s)) if is_date => parse_date(&s)
                .map(|(ticks, has_time)| Lit::Date { ticks, has_time })
                .ok_or_else(|| format!("'{s}' is not a valid date")),
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("@project") => Ok(Lit::Project),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("@today") && is_date => {
                let mut ticks = self.today;
                if self.peek() == Some(&Tok::Minus) {
                    self.at += 1;
                    match self.next() {
                        Some(Tok::Num(n)) => ticks -= n * TICKS_PER_DAY,
                        _ => return Err("expected a number of days after @today -".into()),
                    }
                }
                Ok(Lit::Date {
                    ticks,
                    has_time: false,
                })
            }
            other => Err(format!("unexpected value {other:?}")),
        }
    }
}

/// A date literal: ticks, and whether it carried a time of day.
fn parse_date(s: &str) -> Option<(i64, bool)> {
    let ticks = crate::time::parse(s)?;
    let has_time = s.contains(':') || s.trim().contains('T');
    Some((ticks, has_time))
}

const WHERE_FIELDS: [FieldId; 8] = [
    f::ID,
    f::TEAM_PROJECT,
    f::CHANGED_DATE,
    f::CREATED_DATE,
    f::WORK_ITEM_TYPE,
    f::STATE,
    f::AREA_PATH,
    f::ITERATION_PATH,
];

/// Parses a query; `today` is midnight UTC (for `@today`).
pub(crate) fn parse(b: &Boards, text: &str, today: i64) -> Result<Query, String> {
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        at: 0,
        b,
        today,
    };
    p.expect("SELECT")?;
    let mut columns = vec![p.field()?];
    while p.peek() == Some(&Tok::Comma) {
        p.at += 1;
        columns.push(p.field()?);
    }
    p.expect("FROM")?;
    match p.next() {
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("WorkItems") => {}
        other => {
            return Err(format!(
                "the simulator only runs flat queries FROM WorkItems, not {other:?}"
            ));
        }
    }
    let mut conds = Vec::new();
    if p.keyword("WHERE") {
        loop {
            let start = p.at;
            let field = p.field()?;
            if !WHERE_FIELDS.contains(&field) {
                return Err(format!(
                    "the simulator cannot filter on [{}]",
                    b.fields[field as usize].ref_name
                ));
            }
            let (op, values) = if p.keyword("IN") {
                if p.next() != Some(Tok::LParen) {
                    return Err("expected ( after IN".into());
                }
                let mut vals = vec![p.literal(field)?];
                loop {
                    match p.next() {
                        Some(Tok::Comma) => vals.push(p.literal(field)?),
                        Some(Tok::RParen) => break,
                        other => return Err(format!("unexpected {other:?} in IN list")),
                    }
                }
                (Op::Eq, vals)
            } else {
                let op = match p.next() {
                    Some(Tok::Op(op)) => op,
                    other => return Err(format!("expected an operator, found {other:?}")),
                };
                (op, vec![p.literal(field)?])
            };
            let text = render(&p.toks[start..p.at], b);
            conds.push(Cond {
                field,
                op,
                values,
                text,
            });
            if p.keyword("AND") {
                continue;
            }
            if matches!(p.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("OR")) {
                return Err("the simulator only supports conditions joined by AND".into());
            }
            break;
        }
    }
    let mut order = Vec::new();
    if p.keyword("ORDER") {
        p.expect("BY")?;
        loop {
            let field = p.field()?;
            let desc = if p.keyword("DESC") {
                true
            } else {
                p.keyword("ASC");
                false
            };
            order.push((field, desc));
            if p.peek() == Some(&Tok::Comma) {
                p.at += 1;
                continue;
            }
            break;
        }
    }
    if let Some(t) = p.peek() {
        return Err(format!("unexpected {t:?} after the end of the query"));
    }
    Ok(Query {
        columns,
        conds,
        order,
    })
}

/// The condition as ADO quotes it in error messages: `[System.ChangedDate] >= '…'`.
fn render(toks: &[Tok], b: &Boards) -> String {
    let parts: Vec<String> = toks
        .iter()
        .map(|t| match t {
            Tok::Word(w) => w.clone(),
            Tok::Field(n) => format!(
                "[{}]",
                b.find_field(n)
                    .map_or(n.as_str(), |fid| b.fields[fid as usize].ref_name.as_str())
            ),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(n) => n.to_string(),
            Tok::Op(op) => op.text().to_string(),
            Tok::Comma => ",".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Minus => "-".into(),
        })
        .collect();
    parts.join(" ")
}

/// Why a query cannot run.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RunError {
    /// A literal with a time while the request uses day precision.
    TimeWithDate(String),
    /// `@project` without a project in the URL.
    NoProject,
    /// More matches than the limit (VS402337).
    TooMany,
}

/// Checks the precision rule before anything runs.
pub(crate) fn check(q: &Query, time_precision: bool) -> Result<(), RunError> {
    for c in &q.conds {
        for v in &c.values {
            if let Lit::Date { has_time: true, .. } = v
                && !time_precision
            {
                return Err(RunError::TimeWithDate(c.text.clone()));
            }
        }
    }
    Ok(())
}

fn day(t: i64) -> i64 {
    t.div_euclid(TICKS_PER_DAY)
}

fn current_str(b: &Boards, item: &WorkItem, field: FieldId) -> String {
    let mut vals = Vec::new();
    b.materialize(item, item.rev(), &mut vals);
    match vals[field as usize] {
        Some(Val::Str(s)) => b.str(s).to_string(),
        _ => String::new(),
    }
}

fn matches(
    b: &Boards,
    project_names: &[String],
    item: &WorkItem,
    c: &Cond,
    project: Option<usize>,
    time_precision: bool,
) -> Result<bool, RunError> {
    let mut any = false;
    for v in &c.values {
        let ord = match (c.field, v) {
            (f::ID, Lit::Int(n)) => i64::from(item.id).cmp(n),
            (f::CHANGED_DATE | f::CREATED_DATE, Lit::Date { ticks, .. }) => {
                let t = if c.field == f::CHANGED_DATE {
                    item.changed()
                } else {
                    item.created()
                };
                if time_precision {
                    t.cmp(ticks)
                } else {
                    day(t).cmp(&day(*ticks))
                }
            }
            (f::TEAM_PROJECT, Lit::Project) => {
                let p = project.ok_or(RunError::NoProject)?;
                item.project.cmp(&p)
            }
            (f::TEAM_PROJECT, Lit::Str(s)) => project_names[item.project]
                .to_lowercase()
                .cmp(&s.to_lowercase()),
            (f::WORK_ITEM_TYPE, Lit::Str(s)) => TYPES[item.kind as usize]
                .name
                .to_lowercase()
                .cmp(&s.to_lowercase()),
            (f::STATE, Lit::Str(s)) => item.state.name().to_lowercase().cmp(&s.to_lowercase()),
            (f::AREA_PATH | f::ITERATION_PATH, Lit::Str(s)) => current_str(b, item, c.field)
                .to_lowercase()
                .cmp(&s.to_lowercase()),
            _ => return Ok(false),
        };
        if c.op.holds(ord) {
            any = true;
            break;
        }
    }
    Ok(any)
}

/// Runs a checked query: matching live item ids in the requested order, at most `top`.
pub(crate) fn run(
    b: &Boards,
    project_names: &[String],
    q: &Query,
    project: Option<usize>,
    time_precision: bool,
    limit: usize,
    top: Option<usize>,
) -> Result<Vec<u32>, RunError> {
    let mut hits: Vec<&WorkItem> = Vec::new();
    for item in b.items.iter().filter(|i| !i.deleted) {
        let mut ok = true;
        for c in &q.conds {
            if !matches(b, project_names, item, c, project, time_precision)? {
                ok = false;
                break;
            }
        }
        if ok {
            hits.push(item);
        }
    }
    if hits.len() > limit {
        return Err(RunError::TooMany);
    }
    let key = |item: &WorkItem, field: FieldId| -> (i64, String) {
        match field {
            f::CHANGED_DATE => (item.changed(), String::new()),
            f::CREATED_DATE => (item.created(), String::new()),
            f::ID => (i64::from(item.id), String::new()),
            f::STATE => (0, item.state.name().to_string()),
            f::WORK_ITEM_TYPE => (0, TYPES[item.kind as usize].name.to_string()),
            f::TEAM_PROJECT => (0, project_names[item.project].clone()),
            other => (0, current_str(b, item, other)),
        }
    };
    if !q.order.is_empty() {
        hits.sort_by(|a, c| {
            for &(field, desc) in &q.order {
                let o = key(a, field).cmp(&key(c, field));
                let o = if desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.id.cmp(&c.id)
        });
    }
    let n = top.unwrap_or(usize::MAX).min(hits.len());
    Ok(hits[..n].iter().map(|i| i.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boards::builtin_fields;

    fn boards() -> Boards {
        Boards {
            fields: builtin_fields(),
            ..Boards::default()
        }
    }

    #[test]
    fn parses_the_connector_query() {
        let b = boards();
        let q = parse(
            &b,
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND \
             [System.ChangedDate] >= '2024-01-05T10:00:00Z' AND [System.Id] > 42 ORDER BY [System.Id]",
            0,
        )
        .unwrap();
        assert_eq!(q.columns, vec![f::ID]);
        assert_eq!(q.conds.len(), 3);
        assert_eq!(q.conds[2].values, vec![Lit::Int(42)]);
        assert_eq!(q.order, vec![(f::ID, false)]);
        assert_eq!(
            check(&q, false),
            Err(RunError::TimeWithDate(
                "[System.ChangedDate] >= '2024-01-05T10:00:00Z'".into()
            ))
        );
        assert_eq!(check(&q, true), Ok(()));
        let q = parse(
            &b,
            "select [Id] from workitems where [Changed Date] >= '1/5/2024' order by [System.ChangedDate] desc",
            0,
        )
        .unwrap();
        assert_eq!(check(&q, false), Ok(()));
        assert_eq!(q.order, vec![(f::CHANGED_DATE, true)]);
        for bad in [
            "SELECT [System.Id] FROM WorkItemLinks",
            "SELECT [System.Id] FROM WorkItems WHERE [System.Id] > 1 OR [System.Id] < 0",
            "SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'x'",
            "SELECT [Nope] FROM WorkItems",
            "SELECT [System.Id] FROM WorkItems WHERE [System.Id] > 'x' garbage",
        ] {
            assert!(parse(&b, bad, 0).is_err(), "{bad}");
        }
    }
}
