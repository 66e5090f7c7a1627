"""Reading PyYAML nodes with positions, and collecting diagnostics instead of raising.

validate walks composed nodes (see load.py) rather than plain dicts so that every error
can name file:line:column. These helpers do the repetitive part: "is this a mapping?",
"which keys are unknown?", "is this a bool?", each reporting a Diagnostic on failure and
returning None so the walk can go on and find every error in one run.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from schemactl.errors import Diagnostic
from schemactl.spec import naming
from schemactl.spec.sqlfrag import FragmentError, parse_fragment
from schemactl.spec.types import Mark

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
X_PREFIX = "x-"  # top-level keys for the user's own use, e.g. anchors of shared columns

_constructor = SafeConstructor()


@dataclass(frozen=True)
class Entry:
    """One `key: value` of a mapping, with both nodes (for positions)."""

    key: str
    key_node: yaml.Node
    value: yaml.Node


def merged_pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    """The pairs of a mapping with YAML merge keys (`<<: *common`) expanded where they stand.

    As the YAML merge rule says: keys written in the mapping itself win over merged ones,
    and of several merged mappings the earlier wins. Merged pairs keep their positions (in
    the anchored mapping), so a diagnostic points where the text can be fixed.
    """
    if not any(key.tag == MERGE_TAG for key, _ in node.value):
        return list(node.value)
    written = {_hashable(key) for key, _ in node.value if key.tag != MERGE_TAG}
    merged: set[object] = set()
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in node.value:
        if key.tag != MERGE_TAG:
            pairs.append((key, value))
            continue
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise yaml.YAMLError("`<<:` merges a mapping or a list of mappings")
            for k, v in merged_pairs(source):
                if _hashable(k) not in written and _hashable(k) not in merged:
                    merged.add(_hashable(k))
                    pairs.append((k, v))
    return pairs


def _hashable(key: yaml.Node) -> object:
    """What identifies a key for the merge rule: its text, or (a list or mapping used as a
    key, which validate refuses anyway) the node itself."""
    return key.value if isinstance(key, yaml.ScalarNode) else id(key)


def mark_of(file: str, node: yaml.Node) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


def kind_name(node: yaml.Node) -> str:
    """How a node reads to a user: 'a mapping', 'a list', 'true', '"abc"'."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "nothing (null)"
    if node.tag == STR_TAG:
        return f"the text {node.value!r}"
    return str(node.value)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def is_text(node: yaml.Node) -> bool:
    """A scalar that is not null. Booleans and numbers count: a name may be `on` or `1`."""
    return isinstance(node, yaml.ScalarNode) and node.tag != NULL_TAG


def plain_value(node: yaml.Node) -> Any:
    """A node as a Python value for literal defaults. Dates stay text: we pass them to SQL."""
    if isinstance(node, yaml.SequenceNode):
        return [plain_value(item) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        return {str(k.value): plain_value(v) for k, v in node.value}
    if not isinstance(node, yaml.ScalarNode) or node.tag == NULL_TAG:
        return None
    if node.tag == BOOL_TAG:
        return _constructor.construct_yaml_bool(node)
    if node.tag == INT_TAG:
        return _constructor.construct_yaml_int(node)
    if node.tag == FLOAT_TAG:
        return _constructor.construct_yaml_float(node)
    return str(node.value)


class NodeReader:
    """Reads values out of nodes of the current file. Each method reports a Diagnostic and
    returns None on a wrong value, so that the caller can go on and find every error."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.file = ""

    def mark(self, node: yaml.Node) -> Mark:
        return mark_of(self.file, node)

    def error(
        self,
        code: str,
        node: yaml.Node | Mark,
        message: str,
        obj: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = node if isinstance(node, Mark) else self.mark(node)
        self.diagnostics.append(Diagnostic(code, message, where.file, where.line, where.column, hint, obj))

    def mapping(
        self,
        node: yaml.Node,
        obj: str | None,
        allowed: Sequence[str] | None,
        expected: str = "a mapping",
        duplicate: str = "key",
        dup_code: str = "E305",
        free_x_keys: bool = False,
    ) -> list[Entry] | None:
        """The entries of a mapping node; reports duplicate and (if allowed given) unknown keys.

        free_x_keys: keys starting with `x-` are the user's own (a place for YAML anchors),
        skipped without a word.
        """
        if not isinstance(node, yaml.MappingNode):
            self.error("E102", node, f"expected {expected}, found {kind_name(node)}", obj)
            return None
        try:
            pairs = merged_pairs(node)
        except yaml.YAMLError:
            self.error("E102", node, "`<<:` must merge a mapping or a list of mappings", obj)
            return None
        entries: list[Entry] = []
        first: dict[str, yaml.Node] = {}
        for key_node, value in pairs:
            if not is_text(key_node):
                self.error("E102", key_node, f"a {duplicate} name must be text", obj)
                continue
            key = str(key_node.value)
            if key in first:
                self.error(
                    dup_code,
                    key_node,
                    f"duplicate {duplicate} {key!r} (first at line {self.mark(first[key]).line})",
                    obj,
                )
                continue
            first[key] = key_node
            if free_x_keys and key.startswith(X_PREFIX):
                continue
            if allowed is not None and key not in allowed:
                self.error(
                    "E101",
                    key_node,
                    f"unknown key {key!r}",
                    obj,
                    did_you_mean(key, allowed) or f"allowed keys: {', '.join(allowed)}",
                )
                continue
            entries.append(Entry(key, key_node, value))
        return entries

    def sequence(self, node: yaml.Node, obj: str | None, expected: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.error("E102", node, f"expected {expected}, found {kind_name(node)}", obj)
            return None
        return list(node.value)

    def text(self, node: yaml.Node, obj: str | None, what: str) -> str | None:
        if not is_text(node):
            self.error("E102", node, f"{what} must be text, found {kind_name(node)}", obj)
            return None
        return str(node.value)

    def name(self, node: yaml.Node, obj: str | None, what: str, may_be_empty: bool = False) -> str | None:
        """An identifier the user chose: non-empty and at most 63 bytes (never truncated).
        may_be_empty: for enum labels, which PostgreSQL allows to be '' (identifiers not)."""
        value = self.text(node, obj, what)
        if value is None:
            return None
        if not may_be_empty and value == "":  # PostgreSQL allows any other name, blanks too
            self.error("E602", node, f"{what} must not be empty", obj)
            return None
        if not naming.fits(value):
            size = len(value.encode("utf-8"))
            self.error(
                "E601",
                node,
                f"{what} {value!r} is {size} bytes; PostgreSQL allows 63",
                obj,
                "PostgreSQL would silently cut it; choose a shorter name",
            )
            return None
        return value

    def flag(self, node: yaml.Node, obj: str | None, what: str) -> bool | None:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == BOOL_TAG):
            self.error("E102", node, f"{what} must be true or false, found {kind_name(node)}", obj)
            return None
        return bool(plain_value(node))

    def choice(self, node: yaml.Node, obj: str | None, what: str, choices: Sequence[str]) -> str | None:
        value = self.text(node, obj, what)
        if value is None:
            return None
        normal = " ".join(value.lower().replace("_", " ").split())
        if normal not in choices:
            self.error(
                "E104",
                node,
                f"{what} {value!r} is not one of: {', '.join(choices)}",
                obj,
                did_you_mean(normal, choices),
            )
            return None
        return normal

    def fragment(self, node: yaml.Node, obj: str | None, what: str) -> tuple[str, Any] | None:
        """(text, parsed expression) of an SQL fragment that is exactly one expression."""
        text = self.text(node, obj, what)
        if text is None:
            return None
        try:
            return text, parse_fragment(text)
        except FragmentError as exc:
            self.error(
                "E801",
                node,
                f"{what} {text!r}: {exc}",
                obj,
                "write a single SQL expression, e.g. now() or length(title) > 0",
            )
            return None
