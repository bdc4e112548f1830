-- A started move or copy keeps DocSpace's operation id once the PUT has answered, so that a job resumed
-- after a crash or a timeout waits for that operation and checks its effect instead of issuing a second
-- operation while the first may still be running.
ALTER TABLE job_steps ADD COLUMN operation TEXT;
