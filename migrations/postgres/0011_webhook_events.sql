-- ADO service-hook deliveries received by `run` (issue 13). One row per event id: a
-- redelivery of the same event (ADO retries, or a replay) finds its row and is not processed
-- again. `target` names what the event asks to re-fetch (`pull_request:{project}:{repo}:{id}`,
-- `work_items:{project}`, `build:{project}:{id}`); rows with no `processed_at` are the work a
-- stopped process left, finished by the next start.
CREATE TABLE webhook_events (
    org             TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    subscription_id TEXT,
    target          TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    processed_at    TIMESTAMPTZ,
    -- refetched | failed | skipped; NULL while pending.
    outcome         TEXT,
    error           TEXT,
    PRIMARY KEY (org, event_id)
);
CREATE INDEX webhook_events_pending ON webhook_events (org, target) WHERE processed_at IS NULL;
CREATE INDEX webhook_events_processed ON webhook_events (org, processed_at);
