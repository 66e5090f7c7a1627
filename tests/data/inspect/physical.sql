-- Unlogged tables, table storage parameters, column collation, compression and storage.
CREATE UNLOGGED TABLE sessions (
    id integer PRIMARY KEY,
    token text COLLATE "C" NOT NULL,
    data text COMPRESSION pglz,
    blob bytea
) WITH (fillfactor = 70, autovacuum_enabled = false);
ALTER TABLE sessions ALTER COLUMN blob SET STORAGE EXTERNAL;
CREATE TABLE names (id integer PRIMARY KEY, name varchar(50) COLLATE "POSIX");
