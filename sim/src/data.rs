//! Generation of the organization from a seed and sizes.
//!
//! The data is shaped like the recorded responses in `ado-api/examples/` and skewed like a real
//! org: the first repository of each project (named after the project, as ADO names the default
//! repository) holds 40% of the project's PRs, recent PRs are more often still active, some
//! descriptions exceed the 400 characters that list endpoints truncate to (API_FACTS §1.2).
//! Every draw comes from one [`Rng`] stream in a fixed order, so the output depends only on
//! the seed, the sizes and the start time. Boards data (work items, teams, …) is generated
//! afterwards by `boards::generate` from a stream of its own.

use crate::model::{
    CompletionOptions, Identity, Org, PrStatus, Project, PullRequest, Repo, Reviewer,
};
use crate::rng::Rng;
use crate::time::{TICKS_PER_DAY, TICKS_PER_SEC};

/// How far back generated history reaches.
pub(crate) const HISTORY_TICKS: i64 = 730 * TICKS_PER_DAY;

pub(crate) struct Sizes {
    pub projects: usize,
    pub repos_per_project: usize,
    pub prs_per_repo: usize,
    pub work_items_per_project: usize,
}

const FIRST: [&str; 25] = [
    "Ava", "Noah", "Mia", "Liam", "Zoe", "Ethan", "Priya", "Mateo", "Chen", "Fatima", "Lukas",
    "Sofia", "Kwame", "Hana", "Diego", "Ingrid", "Omar", "Yuki", "Elena", "Arjun", "Nadia",
    "Tomas", "Grace", "Ravi", "Leila",
];
const LAST: [&str; 25] = [
    "Okafor",
    "Lindqvist",
    "Nakamura",
    "Rossi",
    "Haddad",
    "Kowalski",
    "Fernandes",
    "Novak",
    "Park",
    "Moreau",
    "Schmidt",
    "Patel",
    "Oduya",
    "Jensen",
    "Garcia",
    "Ivanova",
    "Brennan",
    "Tanaka",
    "Müller",
    "Silva",
    "Dubois",
    "Kaur",
    "Andersen",
    "Hughes",
    "Castillo",
];
const GROUPS: [&str; 2] = ["Code Reviewers", "Release Approvers"];
const REPO_WORDS: [&str; 12] = [
    "api",
    "web",
    "mobile",
    "infra",
    "data-platform",
    "docs",
    "tools",
    "billing",
    "identity",
    "search",
    "payments",
    "notifications",
];
const PROJECT_BLURBS: [&str; 6] = [
    "Customer-facing services and their infrastructure.",
    "Internal tooling and developer productivity.",
    "Data pipelines, analytics and reporting.",
    "Mobile apps and the backends that serve them.",
    "Platform team: shared libraries, CI templates, runtime.",
    "Payments, billing and invoicing.",
];
const VERBS: [&str; 12] = [
    "Fix",
    "Add",
    "Refactor",
    "Update",
    "Remove",
    "Improve",
    "Implement",
    "Bump",
    "Document",
    "Optimize",
    "Harden",
    "Simplify",
];
const SUBJECTS: [&str; 20] = [
    "login flow",
    "billing service",
    "retry logic",
    "search index",
    "CI pipeline",
    "API client",
    "cache layer",
    "user settings page",
    "telemetry",
    "database migrations",
    "feature flags",
    "export job",
    "rate limiter",
    "notification fan-out",
    "session handling",
    "error pages",
    "dependency versions",
    "health checks",
    "audit log",
    "config loader",
];
const QUALIFIERS: [&str; 8] = [
    "",
    " for large tenants",
    " behind a flag",
    " (follow-up)",
    " on Windows agents",
    " after the outage",
    " for the EU region",
    " in the nightly build",
];
const SENTENCES: [&str; 16] = [
    "This change moves the logic into a dedicated module so it can be tested in isolation.",
    "Existing callers keep working; the old entry point now forwards to the new one.",
    "Adds unit tests for the empty, single and many-item cases.",
    "The previous implementation retried forever when the upstream returned 503.",
    "Metrics are emitted per tenant so the dashboard can break latency down.",
    "No schema change is needed; the new column is computed on read.",
    "Reviewed the hot path with a profiler: allocations dropped by about a third.",
    "Rolled out to the canary ring first; no regressions were observed over 48 hours.",
    "The configuration key is documented in the README and has a safe default.",
    "Removes the dead code path that was kept for the 2019 migration.",
    "Error messages now name the resource and the operation that failed.",
    "Follows the team's guideline on structured logging and avoids logging secrets.",
    "See the linked work item for the customer report and reproduction steps.",
    "The integration test suite was extended to cover the regression.",
    "Backwards compatible: clients on the previous API version see no difference.",
    "Timeouts are now configurable and default to the values used in production.",
];
const BRANCH_WORDS: [&str; 10] = [
    "fix", "perf", "cleanup", "retry", "cache", "auth", "export", "flags", "deps", "logging",
];
const MERGE_STATUS_ACTIVE: [(&str, u32); 5] = [
    ("succeeded", 70),
    ("conflicts", 10),
    ("queued", 10),
    ("rejectedByPolicy", 5),
    ("failure", 5),
];

/// Builds the whole org. `start` is the end of the generated history (ticks).
pub(crate) fn generate(org_name: &str, seed: u64, sizes: &Sizes, start: i64) -> Org {
    let mut rng = Rng::derive(seed, 0x0D47A);
    let instance_id = rng.guid();
    let deployment_id = rng.guid();
    let mut org = Org::new(org_name.to_string(), instance_id, deployment_id);
    let domain = format!("{}.com", org_name.to_lowercase());

    // Users: distinct first/last combinations, then the groups.
    let mut combos: Vec<(usize, usize)> = (0..FIRST.len())
        .flat_map(|f| (0..LAST.len()).map(move |l| (f, l)))
        .collect();
    rng.shuffle(&mut combos);
    for &(f, l) in combos.iter().take(50) {
        let (first, last) = (FIRST[f], LAST[l]);
        org.identities.push(Identity {
            id: rng.guid(),
            display_name: format!("{first} {last}"),
            unique_name: format!("{}.{}@{domain}", ascii_lower(first), ascii_lower(last)),
            is_container: false,
        });
    }
    org.user_count = org.identities.len();
    let domain_id = rng.guid();
    for g in GROUPS {
        org.identities.push(Identity {
            id: rng.guid(),
            display_name: format!("[{org_name}]\\{g}"),
            unique_name: format!("vstfs:///Framework/IdentityDomain/{domain_id}\\{g}"),
            is_container: true,
        });
    }

    let width = sizes.projects.to_string().len().max(2);
    for p in 0..sizes.projects {
        let name = format!("Fabrikam-{:0width$}", p + 1);
        let project = Project {
            id: rng.guid(),
            description: format!("{name}: {}", rng.pick(&PROJECT_BLURBS)),
            name,
            revision: rng.range(100, 500_000) as u64,
            last_update: start - rng.range(TICKS_PER_DAY, HISTORY_TICKS),
        };
        let pi = org.add_project(project);
        for r in 0..sizes.repos_per_project {
            let name = repo_name(&org.projects[pi].name, r);
            let id = rng.guid();
            let repo = Repo::new(id, name, pi, rng.range(20_000, 400_000_000) as u64);
            org.add_repo(repo);
        }
    }

    // Which repository each PR lands in, in creation order: exact per-repo counts, shuffled so
    // ids interleave across repositories and projects as in a real org.
    let mut slots: Vec<usize> = Vec::new();
    for p in 0..sizes.projects {
        let counts = split_counts(sizes.repos_per_project, sizes.prs_per_repo);
        for (r, n) in counts.into_iter().enumerate() {
            let repo = p * sizes.repos_per_project + r;
            slots.extend(std::iter::repeat_n(repo, n));
        }
    }
    rng.shuffle(&mut slots);

    let total = slots.len();
    let step = if total == 0 {
        0
    } else {
        HISTORY_TICKS / total as i64
    };
    let first_tick = start - HISTORY_TICKS;
    for (i, &repo) in slots.iter().enumerate() {
        let creation = first_tick + i as i64 * step + rng.range(0, (step - 1).max(0));
        let newness = i as f64 / total as f64;
        // ≈15% active overall, concentrated among the newest PRs; of the rest 70:15.
        let status = if rng.chance(0.05 + 0.30 * newness * newness) {
            PrStatus::Active
        } else if rng.chance(15.0 / 85.0) {
            PrStatus::Abandoned
        } else {
            PrStatus::Completed
        };
        let closed = match status {
            PrStatus::Active => None,
            _ => Some(closing_time(&mut rng, creation, start)),
        };
        let pr = new_pr(&mut rng, &org, i as u32 + 1, repo, creation, status, closed);
        org.add_pr(pr);
    }
    // Boards data comes last and from its own stream: PRs do not depend on it.
    org.boards = crate::boards::generate::generate(&org, seed, sizes.work_items_per_project, start);
    // PR children are generated lazily, from streams of their own (see `children`).
    org.child_settings = crate::children::generate::settings(&org, seed, start);
    org
}

/// PR counts per repository of one project: 40% in the first, the rest spread evenly.
fn split_counts(repos: usize, per_repo: usize) -> Vec<usize> {
    let total = repos * per_repo;
    if repos <= 1 {
        return vec![total; repos];
    }
    let first = total * 2 / 5;
    let rest = total - first;
    let (each, extra) = (rest / (repos - 1), rest % (repos - 1));
    std::iter::once(first)
        .chain((0..repos - 1).map(|i| each + usize::from(i < extra)))
        .collect()
}

fn repo_name(project: &str, r: usize) -> String {
    match r {
        0 => project.to_string(),
        _ if r <= REPO_WORDS.len() => REPO_WORDS[r - 1].to_string(),
        _ => format!("{}-{}", REPO_WORDS[(r - 1) % REPO_WORDS.len()], r),
    }
}

fn ascii_lower(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ü' => 'u',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A closedDate after `creation` (minutes to weeks later) and before `start`.
fn closing_time(rng: &mut Rng, creation: i64, start: i64) -> i64 {
    let hours = -(1.0 - rng.f64()).ln() * 36.0;
    let dur = ((hours * 3600.0) as i64).clamp(300, 30 * 86_400) * TICKS_PER_SEC
        + rng.range(0, TICKS_PER_SEC - 1);
    if creation + dur < start {
        creation + dur
    } else {
        creation + 1 + rng.range(0, (start - creation - 2).max(0))
    }
}

pub(crate) fn title(rng: &mut Rng) -> String {
    format!(
        "{} {}{}",
        rng.pick(&VERBS),
        rng.pick(&SUBJECTS),
        rng.pick(&QUALIFIERS)
    )
}

/// Mostly one to three sentences; a quarter are long enough (> 400 chars) to be truncated in
/// list results; a tenth have no description at all (ADO then omits the field).
fn description(rng: &mut Rng) -> String {
    let n = match rng.below(20) {
        0..=1 => 0,
        2..=6 => rng.range(6, 9) as usize,
        _ => rng.range(1, 3) as usize,
    };
    let mut parts: Vec<&str> = Vec::with_capacity(n);
    for _ in 0..n {
        parts.push(*rng.pick(&SENTENCES));
    }
    parts.join(" ")
}

/// Picks reviewers for a PR: distinct users other than the author, sometimes a group.
pub(crate) fn pick_reviewers(
    rng: &mut Rng,
    org: &Org,
    author: usize,
    status: PrStatus,
) -> Vec<Reviewer> {
    let n = rng.weighted(&[10, 30, 30, 20, 10]);
    let mut out: Vec<Reviewer> = Vec::with_capacity(n);
    if n > 0 && rng.chance(0.25) {
        let g = org.user_count + rng.index(org.identities.len() - org.user_count);
        out.push(Reviewer {
            identity: g,
            vote: if status == PrStatus::Completed { 10 } else { 0 },
            has_declined: false,
            is_required: true,
            is_flagged: false,
        });
    }
    while out.len() < n {
        let u = rng.index(org.user_count);
        if u == author || out.iter().any(|r| r.identity == u) {
            continue;
        }
        out.push(user_reviewer(rng, u, status));
    }
    out
}

pub(crate) fn user_reviewer(rng: &mut Rng, identity: usize, status: PrStatus) -> Reviewer {
    let vote = vote_for(rng, status);
    Reviewer {
        identity,
        vote,
        has_declined: vote == 0 && rng.chance(0.05),
        is_required: rng.chance(0.2),
        is_flagged: rng.chance(0.03),
    }
}

pub(crate) fn vote_for(rng: &mut Rng, status: PrStatus) -> i8 {
    const VOTES: [i8; 5] = [10, 5, 0, -5, -10];
    let weights: [u32; 5] = match status {
        PrStatus::Completed => [60, 20, 20, 0, 0],
        PrStatus::Abandoned => [10, 10, 40, 15, 25],
        PrStatus::Active => [20, 10, 50, 10, 10],
    };
    VOTES[rng.weighted(&weights)]
}

pub(crate) fn completion_options(rng: &mut Rng, id: u32, title: &str) -> CompletionOptions {
    let strategy = *rng.pick(&["squash", "noFastForward", "rebase"]);
    CompletionOptions {
        merge_commit_message: format!("Merged PR {id}: {title}"),
        delete_source_branch: rng.chance(0.7),
        squash_merge: strategy == "squash",
        merge_strategy: strategy,
        transition_work_items: rng.chance(0.8),
    }
}

/// One generated PR. Mutations reuse the pieces above for PRs created later.
pub(crate) fn new_pr(
    rng: &mut Rng,
    org: &Org,
    id: u32,
    repo: usize,
    creation: i64,
    status: PrStatus,
    closed: Option<i64>,
) -> PullRequest {
    let created_by = rng.index(org.user_count);
    let title = title(rng);
    let description = description(rng);
    let source_ref = format!("refs/heads/feature/{}-{id}", rng.pick(&BRANCH_WORDS));
    let target_ref = if rng.chance(0.9) {
        "refs/heads/main".to_string()
    } else {
        format!(
            "refs/heads/release/20{}.{}",
            rng.range(24, 26),
            rng.range(1, 12)
        )
    };
    let merge_status = match status {
        PrStatus::Completed => "succeeded",
        PrStatus::Abandoned => *rng.pick(&["notSet", "succeeded", "conflicts"]),
        PrStatus::Active => {
            let w: Vec<u32> = MERGE_STATUS_ACTIVE.iter().map(|(_, w)| *w).collect();
            MERGE_STATUS_ACTIVE[rng.weighted(&w)].0
        }
    };
    let reviewers = pick_reviewers(rng, org, created_by, status);
    let completion_options = match status {
        PrStatus::Completed if rng.chance(0.6) => Some(completion_options(rng, id, &title)),
        PrStatus::Active if rng.chance(0.1) => Some(completion_options(rng, id, &title)),
        _ => None,
    };
    let closed_by = match status {
        PrStatus::Active => None,
        PrStatus::Completed if rng.chance(0.7) => Some(created_by),
        _ => Some(rng.index(org.user_count)),
    };
    PullRequest {
        id,
        repo,
        status,
        is_draft: status == PrStatus::Active && rng.chance(0.2),
        created_by,
        closed_by,
        creation,
        closed,
        title,
        description,
        source_ref,
        target_ref,
        merge_status,
        merge_id: rng.guid(),
        source_commit: rng.sha(),
        target_commit: rng.sha(),
        merge_commit: (status == PrStatus::Completed).then(|| rng.sha()),
        reviewers,
        completion_options,
        children: std::sync::OnceLock::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(p: usize, r: usize, n: usize) -> Sizes {
        Sizes {
            projects: p,
            repos_per_project: r,
            prs_per_repo: n,
            work_items_per_project: 0,
        }
    }

    #[test]
    fn split_is_uneven_and_exact() {
        assert_eq!(split_counts(4, 100), vec![160, 80, 80, 80]);
        assert_eq!(split_counts(1, 10), vec![10]);
        assert_eq!(split_counts(3, 7).iter().sum::<usize>(), 21);
        assert!(split_counts(4, 700)[0] > 1000);
    }

    #[test]
    fn mix_and_ordering() {
        let start = 1_700_000_000 * TICKS_PER_SEC;
        let org = generate("contoso", 9, &sizes(3, 4, 200), start);
        assert_eq!(org.prs.len(), 2400);
        let count = |s| org.prs.iter().filter(|p| p.status == s).count() as f64 / 2400.0;
        assert!((0.10..0.20).contains(&count(PrStatus::Active)));
        assert!((0.10..0.20).contains(&count(PrStatus::Abandoned)));
        assert!((0.62..0.78).contains(&count(PrStatus::Completed)));
        for w in org.prs.windows(2) {
            assert!(w[0].creation < w[1].creation);
        }
        for pr in &org.prs {
            assert!(pr.creation >= start - HISTORY_TICKS && pr.creation < start);
            if let Some(c) = pr.closed {
                assert!(c > pr.creation && c < start);
            }
            assert_eq!(pr.closed.is_some(), pr.status != PrStatus::Active);
            assert!(!pr.reviewers.iter().any(|r| r.identity == pr.created_by));
        }
        assert!(org.prs.iter().any(|p| p.description.len() > 400));
        assert!(org.prs.iter().any(|p| p.is_draft));
    }
}
