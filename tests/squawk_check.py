"""squawk (squawk-cli, an independent PostgreSQL migration linter) as a second opinion on
the offline SQL schemactl writes: its lock rules may fire only on statements whose step the
plan marked with a hazard, or where schemactl knows better and says why (EXEMPT)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from schemactl.plan import locks
from schemactl.plan.lint import split_statements

LOCK_RULES = frozenset({
    "require-concurrent-index-creation", "require-concurrent-index-deletion",
    "constraint-missing-not-valid", "adding-foreign-key-constraint",
    "disallowed-unique-constraint", "changing-column-type", "adding-field-with-default",
    "adding-not-nullable-field",
})
_NEW_TABLE = "the table is created earlier in the same revision: empty, nobody waits on it"
_CATALOG_RULES = {
    "changing-column-type": "a type change PostgreSQL makes in the catalog only (varchar or "
    "numeric widening, varchar -> text; tests/test_plan_locks.py checks the relfilenode)",
    "adding-field-with-default": "a non-volatile default (a constant, now()) is stored once "
    "in the catalog: no rewrite (tests/test_locks.py, row 'add column')",
}


def squawk_binary() -> str:
    found = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    assert Path(found).exists(), "squawk-cli is a test dependency: pip install -e '.[test]'"
    return found


def squawk_findings(sql_file: Path) -> list[dict[str, Any]]:
    out = subprocess.run([squawk_binary(), "--reporter", "json", str(sql_file)],
                         capture_output=True, text=True, check=False).stdout
    return [f for f in json.loads(out or "[]") if f["rule_name"] in LOCK_RULES]


def unmarked_findings(sql_file: Path, hazards: list[dict[str, str]],
                      steps: list[Any] = ()) -> tuple[list[str], list[str]]:  # type: ignore[assignment]
    """(squawk lock findings on statements the plan did not mark and no reason exempts,
    the other findings, each with why it stands: a hazard the plan marks, or a reason)."""
    text = sql_file.read_text()
    statements = split_statements(text)
    created: set[str] = set()
    new_at: dict[int, bool] = {}
    for statement in statements:
        normalized = locks.normalize(statement.sql)
        match = re.match(r"^CREATE TABLE (?:IF NOT EXISTS )?([^\s(]+)", normalized)
        if match:
            created.add(match.group(1).lower())
        new_at[statement.line] = any(re.search(rf"\b{re.escape(t.upper())}\b", normalized)
                                     for t in created) and not match
    bad, exempt = [], []
    for finding in squawk_findings(sql_file):
        line = finding["line"] + 1  # squawk counts from 0
        statement = max((s for s in statements if s.line <= line), key=lambda s: s.line)
        where = f"{sql_file.name}:{statement.line} {finding['rule_name']}: {statement.sql[:120]}"
        step = _step_of(statement.sql, steps)
        if step is not None and step.hazards:
            codes = ", ".join(sorted({h.code for h in step.hazards}))
            exempt.append(f"{where} -- the plan marks this step: {codes}")
            continue
        if step is None and _marked(statement.sql, hazards):
            exempt.append(f"{where} -- the plan marks this object with a hazard")
            continue
        if new_at.get(statement.line):
            exempt.append(f"{where} -- {_NEW_TABLE}")
        elif finding["rule_name"] in _CATALOG_RULES and step is not None and (
                step.cost is not None and step.cost.value == "catalog only"):
            exempt.append(f"{where} -- {_CATALOG_RULES[finding['rule_name']]}")
        else:
            bad.append(where)
    return bad, exempt


def _marked(sql: str, hazards: list[dict[str, str]]) -> bool:
    """The plan recorded a hazard for the object this statement changes."""
    normalized = locks.normalize(sql)
    for hazard in hazards:
        match = re.match(r"table (\S+?)(?:, \S+(?: \S+)? (\S+))?$", hazard.get("object", ""))
        if not match:
            continue
        table, name = match.group(1).upper(), (match.group(2) or "").upper()
        if re.search(rf"\b{re.escape(table)}\b", normalized) and (
                not name or re.search(rf"\b{re.escape(name)}\b", normalized)):
            return True
    return False


def _step_of(sql: str, steps: list[Any]) -> Any:
    """The plan's step that holds this statement, if it can be told."""
    normalized = locks.normalize(sql)
    return next((step for step in steps
                 if normalized in {locks.normalize(s) for s in step.sql}), None)
