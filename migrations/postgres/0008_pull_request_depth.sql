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
    changes_through  BIGINT NOT NULL,
    synced_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org, pull_request_id)
);

-- When, and at which source commit, the Pull Commits connector last fetched a PR's commits.
CREATE TABLE pull_request_commit_syncs (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    repository_id    TEXT NOT NULL,
    source_commit    TEXT NOT NULL,
    synced_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org, pull_request_id)
);

CREATE TABLE pull_request_iterations (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    id               BIGINT NOT NULL,
    repository_id    TEXT NOT NULL,
    description      TEXT,
    author_id        TEXT,
    created_date     TIMESTAMPTZ,
    updated_date     TIMESTAMPTZ,
    source_commit    TEXT,
    target_commit    TEXT,
    common_commit    TEXT,
    push_id          BIGINT,
    reason           TEXT,
    raw              JSONB NOT NULL,
    PRIMARY KEY (org, pull_request_id, id)
);

-- Paths only, never file contents.
CREATE TABLE pull_request_changes (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    iteration_id       BIGINT NOT NULL,
    change_tracking_id BIGINT NOT NULL,
    repository_id      TEXT NOT NULL,
    change_id          BIGINT,
    path               TEXT,
    change_type        TEXT NOT NULL,
    original_path      TEXT,
    item_type          TEXT,
    raw                JSONB NOT NULL,
    PRIMARY KEY (org, pull_request_id, iteration_id, change_tracking_id)
);

-- A thread's raw JSON lacks its comments: they are rows of pull_request_comments.
CREATE TABLE pull_request_threads (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    id                 BIGINT NOT NULL,
    repository_id      TEXT NOT NULL,
    status             TEXT,
    thread_type        TEXT,
    published_date     TIMESTAMPTZ,
    last_updated_date  TIMESTAMPTZ,
    file_path          TEXT,
    right_line_start   BIGINT,
    right_line_end     BIGINT,
    change_tracking_id BIGINT,
    is_deleted         BOOLEAN NOT NULL,
    properties         JSONB,
    raw                JSONB NOT NULL,
    PRIMARY KEY (org, pull_request_id, id)
);

-- Comment ids restart at 1 in every thread: the thread is part of the key.
CREATE TABLE pull_request_comments (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    thread_id                 BIGINT NOT NULL,
    id                        BIGINT NOT NULL,
    repository_id             TEXT NOT NULL,
    parent_comment_id         BIGINT NOT NULL,
    author_id                 TEXT,
    comment_type              TEXT,
    content                   TEXT,
    published_date            TIMESTAMPTZ,
    last_updated_date         TIMESTAMPTZ,
    last_content_updated_date TIMESTAMPTZ,
    is_deleted                BOOLEAN NOT NULL,
    liked_by                  BIGINT NOT NULL,
    raw                       JSONB NOT NULL,
    PRIMARY KEY (org, pull_request_id, thread_id, id)
);

CREATE TABLE pull_request_work_items (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    work_item_id     BIGINT NOT NULL,
    repository_id    TEXT NOT NULL,
    url              TEXT,
    PRIMARY KEY (org, pull_request_id, work_item_id)
);

CREATE TABLE pull_request_statuses (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    id               BIGINT NOT NULL,
    repository_id    TEXT NOT NULL,
    iteration_id     BIGINT,
    state            TEXT,
    description      TEXT,
    genre            TEXT,
    name             TEXT,
    target_url       TEXT,
    created_by_id    TEXT,
    creation_date    TIMESTAMPTZ,
    updated_date     TIMESTAMPTZ,
    raw              JSONB NOT NULL,
    PRIMARY KEY (org, pull_request_id, id)
);

CREATE TABLE pull_request_policy_evaluations (
    org              TEXT NOT NULL,
    pull_request_id  BIGINT NOT NULL,
    evaluation_id          TEXT NOT NULL,
    repository_id          TEXT NOT NULL,
    configuration_id       BIGINT,
    configuration_revision BIGINT,
    policy_type_id         TEXT,
    policy_type            TEXT,
    is_blocking            BOOLEAN NOT NULL,
    is_enabled             BOOLEAN NOT NULL,
    status                 TEXT,
    started_date           TIMESTAMPTZ,
    completed_date         TIMESTAMPTZ,
    raw                    JSONB NOT NULL,
    PRIMARY KEY (org, pull_request_id, evaluation_id)
);

-- The Pull Commits connector's rows: a PR's commits as its commits list gives them (no
-- parents; change counts only where ADO sends them).
CREATE TABLE pull_request_commits (
    org               TEXT NOT NULL,
    pull_request_id   BIGINT NOT NULL,
    commit_id         TEXT NOT NULL,
    repository_id     TEXT NOT NULL,
    author_name       TEXT,
    author_email      TEXT,
    author_date       TIMESTAMPTZ,
    committer_name    TEXT,
    committer_email   TEXT,
    committer_date    TIMESTAMPTZ,
    title             TEXT,
    comment           TEXT,
    comment_truncated BOOLEAN NOT NULL,
    adds              BIGINT,
    edits             BIGINT,
    deletes           BIGINT,
    raw               JSONB NOT NULL,
    PRIMARY KEY (org, pull_request_id, commit_id)
);
