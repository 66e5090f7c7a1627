-- Deferrable primary keys and unique constraints (musicbrainz and migra use them).
CREATE TABLE tracks (
    medium integer,
    position integer,
    title text,
    CONSTRAINT tracks_pkey PRIMARY KEY (medium, position) DEFERRABLE,
    CONSTRAINT tracks_title_key UNIQUE (medium, title) DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE labels (
    id integer PRIMARY KEY DEFERRABLE INITIALLY DEFERRED,
    code text UNIQUE DEFERRABLE INITIALLY IMMEDIATE
);
