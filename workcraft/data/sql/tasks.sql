-- The bountyboard: enqueue, claim, complete, release. A block starts with `-- name --`;
-- the comment lines under it say why it is shaped that way. Parameters are always
-- %(name)s or %s; `{ids}` / `{names}` expand to a list of %s placeholders and `{cases}` to
-- `WHEN %s THEN %s` pairs (placeholders only, never values).

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

-- claim_probe --
-- Idle polls send only this plain read (no transaction, no locks); the locking claim runs
-- only when it sees work. Uses ix_bountyboard_claim.
SELECT 1 FROM bountyboard
WHERE status = 'PENDING' AND queue = %s AND task_name IN ({names})
LIMIT 1

-- claim_select --
-- ORDER BY matches ix_bountyboard_claim (status, queue, created_at) exactly, so LIMIT n
-- reads and locks n rows; SKIP LOCKED lets concurrent peons take the next ones.
SELECT id, task_name, payload, attempt FROM bountyboard
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
