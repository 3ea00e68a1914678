-- Pull request depth (issue 11): the inside of a pull request, fetched only when the PR's
-- change marker (status, closed date, source commit, draft flag, reviewer votes) moved.
-- PR ids are unique in a collection, so every key starts with pull_request_id.

ALTER TABLE pull_requests ADD COLUMN change_marker TEXT;

-- When, and at which change marker of the PR, a PR's inside was last fetched: the parent row
-- of every child set below, written in the same transaction as they are.
CREATE TABLE pull_request_child_syncs (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    repository_id    TEXT NOT NULL,
    marker           TEXT NOT NULL,
    changes_through  INTEGER NOT NULL,
    synced_at        TEXT NOT NULL,
    PRIMARY KEY (org, pull_request_id)
) WITHOUT ROWID;

-- When, and at which source commit, the Pull Commits connector last fetched a PR's commits.
CREATE TABLE pull_request_commit_syncs (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    repository_id    TEXT NOT NULL,
    source_commit    TEXT NOT NULL,
    synced_at        TEXT NOT NULL,
    PRIMARY KEY (org, pull_request_id)
) WITHOUT ROWID;

CREATE TABLE pull_request_iterations (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    id               INTEGER NOT NULL,
    repository_id    TEXT NOT NULL,
    description      TEXT,
    author_id        TEXT,
    created_date     TEXT,
    updated_date     TEXT,
    source_commit    TEXT,
    target_commit    TEXT,
    common_commit    TEXT,
    push_id          INTEGER,
    reason           TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, pull_request_id, id)
) WITHOUT ROWID;

-- Paths only, never file contents.
CREATE TABLE pull_request_changes (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    iteration_id       INTEGER NOT NULL,
    change_tracking_id INTEGER NOT NULL,
    repository_id      TEXT NOT NULL,
    change_id          INTEGER,
    path               TEXT,
    change_type        TEXT NOT NULL,
    original_path      TEXT,
    item_type          TEXT,
    raw                TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, pull_request_id, iteration_id, change_tracking_id)
) WITHOUT ROWID;

-- A thread's raw JSON lacks its comments: they are rows of pull_request_comments.
CREATE TABLE pull_request_threads (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    id                 INTEGER NOT NULL,
    repository_id      TEXT NOT NULL,
    status             TEXT,
    thread_type        TEXT,
    published_date     TEXT,
    last_updated_date  TEXT,
    file_path          TEXT,
    right_line_start   INTEGER,
    right_line_end     INTEGER,
    change_tracking_id INTEGER,
    is_deleted         BOOLEAN NOT NULL,
    properties         TEXT CHECK (properties IS NULL OR json_valid(properties)),
    raw                TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, pull_request_id, id)
) WITHOUT ROWID;

-- Comment ids restart at 1 in every thread: the thread is part of the key.
CREATE TABLE pull_request_comments (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    thread_id                 INTEGER NOT NULL,
    id                        INTEGER NOT NULL,
    repository_id             TEXT NOT NULL,
    parent_comment_id         INTEGER NOT NULL,
    author_id                 TEXT,
    comment_type              TEXT,
    content                   TEXT,
    published_date            TEXT,
    last_updated_date         TEXT,
    last_content_updated_date TEXT,
    is_deleted                BOOLEAN NOT NULL,
    liked_by                  INTEGER NOT NULL,
    raw                       TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, pull_request_id, thread_id, id)
) WITHOUT ROWID;

CREATE TABLE pull_request_work_items (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    work_item_id     INTEGER NOT NULL,
    repository_id    TEXT NOT NULL,
    url              TEXT,
    PRIMARY KEY (org, pull_request_id, work_item_id)
) WITHOUT ROWID;

CREATE TABLE pull_request_statuses (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    id               INTEGER NOT NULL,
    repository_id    TEXT NOT NULL,
    iteration_id     INTEGER,
    state            TEXT,
    description      TEXT,
    genre            TEXT,
    name             TEXT,
    target_url       TEXT,
    created_by_id    TEXT,
    creation_date    TEXT,
    updated_date     TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, pull_request_id, id)
) WITHOUT ROWID;

CREATE TABLE pull_request_policy_evaluations (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    evaluation_id          TEXT NOT NULL,
    repository_id          TEXT NOT NULL,
    configuration_id       INTEGER,
    configuration_revision INTEGER,
    policy_type_id         TEXT,
    policy_type            TEXT,
    is_blocking            BOOLEAN NOT NULL,
    is_enabled             BOOLEAN NOT NULL,
    status                 TEXT,
    started_date           TEXT,
    completed_date         TEXT,
    raw                    TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, pull_request_id, evaluation_id)
) WITHOUT ROWID;

-- The Pull Commits connector's rows: a PR's commits as its commits list gives them (no
-- parents; change counts only where ADO sends them).
CREATE TABLE pull_request_commits (
    org               TEXT NOT NULL,
    pull_request_id   BIGINT NOT NULL,
    commit_id         TEXT NOT NULL,
    repository_id     TEXT NOT NULL,
    author_name       TEXT,
    author_email      TEXT,
    author_date       TEXT,
    committer_name    TEXT,
    committer_email   TEXT,
    committer_date    TEXT,
    title             TEXT,
    comment           TEXT,
    comment_truncated BOOLEAN NOT NULL,
    adds              INTEGER,
    edits             INTEGER,
    deletes           INTEGER,
    raw               TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, pull_request_id, commit_id)
) WITHOUT ROWID;
