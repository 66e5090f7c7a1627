"""Load YAML schema files into node trees that remember where everything was written.

We keep PyYAML's composed nodes (not plain dicts) because every node carries its start
mark: validate can then name file:line:column for any value, however deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from schemactl.errors import Diagnostic, SpecError

SCHEMA_SUFFIXES = (".yaml", ".yml")
# libyaml's loader gives the same nodes and marks about five times faster, where installed.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def load_text(text: str, file: str) -> SourceDoc:
    """Compose one YAML document; a syntax error becomes a SpecError with its position."""
    try:
        try:
            root = yaml.compose(text, Loader=_LOADER)
        except yaml.YAMLError:
            # Only for its message: PyYAML's own parser explains errors better than libyaml.
            root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise SpecError(
            [
                Diagnostic(
                    "E002",
                    f"YAML syntax error: {problem}",
                    file=file,
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                )
            ]
        ) from None
    except yaml.YAMLError as exc:  # e.g. more than one document in a file
        raise SpecError([Diagnostic("E002", f"YAML error: {exc}", file=file)]) from None
    return SourceDoc(file, root)


def load(path: Path, base: Path | None = None) -> list[SourceDoc]:
    """Load every schema file under path. All syntax errors are reported together."""
    docs: list[SourceDoc] = []
    problems: list[Diagnostic] = []
    for file in schema_files(path):
        name = _display_name(file, base if base is not None else Path.cwd())
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Diagnostic("E001", f"cannot read file: {exc}", file=name))
            continue
        try:
            docs.append(load_text(text, name))
        except SpecError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise SpecError(problems)
    return docs
