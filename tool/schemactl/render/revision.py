"""Plan -> the Python of an Alembic revision: upgrade() and downgrade() bodies, hazards."""

from __future__ import annotations

import pprint
import re

from alembic.autogenerate import render_python_code
from alembic.migration import MigrationContext
from alembic.operations import ops

from schemactl.plan.build import Plan

_ALEMBIC_MARKERS = re.compile(r"^\s*# ### (commands auto generated|end Alembic commands).*\n?",
                              re.MULTILINE)


def _body(container: ops.UpgradeOps | ops.DowngradeOps) -> str:
    context = MigrationContext.configure(dialect_name="postgresql")
    code = render_python_code(container, migration_context=context)
    return _ALEMBIC_MARKERS.sub("", code).strip() or "pass"


def revision_parts(plan: Plan) -> dict[str, str]:
    """Template arguments for migrations/script.py.mako."""
    return {
        "upgrades": _body(plan.upgrade_ops),
        "downgrades": _body(plan.upgrade_ops.reverse()),
        "hazards": pprint.pformat([h.as_record() for h in plan.hazards], width=96,
                                  sort_dicts=False),
    }

