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
    author_date      TIMESTAMPTZ,
    committer_name   TEXT,
    committer_email  TEXT,
    committer_date   TIMESTAMPTZ,
    title            TEXT,
    comment          TEXT,
    comment_truncated BOOLEAN NOT NULL,
    adds             BIGINT,
    edits            BIGINT,
    deletes          BIGINT,
    parents          JSONB,
    raw              JSONB NOT NULL,
    synced_at        TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    PRIMARY KEY (org, repository_id, commit_id)
);

-- Lead time and "commits per day" read a repository's history by date.
CREATE INDEX commits_by_committer_date ON commits (org, repository_id, committer_date);
