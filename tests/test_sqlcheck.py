"""sqlcheck: every statement parsed with sqlglot, classified, and cross-checked with the plan.

Single-statement cases are data (tests/data/sqlcheck/statements.txt); the cross-check with
a revision's hazards is about several statements together and lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from schemactl.render.sqlcheck import EnumLabels, SqlCheckError, check_sql

CASES_FILE = Path(__file__).parent / "data" / "sqlcheck" / "statements.txt"


@dataclass
class Case:
    sql: str
    line: int
    expect: dict[str, str] = field(default_factory=dict)


def load_cases() -> list[Case]:
    cases: list[Case] = []
    sql_lines: list[str] = []
    current: Case | None = None
    for number, line in enumerate(CASES_FILE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#"):
            continue
        if not line.strip():
            current, sql_lines = None, []
            continue
        if line.startswith("=>"):
            if current is None:
                current = Case("\n".join(sql_lines), number)
                cases.append(current)
            key, _, value = line[2:].strip().partition(":")
            current.expect[key.strip()] = value.strip()
        else:
            sql_lines.append(line)
    return cases


CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[f"line{c.line}" for c in CASES])
def test_statement(case: Case) -> None:
    if "error" in case.expect:
        with pytest.raises(SqlCheckError) as raised:
            check_sql([case.sql], "0007")
        message = str(raised.value)
        assert case.expect["error"] in message
        assert "revision 0007" in message
        assert " ".join(case.sql.split())[:40] in message  # the statement is named
        return
    [checked] = check_sql([case.sql], "0007")
    assert checked.kind == case.expect["kind"]
    expected_sql = case.expect["sql"].replace("\\n", "\n") if "sql" in case.expect else case.sql
    assert checked.sql == expected_sql
    assert checked.opaque == ("opaque" in case.expect)
    if "outside" in case.expect:
        assert checked.outside_transaction and case.expect["outside"] in checked.outside_transaction
    else:
        assert checked.outside_transaction is None
    drops = ", ".join(str(d) for d in checked.drops)
    assert drops == case.expect.get("drops", "")
    if "note" in case.expect:
        assert any(case.expect["note"] in note for note in checked.notes)


def test_the_data_file_has_cases_of_every_kind() -> None:
    kinds = {c.expect.get("kind") for c in CASES}
    assert {"create", "alter", "drop", "rename", "data change", "version"} <= kinds
    assert sum("error" in c.expect for c in CASES) >= 5


def hazard(code: str, obj: str) -> dict[str, str]:
    return {"code": code, "kind": "data loss", "object": obj, "message": "m"}


def test_a_drop_the_plan_did_not_mark_is_an_error_naming_the_revision() -> None:
    with pytest.raises(SqlCheckError) as raised:
        check_sql(["ALTER TABLE users DROP COLUMN bio"], "0003", hazards=[])
    message = str(raised.value)
    assert "revision 0003" in message
    assert "drops column users.bio" in message
    assert "DS102" in message
    assert "ALTER TABLE users DROP COLUMN bio" in message


def test_a_drop_marked_for_another_object_is_still_an_error() -> None:
    with pytest.raises(SqlCheckError):
        check_sql(["DROP TABLE posts"], "0003", hazards=[hazard("DS101", "table public.users")])
    with pytest.raises(SqlCheckError):  # right object, wrong code
        check_sql(["DROP TABLE posts"], "0003", hazards=[hazard("DS102", "table public.posts")])


def test_marked_drops_pass() -> None:
    checked = check_sql(
        ["DROP TABLE posts", "ALTER TABLE users DROP COLUMN bio", "DROP TYPE mood",
         "DROP SCHEMA blog", "DROP EXTENSION citext"],
        "0003",
        hazards=[hazard("DS101", "table public.posts"),
                 hazard("DS102", "table public.users, column bio"),
                 hazard("DS105", "enum public.mood"),
                 hazard("DS103", "schema blog"),
                 hazard("DS107", "extension citext")],
    )
    assert [c.kind for c in checked] == ["drop"] * 5


def test_risky_but_not_destructive_hazards_do_not_cover_a_drop() -> None:
    risky = {"code": "DS101", "kind": "may fail on existing data", "object": "table posts",
             "message": "m"}
    with pytest.raises(SqlCheckError):
        check_sql(["DROP TABLE posts"], "0003", hazards=[risky])


def test_dropping_what_the_same_revision_created_is_not_data_loss() -> None:
    checked = check_sql(
        ["CREATE TABLE scratch (a INTEGER)", "ALTER TABLE scratch DROP COLUMN a",
         "DROP TABLE scratch"],
        "0004", hazards=[],
    )
    assert [c.drops for c in checked] == [(), (), ()]


def test_an_enum_rebuild_that_loses_a_value_needs_ds104() -> None:
    """alembic-postgresql-enum rebuilds an enum: rename to _old, create, recast, drop _old."""
    enums = EnumLabels()
    check_sql(["CREATE TYPE mood AS ENUM ('ok', 'it''s fine', 'bad')"], "0001", [], enums)
    rebuild = [
        'ALTER TYPE "public"."mood" RENAME TO "mood_old"',
        "CREATE TYPE \"public\".\"mood\" AS ENUM('ok', 'bad', 'great')",
        'DROP TYPE "public"."mood_old"',
    ]
    with pytest.raises(SqlCheckError) as raised:
        check_sql(rebuild, "0002", [], EnumLabels({k: list(v) for k, v in enums.labels.items()}))
    assert "drops enum value mood.it's fine" in str(raised.value)

    checked = check_sql(rebuild, "0002", [hazard("DS104", "enum mood, value it's fine")], enums)
    assert [str(d) for d in checked[-1].drops] == ["enum value mood.it's fine"]
    assert enums.labels == {"mood": ["ok", "bad", "great"]}


def test_an_enum_rebuild_that_only_adds_values_drops_nothing() -> None:
    enums = EnumLabels({"mood": ["ok", "bad"]})
    checked = check_sql(
        ['ALTER TYPE mood RENAME TO mood_old', "CREATE TYPE mood AS ENUM ('ok', 'meh', 'bad')",
         "DROP TYPE mood_old"],
        "0002", [], enums,
    )
    assert all(not c.drops for c in checked)


def test_added_enum_values_are_followed() -> None:
    enums = EnumLabels({"mood": ["ok"]})
    check_sql(["ALTER TYPE mood ADD VALUE 'bad'", "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine'"],
              "0002", [], enums)
    assert enums.labels == {"mood": ["fine", "bad"]}


def test_every_problem_is_reported_not_only_the_first() -> None:
    with pytest.raises(SqlCheckError) as raised:
        check_sql(["CREATE TABLE a (", "DROP TABLE b", "SELEC 1"], "0005", hazards=[])
    assert len(raised.value.problems) == 3


def test_a_generated_column_dropped_and_added_back_loses_nothing() -> None:
    checked = check_sql(
        ["ALTER TABLE people DROP COLUMN full_name",
         "ALTER TABLE people ADD COLUMN full_name TEXT GENERATED ALWAYS AS (first || last) STORED"],
        "0002", hazards=[],
    )
    assert checked[0].drops == ()
    assert any("generated column" in note for note in checked[0].notes)
    with pytest.raises(SqlCheckError):  # added back as a plain column: the values are gone
        check_sql(["ALTER TABLE people DROP COLUMN full_name",
                   "ALTER TABLE people ADD COLUMN full_name TEXT"], "0002", hazards=[])


def test_enum_labels_written_as_escape_strings_are_followed() -> None:
    enums = EnumLabels()
    check_sql(["CREATE TYPE mood AS ENUM ('ok', E'back\\\\slash')"], "0001", [], enums)
    assert enums.labels == {"mood": ["ok", "back\\slash"]}
    with pytest.raises(SqlCheckError, match=r"drops enum value mood\.back\\slash"):
        check_sql(["ALTER TYPE mood RENAME TO mood_old", "CREATE TYPE mood AS ENUM ('ok')",
                   "DROP TYPE mood_old"], "0002", [], enums)
