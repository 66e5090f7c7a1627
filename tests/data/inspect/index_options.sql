-- Per-key order, NULLS, operator classes and collations; storage parameters; NULLS NOT
-- DISTINCT on unique indexes and unique constraints.
CREATE TABLE docs (
    id integer PRIMARY KEY,
    title text NOT NULL,
    slug varchar(100),
    score integer,
    code text,
    CONSTRAINT docs_code_key UNIQUE NULLS NOT DISTINCT (code),
    CONSTRAINT docs_title_slug_uq UNIQUE NULLS NOT DISTINCT (title, slug)
);
CREATE INDEX docs_score_desc ON docs (score DESC);
CREATE INDEX docs_score_nulls ON docs (score NULLS FIRST, id DESC NULLS LAST);
CREATE INDEX docs_title_pattern ON docs (title text_pattern_ops);
CREATE INDEX docs_title_c ON docs (title COLLATE "C");
CREATE INDEX docs_lower_title ON docs (lower(title) COLLATE "C" text_pattern_ops DESC);
CREATE INDEX docs_filled ON docs (slug) WITH (fillfactor = 70, deduplicate_items = off);
CREATE UNIQUE INDEX docs_slug_nnd ON docs (slug) NULLS NOT DISTINCT;
