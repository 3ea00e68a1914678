-- Boards (PostgreSQL): teams and their members, the Graph columns of users, the planning
-- structure (iterations, areas, work item types with their states, fields), and work items
-- with every revision and their links. A shipped migration is never edited: add a new file.
--
-- Conventions as in 0001: timestamps are TIMESTAMPTZ (microseconds); `raw` (and
-- `work_item_revisions.fields`) is JSONB.

-- users: a person is one row keyed by identity id (VSID) when known; a Graph user whose
-- identity id is not known yet is keyed by its descriptor until an identity with that
-- descriptor takes the row over (see store::GraphUserRow).
ALTER TABLE users ADD COLUMN mail_address TEXT;
ALTER TABLE users ADD COLUMN descriptor TEXT;
ALTER TABLE users ADD COLUMN origin TEXT;
ALTER TABLE users ADD COLUMN origin_id TEXT;
ALTER TABLE users ADD COLUMN subject_kind TEXT;
CREATE INDEX users_descriptor ON users (org, descriptor);
-- work_items.assigned_to / created_by / changed_by hold the unique name.
CREATE INDEX users_unique_name ON users (org, unique_name);

CREATE TABLE teams (
    org         TEXT        NOT NULL,
    id          TEXT        NOT NULL,
    project_id  TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    description TEXT,
    raw         JSONB       NOT NULL,
    synced_at   TIMESTAMPTZ NOT NULL,
    deleted_at  TIMESTAMPTZ,
    PRIMARY KEY (org, id)
);
CREATE INDEX teams_project ON teams (org, project_id);

CREATE TABLE team_members (
    org           TEXT        NOT NULL,
    team_id       TEXT        NOT NULL,
    user_id       TEXT        NOT NULL,
    is_team_admin BOOLEAN     NOT NULL,
    synced_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org, team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (org, user_id);

-- `path` is the form work items carry in System.IterationPath (`Project\Release 1\Sprint 2`);
-- ADO's classification path is in `raw`. Node ids are unique in an organization.
CREATE TABLE iterations (
    org         TEXT        NOT NULL,
    project_id  TEXT        NOT NULL,
    id          BIGINT      NOT NULL,
    identifier  TEXT,
    name        TEXT        NOT NULL,
    path        TEXT        NOT NULL,
    parent_path TEXT,
    depth       INTEGER     NOT NULL,
    start_date  TIMESTAMPTZ,
    finish_date TIMESTAMPTZ,
    raw         JSONB       NOT NULL,
    synced_at   TIMESTAMPTZ NOT NULL,
    deleted_at  TIMESTAMPTZ,
    PRIMARY KEY (org, id)
);
CREATE INDEX iterations_project ON iterations (org, project_id);
CREATE INDEX iterations_path ON iterations (org, path);

CREATE TABLE areas (
    org         TEXT        NOT NULL,
    project_id  TEXT        NOT NULL,
    id          BIGINT      NOT NULL,
    identifier  TEXT,
    name        TEXT        NOT NULL,
    path        TEXT        NOT NULL,
    parent_path TEXT,
    depth       INTEGER     NOT NULL,
    raw         JSONB       NOT NULL,
    synced_at   TIMESTAMPTZ NOT NULL,
    deleted_at  TIMESTAMPTZ,
    PRIMARY KEY (org, id)
);
CREATE INDEX areas_project ON areas (org, project_id);
CREATE INDEX areas_path ON areas (org, path);

CREATE TABLE work_item_types (
    org            TEXT        NOT NULL,
    project_id     TEXT        NOT NULL,
    name           TEXT        NOT NULL,
    reference_name TEXT,
    description    TEXT,
    color          TEXT,
    is_disabled    BOOLEAN     NOT NULL,
    category       TEXT,
    raw            JSONB       NOT NULL,
    synced_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org, project_id, name)
);

CREATE TABLE work_item_type_states (
    org        TEXT        NOT NULL,
    project_id TEXT        NOT NULL,
    type_name  TEXT        NOT NULL,
    name       TEXT        NOT NULL,
    category   TEXT,
    color      TEXT,
    synced_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org, project_id, type_name, name)
);

CREATE TABLE work_item_fields (
    org            TEXT        NOT NULL,
    reference_name TEXT        NOT NULL,
    name           TEXT        NOT NULL,
    type           TEXT,
    read_only      BOOLEAN     NOT NULL,
    is_identity    BOOLEAN     NOT NULL,
    raw            JSONB       NOT NULL,
    synced_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org, reference_name)
);

-- The current state of each work item; identities are unique names (`assigned_to_name` is
-- the display name). `project` is System.TeamProject, a project *name*.
CREATE TABLE work_items (
    org               TEXT        NOT NULL,
    id                BIGINT      NOT NULL,
    rev               BIGINT      NOT NULL,
    project           TEXT,
    type              TEXT,
    title             TEXT,
    state             TEXT,
    reason            TEXT,
    assigned_to       TEXT,
    assigned_to_name  TEXT,
    created_by        TEXT,
    created_date      TIMESTAMPTZ,
    changed_by        TEXT,
    changed_date      TIMESTAMPTZ,
    closed_date       TIMESTAMPTZ,
    activated_date    TIMESTAMPTZ,
    resolved_date     TIMESTAMPTZ,
    area_path         TEXT,
    iteration_path    TEXT,
    priority          BIGINT,
    severity          TEXT,
    story_points      DOUBLE PRECISION,
    effort            DOUBLE PRECISION,
    remaining_work    DOUBLE PRECISION,
    parent_id         BIGINT,
    tags              TEXT,
    comment_count     BIGINT,
    last_comment_date TIMESTAMPTZ,
    raw               JSONB       NOT NULL,
    synced_at         TIMESTAMPTZ NOT NULL,
    deleted_at        TIMESTAMPTZ,
    PRIMARY KEY (org, id)
);
CREATE INDEX work_items_project_changed ON work_items (org, project, changed_date);
CREATE INDEX work_items_type_state ON work_items (org, type, state);
CREATE INDEX work_items_iteration ON work_items (org, iteration_path);
CREATE INDEX work_items_area ON work_items (org, area_path);
CREATE INDEX work_items_assigned_to ON work_items (org, assigned_to);
CREATE INDEX work_items_parent ON work_items (org, parent_id);

-- Every revision, immutable. `fields` is the revision's full field map (JSON), so state
-- transitions can be replayed.
CREATE TABLE work_item_revisions (
    org            TEXT        NOT NULL,
    id             BIGINT      NOT NULL,
    rev            BIGINT      NOT NULL,
    changed_date   TIMESTAMPTZ,
    changed_by     TEXT,
    state          TEXT,
    assigned_to    TEXT,
    iteration_path TEXT,
    fields         JSONB       NOT NULL,
    synced_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org, id, rev)
);
CREATE INDEX work_item_revisions_changed ON work_item_revisions (org, changed_date);

-- Links as the reporting links stream last reported them; removed links stay inactive.
CREATE TABLE work_item_links (
    org          TEXT        NOT NULL,
    source_id    BIGINT      NOT NULL,
    target_id    BIGINT      NOT NULL,
    rel          TEXT        NOT NULL,
    is_active    BOOLEAN     NOT NULL,
    changed_date TIMESTAMPTZ,
    raw          JSONB       NOT NULL,
    synced_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org, source_id, target_id, rel)
);
CREATE INDEX work_item_links_target ON work_item_links (org, target_id);
