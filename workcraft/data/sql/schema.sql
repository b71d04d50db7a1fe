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

-- connection_id --
SELECT CONNECTION_ID()

-- session_cipher --
-- Empty when this session is not encrypted (asked for TLS: checked on every new connection).
SHOW SESSION STATUS LIKE 'Ssl_cipher'
