"""Reading PyYAML nodes with positions, and collecting diagnostics instead of raising.

validate walks composed nodes (see load.py) rather than plain dicts so that every error
can name file:line:column. These helpers do the repetitive part: "is this a mapping?",
"which keys are unknown?", "is this a bool?", each reporting a Diagnostic on failure and
returning None so the walk can go on and find every error in one run.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from schemactl.errors import Diagnostic
from schemactl.spec.types import Mark

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
STR_TAG = "tag:yaml.org,2002:str"

_constructor = SafeConstructor()


@dataclass(frozen=True)
class Entry:
    """One `key: value` of a mapping, with both nodes (for positions)."""

    key: str
    key_node: yaml.Node
    value: yaml.Node


@dataclass
class Collector:
    """Gathers diagnostics for one validation run."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(
        self,
        code: str,
        where: Mark | None,
        message: str,
        obj: str | None = None,
        hint: str | None = None,
    ) -> None:
        if where is None:
            self.diagnostics.append(Diagnostic(code, message, obj=obj, hint=hint))
            return
        self.diagnostics.append(
            Diagnostic(code, message, where.file, where.line, where.column, hint, obj)
        )


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
