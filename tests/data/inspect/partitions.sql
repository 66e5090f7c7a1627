-- Partitioning: range (with MINVALUE and a default), list (with NULL), hash, a sub-partition,
-- an expression key, keys and indexes on the parents (their partitions' copies are not
-- objects of their own), a partition in another schema.
CREATE TABLE events (
    id bigint NOT NULL,
    at date NOT NULL,
    city text,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX events_city_idx ON events (city);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_before PARTITION OF events FOR VALUES FROM (MINVALUE) TO ('2024-01-01');
CREATE TABLE events_other PARTITION OF events DEFAULT;
CREATE TABLE shops (id integer NOT NULL, city text, UNIQUE (id, city)) PARTITION BY LIST (city);
CREATE TABLE shops_nl PARTITION OF shops FOR VALUES IN ('amsterdam', 'utrecht', NULL);
CREATE SCHEMA archive;
CREATE TABLE archive.shops_fr PARTITION OF shops FOR VALUES IN ('paris');
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL) PARTITION BY HASH (id);
CREATE TABLE accounts_0 PARTITION OF accounts FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE accounts_1 PARTITION OF accounts FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE sales (id bigint NOT NULL, sold_on date NOT NULL, region text NOT NULL,
                    amount numeric(10, 2) NOT NULL, PRIMARY KEY (id, sold_on, region, amount))
    PARTITION BY RANGE (sold_on, amount);
CREATE TABLE sales_2024 PARTITION OF sales
    FOR VALUES FROM ('2024-01-01', 0) TO ('2025-01-01', 1000.50) PARTITION BY LIST (region);
CREATE TABLE sales_2024_eu PARTITION OF sales_2024 FOR VALUES IN ('eu');
CREATE TABLE sales_2024_rest PARTITION OF sales_2024 DEFAULT;
CREATE TABLE readings (sensor text NOT NULL, value integer) PARTITION BY LIST (lower(sensor));
CREATE TABLE readings_a PARTITION OF readings FOR VALUES IN ('a');
