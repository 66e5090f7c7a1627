-- schemactl offline SQL: upgrade 0003 -> 0004
-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>
-- Every statement was checked with sqlglot (PostgreSQL dialect).
-- Statements sqlglot could only check as opaque commands: 0 (marked below).

SET lock_timeout = '5s';
SET statement_timeout = '0';
-- String literals below are standard SQL: a backslash is an ordinary character.
SET standard_conforming_strings = on;

-- ============================================================================
-- Revision 0004: add post status
-- Parent: 0003
-- Hazards (of the upgrade):
--   LK102 (long lock) table posts, index posts_published_idx: blocks writes to the table while it builds
-- ============================================================================

BEGIN;

CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived');

ALTER TABLE posts ADD COLUMN status post_status DEFAULT 'draft'::post_status NOT NULL;

CREATE INDEX posts_published_idx ON posts (date_posted) WHERE status = 'published';

UPDATE alembic_version SET version_num='0004' WHERE alembic_version.version_num = '0003';

COMMIT;
