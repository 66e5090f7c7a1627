SET check_function_bodies = off;
CREATE SCHEMA app;
CREATE TABLE film (id integer PRIMARY KEY, title text NOT NULL, rating varchar(10), last_update timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION last_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.last_update = CURRENT_TIMESTAMP;
    RETURN NEW;
END $$;
CREATE FUNCTION app.add(a integer, b integer DEFAULT 1, OUT s integer, OUT d integer) LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF COST 5 AS 'SELECT a + b, a - b';
CREATE FUNCTION add(a integer) RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp RETURN a + 1;
CREATE FUNCTION add(a text) RETURNS TABLE(x text, y int) LANGUAGE sql STABLE BEGIN ATOMIC SELECT a, 1; END;
COMMENT ON FUNCTION add(text) IS 'overloaded';
CREATE PROCEDURE touch(film_id integer) LANGUAGE plpgsql AS $$ BEGIN UPDATE film SET title = title WHERE id = film_id; END $$;
CREATE VIEW film_titles WITH (security_barrier) AS SELECT id, upper(title) AS title FROM film WHERE rating IS NOT NULL;
COMMENT ON VIEW film_titles IS 'shown';
CREATE VIEW r_films AS SELECT id, title FROM film_titles WITH CASCADED CHECK OPTION;
CREATE MATERIALIZED VIEW app.stats AS SELECT rating, count(*) AS n FROM film GROUP BY rating WITH NO DATA;
CREATE UNIQUE INDEX ON app.stats (rating);
CREATE INDEX stats_expr ON app.stats ((n + 1)) WHERE n > 0;
CREATE TRIGGER last_updated BEFORE UPDATE OF title, rating ON film FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title) EXECUTE FUNCTION last_updated();
CREATE TRIGGER t2 AFTER INSERT OR DELETE ON film EXECUTE FUNCTION tsvector_update_trigger('a', 'b''c');
ALTER TABLE film DISABLE TRIGGER t2;
CREATE FUNCTION v_ins() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER v_ins INSTEAD OF INSERT ON r_films FOR EACH ROW EXECUTE FUNCTION v_ins();
CREATE FUNCTION check_film() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE CONSTRAINT TRIGGER check_film AFTER INSERT OR UPDATE ON film DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_film();
CREATE CONSTRAINT TRIGGER check_film2 AFTER DELETE ON film FOR EACH ROW EXECUTE FUNCTION check_film('x');
CREATE FUNCTION broken() RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE film WHERE; END $$;
