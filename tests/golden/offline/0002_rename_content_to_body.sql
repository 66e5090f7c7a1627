-- schemactl offline SQL: upgrade 0001 -> 0002
-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>
-- Every statement was checked with sqlglot (PostgreSQL dialect).
-- Statements sqlglot could only check as opaque commands: 1 (marked below).

SET lock_timeout = '5s';
SET statement_timeout = '0';
-- String literals below are standard SQL: a backslash is an ordinary character.
SET standard_conforming_strings = on;

-- ============================================================================
-- Revision 0002: rename content to body, add archived status, index username concurrently
-- Parent: 0001
-- Hazards (of the upgrade):
--   LK102 (long lock) table public.users, index users_created_at_idx: create index without CONCURRENTLY locks writes
-- ============================================================================

-- Transaction group 1 of 5
BEGIN;

ALTER TABLE posts RENAME COLUMN content TO body;

ALTER TABLE posts ADD COLUMN summary TEXT;

COMMENT ON COLUMN posts.summary IS 'Teaser';

-- COMMENT ... IS NULL checked as IS '' (both remove the comment)
COMMENT ON TABLE users IS NULL;

-- COMMENT ... IS NULL checked as IS '' (both remove the comment)
COMMENT ON COLUMN users.username IS NULL;

COMMIT;

-- Transaction group 2 of 5: outside a transaction
-- Outside a transaction: ALTER TYPE ... ADD VALUE cannot run inside a transaction block before PostgreSQL 12, and the new value cannot be used until it is committed.
-- If the script stops after this point, this revision is partly applied.
-- Checked as opaque command: sqlglot could not read its structure.
ALTER TYPE post_status ADD VALUE 'archived';

-- Transaction group 3 of 5
BEGIN;

CREATE INDEX users_created_at_idx ON users (created_at);

COMMIT;

-- Transaction group 4 of 5: outside a transaction
-- Outside a transaction: CREATE INDEX CONCURRENTLY cannot run inside a transaction block.
-- If the script stops after this point, this revision is partly applied.
-- If it fails, it leaves an INVALID index: drop it at once (DROP INDEX CONCURRENTLY IF EXISTS users_image_file_idx;) before running it again.
CREATE INDEX CONCURRENTLY users_image_file_idx ON users (image_file);

-- Transaction group 5 of 5
BEGIN;

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';

COMMIT;
