-- schemactl offline SQL: downgrade head -> base
-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>
-- Every statement was checked with sqlglot (PostgreSQL dialect).
-- Statements sqlglot could only check as opaque commands: 1 (marked below).

SET lock_timeout = '5s';
SET statement_timeout = '0';
-- String literals below are standard SQL: a backslash is an ordinary character.
SET standard_conforming_strings = on;

-- ============================================================================
-- Downgrade: undo revision 0003: drop legacy table and users.image_file
-- Parent: 0002
-- Hazards (of the upgrade):
--   DS101 (data loss) table public.legacy: drops the table and all its rows
--   DS102 (data loss) table public.users, column image_file: drops the column and its values
-- ============================================================================

BEGIN;

CREATE TABLE legacy (
    id SERIAL NOT NULL,
    CONSTRAINT legacy_pkey PRIMARY KEY (id)
);

ALTER TABLE users ADD COLUMN image_file VARCHAR(200) DEFAULT 'default.jpg';

CREATE INDEX users_image_file_idx ON users (image_file);

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0003';

COMMIT;

-- ============================================================================
-- Downgrade: undo revision 0002: rename content to body, add archived status, index username concurrently
-- Parent: 0001
-- Hazards (of the upgrade):
--   LK102 (long lock) table public.users, index users_created_at_idx: create index without CONCURRENTLY locks writes
-- This downgrade drops: column posts.summary
-- ============================================================================

-- Transaction group 1 of 2: outside a transaction
-- Outside a transaction: DROP INDEX CONCURRENTLY cannot run inside a transaction block.
-- If the script stops after this point, this revision is partly applied.
DROP INDEX CONCURRENTLY users_image_file_idx;

-- Transaction group 2 of 2
BEGIN;

DROP INDEX users_created_at_idx;

DROP INDEX posts_published_idx;

ALTER TABLE posts ALTER COLUMN status DROP DEFAULT;

-- Checked as opaque command: sqlglot could not read its structure.
ALTER TYPE post_status RENAME TO post_status_old;

CREATE TYPE post_status AS ENUM ('draft', 'published');

ALTER TABLE posts ALTER COLUMN status TYPE post_status USING status::text::post_status;

ALTER TABLE posts ALTER COLUMN status SET DEFAULT 'draft';

-- cannot tell which values enum post_status lost (its labels were not seen)
DROP TYPE post_status_old;

CREATE INDEX posts_published_idx ON posts (user_id) WHERE status = 'published';

COMMENT ON COLUMN users.username IS 'Login name';

COMMENT ON TABLE users IS 'People who write posts';

-- Drops column posts.summary
ALTER TABLE posts DROP COLUMN summary;

ALTER TABLE posts RENAME COLUMN body TO content;

UPDATE alembic_version SET version_num='0001' WHERE alembic_version.version_num = '0002';

COMMIT;

-- ============================================================================
-- Downgrade: undo revision 0001: create users, posts and a legacy table
-- Parent: (none: first revision)
-- Hazards: none
-- This downgrade drops: table legacy, table posts, table users, type post_status
-- ============================================================================

BEGIN;

-- Drops table legacy
DROP TABLE legacy;

DROP INDEX posts_published_idx;

-- Drops table posts
DROP TABLE posts;

-- Drops table users
DROP TABLE users;

-- Drops type post_status
DROP TYPE post_status;

DELETE FROM alembic_version WHERE alembic_version.version_num = '0001';

COMMIT;
