#!/usr/bin/env python3
"""Reference for the store-alone bench: Python's sqlite3 `executemany` upsert of PR rows.

The schema is ado-ingest's own (migrations/sqlite/0001_initial.sql, read from the repository),
the rows have the same shape and size as benches/support/store_alone.rs (~1.2 KB `raw`), one
prepared `INSERT ... ON CONFLICT DO UPDATE ... WHERE excluded.synced_at >= t.synced_at`, 1,000
rows per transaction, WAL with synchronous=NORMAL: the plain way to load SQLite from Python.
Only the pull_requests table (no reviewers, no users). Prints `insert N` and `update N` (rows/s)
and `insert_cpu_us N`, `update_cpu_us N` (this process's CPU per row, in microseconds); then the
same with a `bare_` prefix for the table without its secondary indexes (primary key only).
"""

import json
import os
import sqlite3
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES, PAGE = 50, 1000


def user(i):
    return "00000000-0000-4000-8000-%012x" % (i % 200)


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(ts))


def row(i, p, synced_at):
    repo = "10000000-0000-4000-8000-%012x" % (i % 200)
    project = "20000000-0000-4000-8000-%012x" % (i % 20)
    created = 1_700_000_000 + i * 60
    title = "Change %d: tidy the ingestion path (pass %d)" % (i, p)
    raw = json.dumps({
        "repository": {"id": repo, "name": "repo-%d" % (i % 200),
                       "url": "https://dev.azure.com/contoso/_apis/git/repositories/" + repo,
                       "project": {"id": project, "name": "Project-%d" % (i % 20), "state": "wellFormed"}},
        "pullRequestId": i, "codeReviewId": i, "status": "completed",
        "createdBy": {"id": user(i), "displayName": "Normal Paulk", "uniqueName": "fabrikamfiber16@hotmail.com"},
        "creationDate": iso(created), "closedDate": iso(created + 5 * 3600),
        "title": title, "description": "Tidies the ingestion path.",
        "sourceRefName": "refs/heads/feature/%d" % i, "targetRefName": "refs/heads/main",
        "mergeStatus": "succeeded", "mergeId": "f5fc8381-3fb2-49fe-8a0d-27dcc2d6ef82",
        "lastMergeSourceCommit": {"commitId": "%040x" % i},
        "lastMergeCommit": {"commitId": "%040x" % (i + 1)},
        "reviewers": [{"id": user(i + 1), "vote": 10}, {"id": user(i + 2), "vote": 5}],
        "url": "https://dev.azure.com/contoso/_apis/git/repositories/%s/pullRequests/%d" % (repo, i),
        "supportsIterations": True,
    }, separators=(",", ":"))
    return ("contoso", i, repo, project, title, "completed", 0, user(i), iso(created),
            iso(created + 5 * 3600), "refs/heads/feature/%d" % i, "refs/heads/main", "succeeded",
            "%040x" % i, "%040x" % (i + 1), raw, synced_at)


SQL = (
    "INSERT INTO pull_requests AS t (org, id, repository_id, project_id, title, status, is_draft, "
    "created_by_id, creation_date, closed_date, source_ref, target_ref, merge_status, "
    "last_merge_source_commit, last_merge_commit, raw, synced_at) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (org, id) DO UPDATE SET repository_id = excluded.repository_id, "
    "project_id = excluded.project_id, title = excluded.title, status = excluded.status, "
    "is_draft = excluded.is_draft, created_by_id = excluded.created_by_id, "
    "creation_date = excluded.creation_date, closed_date = excluded.closed_date, "
    "source_ref = excluded.source_ref, target_ref = excluded.target_ref, "
    "merge_status = excluded.merge_status, last_merge_source_commit = excluded.last_merge_source_commit, "
    "last_merge_commit = excluded.last_merge_commit, raw = excluded.raw, synced_at = excluded.synced_at "
    "WHERE excluded.synced_at >= t.synced_at"
)


def measure(c, prefix):
    for p, name in enumerate(("insert", "update")):
        synced_at = iso(time.time() + p)
        pages = [[row(i, p, synced_at) for i in range(pg * PAGE, (pg + 1) * PAGE)]
                 for pg in range(PAGES)]
        start, cpu = time.perf_counter(), time.process_time()
        for page in pages:
            c.execute("BEGIN IMMEDIATE")
            c.executemany(SQL, page)
            c.execute("COMMIT")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(prefix + name, round(PAGES * PAGE / wall))
        print(prefix + name + "_cpu_us", round(cpu * 1e6 / (PAGES * PAGE), 1))


def connect(path):
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    c.execute("PRAGMA cache_size=-65536")
    return c


def main():
    with open(os.path.join(ROOT, "migrations", "sqlite", "0001_initial.sql")) as f:
        schema = f.read()
    with tempfile.TemporaryDirectory() as d:
        # ado-ingest's schema: the primary key and the three secondary indexes of pull_requests.
        c = connect(os.path.join(d, "ref.db"))
        c.executescript(schema)
        measure(c, "")
        c.close()
        # The same table with its primary key only: what the secondary indexes cost.
        c = connect(os.path.join(d, "bare.db"))
        c.executescript(schema)
        for (name,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                 "AND tbl_name = 'pull_requests' AND sql IS NOT NULL").fetchall():
            c.execute("DROP INDEX " + name)
        measure(c, "bare_")
        c.close()


if __name__ == "__main__":
    main()
