"""The lock and cost analyzer: Plan steps -> the same steps with lock, cost and LK hazards.

Input: the steps of a plan and the tables the plan creates. Output: every step on an
existing table carries the lock it takes and what it costs (from plan/locks.py, the one
lock model), plus the LK hazards that follow from them. A table created in the same plan
is empty and unused, so its steps carry neither.

The same function judges one statement for `schemactl lint` (`lock_hazards`), so a plan and
a hand-written revision are held to one rule. This analyzer owns the LK codes; the
destructive (DS) and data-dependent (MF) codes come with the typed changes themselves.
"""

from __future__ import annotations

from typing import Any

from schemactl.plan.hazards import Hazard
from schemactl.plan.locks import Cost, Lock, StatementKind

# Which LK code a statement kind earns on an existing table, and why.
_LOCK_CODES: dict[str, tuple[str, str]] = {
    "create index": ("LK102", "blocks writes to the table while it builds"),
    "drop index": ("LK106", "takes ACCESS EXCLUSIVE: blocks reads and writes, queues behind "
                   "running queries"),
    "add unique or primary key": ("LK104", "builds the index under ACCESS EXCLUSIVE"),
    "set not null": ("LK105", "scans every row under ACCESS EXCLUSIVE"),
    "add check": ("LK105", "scans every row under ACCESS EXCLUSIVE"),
    "add foreign key": ("LK105", "scans every row while blocking writes to both tables"),
    "attach partition": ("LK105", "scans the partition's rows under ACCESS EXCLUSIVE to "
                         "check them against the bound (and a DEFAULT partition's rows)"),
}


OWN_CODES = frozenset({"LK101", *(code for code, _ in _LOCK_CODES.values())})


def lock_hazards(kind: StatementKind, where: str, known: tuple[Hazard, ...] = (),
                 keep_own: bool = False) -> tuple[Hazard, ...]:
    """`known` with the LK hazards one statement kind earns on an existing table: this
    analyzer's codes are its own to say (a comparator's guess of them is replaced, unless
    `keep_own`: they came from this analyzer for another statement of the same step)."""
    kept = known if keep_own else tuple(h for h in known if h.code not in OWN_CODES)
    codes = {hazard.code for hazard in kept}
    found: list[Hazard] = []
    if kind.cost is Cost.REWRITE and not codes & {"LK101", "LK103"}:
        found.append(Hazard("LK101", where, f"rewrites the table under {kind.lock.label}"))
    if kind.key in _LOCK_CODES:
        code, message = _LOCK_CODES[kind.key]
        if code not in codes:
            found.append(Hazard(code, where, message + _safe(kind)))
    return kept + tuple(found)


def _safe(kind: StatementKind) -> str:
    return f"; safe form: {kind.safe}" if kind.safe else ""


def over_budget(kind: StatementKind | None, budget: Lock) -> bool:
    """True when the statement holds a lock stronger than `budget` while it touches rows.
    Catalog-only statements never count: their lock is brief whatever the table's size."""
    return kind is not None and kind.cost.touches_rows and kind.lock > budget


def budget_violations(steps: list[Any], budget: Lock) -> list[str]:
    """One line per step of a plan that breaks the lock budget: the step, its lock and cost,
    and the safe form when there is one."""
    lines = []
    for step in steps:
        kind = step.statement
        if over_budget(kind, budget):
            where = f"table {step.table}: {step.action} {step.kind} {step.name}"
            lines.append(f"{where} holds {kind.lock.label} during a {kind.cost.value} "
                         f"(budget {budget.label})" + _safe(kind))
    return lines
