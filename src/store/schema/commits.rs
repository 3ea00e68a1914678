//! Default-branch history (the Commits connector): every commit reachable from a
//! repository's default branch, keyed by repository and commit id.
//!
//! A full walk of a branch re-observes every row it lists (`synced_at`), so the commits a
//! force-push took off the branch are the rows of the repository the walk did not observe:
//! they get `deleted_at` and keep their data, and lose the mark when a later walk lists them
//! again (a branch reset back). See `connectors::commits`.

use chrono::{DateTime, Utc};

use super::{Col, Guard, Record, Table, Value, json};

/// A commit on a repository's default branch, as `commits?searchCriteria.itemVersion…`
/// lists it: change counts where the list gives them, parents where ADO gives them (the list
/// usually does not), `comment` possibly cut short (`comment_truncated`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CommitRow {
    pub repository_id: String,
    pub commit_id: String,
    pub project_id: String,
    /// The default branch the commit was listed on, as `refs/heads/main`.
    pub branch: String,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub author_date: Option<DateTime<Utc>>,
    pub committer_name: Option<String>,
    pub committer_email: Option<String>,
    pub committer_date: Option<DateTime<Utc>>,
    /// The first line of the message.
    pub title: Option<String>,
    pub comment: Option<String>,
    pub comment_truncated: bool,
    pub adds: Option<i64>,
    pub edits: Option<i64>,
    pub deletes: Option<i64>,
    /// The parent commit ids as a JSON array, when the response names them.
    pub parents: Option<String>,
    pub raw: String,
}

pub static COMMITS: Table = Table {
    name: "commits",
    key: &[Col::text("repository_id"), Col::text("commit_id")],
    columns: &[
        Col::text("project_id"),
        Col::text("branch"),
        Col::text("author_name"),
        Col::text("author_email"),
        Col::time("author_date"),
        Col::text("committer_name"),
        Col::text("committer_email"),
        Col::time("committer_date"),
        Col::text("title"),
        Col::text("comment"),
        Col::bool("comment_truncated"),
        Col::int("adds"),
        Col::int("edits"),
        Col::int("deletes"),
        // A list that leaves the parents out does not erase what another response gave.
        Col::json("parents").coalesce(),
        Col::json("raw"),
    ],
    // Every listing re-observes its rows: a full walk's unobserved rows are the ones that
    // left the branch.
    observed: true,
    guard: Guard::Observed,
    revive: true,
    newest_by: None,
};

impl Record for CommitRow {
    const TABLE: &'static Table = &COMMITS;
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([
            (&self.repository_id).into(),
            (&self.commit_id).into(),
            (&self.project_id).into(),
            (&self.branch).into(),
            (&self.author_name).into(),
            (&self.author_email).into(),
            self.author_date.into(),
            (&self.committer_name).into(),
            (&self.committer_email).into(),
            self.committer_date.into(),
            (&self.title).into(),
            (&self.comment).into(),
            self.comment_truncated.into(),
            self.adds.into(),
            self.edits.into(),
            self.deletes.into(),
            self.parents.as_deref().map_or(Value::Null, json),
            json(&self.raw),
        ]);
    }
}

pub(super) static TABLES: &[&Table] = &[&COMMITS];

#[cfg(test)]
mod tests {
    use super::super::check::record_matches_table;
    use super::*;

    #[test]
    fn records_match_their_tables() {
        let s = || Some("x".to_string());
        let row = CommitRow {
            repository_id: "r".into(),
            commit_id: "c".into(),
            project_id: "p".into(),
            branch: "refs/heads/main".into(),
            author_name: s(),
            author_email: s(),
            author_date: Some(Utc::now()),
            committer_name: s(),
            committer_email: s(),
            committer_date: None,
            title: s(),
            comment: s(),
            comment_truncated: true,
            adds: Some(1),
            edits: None,
            deletes: Some(0),
            parents: Some(r#"["a"]"#.into()),
            raw: "{}".into(),
        };
        record_matches_table(&row);
        record_matches_table(&CommitRow {
            parents: None,
            ..row
        });
    }
}
