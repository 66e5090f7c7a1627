"""Hazard codes: lint findings as data, each with a stable code (after Atlas's DS/MF codes).

A revision file records its hazards in the module attribute `schemactl_hazards`, a list of
`Hazard.as_record()` dicts, so that offline SQL, apply and status can all read them
without re-planning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
    "LK101": (HazardKind.TABLE_REWRITE, "type change rewrites the table"),
    "LK102": (HazardKind.LONG_LOCK, "create index without CONCURRENTLY locks writes"),
    "LK103": (HazardKind.TABLE_REWRITE, "add stored generated column rewrites the table"),
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
