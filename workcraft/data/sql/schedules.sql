-- Recurring schedules: peons write their definitions, the janitor leader enqueues each due
-- occurrence. A block starts with `-- name --`; the comment lines under it say why.

-- upsert_schedule --
-- A peon that starts writes its app's schedules. next_run_at is reset (assigned first, so
-- it compares the OLD definition with the new one) only when the timing changed; the janitor
-- then computes it afresh.
INSERT INTO schedules (name, task_name, cron, every_seconds, payload, queue, priority,
                       active, seen_at)
VALUES (%(name)s, %(task_name)s, %(cron)s, %(every)s, %(payload)s, %(queue)s, %(priority)s,
        1, NOW(6))
ON DUPLICATE KEY UPDATE
    next_run_at = IF(cron <=> VALUES(cron) AND every_seconds <=> VALUES(every_seconds),
                     next_run_at, NULL),
    task_name = VALUES(task_name), cron = VALUES(cron), every_seconds = VALUES(every_seconds),
    payload = VALUES(payload), queue = VALUES(queue), priority = VALUES(priority),
    active = 1, seen_at = NOW(6)

-- touch_schedules --
-- With every heartbeat: a live peon still has these schedules in its code.
UPDATE schedules SET seen_at = NOW(6), active = 1 WHERE name IN ({names})

-- due_schedules --
-- Active schedules whose next occurrence has come, or is not computed yet; locked so two
-- janitors never handle one at the same time (SKIP LOCKED: the other takes the next one).
SELECT name, task_name, cron, every_seconds, payload, queue, priority, next_run_at,
       last_run_at, seen_at < COALESCE(%(now)s, NOW(6)) - INTERVAL %(stale_us)s MICROSECOND AS stale
FROM schedules
WHERE active = 1 AND (next_run_at IS NULL OR next_run_at <= COALESCE(%(now)s, NOW(6)))
ORDER BY name
LIMIT %(batch)s
FOR UPDATE SKIP LOCKED

-- set_next_run --
UPDATE schedules SET next_run_at = %(next_run_at)s WHERE name = %(name)s

-- record_occurrence --
-- Fenced like a task completion: only if no janitor has enqueued this occurrence (or a
-- later one) yet. A janitor that wakes up from a freeze with an old view matches nothing.
UPDATE schedules
SET last_run_at = %(occurrence)s, next_run_at = %(next_run_at)s, last_task_id = %(task_id)s
WHERE name = %(name)s AND (last_run_at IS NULL OR last_run_at < %(occurrence)s)

-- deactivate_schedule --
UPDATE schedules SET active = 0 WHERE name = %(name)s AND active = 1
  AND seen_at < COALESCE(%(now)s, NOW(6)) - INTERVAL %(stale_us)s MICROSECOND
