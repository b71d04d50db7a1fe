-- The janitor: its leader lock, its sweeps and the `logs` table they write to. A block
-- starts with `-- name --`; the comment lines under it say why it is shaped that way.

-- insert_log --
INSERT INTO logs (message, task_id, janitor, term)
VALUES (%(message)s, %(task_id)s, %(janitor)s, %(term)s)

-- get_lock --
-- The janitor leader lock lives on a connection of its own; the server frees it when that
-- connection dies, which is what lets a standby take over.
SELECT GET_LOCK(%(name)s, %(timeout)s)

-- holds_lock --
SELECT COALESCE(IS_USED_LOCK(%(name)s) = CONNECTION_ID(), 0)

-- release_lock --
SELECT RELEASE_LOCK(%(name)s)

-- server_uptime --
-- Silence that began with a server restart proves nothing: no peon could heartbeat then.
SHOW GLOBAL STATUS LIKE 'Uptime'

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

-- declare_peon_dead --
UPDATE peon SET status = 'OFFLINE', current_task = NULL, running_tasks = 0
WHERE id = %(id)s AND status <> 'OFFLINE'
  AND last_heartbeat < COALESCE(%(now)s, NOW(6)) - INTERVAL %(threshold_us)s MICROSECOND

-- running_ids_of_peon --
-- Read without locks on the RUNNING range of ix_bountyboard_ready (every peon's running
-- tasks: a short range); running_tasks_of_peon then locks just these rows by primary key,
-- never another peon's.
SELECT id FROM bountyboard WHERE status = 'RUNNING' AND worker_id = %(worker_id)s

-- running_tasks_of_peon --
SELECT id, task_name, attempt, crash_count, cancel_requested FROM bountyboard
WHERE id IN ({ids}) AND worker_id = %s AND status = 'RUNNING'
FOR UPDATE

-- orphaned_running_tasks --
-- RUNNING rows whose owner cannot be running them: peon row missing or OFFLINE, the id
-- taken over by another process (session differs), or a live peon whose list of running
-- tasks (running_ids; a peon from before that column: current_task, one-slot peons only)
-- does not hold it. A live owner's rows never match wrongly: claim and completion change
-- the task row and the peon row in one transaction. Range on ix_bountyboard_ready's status
-- prefix.
-- Never SKIP LOCKED here: a skipped (locked) peon row would LEFT JOIN as NULL and read as
-- "peon row missing". Waits are bounded by the janitor's short innodb_lock_wait_timeout.
SELECT b.id, b.task_name, b.worker_id, b.attempt, b.crash_count, b.cancel_requested,
       CASE
         WHEN p.id IS NULL THEN 'peon row missing'
         WHEN p.status = 'OFFLINE' THEN 'peon is OFFLINE'
         WHEN b.peon_session IS NULL OR p.session IS NULL OR p.session <> b.peon_session
           THEN 'peon id was taken over by another process'
         ELSE 'the peon is not running it'
       END AS reason
FROM bountyboard b LEFT JOIN peon p ON p.id = b.worker_id
WHERE b.status = 'RUNNING'
  AND (p.id IS NULL
       OR p.status = 'OFFLINE'
       OR b.peon_session IS NULL OR p.session IS NULL OR p.session <> b.peon_session
       OR (p.running_ids IS NOT NULL AND NOT JSON_CONTAINS(p.running_ids, JSON_QUOTE(b.id)))
       OR (p.running_ids IS NULL AND p.concurrency = 1
           AND (p.current_task IS NULL OR p.current_task <> b.id)))
ORDER BY b.created_at
LIMIT %(batch)s
FOR UPDATE

-- requeue_crashed_task --
-- Back to PENDING, or CANCELLED if someone asked to cancel it while it ran.
UPDATE bountyboard
SET status = IF(cancel_requested, 'CANCELLED', 'PENDING'), worker_id = NULL,
    peon_session = NULL, started_at = NULL, crash_count = crash_count + 1,
    finished_at = IF(cancel_requested, NOW(6), NULL)
WHERE id = %(id)s AND status = 'RUNNING' AND attempt = %(attempt)s

-- fail_crashed_task --
-- Poison pill: the task took its peon down TASK_MAX_CRASHES times; stop feeding it to peons.
-- retry_count goes past retry_limit: a final failure by every rule (no reopen, and its
-- unique key is free again).
UPDATE bountyboard
SET status = 'FAILURE', result = %(result)s, finished_at = NOW(6),
    crash_count = crash_count + 1, retry_count = GREATEST(retry_count, retry_limit + 1)
WHERE id = %(id)s AND status = 'RUNNING' AND attempt = %(attempt)s

-- failed_tasks_due --
-- FAILURE rows with a retry to come whose backoff min(MULT * 2^(retry_count-1), MAX) has
-- passed. retry_pending_since is finished_at for exactly those rows (NULL for every other),
-- so this is a range on ix_bountyboard_retry_waiting however many final failures are kept. The
-- backoff is computed here once and returned (backoff_us) for the log line; the exponent is
-- capped so a huge retry_count cannot overflow the arithmetic.
SELECT id, task_name, queue, finished_at, retry_count, retry_limit,
       TIMESTAMPDIFF(MICROSECOND, finished_at, COALESCE(%(now)s, NOW(6))) AS waited_us,
       LEAST(%(multiplier_us)s * POW(2, LEAST(GREATEST(retry_count, 1) - 1, 62)), %(max_us)s)
         AS backoff_us
FROM bountyboard
WHERE retry_pending_since <= COALESCE(%(now)s, NOW(6)) - INTERVAL %(min_backoff_us)s MICROSECOND
  AND crash_count < %(max_crashes)s
HAVING waited_us >= backoff_us
ORDER BY retry_pending_since
LIMIT %(batch)s
FOR UPDATE SKIP LOCKED

-- reopen_failed_task --
-- Back in the queue behind what is already due: run_at is the moment it became runnable.
UPDATE bountyboard SET status = 'PENDING', worker_id = NULL, peon_session = NULL,
    started_at = NULL, run_at = COALESCE(%(now)s, NOW(6))
WHERE id = %(id)s AND status = 'FAILURE'

-- delete_finished_tasks --
-- Retention, in small batches (one short transaction each): a range on
-- ix_bountyboard_finished. A FAILURE that will still be retried is never deleted.
DELETE FROM bountyboard
WHERE finished_status = %(status)s
  AND finished_at < COALESCE(%(now)s, NOW(6)) - INTERVAL %(age_us)s MICROSECOND
  AND (retry_pending_since IS NULL OR crash_count >= %(max_crashes)s)
ORDER BY finished_at
LIMIT %(batch)s

-- delete_old_logs --
DELETE FROM logs
WHERE created_at < COALESCE(%(now)s, NOW(6)) - INTERVAL %(age_us)s MICROSECOND
ORDER BY created_at
LIMIT %(batch)s

-- delete_offline_peons --
-- Range on ix_peon_status_heartbeat; default ids are HOSTNAME-PID, one per restart.
DELETE FROM peon
WHERE status = 'OFFLINE'
  AND last_heartbeat < COALESCE(%(now)s, NOW(6)) - INTERVAL %(age_us)s MICROSECOND
ORDER BY last_heartbeat
LIMIT %(batch)s

-- finished_counts --
-- Runs that ended in one final status in a window of finished_at: a range on
-- ix_bountyboard_finished, at most one counting interval's worth of rows. A FAILURE the
-- janitor will still retry is not an outcome yet: it is counted when its last run ends.
SELECT queue, task_name, COUNT(*) AS n FROM bountyboard
WHERE finished_status = %(status)s AND finished_at > %(after)s AND finished_at <= %(until)s
  AND (retry_pending_since IS NULL OR crash_count >= %(max_crashes)s)
GROUP BY queue, task_name

-- finished_per_minute --
-- The same window, per minute of finished_at, for the throughput chart.
SELECT FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP(finished_at) / 60) * 60) AS minute, COUNT(*) AS n
FROM bountyboard
WHERE finished_status = %(status)s AND finished_at > %(after)s AND finished_at <= %(until)s
  AND (retry_pending_since IS NULL OR crash_count >= %(max_crashes)s)
GROUP BY minute

-- add_to_throughput --
INSERT INTO throughput (minute, status, n) VALUES (%(minute)s, %(status)s, %(n)s)
ON DUPLICATE KEY UPDATE n = n + VALUES(n)

-- delete_old_throughput --
DELETE FROM throughput WHERE minute < COALESCE(%(now)s, NOW(6)) - INTERVAL 1 DAY

-- add_to_totals --
INSERT INTO task_totals (queue, task_name, status, total)
VALUES (%(queue)s, %(task_name)s, %(status)s, %(n)s)
ON DUPLICATE KEY UPDATE total = total + VALUES(total)

-- state_row --
SELECT name, holder, term, at, expires_at, duration_s, detail, updated_at
FROM janitor_state WHERE name = %(name)s

-- ensure_state_row --
INSERT IGNORE INTO janitor_state (name) VALUES (%(name)s)

-- advance_watermark --
-- Fenced: only from the value this janitor read, so two janitors never count a window twice.
UPDATE janitor_state SET at = %(until)s
WHERE name = %(name)s AND at <=> %(after)s

-- record_sweep --
INSERT INTO janitor_state (name, at, duration_s, detail)
VALUES (%(name)s, NOW(6), %(duration_s)s, %(detail)s)
ON DUPLICATE KEY UPDATE at = NOW(6), duration_s = VALUES(duration_s), detail = VALUES(detail)

-- record_leader --
-- The leader says so every retry interval; boards show who leads, how, since when it was
-- seen, and its term (lease mode).
INSERT INTO janitor_state (name, holder, term, at, detail)
VALUES ('leader', %(holder)s, %(term)s, NOW(6), %(mode)s)
ON DUPLICATE KEY UPDATE holder = VALUES(holder), term = VALUES(term), at = NOW(6),
    detail = VALUES(detail)

-- watermark_for_update --
-- An outcome an operator retries before the counters saw it is counted by the retry; locking
-- the watermark row makes that and the counters sweep take turns (never twice, never lost).
SELECT at FROM janitor_state WHERE name = %(name)s FOR UPDATE

-- ensure_lease_row --
INSERT IGNORE INTO janitor_state (name, term) VALUES ('lease', 0)

-- take_lease --
-- Lease mode (clusters, where GET_LOCK is per node): take the lease if it is free or
-- expired, or renew our own. term is assigned first, so it compares the OLD holder and
-- expiry: a new holder, or our own lease taken again after it lapsed, is a new term. Only
-- what is read back after COMMIT counts (on Galera a racing node's write fails at COMMIT).
UPDATE janitor_state
SET term = term + IF(holder <=> %(holder)s AND expires_at >= NOW(6), 0, 1),
    holder = %(holder)s,
    expires_at = NOW(6) + INTERVAL %(lease_us)s MICROSECOND,
    at = NOW(6), detail = 'lease'
WHERE name = 'lease'
  AND (holder IS NULL OR expires_at IS NULL OR expires_at < NOW(6) OR holder = %(holder)s)

-- lease_row --
SELECT holder, term, expires_at >= NOW(6) AS valid FROM janitor_state WHERE name = 'lease'

-- give_up_lease --
UPDATE janitor_state SET expires_at = NOW(6) - INTERVAL 1 MICROSECOND
WHERE name = 'lease' AND holder = %(holder)s AND term = %(term)s

-- fence_lease --
-- At the start of every sweep transaction in lease mode: a write to the lease row, so on a
-- cluster a racing takeover and this sweep cannot both commit; matches nothing once the
-- term has moved on or the lease ran out (then the sweep writes nothing).
UPDATE janitor_state SET at = NOW(6)
WHERE name = 'lease' AND holder = %(holder)s AND term = %(term)s AND expires_at >= NOW(6)

-- fence_lock --
-- At the start of every sweep transaction in get_lock mode: our lock connection still holds
-- the leader lock.
SELECT COALESCE(IS_USED_LOCK(%(name)s) = %(connection)s, 0)

-- galera_node --
SHOW VARIABLES LIKE 'wsrep_on'

-- group_replication_members --
-- MySQL Group Replication: members of a running group (the table does not exist elsewhere).
SELECT COUNT(*) FROM performance_schema.replication_group_members
WHERE MEMBER_STATE = 'ONLINE'
