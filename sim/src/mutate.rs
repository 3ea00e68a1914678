//! Mutations: the org moving on between two syncs, so incremental sync can be checked.
//!
//! One call applies `changes` changes drawn from a PRNG seeded with the call's seed. Timestamps
//! are the real current time, so a client that remembers "when I last synced" finds new and
//! closed PRs with `minTime` (API_FACTS §4.3). Changes that only an open PR can undergo (votes,
//! reviewers, titles, pushes, completion, abandonment) only touch active PRs, as in ADO, where
//! closed PRs are frozen. Such changes cannot be found by any time filter — that is the point:
//! a client must re-scan active PRs.
//!
//! Repository deletion is rare and predictable: exactly one per call when `changes ≥ 20`, never
//! the last live repository of a project. Its PRs vanish from every endpoint.
//!
//! Work items change too (`boards::mutate`): `work_item_changes` more changes, drawn from a
//! separate PRNG stream, so the PR changes of a `(seed, changes)` pair are exactly what they
//! were before Boards existed. The answer lists the PR keys first, then the `work_item*`,
//! `fields_created` and `iterations_created` keys; the PR keys sum to `changes`, the others
//! to `work_item_changes` (0 when the org has no work items).
//!
//! Changes have their real effect on the PR's children (`children::mutate`): a push adds an
//! iteration with new commits and a RefUpdate thread (sometimes a pending status), a vote or
//! a new reviewer adds a system thread, completion and abandonment make the policy evaluations
//! final, and new PRs get children like generated ones. The child side effects draw from each
//! PR's own stream, so the PR changes of a seed are exactly what they were before children.
//!
//! The random round makes **no comment-only or status-only changes**: the product notices a
//! changed PR from the PR list, and ADO's list shows neither comments nor statuses, so such a
//! change would be invisible to an incremental sync by design. Tests make them explicitly
//! with `Change::CommentOnPullRequest` / `Change::PostPullRequestStatus`.
//!
//! Besides `changed`, the answer has `touched_pull_requests`: the ids of the PRs the round
//! created or changed (ascending, without those of a repository the round deleted), i.e. the
//! PRs whose children a client must fetch again.

use serde_json::{Value, json};

use crate::children;
use crate::data;
use crate::hooks::{Event, Update};
use crate::model::{Org, PrStatus, Repo};
use crate::rng::Rng;

#[derive(Clone, Copy)]
enum Kind {
    CreatePr,
    Complete,
    Abandon,
    Vote,
    AddReviewer,
    Retitle,
    Push,
    Reactivate,
    CreateRepo,
}

const KINDS: [(Kind, u32); 9] = [
    (Kind::CreatePr, 20),
    (Kind::Complete, 15),
    (Kind::Abandon, 5),
    (Kind::Vote, 18),
    (Kind::AddReviewer, 10),
    (Kind::Retitle, 10),
    (Kind::Push, 15),
    (Kind::Reactivate, 4),
    (Kind::CreateRepo, 1),
];

/// Calls with at least this many changes delete one repository.
pub(crate) const DELETE_REPO_MIN_CHANGES: usize = 20;

#[derive(Default)]
struct Counts {
    created: u64,
    completed: u64,
    abandoned: u64,
    votes: u64,
    reviewers: u64,
    retitled: u64,
    pushes: u64,
    repos_deleted: u64,
    repos_created: u64,
    reactivated: u64,
    /// Every PR a change applied to (created, closed, voted, pushed…), in change order.
    touched: Vec<u32>,
}

pub(crate) fn mutate(org: &mut Org, seed: u64, changes: usize, work_item_changes: usize) -> Value {
    let mut rng = Rng::derive(seed, 0x00D1_FF5E);
    let mut c = Counts::default();
    let delete_at = (changes >= DELETE_REPO_MIN_CHANGES).then(|| rng.index(changes));
    let weights: Vec<u32> = KINDS.iter().map(|(_, w)| *w).collect();
    for i in 0..changes {
        if delete_at == Some(i) && delete_repo(org, &mut rng) {
            c.repos_deleted += 1;
            org.change_id += 1;
            continue;
        }
        // A kind may not apply (no active PR with reviewers, nothing abandoned…): draw again.
        for _ in 0..20 {
            let kind = KINDS[rng.weighted(&weights)].0;
            if apply(org, &mut rng, kind, &mut c) {
                org.change_id += 1;
                break;
            }
        }
    }
    let mut changed = json!({
        "pull_requests_created": c.created,
        "pull_requests_completed": c.completed,
        "pull_requests_abandoned": c.abandoned,
        "votes_changed": c.votes,
        "reviewers_added": c.reviewers,
        "pull_requests_retitled": c.retitled,
        "pushes": c.pushes,
        "repositories_deleted": c.repos_deleted,
        "repositories_created": c.repos_created,
        "pull_requests_reactivated": c.reactivated,
    });
    let wi = crate::boards::mutate::mutate(org, seed, work_item_changes);
    if let Value::Object(m) = &mut changed {
        for (k, v) in wi.entries() {
            m.insert(k.to_string(), json!(v));
        }
    }
    let mut touched = c.touched;
    touched.sort_unstable();
    touched.dedup();
    touched.retain(|id| org.pr(*id).is_some());
    json!({ "changed": changed, "touched_pull_requests": touched })
}

/// The keys of the PR changes in a mutate answer (they sum to `changes`).
#[cfg(test)]
pub(crate) const PR_KEYS: [&str; 10] = [
    "pull_requests_created",
    "pull_requests_completed",
    "pull_requests_abandoned",
    "votes_changed",
    "reviewers_added",
    "pull_requests_retitled",
    "pushes",
    "repositories_deleted",
    "repositories_created",
    "pull_requests_reactivated",
];

fn random_with_status(org: &Org, rng: &mut Rng, status: PrStatus) -> Option<u32> {
    let ids = org.global.ids(Some(status));
    (!ids.is_empty()).then(|| ids[rng.index(ids.len())])
}

/// Now by the org's clock, but strictly after `after` (keeps closedDate > creationDate
/// within one call).
fn now_after(org: &Org, after: i64) -> i64 {
    org.now().max(after + 1)
}

fn apply(org: &mut Org, rng: &mut Rng, kind: Kind, c: &mut Counts) -> bool {
    match kind {
        Kind::CreatePr => {
            let Some(id) = create_pr(org, rng) else {
                return false;
            };
            c.created += 1;
            c.touched.push(id);
            true
        }
        Kind::CreateRepo => {
            if org.projects.is_empty() {
                return false;
            }
            create_repo(org, rng);
            c.repos_created += 1;
            true
        }
        Kind::Reactivate => {
            let Some(id) = random_with_status(org, rng, PrStatus::Abandoned) else {
                return false;
            };
            children::materialize(org, id);
            org.set_status(id, PrStatus::Active);
            let pr = &mut org.prs[id as usize - 1];
            pr.closed = None;
            pr.closed_by = None;
            org.hook_events
                .push(Event::PrUpdated(id, Update::Reactivated));
            c.reactivated += 1;
            c.touched.push(id);
            true
        }
        _ => {
            let Some(id) = random_with_status(org, rng, PrStatus::Active) else {
                return false;
            };
            // Children are generated from the PR as it was, before the change.
            children::materialize(org, id);
            let ok = change_active(org, rng, id, kind, c);
            if ok {
                c.touched.push(id);
            }
            ok
        }
    }
}

fn change_active(org: &mut Org, rng: &mut Rng, id: u32, kind: Kind, c: &mut Counts) -> bool {
    let users = org.user_count;
    let i = id as usize - 1;
    match kind {
        Kind::Complete | Kind::Abandon => {
            let completed = matches!(kind, Kind::Complete);
            close(org, rng, id, completed);
            if completed {
                c.completed += 1;
            } else {
                c.abandoned += 1;
            }
            true
        }
        Kind::Vote => {
            if !vote(org, rng, id) {
                return false;
            }
            c.votes += 1;
            true
        }
        Kind::AddReviewer => {
            let pr = &org.prs[i];
            let free: Vec<usize> = (0..users)
                .filter(|u| *u != pr.created_by && !pr.reviewers.iter().any(|r| r.identity == *u))
                .collect();
            if free.is_empty() {
                return false;
            }
            let u = *rng.pick(&free);
            let mut reviewer = data::user_reviewer(rng, u, PrStatus::Active);
            reviewer.vote = 0;
            reviewer.has_declined = false;
            org.prs[i].reviewers.push(reviewer);
            let by = org.prs[i].created_by;
            children::mutate::reviewer_added(org, id, by, u);
            org.hook_events
                .push(Event::PrUpdated(id, Update::Reviewers));
            c.reviewers += 1;
            true
        }
        Kind::Retitle => {
            let mut t = data::title(rng);
            if t == org.prs[i].title {
                t.push_str(" (revised)");
            }
            org.prs[i].title = t;
            org.hook_events.push(Event::PrUpdated(id, Update::Title));
            c.retitled += 1;
            true
        }
        Kind::Push => {
            push(org, rng, id);
            c.pushes += 1;
            true
        }
        Kind::CreatePr | Kind::CreateRepo | Kind::Reactivate => false,
    }
}

/// Completes (a merge commit into its target branch, on top of that branch's history) or
/// abandons active PR `id` now, closed by a random user; its policy evaluations become final.
pub(crate) fn close(org: &mut Org, rng: &mut Rng, id: u32, completed: bool) {
    children::materialize(org, id);
    let i = id as usize - 1;
    let to = if completed {
        PrStatus::Completed
    } else {
        PrStatus::Abandoned
    };
    org.set_status(id, to);
    let merge_commit = rng.sha();
    let closer = rng.index(org.user_count);
    let closed = now_after(org, org.prs[i].creation);
    let pr = &mut org.prs[i];
    pr.closed = Some(closed);
    pr.closed_by = Some(closer);
    pr.is_draft = false;
    if completed {
        pr.merge_status = "succeeded";
        pr.merge_commit = Some(merge_commit);
    }
    children::mutate::close(org, id, completed, closed);
    // ADO sends `git.pullrequest.updated` for every completion as well as the merge event.
    if completed {
        org.hook_events
            .push(Event::PrUpdated(id, Update::Completed));
        org.hook_events.push(Event::PrMerged(id));
    } else {
        org.hook_events
            .push(Event::PrUpdated(id, Update::Abandoned));
    }
}

/// A reviewer of active PR `id` changes their vote (false when it has no reviewers); a
/// VoteUpdate thread records it.
pub(crate) fn vote(org: &mut Org, rng: &mut Rng, id: u32) -> bool {
    let i = id as usize - 1;
    let n = org.prs[i].reviewers.len();
    if n == 0 {
        return false;
    }
    children::materialize(org, id);
    let r = rng.index(n);
    let old = org.prs[i].reviewers[r].vote;
    let choices: Vec<i8> = [10, 5, 0, -5, -10]
        .into_iter()
        .filter(|v| *v != old)
        .collect();
    let rv = &mut org.prs[i].reviewers[r];
    rv.vote = *rng.pick(&choices);
    rv.has_declined = false;
    let (voter, vote) = (rv.identity, rv.vote);
    children::mutate::vote(org, id, voter, vote);
    org.hook_events.push(Event::PrUpdated(id, Update::Vote));
    true
}

/// A push to active PR `id`'s source branch: a new source commit and merge, and (children)
/// a new iteration with its commits and a RefUpdate thread.
pub(crate) fn push(org: &mut Org, rng: &mut Rng, id: u32) {
    children::materialize(org, id);
    let sha = rng.sha();
    let merge_id = rng.guid();
    let status = *rng.pick(&["succeeded", "succeeded", "succeeded", "conflicts", "queued"]);
    let pr = &mut org.prs[id as usize - 1];
    pr.source_commit = sha.clone();
    pr.merge_id = merge_id;
    pr.merge_status = status;
    children::mutate::push(org, id, sha);
    org.hook_events.push(Event::PrUpdated(id, Update::Push));
}

fn create_pr(org: &mut Org, rng: &mut Rng) -> Option<u32> {
    let live: Vec<usize> = (0..org.repos.len())
        .filter(|r| !org.repos[*r].deleted)
        .collect();
    if live.is_empty() {
        return None;
    }
    let repo = *rng.pick(&live);
    Some(create_pr_in(org, rng, repo))
}

/// Creates an active PR in `repo` (a live repository), created now; returns its id.
pub(crate) fn create_pr_in(org: &mut Org, rng: &mut Rng, repo: usize) -> u32 {
    let id = org.next_pr_id();
    let creation = now_after(org, org.last_creation());
    let mut pr = data::new_pr(rng, org, id, repo, creation, PrStatus::Active, None);
    for r in &mut pr.reviewers {
        r.vote = 0;
        r.has_declined = false;
    }
    org.add_pr(pr);
    org.hook_events.push(Event::PrCreated(id));
    id
}

fn create_repo(org: &mut Org, rng: &mut Rng) {
    let project = rng.index(org.projects.len());
    let n = org.repos.len() + 1;
    let mut name = format!("service-{n}");
    while org
        .repos
        .iter()
        .any(|r| r.project == project && r.name.eq_ignore_ascii_case(&name))
    {
        name.push('x');
    }
    let id = rng.guid();
    let repo = Repo::new(id, name, project, rng.range(0, 50_000) as u64);
    org.add_repo(repo);
}

fn delete_repo(org: &mut Org, rng: &mut Rng) -> bool {
    let eligible: Vec<usize> = (0..org.repos.len())
        .filter(|&r| !org.repos[r].deleted && org.live_repo_count(org.repos[r].project) >= 2)
        .collect();
    if eligible.is_empty() {
        return false;
    }
    let r = *rng.pick(&eligible);
    org.delete_repo(r);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Sizes, generate};

    fn org() -> Org {
        let sizes = Sizes {
            projects: 2,
            repos_per_project: 3,
            prs_per_repo: 50,
            work_items_per_project: 10,
        };
        generate("contoso", 5, &sizes, crate::time::today_midnight_ticks())
    }

    #[test]
    fn applies_the_requested_number_of_changes() {
        let mut o = org();
        let before_active = o.global.ids(Some(PrStatus::Active)).len();
        let v = mutate(&mut o, 11, 40, 15);
        let total: u64 = PR_KEYS
            .iter()
            .map(|k| v["changed"][*k].as_u64().unwrap())
            .sum();
        assert_eq!(total, 40);
        let all: u64 = v["changed"]
            .as_object()
            .unwrap()
            .values()
            .map(|x| x.as_u64().unwrap())
            .sum();
        assert_eq!(all, 55);
        assert_eq!(v["changed"]["repositories_deleted"], 1);
        let created = v["changed"]["pull_requests_created"].as_u64().unwrap();
        assert!(created > 0);
        // Creation order and index invariants still hold.
        for w in o.prs.windows(2) {
            assert!(w[0].creation < w[1].creation);
        }
        assert!(before_active > 0);
        for id in o.global.ids(Some(PrStatus::Active)) {
            let pr = &o.prs[*id as usize - 1];
            assert_eq!(pr.status, PrStatus::Active);
            assert!(pr.closed.is_none());
        }
        for pr in &o.prs {
            if let Some(c) = pr.closed {
                assert!(c > pr.creation);
            }
        }
    }

    #[test]
    fn same_seed_same_changes() {
        let (mut a, mut b) = (org(), org());
        assert_eq!(mutate(&mut a, 3, 25, 25), mutate(&mut b, 3, 25, 25));
        let ta: Vec<_> = a
            .prs
            .iter()
            .map(|p| (p.status, p.title.clone(), p.source_commit.clone()))
            .collect();
        let tb: Vec<_> = b
            .prs
            .iter()
            .map(|p| (p.status, p.title.clone(), p.source_commit.clone()))
            .collect();
        assert_eq!(ta, tb);
    }

    #[test]
    fn work_item_changes_leave_pr_changes_alone() {
        let (mut a, mut b) = (org(), org());
        let va = mutate(&mut a, 8, 30, 0);
        let vb = mutate(&mut b, 8, 30, 40);
        for k in PR_KEYS {
            assert_eq!(va["changed"][k], vb["changed"][k], "{k}");
        }
        let titles = |o: &Org| o.prs.iter().map(|p| p.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(&a), titles(&b));
    }

    #[test]
    fn never_deletes_the_last_repository() {
        let mut o = org();
        for s in 0..10 {
            mutate(&mut o, s, 20, 5);
        }
        for p in 0..o.projects.len() {
            assert!(o.live_repo_count(p) >= 1);
        }
    }
}
