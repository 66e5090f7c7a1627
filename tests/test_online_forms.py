"""The lock-safe forms and the transaction groups, as pure functions (no database): what a
step's statements become, and where the revision file commits."""

from __future__ import annotations

import pytest
from alembic.operations import ops

from schemactl.diff.groups import in_groups
from schemactl.diff.online import safe_statements
from schemactl.diff.ops import OutsideTransactionOp, SqlStepOp, StepInfo
from schemactl.plan import locks


@pytest.mark.parametrize(("statement", "safe"), [
    ("CREATE INDEX ix ON t (a)", ["CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON t (a)"]),
    # Unnamed: IF NOT EXISTS needs a name.
    ("CREATE INDEX ON t (a)", ["CREATE INDEX CONCURRENTLY ON t (a)"]),
    ("CREATE INDEX CONCURRENTLY ix ON t (a)", ["CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON t (a)"]),
    ("CREATE UNIQUE INDEX ix ON s.t (lower(a)) WHERE b", [
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ix ON s.t (lower(a)) WHERE b"]),
    ("DROP INDEX s.ix", ["DROP INDEX CONCURRENTLY IF EXISTS s.ix"]),
    ('DROP INDEX IF EXISTS "my ix"', ['DROP INDEX CONCURRENTLY IF EXISTS "my ix"']),
    ("DROP INDEX a, b", ["DROP INDEX a, b"]),  # several: kept
    ("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", [
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
        "ALTER TABLE t VALIDATE CONSTRAINT c"]),
    ('ALTER TABLE "My T" ADD CONSTRAINT "f k" FOREIGN KEY(a) REFERENCES p (id) ON DELETE CASCADE', [
        'ALTER TABLE "My T" ADD CONSTRAINT "f k" FOREIGN KEY(a) REFERENCES p (id) ON DELETE '
        'CASCADE NOT VALID',
        'ALTER TABLE "My T" VALIDATE CONSTRAINT "f k"']),
    ("ALTER TABLE t ADD CONSTRAINT k UNIQUE (a, b) INCLUDE (c) DEFERRABLE INITIALLY DEFERRED", [
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS k ON t (a, b) INCLUDE (c)",
        "ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX k DEFERRABLE INITIALLY DEFERRED"]),
    ("ALTER TABLE s.t ADD CONSTRAINT pk PRIMARY KEY (id)", [
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS pk ON s.t (id)",
        "ALTER TABLE s.t ADD CONSTRAINT pk PRIMARY KEY USING INDEX pk"]),
    ("ALTER TABLE t ADD CONSTRAINT k UNIQUE NULLS NOT DISTINCT (a)", [
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS k ON t (a) NULLS NOT DISTINCT",
        "ALTER TABLE t ADD CONSTRAINT k UNIQUE USING INDEX k"]),
    # No safe form: kept as they are (the lock analyzer keeps their hazard).
    ("ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) WITH (fillfactor = 70)",
     ["ALTER TABLE t ADD CONSTRAINT k UNIQUE (a) WITH (fillfactor = 70)"]),
    ("ALTER TABLE t ADD CONSTRAINT x EXCLUDE USING gist (r WITH &&)",
     ["ALTER TABLE t ADD CONSTRAINT x EXCLUDE USING gist (r WITH &&)"]),
    ("ALTER TABLE t DROP CONSTRAINT c", ["ALTER TABLE t DROP CONSTRAINT c"]),
    ("ALTER TABLE s.t ALTER COLUMN a SET NOT NULL", [
        "ALTER TABLE s.t ADD CONSTRAINT t_a_not_null CHECK (a IS NOT NULL) NOT VALID",
        "ALTER TABLE s.t VALIDATE CONSTRAINT t_a_not_null",
        "ALTER TABLE s.t ALTER COLUMN a SET NOT NULL",
        "ALTER TABLE s.t DROP CONSTRAINT t_a_not_null"]),
])
def test_each_statement_takes_its_lock_safe_form(statement: str, safe: list[str]) -> None:
    assert safe_statements([statement]) == safe
    assert safe_statements(safe) == safe, "a safe form is kept as it is"


def test_statements_that_commit_by_themselves_can_run_again() -> None:
    """A statement outside a transaction commits before apply records its group: a run that
    stops in between runs it again, so it says IF [NOT] EXISTS, and the lock model and the
    transaction groups still know it for what it is."""
    for statement in ("CREATE INDEX ix ON t (a)", "DROP INDEX ix",
                      "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a)"):
        safe = safe_statements([statement])[0]
        assert " IF NOT EXISTS " in safe or " IF EXISTS " in safe, safe
        kind = locks.classify(safe)
        assert kind is not None and not kind.transaction, safe
        assert locks.table_of(safe) in (None, "t")
        grouped = in_groups(ops.UpgradeOps([_step(safe)])).ops
        assert [type(op).__name__ for op in grouped] == ["OutsideTransactionOp"]


def test_safe_forms_hold_no_lock_that_blocks_writes_through_a_scan() -> None:
    for statement in ("CREATE INDEX ix ON t (a)", "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)",
                      "ALTER TABLE t ADD CONSTRAINT k UNIQUE (a)", "DROP INDEX ix"):
        for kind in locks.classify_all(safe_statements([statement])):
            assert kind is not None
            assert not (kind.cost.touches_rows and kind.lock.blocks_writes), (statement, kind)


def _step(*statements: str) -> SqlStepOp:
    return SqlStepOp(list(statements), [], StepInfo("create", "check", "public", "t", "c"))


def test_groups_cut_where_the_lock_model_says() -> None:
    upgrade = ops.UpgradeOps([
        _step("ALTER TABLE t ADD COLUMN a int"),
        _step("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
              "ALTER TABLE t VALIDATE CONSTRAINT c"),
        _step("CREATE INDEX CONCURRENTLY ix ON t (a)"),
        _step("COMMENT ON TABLE t IS 'x'"),
    ])
    grouped = in_groups(upgrade).ops
    shape = [" ".join(op.statements[0].split()[:4]) if isinstance(op, SqlStepOp)
             else type(op).__name__ for op in grouped]
    assert shape == [
        "ALTER TABLE t ADD",
        "ALTER TABLE t ADD",  # with the column: catalog only, in one transaction
        "CommitGroupOp",
        "ALTER TABLE t VALIDATE",  # alone: it scans, holding nothing else
        "CommitGroupOp",
        "OutsideTransactionOp",  # a group of its own, outside a transaction
        "COMMENT ON TABLE t",
    ]
    assert isinstance(grouped[5], OutsideTransactionOp)


def test_a_revision_without_such_statements_stays_one_transaction() -> None:
    upgrade = ops.UpgradeOps([_step("ALTER TABLE t ADD COLUMN a int"),
                              _step("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)")])
    assert in_groups(upgrade) is upgrade


def test_set_not_null_after_a_check_on_its_column_is_catalog_only() -> None:
    proven = locks.classify_all([
        "ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL) NOT VALID",
        "ALTER TABLE t VALIDATE CONSTRAINT t_a_nn",
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL"])[-1]
    assert proven is not None and proven.cost is locks.Cost.CATALOG
    other_column = locks.classify("ALTER TABLE t ALTER COLUMN b SET NOT NULL", [
        "ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL)"])
    assert other_column is not None and other_column.cost is locks.Cost.SCAN


def test_a_quoted_name_with_a_blank_is_one_name_to_the_lock_model() -> None:
    kind = locks.classify('ALTER TABLE "order items" VALIDATE CONSTRAINT "my fk"')
    assert kind is not None and kind.key == "validate constraint" and kind.alone
    grouped = in_groups(ops.UpgradeOps([
        _step('ALTER TABLE "order items" ADD CONSTRAINT c CHECK (a > 0) NOT VALID',
              'ALTER TABLE "order items" VALIDATE CONSTRAINT c')])).ops
    assert [type(op).__name__ for op in grouped] == ["SqlStepOp", "CommitGroupOp", "SqlStepOp"]


def test_only_a_validated_check_spares_set_not_null_its_scan() -> None:
    unvalidated = locks.classify("ALTER TABLE t ALTER COLUMN a SET NOT NULL", [
        "ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL) NOT VALID"])
    assert unvalidated is not None and unvalidated.cost is locks.Cost.SCAN


def test_a_set_not_null_inside_a_step_is_proven_before_the_rest_of_the_step() -> None:
    """An identity step: the helper check goes first (the default it drops still fills
    inserts while the check is validated), SET NOT NULL stays where it was, now without a
    scan, and the transaction groups put the validation alone."""
    safe = safe_statements([
        "ALTER TABLE t ALTER COLUMN a DROP DEFAULT",
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
        "ALTER TABLE t ALTER COLUMN a ADD GENERATED BY DEFAULT AS IDENTITY"])
    assert safe == [
        "ALTER TABLE t ADD CONSTRAINT t_a_not_null CHECK (a IS NOT NULL) NOT VALID",
        "ALTER TABLE t VALIDATE CONSTRAINT t_a_not_null",
        "ALTER TABLE t ALTER COLUMN a DROP DEFAULT",
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
        "ALTER TABLE t DROP CONSTRAINT t_a_not_null",
        "ALTER TABLE t ALTER COLUMN a ADD GENERATED BY DEFAULT AS IDENTITY"]
    assert all(kind is not None and not (kind.cost.touches_rows and kind.lock.blocks_writes)
               for kind in locks.classify_all(safe))
    grouped = in_groups(ops.UpgradeOps([_step(*safe)])).ops
    assert [type(op).__name__ for op in grouped] == [
        "SqlStepOp", "CommitGroupOp", "SqlStepOp", "CommitGroupOp", "SqlStepOp"]
