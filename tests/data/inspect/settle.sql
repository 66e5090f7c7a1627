-- Expressions PostgreSQL prints differently once they are created again from its own text:
-- `varchar IN (...)` becomes `= ANY (ARRAY[...]::text[])`, then `ARRAY['a'::varchar::text]`.
-- Inspect must give the stable text, or the YAML would never match the database.
CREATE TABLE orders (
    id integer PRIMARY KEY,
    status varchar(20) NOT NULL,
    kind char(1) NOT NULL,
    amount numeric NOT NULL,
    CONSTRAINT valid_status CHECK (status IN ('pending', 'shipped', 'delivered')),
    CONSTRAINT valid_kind CHECK (kind = ANY ('{a,b}'::bpchar[])),
    CONSTRAINT positive CHECK (amount > 0)
);
CREATE INDEX open_orders ON orders (id) WHERE status IN ('pending', 'shipped');
