-- What operators read: boards, task lists, queues, peons, the janitor's state. Plain reads,
-- no locks. Every one is an index range or a bounded read: none counts a big table (the
-- finished totals come from task_totals, which the janitor keeps).

-- live_counts --
-- PENDING or RUNNING tasks of one status per queue and name: index only on
-- ix_bountyboard_ready (its status range holds queue and task_name), grouped in a temporary
-- table; ORDER BY NULL spares the sort (the caller orders the few groups). Run once
-- live_beyond_cap found fewer than the cap; a bigger backlog is counted by live_counts_capped.
SELECT queue, task_name, %(status)s AS status, COUNT(*) AS n FROM bountyboard
WHERE status = %(status)s
GROUP BY queue, task_name ORDER BY NULL

-- live_beyond_cap --
-- Whether a status has more than %(offset)s tasks: at most that many entries of an index
-- that starts with status, index only, nothing kept.
SELECT 1 FROM bountyboard WHERE status = %(status)s LIMIT 1 OFFSET %(offset)s

-- live_counts_capped --
-- A backlog beyond the cap: per queue and name among the first %(cap)s entries only (the
-- caller shows "at least"), so a huge one costs a bounded read.
SELECT queue, task_name, %(status)s AS status, COUNT(*) AS n FROM (
  SELECT queue, task_name FROM bountyboard WHERE status = %(status)s LIMIT %(cap)s
) live
GROUP BY queue, task_name ORDER BY NULL

-- retries_waiting --
-- FAILURE rows the janitor will still reopen, per queue and name: index only on
-- ix_bountyboard_retry_waiting (only those rows have retry_pending_since). Run once
-- retries_beyond_cap found fewer than the cap.
SELECT queue, task_name, COUNT(*) AS n FROM bountyboard
WHERE retry_pending_since IS NOT NULL AND crash_count < %(max_crashes)s
GROUP BY queue, task_name

-- retries_beyond_cap --
SELECT 1 FROM bountyboard
WHERE retry_pending_since IS NOT NULL AND crash_count < %(max_crashes)s
LIMIT 1 OFFSET %(offset)s

-- retries_waiting_capped --
SELECT queue, task_name, COUNT(*) AS n FROM (
  SELECT queue, task_name FROM bountyboard
  WHERE retry_pending_since IS NOT NULL AND crash_count < %(max_crashes)s
  LIMIT %(cap)s
) waiting
GROUP BY queue, task_name

-- task_totals --
SELECT queue, task_name, status, total FROM task_totals

-- finished_recently --
-- Runs finished in the last %(seconds)s seconds, per status: ranges on ix_bountyboard_finished.
SELECT finished_status AS status, COUNT(*) AS n FROM bountyboard
WHERE finished_status IN ('SUCCESS', 'FAILURE', 'INVALID', 'CANCELLED')
  AND finished_at >= NOW(6) - INTERVAL %(seconds)s SECOND
GROUP BY finished_status

-- next_pending_queue --
-- The next queue name (in order) with PENDING tasks: one index dive per queue.
SELECT MIN(queue) FROM bountyboard WHERE status = 'PENDING' AND queue > %s

-- oldest_due_at_priority --
-- The earliest run_at of one queue and priority: one dive on ix_bountyboard_ready.
SELECT MIN(run_at) FROM bountyboard WHERE status = 'PENDING' AND queue = %s AND priority = %s

-- queue_depth --
-- PENDING tasks of one queue, counting at most %s index entries.
SELECT COUNT(*) FROM (
  SELECT 1 FROM bountyboard WHERE status = 'PENDING' AND queue = %s LIMIT %s
) depth

-- queue_rows --
SELECT name, paused, updated_at FROM queues ORDER BY name

-- peon_list --
SELECT id, status, last_heartbeat, current_task, queues, hostname, pid, concurrency,
       running_tasks, tasks_done, started_at, tasks,
       TIMESTAMPDIFF(MICROSECOND, last_heartbeat, NOW(6)) / 1000000 AS silent_s
FROM peon ORDER BY id

-- recent_logs --
SELECT id, message, created_at, task_id FROM logs ORDER BY id DESC LIMIT %(limit)s

-- task_logs --
-- One task's timeline of janitor actions: ix_logs_task.
SELECT id, message, created_at FROM logs WHERE task_id = %(id)s ORDER BY id

-- janitor_states --
SELECT name, holder, term, at, expires_at, duration_s, detail, updated_at,
       TIMESTAMPDIFF(MICROSECOND, at, NOW(6)) / 1000000 AS age_s
FROM janitor_state ORDER BY name

-- list_tasks --
-- Newest first within one status: a backward range on ix_bountyboard_status_created, from
-- the keyset cursor (created_at, id). The other filters are checked on the rows read, so
-- a filter that matches little reads further (bounded by --since).
SELECT id, status, task_name, queue, worker_id, created_at, started_at, finished_at,
       run_at, priority, retry_count, retry_limit, attempt
FROM bountyboard
WHERE status = %(status)s
  AND created_at >= %(since)s
  AND (created_at < %(before_at)s OR (created_at = %(before_at)s AND id < %(before_id)s))
  AND (%(queue)s IS NULL OR queue = %(queue)s)
  AND (%(name)s IS NULL OR task_name = %(name)s)
  AND (%(peon)s IS NULL OR worker_id = %(peon)s)
  AND (%(text)s IS NULL OR id = %(text)s OR JSON_SEARCH(payload, 'one', %(pattern)s) IS NOT NULL)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s

-- get_task_detail --
SELECT * FROM bountyboard WHERE id = %(id)s

-- retry_candidate --
SELECT id, status, queue, task_name, finished_at, retry_pending_since FROM bountyboard
WHERE id = %(id)s AND status IN ('FAILURE', 'INVALID', 'CANCELLED')
FOR UPDATE

-- retry_task --
-- An operator's retry: a failed, invalid or cancelled task runs again (its retry budget is
-- not touched). IGNORE: a task whose unique key another live task holds stays as it is.
UPDATE IGNORE bountyboard
SET status = 'PENDING', worker_id = NULL, peon_session = NULL, started_at = NULL,
    finished_at = NULL, run_at = NOW(6), cancel_requested = 0
WHERE id = %(id)s AND status IN ('FAILURE', 'INVALID', 'CANCELLED')

-- throughput_since --
-- Finished runs per minute for the chart (kept by the counters sweep; a day at most).
SELECT minute, status, n FROM throughput WHERE minute >= %(since)s ORDER BY minute

-- list_tasks_window --
-- A filtered search that stays bounded: the inner range reads at most %(window)s entries of
-- ix_bountyboard_status_created backwards from the keyset cursor, index only (status,
-- created_at, id), and only those rows are fetched by primary key and checked against the
-- filters. A rare match in a table of millions costs one window per page, never a scan; the
-- caller goes on below task_window_end.
SELECT b.id, b.status, b.task_name, b.queue, b.worker_id, b.created_at, b.started_at,
       b.finished_at, b.run_at, b.priority, b.retry_count, b.retry_limit, b.attempt
FROM (
  SELECT id FROM bountyboard
  WHERE status = %(status)s
    AND created_at >= %(since)s
    AND (created_at < %(before_at)s OR (created_at = %(before_at)s AND id < %(before_id)s))
  ORDER BY created_at DESC, id DESC
  LIMIT %(window)s
) recent
JOIN bountyboard b ON b.id = recent.id
WHERE (%(queue)s IS NULL OR b.queue = %(queue)s)
  AND (%(name)s IS NULL OR b.task_name = %(name)s)
  AND (%(peon)s IS NULL OR b.worker_id = %(peon)s)
  AND (%(text)s IS NULL OR b.id = %(text)s
       OR JSON_SEARCH(b.payload, 'one', %(pattern)s) IS NOT NULL)
ORDER BY b.created_at DESC, b.id DESC
LIMIT %(limit)s

-- task_window_end --
-- The last (oldest) entry a list_tasks_window read, or nothing when the window reached the
-- end of the status: the same range on ix_bountyboard_status_created, index only.
SELECT created_at, id FROM bountyboard
WHERE status = %(status)s
  AND created_at >= %(since)s
  AND (created_at < %(before_at)s OR (created_at = %(before_at)s AND id < %(before_id)s))
ORDER BY created_at DESC, id DESC
LIMIT 1 OFFSET %(offset)s

-- task_by_id --
-- Search by id: the primary key, whatever the table holds.
SELECT id, status, task_name, queue, worker_id, created_at, started_at, finished_at,
       run_at, priority, retry_count, retry_limit, attempt
FROM bountyboard WHERE id = %(id)s

-- logs_before --
-- The janitor's log, newest first, a page at a time: a backward range on the primary key.
SELECT id, message, created_at, task_id FROM logs
WHERE id < %(before)s
ORDER BY id DESC
LIMIT %(limit)s

-- schedule_list --
-- Recurring schedules for the dashboard: one row per schedule, a small table.
SELECT name, task_name, cron, every_seconds, payload, queue, priority, next_run_at,
       last_run_at, last_task_id, active, seen_at, created_at
FROM schedules
ORDER BY name
LIMIT %(limit)s
