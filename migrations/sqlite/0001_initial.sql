-- Initial schema (SQLite). A shipped migration is never edited: add a new file instead.
--
-- Timestamps are UTC text in ONE fixed format, '%Y-%m-%dT%H:%M:%S.ffffffZ' (microseconds),
-- so that comparing the text compares the instants (the never-regress guards rely on it).
-- `raw` is the source JSON object as text; the CHECK keeps parity with Postgres JSONB, which
-- rejects text that is not JSON.
-- Tables of small rows are WITHOUT ROWID (clustered on their primary key: one B-tree per
-- insert instead of two); tables with a large `raw` keep the rowid layout.

CREATE TABLE projects (
    org              TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    state            TEXT,
    visibility       TEXT,
    last_update_time TEXT,
    raw              TEXT    NOT NULL CHECK (json_valid(raw)),
    synced_at        TEXT    NOT NULL,
    deleted_at       TEXT,
    PRIMARY KEY (org, id)
);

CREATE TABLE repositories (
    org            TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    project_id     TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    default_branch TEXT,
    size           BIGINT,
    is_disabled    BOOLEAN NOT NULL,
    raw            TEXT    NOT NULL CHECK (json_valid(raw)),
    synced_at      TEXT    NOT NULL,
    deleted_at     TEXT,
    PRIMARY KEY (org, id)
);
CREATE INDEX repositories_project ON repositories (org, project_id);

CREATE TABLE pull_requests (
    org                      TEXT    NOT NULL,
    id                       BIGINT  NOT NULL,
    repository_id            TEXT    NOT NULL,
    project_id               TEXT    NOT NULL,
    title                    TEXT    NOT NULL,
    status                   TEXT    NOT NULL,
    is_draft                 BOOLEAN NOT NULL,
    created_by_id            TEXT,
    creation_date            TEXT    NOT NULL,
    closed_date              TEXT,
    source_ref               TEXT    NOT NULL,
    target_ref               TEXT    NOT NULL,
    merge_status             TEXT,
    last_merge_source_commit TEXT,
    last_merge_commit        TEXT,
    raw                      TEXT    NOT NULL CHECK (json_valid(raw)),
    synced_at                TEXT    NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX pull_requests_repository ON pull_requests (org, repository_id);
CREATE INDEX pull_requests_status ON pull_requests (org, status);
CREATE INDEX pull_requests_creation_date ON pull_requests (org, creation_date);

CREATE TABLE pull_request_reviewers (
    org             TEXT    NOT NULL,
    pull_request_id BIGINT  NOT NULL,
    reviewer_id     TEXT    NOT NULL,
    vote            INTEGER NOT NULL,
    is_required     BOOLEAN NOT NULL,
    has_declined    BOOLEAN NOT NULL,
    PRIMARY KEY (org, pull_request_id, reviewer_id)
) WITHOUT ROWID;

CREATE TABLE users (
    org          TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    display_name TEXT,
    unique_name  TEXT,
    is_container BOOLEAN NOT NULL,
    synced_at    TEXT    NOT NULL,
    PRIMARY KEY (org, id)
) WITHOUT ROWID;

CREATE TABLE sync_cursors (
    org        TEXT NOT NULL,
    connector  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org, connector, scope)
) WITHOUT ROWID;

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org         TEXT    NOT NULL,
    connector   TEXT    NOT NULL,
    mode        TEXT    NOT NULL,
    started_at  TEXT    NOT NULL,
    finished_at TEXT,
    outcome     TEXT    NOT NULL,
    error       TEXT,
    requests    BIGINT  NOT NULL DEFAULT 0,
    rows        BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX sync_runs_connector ON sync_runs (org, connector, mode, id);
