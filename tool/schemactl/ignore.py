"""The project's ignore list: the objects schemactl leaves alone because a person manages them.

Input: a project root. Output: an IgnoreList (empty when the project has no
schemactl-ignore.yaml), or SpecError whose diagnostics name file:line:column. The list then
sorts out what inspect reported: records -> Sorted.

    # objects schemactl leaves alone: the DBA manages them by hand
    ignore:
      - kind: function          # a kind as inspect names it
        name: public.audit_*    # exact, or a glob (fnmatch: * ? [abc])
        reason: managed by the DBA   # optional, shown in output

inspect reports what the YAML cannot express as (kind, name, reason) records. Nothing of
that may vanish silently: `IgnoreList.sort_out` splits such records into those the list
names (left alone, said so) and those it does not (not compared, said so, and refused by
baseline), and names the entries that match nothing (stale, a warning). Kind and name are
compared case-sensitively, as inspect spells them; both may be globs. A name without an
argument list (`public.audit_log`) names a function or procedure of every signature.

Diagnostic codes (stable; docs/ignore-list.md):
  E902 the file's shape: not a mapping with an `ignore:` list of mappings, an unknown key,
       a value that is not text
  E903 an entry without `kind` or `name`, or with an empty one
  E904 the same kind and name listed twice
(E001 unreadable, E002 YAML syntax and E003 loader limits as for schema files.)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

import yaml

from schemactl.errors import Diagnostic, SpecError
from schemactl.spec.load import load_text

FILE_NAME = "schemactl-ignore.yaml"

_NULL_TAG = "tag:yaml.org,2002:null"
_ENTRY_KEYS = ("kind", "name", "reason")


class Reported(Protocol):
    """What inspect reports of an object it cannot express (inspect.catalog.Unsupported)."""

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class IgnoreEntry:
    kind: str
    name: str
    reason: str = ""
    file: str = FILE_NAME
    line: int = 0
    column: int = 0

    def matches(self, item: Reported) -> bool:
        if not fnmatchcase(item.kind, self.kind):
            return False
        if fnmatchcase(item.name, self.name):
            return True
        # A function's name without its arguments names every function of that name.
        return "(" not in self.name and "(" in item.name and \
            fnmatchcase(item.name.split("(", 1)[0], self.name)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Left:
    """One object of the database that the YAML does not hold: kind, name and why."""

    kind: str
    name: str
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" + (f" ({self.reason})" if self.reason else "")


@dataclass(frozen=True)
class Sorted:
    """What inspect reported, sorted out by the ignore list."""

    # Each sorted by kind and name.
    left_alone: tuple[Left, ...] = ()  # named by the list; the entry's reason, else inspect's
    not_compared: tuple[Left, ...] = ()  # not named: the YAML cannot express them
    stale: tuple[IgnoreEntry, ...] = ()  # entries that match nothing
    kinds: tuple[str, ...] = ()  # every kind reported, for "did you mean"

    def stale_warnings(self) -> list[str]:
        lines = []
        for entry in self.stale:
            close = difflib.get_close_matches(entry.kind, self.kinds, n=1)
            hint = f"; did you mean kind {close[0]!r}?" if close and close[0] != entry.kind \
                else ""
            lines.append(f"{entry.where}: ignore list entry {entry.kind} {entry.name} "
                         f"matches nothing{hint}")
        return lines


@dataclass(frozen=True)
class IgnoreList:
    entries: tuple[IgnoreEntry, ...] = ()
    file: str | None = None  # as shown to the user; None when the project has none

    def __bool__(self) -> bool:
        return bool(self.entries)

    def sort_out(self, reported: Iterable[Reported]) -> Sorted:
        left, not_compared, used = [], [], set()
        kinds: dict[str, None] = {}
        for item in reported:
            kinds[item.kind] = None
            entry = next((e for e in self.entries if e.matches(item)), None)
            if entry is None:
                not_compared.append(Left(item.kind, item.name, item.reason))
                continue
            used.add(entry)
            left.append(Left(item.kind, item.name, entry.reason or item.reason))
        stale = tuple(e for e in self.entries if e not in used)
        return Sorted(tuple(sorted(left, key=_order)), tuple(sorted(not_compared, key=_order)),
                      stale, tuple(kinds))


def _order(item: Left) -> tuple[str, str]:
    return item.kind, item.name


def load_ignore_list(root: Path) -> IgnoreList:
    """The project's schemactl-ignore.yaml, or an empty list when it has none."""
    path = root / FILE_NAME
    if not path.is_file():
        return IgnoreList()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise SpecError([Diagnostic("E001", "not UTF-8 text", FILE_NAME, line,
                                    hint="save the file as UTF-8")]) from None
    except OSError as exc:
        raise SpecError([Diagnostic("E001", f"cannot read file: {exc.strerror or exc}",
                                    FILE_NAME)]) from None
    return parse_ignore_list(text, FILE_NAME)


def parse_ignore_list(text: str, file: str = FILE_NAME) -> IgnoreList:
    """The text of an ignore file -> IgnoreList, or SpecError listing every problem."""
    root = load_text(text, file).root  # E002/E003 with their line and column
    reader = _Reader(file)
    entries = reader.read(root)
    if reader.problems:
        raise SpecError(reader.problems)
    return IgnoreList(tuple(entries), file)


@dataclass
class _Reader:
    file: str
    problems: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, node: yaml.Node, message: str, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(code, message, self.file, node.start_mark.line + 1,
                                        node.start_mark.column + 1, hint))

    def read(self, root: yaml.Node | None) -> list[IgnoreEntry]:
        if root is None or _is_null(root):
            return []  # an empty file ignores nothing
        if not isinstance(root, yaml.MappingNode):
            self.error("E902", root, f"expected a mapping with an `ignore:` list, found "
                       f"{_kind_name(root)}", _EXAMPLE)
            return []
        entries: list[IgnoreEntry] = []
        seen_ignore = False
        for key, value in root.value:
            if not (isinstance(key, yaml.ScalarNode) and key.value == "ignore"):
                self.error("E902", key, f"unknown key {_shown(key)}: the file holds only "
                           "`ignore:`", _EXAMPLE)
                continue
            if seen_ignore:
                self.error("E902", key, "`ignore:` is written twice")
                continue
            seen_ignore = True
            if _is_null(value):
                continue
            if not isinstance(value, yaml.SequenceNode):
                self.error("E902", value, f"`ignore:` must be a list of entries, found "
                           f"{_kind_name(value)}", _EXAMPLE)
                continue
            entries += self.entries(value.value)
        return entries

    def entries(self, nodes: Sequence[yaml.Node]) -> list[IgnoreEntry]:
        found: dict[tuple[str, str], IgnoreEntry] = {}
        for node in nodes:
            entry = self.entry(node)
            if entry is None:
                continue
            first = found.get((entry.kind, entry.name))
            if first is not None:
                self.error("E904", node, f"entry {entry} is listed twice (first at line "
                           f"{first.line})", "remove one of them")
                continue
            found[(entry.kind, entry.name)] = entry
        return list(found.values())

    def entry(self, node: yaml.Node) -> IgnoreEntry | None:
        if not isinstance(node, yaml.MappingNode):
            self.error("E902", node, f"an entry must be a mapping with kind, name and "
                       f"(optionally) reason, found {_kind_name(node)}", _EXAMPLE)
            return None
        values: dict[str, str] = {}
        ok = True
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name not in _ENTRY_KEYS:
                close = difflib.get_close_matches(str(name), _ENTRY_KEYS, n=1)
                self.error("E902", key, f"unknown key {_shown(key)} in an entry",
                           f"did you mean {close[0]!r}?" if close else
                           f"allowed keys: {', '.join(_ENTRY_KEYS)}")
                ok = False
                continue
            assert isinstance(name, str)
            if name in values:
                self.error("E902", key, f"`{name}` is written twice in this entry")
                ok = False
                continue
            if not isinstance(value, yaml.ScalarNode) or _is_null(value):
                self.error("E902", value, f"`{name}` must be text, found {_kind_name(value)}")
                ok = False
                continue
            values[name] = str(value.value)
        shaped = ok  # a missing key is worth a word only when no key was misspelt
        for required in ("kind", "name"):
            if required not in values:
                if shaped:
                    self.error("E903", node, f"an entry needs `{required}`", _EXAMPLE)
                ok = False
            elif not values[required].strip():
                self.error("E903", node, f"`{required}` must not be empty")
                ok = False
        if not ok:
            return None
        return IgnoreEntry(values["kind"], values["name"], values.get("reason", ""), self.file,
                           node.start_mark.line + 1, node.start_mark.column + 1)


_EXAMPLE = "e.g. `ignore: [{kind: policy, name: public.accounts.owner_only, reason: by hand}]`"


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _kind_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if _is_null(node):
        return "nothing (null)"
    return repr(node.value)


def _shown(node: yaml.Node) -> str:
    return repr(node.value) if isinstance(node, yaml.ScalarNode) else _kind_name(node)
