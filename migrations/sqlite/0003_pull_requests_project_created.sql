-- Pull requests by creation date within a project, instead of across the organization.
--
-- Pages of different projects are written concurrently and each covers its own span of
-- creation dates, so an (org, creation_date) index took every page's rows at random places
-- across the whole index: once it outgrew the writer's page cache (~500,000 PRs) each page's
-- commit rewrote about a thousand of its leaf pages and SQLite's PR throughput halved
-- (14,700 vs 34,600 rows/s without the index, 32,000 with this one; BENCHMARKS.md). With the
-- project first, a page's rows land next to each other. Date-range queries per project use
-- it directly; organization-wide ones scan the table, which is cheap at this size.
DROP INDEX IF EXISTS pull_requests_creation_date;
CREATE INDEX pull_requests_project_created ON pull_requests (org, project_id, creation_date);
