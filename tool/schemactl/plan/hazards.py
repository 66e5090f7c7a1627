"""Hazard codes: lint findings as data, each with a stable code (see docs/hazards.md).

A revision file records its hazards in the module attribute `schemactl_hazards`, a list of
`Hazard.as_record()` dicts, so that offline SQL, apply and status can all read them
without re-planning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import postgresql


class HazardKind(StrEnum):
    DATA_LOSS = "data loss"  # destructive: needs --allow-destructive
    TABLE_REWRITE = "table rewrite"
    LONG_LOCK = "long lock"
    MAY_FAIL = "may fail on existing data"


# code -> (kind, short title)
CODES: dict[str, tuple[HazardKind, str]] = {
    "DS101": (HazardKind.DATA_LOSS, "drop table"),
    "DS102": (HazardKind.DATA_LOSS, "drop column"),
    "DS103": (HazardKind.DATA_LOSS, "drop schema"),
    "DS104": (HazardKind.DATA_LOSS, "drop enum value"),
    "DS105": (HazardKind.DATA_LOSS, "drop enum type"),
    "DS106": (HazardKind.DATA_LOSS, "narrowing type change"),
    "DS107": (HazardKind.DATA_LOSS, "drop extension"),
    "MF101": (HazardKind.MAY_FAIL, "add NOT NULL to existing column"),
    "MF102": (HazardKind.MAY_FAIL, "add unique constraint or unique index"),
    "MF103": (HazardKind.MAY_FAIL, "add check constraint"),
    "MF104": (HazardKind.MAY_FAIL, "add foreign key"),
    "MF105": (HazardKind.MAY_FAIL, "type change with cast"),
    "MF106": (HazardKind.MAY_FAIL, "add NOT NULL column without default to existing table"),
    "MF107": (HazardKind.MAY_FAIL, "add exclusion constraint"),
    "LK101": (HazardKind.TABLE_REWRITE, "rewrites the table (type change, volatile default, SET LOGGED)"),
    "LK102": (HazardKind.LONG_LOCK, "create index without CONCURRENTLY locks writes"),
    "LK103": (HazardKind.TABLE_REWRITE, "add stored generated column rewrites the table"),
    "LK104": (HazardKind.LONG_LOCK, "builds an index under ACCESS EXCLUSIVE (key, collation)"),
    "LK105": (HazardKind.LONG_LOCK, "scans the table while blocking writes"),
    "LK106": (HazardKind.LONG_LOCK, "drop index without CONCURRENTLY blocks reads and writes"),
}


@dataclass(frozen=True)
class Hazard:
    code: str
    object: str  # e.g. "table public.posts, column content"
    message: str

    @property
    def kind(self) -> HazardKind:
        return CODES[self.code][0]

    @property
    def destructive(self) -> bool:
        return self.kind is HazardKind.DATA_LOSS

    def as_record(self) -> dict[str, str]:
        return {"code": self.code, "kind": self.kind.value, "object": self.object,
                "message": self.message}

    @classmethod
    def from_record(cls, record: dict[str, str]) -> Hazard:
        return cls(record["code"], record["object"], record["message"])

    def __str__(self) -> str:
        return f"{self.code} ({self.kind.value}) {self.object}: {self.message}"


_INT_WIDTH = {"SMALLINT": 2, "INTEGER": 4, "BIGINT": 8}


def is_narrowing(old: Any, new: Any) -> bool:
    """True when some value of the old type may not fit the new one."""
    if isinstance(new, sqltypes.Enum):  # only the labels it has can be stored
        return not (isinstance(old, sqltypes.Enum) and set(old.enums) <= set(new.enums))
    if isinstance(old, sqltypes.Enum):  # labels into a string type
        return isinstance(new, sqltypes.String) and new.length is not None and any(
            len(label) > new.length for label in old.enums)
    old_name, new_name = type(old).__name__.upper(), type(new).__name__.upper()
    if old_name in _INT_WIDTH and new_name in _INT_WIDTH:
        return _INT_WIDTH[new_name] < _INT_WIDTH[old_name]
    if isinstance(old, sqltypes.String) and isinstance(new, sqltypes.String):
        if new.length is None:
            return False
        return old.length is None or new.length < old.length
    if isinstance(old, sqltypes.Numeric) and isinstance(new, sqltypes.Numeric):
        old_p, new_p = getattr(old, "precision", None), getattr(new, "precision", None)
        old_s, new_s = getattr(old, "scale", None) or 0, getattr(new, "scale", None) or 0
        if new_p is None:
            return False
        return old_p is None or new_p - new_s < old_p - old_s or new_s < old_s
    if _same_time_type(old, new):  # fewer fractional digits round the values
        return _precision(new) < _precision(old) or getattr(new, "fields", None) is not None
    if isinstance(old, postgresql.BIT) and isinstance(new, postgresql.BIT) \
            and old.varying and new.varying:
        return new.length is not None and (old.length is None or new.length < old.length)
    # Text parsed as another type (text -> integer) either casts exactly or fails: a may-fail
    # cast, not a loss (the apply stops and nothing is changed).
    if isinstance(old, sqltypes.String) and not isinstance(new, sqltypes.String):
        return False
    # Anything else may fail or lose information on cast; text-like targets are safe.
    return not isinstance(new, sqltypes.String) or new.length is not None


def _same_time_type(old: Any, new: Any) -> bool:
    """Both timestamp, both time or both interval, with the same time zone handling."""
    for kind in (sqltypes.TIMESTAMP, sqltypes.TIME):
        if isinstance(old, kind) and isinstance(new, kind):
            return bool(old.timezone) == bool(new.timezone)
    return isinstance(old, postgresql.INTERVAL) and isinstance(new, postgresql.INTERVAL)


def _precision(type_: Any) -> int:
    precision = getattr(type_, "precision", None)
    return 6 if precision is None else int(precision)  # PostgreSQL's default: microseconds


def is_widening(old: Any, new: Any) -> bool:
    """True when every value of the old type fits the new one unchanged (no cast can fail)."""
    if isinstance(old, sqltypes.Enum) or isinstance(new, sqltypes.Enum):
        return False
    same_family = (
        (type(old).__name__.upper() in _INT_WIDTH and type(new).__name__.upper() in _INT_WIDTH)
        or (isinstance(old, sqltypes.String) and isinstance(new, sqltypes.String))
        or _same_time_type(old, new)
        or (isinstance(old, postgresql.BIT) and isinstance(new, postgresql.BIT))
        or (isinstance(old, sqltypes.Numeric) and isinstance(new, sqltypes.Numeric)
            and not isinstance(old, sqltypes.Float) and not isinstance(new, sqltypes.Float)))
    return same_family and not is_narrowing(old, new)
