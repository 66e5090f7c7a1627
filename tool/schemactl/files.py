"""Writing a command's files all or nothing.

Input: the files a command is about to write. Output: those files on disk or, when
anything fails (a file that cannot be written, an error half-way, Ctrl-C), the project
exactly as it was before the command started.

Two parts: check_writable() looks at every target before the first byte is written, so
the usual failures (a read-only directory, a directory where a file should be) happen
before anything changes; FileTransaction remembers what each touched file held and puts
it back if the block fails anyway.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from schemactl.errors import SchemactlError


def check_writable(paths: Iterable[Path]) -> None:
    """SchemactlError naming the first path that cannot be written (as a file)."""
    for path in paths:
        problem = _why_not_writable(path)
        if problem is not None:
            raise SchemactlError(f"cannot write {path}: {problem}",
                                 hint="nothing was written; fix the path or its permissions")


def _why_not_writable(path: Path) -> str | None:
    if path.is_dir():
        return "it is a directory"
    if path.exists():
        return None if os.access(path, os.W_OK) else "permission denied"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"permission denied in {parent}"
    return None


class FileTransaction:
    """Restores every tracked file (and removes created directories) if the block fails."""

    def __init__(self) -> None:
        self._saved: dict[Path, bytes | None] = {}
        self._created_dirs: list[Path] = []

    def __enter__(self) -> FileTransaction:
        return self

    def track(self, path: Path) -> Path:
        """Remember what path holds now (or that it does not exist), before it is written."""
        if path not in self._saved:
            self._saved[path] = path.read_bytes() if path.is_file() else None
        return path

    def created(self, path: Path) -> Path:
        """Remember that path did not exist before the block (a tool such as Alembic made
        it already, under a name only known now): it is removed if the block fails."""
        self._saved.setdefault(path, None)
        return path

    def mkdir(self, directory: Path) -> None:
        missing = [d for d in (directory, *directory.parents) if not d.exists()]
        directory.mkdir(parents=True, exist_ok=True)
        self._created_dirs.extend(missing)  # deepest first: removed in this order

    def write_text(self, path: Path, text: str) -> None:
        self.track(path)
        self.mkdir(path.parent)
        path.write_text(text, encoding="utf-8")

    def remove(self, path: Path) -> None:
        self.track(path)
        path.unlink()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            return
        for path, data in self._saved.items():
            try:
                if data is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(data)
            except OSError:
                pass  # the original error says more than a failed restore would
        for directory in self._created_dirs:
            with contextlib.suppress(OSError):
                directory.rmdir()
