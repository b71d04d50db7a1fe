-- What operators read: counts, peons, the janitor's recent actions. Plain reads, no locks.

-- board_counts --
-- How many tasks per queue, name and status.
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
