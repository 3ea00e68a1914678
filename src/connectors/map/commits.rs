//! Default-branch commits, from `GitCommitRef` to [`CommitRow`].

use crate::ado::models::WithRaw;
use crate::ado::models::git_commits::GitCommitRef;
use crate::store::schema::commits::CommitRow;

/// The repository and branch a listed commit belongs to.
#[derive(Debug, Clone, Copy)]
pub struct OnBranch<'a> {
    pub project_id: &'a str,
    pub repository_id: &'a str,
    /// As the repository's `defaultBranch` names it (`refs/heads/main`).
    pub branch: &'a str,
}

/// The first line of a commit message (a truncated message still starts with it).
pub fn title(comment: Option<&str>) -> Option<String> {
    comment.map(|m| m.lines().next().unwrap_or_default().trim_end().to_string())
}

/// A commit of a branch's history. A list leaves `parents` out (every recorded list
/// example): then the column stays NULL rather than claiming a root commit (`[]`).
pub fn commit_row(at: OnBranch<'_>, c: &WithRaw<GitCommitRef>) -> CommitRow {
    let v = &c.value;
    let counts = v.change_counts;
    CommitRow {
        repository_id: at.repository_id.to_string(),
        commit_id: v.commit_id.clone(),
        project_id: at.project_id.to_string(),
        branch: at.branch.to_string(),
        author_name: v.author.as_ref().and_then(|a| a.name.clone()),
        author_email: v.author.as_ref().and_then(|a| a.email.clone()),
        author_date: v.author.as_ref().and_then(|a| a.date),
        committer_name: v.committer.as_ref().and_then(|a| a.name.clone()),
        committer_email: v.committer.as_ref().and_then(|a| a.email.clone()),
        committer_date: v.committer.as_ref().and_then(|a| a.date),
        title: title(v.comment.as_deref()),
        comment: v.comment.clone(),
        comment_truncated: v.comment_truncated,
        adds: counts.map(|c| c.add),
        edits: counts.map(|c| c.edit),
        deletes: counts.map(|c| c.delete),
        parents: v
            .parents
            .as_ref()
            .map(|p| serde_json::to_string(p).unwrap_or_else(|_| "[]".into())),
        raw: c.raw.get().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ado::models::ListEnvelope;
    use crate::ado::models::example::body_text;

    const AT: OnBranch<'static> = OnBranch {
        project_id: "p",
        repository_id: "r",
        branch: "refs/heads/master",
    };

    fn list(file: &str) -> Vec<WithRaw<GitCommitRef>> {
        let env: ListEnvelope<WithRaw<GitCommitRef>> =
            serde_json::from_str(&body_text(file)).unwrap();
        env.value
    }

    #[test]
    fn a_branch_listing_maps_every_commit_with_its_counts_and_no_parents() {
        let commits = list("git/commits__GET__git_repositories__repositoryId__commits_branch.json");
        let rows: Vec<CommitRow> = commits.iter().map(|c| commit_row(AT, c)).collect();
        assert_eq!(rows.len(), 6);
        let first = &rows[0];
        assert_eq!(first.commit_id, "9991b4f66def4c0a9ad8f9f27043ece7eddcf1c7");
        assert_eq!(first.repository_id, "r");
        assert_eq!(first.branch, "refs/heads/master");
        assert_eq!(first.author_name.as_deref(), Some("Norman Paulk"));
        assert_eq!(
            first.committer_email.as_deref(),
            Some("Fabrikamfiber16@hotmail.com")
        );
        assert_eq!(
            first.committer_date.map(|d| d.to_rfc3339()),
            Some("2018-06-15T17:06:53+00:00".into())
        );
        assert_eq!(
            first.title.as_deref(),
            Some("Merged PR 2: Deleted README.md")
        );
        assert!(first.comment_truncated);
        // `changeCounts` leaves zero keys out in other examples; here all three are given.
        assert_eq!(
            (first.adds, first.edits, first.deletes),
            (Some(0), Some(0), Some(1))
        );
        assert_eq!(first.parents, None, "a list names no parents");
        for (row, c) in rows.iter().zip(&commits) {
            let raw: serde_json::Value = serde_json::from_str(&row.raw).unwrap();
            assert_eq!(raw["commitId"].as_str(), Some(c.value.commit_id.as_str()));
        }
    }

    #[test]
    fn a_single_commit_names_its_parents_even_none() {
        let body =
            body_text("git/commits__GET__git_repositories__repositoryId__commits__commitId_.json");
        let c: WithRaw<GitCommitRef> = serde_json::from_str(&body).unwrap();
        let row = commit_row(AT, &c);
        // The recorded commit is a repository's first: `[]`, not "not sent".
        assert_eq!(row.parents.as_deref(), Some("[]"));
        let listed = list("git/commits__GET__git_repositories__repositoryId__commits_branch.json");
        let mut with_parents = listed[0].value.clone();
        with_parents.parents = Some(vec!["p1".into(), "p2".into()]);
        let raw = WithRaw {
            value: with_parents,
            raw: listed[0].raw.clone(),
        };
        assert_eq!(
            commit_row(AT, &raw).parents.as_deref(),
            Some(r#"["p1","p2"]"#)
        );
    }

    #[test]
    fn every_recorded_commit_list_maps() {
        for file in [
            "git/commits__GET__git_repositories__repositoryId__commits.json",
            "git/commits__GET__git_repositories__repositoryId__commits__skip-_skip___top-_top_.json",
            "git/commits__GET__git_repositories__repositoryId__commits_author-_author_.json",
            "git/commits__GET__git_repositories__repositoryId__commits_fromDate-_fromDate__toDate-_toDate_.json",
        ] {
            let commits = list(file);
            assert!(!commits.is_empty(), "{file}");
            for c in &commits {
                let row = commit_row(AT, c);
                assert_eq!(row.commit_id.len(), 40, "{file}");
                assert!(row.committer_date.is_some(), "{file}");
                assert_eq!(row.title.is_some(), c.value.comment.is_some(), "{file}");
            }
        }
    }

    #[test]
    fn a_title_is_the_first_line() {
        assert_eq!(title(Some("Fix it\r\n\nbody")).as_deref(), Some("Fix it"));
        assert_eq!(title(Some("")).as_deref(), Some(""));
        assert_eq!(title(None), None);
    }
}
