"""Drift as a pure function of two catalogs (the database's, the migrations'), without a
database: each test builds both Catalog values and checks what status would print."""

from __future__ import annotations

from dataclasses import replace

from schemactl.apply.drift import DriftItem, compare
from schemactl.diff.catalog import Catalog, ColumnInfo, Constraint, Index
from schemactl.diff.objects import DbObject


def column(table: str, name: str, type_: str, nullable: bool = True,
           schema: str = "public") -> ColumnInfo:
    return ColumnInfo(schema, table, name, type_, None, None, None, nullable)


def users(schema: str = "public") -> Catalog:
    """users (id, email) with its key, an index on email, a check and a function."""
    catalog = Catalog(schemas={"public", schema})
    catalog.tables.add((schema, "users"))
    for c in (column("users", "id", "integer", False, schema),
              column("users", "email", "character varying(120)", schema=schema)):
        catalog.columns[(schema, "users", c.name)] = c
    catalog.constraints[(schema, "users", "users_pkey")] = Constraint(
        schema, "users", "users_pkey", "p", "PRIMARY KEY (id)")
    catalog.constraints[(schema, "users", "email_long_enough")] = Constraint(
        schema, "users", "email_long_enough", "c", "CHECK (length(email::text) > 3)")
    catalog.indexes[(schema, "users", "users_email")] = Index(
        schema, "users", "users_email", "USING btree (email)")
    function = DbObject("function", schema, "", "greet(integer)",
                        "CREATE OR REPLACE FUNCTION greet(n integer)\n RETURNS text\n"
                        " LANGUAGE sql\nAS $function$SELECT 'hi'$function$\n", (), "")
    catalog.objects[function.key] = function
    return catalog


def test_two_equal_catalogs_are_no_drift() -> None:
    assert compare(users(), users()) == []


def test_a_column_whose_type_changed_shows_both_lines() -> None:
    database = users()
    database.columns[("public", "users", "email")] = column("users", "email", "text")
    assert compare(database, users()) == [DriftItem("table public.users", "changed", [
        "- email character varying(120)", "+ email text"])]


def test_a_column_added_by_hand_is_its_one_line() -> None:
    database = users()
    database.columns[("public", "users", "nickname")] = column("users", "nickname", "text")
    database.columns[("public", "users", "Odd\nName")] = column("users", "Odd\nName", "integer")
    [item] = compare(database, users())
    assert str(item) == "table public.users: differs"
    assert item.diff == ['+ "Odd\nName" integer', "+ nickname text"]


def test_a_dropped_index_and_a_new_table_are_missing_and_extra() -> None:
    database = users()
    del database.indexes[("public", "users", "users_email")]
    database.tables.add(("public", "scratch"))
    database.columns[("public", "scratch", "x")] = column("scratch", "x", "integer")
    assert compare(database, users()) == [
        DriftItem("index public.users_email", "missing",
                  ["- CREATE INDEX users_email ON public.users USING btree (email)"]),
        DriftItem("table public.scratch", "extra", ["+ x integer"]),
    ]


def test_a_changed_check_is_a_change_of_its_table() -> None:
    database = users()
    database.constraints[("public", "users", "email_long_enough")] = Constraint(
        "public", "users", "email_long_enough", "c", "CHECK (length(email::text) > 5)")
    assert compare(database, users()) == [DriftItem("table public.users", "changed", [
        "- CONSTRAINT email_long_enough CHECK (length(email::text) > 3)",
        "+ CONSTRAINT email_long_enough CHECK (length(email::text) > 5)"])]


def test_keys_and_foreign_keys_are_named_as_pg_dump_names_them() -> None:
    database = users()
    database.constraints[("public", "users", "users_pkey")] = Constraint(
        "public", "users", "users_pkey", "p", "PRIMARY KEY (id, email)")
    database.constraints[("public", "users", "users_boss")] = Constraint(
        "public", "users", "users_boss", "f", "FOREIGN KEY (id) REFERENCES users(id)")
    assert [str(item) for item in compare(database, users())] == [
        "constraint public.users users_pkey: differs",
        "fk constraint public.users users_boss: only in the database"]


def test_a_changed_function_shows_the_lines_of_its_body_that_differ() -> None:
    database = users()
    key = ("function", "public", "", "greet(integer)")
    database.objects[key] = replace(database.objects[key], definition=database.objects[
        key].definition.replace("'hi'", "'hello'"))
    assert compare(database, users()) == [DriftItem("function public.greet(integer)", "changed", [
        "- AS $function$SELECT 'hi'$function$", "+ AS $function$SELECT 'hello'$function$"])]


def test_schemactl_own_tables_are_never_drift() -> None:
    database = users()
    for table in ("schemactl_history", "alembic_version"):
        database.tables.add(("public", table))
        database.columns[("public", table, "x")] = column(table, "x", "text")
    database.sequences[("public", "schemactl_history_id_seq")] = (
        "public", "schemactl_history", "id")
    assert compare(database, users()) == []


def test_row_level_security_and_policies_are_drift_too() -> None:
    database = users()
    database.row_security[("public", "users")] = (True, True)
    database.policies[("public", "users", "own")] = "AS PERMISSIVE FOR ALL TO public USING (true)"
    assert [str(item) for item in compare(database, users())] == [
        "policy public.users own: only in the database",
        "row security public.users: only in the database",
        "table public.users: differs"]
    [table] = [item for item in compare(database, users()) if item.object.startswith("table")]
    assert table.diff == ["+ ALTER TABLE ONLY public.users FORCE ROW LEVEL SECURITY;"]


def test_a_tenant_schema_is_compared_alone() -> None:
    database, expected = users("tenant_a"), users("tenant_a")
    database.tables.add(("public", "elsewhere"))  # another schema: not this tenant's drift
    database.columns[("tenant_a", "users", "email")] = column(
        "users", "email", "text", schema="tenant_a")
    assert [str(item) for item in compare(database, expected, "tenant_a")] == [
        "table tenant_a.users: differs"]
    assert "table public.elsewhere: only in the database" in map(str, compare(database, expected))


def test_a_comment_changed_by_hand_is_a_change_of_its_table() -> None:
    database, expected = users(), users()
    expected.comments[("public", "users", "")] = "people"
    database.comments[("public", "users", "")] = "people"
    database.comments[("public", "users", "email")] = "it's unique"
    assert compare(database, expected) == [DriftItem("table public.users", "changed", [
        "+ COMMENT ON COLUMN email IS 'it''s unique'"])]
