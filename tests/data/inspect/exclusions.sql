-- Exclusion constraints: columns and expressions, operators, a predicate, another method.
CREATE EXTENSION btree_gist;
CREATE TABLE bookings (
    id integer PRIMARY KEY,
    room integer NOT NULL,
    during tstzrange NOT NULL,
    cancelled boolean NOT NULL DEFAULT false,
    guest text,
    EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (NOT cancelled),
    CONSTRAINT one_guest_name EXCLUDE USING btree (lower(guest) WITH =)
);
