-- How many fields a stored revision carries, so that a later observation of the same revision
-- with more of them replaces it (issue 9, item 1).
--
-- Revisions were written once and never updated, and the reporting stream was read without
-- `$expand=fields`, which leaves out every long-text field (Description, Repro Steps,
-- Acceptance Criteria; API_FACTS §1.6). Rows written before this migration have no count
-- (NULL), so the Boards connector's one re-read of the stream with long-text fields replaces
-- each of them; after that a revision changes only when an observation has more fields.
ALTER TABLE work_item_revisions ADD COLUMN field_count BIGINT;
