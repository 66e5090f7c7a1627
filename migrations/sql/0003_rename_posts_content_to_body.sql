-- schemactl offline SQL: upgrade 0002 -> 0003
-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>
-- Every statement was checked with sqlglot (PostgreSQL dialect).
-- Statements sqlglot could only check as opaque commands: 0 (marked below).

SET lock_timeout = '5s';
SET statement_timeout = '0';
-- String literals below are standard SQL: a backslash is an ordinary character.
SET standard_conforming_strings = on;

-- ============================================================================
-- Revision 0003: rename posts.content to body
-- Parent: 0002
-- Hazards: none
-- ============================================================================

BEGIN;

ALTER TABLE posts RENAME COLUMN content TO body;

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';

COMMIT;
