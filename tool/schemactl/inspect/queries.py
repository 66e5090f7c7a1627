"""The catalog queries of `schemactl inspect`: one query per kind, for the whole database.

Each query returns rows for every schema at once (a big schema costs the same number of
round trips as a small one). They share two filters: the namespaces a user owns
(%(schemas)s: NULL for all of them, else a list) and "not created by an extension".
"""

from __future__ import annotations

# Namespaces that hold user objects: not PostgreSQL's own, optionally restricted by --schema.
_NS = """
    {n}.nspname NOT IN ('pg_catalog', 'information_schema')
    AND {n}.nspname NOT LIKE 'pg\\_toast%%' AND {n}.nspname NOT LIKE 'pg\\_temp\\_%%'
    AND (%(schemas)s::text[] IS NULL OR {n}.nspname = ANY(%(schemas)s::text[]))
"""


def ns(alias: str) -> str:
    return _NS.format(n=alias)


def acl_differs(acl: str, default: str) -> str:
    """SQL: true when the ACL grants more or less than the object's default privileges.
    NULL is the default; so is an ACL holding just the default's items (in any order), which
    a GRANT then REVOKE leaves behind: `acl IS NOT NULL` alone would report it."""
    return f"({acl} IS NOT NULL AND NOT ({acl} @> ({default}) AND {acl} <@ ({default})))"


# The public schema's usual ACL as created with a database (usage for all since PostgreSQL
# 15; usage and create before): not a grant anyone made.
# (An aclitem from its text form, `=UC/owner`: makeaclitem takes one privilege at a time
# before PostgreSQL 16.)
_PUBLIC_SCHEMA_DEFAULTS = " AND ".join(
    acl_differs("n.nspacl", f"acldefault('n', n.nspowner) || "
                            f"('={letters}/' || quote_ident(pg_get_userbyid(n.nspowner)))::aclitem")
    for letters in ("U", "UC"))


def not_from_extension(catalog: str, oid: str) -> str:
    """Objects that belong to an extension are the extension's, not the user's schema."""
    return f"""NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '{catalog}'::regclass
               AND dep.objid = {oid} AND dep.deptype = 'e')"""


SCHEMAS = f"""
SELECT n.nspname AS name, obj_description(n.oid, 'pg_namespace') AS comment
FROM pg_namespace n
WHERE {ns('n')} AND {not_from_extension('pg_namespace', 'n.oid')}
ORDER BY 1
"""

EXTENSIONS = """
SELECT e.extname AS name, n.nspname AS schema,
       CASE WHEN e.extversion IS DISTINCT FROM a.default_version THEN e.extversion END AS version
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
LEFT JOIN pg_available_extensions a ON a.name = e.extname
WHERE e.extname <> 'plpgsql'
ORDER BY 1
"""

_RELATION_ACL = """acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)"""

# Every relation: tables become TableSpecs, the rest is reported as not supported.
# owner_*: the column a sequence belongs to (identity: deptype i, serial/OWNED BY: deptype a).
RELATIONS = f"""
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind,
       c.relpersistence AS persistence, c.relispartition AS is_partition,
       c.relrowsecurity AS row_security, {acl_differs("c.relacl", _RELATION_ACL)} AS has_grants,
       c.reloptions IS NOT NULL AS has_options, c.reloptions AS options,
       EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AS inherits,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       (SELECT i.inhparent FROM pg_inherits i WHERE c.relispartition AND i.inhrelid = c.oid)
           AS parent_oid,
       obj_description(c.oid, 'pg_class') AS comment,
       own.deptype AS owned_how, own.refobjid AS owner_table, own.refobjsubid AS owner_column
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_depend own ON c.relkind = 'S' AND own.classid = 'pg_class'::regclass
     AND own.objid = c.oid AND own.refclassid = 'pg_class'::regclass AND own.deptype IN ('a', 'i')
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {ns('n')}
  AND {not_from_extension('pg_class', 'c.oid')}
ORDER BY n.nspname, c.relname
"""

# Columns of every table. elem_*: the type itself, or for an array its element type.
COLUMNS = f"""
SELECT a.attrelid AS table_oid, a.attnum AS num, a.attname AS name, a.attnotnull AS not_null,
       a.attidentity AS identity, a.attgenerated AS generated,
       pg_get_expr(ad.adbin, ad.adrelid) AS expr,
       col_description(a.attrelid, a.attnum) AS comment,
       format_type(a.atttypid, a.atttypmod) AS formatted, a.atttypmod AS typmod,
       (t.typcategory = 'A' AND t.typelem <> 0) AS is_array,
       et.typname AS elem_name, etn.nspname AS elem_schema, et.typtype AS elem_kind,
       (a.attcollation <> 0 AND a.attcollation <> et.typcollation) AS custom_collation,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> et.typcollation THEN
            CASE WHEN con.nspname = 'pg_catalog' THEN co.collname
                 ELSE con.nspname || '.' || co.collname END END AS collation,
       CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END AS compression,
       CASE WHEN a.attstorage <> t.typstorage THEN
            CASE a.attstorage WHEN 'p' THEN 'plain' WHEN 'e' THEN 'external'
                 WHEN 'x' THEN 'extended' WHEN 'm' THEN 'main' END END AS storage,
       (SELECT ARRAY[s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache]::text[]
               || s.seqcycle::text
        FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
        WHERE a.attidentity <> '' AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
          AND d.classid = 'pg_class'::regclass AND d.deptype = 'i') AS identity_options
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0
                                 THEN t.typelem ELSE t.oid END
JOIN pg_namespace etn ON etn.oid = et.typnamespace
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_namespace con ON con.oid = co.collnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {ns('n')}
  AND {not_from_extension('pg_class', 'c.oid')}
ORDER BY a.attrelid, a.attnum
"""

# Column names of a constraint, in constraint order.
_KEY_NAMES = """ARRAY(SELECT att.attname FROM unnest({keys}) WITH ORDINALITY k(num, ord)
       JOIN pg_attribute att ON att.attrelid = {rel} AND att.attnum = k.num ORDER BY k.ord)"""

CONSTRAINTS = f"""
SELECT con.conrelid AS table_oid, con.conname AS name, con.contype AS kind,
       {_KEY_NAMES.format(keys='con.conkey', rel='con.conrelid')} AS columns,
       {_KEY_NAMES.format(keys='con.confkey', rel='con.confrelid')} AS ref_columns,
       con.confrelid AS ref_oid, fn.nspname AS ref_schema, fc.relname AS ref_table,
       con.confupdtype AS on_update, con.confdeltype AS on_delete,
       con.confmatchtype AS match, con.condeferrable AS deferrable,
       con.condeferred AS deferred, con.convalidated AS validated,
       con.conislocal AS is_local,
       pg_get_constraintdef(con.oid, true) AS definition,
       obj_description(con.oid, 'pg_constraint') AS comment,
       -- an exclusion constraint's index: method, keys (column number, text), predicate
       xam.amname AS excl_method,
       CASE WHEN con.contype = 'x' THEN
            string_to_array(xi.indkey::text, ' ')::int[] END AS excl_attnums,
       CASE WHEN con.contype = 'x' THEN
            ARRAY(SELECT pg_get_indexdef(con.conindid, k, true)
                  FROM generate_series(1, xi.indnkeyatts) k ORDER BY k) END AS excl_keys,
       CASE WHEN con.contype = 'x' THEN
            ARRAY(SELECT o.oprname FROM unnest(con.conexclop) WITH ORDINALITY u(op, ord)
                  JOIN pg_operator o ON o.oid = u.op ORDER BY u.ord) END AS excl_operators,
       pg_get_expr(xi.indpred, xi.indrelid, true) AS excl_where
FROM pg_constraint con
LEFT JOIN pg_index xi ON con.contype = 'x' AND xi.indexrelid = con.conindid
LEFT JOIN pg_class xc ON xc.oid = xi.indexrelid
LEFT JOIN pg_am xam ON xam.oid = xc.relam
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND c.relkind IN ('r', 'p') AND {ns('n')}
  AND con.conparentid = 0  -- not the per-partition clones of a key

ORDER BY con.conrelid, con.conname
"""

# Indexes that do not back a primary key, unique or exclusion constraint.
# keys: per key column, its name (plain column) or expression text, as PostgreSQL prints it.
INDEXES = f"""
SELECT i.indrelid AS table_oid, ic.relname AS name, i.indisunique AS is_unique,
       am.amname AS method, i.indnkeyatts AS key_count,
       string_to_array(i.indkey::text, ' ')::int[] AS attnums,
       string_to_array(i.indoption::text, ' ')::int[] AS options,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnatts) k ORDER BY k) AS keys,
       ARRAY(SELECT coalesce(opc.opcdefault, true)
             FROM unnest(string_to_array(i.indclass::text, ' ')::oid[]) WITH ORDINALITY u(o, ord)
             LEFT JOIN pg_opclass opc ON opc.oid = u.o ORDER BY u.ord) AS default_opclasses,
       EXISTS (SELECT 1 FROM unnest(string_to_array(i.indcollation::text, ' ')::oid[])
                    WITH ORDINALITY u(coll, ord)
               JOIN pg_attribute att ON att.attrelid = i.indrelid
                    AND att.attnum = (string_to_array(i.indkey::text, ' ')::int[])[u.ord]
               WHERE u.coll <> 0 AND u.coll <> att.attcollation) AS custom_collation,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       i.indnullsnotdistinct AS nulls_not_distinct,
       -- per key: its operator class and collation when not the default one, else NULL
       ARRAY(SELECT CASE WHEN coalesce(opc.opcdefault, true) THEN NULL
                         WHEN opn.nspname = 'pg_catalog' THEN opc.opcname
                         ELSE opn.nspname || '.' || opc.opcname END
             FROM unnest(string_to_array(i.indclass::text, ' ')::oid[]) WITH ORDINALITY u(o, ord)
             LEFT JOIN pg_opclass opc ON opc.oid = u.o
             LEFT JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
             ORDER BY u.ord) AS opclass_names,
       ARRAY(SELECT CASE WHEN u.coll = 0
                              OR u.coll = coalesce(att.attcollation, kt.typcollation) THEN NULL
                         WHEN cn.nspname = 'pg_catalog' THEN co.collname
                         ELSE cn.nspname || '.' || co.collname END
             FROM unnest(string_to_array(i.indcollation::text, ' ')::oid[])
                  WITH ORDINALITY u(coll, ord)
             LEFT JOIN pg_attribute att ON att.attrelid = i.indrelid AND att.attnum > 0
                  AND att.attnum = (string_to_array(i.indkey::text, ' ')::int[])[u.ord]
             LEFT JOIN pg_attribute ia ON ia.attrelid = i.indexrelid AND ia.attnum = u.ord
             LEFT JOIN pg_type kt ON kt.oid = ia.atttypid
             LEFT JOIN pg_collation co ON co.oid = u.coll
             LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
             ORDER BY u.ord) AS collation_names,
       ic.reloptions AS storage,
       obj_description(i.indexrelid, 'pg_class') AS comment,
       -- a partition's copy of its parent's index
       EXISTS (SELECT 1 FROM pg_inherits ii WHERE ii.inhrelid = i.indexrelid) AS is_attached
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE c.relkind IN ('r', 'p') AND {ns('n')}
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                  AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
ORDER BY i.indrelid, ic.relname
"""

ENUMS = f"""
SELECT n.nspname AS schema, t.typname AS name,
       array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels,
       obj_description(t.oid, 'pg_type') AS comment
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE {ns('n')} AND {not_from_extension('pg_type', 't.oid')}
GROUP BY n.nspname, t.typname, t.oid
ORDER BY 1, 2
"""

# Everything else the YAML language cannot express yet, as (kind, name) rows.
OTHER_OBJECTS = f"""
SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' ELSE 'window function' END AS kind,
       n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind IN ('a', 'w') AND {ns('n')} AND {not_from_extension('pg_proc', 'p.oid')}
UNION ALL
SELECT 'policy', n.nspname || '.' || c.relname || '.' || pol.polname
FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {ns('n')}
UNION ALL
SELECT 'rule', n.nspname || '.' || c.relname || '.' || r.rulename
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND {ns('n')}
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type'
            WHEN 'r' THEN 'range type' ELSE 'base type' END,
       n.nspname || '.' || t.typname
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE t.typtype IN ('d', 'c', 'r', 'b') AND (t.typtype <> 'c' OR c.relkind = 'c')
  AND NOT (t.typtype = 'b' AND (t.typelem <> 0 OR t.typcategory = 'A'))
  AND {ns('n')} AND {not_from_extension('pg_type', 't.oid')}
UNION ALL
SELECT 'collation', n.nspname || '.' || co.collname
FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE {ns('n')} AND {not_from_extension('pg_collation', 'co.oid')}
UNION ALL
SELECT 'text search configuration', n.nspname || '.' || cfg.cfgname
FROM pg_ts_config cfg JOIN pg_namespace n ON n.oid = cfg.cfgnamespace
WHERE {ns('n')} AND {not_from_extension('pg_ts_config', 'cfg.oid')}
UNION ALL
SELECT 'text search dictionary', n.nspname || '.' || d.dictname
FROM pg_ts_dict d JOIN pg_namespace n ON n.oid = d.dictnamespace
WHERE {ns('n')} AND {not_from_extension('pg_ts_dict', 'd.oid')}
UNION ALL
SELECT 'operator', n.nspname || '.' || o.oprname
FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
WHERE {ns('n')} AND {not_from_extension('pg_operator', 'o.oid')}
UNION ALL
SELECT 'event trigger', e.evtname
FROM pg_event_trigger e
WHERE %(schemas)s::text[] IS NULL AND {not_from_extension('pg_event_trigger', 'e.oid')}
UNION ALL
SELECT 'extended statistics', n.nspname || '.' || s.stxname
FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE {ns('n')}
UNION ALL
SELECT 'default privileges', coalesce(n.nspname, '(database)') || ' for ' || da.defaclrole::regrole
FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace
UNION ALL
SELECT 'event trigger', evtname FROM pg_event_trigger
WHERE {not_from_extension('pg_event_trigger', 'oid')}
UNION ALL
SELECT 'column grant', n.nspname || '.' || c.relname || '.' || a.attname
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND {acl_differs('a.attacl', "acldefault('c', c.relowner)")}
  AND {ns('n')} AND {not_from_extension('pg_class', 'c.oid')}
UNION ALL
SELECT 'schema grant', n.nspname
FROM pg_namespace n
WHERE {acl_differs('n.nspacl', "acldefault('n', n.nspowner)")}
  AND (n.nspname <> 'public' OR ({_PUBLIC_SCHEMA_DEFAULTS}))
  AND {ns('n')} AND {not_from_extension('pg_namespace', 'n.oid')}
UNION ALL
SELECT 'type grant', n.nspname || '.' || t.typname
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {acl_differs('t.typacl', "acldefault('T', t.typowner)")}
  AND {ns('n')} AND {not_from_extension('pg_type', 't.oid')}
UNION ALL
SELECT 'force row level security', n.nspname || '.' || c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relforcerowsecurity AND c.relkind IN ('r', 'p')
  AND {ns('n')} AND {not_from_extension('pg_class', 'c.oid')}
UNION ALL
SELECT 'publication', pubname FROM pg_publication
ORDER BY 1, 2
"""

# The checks and index predicates created again by catalog.settle_expressions, read back.
SETTLED = """
SELECT con.conname AS name, substring(pg_get_constraintdef(con.oid, true)
       FROM '^CHECK \\((.*)\\)( NOT VALID)?$') AS text
FROM pg_constraint con
WHERE con.conname LIKE 'settle\\_%%' AND con.connamespace = pg_my_temp_schema()
UNION ALL
SELECT c.relname, pg_get_expr(i.indpred, i.indrelid, true)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname LIKE 'settle\\_%%' AND c.relnamespace = pg_my_temp_schema()
"""
