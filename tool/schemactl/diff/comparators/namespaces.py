"""PostgreSQL schemas and extensions: Alembic creates neither."""

from __future__ import annotations

from schemactl.diff.catalog import Catalog
from schemactl.diff.comparators import Steps
from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.plan.hazards import Hazard
from schemactl.sqltext import quote_ident


def compare_schemas(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    for name in sorted(desired.schemas - current.schemas):
        steps.before.append(SqlStepOp(
            [f"CREATE SCHEMA {quote_ident(name)}"], [f"DROP SCHEMA {quote_ident(name)}"],
            StepInfo("create", "schema", name, None, name,
                     reverse_hazards=(Hazard("DS103", f"schema {name}", "drops the schema"),))))
    # A schema no longer used is left in place: dropping it could take objects we do not manage.
    return steps


def compare_extensions(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    for name in sorted(set(desired.extensions) - set(current.extensions)):
        steps.before.append(SqlStepOp(
            [f"CREATE EXTENSION IF NOT EXISTS {quote_ident(name)}"],
            [f"DROP EXTENSION IF EXISTS {quote_ident(name)}"],
            StepInfo("create", "extension", desired.extensions[name], None, name)))
    for name in sorted(set(current.extensions) - set(desired.extensions)):
        steps.last.append(SqlStepOp(
            [f"DROP EXTENSION {quote_ident(name)}"],
            [f"CREATE EXTENSION IF NOT EXISTS {quote_ident(name)}"],
            StepInfo("drop", "extension", current.extensions[name], None, name,
                     hazards=(Hazard("DS107", f"extension {name}",
                                     "drops the extension and the objects it provides"),))))
    return steps
