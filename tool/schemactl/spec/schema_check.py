"""The shipped JSON Schema (schema.json) as a pass of validate, so the two cannot disagree.

Input: the composed YAML documents (SourceDoc).
Output: a Diagnostic per place where a document does not fit schema.json, with the
file:line:column of the YAML node (empty when every document fits).

Editors check the YAML against schema.json with YAML 1.2 rules, where `yes`, `no`, `on` and
`off` are text, not booleans; a document is read here the same way, so `unique: yes` is
refused by validate exactly as an editor marks it. validate's own walk explains most
problems better; its diagnostics win where both report the same line (see validate()).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from schemactl.errors import Diagnostic
from schemactl.spec.load import SourceDoc
from schemactl.spec.yamlnodes import (
    BOOL_TAG,
    FLOAT_TAG,
    INT_TAG,
    NULL_TAG,
    kind_name,
    merged_pairs,
    plain_value,
)

_YAML12_BOOLS = {"true", "false"}
_CODES = {"additionalProperties": "E101", "type": "E102", "required": "E103",
          "minProperties": "E105", "minItems": "E105", "minLength": "E105"}
_TYPE_WORDS = {"boolean": "true or false", "string": "text", "object": "a mapping",
               "array": "a list", "integer": "a whole number", "number": "a number",
               "null": "nothing"}


@cache
def _validator() -> jsonschema.Draft202012Validator:
    text = resources.files("schemactl").joinpath("schema.json").read_text(encoding="utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def schema_diagnostics(docs: Sequence[SourceDoc]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for doc in docs:
        if doc.root is None:
            continue
        for error in _validator().iter_errors(to_json(doc.root)):
            found.append(_diagnostic(doc, _deepest(error)))
    return found


def to_json(node: yaml.Node) -> Any:
    """A node as the JSON value an editor's YAML 1.2 reading gives."""
    if isinstance(node, yaml.MappingNode):
        return {str(k.value): to_json(v) for k, v in merged_pairs(node)}
    if isinstance(node, yaml.SequenceNode):
        return [to_json(item) for item in node.value]
    if node.tag == BOOL_TAG and str(node.value).lower() not in _YAML12_BOOLS:
        return str(node.value)  # yes/no/on/off: text in YAML 1.2
    if node.tag in (BOOL_TAG, INT_TAG, FLOAT_TAG, NULL_TAG):
        return plain_value(node)
    return str(node.value)


def _deepest(error: ValidationError) -> ValidationError:
    """For "not valid under any of oneOf", the branch error that says what is wrong."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        return _deepest(best_match(_same_kind(error)))
    return error


def _same_kind(error: ValidationError) -> list[ValidationError]:
    """The errors of the oneOf branches for the kind of value written: a mapping is judged
    by the mapping branch, not by "is not of type string" from the shorthand branch."""
    kind = _json_type(error.instance)
    branch_errors = [e for e in error.context or []
                     if not (e.validator == "type" and not e.relative_path)]
    fitting = [e for e in branch_errors if kind in _branch_types(error, e)]
    return fitting or branch_errors or list(error.context or [])


def _branch_types(parent: ValidationError, error: ValidationError) -> set[str]:
    """The JSON types the oneOf branch of error accepts (all, when it does not say)."""
    branches = parent.validator_value
    index = error.schema_path[0] if error.schema_path else None
    branch = branches[index] if isinstance(index, int) and isinstance(branches, list) else {}
    wanted = branch.get("type") if isinstance(branch, dict) else None
    if wanted is None:
        return set(_TYPE_WORDS)
    return set(wanted) if isinstance(wanted, list) else {wanted}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    for python, name in ((dict, "object"), (list, "array"), (str, "string"), (int, "integer"),
                         (float, "number")):
        if isinstance(value, python):
            return name
    return "null"


def _diagnostic(doc: SourceDoc, error: ValidationError) -> Diagnostic:
    node, key_node = _node_at(doc.root, list(error.absolute_path))
    if error.validator in ("required", "minProperties") and key_node is not None:
        node = key_node  # "table posts needs ...": at the name, as validate points
    elif error.validator == "additionalProperties":
        node = _unexpected_key(node, error) or node  # at the key, as validate points
    where = ".".join(str(p) for p in error.absolute_path) or "the file"
    return Diagnostic(_CODES.get(str(error.validator), "E104"), _message(error, node),
                      file=doc.file, line=node.start_mark.line + 1,
                      column=node.start_mark.column + 1, obj=where,
                      hint="the JSON Schema editors use (`schemactl schema-json`) says so too")


def _unexpected_key(node: yaml.Node, error: ValidationError) -> yaml.Node | None:
    """The node of the first key the schema does not allow in this mapping."""
    allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    if not isinstance(node, yaml.MappingNode) or not allowed:
        return None
    return next((k for k, _ in merged_pairs(node) if str(k.value) not in allowed), None)


def _message(error: ValidationError, node: yaml.Node) -> str:
    if node.tag == BOOL_TAG and str(node.value).lower() not in _YAML12_BOOLS:
        return (f"{node.value!r} is text in YAML 1.2, as editors read it; write true or false"
                if "boolean" in str(error.validator_value) else error.message)
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) \
            else [error.validator_value]
        return (f"expected {' or '.join(_TYPE_WORDS.get(str(w), str(w)) for w in wanted)}, "
                f"got {kind_name(node)}")
    if error.validator == "enum":
        return f"got {kind_name(node)}; expected one of {', '.join(map(str, error.validator_value))}"
    return error.message


def _node_at(root: yaml.Node | None, path: list[Any]) -> tuple[yaml.Node, yaml.Node | None]:
    """The node at a JSON path (the deepest one that exists), and its key's node."""
    assert root is not None
    node: yaml.Node = root
    key_node: yaml.Node | None = None
    for step in path:
        pair: tuple[yaml.Node | None, yaml.Node] | None = None
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in merged_pairs(node) if str(k.value) == str(step)),
                        None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) \
                and step < len(node.value):
            pair = (None, node.value[step])
        if pair is None:
            break
        key_node, node = pair
    return node, key_node
