-- Schema inspection for `setup_database_tables`. A block starts with `-- name --`; the
-- comment lines under it say why. Parameters are always %(name)s or %s, never values.

-- server_now --
-- The database clock is the only clock: peons and janitors on different hosts agree on it.
SELECT NOW(6)

-- max_allowed_packet --
SELECT @@max_allowed_packet

-- existing_tables --
SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()

-- table_columns --
-- Type, NULL-ness, default and character set: a table made by workcraft 0.5.27 (or on a
-- server whose default is latin1) has columns that differ from ours in those, not only type.
SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, CHARACTER_SET_NAME, COLLATION_NAME
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(table)s

-- table_collation --
-- A table's default collation: columns added to it take its character set.
SELECT TABLE_COLLATION FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(table)s

-- table_indexes --
-- Each index's columns in order: an index whose columns changed is rebuilt by setup.
SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(table)s
ORDER BY INDEX_NAME, SEQ_IN_INDEX

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

-- connection_id --
SELECT CONNECTION_ID()

-- session_isolation --
-- This session's isolation level: tx_isolation on MariaDB before 11.1, transaction_isolation
-- on MySQL 8 (and both on later MariaDB). Operators and tests check what the peon runs at.
SHOW SESSION VARIABLES WHERE Variable_name IN ('tx_isolation', 'transaction_isolation')

-- session_cipher --
-- Empty when this session is not encrypted (asked for TLS: checked on every new connection).
SHOW SESSION STATUS LIKE 'Ssl_cipher'

-- The published original, workcraft 0.5.27, swept with three EVENTs that call three stored
-- procedures. workcraft creates neither; setup finds the original's (by their names, in this
-- database only) to report them, and drops them when asked. information_schema shows them
-- only to a user with the EVENT (resp. routine) privileges on this database.

-- original_events --
SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS
WHERE EVENT_SCHEMA = DATABASE() AND EVENT_NAME IN ({names})
ORDER BY EVENT_NAME

-- original_procedures --
SELECT ROUTINE_NAME FROM information_schema.ROUTINES
WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_NAME IN ({names})
ORDER BY ROUTINE_NAME

-- show_events --
-- Fails with "access denied" for a user without the EVENT privilege on this database: how
-- setup tells "no EVENTs" from "cannot see EVENTs" (information_schema is silent on both).
SHOW EVENTS

-- event_scheduler --
-- Read only, never set: whether EVENTs run on this server now.
SELECT @@GLOBAL.event_scheduler

-- foreign_statuses --
-- Rows whose status is not one of ours: 0.5.27's reopen procedure looked for 'FAILED', and
-- a MySQL in non-strict mode stores a value its ENUM lacks as ''. Counted before the status
-- column is converted, so that a database without such rows is converted in one step.
SELECT COUNT(*) FROM bountyboard
WHERE status IS NULL
   OR status NOT IN ('PENDING', 'RUNNING', 'SUCCESS', 'FAILURE', 'INVALID', 'CANCELLED')

-- log_foreign_statuses --
-- One readable line per row about to be mapped, so no status disappears without a trace.
INSERT INTO logs (message)
SELECT CONCAT('setup: task ', id, ' had status ''', COALESCE(status, 'NULL'),
              ''', which workcraft does not have; it is now ',
              IF(status IN ('FAILED', ''), 'FAILURE', 'INVALID'))
FROM bountyboard
WHERE status IS NULL
   OR status NOT IN ('PENDING', 'RUNNING', 'SUCCESS', 'FAILURE', 'INVALID', 'CANCELLED')

-- map_foreign_statuses --
-- 'FAILED' (0.5.27's typo) and '' (a rejected ENUM value; the only one 0.5.27 could have
-- tried to write is that typo) are failures; anything else cannot be run: INVALID, kept.
-- updated_at = updated_at: the row keeps its time (ON UPDATE would move it to now).
UPDATE bountyboard
SET status = IF(status IN ('FAILED', ''), 'FAILURE', 'INVALID'), updated_at = updated_at
WHERE status IS NULL
   OR status NOT IN ('PENDING', 'RUNNING', 'SUCCESS', 'FAILURE', 'INVALID', 'CANCELLED')
