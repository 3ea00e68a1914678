-- Which connector's tokens see which project (issue 9, item 4).
--
-- Every connector lists projects with its own tokens. A project that one connector's token
-- cannot see was marked deleted by that connector and revived by the next one, run after
-- run. Now each connector marks only its own row here, and a project is deleted when no
-- connector sees it (store::schema::core::PROJECTS_NOBODY_SEES).
CREATE TABLE project_visibility (
    org        TEXT NOT NULL,
    project_id TEXT NOT NULL,
    connector  TEXT NOT NULL,
    synced_at  TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (org, project_id, connector)
) WITHOUT ROWID;

-- Databases synced before: every live project counts as seen by every connector that has
-- synced this organization, so upgrading deletes nothing a connector still sees.
INSERT INTO project_visibility (org, project_id, connector, synced_at)
SELECT p.org, p.id, c.connector, p.synced_at
FROM projects AS p
JOIN (SELECT DISTINCT org, connector FROM sync_cursors) AS c ON c.org = p.org
WHERE p.deleted_at IS NULL;
