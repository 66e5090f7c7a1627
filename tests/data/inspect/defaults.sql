-- Literal defaults come back as `default:`, everything else as `default_sql:`, both exactly.
CREATE SCHEMA shop;
CREATE TYPE shop.state AS ENUM ('new', 'paid', 'it''s "done"');
CREATE TABLE shop.orders (
    id integer PRIMARY KEY,
    note text NOT NULL DEFAULT 'it''s a "test" \ ü',
    empty_text text DEFAULT '',
    code char(3) DEFAULT 'ab',
    state shop.state NOT NULL DEFAULT 'paid',
    quantity integer NOT NULL DEFAULT 1,
    balance bigint NOT NULL DEFAULT -5,
    small smallint DEFAULT 0,
    price numeric(10,2) NOT NULL DEFAULT 0.00,
    ratio double precision DEFAULT 1.5,
    paid boolean NOT NULL DEFAULT false,
    tags text[] NOT NULL DEFAULT '{}',
    levels integer[] DEFAULT '{1,2,3}',
    words varchar(20)[] DEFAULT '{a,b}',
    attrs jsonb NOT NULL DEFAULT '{"a": [1, 2], "b": null}',
    raw json DEFAULT '{"a":1}',
    day date DEFAULT '2020-01-31',
    at timestamp DEFAULT CURRENT_TIMESTAMP,
    token uuid DEFAULT gen_random_uuid(),
    span interval DEFAULT '1 day',
    host inet DEFAULT '127.0.0.1',
    upper_note text DEFAULT upper('x'),
    nothing varchar(10) DEFAULT NULL
);
