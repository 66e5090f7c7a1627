"""Lint: one revision's offline SQL -> findings (code, line, object, message, acknowledged).

Input: the SQL text of a revision (the file in migrations/sql/, hand-edited or not, or the
SQL rendered from a hand-written revision file) and the hazards the revision records.
Output: a list of `Finding`. The statements are split with sqlglot's tokenizer (so a `;`
inside a string or comment does not split) and judged by the same rules as a plan: the lock
model, drops of data, changes that may fail on existing rows: the analyzers of
plan/analyze.py, which see here only what the SQL says (not a type change's old type). A
statement on a table created earlier in the same script earns no lock or data hazard.

A finding is acknowledged when the revision records a hazard with the same code (plan wrote
it and the revision was reviewed), or when a comment `-- schemactl: ack CODE` stands in the
lines just above the statement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from schemactl.errors import SchemactlError
from schemactl.plan import locks
from schemactl.plan.analyze import Change, analyze, facts_from_record, table_key
from schemactl.plan.hazards import Hazard

_ACK = re.compile(r"--\s*schemactl:\s*ack\s+([A-Z]{2}\d{3}(?:[\s,]+[A-Z]{2}\d{3})*)", re.I)


@dataclass(frozen=True)
class Statement:
    line: int  # 1-based line of the statement's first token
    sql: str
    acks: frozenset[str]  # codes acknowledged by a comment just above it


@dataclass(frozen=True)
class Finding:
    revision: str
    line: int
    hazard: Hazard
    acknowledged: bool

    def __str__(self) -> str:
        ack = " (acknowledged)" if self.acknowledged else ""
        return f"{self.revision}:{self.line}: {self.hazard}{ack}"


def split_statements(text: str, where: str = "") -> list[Statement]:
    """The statements of a script with their line numbers (psql meta-commands skipped)."""
    try:
        tokens = Postgres().tokenize(text)
    except TokenError as error:
        raise SchemactlError(f"{where}: cannot read the SQL: {error}") from None
    lines = text.splitlines()
    statements: list[Statement] = []
    start = None
    previous_end = 0
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            if start is not None:
                sql = text[start.start:token.start].strip()
                above = "\n".join(lines[previous_end:start.line - 1])
                statements.append(Statement(start.line, sql, _acks(above)))
                previous_end = token.line
            start = None
        elif start is None:
            start = token
    return statements


def _acks(text: str) -> frozenset[str]:
    return frozenset(code.upper() for match in _ACK.finditer(text)
                     for code in re.split(r"[\s,]+", match.group(1)))


def lint(revision: str, text: str, recorded: Sequence[Mapping[str, str]],
         facts: Mapping[str, Mapping[str, Any]] | None = None) -> list[Finding]:
    """The findings of one revision's SQL, each marked acknowledged or not. `facts`: the
    revision's `schemactl_facts`, what its plan knew of some statements (an edited
    statement no longer has its digest, and is judged on its SQL alone)."""
    recorded_codes = {hazard.get("code") for hazard in recorded}
    created: set[tuple[str, str]] = set()
    findings = []
    earlier: tuple[str, ...] = ()  # the statements before, in their order (their context)
    for statement in split_statements(text, revision):
        normalized = locks.normalize(statement.sql)
        table = locks.table_of(normalized)
        if normalized.startswith("CREATE TABLE") and table:
            created.add(table_key(table))
        change = Change("", (statement.sql,), earlier, frozenset(created),
                        facts_from_record(facts or {}, statement.sql))
        for hazard in analyze(change):
            acknowledged = hazard.code in recorded_codes or hazard.code in statement.acks
            findings.append(Finding(revision, statement.line, hazard, acknowledged))
        earlier += (statement.sql,)
    return findings
