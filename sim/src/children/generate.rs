//! Generation of one PR's children from its own RNG stream.
//!
//! Everything happens between the PR's creation and its end — its closedDate, or for an open
//! PR the end of the generated history (a PR created later by a mutation gets a single
//! iteration at its creation). Shapes and mixes:
//! - 1–5 iterations (1 when the PR has no time span): iteration 1 `create`, later ones `push`,
//!   sometimes `rebase` (a new common commit) or `forcePush`; 1–10 commits each, the newest
//!   of the last iteration being the PR's `lastMergeSourceCommit`.
//! - files: 1–30 at iteration 1 (adds, edits, a few deletes and renames), later iterations
//!   edit some again and add a few; the chosen big PR fills its last iteration up to
//!   `big_pr_files`.
//! - threads: a VoteUpdate per user reviewer who voted, a RefUpdate per push, sometimes a
//!   ReviewersUpdate, a MergeAttempt for completed PRs, and 0–5 discussions (PR-level or on a
//!   file line) of 1–5 comments with replies, edits, likes and the odd deleted reply; the big
//!   PR gets one more discussion of `big_thread_comments` comments.
//! - 0–3 linked work items of the PR's project, 0–3 statuses on iterations, 0–3 policy
//!   evaluations.

use std::collections::HashSet;

use super::{
    Anchor, ChildSettings, Children, Comment, CommentKind, Commit, Evaluation, FileKind, Iteration,
    POLICIES, PrFile, Push, Reason, Status, SystemEvent, THREAD_STATUSES, Thread, ThreadKind,
    is_final, pr_key, thread_id,
};
use crate::model::{Identity, Org, PrStatus, PullRequest};
use crate::rng::Rng;
use crate::time::{TICKS_PER_DAY, TICKS_PER_SEC};

/// The settings of a freshly generated org (no big PR until the config asks for one).
pub(crate) fn settings(org: &Org, seed: u64, start: i64) -> ChildSettings {
    let mut rng = Rng::derive(seed, 0xC41D);
    let service = Identity {
        id: rng.guid(),
        display_name: format!("[{}]\\Project Collection Service Accounts", org.name),
        unique_name: format!(
            "vstfs:///Framework/IdentityDomain/{}\\Project Collection Service Accounts",
            org.instance_id
        ),
        is_container: true,
    };
    let mut work_items = vec![Vec::new(); org.projects.len()];
    for it in &org.boards.items {
        if let Some(v) = work_items.get_mut(it.project) {
            v.push(it.id);
        }
    }
    ChildSettings {
        seed,
        history_end: start,
        service,
        work_items,
        big_pr: org
            .by_repo
            .first()
            .and_then(|i| i.ids(None).last().copied()),
        big_pr_files: 0,
        big_thread_comments: 0,
    }
}

const DIRS: [&str; 10] = [
    "src",
    "src/api",
    "src/core",
    "src/storage",
    "tests",
    "docs",
    "web/components",
    "infra",
    "scripts",
    "config",
];
const STEMS: [&str; 16] = [
    "client", "retry", "cache", "session", "billing", "search", "export", "flags", "health",
    "audit", "loader", "limiter", "metrics", "schema", "handler", "router",
];
const EXTS: [&str; 7] = [".rs", ".ts", ".cs", ".md", ".yml", ".json", ".py"];
pub(crate) const REMARKS: [&str; 14] = [
    "Looks good to me.",
    "Should we add a comment about what this value means?",
    "Can this be a constant?",
    "Nit: the name could be clearer.",
    "Is there a test for the empty case?",
    "This allocates on every call; could we reuse the buffer?",
    "Good catch, thanks!",
    "I think this needs a null check.",
    "Done.",
    "Fixed in the latest push.",
    "Why not use the existing helper here?",
    "Please document the default.",
    "Agreed, let's do it in a follow-up.",
    "This breaks the old API version, doesn't it?",
];
pub(crate) const STATUS_CONTEXTS: [(&str, &str); 5] = [
    ("build", "continuous-integration"),
    ("coverage", "codecov"),
    ("security-scan", "sonar"),
    ("deploy-preview", "preview-env"),
    ("license-check", ""),
];

/// `[a, b]` with at least one tick, so ordered draws stay strictly increasing.
fn span(pr: &PullRequest, s: &ChildSettings) -> (i64, i64) {
    let end = pr.closed.unwrap_or(s.history_end).max(pr.creation);
    (pr.creation, end)
}

fn within(rng: &mut Rng, a: i64, b: i64) -> i64 {
    a + rng.range(0, (b - a).max(0))
}

/// A user other than `not` (any user when there is only one).
pub(crate) fn other_user(rng: &mut Rng, users: usize, not: usize) -> usize {
    if users <= 1 {
        return 0;
    }
    let u = rng.index(users - 1);
    if u >= not { u + 1 } else { u }
}

pub(crate) fn generate(org: &Org, pr: &PullRequest) -> Children {
    let s = &org.child_settings;
    let key = pr_key(s.seed, pr.id);
    let mut rng = Rng::derive(key, 0xC41D_0001);
    let (t0, t1) = span(pr, s);
    let users = org.user_count.max(1);
    let mut c = Children::default();

    // Iterations and their commits.
    let n_iter = if t1 - t0 < 3600 * TICKS_PER_SEC {
        1
    } else {
        1 + rng.weighted(&[35, 30, 20, 10, 5])
    };
    let mut times: Vec<i64> = (1..n_iter).map(|_| within(&mut rng, t0 + 1, t1)).collect();
    times.sort_unstable();
    times.insert(0, t0);
    let mut common = pr.target_commit.clone();
    let mut prev = t0 - rng.range(TICKS_PER_SEC * 60, 3 * TICKS_PER_DAY);
    let mut pushed: Vec<u32> = Vec::with_capacity(n_iter);
    for (k, &at) in times.iter().enumerate() {
        let id = k as u32 + 1;
        let reason = if k == 0 {
            Reason::Create
        } else {
            match rng.weighted(&[80, 12, 8]) {
                0 => Reason::Push,
                1 => Reason::Rebase,
                _ => Reason::ForcePush,
            }
        };
        if reason == Reason::Rebase {
            common = rng.sha();
        }
        let n_commits = 1 + rng.index(10);
        let last = k + 1 == times.len();
        let author = if rng.chance(0.85) {
            pr.created_by
        } else {
            other_user(&mut rng, users, pr.created_by)
        };
        // Commit dates ascend within the PR; the newest of the last iteration is the PR's
        // source commit.
        let mut dates: Vec<i64> = (0..n_commits)
            .map(|_| within(&mut rng, prev.min(at), at))
            .collect();
        dates.sort_unstable();
        for (j, date) in dates.into_iter().enumerate() {
            let sha = if last && j + 1 == n_commits {
                pr.source_commit.clone()
            } else {
                rng.sha()
            };
            c.commits.push(Commit {
                sha,
                author,
                date,
                comment: crate::data::title(&mut rng),
            });
        }
        pushed.push(n_commits as u32);
        let newest = c.commits.last().expect("at least one commit");
        let push = (k > 0).then(|| Push {
            id: pr.id * 1000 + id,
            date: at,
            by: author,
        });
        c.iterations.push(Iteration {
            id,
            reason,
            author,
            created: at,
            updated: at + rng.range(1_000, 30_000),
            description: newest.comment.clone(),
            source: newest.sha.clone(),
            target: if last {
                pr.target_commit.clone()
            } else {
                common.clone()
            },
            common: common.clone(),
            push,
        });
        prev = at;
    }

    // Files.
    let mut seen: HashSet<String> = HashSet::new();
    let n_files = match rng.weighted(&[40, 40, 20]) {
        0 => rng.range(1, 3),
        1 => rng.range(4, 10),
        _ => rng.range(11, 30),
    } as usize;
    for _ in 0..n_files {
        let kind = match rng.weighted(&[35, 45, 8, 7, 5]) {
            0 => FileKind::Add,
            1 => FileKind::Edit,
            2 => FileKind::Delete,
            3 => FileKind::Rename,
            _ => FileKind::EditRename,
        };
        add_file(&mut c, &mut rng, &mut seen, kind, 1);
    }
    for it in 2..=n_iter as u32 {
        touch_and_add(&mut c, &mut rng, &mut seen, it);
    }
    if s.big_pr == Some(pr.id) && s.big_pr_files > c.files.len() {
        let last = n_iter as u32;
        for i in c.files.len()..s.big_pr_files {
            c.files.push(PrFile {
                path: format!("/generated/big/file-{i:05}.json"),
                original_path: None,
                kind: FileKind::Add,
                first: last,
                touches: Vec::new(),
            });
        }
    }

    // Threads, in time order.
    let mut threads: Vec<(i64, ThreadKind, Option<Anchor>, Vec<Comment>)> = Vec::new();
    for r in &pr.reviewers {
        if r.vote != 0 && r.identity < org.user_count {
            let at = within(&mut rng, t0, t1);
            threads.push(system(
                at,
                SystemEvent::VoteUpdate {
                    voter: r.identity,
                    vote: r.vote,
                },
            ));
        }
    }
    for (it, &count) in c.iterations.iter().zip(&pushed).skip(1) {
        threads.push(system(
            it.created + TICKS_PER_SEC,
            SystemEvent::RefUpdate {
                by: it.author,
                head: it.source.clone(),
                count,
            },
        ));
    }
    if rng.chance(0.3)
        && let Some(r) = pr.reviewers.iter().find(|r| r.identity < org.user_count)
    {
        let at = within(&mut rng, t0, t1);
        threads.push(system(
            at,
            SystemEvent::ReviewersUpdate {
                by: pr.created_by,
                added: r.identity,
            },
        ));
    }
    if let (PrStatus::Completed, Some(merge)) = (pr.status, &pr.merge_commit) {
        let at = pr.closed.unwrap_or(t1);
        threads.push(system(
            at,
            SystemEvent::MergeAttempt {
                source: pr.source_commit.clone(),
                target: pr.target_commit.clone(),
                merge: merge.clone(),
            },
        ));
    }
    let participants: Vec<usize> = std::iter::once(pr.created_by)
        .chain(
            pr.reviewers
                .iter()
                .map(|r| r.identity)
                .filter(|i| *i < org.user_count),
        )
        .collect();
    let n_text = rng.weighted(&[25, 25, 20, 15, 10, 5]);
    for _ in 0..n_text {
        let at = within(&mut rng, t0, t1);
        let n_comments = 1 + rng.weighted(&[40, 30, 15, 10, 5]);
        threads.push(discussion(
            &mut rng,
            &c,
            pr,
            &participants,
            users,
            at,
            t1,
            n_comments,
        ));
    }
    if s.big_pr == Some(pr.id) && s.big_thread_comments > 0 {
        let at = within(&mut rng, t0, t1);
        threads.push(discussion(
            &mut rng,
            &c,
            pr,
            &participants,
            users,
            at,
            t1,
            s.big_thread_comments,
        ));
    }
    threads.sort_by_key(|t| t.0);
    threads.truncate(super::MAX_THREADS);
    for (n, (at, kind, anchor, comments)) in threads.into_iter().enumerate() {
        let updated = comments.iter().map(|c| c.updated).max().unwrap_or(at);
        c.threads.push(Thread {
            id: thread_id(pr.id, n + 1),
            published: at,
            updated,
            kind,
            anchor,
            comments,
        });
    }

    // Linked work items.
    let project = org.pr_project(pr);
    if let Some(pool) = s.work_items.get(project).filter(|p| !p.is_empty()) {
        let n = rng.weighted(&[30, 35, 25, 10]).min(pool.len());
        while c.work_items.len() < n {
            let id = *rng.pick(pool);
            if !c.work_items.contains(&id) {
                c.work_items.push(id);
            }
        }
        c.work_items.sort_unstable();
    }

    // Statuses.
    let n_status = rng.weighted(&[30, 35, 25, 10]);
    let mut contexts: Vec<usize> = (0..STATUS_CONTEXTS.len()).collect();
    rng.shuffle(&mut contexts);
    for (k, &ctx) in contexts.iter().take(n_status).enumerate() {
        let it = &c.iterations[rng.index(c.iterations.len())];
        let state = match pr.status {
            PrStatus::Completed => {
                *rng.pick(&["succeeded", "succeeded", "succeeded", "notApplicable"])
            }
            _ => *rng.pick(&["pending", "succeeded", "succeeded", "failed", "error"]),
        };
        let created = within(&mut rng, it.created, t1.max(it.created));
        let updated = within(&mut rng, created, t1.max(created));
        c.statuses.push(status(
            k as u32 + 1,
            it.id,
            state,
            ctx,
            created,
            updated,
            rng.index(users),
            pr.id,
        ));
    }

    // Policy evaluations.
    let n_eval = rng.weighted(&[20, 30, 30, 20]);
    let mut policies: Vec<usize> = (0..POLICIES.len()).collect();
    rng.shuffle(&mut policies);
    policies.truncate(n_eval);
    policies.sort_unstable();
    for policy in policies {
        let st = match pr.status {
            PrStatus::Completed => {
                *rng.pick(&["approved", "approved", "approved", "notApplicable"])
            }
            PrStatus::Abandoned => *rng.pick(&["approved", "rejected", "notApplicable", "broken"]),
            PrStatus::Active => *rng.pick(&[
                "queued",
                "running",
                "approved",
                "approved",
                "rejected",
                "notApplicable",
            ]),
        };
        let started = t0 + rng.range(TICKS_PER_SEC, 60 * TICKS_PER_SEC);
        let completed = is_final(st).then(|| within(&mut rng, started, t1.max(started)));
        c.evaluations.push(Evaluation {
            id: rng.guid(),
            policy,
            status: st,
            started,
            completed,
            build_id: (POLICIES[policy].name == "Build").then(|| rng.range(1, 90_000) as u32),
        });
    }
    c
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn status(
    id: u32,
    iteration: u32,
    state: &'static str,
    ctx: usize,
    created: i64,
    updated: i64,
    by: usize,
    pr: u32,
) -> Status {
    let (name, genre) = STATUS_CONTEXTS[ctx];
    Status {
        id,
        iteration,
        state,
        description: format!("{name} {state}"),
        context: (name, genre),
        target_url: format!("https://ci.example.com/{name}/pr-{pr}/{id}"),
        created,
        updated,
        by,
    }
}

fn add_file(
    c: &mut Children,
    rng: &mut Rng,
    seen: &mut HashSet<String>,
    kind: FileKind,
    first: u32,
) {
    let dir = rng.pick(&DIRS);
    let stem = rng.pick(&STEMS);
    let ext = rng.pick(&EXTS);
    let mut path = format!("/{dir}/{stem}{ext}");
    if !seen.insert(path.clone()) {
        path = format!("/{dir}/{stem}_{}{ext}", c.files.len() + 1);
        seen.insert(path.clone());
    }
    let original_path = matches!(kind, FileKind::Rename | FileKind::EditRename)
        .then(|| format!("/{dir}/old_{stem}_{}{ext}", c.files.len() + 1));
    c.files.push(PrFile {
        path,
        original_path,
        kind,
        first,
        touches: Vec::new(),
    });
}

/// A push's file changes: edits 1–4 editable files again and adds 0–2.
pub(crate) fn touch_and_add(c: &mut Children, rng: &mut Rng, seen: &mut HashSet<String>, it: u32) {
    let editable: Vec<usize> = (0..c.files.len())
        .filter(|&i| c.files[i].kind.editable() && c.files[i].first < it)
        .collect();
    if !editable.is_empty() {
        for _ in 0..1 + rng.index(4) {
            let f = &mut c.files[*rng.pick(&editable)];
            if f.touches.last() != Some(&it) {
                f.touches.push(it);
            }
        }
    }
    for _ in 0..rng.index(3) {
        let kind = if rng.chance(0.7) {
            FileKind::Add
        } else {
            FileKind::Edit
        };
        add_file(c, rng, seen, kind, it);
    }
}

/// The paths a PR's files already use (for a later push's new files).
pub(crate) fn paths(c: &Children) -> HashSet<String> {
    c.files.iter().map(|f| f.path.clone()).collect()
}

type Draft = (i64, ThreadKind, Option<Anchor>, Vec<Comment>);

fn system(at: i64, event: SystemEvent) -> Draft {
    (at, ThreadKind::System(event), None, Vec::new())
}

/// A discussion of `n` comments starting at `at`: PR-level or on a line of a file.
#[allow(clippy::too_many_arguments)]
pub(crate) fn discussion(
    rng: &mut Rng,
    c: &Children,
    pr: &PullRequest,
    participants: &[usize],
    users: usize,
    at: i64,
    end: i64,
    n: usize,
) -> Draft {
    let anchor = if !c.files.is_empty() && rng.chance(0.6) {
        let it = &c.iterations[rng.index(c.iterations.len())];
        let on: Vec<(u32, &PrFile)> = c
            .files_at(it.id)
            .filter(|(_, f)| f.kind != FileKind::Delete)
            .collect();
        (!on.is_empty()).then(|| {
            let (cti, _) = on[rng.index(on.len())];
            let start = 1 + rng.index(40) as u32;
            Anchor {
                change_tracking_id: cti,
                line: 1 + rng.index(300) as u32,
                start_offset: start,
                end_offset: start + rng.index(40) as u32,
                first_iteration: 1,
                second_iteration: it.id,
            }
        })
    } else {
        None
    };
    let status = match pr.status {
        PrStatus::Active => rng.weighted(&[50, 20, 5, 10, 5, 10]),
        _ => rng.weighted(&[10, 45, 10, 25, 10, 0]),
    };
    debug_assert!(status < THREAD_STATUSES.len());
    let mut comments = Vec::with_capacity(n);
    let mut t = at;
    let step = ((end - at) / (n as i64 + 1)).max(1);
    for k in 0..n {
        let id = k as u32 + 1;
        let author = if participants.is_empty() {
            rng.index(users)
        } else {
            *rng.pick(participants)
        };
        let parent = comments_parent(rng, id);
        comments.push(comment(rng, id, parent, author, t, end, users));
        t += 1 + rng.range(0, step);
    }
    (at, ThreadKind::Text { status }, anchor, comments)
}

fn comments_parent(rng: &mut Rng, id: u32) -> u32 {
    if id == 1 {
        0
    } else if rng.chance(0.8) {
        1
    } else {
        1 + rng.index(id as usize - 1) as u32
    }
}

/// One text comment published at `at`; sometimes edited, liked, or (replies only) deleted.
pub(crate) fn comment(
    rng: &mut Rng,
    id: u32,
    parent: u32,
    author: usize,
    at: i64,
    end: i64,
    users: usize,
) -> Comment {
    let kind = if parent != 0 && rng.chance(0.03) {
        CommentKind::CodeChange
    } else {
        CommentKind::Text
    };
    let edited = rng.chance(0.1);
    let deleted = parent != 0 && rng.chance(0.05);
    let content_updated = if edited {
        within(rng, at, end.max(at))
    } else {
        at
    };
    let updated = if deleted {
        within(rng, content_updated, end.max(content_updated))
    } else {
        content_updated
    };
    let mut liked = Vec::new();
    for _ in 0..rng.weighted(&[75, 18, 7]) {
        let u = rng.index(users);
        if u != author && !liked.contains(&u) {
            liked.push(u);
        }
    }
    let mut content = rng.pick(&REMARKS).to_string();
    if edited {
        content.push_str(" (edited)");
    }
    Comment {
        id,
        parent,
        author: Some(author),
        content,
        kind,
        published: at,
        updated,
        content_updated,
        deleted,
        liked,
    }
}

#[cfg(test)]
mod tests {
    use crate::data::{Sizes, generate};
    use crate::time::TICKS_PER_SEC;

    fn org() -> crate::model::Org {
        let sizes = Sizes {
            projects: 2,
            repos_per_project: 2,
            prs_per_repo: 40,
            work_items_per_project: 10,
        };
        generate("contoso", 3, &sizes, 1_700_000_000 * TICKS_PER_SEC)
    }

    #[test]
    fn children_follow_the_pull_request() {
        let o = org();
        for pr in &o.prs {
            let c = super::super::of(&o, pr);
            assert!((1..=5).contains(&c.iterations.len()));
            assert_eq!(c.iterations[0].reason.as_str(), "create");
            assert!(c.iterations[0].push.is_none());
            assert_eq!(c.iterations.last().unwrap().source, pr.source_commit);
            assert_eq!(c.commits.last().unwrap().sha, pr.source_commit);
            assert!(c.iterations.windows(2).all(|w| w[0].created < w[1].created));
            assert!(c.threads.windows(2).all(|w| w[0].id < w[1].id));
            assert!(c.work_items.len() <= 3 && c.statuses.len() <= 3);
            assert!(c.evaluations.len() <= 3);
            assert!(!c.files.is_empty());
        }
    }

    #[test]
    fn same_seed_same_children_in_any_order() {
        let (a, b) = (org(), org());
        for pr in b.prs.iter().rev() {
            super::super::of(&b, pr);
        }
        for (x, y) in a.prs.iter().zip(&b.prs) {
            let (cx, cy) = (super::super::of(&a, x), super::super::of(&b, y));
            assert_eq!(format!("{cx:?}"), format!("{cy:?}"));
        }
    }
}
