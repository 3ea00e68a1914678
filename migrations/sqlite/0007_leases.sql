-- Leases on scopes of work (issue 12): several `run` replicas share one PostgreSQL database
-- by leasing (connector, scope) rows — `org` for a connector's organization-level listings,
-- `project:{id}` for one project's streams, `_replica`/{holder} for a process's own liveness.
-- SQLite has a single writer process (the file lock), but takes the same path so that both
-- backends run one scheduler.
--
-- A scope is free when `holder` is NULL or `expires_at` has passed; it is due for a pass when
-- `done_at` (the end of the last successful pass over it) is old enough. A holder renews its
-- leases while it works and clears `holder` when it is done.
CREATE TABLE leases (
    org        TEXT NOT NULL,
    connector  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    holder     TEXT,
    expires_at TEXT,
    done_at    TEXT,
    PRIMARY KEY (org, connector, scope)
) WITHOUT ROWID;
CREATE INDEX leases_holder ON leases (org, holder);

-- Which process runs a run: a `running` run whose holder no longer renews its liveness
-- lease belongs to a dead replica and is closed as `abandoned`.
ALTER TABLE sync_runs ADD COLUMN holder TEXT;
