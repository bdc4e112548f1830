-- The same index as before, its predicate written as one 2-value IN and an equality. SQLite 3.40 evaluates an
-- IN list of three or more constants through a temporary b-tree it builds at every execution; every insert and
-- every state change of a job evaluates this predicate (keeping the index up to date), and the writer spent
-- about a third of its instructions building those b-trees (docs/benchmarks.md, issue G). Queries that use the
-- index spell the predicate the same way (jobs.cpp, sql_lease), which is what lets SQLite's planner match it.
DROP INDEX jobs_file_active;
CREATE INDEX jobs_file_active ON jobs(file_key, id) WHERE state IN ('queued', 'retrying') OR state = 'running';
