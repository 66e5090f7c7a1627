-- schemactl offline SQL: upgrade 0002 -> 0003
-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>
-- Every statement was checked with sqlglot (PostgreSQL dialect).
-- Statements sqlglot could only check as opaque commands: 0 (marked below).

SET lock_timeout = '5s';
SET statement_timeout = '0';
-- String literals below are standard SQL: a backslash is an ordinary character.
SET standard_conforming_strings = on;

-- ============================================================================
-- Revision 0003: drop legacy table and users.image_file
-- Parent: 0002
-- Hazards (of the upgrade):
--   DS101 (data loss) table public.legacy: drops the table and all its rows
--   DS102 (data loss) table public.users, column image_file: drops the column and its values
-- ============================================================================

BEGIN;

DROP INDEX users_image_file_idx;

-- Drops column users.image_file
ALTER TABLE users DROP COLUMN image_file;

-- Drops table legacy
DROP TABLE legacy;

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';

COMMIT;
