-- Types with precision and fields, text search, ranges, money, xml, bit strings, network,
-- geometric and extension types, arrays of them: each must come back exactly.
CREATE EXTENSION hstore;
CREATE EXTENSION ltree;
CREATE SCHEMA ext;
CREATE EXTENSION citext SCHEMA ext;
CREATE TABLE kinds (
    id integer PRIMARY KEY,
    at3 timestamp(3) with time zone,
    at0 timestamp(0) without time zone NOT NULL DEFAULT now(),
    clock time(0),
    clock_tz time with time zone,
    clock_tz2 time(2) with time zone,
    span interval day to second(3),
    months interval year to month,
    span3 interval(3),
    doc tsvector,
    query tsquery,
    seats int4range,
    periods tstzmultirange,
    days daterange[],
    price money DEFAULT 0,
    body xml,
    flags bit(8),
    one_bit bit,
    mask bit varying(16),
    anybits varbit,
    mac macaddr,
    mac8 macaddr8,
    net cidr,
    host inet,
    spot point,
    straight line,
    edge lseg,
    area box,
    route path,
    shape polygon,
    ring circle,
    lsn pg_lsn,
    snap pg_snapshot,
    old_snap txid_snapshot,
    rel regclass,
    label name,
    oid_col oid,
    attrs hstore,
    tree ltree,
    trees ltree[],
    email ext.citext,
    grid int4range[]
);
CREATE INDEX kinds_doc_idx ON kinds USING gin (doc);
CREATE INDEX kinds_seats_idx ON kinds USING gist (seats);
CREATE INDEX kinds_tree_idx ON kinds USING gist (tree);
