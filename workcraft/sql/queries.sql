-- Every statement workcraft sends, by name. A block starts with `-- name --`; the comment
-- lines under it say why the query is shaped the way it is. Parameters are always %(name)s
-- or %s; `{ids}` / `{names}` expand to a list of %s placeholders (never to values).

-- server_now --
-- The database clock is the only clock: peons and janitors on different hosts agree on it.
SELECT NOW(6)

-- max_allowed_packet --
SELECT @@max_allowed_packet

-- existing_tables --
SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()

-- table_columns --
SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(table)s

-- table_indexes --
SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(table)s

-- table_constraints --
SELECT CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(table)s

-- binary_collations --
SELECT COLLATION_NAME FROM information_schema.COLLATIONS
WHERE COLLATION_NAME IN ('utf8mb4_0900_bin', 'utf8mb4_nopad_bin')

-- tables_present --
-- A cheap check that the tables exist and we may read them (no information_schema, so a
-- user with only DML grants on the three tables passes).
SELECT 1 FROM bountyboard LIMIT 0

-- schema_version --
SELECT COALESCE(MAX(version), 0) FROM workcraft_schema

-- record_schema_version --
INSERT IGNORE INTO workcraft_schema (version) VALUES (%(version)s)

-- insert_task --
-- executemany() turns this into one multi-row INSERT per batch: one round trip, one commit.
INSERT INTO bountyboard (id, task_name, queue, payload, retry_on_failure, retry_limit)
VALUES (%s, %s, %s, %s, %s, %s)

-- insert_task_if_missing --
-- Retry of a batch whose COMMIT may have landed: the client-made ids make it idempotent.
INSERT IGNORE INTO bountyboard (id, task_name, queue, payload, retry_on_failure, retry_limit)
VALUES (%s, %s, %s, %s, %s, %s)

-- get_task --
SELECT id, status, task_name, queue, payload, result, worker_id, retry_on_failure,
       retry_count, retry_limit, attempt, created_at, updated_at, started_at, finished_at
FROM bountyboard WHERE id = %(id)s

-- register_peon --
-- Re-using an id takes the row over with a new session; the old process (if any) sees its
-- session gone at its next heartbeat and stops claiming under that identity.
INSERT INTO peon (id, status, last_heartbeat, current_task, queues, hostname, pid, session,
                  concurrency, running_tasks, started_at)
VALUES (%(id)s, 'PREPARING', NOW(6), NULL, %(queues)s, %(hostname)s, %(pid)s, %(session)s,
        %(concurrency)s, 0, NOW(6))
ON DUPLICATE KEY UPDATE status = 'PREPARING', last_heartbeat = NOW(6), current_task = NULL,
    queues = VALUES(queues), hostname = VALUES(hostname), pid = VALUES(pid),
    session = VALUES(session), concurrency = VALUES(concurrency), running_tasks = 0,
    started_at = NOW(6)

-- heartbeat --
-- Matches nothing once the janitor declared us dead or another process took the id over.
UPDATE peon SET last_heartbeat = NOW(6)
WHERE id = %(id)s AND session = %(session)s AND status <> 'OFFLINE'

-- peon_row --
SELECT id, status, session, last_heartbeat, current_task, running_tasks, concurrency
FROM peon WHERE id = %(id)s

-- set_peon_status --
UPDATE peon SET status = %(status)s
WHERE id = %(id)s AND session = %(session)s AND status <> 'OFFLINE'

-- update_peon_state --
-- In every complete/claim transaction, before any task row changes: it locks our row and
-- proves we are still the live owner of this id, so a peon declared dead cannot claim.
-- It also counts as a heartbeat: after an outage the main connection often comes back
-- before the heartbeat thread's, and a peon claiming work is alive.
UPDATE peon SET status = %(status)s, current_task = %(current_task)s,
    running_tasks = %(running_tasks)s, tasks_done = tasks_done + %(done)s,
    last_heartbeat = NOW(6)
WHERE id = %(id)s AND session = %(session)s AND status <> 'OFFLINE'

-- mark_peon_offline --
UPDATE peon SET status = 'OFFLINE', current_task = NULL, running_tasks = 0
WHERE id = %(id)s AND session = %(session)s

-- claim_probe --
-- Idle polls send only this plain read (no transaction, no locks); the locking claim runs
-- only when it sees work. Uses ix_bountyboard_claim.
SELECT 1 FROM bountyboard
WHERE status = 'PENDING' AND queue = %s AND task_name IN ({names})
LIMIT 1

-- claim_select --
-- ORDER BY matches ix_bountyboard_claim (status, queue, created_at) exactly, so LIMIT n
-- reads and locks n rows; SKIP LOCKED lets concurrent peons take the next ones.
SELECT id, task_name, payload, attempt, retry_count FROM bountyboard
WHERE status = 'PENDING' AND queue = %s AND task_name IN ({names})
ORDER BY created_at
LIMIT %s
FOR UPDATE SKIP LOCKED

-- claim_mark --
-- Marks the selected rows RUNNING in the claim transaction; attempt + 1 is the fencing
-- token completion must present. A plain single-table UPDATE: the peon row was updated
-- (and ownership proven) by update_peon_state in the same transaction. (A multi-table
-- UPDATE joining peon here crashed MariaDB 10.11.19 under load: signal 11 in
-- multi_update::initialize_tables.)
UPDATE bountyboard
SET status = 'RUNNING', worker_id = %s, peon_session = %s, attempt = attempt + 1,
    started_at = NOW(6), finished_at = NULL
WHERE id IN ({ids}) AND status = 'PENDING'

-- complete_tasks --
-- Every outcome of one loop pass in one statement. Fenced: a row is written only if it is
-- still RUNNING under this peon session and the attempt this run claimed; a peon whose task
-- was reclaimed (declared dead, reassigned) matches nothing. Parameters: status cases,
-- result cases, failed (0/1) cases, ids, worker_id, session, attempt cases.
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
-- Graceful shutdown: a task we will not finish goes back to PENDING (fenced like completion).
UPDATE bountyboard
SET status = 'PENDING', worker_id = NULL, peon_session = NULL, started_at = NULL
WHERE id = %(id)s AND status = 'RUNNING' AND worker_id = %(worker_id)s
  AND peon_session = %(session)s AND attempt = %(attempt)s

-- release_orphans --
-- After a claim whose COMMIT acknowledgement was lost: rows we own but never received.
UPDATE bountyboard
SET status = 'PENDING', worker_id = NULL, peon_session = NULL, started_at = NULL
WHERE worker_id = %s AND status = 'RUNNING' AND peon_session = %s AND id NOT IN ({ids})

-- insert_log --
INSERT INTO logs (message) VALUES (%(message)s)

-- get_lock --
-- The janitor leader lock lives on a connection of its own; the server frees it when that
-- connection dies, which is what lets a standby take over.
SELECT GET_LOCK(%(name)s, %(timeout)s)

-- holds_lock --
SELECT COALESCE(IS_USED_LOCK(%(name)s) = CONNECTION_ID(), 0)

-- release_lock --
SELECT RELEASE_LOCK(%(name)s)

-- dead_peons --
-- Any status but OFFLINE (WORKING included): a peon that stopped heartbeating is dead.
-- SKIP LOCKED: a row locked by a live transaction is in use right now; a sweep must never
-- queue behind a peon that was frozen mid-transaction (it tries again next run).
-- status IN (...) + last_heartbeat is a range on ix_peon_status_heartbeat.
SELECT id, status, TIMESTAMPDIFF(MICROSECOND, last_heartbeat, COALESCE(%(now)s, NOW(6))) AS silent_us
FROM peon
WHERE status IN ('IDLE', 'PREPARING', 'WORKING')
  AND last_heartbeat < COALESCE(%(now)s, NOW(6)) - INTERVAL %(threshold_us)s MICROSECOND
ORDER BY last_heartbeat
LIMIT %(batch)s
FOR UPDATE SKIP LOCKED

-- server_uptime --
-- Silence that began with a server restart proves nothing: no peon could heartbeat then.
SHOW GLOBAL STATUS LIKE 'Uptime'

-- declare_peon_dead --
UPDATE peon SET status = 'OFFLINE', current_task = NULL, running_tasks = 0
WHERE id = %(id)s AND status <> 'OFFLINE'
  AND last_heartbeat < COALESCE(%(now)s, NOW(6)) - INTERVAL %(threshold_us)s MICROSECOND

-- orphaned_running_tasks --
-- RUNNING rows whose owner cannot be running them: peon row missing or OFFLINE, the id
-- taken over by another process (session differs), or a one-slot peon whose current_task is
-- another task. A live owner's rows never match: claim and completion change the task row
-- and the peon row in one transaction. Range on ix_bountyboard_claim's status prefix.
-- Never SKIP LOCKED here: a skipped (locked) peon row would LEFT JOIN as NULL and read as
-- "peon row missing". Waits are bounded by the janitor's short innodb_lock_wait_timeout.
SELECT b.id, b.task_name, b.worker_id, b.attempt, b.crash_count, p.status AS peon_status,
       CASE
         WHEN p.id IS NULL THEN 'peon row missing'
         WHEN p.status = 'OFFLINE' THEN 'peon is OFFLINE'
         WHEN b.peon_session IS NULL OR p.session IS NULL OR p.session <> b.peon_session
           THEN 'peon id was taken over by another process'
         ELSE 'peon is working on another task'
       END AS reason
FROM bountyboard b LEFT JOIN peon p ON p.id = b.worker_id
WHERE b.status = 'RUNNING'
  AND (p.id IS NULL
       OR p.status = 'OFFLINE'
       OR b.peon_session IS NULL OR p.session IS NULL OR p.session <> b.peon_session
       OR (p.concurrency = 1 AND (p.current_task IS NULL OR p.current_task <> b.id)))
ORDER BY b.created_at
LIMIT %(batch)s
FOR UPDATE

-- requeue_crashed_task --
UPDATE bountyboard
SET status = 'PENDING', worker_id = NULL, peon_session = NULL, started_at = NULL,
    crash_count = crash_count + 1
WHERE id = %(id)s AND status = 'RUNNING' AND attempt = %(attempt)s

-- fail_crashed_task --
-- Poison pill: the task took its peon down TASK_MAX_CRASHES times; stop feeding it to peons.
UPDATE bountyboard
SET status = 'FAILURE', result = %(result)s, finished_at = NOW(6),
    crash_count = crash_count + 1
WHERE id = %(id)s AND status = 'RUNNING' AND attempt = %(attempt)s

-- failed_tasks_due --
-- FAILURE rows whose backoff min(MULT * 2^(retry_count-1), MAX) has passed. The first
-- finished_at bound (the smallest possible backoff) makes this a range on
-- ix_bountyboard_finished; the second applies each row's own backoff.
SELECT id, task_name, retry_count, retry_limit,
       TIMESTAMPDIFF(MICROSECOND, finished_at, COALESCE(%(now)s, NOW(6))) AS waited_us
FROM bountyboard
WHERE status = 'FAILURE'
  AND finished_at <= COALESCE(%(now)s, NOW(6)) - INTERVAL %(min_backoff_us)s MICROSECOND
  AND retry_on_failure = 1 AND retry_count <= retry_limit AND crash_count < %(max_crashes)s
  AND finished_at <= COALESCE(%(now)s, NOW(6))
      - INTERVAL LEAST(%(multiplier_us)s * POW(2, GREATEST(retry_count, 1) - 1), %(max_us)s)
        MICROSECOND
ORDER BY finished_at
LIMIT %(batch)s
FOR UPDATE SKIP LOCKED

-- reopen_failed_task --
UPDATE bountyboard SET status = 'PENDING', worker_id = NULL, peon_session = NULL,
    started_at = NULL
WHERE id = %(id)s AND status = 'FAILURE'

-- connection_id --
SELECT CONNECTION_ID()

-- running_tasks_of_peon --
-- Uses ix_bountyboard_worker (worker_id, status).
SELECT id, task_name, attempt, crash_count FROM bountyboard
WHERE worker_id = %(worker_id)s AND status = 'RUNNING'
FOR UPDATE

-- board_counts --
-- Operator view: how many tasks per queue, name and status.
SELECT queue, task_name, status, COUNT(*) AS n FROM bountyboard
GROUP BY queue, task_name, status ORDER BY queue, task_name, status

-- retries_waiting --
-- FAILURE rows the janitor will still reopen (the demo waits for these too).
SELECT COUNT(*) FROM bountyboard
WHERE status = 'FAILURE' AND retry_on_failure = 1 AND retry_count <= retry_limit
  AND crash_count < %(max_crashes)s

-- peon_list --
SELECT id, status, last_heartbeat, current_task, queues, hostname, pid, concurrency,
       running_tasks, tasks_done,
       TIMESTAMPDIFF(MICROSECOND, last_heartbeat, NOW(6)) / 1000000 AS silent_s
FROM peon ORDER BY id

-- recent_logs --
SELECT id, message, created_at FROM logs ORDER BY id DESC LIMIT %(limit)s
