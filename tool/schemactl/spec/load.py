"""Load YAML schema files into node trees that remember where everything was written.

Input: schema files (or text). Output: SourceDoc, one per file, or SpecError.

We keep PyYAML's composed nodes (not plain dicts) because every node carries its start
mark: validate can then name file:line:column for any value, however deep.

The loader is bounded, because YAML can describe documents far bigger than its text (an
alias of an alias of ... : "billion laughs"), recursive ones (`&d [*d]`) and nestings
that exhaust Python's stack. Every limit is far above what a real schema needs, and
exceeding one is an error at the place that does it, found before anything walks the tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from schemactl.errors import Diagnostic, SpecError

SCHEMA_SUFFIXES = (".yaml", ".yml")
# libyaml's loader gives the same nodes and marks about five times faster, where installed.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Limits no real schema reaches (a schema of a thousand tables is a megabyte or two and
# a few hundred thousand values, nested about eight deep). Aliases may repeat values, but
# not add more than MAX_ALIAS_NODES to what is written; the file size bounds the rest.
MAX_BYTES = 16 * 1024 * 1024
MAX_ALIAS_NODES = 500_000  # values added by expanding aliases and merge keys
MAX_DEPTH = 100  # mappings and lists inside each other, aliases included
MAX_MERGE_DEPTH = 10  # `<<:` of a mapping that itself merges another, ...

_TAG = "tag:yaml.org,2002:"
MERGE_TAG = _TAG + "merge"
# The tags of values a schema is made of; each scalar must be a valid value of its tag.
# (`=` alone is read as the rarely used "value" tag; it stays the text "=".)
_SCALAR_TAGS = {_TAG + t for t in ("str", "value", "int", "float", "bool", "null", "timestamp")}
_constructor = SafeConstructor()
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class SourceDoc:
    """One YAML file: its name as shown to the user, and its root node (None if empty)."""

    file: str
    root: yaml.Node | None


def schema_files(path: Path) -> list[Path]:
    """The YAML files that form one schema: path itself, or every *.yaml below it, sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise SpecError([Diagnostic("E001", f"no such file or directory: {path}")])
    files = sorted(p for p in path.rglob("*") if p.suffix in SCHEMA_SUFFIXES and p.is_file())
    if not files:
        raise SpecError(
            [
                Diagnostic(
                    "E001",
                    f"no schema files (*.yaml, *.yml) under {path}",
                    hint="create one, e.g. schema/app.yaml with a `tables:` section",
                )
            ]
        )
    return files


def _display_name(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            pass
    return str(path)


class _Limit(Exception):
    """A bound of the loader was exceeded at mark."""

    def __init__(self, message: str, mark: Any, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


def load_text(text: str, file: str) -> SourceDoc:
    """Compose one YAML document within the loader's bounds; any problem is a SpecError
    naming the file, line and column."""
    try:
        if len(text) > MAX_BYTES:
            raise _Limit(f"file is larger than {MAX_BYTES // (1024 * 1024)} MB", None)
        _check_nesting(text)
        root = _compose(text)
        if root is not None:
            _check_graph(root)
    except _Limit as exc:
        raise SpecError([_diagnostic("E003", exc.message, file, exc.mark, exc.hint)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise SpecError([_diagnostic("E002", f"YAML syntax error: {problem}", file, mark)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow in a file
        where = _mark_at(text, exc.position)
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise SpecError(
            [
                _diagnostic(
                    "E002",
                    f"YAML error: character {what} is not allowed in a YAML file",
                    file,
                    where,
                    "control characters must be written as escapes in a double-quoted string",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:  # e.g. more than one document in a file
        raise SpecError([Diagnostic("E002", f"YAML error: {exc}", file=file)]) from None
    return SourceDoc(file, root)


def _diagnostic(code: str, message: str, file: str, mark: Any, hint: str | None = None) -> Diagnostic:
    """mark: PyYAML's or libyaml's (both have line and column, 0-based), or None."""
    return Diagnostic(
        code,
        message,
        file=file,
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
        hint=hint,
    )


def _mark_at(text: str, position: int) -> yaml.Mark:
    """A mark for a character offset (the reader's errors give only the offset)."""
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    return yaml.Mark("", position, line, column, "", 0)


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        # Only for its message: PyYAML's own parser explains errors better than libyaml.
        return yaml.compose(text, Loader=yaml.SafeLoader)


def _check_nesting(text: str) -> None:
    """Refuse deep nesting from the event stream, before composing: the composer recurses
    once per level and would exhaust the stack."""
    try:
        _nesting(text, _LOADER)
    except yaml.YAMLError:
        # libyaml scans ahead and may stop at its own limit before reaching ours; PyYAML's
        # parser does not scan ahead. A real syntax error: composing reports it.
        try:
            _nesting(text, yaml.SafeLoader)
        except yaml.YAMLError:
            return


def _nesting(text: str, loader: type) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Limit(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _check_graph(root: yaml.Node) -> None:
    """One pass over the composed graph (aliases are shared nodes, so it is a graph):
    no cycle, and within the bounds once aliases and merge keys are expanded."""
    size: dict[int, int] = {}  # nodes in the expansion of a node
    height: dict[int, int] = {}
    merges: dict[int, int] = {}  # length of the longest chain of `<<:` below a mapping
    on_path: set[int] = set()
    expanded = 0
    stack: list[tuple[yaml.Node, Iterator[yaml.Node]]] = [(root, _children(root))]
    on_path.add(id(root))
    while stack:
        node, todo = stack[-1]
        child = next(todo, None)
        if child is not None:
            if id(child) in on_path:
                raise _Limit(
                    "an alias refers to the mapping or list that contains it (a cycle)",
                    child.start_mark,
                    "YAML anchors cannot be used inside themselves",
                )
            if id(child) not in size:
                on_path.add(id(child))
                stack.append((child, _children(child)))
                continue
            # A node met again is an alias (or a merge of one): it adds its whole expansion.
            expanded += size[id(child)]
            if expanded > MAX_ALIAS_NODES:
                raise _Limit(
                    f"aliases and merge keys expand to more than {MAX_ALIAS_NODES:,} values "
                    "beyond those written (this anchor is one of them)",
                    child.start_mark,
                    "an alias of an alias of ... grows exponentially; write the values out",
                )
            continue
        stack.pop()
        on_path.discard(id(node))
        _measure(node, size, height, merges)


def _measure(node: yaml.Node, size: dict[int, int], height: dict[int, int], merges: dict[int, int]) -> None:
    """Record a node's expanded size, height and merge depth (its children are measured)."""
    kids = list(_children(node))
    size[id(node)] = 1 + sum(size[id(k)] for k in kids)
    height[id(node)] = 1 + max((height[id(k)] for k in kids), default=0)
    merges[id(node)] = 0
    if isinstance(node, yaml.ScalarNode):
        _check_scalar(node)
    elif isinstance(node, yaml.MappingNode):
        merges[id(node)] = _merge_depth(node, merges)
    if height[id(node)] > MAX_DEPTH:
        raise _Limit(f"nested more than {MAX_DEPTH} levels deep (aliases expanded)", node.start_mark)


def _merge_depth(node: yaml.MappingNode, merges: dict[int, int]) -> int:
    depth = 0
    for key, value in node.value:
        if key.tag != MERGE_TAG:
            continue
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise _Limit("`<<:` merges a mapping or a list of mappings", source.start_mark)
            depth = max(depth, merges[id(source)] + 1)
    if depth > MAX_MERGE_DEPTH:
        raise _Limit(f"merge keys (`<<:`) chained more than {MAX_MERGE_DEPTH} deep", node.start_mark)
    return depth


def _check_scalar(node: yaml.ScalarNode) -> None:
    """Text that PostgreSQL or Python cannot hold, and explicit tags with wrong values."""
    if node.tag == MERGE_TAG:
        return
    value = node.value
    if "\x00" in value:
        raise _Limit("text contains a NUL character (\\0), which PostgreSQL cannot store", node.start_mark)
    if _SURROGATE.search(value):
        raise _Limit(
            "text contains a lone UTF-16 surrogate (e.g. \\ud83c), which is not a character",
            node.start_mark,
            "write the character itself, or its \\U00xxxxxx escape",
        )
    if node.tag not in _SCALAR_TAGS:
        raise _Limit(f"the YAML tag {node.tag!r} is not supported in a schema", node.start_mark)
    if node.tag in (_TAG + "str", _TAG + "value"):
        return
    try:
        SafeConstructor.yaml_constructors[node.tag](_constructor, node)
    except (ValueError, KeyError, ConstructorError, OverflowError):
        if node.tag == _TAG + "int" and len(value) > 4300:
            raise _Limit("a number of more than 4,300 digits", node.start_mark) from None
        short = value if len(value) <= 40 else value[:37] + "..."
        raise _Limit(
            f"{short!r} is not a valid {node.tag.removeprefix(_TAG)}",
            node.start_mark,
            "quote it to make it text, or write a valid value",
        ) from None


def load(path: Path, base: Path | None = None) -> list[SourceDoc]:
    """Load every schema file under path. All syntax errors are reported together."""
    docs: list[SourceDoc] = []
    problems: list[Diagnostic] = []
    for file in schema_files(path):
        name = _display_name(file, base if base is not None else Path.cwd())
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            line = exc.object[: exc.start].count(b"\n") + 1
            problems.append(
                Diagnostic("E001", f"not UTF-8 text: byte {exc.object[exc.start]:#04x} cannot be decoded",
                           file=name, line=line, hint="save the file as UTF-8")
            )
            continue
        except OSError as exc:
            problems.append(Diagnostic("E001", f"cannot read file: {exc.strerror or exc}", file=name))
            continue
        try:
            docs.append(load_text(text, name))
        except SpecError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise SpecError(problems)
    return docs
