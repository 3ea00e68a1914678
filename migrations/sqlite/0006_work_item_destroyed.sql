-- When a work item was destroyed for good (issue 9, item 3): the recycle bin reconciliation
-- finds items marked deleted that are neither in the recycle bin nor readable any more, and
-- stamps them here. The rows and their revisions stay: the history is kept.
ALTER TABLE work_items ADD COLUMN destroyed_at TEXT;
