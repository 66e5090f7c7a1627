"""The hazard analysis: typed changes -> their hazards, from analyzers that own their codes.

Input: `Change`s. Plan makes one from each step (plan/build.py): its statements, and the
facts the comparators know that the SQL does not say (how a type change judges the old
type against the new one, which enum values go). `schemactl lint` makes one from each
statement of a revision's SQL (plan/lint.py), with no such facts. Output: each change's
hazards. Both go through the same three analyzers, as Atlas's sqlcheck does:

- destructive (DS): what loses data: drops of tables, columns, schemas, types and
  extensions, enum values removed, narrowing type changes, stored values recomputed;
- data-dependent (MF): what fails when existing rows do not fit: NOT NULL, unique, check,
  foreign key, exclusion, casts;
- locks (LK): what holds a lock on an existing table while it rewrites, scans or builds
  an index (from plan/locks.py, the one lock model).

Every code belongs to exactly one analyzer (a test checks it). A change on a table created
earlier in the same revision is empty and unused: it earns no data-dependent or lock hazard.
What an analyzer cannot see it does not guess: lint does not know a type change's old type,
so only plan judges casts (and writes the hazard into the revision, where lint finds it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from schemactl.diff.ops import Facts
from schemactl.plan.hazards import Hazard
from schemactl.plan.locks import (
    Cost,
    Lock,
    StatementKind,
    by_key,
    classify,
    normalize,
    table_of,
)
from schemactl.spec.types import DEFAULT_SCHEMA

Tables = frozenset[tuple[str, str]]  # (schema, table)


@dataclass(frozen=True)
class Change:
    """One thing the analyzers judge: a plan's step or one statement of a revision."""

    where: str  # the object the hazards name ("table users, column email"); "": from the SQL
    statements: tuple[str, ...]
    before: tuple[str, ...] = ()  # the revision's statements that run before these
    created: Tables = frozenset()  # tables the revision creates before: empty and unused
    facts: Facts = field(default_factory=Facts)
    # On a partitioned table, where PostgreSQL has no concurrent index build or drop and no
    # NOT VALID foreign key: the hazard says so instead of offering them.
    partitioned: bool = False

    def each(self) -> Iterator[tuple[str, str, tuple[str, ...]]]:
        """(statement, normalized, the statements before it) for each of its statements."""
        for index, sql in enumerate(self.statements):
            yield sql, normalize(sql), self.before + self.statements[:index]

    def on_existing(self) -> Iterator[tuple[str, str, tuple[str, ...]]]:
        """each(), leaving out the statements on tables the revision creates."""
        for sql, normalized, before in self.each():
            table = table_of(normalized)
            if table is None or table_key(table) not in self.created:
                yield sql, normalized, before

    def kinds(self) -> list[StatementKind]:
        """The lock model's row for each statement that locks an existing table."""
        return [kind for sql, _, before in self.on_existing()
                if (kind := statement_kind(sql, before, self.facts)) is not None]


def table_key(name: str) -> tuple[str, str]:
    """(schema, table) of a table name as a statement or an op gives it, compared the way
    the lock model reads names (case and quotes aside)."""
    schema, _, table = normalize(name).lower().rpartition(".")
    return schema or DEFAULT_SCHEMA, table


def statement_kind(sql: str, before: Sequence[str], facts: Facts) -> StatementKind | None:
    """classify(), where the typed change knows whether a type change rewrites."""
    kind = classify(sql, before)
    if kind is not None and facts.rewrites is not None and kind.key.startswith(
            "alter column type"):
        return by_key("alter column type" if facts.rewrites
                      else "alter column type, binary coercible")
    return kind


@dataclass(frozen=True)
class Analyzer:
    name: str
    codes: frozenset[str]
    judge: Callable[[Change], Iterator[Hazard]]


# -- destructive ----------------------------------------------------------------------------

_TARGET = r"([^\s(,]+)"
DROPS: tuple[tuple[re.Pattern[str], str, str, str], ...] = (
    (re.compile(rf"^DROP TABLE (?:IF EXISTS )?{_TARGET}"), "table", "DS101",
     "drops the table and all its rows"),
    (re.compile(rf"^ALTER TABLE (?:ONLY )?(?:IF EXISTS )?{_TARGET} DROP (?:COLUMN )?"
                rf"(?!CONSTRAINT )(?:IF EXISTS )?{_TARGET}"), "column", "DS102",
     "drops the column and its data"),
    (re.compile(rf"^DROP SCHEMA (?:IF EXISTS )?{_TARGET}"), "schema", "DS103",
     "drops the schema"),
    (re.compile(rf"^DROP TYPE (?:IF EXISTS )?{_TARGET}"), "type", "DS105", "drops the type"),
    (re.compile(rf"^DROP EXTENSION (?:IF EXISTS )?{_TARGET}"), "extension", "DS107",
     "drops the extension and the objects it provides"),
)
# The kind of object each DS code's drop is about (render/sqlcheck.py checks the offline SQL
# against the plan's hazards with it).
DROP_CODES = {kind: code for _, kind, code, _ in DROPS} | {"enum value": "DS104"}
_RENAMED_TYPE = re.compile(r"^ALTER TYPE \S+ RENAME TO (\S+)$")


def _destructive(change: Change) -> Iterator[Hazard]:
    facts, where = change.facts, _where(change)
    for _, normalized, before in change.each():
        for pattern, kind, code, message in DROPS:
            match = pattern.match(normalized)
            if match is None or _spared(kind, match.group(1), before, facts):
                continue
            yield Hazard(code, change.where or _named(kind, match), message)
    for value in facts.removed_values:
        yield Hazard("DS104", f"{where}, value {value}",
                     "removes the value; rows holding it make the migration fail")
    if facts.type_change == "narrowing":
        yield Hazard("DS106", where, "values that do not fit are lost or rejected")
    if facts.replaces_values:
        yield Hazard("DS102", where, "the column's stored values are replaced")


def _spared(kind: str, name: str, before: Sequence[str], facts: Facts) -> bool:
    """A drop that loses nothing: a generated column (its values come back from the
    expression), or the old copy of an enum type made again under its name (its rows were
    converted to the new type before; a value they still hold stops the conversion)."""
    if kind == "column":
        return facts.recomputed
    if kind == "type":
        return any((m := _RENAMED_TYPE.match(normalize(sql))) and _bare(m.group(1)) == _bare(name)
                   for sql in before)
    return False


def _where(change: Change) -> str:
    """The object a fact's hazard names: the change's, or in lint the first statement's table
    (or the type an enum change makes again)."""
    if change.where or not change.statements:
        return change.where
    normalized = normalize(change.statements[0])
    if (table := table_of(normalized)) is not None:
        return f"table {table}"
    renamed = re.match(r"^ALTER TYPE (\S+) ", normalized)
    return f"type {renamed.group(1).lower()}" if renamed else normalized[:60].lower()


def _bare(name: str) -> str:
    return name.rpartition(".")[2]


def _named(kind: str, match: re.Match[str]) -> str:
    if kind == "column":
        return f"table {match.group(1).lower()}, column {match.group(2).lower()}"
    return f"{kind} {match.group(1).lower()}"


# -- data-dependent -------------------------------------------------------------------------

_ADD = re.compile(r"^ALTER TABLE (?:ONLY )?(?:IF EXISTS )?(\S+) ADD (?:CONSTRAINT (\S+) )?"
                  r"(UNIQUE|PRIMARY KEY|CHECK|FOREIGN KEY|EXCLUDE)\b(.*)$")
_ADD_COLUMN = re.compile(r"^ALTER TABLE (?:ONLY )?(?:IF EXISTS )?\S+ ADD (?:COLUMN )?"
                         r"(?!CONSTRAINT |PRIMARY |UNIQUE |CHECK |FOREIGN |EXCLUDE )(.*)$")
_VALIDATE = re.compile(r"^ALTER TABLE (?:ONLY )?(\S+) VALIDATE CONSTRAINT (\S+)$")
_SET_NOT_NULL = re.compile(r"^ALTER TABLE (?:ONLY )?(?:IF EXISTS )?(\S+) ALTER (?:COLUMN )?"
                           r"(\S+) SET NOT NULL$")
_ADD_CODES = {"UNIQUE": "MF102", "PRIMARY KEY": "MF102", "CHECK": "MF103",
              "FOREIGN KEY": "MF104", "EXCLUDE": "MF107"}
_VIOLATE = "existing rows may violate it"


def _data_dependent(change: Change) -> Iterator[Hazard]:
    facts = change.facts
    for _, normalized, before in change.on_existing():
        where = change.where or f"table {(table_of(normalized) or '?')}"
        added = _ADD.match(normalized)
        if added and not normalized.endswith("NOT VALID") and "USING INDEX" not in normalized:
            code = _ADD_CODES[added.group(3)]
            yield Hazard(code, where, "existing rows may hold duplicates" if code == "MF102"
                         else _VIOLATE)
        elif normalized.startswith("CREATE UNIQUE INDEX"):
            yield Hazard("MF102", where, "existing rows may hold duplicates")
        elif (validated := _VALIDATE.match(normalized)) is not None:
            code = _validated_code(validated.group(1), validated.group(2), before)
            if code != "MF101":  # a helper check for NOT NULL: SET NOT NULL speaks for it
                yield Hazard(code, where, _VIOLATE)
        elif (column := _ADD_COLUMN.match(normalized)) is not None and _fails_on_rows(
                column.group(1)):
            yield Hazard("MF106", where, "fails if the table has rows: NOT NULL and no default")
        elif (set_not_null := _SET_NOT_NULL.match(normalized)) is not None:
            fill = _filled_with(set_not_null.group(1), set_not_null.group(2), before)
            if fill is None:
                yield Hazard("MF101", where, "fails if a row holds NULL")
            elif not _CONSTANT.match(fill):
                yield Hazard("MF101", where, "fails if the backfill leaves a row NULL")
    if facts.type_change == "cast":
        yield Hazard("MF105", _where(change), "existing values are cast to the new type")


def _validated_code(table: str, name: str, before: Sequence[str]) -> str:
    """The MF code of the constraint VALIDATE checks, from the statement that added it."""
    for sql in reversed(before):
        added = _ADD.match(normalize(sql))
        if added and added.group(1) == table and added.group(2) == name:
            if added.group(3) == "CHECK" and re.match(r"^\s*\(\s*\S+ IS NOT NULL\s*\) NOT VALID$",
                                                      added.group(4)):
                return "MF101"
            return _ADD_CODES[added.group(3)]
    return "MF103"  # added by an earlier revision: a check or a foreign key, either may fail


def _fails_on_rows(definition: str) -> bool:
    """ADD COLUMN ... NOT NULL without a value for the rows there are."""
    return ("NOT NULL" in definition and " DEFAULT " not in f" {definition}"
            and "GENERATED " not in definition and "SERIAL" not in definition)


# A fill that is a constant (a quoted literal or a number, perhaps cast) never leaves NULL.
_CONSTANT = re.compile(r"^\(?\s*(?:'(?:[^']|'')*'|-?\d+(?:\.\d+)?)(?:::[\w ]+(?:\[\])*)?\s*\)?$")


def _filled_with(table: str, column: str, before: Sequence[str]) -> str | None:
    """The expression a backfill before SET NOT NULL fills the column's NULLs with."""
    update = re.compile(rf"UPDATE (?:ONLY )?{re.escape(table)} SET {re.escape(column)} = "
                        r"(.*?) WHERE ", re.S)
    for sql in reversed(before):
        normalized = normalize(sql)
        if normalized.startswith(("DO ", "UPDATE ")) and (match := update.search(normalized)):
            return match.group(1)  # upper-cased, which does not change whether it is constant
    return None


# -- locks ----------------------------------------------------------------------------------

# Which LK code a statement kind earns on an existing table, and why.
_LOCK_CODES: dict[str, tuple[str, str]] = {
    "create index": ("LK102", "blocks writes to the table while it builds"),
    "drop index": ("LK106", "takes ACCESS EXCLUSIVE: blocks reads and writes, queues behind "
                   "running queries"),
    "add unique or primary key": ("LK104", "builds the index under ACCESS EXCLUSIVE"),
    "alter column collation": ("LK104", "rebuilds the column's indexes under ACCESS EXCLUSIVE"),
    "set not null": ("LK105", "scans every row under ACCESS EXCLUSIVE"),
    "add check": ("LK105", "scans every row under ACCESS EXCLUSIVE"),
    "add foreign key": ("LK105", "scans every row while blocking writes to both tables"),
    "add column, generated or identity": ("LK103", "computes the column for every row"),
    "attach partition": ("LK105", "scans the partition's rows under ACCESS EXCLUSIVE to "
                         "check them against the bound (and a DEFAULT partition's rows)"),
}


def _locks(change: Change) -> Iterator[Hazard]:
    for sql, normalized, before in change.on_existing():
        kind = statement_kind(sql, before, change.facts)
        if kind is None:
            continue
        where = change.where or (f"table {table}" if (table := table_of(normalized))
                                 else "the index's table")
        if kind.key in _LOCK_CODES:
            code, message = _LOCK_CODES[kind.key]
            safe = _PARTITIONED if change.partitioned and kind.key in _NO_SAFE_FORM_ON_PARENT \
                else _safe(kind)
            yield Hazard(code, where, message + safe)
        elif kind.cost is Cost.REWRITE:
            yield Hazard("LK101", where, f"rewrites the table under {kind.lock.label}"
                         + _safe(kind))
    if change.facts.scanned_default:
        default = change.facts.scanned_default
        yield Hazard("LK105", f"table {default}", f"scans the default partition {default} "
                     "under ACCESS EXCLUSIVE (fails if rows there belong to the new partition)")


_NO_SAFE_FORM_ON_PARENT = {"create index", "drop index", "add unique or primary key",
                           "add foreign key"}
_PARTITIONED = ("; a partitioned table has no concurrent form (PostgreSQL refuses it): the "
                "blocking one is kept; for an index, build it ON ONLY the parent, CONCURRENTLY "
                "on each partition, then ALTER INDEX ... ATTACH PARTITION, by hand")


def _safe(kind: StatementKind) -> str:
    return f"; safe form: {kind.safe}" if kind.safe else ""


ANALYZERS = (
    Analyzer("destructive", frozenset({"DS101", "DS102", "DS103", "DS104", "DS105", "DS106",
                                       "DS107"}), _destructive),
    Analyzer("data-dependent", frozenset({"MF101", "MF102", "MF103", "MF104", "MF105",
                                          "MF106", "MF107"}), _data_dependent),
    Analyzer("locks", frozenset({"LK101", "LK102", "LK103", "LK104", "LK105", "LK106"}),
             _locks),
)


def statement_digest(sql: str) -> str:
    """A statement's key in a revision's `schemactl_facts`: layout and case aside."""
    return hashlib.sha256(normalize(sql).encode()).hexdigest()[:16]


def statement_facts(steps: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The facts of each plan step that has some, by the digest of each of its statements:
    written into the revision, so that lint judges the statements as the plan did."""
    plain = asdict(Facts())
    return {statement_digest(sql): facts for step in steps
            if (facts := {k: v for k, v in asdict(step.facts).items() if v != plain[k]})
            for sql in step.sql}


def facts_from_record(record: Mapping[str, Mapping[str, Any]], sql: str) -> Facts:
    """The facts a revision recorded for this statement; none when it was edited since."""
    known = {name for name in Facts.__dataclass_fields__}
    entry = record.get(statement_digest(sql), {})
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in entry.items() if k in known}
    return Facts(**values)


def analyze(change: Change) -> tuple[Hazard, ...]:
    """The hazards of one change, each once (a code names an object once), in the
    analyzers' order."""
    found: dict[tuple[str, str], Hazard] = {}
    for analyzer in ANALYZERS:
        for hazard in analyzer.judge(change):
            assert hazard.code in analyzer.codes, f"{analyzer.name} does not own {hazard.code}"
            found.setdefault((hazard.code, hazard.object), hazard)
    return tuple(found.values())


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
