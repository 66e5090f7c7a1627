"""The hazard analysis (plan/analyze.py): each analyzer owns its codes, and judges the
statements of a change with the facts of its typed change; no database needed."""

from __future__ import annotations

import pytest

from schemactl.diff.ops import Facts
from schemactl.plan.analyze import ANALYZERS, Change, analyze
from schemactl.plan.hazards import CODES


def test_every_code_belongs_to_exactly_one_analyzer() -> None:
    owners = [code for analyzer in ANALYZERS for code in analyzer.codes]
    assert sorted(owners) == sorted(CODES)


def _codes(*statements: str, facts: Facts | None = None, created: tuple[str, ...] = (),
           before: tuple[str, ...] = ()) -> list[str]:
    change = Change("table t", statements, before,
                    frozenset(("public", name) for name in created), facts or Facts())
    return [hazard.code for hazard in analyze(change)]


CASES = [
    # (statements, facts, expected codes in the analyzers' order)
    (["DROP TABLE t"], Facts(), ["DS101"]),
    (['ALTER TABLE t DROP COLUMN "Note"'], Facts(), ["DS102"]),
    (["ALTER TABLE t DROP COLUMN g"], Facts(recomputed=True), []),
    (["DROP SCHEMA archive"], Facts(), ["DS103"]),
    (["DROP TYPE mood"], Facts(), ["DS105"]),
    (["DROP EXTENSION hstore"], Facts(), ["DS107"]),
    # An enum made again: its old copy is dropped, the values that go are the loss.
    (["ALTER TYPE mood RENAME TO mood_old", "CREATE TYPE mood AS ENUM ('a')",
      "ALTER TABLE t ALTER COLUMN m TYPE mood USING m::text::mood", "DROP TYPE mood_old"],
     Facts(removed_values=("b",), rewrites=True), ["DS104", "LK101"]),
    (["ALTER TABLE t ALTER COLUMN n TYPE smallint USING n::smallint"],
     Facts(type_change="narrowing", rewrites=True), ["DS106", "LK101"]),
    (["ALTER TABLE t ALTER COLUMN n TYPE integer USING n::integer"],
     Facts(type_change="cast", rewrites=True), ["MF105", "LK101"]),
    (["ALTER TABLE t ALTER COLUMN s TYPE varchar(20) USING s::varchar(20)"],
     Facts(type_change="widening", rewrites=False), []),
    (["ALTER TABLE t ALTER COLUMN n SET NOT NULL"], Facts(), ["MF101", "LK105"]),
    (["ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a)"], Facts(), ["MF102", "LK104"]),
    (["CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a)",
      "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE USING INDEX t_a_key"], Facts(), ["MF102"]),
    (["ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
      "ALTER TABLE t VALIDATE CONSTRAINT c"], Facts(), ["MF103"]),
    (["ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id)"], Facts(),
     ["MF104", "LK105"]),
    (["ALTER TABLE t ADD COLUMN c integer NOT NULL"], Facts(), ["MF106"]),
    (["ALTER TABLE t ADD COLUMN c integer DEFAULT 0 NOT NULL"], Facts(), []),
    (["ALTER TABLE t ADD CONSTRAINT x EXCLUDE USING gist (r WITH &&)"], Facts(), ["MF107"]),
    (["CREATE INDEX t_a_idx ON t (a)"], Facts(), ["LK102"]),
    (["ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a * 2) STORED"], Facts(), ["LK103"]),
    (['ALTER TABLE t ALTER COLUMN s TYPE text COLLATE "C"'], Facts(), ["LK104"]),
    (["DROP INDEX t_a_idx"], Facts(), ["LK106"]),
    (["ALTER TABLE t SET UNLOGGED"], Facts(), ["LK101"]),
    # The lock-safe NOT NULL: the helper check's VALIDATE speaks through SET NOT NULL.
    (["ALTER TABLE t ADD CONSTRAINT t_n_nn CHECK (n IS NOT NULL) NOT VALID",
      "ALTER TABLE t VALIDATE CONSTRAINT t_n_nn", "ALTER TABLE t ALTER COLUMN n SET NOT NULL",
      "ALTER TABLE t DROP CONSTRAINT t_n_nn"], Facts(), ["MF101"]),
]


@pytest.mark.parametrize("statements, facts, expected", CASES,
                         ids=[c[0][-1][:40] for c in CASES])
def test_each_analyzer_on_its_statements(statements: list[str], facts: Facts,
                                         expected: list[str]) -> None:
    assert _codes(*statements, facts=facts) == expected


def test_a_constant_backfill_spares_not_null_its_hazard_an_expression_does_not() -> None:
    fill = ("DO $backfill$ BEGIN LOOP UPDATE t SET n = {} WHERE ctid >= '(0,0)'::tid "
            "AND n IS NULL; COMMIT; END LOOP; END $backfill$")
    set_not_null = "ALTER TABLE t ALTER COLUMN n SET NOT NULL"
    assert "MF101" not in _codes(set_not_null, before=(fill.format("'none'"),))
    assert "MF101" not in _codes(set_not_null, before=(fill.format("0"),))
    assert "MF101" in _codes(set_not_null, before=(fill.format("lower(email)"),))
    atomic = "UPDATE t SET n = 7 WHERE n IS NULL"
    assert "MF101" not in _codes(set_not_null, before=(atomic,))


def test_a_table_created_earlier_in_the_revision_earns_no_data_or_lock_hazard() -> None:
    assert _codes("CREATE INDEX t_a_idx ON t (a)", "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
                  created=("t",)) == []
    assert _codes("DROP TABLE t", created=("t",)) == ["DS101"]  # a drop is a drop


def test_lint_judges_a_statement_with_the_facts_its_plan_recorded() -> None:
    from schemactl.plan.analyze import statement_facts
    from schemactl.plan.build import Step
    from schemactl.plan.lint import lint

    widen = "ALTER TABLE items ALTER COLUMN price TYPE NUMERIC(12, 2) USING price::NUMERIC(12, 2)"
    step = Step("~", "column", "public", "items", "price", sql=(widen,),
                facts=Facts(type_change="widening", rewrites=False))
    recorded = statement_facts([step])
    assert lint("r1", widen + ";\n", [], recorded) == []  # catalog only, as the plan knew
    # Without the facts (or once the statement is edited) lint assumes the worst: a rewrite.
    assert [f.hazard.code for f in lint("r1", widen + ";\n", [], {})] == ["LK101"]
    edited = widen.replace("12, 2", "14, 2")
    assert [f.hazard.code for f in lint("r1", edited + ";\n", [], recorded)] == ["LK101"]
