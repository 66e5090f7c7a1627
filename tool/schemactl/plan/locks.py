"""The lock model: for each kind of DDL statement, the table lock it takes and what it costs.

Input: one SQL statement (as schemactl renders it, or as a person wrote it in a revision).
Output: a `StatementKind` (lock level, cost, safe alternative) or None when the statement
touches no existing table's data path (CREATE TABLE, CREATE TYPE, comments on types...).

This is the one place that knows which lock PostgreSQL takes: the plan, `--max-lock`, `lint`
and docs/locks.md all read it, and tests/test_locks.py proves every row on a real server
(the lock seen in pg_locks while the statement runs in an open transaction, a rewrite seen
as a new relfilenode).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

# The PostgreSQL major versions schemactl supports; every row holds for all of them unless
# it says otherwise (its `since`).
SUPPORTED_VERSIONS = (15, 16, 17, 18)


class Lock(IntEnum):
    """PostgreSQL's table lock modes, weakest first (the order of its conflict table)."""

    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @property
    def label(self) -> str:
        """As the documentation and LOCK TABLE spell it: SHARE UPDATE EXCLUSIVE."""
        return self.name.replace("_", " ")

    @property
    def pg_mode(self) -> str:
        """As pg_locks.mode spells it: ShareUpdateExclusiveLock."""
        return "".join(word.capitalize() for word in self.name.split("_")) + "Lock"

    @property
    def blocks_writes(self) -> bool:
        return self >= Lock.SHARE

    @property
    def blocks_reads(self) -> bool:
        return self is Lock.ACCESS_EXCLUSIVE

    @classmethod
    def parse(cls, text: str) -> Lock:
        """'share update exclusive', 'SHARE_UPDATE_EXCLUSIVE' or 'ShareUpdateExclusiveLock'."""
        key = re.sub(r"lock$", "", text.strip(), flags=re.IGNORECASE)
        key = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", key).replace(" ", "_").replace("-", "_")
        try:
            return cls[key.upper()]
        except KeyError:
            names = ", ".join(lock.label for lock in cls)
            raise ValueError(f"unknown lock level {text!r}; one of: {names}") from None


class Cost(Enum):
    """What the statement does to the table's rows while it holds its lock."""

    CATALOG = "catalog only"
    SCAN = "scan"
    REWRITE = "rewrite"
    INDEX_BUILD = "index build"

    @property
    def touches_rows(self) -> bool:
        """True when the time the lock is held grows with the table (what --max-lock counts)."""
        return self is not Cost.CATALOG


@dataclass(frozen=True)
class StatementKind:
    """One row of the lock model.

    `pattern` matches the statement with whitespace collapsed and upper-cased; the first
    row that matches wins, so specific forms come before general ones. `example` is run by
    the test on a table `t (id int primary key, a int, s varchar(10), r int)` holding rows
    (with `setup` run first) to prove `lock` and `cost`.
    """

    key: str
    pattern: str
    lock: Lock
    cost: Cost
    example: str
    safe: str = ""  # the lock-safe alternative, when there is one
    setup: str = ""
    note: str = ""
    since: int = SUPPORTED_VERSIONS[0]
    transaction: bool = True  # False: PostgreSQL refuses it inside a transaction block
    # True: a transaction of its own. It touches rows under a lock that lets the application
    # go on, and must not hold the stronger locks its transaction took before it.
    alone: bool = False

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(v for v in SUPPORTED_VERSIONS if v >= self.since)

    def matches(self, normalized: str) -> bool:
        return re.search(self.pattern, normalized) is not None


_T = r"^ALTER TABLE (?:ONLY )?(?:IF EXISTS )?\S+ "
_VOLATILE = r"(GEN_RANDOM_UUID|CLOCK_TIMESTAMP|NEXTVAL|RANDOM|TIMEOFDAY|UUID_GENERATE_V4)\s*\("

KINDS: tuple[StatementKind, ...] = (
    StatementKind(
        "create index concurrently", r"^CREATE (UNIQUE )?INDEX CONCURRENTLY ",
        Lock.SHARE_UPDATE_EXCLUSIVE, Cost.INDEX_BUILD,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a)", transaction=False,
        note="reads and writes go on; waits for transactions that hold the table"),
    StatementKind(
        "create index", r"^CREATE (UNIQUE )?INDEX ", Lock.SHARE, Cost.INDEX_BUILD,
        "CREATE INDEX t_a_idx ON t (a)", safe="CREATE INDEX CONCURRENTLY (outside a transaction)",
        note="blocks writes for the whole build"),
    StatementKind(
        "drop index concurrently", r"^DROP INDEX CONCURRENTLY ",
        Lock.SHARE_UPDATE_EXCLUSIVE, Cost.CATALOG,
        "DROP INDEX CONCURRENTLY IF EXISTS t_s_idx", setup="CREATE INDEX t_s_idx ON t (s)",
        transaction=False),
    StatementKind(
        "drop index", r"^DROP INDEX ", Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "DROP INDEX t_s_idx", setup="CREATE INDEX t_s_idx ON t (s)",
        safe="DROP INDEX CONCURRENTLY (outside a transaction)",
        note="brief, but queues behind every running query on the table and blocks reads"),
    StatementKind(
        "add column, volatile default", _T + r"ADD (COLUMN )?.*DEFAULT\s+.*" + _VOLATILE,
        Lock.ACCESS_EXCLUSIVE, Cost.REWRITE,
        "ALTER TABLE t ADD COLUMN u float8 DEFAULT random()",
        safe="add the column without default, SET DEFAULT, backfill in batches"),
    StatementKind(
        "add column, generated or identity", _T + r"ADD (COLUMN )?.*(GENERATED |SERIAL)",
        Lock.ACCESS_EXCLUSIVE, Cost.REWRITE,
        "ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a * 2) STORED",
        note="every row gets its value written"),
    StatementKind(
        "add column", _T + r"ADD (COLUMN )?(?!CONSTRAINT |PRIMARY |UNIQUE |CHECK |FOREIGN )",
        Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t ADD COLUMN n int DEFAULT 7 NOT NULL",
        note="a constant default is stored once in the catalog (no rewrite)"),
    StatementKind(
        "drop column", _T + r"DROP (COLUMN )?(?!CONSTRAINT )", Lock.ACCESS_EXCLUSIVE,
        Cost.CATALOG, "ALTER TABLE t DROP COLUMN r"),
    StatementKind(
        "alter column collation", _T + r"ALTER (COLUMN )?\S+ (SET DATA )?TYPE .* COLLATE ",
        Lock.ACCESS_EXCLUSIVE, Cost.INDEX_BUILD,
        'ALTER TABLE t ALTER COLUMN s TYPE varchar(10) COLLATE "C"',
        setup="CREATE INDEX t_s_idx ON t (s)",
        note="the same type in another collation: no rewrite, but the column's indexes are "
        "built again"),
    StatementKind(
        "alter column type, binary coercible", _T + r"ALTER (COLUMN )?\S+ (SET DATA )?TYPE "
        r"(TEXT|VARCHAR|CHARACTER VARYING)\b", Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t ALTER COLUMN s TYPE text USING s::text",
        note="varchar widening and varchar -> text; the plan decides from the old type, "
        "lint from the statement alone"),
    StatementKind(
        "alter column type", _T + r"ALTER (COLUMN )?\S+ (SET DATA )?TYPE ", Lock.ACCESS_EXCLUSIVE,
        Cost.REWRITE, "ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint",
        safe="a new column, backfilled in batches, then swapped by rename"),
    StatementKind(
        "set not null", _T + r"ALTER (COLUMN )?\S+ SET NOT NULL", Lock.ACCESS_EXCLUSIVE, Cost.SCAN,
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
        safe="CHECK (col IS NOT NULL) NOT VALID, VALIDATE, then SET NOT NULL (no scan)"),
    StatementKind(
        "set not null, proven by a check", _T + r"ALTER (COLUMN )?\S+ SET NOT NULL",
        Lock.ACCESS_EXCLUSIVE, Cost.CATALOG, "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
        setup="ALTER TABLE t ADD CONSTRAINT t_a_not_null CHECK (a IS NOT NULL)",
        note="a valid CHECK (col IS NOT NULL) before it in the revision proves it: no scan"),
    StatementKind(
        "drop not null", _T + r"ALTER (COLUMN )?\S+ DROP NOT NULL", Lock.ACCESS_EXCLUSIVE,
        Cost.CATALOG, "ALTER TABLE t ALTER COLUMN a DROP NOT NULL",
        setup="ALTER TABLE t ALTER COLUMN a SET NOT NULL"),
    StatementKind(
        "set or drop default", _T + r"ALTER (COLUMN )?\S+ (SET|DROP) DEFAULT",
        Lock.ACCESS_EXCLUSIVE, Cost.CATALOG, "ALTER TABLE t ALTER COLUMN a SET DEFAULT 0"),
    StatementKind(
        "alter identity or expression", _T + r"ALTER (COLUMN )?\S+ (ADD GENERATED|SET GENERATED"
        r"|DROP IDENTITY|RESTART|SET (START|INCREMENT|MINVALUE|MAXVALUE|CACHE|CYCLE|NO )"
        r"|DROP EXPRESSION)",
        Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t ALTER COLUMN r ADD GENERATED BY DEFAULT AS IDENTITY",
        setup="ALTER TABLE t ALTER COLUMN r SET NOT NULL"),
    StatementKind(
        "add foreign key, not valid", _T + r"ADD (CONSTRAINT \S+ )?FOREIGN KEY .*NOT VALID",
        Lock.SHARE_ROW_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t ADD CONSTRAINT t_r_fkey FOREIGN KEY (r) REFERENCES p (id) NOT VALID",
        setup="CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT generate_series(0, 9)",
        note="also SHARE ROW EXCLUSIVE on the referenced table"),
    StatementKind(
        "add foreign key", _T + r"ADD (CONSTRAINT \S+ )?FOREIGN KEY ", Lock.SHARE_ROW_EXCLUSIVE,
        Cost.SCAN,
        "ALTER TABLE t ADD CONSTRAINT t_r_fkey FOREIGN KEY (r) REFERENCES p (id)",
        setup="CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p SELECT generate_series(0, 9)",
        safe="ADD ... NOT VALID, then VALIDATE CONSTRAINT in its own transaction",
        note="blocks writes to both tables during the scan"),
    StatementKind(
        "add check, not valid", _T + r"ADD (CONSTRAINT \S+ )?CHECK .*NOT VALID",
        Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a >= 0) NOT VALID"),
    StatementKind(
        "add check", _T + r"ADD (CONSTRAINT \S+ )?CHECK ", Lock.ACCESS_EXCLUSIVE, Cost.SCAN,
        "ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a >= 0)",
        safe="ADD ... NOT VALID, then VALIDATE CONSTRAINT in its own transaction"),
    StatementKind(
        "add unique or primary key using index",
        _T + r"ADD (CONSTRAINT \S+ )?(UNIQUE|PRIMARY KEY) USING INDEX ",
        Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE USING INDEX t_a_key",
        setup="CREATE UNIQUE INDEX t_a_key ON t (a)",
        note="a PRIMARY KEY on nullable columns also sets NOT NULL, which scans"),
    StatementKind(
        "add unique or primary key", _T + r"ADD (CONSTRAINT \S+ )?(UNIQUE|PRIMARY KEY)",
        Lock.ACCESS_EXCLUSIVE, Cost.INDEX_BUILD,
        "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a)",
        safe="CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX",
        note="blocks reads and writes for the whole index build"),
    StatementKind(
        "validate constraint", _T + r"VALIDATE CONSTRAINT ", Lock.SHARE_UPDATE_EXCLUSIVE,
        Cost.SCAN, "ALTER TABLE t VALIDATE CONSTRAINT t_a_check",
        setup="ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a >= 0) NOT VALID",
        note="reads and writes go on during the scan", alone=True),
    StatementKind(
        "drop constraint", _T + r"DROP CONSTRAINT ", Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t DROP CONSTRAINT t_a_check",
        setup="ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a >= 0)"),
    StatementKind(
        "set logged or unlogged", _T + r"SET (UN)?LOGGED$", Lock.ACCESS_EXCLUSIVE, Cost.REWRITE,
        "ALTER TABLE t SET UNLOGGED", note="the table is written again, with or without WAL"),
    StatementKind(
        "rename", _T + r"RENAME ", Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t RENAME COLUMN r TO r2"),
    StatementKind(
        "attach partition", _T + r"ATTACH PARTITION ", Lock.ACCESS_EXCLUSIVE, Cost.SCAN,
        "ALTER TABLE p ATTACH PARTITION t FOR VALUES FROM (0) TO (100000)",
        setup="CREATE TABLE p (id int, a int, s varchar(10), r int) PARTITION BY RANGE (id)",
        note="the lock and the scan are the partition's (the partitioned table gets SHARE "
        "UPDATE EXCLUSIVE): its rows are checked against the bound, and a DEFAULT partition's "
        "against the new bound"),
    StatementKind(
        "other alter table", r"^ALTER TABLE ", Lock.ACCESS_EXCLUSIVE, Cost.CATALOG,
        "ALTER TABLE t OWNER TO CURRENT_USER",
        note="any other ALTER TABLE form is assumed to take the strongest lock"),
    StatementKind(
        "drop table", r"^DROP TABLE ", Lock.ACCESS_EXCLUSIVE, Cost.CATALOG, "DROP TABLE t"),
    StatementKind(
        "comment", r"^COMMENT ON (TABLE|COLUMN) ", Lock.SHARE_UPDATE_EXCLUSIVE, Cost.CATALOG,
        "COMMENT ON COLUMN t.a IS 'x'"),
    StatementKind(
        "backfill in batches", r"^DO \$BACKFILL\$ .* UPDATE ", Lock.ROW_EXCLUSIVE, Cost.SCAN,
        "DO $backfill$ DECLARE first int := 0; BEGIN WHILE first < 3 LOOP "
        "UPDATE t SET r = 0 WHERE r IS NULL; PERFORM pg_sleep(0.3); COMMIT; first := first + 1; "
        "END LOOP; END $backfill$",
        transaction=False,
        note="each batch of pages commits by itself: row locks on one batch at a time; "
        "the example sleeps so that its lock can be seen"),
    StatementKind(
        "update rows", r"^UPDATE ", Lock.ROW_EXCLUSIVE, Cost.SCAN, "UPDATE t SET r = 0",
        note="row locks on the rows it changes; batches keep each transaction short"),
)


def is_volatile(expression: str) -> bool:
    """Whether a default expression calls a volatile function (a new column with it would
    rewrite the table: every row gets its own value)."""
    return re.search(_VOLATILE, normalize(expression)) is not None


def normalize(sql: str) -> str:
    """Comments dropped, whitespace collapsed (and one space before each parenthesis:
    `KEY(a)` and `KEY (a)` are the same statement), upper-cased, quotes around names removed."""
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    sql = re.sub(r"\s*\(", " (", sql)
    # A quoted name stays one word ("order items" -> ORDER_ITEMS): the patterns read names
    # as runs of non-blanks.
    sql = re.sub(r'"((?:[^"]|"")*)"', lambda m: re.sub(r"\s", "_", m.group(1)), sql)
    return re.sub(r"\s+", " ", sql).replace('"', "").strip().rstrip(";").strip().upper()


_TABLE = re.compile(
    r"^(?:ALTER TABLE|UPDATE|DELETE FROM|CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?"
    r"(?:IF NOT EXISTS )?\S+ ON|CREATE TABLE|DROP TABLE|COMMENT ON TABLE)"
    r" (?:ONLY )?(?:IF (?:NOT )?EXISTS )?([^\s(]+)")


def table_of(sql: str) -> str | None:
    """The table a statement locks, as written (schema.table or table), lower-cased;
    None when the statement does not name it (DROP INDEX names only the index)."""
    match = _TABLE.match(normalize(sql))
    return match.group(1).lower() if match else None


def classify(sql: str, before: Sequence[str] = ()) -> StatementKind | None:
    """The lock model's row for one statement, or None when it locks no existing table.
    `before`: the statements that run before it in the same revision (a check they add can
    spare SET NOT NULL its scan)."""
    normalized = normalize(sql)
    if _proven_not_null(normalized, before):
        return by_key("set not null, proven by a check")
    return next((kind for kind in KINDS if kind.matches(normalized)), None)


def classify_all(statements: Sequence[str]) -> list[StatementKind | None]:
    """classify() for each statement of a revision or step, each in its context."""
    return [classify(sql, statements[:index]) for index, sql in enumerate(statements)]


_SET_NOT_NULL = re.compile(r"^ALTER TABLE (?:ONLY )?(?:IF EXISTS )?(\S+) ALTER (?:COLUMN )?(\S+) "
                           r"SET NOT NULL$")
_NOT_NULL_CHECK = r"^ALTER TABLE (?:ONLY )?(?:IF EXISTS )?{table} ADD CONSTRAINT (\S+) CHECK " \
                  r"\(\s*{column} IS NOT NULL\s*\)"


def _proven_not_null(normalized: str, before: Sequence[str]) -> bool:
    """SET NOT NULL after a CHECK (col IS NOT NULL) on the same column: PostgreSQL trusts a
    valid check (validated, or added valid) and skips the scan (version 12 and later)."""
    match = _SET_NOT_NULL.match(normalized)
    if match is None:
        return False
    check = re.compile(_NOT_NULL_CHECK.format(table=re.escape(match.group(1)),
                                              column=re.escape(match.group(2))))
    earlier = [normalize(sql) for sql in before]
    for index, sql in enumerate(earlier):
        added = check.match(sql)
        if added is None:
            continue
        if not sql.endswith("NOT VALID"):
            return True  # added valid: PostgreSQL checked every row then
        validate = re.compile(rf"^ALTER TABLE (?:ONLY )?{re.escape(match.group(1))} "
                              rf"VALIDATE CONSTRAINT {re.escape(added.group(1))}$")
        if any(validate.match(later) for later in earlier[index + 1:]):
            return True  # validated before SET NOT NULL runs
    return False


def by_key(key: str) -> StatementKind:
    return next(kind for kind in KINDS if kind.key == key)


def strongest(kinds: list[StatementKind]) -> StatementKind | None:
    """The statement of a step that matters most: rows touched first, then lock level."""
    if not kinds:
        return None
    return max(kinds, key=lambda k: (k.cost.touches_rows, k.lock, k.cost is Cost.REWRITE))


def describe(kind: StatementKind) -> str:
    """`SHARE UPDATE EXCLUSIVE, scan`: what the plan prints for a step."""
    return f"{kind.lock.label}, {kind.cost.value}"


def markdown_table() -> str:
    """The table of docs/locks.md (a test keeps the two equal)."""
    lines = ["| Statement | Lock on the table | Cost | Blocks | Safe alternative | Versions |",
             "|---|---|---|---|---|---|"]
    for kind in KINDS:
        blocks = ("reads and writes" if kind.lock.blocks_reads
                  else "writes" if kind.lock.blocks_writes else "nothing (DDL only)")
        versions = f"{kind.versions[0]}-{kind.versions[-1]}"
        note = f" ({kind.note})" if kind.note else ""
        lines.append(f"| {kind.key}: `{kind.example}`{note} | {kind.lock.label} | "
                     f"{kind.cost.value} | {blocks} | {kind.safe or '-'} | {versions} |")
    return "\n".join(lines) + "\n"


_TEXT_LIKE = ("VARCHAR", "TEXT", "STRING", "UNICODE", "UNICODETEXT")


def type_change_rewrites(old: Any, new: Any) -> bool:
    """Whether PostgreSQL rewrites the table for ALTER COLUMN ... TYPE from `old` to `new`
    (SQLAlchemy types). Without a rewrite: varchar widening, varchar or text -> text or an
    unbounded varchar, bit varying widening, timestamp/time with more fractional digits,
    numeric with more precision and the same scale. Everything else
    (int -> bigint, varchar narrowing, json -> jsonb, text -> enum) rewrites."""
    old_name, new_name = type(old).__name__.upper(), type(new).__name__.upper()
    if old_name in _TEXT_LIKE and new_name in _TEXT_LIKE and not _is_enum(old) and not _is_enum(new):
        old_length, new_length = getattr(old, "length", None), getattr(new, "length", None)
        return new_length is not None and (old_length is None or new_length < old_length)
    if old_name == new_name == "BIT" and old.varying and new.varying:
        return new.length is not None and (old.length is None or new.length < old.length)
    if old_name == new_name and old_name in ("TIMESTAMP", "TIME") and (
            getattr(old, "timezone", None) == getattr(new, "timezone", None)):
        return _fractional(new) < _fractional(old)  # more fractional digits: catalog only
    if old_name == new_name == "NUMERIC":
        if new.precision is None:
            return False
        return old.precision is None or (old.scale or 0) != (new.scale or 0) or (
            new.precision < old.precision)
    return True


def _fractional(type_: Any) -> int:
    precision = getattr(type_, "precision", None)
    return 6 if precision is None else precision


def _is_enum(type_: Any) -> bool:
    return type(type_).__name__.upper() == "ENUM"
