"""Errors as data. A Diagnostic becomes an exit code only at the CLI edge."""

from __future__ import annotations

from dataclasses import dataclass, field

# Exit codes, shared by every command (see DESIGN.md).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PENDING = 3
EXIT_HAZARD = 4


@dataclass(frozen=True)
class Diagnostic:
    """One finding about the user's input: where it is, what is wrong, how to fix it."""

    code: str
    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    hint: str | None = None
    obj: str | None = None  # the schema object it is about, e.g. "table posts, column title"

    def location(self) -> str:
        parts = [p for p in (self.file, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)

    def __str__(self) -> str:
        where = self.location()
        head = f"{where}: " if where else ""
        about = f"{self.obj}: " if self.obj else ""
        text = f"{head}error[{self.code}]: {about}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SchemactlError(Exception):
    """An error the user can act on. The CLI prints it and exits with exit_code."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f"\n  hint: {self.hint}" if self.hint else "")


@dataclass
class SpecError(Exception):
    """The YAML schema is invalid; carries every diagnostic found, not only the first."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)


class HazardRefused(SchemactlError):
    """A destructive or risky step was not acknowledged."""

    exit_code = EXIT_HAZARD
