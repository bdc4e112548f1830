-- spacehook schema v1 (docs/contract.md §4). Times are Unix milliseconds (UTC):
--   sqlite3 spacehook.db "select id, state, datetime(run_at/1000,'unixepoch') from jobs"

-- One row per accepted delivery. body holds the raw bytes exactly as received (they are what was signed).
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    webhook_id  TEXT    NOT NULL,           -- webhook.id from the body ('' when absent)
    event_id    TEXT    NOT NULL,           -- event.id from the body
    trigger     TEXT    NOT NULL,           -- event.trigger, e.g. file.uploaded
    received_at INTEGER NOT NULL,
    body        BLOB    NOT NULL,
    path        TEXT    NOT NULL,           -- the webhook path it arrived on
    content_key TEXT,                       -- trigger|createOn|createBy|payload.id: spots manual re-sends
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX events_content_key ON events(content_key) WHERE content_key IS NOT NULL;
CREATE INDEX events_received_at ON events(received_at);

-- One row per (event x matching rule).
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    event_row    INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    rule         TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN
                   ('queued', 'running', 'retrying', 'succeeded', 'skipped', 'dead', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    lease_until  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    file_key     TEXT,                      -- jobs with the same key run one at a time, oldest first
    UNIQUE (event_row, rule)
);
-- Leasing stays O(log n) however many jobs are queued: due jobs come off this partial index in run_at order.
CREATE INDEX jobs_due ON jobs(run_at) WHERE state IN ('queued', 'retrying');
CREATE INDEX jobs_running ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_file_active ON jobs(file_key, id) WHERE state IN ('queued', 'retrying', 'running');
CREATE INDEX jobs_state_updated ON jobs(state, updated_at);
CREATE INDEX jobs_event ON jobs(event_row);

-- One row per action of a job, so a retried or resumed job starts at its first unfinished step.
-- 'started' marks a step whose side effect may have happened (a move or copy was issued): a resumed job
-- verifies it instead of assuming nothing was done.
CREATE TABLE job_steps (
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    action     TEXT    NOT NULL CHECK (action IN ('move', 'copy', 'comment', 'notify')),
    state      TEXT    NOT NULL CHECK (state IN ('pending', 'started', 'done', 'skipped')),
    result     TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
