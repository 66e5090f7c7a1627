"""Plan -> the Python of an Alembic revision: upgrade() and downgrade() bodies, hazards."""

from __future__ import annotations

import re
from typing import Any, Literal, cast

from alembic.autogenerate import render_python_code
from alembic.migration import MigrationContext
from alembic.operations import ops
from sqlalchemy import PrimaryKeyConstraint

from schemactl.diff.autogen import reverse
from schemactl.diff.groups import in_groups
from schemactl.plan.analyze import statement_facts
from schemactl.plan.build import Plan, build_plan

# Alembic writes a table without columns but with options (UNLOGGED, WITH) as
# `op.create_table('t',\n,\nprefixes=[...])`: the comma of an empty argument list.
_EMPTY_ARGUMENT = re.compile(r"^(\s*op\.create_table\(.*,)\n\s*,\n", re.M)
_ALEMBIC_MARKERS = re.compile(r"^\s*# ### (commands auto generated|end Alembic commands).*\n?",
                              re.MULTILINE)


# Alembic writes SQL fragments (defaults, generated columns, predicates, checks) as
# sa.text('...') or a bare string, and text() re-reads `:word` as a bind parameter when the
# revision runs: 'a :b' would become 'a NULL'. sa.literal_column passes them verbatim, as
# compile built them. String literals are matched first so that their contents are skipped.
_SQL_FRAGMENT = re.compile(
    r"""(?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")"""
    r"""|\bsa\.text\("""
    r"""|\bsa\.CheckConstraint\((?P<check>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")


def _verbatim_sql(code: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["string"]:
            return match["string"]
        if match["check"]:
            return f"sa.CheckConstraint(sa.literal_column({match['check']})"
        return "sa.literal_column("
    return _SQL_FRAGMENT.sub(replace, code)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Alembic writes a primary key without DEFERRABLE / INITIALLY: write those too."""
    if type_ != "primary_key" or not isinstance(obj, PrimaryKeyConstraint) or not obj.deferrable:
        return False
    args = [repr(c.name) for c in obj.columns]
    if obj.name:
        args.append(f"name=op.f({str(obj.name)!r})")
    args.append("deferrable=True")
    if obj.initially:
        args.append(f"initially={obj.initially!r}")
    return f"sa.PrimaryKeyConstraint({', '.join(args)})"


def python_body(container: ops.UpgradeOps | ops.DowngradeOps) -> str:
    """The body of upgrade() or downgrade(), in transaction groups when it is large."""
    container = in_groups(container)
    # paramstyle named: the default (pyformat) would write every % of the SQL doubled.
    context = MigrationContext.configure(dialect_name="postgresql",
                                         dialect_opts={"paramstyle": "named"})
    code = _verbatim_sql(render_python_code(container, migration_context=context,
                                            render_item=_render_item))
    return _EMPTY_ARGUMENT.sub(r"\1\n", _ALEMBIC_MARKERS.sub("", code)).strip() or "pass"


def _hazard_list(plan: Plan) -> str:
    """One hazard record per line, as a person would write the list."""
    if not plan.hazards:
        return "[]"
    return "[\n" + "".join(f"    {h.as_record()!r},\n" for h in plan.hazards) + "]"


def _facts_literal(plan: Plan) -> str:
    facts = statement_facts(plan.steps)
    if not facts:
        return "{}"
    return "{\n" + "".join(f"    {digest!r}: {value!r},\n" for digest, value in facts.items()) + "}"


# A type SQLAlchemy has no class for is rendered as schemactl.sqltypes.PgType('xml').
TYPES_MODULE = "schemactl.sqltypes"


def revision_parts(plan: Plan) -> dict[str, str]:
    """Template arguments for migrations/script.py.mako. The downgrade's hazards are those
    of its own steps (undoing an added column drops it), judged like any plan's."""
    downgrade_ops = reverse(plan.upgrade_ops)
    undo = build_plan(cast(ops.UpgradeOps, downgrade_ops))
    upgrades = python_body(plan.upgrade_ops)
    downgrades = python_body(downgrade_ops)
    uses_types = f"{TYPES_MODULE}." in upgrades + downgrades
    return {
        "upgrades": upgrades,
        "downgrades": downgrades,
        "hazards": _hazard_list(plan),
        "downgrade_hazards": _hazard_list(undo),
        "facts": _facts_literal(plan),
        "imports": f"import {TYPES_MODULE}" if uses_types else "",
    }

