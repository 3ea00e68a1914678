-- Pipelines (issue 10): build definitions, builds, their timelines and changes, classic
-- releases with environments and deployments, YAML environments and deployment records.
-- Keys follow ADO: build ids are unique in a collection; definition, release, deployment and
-- environment ids are keyed with their project (definition ids are numbered per project);
-- children are keyed by their parent too.
-- sync_runs.warnings: what a pass skipped and went on (a 204/404 timeline, a 403 on
-- releases or environments), one line each, for status and the operator.

ALTER TABLE sync_runs ADD COLUMN warnings TEXT;

-- Build definitions: YAML and classic pipelines alike.
CREATE TABLE pipelines (
    org              TEXT NOT NULL,
    id               INTEGER NOT NULL,
    project_id       TEXT NOT NULL,
    name             TEXT NOT NULL,
    path             TEXT,
    revision         INTEGER,
    definition_type  TEXT,
    queue_status     TEXT,
    repository_id    TEXT,
    repository_type  TEXT,
    process          TEXT,
    yaml_filename    TEXT,
    created_date     TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    synced_at        TEXT NOT NULL,
    deleted_at       TEXT,
    PRIMARY KEY (org, project_id, id)
) WITHOUT ROWID;

-- Builds (a YAML pipeline's run is a build). deleted_at: removed by retention.
CREATE TABLE builds (
    org              TEXT NOT NULL,
    id               INTEGER NOT NULL,
    project_id       TEXT NOT NULL,
    definition_id    INTEGER,
    build_number     TEXT,
    status           TEXT,
    result           TEXT,
    reason           TEXT,
    queue_time       TEXT,
    start_time       TEXT,
    finish_time      TEXT,
    source_branch    TEXT,
    source_version   TEXT,
    repository_id    TEXT,
    requested_for_id TEXT,
    retained_by_release BOOLEAN NOT NULL,
    deleted          BOOLEAN NOT NULL,
    last_changed_date TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    synced_at        TEXT NOT NULL,
    deleted_at       TEXT,
    PRIMARY KEY (org, id)
) WITHOUT ROWID;

-- When, and for which lastChangedDate of its build, a timeline was fetched, and what came back (stored, none: 204, not_found: 404).
CREATE TABLE build_timeline_syncs (
    org              TEXT NOT NULL,
    build_id         INTEGER NOT NULL,
    last_changed_date TEXT,
    outcome          TEXT NOT NULL,
    synced_at        TEXT NOT NULL,
    PRIMARY KEY (org, build_id)
) WITHOUT ROWID;

-- A build's stages, phases, jobs, tasks and checkpoints; sort_order is the record's order.
CREATE TABLE build_timeline_records (
    org              TEXT NOT NULL,
    build_id         INTEGER NOT NULL,
    id               TEXT NOT NULL,
    parent_id        TEXT,
    record_type      TEXT,
    name             TEXT,
    identifier       TEXT,
    state            TEXT,
    result           TEXT,
    start_time       TEXT,
    finish_time      TEXT,
    attempt          INTEGER,
    worker_name      TEXT,
    error_count      INTEGER,
    warning_count    INTEGER,
    sort_order       INTEGER,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, build_id, id)
) WITHOUT ROWID;

-- That a build's changes were fetched.
CREATE TABLE build_change_syncs (
    org              TEXT NOT NULL,
    build_id         INTEGER NOT NULL,
    synced_at        TEXT NOT NULL,
    PRIMARY KEY (org, build_id)
) WITHOUT ROWID;

-- The commits (or changesets) a build built, for lead time.
CREATE TABLE build_changes (
    org              TEXT NOT NULL,
    build_id         INTEGER NOT NULL,
    id               TEXT NOT NULL,
    change_type      TEXT,
    message          TEXT,
    message_truncated BOOLEAN NOT NULL,
    author_name      TEXT,
    author_unique_name TEXT,
    timestamp        TEXT,
    location         TEXT,
    pusher           TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, build_id, id)
) WITHOUT ROWID;

-- Classic releases (the release host).
CREATE TABLE releases (
    org              TEXT NOT NULL,
    id               INTEGER NOT NULL,
    project_id       TEXT NOT NULL,
    name             TEXT,
    definition_id    INTEGER,
    definition_name  TEXT,
    status           TEXT,
    reason           TEXT,
    description      TEXT,
    created_on       TEXT,
    modified_on      TEXT,
    created_by_id    TEXT,
    keep_forever     BOOLEAN NOT NULL,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    synced_at        TEXT NOT NULL,
    PRIMARY KEY (org, project_id, id)
) WITHOUT ROWID;

-- Each release's environments (stages), children of the release.
CREATE TABLE release_environments (
    org              TEXT NOT NULL,
    release_id       INTEGER NOT NULL,
    id               INTEGER NOT NULL,
    project_id       TEXT NOT NULL,
    name             TEXT,
    status           TEXT,
    rank             INTEGER,
    definition_environment_id INTEGER,
    created_on       TEXT,
    modified_on      TEXT,
    time_to_deploy   REAL,
    trigger_reason   TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    PRIMARY KEY (org, project_id, release_id, id)
) WITHOUT ROWID;

-- Each attempt to deploy a release to an environment.
CREATE TABLE release_deployments (
    org              TEXT NOT NULL,
    id               INTEGER NOT NULL,
    project_id       TEXT NOT NULL,
    release_id       INTEGER,
    release_environment_id INTEGER,
    definition_id    INTEGER,
    definition_environment_id INTEGER,
    attempt          INTEGER,
    reason           TEXT,
    deployment_status TEXT,
    operation_status TEXT,
    requested_by_id  TEXT,
    requested_for_id TEXT,
    queued_on        TEXT,
    started_on       TEXT,
    completed_on     TEXT,
    last_modified_on TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    synced_at        TEXT NOT NULL,
    PRIMARY KEY (org, project_id, id)
) WITHOUT ROWID;

-- YAML pipeline environments.
CREATE TABLE environments (
    org              TEXT NOT NULL,
    id               INTEGER NOT NULL,
    project_id       TEXT NOT NULL,
    name             TEXT,
    description      TEXT,
    created_on       TEXT,
    created_by_id    TEXT,
    last_modified_on TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    synced_at        TEXT NOT NULL,
    deleted_at       TEXT,
    PRIMARY KEY (org, project_id, id)
) WITHOUT ROWID;

-- Deployment records of YAML environments: one job of one run each; owner_id is the run (build id).
CREATE TABLE environment_deployments (
    org              TEXT NOT NULL,
    id               INTEGER NOT NULL,
    environment_id   INTEGER NOT NULL,
    project_id       TEXT NOT NULL,
    request_identifier TEXT,
    plan_id          TEXT,
    plan_type        TEXT,
    definition_id    INTEGER,
    definition_name  TEXT,
    owner_id         INTEGER,
    owner_name       TEXT,
    stage_name       TEXT,
    stage_attempt    INTEGER,
    job_name         TEXT,
    job_attempt      INTEGER,
    resource_id      INTEGER,
    queue_time       TEXT,
    start_time       TEXT,
    finish_time      TEXT,
    result           TEXT,
    raw              TEXT NOT NULL CHECK (json_valid(raw)),
    synced_at        TEXT NOT NULL,
    PRIMARY KEY (org, project_id, id)
) WITHOUT ROWID;

-- The unfinished sweep and the due timelines read builds by project and status.
CREATE INDEX builds_project_status ON builds (org, project_id, status);
CREATE INDEX builds_definition_finish ON builds (org, project_id, definition_id, finish_time);
CREATE INDEX releases_project_created ON releases (org, project_id, created_on);
CREATE INDEX release_deployments_release ON release_deployments (org, project_id, release_id);
CREATE INDEX environment_deployments_environment ON environment_deployments (org, project_id, environment_id, id);
