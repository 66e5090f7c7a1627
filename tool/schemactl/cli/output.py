"""How commands write: human text, one JSON document, colour and verbosity.

Input: what a command wants to say (a line of text with a level, or a dict for --json).
Output: text on stdout/stderr, or exactly one JSON document on stdout.

The convention every command follows (documented for users in docs/json-output.md):

- `--json`: stdout carries exactly one JSON document, written by `emit_json`; every other
  line the command writes goes to stderr, so `schemactl status --json | jq` always works.
- The document is an object with `"schemactl_json": JSON_VERSION` and `"command"` first, then
  the command's own fields. A field is only ever added within a version; renaming or removing
  one bumps JSON_VERSION.
- `-q` keeps only warnings and errors; `-v` adds detail lines. Colour is used on a terminal
  and never when NO_COLOR is set, with `--no-color`, or when the stream is piped.

The mode of one invocation lives in the click context (not in a global), so in-process test
runs do not leak into each other. Every command gets the options from `add_common_options`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import click

from schemactl.db.urls import redact

JSON_VERSION = 1
_META_KEY = "schemactl.output"

# Roles, not colours, in the code that writes: one place decides what a role looks like.
_STYLES: dict[str, dict[str, Any]] = {
    "ok": {"fg": "green"},
    "add": {"fg": "green"},
    "change": {"fg": "yellow"},
    "drop": {"fg": "red"},
    "warning": {"fg": "yellow", "bold": True},
    "error": {"fg": "red", "bold": True},
    "hazard": {"fg": "red"},
    "dim": {"dim": True},
    "heading": {"bold": True},
}


@dataclass
class Mode:
    json: bool = False
    verbosity: int = 0  # -1 quiet, 0 normal, 1 verbose
    no_color: bool = False
    emitted: bool = False  # a JSON document went out (at most one per run)

    @property
    def color(self) -> bool | None:
        """False forces plain text; None lets click decide per stream (colour on a TTY)."""
        return False if self.no_color or os.environ.get("NO_COLOR") else None


def mode(ctx: click.Context | None = None) -> Mode:
    """The mode of this run (of ctx's run, from another thread, which has no current context)."""
    ctx = ctx or click.get_current_context(silent=True)
    if ctx is None:
        return Mode()
    found = ctx.meta.get(_META_KEY)
    if found is None:
        found = ctx.meta[_META_KEY] = Mode()
    return found


def style(text: str, role: str) -> str:
    """text marked for a role (see _STYLES); plain again when colour is off."""
    return click.style(text, **_STYLES[role])


_PLAN_MARKS = (("-/+ ", "drop"), ("+ ", "add"), ("~ ", "change"), ("- ", "drop"),
               ("! ", "hazard"))


def plan_text(text: str) -> str:
    """A rendered plan with its + ~ - lines and hazards marked for colour."""
    lines = []
    for line in text.splitlines():
        body = line.lstrip()
        role = next((r for mark, r in _PLAN_MARKS if body.startswith(mark)), None)
        lines.append(line[: len(line) - len(body)] + style(body, role) if role else line)
    return "\n".join(lines)


def echo(text: str = "", err: bool = False) -> None:
    """A normal line: hidden by -q; on stderr under --json. Passwords are always redacted."""
    current = mode()
    if current.verbosity < 0 and not err:
        return
    _write(text, err or current.json)


def detail(text: str) -> None:
    """A line only -v shows."""
    if mode().verbosity > 0:
        _write(text, True)


def warn(text: str) -> None:
    """A warning: always shown (even with -q), always on stderr."""
    _write(style("warning:", "warning") + " " + text, True)


def _write(text: str, err: bool) -> None:
    click.echo(redact(text), err=err, color=mode().color)


def emit_json(command: str, data: dict[str, Any], ok: bool = True) -> None:
    """The one JSON document of this run, on stdout. ok: the exit code will be 0."""
    current = mode()
    if current.emitted:
        raise RuntimeError("a command wrote two JSON documents")  # a bug, not user input
    current.emitted = True
    document = {"schemactl_json": JSON_VERSION, "command": command, "ok": ok, **data}
    click.echo(redact(json.dumps(document, indent=2, default=str)), color=False)


def json_requested() -> bool:
    return mode().json


def emit_error(message: str, hint: str | None) -> None:
    """Under --json, an error still ends in one document (unless one went out already)."""
    current = mode()
    ctx = click.get_current_context(silent=True)
    if current.json and not current.emitted and ctx is not None:
        # Caught by the group's catch-all, the context is the group's: name the subcommand.
        command = ctx.invoked_subcommand if ctx.parent is None else None
        emit_json(command or command_name(ctx), {"error": {"message": message, "hint": hint}},
                  ok=False)


def command_name(ctx: click.Context) -> str:
    """The command as a user typed it, without the program: `plan`, `fleet list`."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names)) or ctx.info_name or "schemactl"


def _set(field_name: str, value: Any) -> None:
    setattr(mode(), field_name, value)


def _quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _set("verbosity", -1)


def _verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _set("verbosity", 1)


def _no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _set("no_color", True)


def _json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        _set("json", True)
    return value


def common_options() -> list[click.Option]:
    return [
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, is_eager=True,
                     callback=_quiet, help="Only warnings and errors."),
        click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, is_eager=True,
                     callback=_verbose, help="More detail (on stderr)."),
        click.Option(["--no-color"], is_flag=True, expose_value=False, is_eager=True,
                     callback=_no_color,
                     help="No colour (also: NO_COLOR set, or output not a terminal)."),
    ]


def json_option(fn: Any, expose: bool = True) -> Any:
    """--json for a command that reports: the command receives it as `as_json` (or, with
    expose=False, asks json_requested())."""
    return click.option("--json", "as_json", is_flag=True, is_eager=True, callback=_json,
                        expose_value=expose,
                        help="Print one JSON document on stdout (shape: docs/json-output.md); "
                             "all other output goes to stderr.")(fn)


def add_common_options(group: click.Group) -> None:
    """-q, -v and --no-color on the group and on every command registered so far."""
    for command in [group, *group.commands.values()]:
        have = {name for param in command.params for name in param.opts}
        command.params.extend(opt for opt in common_options() if not set(opt.opts) & have)


def revision_json(rev: Any) -> dict[str, Any]:
    """A revision (apply.revisions.Revision) as every document shows it."""
    title = rev.message.splitlines()[0] if rev.message else ""
    undo = getattr(rev, "downgrade_hazards", None)
    return {"id": rev.id, "name": rev.name, "message": title,
            "hazards": [hazard_json(h) for h in rev.hazards],
            "downgrade_hazards": None if undo is None else [hazard_json(h) for h in undo]}


def hazard_json(hazard: Any) -> dict[str, Any]:
    return {"code": hazard.code, "kind": hazard.kind, "object": hazard.object,
            "message": hazard.message}
