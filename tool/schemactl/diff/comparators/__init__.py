"""Comparators for what Alembic autogenerate cannot see, one module per kind of object.

Each takes the two catalogs (current = shadow, desired = scratch database built from the
YAML) and returns Steps: SqlStepOps sorted into the phase in which they must run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemactl.diff.ops import SqlStepOp


@dataclass
class Steps:
    before: list[SqlStepOp] = field(default_factory=list)  # before Alembic's ops
    after: list[SqlStepOp] = field(default_factory=list)  # after them (needs new tables/columns)
    last: list[SqlStepOp] = field(default_factory=list)  # drops of what nothing uses any more

    def extend(self, other: Steps) -> None:
        self.before += other.before
        self.after += other.after
        self.last += other.last
