//! What a change to a PR does to its children, as in ADO: a push adds an iteration, its
//! commits and a RefUpdate system thread; a vote or a new reviewer adds a system thread;
//! completion and abandonment make the policy evaluations final; comments and statuses are
//! added, edited and deleted without changing anything the PR list shows.
//!
//! Each function draws from the PR's own change stream ([`super::change_rng`]), never from the
//! caller's, so the PR-level outcome of a `mutate` seed is what it was before children existed.
//! Times are the org's "now", kept after the PR's latest child so orderings hold.

use serde_json::{Value, json};

use super::generate::{self, other_user};
use super::{
    Comment, Commit, Iteration, MAX_THREADS, Push, Reason, SystemEvent, Thread, ThreadKind,
    change_rng, is_final, of_mut, thread_id,
};
use crate::model::Org;

/// Now by the org's clock, but strictly after `after`.
fn later(org: &Org, after: i64) -> i64 {
    org.now().max(after + 1)
}

fn latest(c: &super::Children) -> i64 {
    let it = c.iterations.last().map_or(i64::MIN, |i| i.updated);
    let th = c
        .threads
        .iter()
        .map(|t| t.updated)
        .max()
        .unwrap_or(i64::MIN);
    it.max(th)
}

fn add_system_thread(org: &mut Org, id: u32, event: SystemEvent) {
    let now_base = org.now();
    let c = of_mut(org, id);
    if c.threads.len() >= MAX_THREADS {
        return;
    }
    let at = now_base.max(latest(c) + 1);
    let n = c.threads.len() + 1;
    c.threads.push(Thread {
        id: thread_id(id, n),
        published: at,
        updated: at,
        kind: ThreadKind::System(event),
        anchor: None,
        comments: Vec::new(),
    });
}

/// PR `id`'s source branch moved to `head`: a new iteration with 1–10 new commits (the newest
/// `head`), some files edited or added, a RefUpdate thread, sometimes a pending status, and a
/// build policy evaluation queued again.
pub(crate) fn push(org: &mut Org, id: u32, head: String) {
    let mut rng = change_rng(org, id);
    let users = org.user_count.max(1);
    let pr = &org.prs[id as usize - 1];
    let (author, target) = (pr.created_by, pr.target_commit.clone());
    let c = of_mut(org, id);
    let after = latest(c).max(c.commits.last().map_or(i64::MIN, |x| x.date));
    let now = later(org, after);
    let c = of_mut(org, id);
    let prev = c.iterations.last().expect("iteration 1 always exists");
    let reason = match rng.weighted(&[80, 12, 8]) {
        0 => Reason::Push,
        1 => Reason::Rebase,
        _ => Reason::ForcePush,
    };
    let common = if reason == Reason::Rebase {
        rng.sha()
    } else {
        prev.common.clone()
    };
    let n = prev.id + 1;
    let n_commits = 1 + rng.index(10);
    for j in 0..n_commits {
        let sha = if j + 1 == n_commits {
            head.clone()
        } else {
            rng.sha()
        };
        c.commits.push(Commit {
            sha,
            author,
            date: now + j as i64,
            comment: crate::data::title(&mut rng),
        });
    }
    let description = c
        .commits
        .last()
        .map(|x| x.comment.clone())
        .unwrap_or_default();
    let now = now + n_commits as i64;
    c.iterations.push(Iteration {
        id: n,
        reason,
        author,
        created: now,
        updated: now + 1,
        description,
        source: head.clone(),
        target,
        common,
        push: Some(Push {
            id: id * 1000 + n,
            date: now,
            by: author,
        }),
    });
    let mut seen = generate::paths(c);
    generate::touch_and_add(c, &mut rng, &mut seen, n);
    if rng.chance(0.5) {
        let ctx = rng.index(generate::STATUS_CONTEXTS.len());
        let sid = c.statuses.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        let by = rng.index(users);
        c.statuses
            .push(generate::status(sid, n, "pending", ctx, now, now, by, id));
    }
    for e in &mut c.evaluations {
        if e.build_id.is_some() {
            e.status = "queued";
            e.started = now;
            e.completed = None;
            e.build_id = Some(rng.range(1, 90_000) as u32);
        }
    }
    add_system_thread(
        org,
        id,
        SystemEvent::RefUpdate {
            by: author,
            head,
            count: n_commits as u32,
        },
    );
}

/// Reviewer `voter` voted `vote` on PR `id`.
pub(crate) fn vote(org: &mut Org, id: u32, voter: usize, vote: i8) {
    add_system_thread(org, id, SystemEvent::VoteUpdate { voter, vote });
}

/// `by` added `added` as a reviewer of PR `id`.
pub(crate) fn reviewer_added(org: &mut Org, id: u32, by: usize, added: usize) {
    add_system_thread(org, id, SystemEvent::ReviewersUpdate { by, added });
}

/// PR `id` was completed or abandoned at `closed`: every policy evaluation still queued or
/// running becomes final (approved on completion, rejected on abandonment).
pub(crate) fn close(org: &mut Org, id: u32, completed: bool, closed: i64) {
    let c = of_mut(org, id);
    for e in &mut c.evaluations {
        if !is_final(e.status) {
            e.status = if completed { "approved" } else { "rejected" };
            e.completed = Some(closed.max(e.started));
        }
    }
}

/// One comment change on PR `id`: a new discussion, a reply, an edit or a deletion (whatever
/// is possible; a new discussion always is). Answers what it did.
pub(crate) fn comment(org: &mut Org, id: u32) -> Value {
    let mut rng = change_rng(org, id);
    let users = org.user_count.max(1);
    let pr_author = org.prs[id as usize - 1].created_by;
    let c = of_mut(org, id);
    let now_after = latest(c);
    let now = later(org, now_after);
    let c = of_mut(org, id);
    let text: Vec<usize> = (0..c.threads.len())
        .filter(|&i| matches!(c.threads[i].kind, ThreadKind::Text { .. }))
        .collect();
    let mut action = rng.weighted(&[30, 30, 20, 20]);
    if text.is_empty() && c.threads.len() < MAX_THREADS {
        action = 0;
    }
    if action == 0 && c.threads.len() >= MAX_THREADS {
        action = 1;
    }
    if action == 0 {
        let n = c.threads.len() + 1;
        let participants = [pr_author];
        let pr = &org.prs[id as usize - 1];
        let c = pr.children.get().expect("materialized");
        let (_, kind, anchor, mut comments) =
            generate::discussion(&mut rng, c, pr, &participants, users, now, now, 1);
        for x in &mut comments {
            x.deleted = false;
            x.published = now;
            x.updated = now;
            x.content_updated = now;
        }
        let c = of_mut(org, id);
        c.threads.push(Thread {
            id: thread_id(id, n),
            published: now,
            updated: now,
            kind,
            anchor,
            comments,
        });
        return json!({"pull_request": id, "comment": "thread_created", "thread": thread_id(id, n), "comment_id": 1});
    }
    let t = &mut c.threads[*rng.pick(&text)];
    let live: Vec<usize> = (0..t.comments.len())
        .filter(|&i| !t.comments[i].deleted)
        .collect();
    let (what, comment_id) = match (action, live.is_empty()) {
        (2, false) => {
            let x = &mut t.comments[*rng.pick(&live)];
            x.content = format!("{} (edited)", rng.pick(&generate::REMARKS));
            x.updated = now;
            x.content_updated = now;
            ("edited", x.id)
        }
        (3, false) => {
            let x = &mut t.comments[*rng.pick(&live)];
            x.deleted = true;
            x.updated = now;
            ("deleted", x.id)
        }
        _ => {
            let cid = t.comments.len() as u32 + 1;
            let parent = t.comments.first().map_or(0, |x| x.id);
            let author = other_user(&mut rng, users, pr_author);
            let mut x: Comment = generate::comment(&mut rng, cid, parent, author, now, now, users);
            x.deleted = false;
            t.comments.push(x);
            ("replied", cid)
        }
    };
    t.updated = now;
    json!({"pull_request": id, "comment": what, "thread": t.id, "comment_id": comment_id})
}

/// A status posted on PR `id`'s last iteration; answers its id.
pub(crate) fn post_status(org: &mut Org, id: u32) -> u32 {
    let mut rng = change_rng(org, id);
    let users = org.user_count.max(1);
    let c = of_mut(org, id);
    let after = latest(c).max(
        c.statuses
            .iter()
            .map(|s| s.updated)
            .max()
            .unwrap_or(i64::MIN),
    );
    let now = later(org, after);
    let c = of_mut(org, id);
    let sid = c.statuses.iter().map(|s| s.id).max().unwrap_or(0) + 1;
    let state = *rng.pick(&["pending", "succeeded", "failed", "error"]);
    let ctx = rng.index(generate::STATUS_CONTEXTS.len());
    let n = c.last_iteration();
    let by = rng.index(users);
    c.statuses
        .push(generate::status(sid, n, state, ctx, now, now, by, id));
    sid
}
