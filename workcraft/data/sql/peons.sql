-- The peon table: registration, heartbeats and the peon's own state. A block starts with
-- `-- name --`; the comment lines under it say why it is shaped that way.

-- register_peon --
-- Re-using an id takes the row over with a new session; the old process (if any) sees its
-- session gone at its next heartbeat and stops claiming under that identity.
INSERT INTO peon (id, status, last_heartbeat, current_task, queues, hostname, pid, session,
                  concurrency, running_tasks, started_at, tasks, running_ids)
VALUES (%(id)s, 'PREPARING', NOW(6), NULL, %(queues)s, %(hostname)s, %(pid)s, %(session)s,
        %(concurrency)s, 0, NOW(6), %(tasks)s, '[]')
ON DUPLICATE KEY UPDATE status = 'PREPARING', last_heartbeat = NOW(6), current_task = NULL,
    running_ids = '[]',
    queues = VALUES(queues), hostname = VALUES(hostname), pid = VALUES(pid),
    session = VALUES(session), concurrency = VALUES(concurrency), running_tasks = 0,
    started_at = NOW(6), tasks = VALUES(tasks)

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
-- In claim mode "optimistic", first in every complete/claim transaction, before any task row
-- changes: it locks our row and proves we are still the live owner of this id, so a peon
-- declared dead cannot claim. (Mode skip_locked splits it: claim_peon_row, set_peon_running.)
-- It also counts as a heartbeat: after an outage the main connection often comes back
-- before the heartbeat thread's, and a peon claiming work is alive. last_heartbeat is
-- indexed (ix_peon_status_heartbeat), so it is only moved when it is a second old: a busy
-- peon runs this hundreds of times a second.
UPDATE peon SET status = %(status)s, current_task = %(current_task)s,
    running_tasks = %(running_tasks)s, running_ids = %(running_ids)s,
    tasks_done = tasks_done + %(done)s,
    last_heartbeat = IF(last_heartbeat < NOW(6) - INTERVAL 1 SECOND, NOW(6), last_heartbeat)
WHERE id = %(id)s AND session = %(session)s AND status <> 'OFFLINE'

-- claim_peon_row --
-- The first statement of a claim transaction (skip_locked mode), sent with the outcomes in
-- one round trip: it locks our row and proves we are still the live owner of this id, so a
-- peon declared dead claims nothing (the caller marks no row RUNNING when this matches
-- none). It also counts as a heartbeat, like update_peon_state. set_peon_running then
-- writes what runs, with the claim's COMMIT.
UPDATE peon SET tasks_done = tasks_done + %(done)s,
    last_heartbeat = IF(last_heartbeat < NOW(6) - INTERVAL 1 SECOND, NOW(6), last_heartbeat)
WHERE id = %(id)s AND session = %(session)s AND status <> 'OFFLINE'

-- set_peon_running --
-- What this peon runs once the transaction commits (its row is locked by claim_peon_row).
UPDATE peon SET status = %(status)s, current_task = %(current_task)s,
    running_tasks = %(running_tasks)s, running_ids = %(running_ids)s
WHERE id = %(id)s AND session = %(session)s

-- mark_peon_offline --
UPDATE peon SET status = 'OFFLINE', current_task = NULL, running_tasks = 0, running_ids = '[]'
WHERE id = %(id)s AND session = %(session)s
