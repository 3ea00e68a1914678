//! Branch histories: what `…/repositories/{r}/commits` lists and the `commits` truth exports,
//! and the force-pushes that rewrite them.
//!
//! The simulated history of a branch is the merge commits of the PRs completed into it. A
//! force-push of a default branch (`Change::ForcePushDefaultBranch`) is recorded per
//! repository and keyed by PR id (`Repo::rewrites`, `Repo::dropped`), so it survives later
//! changes and later completions simply land on top. [`history`] is the one place these are
//! folded together; the route and the truth both read it, so they cannot drift apart.
//!
//! This module owns no state and serializes nothing (JSON is `children::json::merge_commit`).

use serde_json::{Value, json};

use crate::model::{Org, PrStatus, PullRequest};
use crate::rng::Rng;

/// One commit of a branch's history.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// The PR whose completion made the commit.
    pub pr: &'a PullRequest,
    /// The PR's merge commit, or what a force-push rewrote it to.
    pub sha: &'a str,
    /// Committer date: the PR's closed date, or the force-push's.
    pub committed: i64,
}

/// `refs/heads/x` for `x`; names already under `refs/` unchanged.
pub(crate) fn branch_ref(name: &str) -> String {
    if name.starts_with("refs/") {
        name.to_string()
    } else {
        format!("refs/heads/{name}")
    }
}

fn completed_into<'a>(
    org: &'a Org,
    r: usize,
    branch: &'a str,
) -> impl Iterator<Item = &'a PullRequest> + 'a {
    org.by_repo[r]
        .ids(Some(PrStatus::Completed))
        .iter()
        .map(|id| &org.prs[*id as usize - 1])
        .filter(move |p| p.target_ref.eq_ignore_ascii_case(branch) && p.merge_commit.is_some())
}

/// Whether `branch` (`refs/heads/…`) of live repository `r` resolves to a commit: its
/// default branch, `refs/heads/main` (every repository was created with it), or a branch some
/// PR was completed into (even one a force-push dropped again).
pub(crate) fn resolves(org: &Org, r: usize, branch: &str) -> bool {
    branch.eq_ignore_ascii_case(&org.repos[r].default_branch)
        || branch.eq_ignore_ascii_case("refs/heads/main")
        || completed_into(org, r, branch).next().is_some()
}

/// The whole history of `branch` (`refs/heads/…`) of repository `r`, newest first: by
/// committer date, ties by PR id descending; dropped commits absent, rewritten ones with
/// their new sha and date.
pub(crate) fn history<'a>(org: &'a Org, r: usize, branch: &'a str) -> Vec<Entry<'a>> {
    let repo = &org.repos[r];
    let mut v: Vec<Entry<'a>> = completed_into(org, r, branch)
        .filter(|p| !repo.dropped.contains(&p.id))
        .map(|pr| match repo.rewrites.get(&pr.id) {
            Some((sha, at)) => Entry {
                pr,
                sha,
                committed: *at,
            },
            None => Entry {
                pr,
                sha: pr.merge_commit.as_deref().unwrap_or_default(),
                committed: pr.closed.unwrap_or(pr.creation),
            },
        })
        .collect();
    v.sort_by_key(|e| std::cmp::Reverse((e.committed, e.pr.id)));
    v
}

/// A force-push of live repository `r`'s default branch: the newest `drop` commits reset
/// away, the next `rewrite` rebased (new shas from `rng`, committed now). The rebased
/// commits keep their order, one tick apart, all newer than anything the branch held; their
/// authors, messages and change counts stay. Answers `{"repository", "rewritten": [{"old",
/// "new"}], "dropped": [sha]}`, both newest first.
pub(crate) fn force_push(
    org: &mut Org,
    rng: &mut Rng,
    r: usize,
    rewrite: usize,
    drop: usize,
) -> Result<Value, String> {
    let branch = org.repos[r].default_branch.clone();
    let (dropped, rewritten, newest) = {
        let h = history(org, r, &branch);
        if rewrite + drop > h.len() {
            return Err(format!(
                "{} of repository {} has {} commits; cannot drop {drop} and rewrite {rewrite}",
                branch,
                org.repos[r].id,
                h.len()
            ));
        }
        let ids = |s: &[Entry<'_>]| -> Vec<(u32, String)> {
            s.iter().map(|e| (e.pr.id, e.sha.to_string())).collect()
        };
        (
            ids(&h[..drop]),
            ids(&h[drop..drop + rewrite]),
            h.first().map_or(i64::MIN, |e| e.committed),
        )
    };
    // A rebase writes its commits now, on top of what it keeps: strictly after every commit
    // the branch held, even when the generated history ends in the future.
    let base = org.now().max(newest.saturating_add(1));
    let repo = &mut org.repos[r];
    for (id, _) in &dropped {
        repo.rewrites.remove(id);
        repo.dropped.insert(*id);
    }
    let mut pairs = Vec::with_capacity(rewritten.len());
    // Oldest first, so that the newest rebased commit gets the latest date.
    for (i, (id, old)) in rewritten.into_iter().rev().enumerate() {
        let new = rng.sha();
        repo.rewrites.insert(id, (new.clone(), base + i as i64));
        pairs.push(json!({ "old": old, "new": new }));
    }
    pairs.reverse();
    let dropped: Vec<String> = dropped.into_iter().map(|(_, sha)| sha).collect();
    Ok(json!({ "repository": repo.id, "rewritten": pairs, "dropped": dropped }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sizes, generate};

    fn org() -> Org {
        let sizes = Sizes {
            projects: 1,
            repos_per_project: 1,
            prs_per_repo: 40,
            work_items_per_project: 0,
        };
        generate("contoso", 9, &sizes, crate::time::today_midnight_ticks())
    }

    #[test]
    fn a_force_push_rebases_in_order_and_on_top() {
        let mut o = org();
        let before: Vec<(u32, String)> = history(&o, 0, "refs/heads/main")
            .iter()
            .map(|e| (e.pr.id, e.sha.to_string()))
            .collect();
        assert!(before.len() >= 5);
        let mut rng = Rng::derive(1, 2);
        let answer = force_push(&mut o, &mut rng, 0, 3, 1).unwrap();
        let after = history(&o, 0, "refs/heads/main");
        assert_eq!(after.len(), before.len() - 1);
        // Same PRs in the same order, minus the dropped one.
        let ids: Vec<u32> = after.iter().map(|e| e.pr.id).collect();
        let want: Vec<u32> = before[1..].iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, want);
        for (i, e) in after.iter().enumerate() {
            assert_eq!(e.sha != before[i + 1].1, i < 3, "commit {i}");
        }
        assert_eq!(answer["dropped"][0], before[0].1.as_str());
        assert_eq!(answer["rewritten"][0]["old"], before[1].1.as_str());
        assert_eq!(answer["rewritten"][0]["new"], after[0].sha);
        assert!(after[2].committed > after[3].committed);
        let n = after.len();
        assert!(force_push(&mut o, &mut rng, 0, n, 1).is_err());
    }
}
