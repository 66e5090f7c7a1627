-- Index methods, uniqueness, predicates, INCLUDE and expressions.
CREATE TABLE docs (
    id integer PRIMARY KEY,
    title text NOT NULL,
    body text,
    tags text[],
    data jsonb,
    created date NOT NULL,
    score integer
);
CREATE INDEX ON docs (title);
CREATE INDEX docs_by_title_and_date ON docs (title, created);
CREATE UNIQUE INDEX docs_lower_title ON docs (lower(title));
CREATE INDEX ON docs USING gin (tags);
CREATE INDEX ON docs USING gin (data);
CREATE INDEX ON docs USING brin (created);
CREATE INDEX ON docs USING hash (body);
CREATE INDEX docs_recent ON docs (created) INCLUDE (title, score) WHERE score > 10 AND body IS NOT NULL;
CREATE INDEX docs_mixed ON docs (created, (score * 2), lower(body));
CREATE INDEX docs_fts ON docs USING gin (to_tsvector('english', body));
