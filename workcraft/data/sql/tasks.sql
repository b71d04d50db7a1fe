-- The bountyboard: enqueue, claim, complete, release. A block starts with `-- name --`;
-- the comment lines under it say why it is shaped that way. Parameters are always
-- %(name)s or %s; `{ids}` / `{names}` expand to a list of %s placeholders and `{cases}` to
-- `WHEN %s THEN %s` pairs (placeholders only, never values).

-- insert_task --
-- executemany() turns this into one multi-row INSERT per batch: one round trip, one commit.
-- run_at: an absolute instant as Unix seconds (FROM_UNIXTIME gives the session's wall clock
-- and the TIMESTAMP column converts it back, so it is right in any session time zone), or
-- a delay after the server's clock. ON DUPLICATE KEY UPDATE writes nothing: a live task
-- with the same unique key (ux_bountyboard_unique_active) keeps its row, and a retried
-- batch whose COMMIT landed unacknowledged finds its own ids already there.
INSERT INTO bountyboard (id, task_name, queue, payload, retry_on_failure, retry_limit,
                         priority, run_at, unique_key, timeout_seconds, concurrency_key,
                         concurrency_limit)
VALUES (%s, %s, %s, %s, %s, %s, %s,
        COALESCE(FROM_UNIXTIME(%s), NOW(6) + INTERVAL %s MICROSECOND), %s, %s, %s, %s)
ON DUPLICATE KEY UPDATE unique_key = unique_key

-- unique_key_holders --
-- Which task holds each key now. Run in the INSERT's transaction: the INSERT locked every
-- conflicting row, so the holder cannot finish (and let go of its key) before we read it.
-- A locking read, so it sees the latest commit: a caller's transaction (connection=) at
-- REPEATABLE READ may have a snapshot older than the holder.
SELECT id, unique_active FROM bountyboard WHERE unique_active IN ({keys}) LOCK IN SHARE MODE

-- get_task --
SELECT id, status, task_name, queue, payload, result, worker_id, retry_on_failure,
       retry_count, retry_limit, attempt, created_at, updated_at, started_at, finished_at,
       run_at, priority, unique_key, timeout_seconds, concurrency_key, concurrency_limit,
       cancel_requested
FROM bountyboard WHERE id = %(id)s

-- next_priority --
-- The most urgent priority above %s with PENDING rows in this queue: MIN over a prefix of
-- ix_bountyboard_ready is one index dive ("Select tables optimized away").
SELECT MIN(priority) FROM bountyboard
WHERE status = 'PENDING' AND queue = %s AND priority > %s

-- claim_probe --
-- Idle polls send only this plain read (autocommit, no locks): the first row of this queue
-- in claim order (priority, run_at) at a priority above %s, and whether it is due; nothing
-- when the queue is paused (a primary-key read of `queues`, evaluated once). Not due means
-- no row of that priority is, so the caller asks again above it.
SELECT priority, run_at <= COALESCE(%s, NOW(6)) AS due FROM bountyboard
WHERE status = 'PENDING' AND queue = %s AND priority > %s AND task_name IN ({names})
  AND NOT EXISTS (SELECT 1 FROM queues WHERE name = %s AND paused = 1)
ORDER BY priority, run_at
LIMIT 1

-- claim_most_urgent --
-- The rows to claim at this queue's most urgent priority (the subquery is one index dive,
-- done once). status, queue, priority = and run_at <= is an exact range on
-- ix_bountyboard_ready, in the ORDER BY's order, so LIMIT n reads and locks n rows however
-- many rows wait or are scheduled for later; SKIP LOCKED lets other peons take the next.
-- {keys}: concurrency keys found full in this claim ('' when none), skipped, not waited on.
SELECT id, task_name, payload, attempt, priority, timeout_seconds, concurrency_key,
       concurrency_limit
FROM bountyboard
WHERE status = 'PENDING' AND queue = %s
  AND priority = (SELECT MIN(priority) FROM bountyboard WHERE status = 'PENDING' AND queue = %s)
  AND run_at <= COALESCE(%s, NOW(6)) AND task_name IN ({names})
  AND (concurrency_key IS NULL OR concurrency_key NOT IN ({keys}))
ORDER BY run_at
LIMIT %s
FOR UPDATE SKIP LOCKED

-- claim_at_priority --
-- As claim_most_urgent, at a priority the caller found with next_priority.
SELECT id, task_name, payload, attempt, priority, timeout_seconds, concurrency_key,
       concurrency_limit
FROM bountyboard
WHERE status = 'PENDING' AND queue = %s AND priority = %s
  AND run_at <= COALESCE(%s, NOW(6)) AND task_name IN ({names})
  AND (concurrency_key IS NULL OR concurrency_key NOT IN ({keys}))
ORDER BY run_at
LIMIT %s
FOR UPDATE SKIP LOCKED

-- lock_concurrency_key --
-- Serialises claims of one concurrency key: the row lock (taken whether the row is new or
-- not) is held until the claim commits, so the count below cannot go stale under us. The row
-- is written, not just locked: on a cluster (Galera, Group Replication) row locks are per
-- node and only writes are certified, so a claim of the same key through another node must
-- conflict with this one at COMMIT (the loser retries and finds the key counted).
INSERT INTO concurrency_keys (name) VALUES (%s) ON DUPLICATE KEY UPDATE claims = claims + 1

-- running_with_key --
-- Uses ix_bountyboard_running_key. A crashed peon's task counts until the janitor requeues
-- it; then its slot is free again. A locking read: it sees the latest commits whatever the
-- claim transaction's isolation level and snapshot.
SELECT COUNT(*) FROM bountyboard WHERE running_key = %s LOCK IN SHARE MODE

-- paused_queues --
SELECT name FROM queues WHERE paused = 1 AND name IN ({names})

-- claim_mark --
-- Marks the selected rows RUNNING in the claim transaction; attempt + 1 is the fencing
-- token completion must present. A plain single-table UPDATE: the peon row was locked (and
-- ownership proven) by claim_peon_row in the same transaction. (A multi-table
-- UPDATE joining peon here crashed MariaDB 10.11.19 under load: signal 11 in
-- multi_update::initialize_tables.)
UPDATE bountyboard
SET status = 'RUNNING', worker_id = %s, peon_session = %s, attempt = attempt + 1,
    started_at = NOW(6), finished_at = NULL
WHERE id IN ({ids}) AND status = 'PENDING'

-- complete_tasks --
-- Every outcome of one loop pass in one statement. Fenced: a row is written only if it is
-- still RUNNING under this peon session and the attempt this run claimed; a peon whose task
-- was reclaimed (declared dead, reassigned) matches nothing. The parameters are built by
-- TaskQueries.complete, which is the only caller.
UPDATE bountyboard
SET status = CASE id {cases} END,
    result = CASE id {cases} END,
    retry_count = retry_count + CASE id {cases} END,
    finished_at = NOW(6)
WHERE id IN ({ids}) AND status = 'RUNNING' AND worker_id = %s AND peon_session = %s
  AND attempt = CASE id {cases} END

-- task_fence_state --
SELECT status, worker_id, attempt FROM bountyboard WHERE id = %(id)s

-- release_task --
-- Graceful shutdown: a task we will not finish goes back to PENDING (fenced like completion),
-- unless someone asked to cancel it.
UPDATE bountyboard
SET status = IF(cancel_requested, 'CANCELLED', 'PENDING'), worker_id = NULL,
    peon_session = NULL, started_at = NULL,
    finished_at = IF(cancel_requested, NOW(6), NULL)
WHERE id = %(id)s AND status = 'RUNNING' AND worker_id = %(worker_id)s
  AND peon_session = %(session)s AND attempt = %(attempt)s

-- release_orphans --
-- After a claim whose COMMIT acknowledgement was lost: rows we own but never received (their
-- ids read first with running_of_session; locked here by primary key only).
UPDATE bountyboard
SET status = IF(cancel_requested, 'CANCELLED', 'PENDING'), worker_id = NULL,
    peon_session = NULL, started_at = NULL
WHERE id IN ({ids}) AND worker_id = %s AND status = 'RUNNING' AND peon_session = %s

-- cancel_waiting --
-- A task that has not started (PENDING, delayed or not) or waits for a retry: CANCELLED now.
UPDATE bountyboard
SET status = 'CANCELLED', finished_at = NOW(6), result = %(result)s, cancel_requested = 1
WHERE id = %(id)s AND (status = 'PENDING' OR retry_pending_since IS NOT NULL)

-- request_cancel --
-- A RUNNING task: its peon sees this with its next heartbeat (cancel_requests_of_peon).
UPDATE bountyboard SET cancel_requested = 1 WHERE id = %(id)s AND status = 'RUNNING'

-- cancel_requests_of_peon --
-- The peon's own running tasks, by primary key (it knows their ids).
SELECT id FROM bountyboard
WHERE id IN ({ids}) AND worker_id = %s AND status = 'RUNNING' AND peon_session = %s
  AND cancel_requested = 1

-- set_queue_paused --
INSERT INTO queues (name, paused) VALUES (%(name)s, %(paused)s)
ON DUPLICATE KEY UPDATE paused = VALUES(paused), updated_at = NOW(6)

-- claim_by_update --
-- Claim mode "optimistic", for servers where SKIP LOCKED is missing or ignored (TiDB accepts
-- it and drops the lock; older Vitess refuses it): mark rows RUNNING under our session in
-- one UPDATE; the rows it changed are ours (read back with running_of_session). Same exact
-- range as claim_at_priority; keyed tasks are claimed one by one (claim_one_by_update).
UPDATE bountyboard
SET status = 'RUNNING', worker_id = %s, peon_session = %s, attempt = attempt + 1,
    started_at = NOW(6), finished_at = NULL
WHERE status = 'PENDING' AND queue = %s AND priority = %s
  AND run_at <= COALESCE(%s, NOW(6)) AND task_name IN ({names})
  AND concurrency_key IS NULL
ORDER BY run_at
LIMIT %s

-- keyed_candidates --
-- Optimistic mode: due keyed tasks at one priority, read without locks; each is then taken
-- by claim_one_by_update while its key is locked and counted.
SELECT id, concurrency_key, concurrency_limit FROM bountyboard
WHERE status = 'PENDING' AND queue = %s AND priority = %s
  AND run_at <= COALESCE(%s, NOW(6)) AND task_name IN ({names})
  AND concurrency_key IS NOT NULL AND concurrency_key NOT IN ({keys})
ORDER BY run_at
LIMIT %s

-- claim_one_by_update --
UPDATE bountyboard
SET status = 'RUNNING', worker_id = %s, peon_session = %s, attempt = attempt + 1,
    started_at = NOW(6), finished_at = NULL
WHERE id = %s AND status = 'PENDING'

-- running_of_session --
-- What this peon session runs now: the RUNNING range of ix_bountyboard_ready (every peon's
-- running tasks, a short range), read without locks, so no other peon's row is locked.
SELECT id, task_name, payload, attempt, timeout_seconds, concurrency_key FROM bountyboard
WHERE status = 'RUNNING' AND worker_id = %s AND peon_session = %s

-- server_kind --
SELECT VERSION() AS version, @@version_comment AS comment
