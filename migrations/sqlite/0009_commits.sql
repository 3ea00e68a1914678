-- Default-branch history (the Commits connector, issue 11): every commit reachable from a
-- repository's default branch. A commit a force-push took off the branch keeps its row and
-- gets deleted_at; it loses the mark if it is listed again.
CREATE TABLE commits (
    org              TEXT NOT NULL,
    repository_id    TEXT NOT NULL,
    commit_id        TEXT NOT NULL,
    project_id       TEXT NOT NULL,
    branch           TEXT NOT NULL,
    author_name      TEXT,
    author_email     TEXT,
    author_date      TEXT,
    committer_name   TEXT,
    committer_email  TEXT,
    committer_date   TEXT,
    title            TEXT,
    comment          TEXT,
    comment_truncated BOOLEAN NOT NULL,
    adds             INTEGER,
    edits            INTEGER,
    deletes          INTEGER,
    parents          TEXT CHECK (parents IS NULL OR json_valid(parents)),
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    synced_at        TEXT NOT NULL,
    deleted_at       TEXT,
    PRIMARY KEY (org, repository_id, commit_id)
) WITHOUT ROWID;

-- Lead time and "commits per day" read a repository's history by date.
CREATE INDEX commits_by_committer_date ON commits (org, repository_id, committer_date);
