"""Sequences behind `default_sql: nextval('...')`: what `create_all()` made of integer keys.

An app that grew up on create_all() has serial columns: an integer, a sequence owned by the
column, and a nextval default. schemactl keeps that as written (inspect gives
`default_sql: nextval('users_id_seq'::regclass)`); the sequence it needs is created here,
owned by its column like a serial's, and set past the values the column already holds.
A sequence owned by a column goes away with it, as in PostgreSQL; others are left alone.
"""

from __future__ import annotations

from schemactl.diff.catalog import Catalog
from schemactl.diff.comparators import Steps
from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.sqltext import qualified, quote_ident, quote_literal


def compare_sequences(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    for key in sorted(set(desired.sequences) - set(current.sequences)):
        schema, name = key
        sequence = qualified(schema, name)
        steps.before.append(SqlStepOp(
            [f"CREATE SEQUENCE {sequence}"], [f"DROP SEQUENCE IF EXISTS {sequence}"],
            StepInfo("create", "sequence", schema, None, name)))
        owner = desired.sequences[key]
        if owner is not None:
            steps.after.append(_own(sequence, owner))
    return steps


def _own(sequence: str, owner: tuple[str, str, str]) -> SqlStepOp:
    schema, table, column = owner
    table_sql, column_sql = qualified(schema, table), quote_ident(column)
    return SqlStepOp(
        [f"ALTER SEQUENCE {sequence} OWNED BY {table_sql}.{column_sql}",
         f"SELECT setval({quote_literal(sequence)}, COALESCE(MAX({column_sql}), 0) + 1, false) "
         f"FROM {table_sql}"],
        [f"ALTER SEQUENCE {sequence} OWNED BY NONE"],
        StepInfo("alter", "sequence", schema, table, sequence, f"owned by {table}.{column}"))
