-- How an event entered the queue: 'delivery' (POSTed by DocSpace), 'backfill' (read from DocSpace's delivery
-- log after it gave up on delivering it) or 'replay' (`spacehook events replay` ran its rules again).
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'delivery'
    CHECK (source IN ('delivery', 'backfill', 'replay'));

-- Retention empties the body of old events but keeps their identity (webhook_id, event_id, content_key) for
-- retention.dedup_window; this index keeps that purge to the events that still have a body.
CREATE INDEX events_with_body ON events(received_at) WHERE length(body) > 0;

-- Small facts the store keeps about itself. 'identities_forgotten_before': the latest received_at cutoff
-- below which event identities were deleted; a delivery of an event created before it may have run already.
CREATE TABLE store_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
