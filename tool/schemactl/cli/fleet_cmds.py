"""Commands on a fleet: `schemactl fleet list`, and the `--fleet [NAME]` of apply, downgrade,
status, history and sql (those commands call in here when the option is given)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from schemactl.apply import revisions
from schemactl.apply.revisions import Revision
from schemactl.apply.runner import Direction
from schemactl.cli import output
from schemactl.cli.common import Context, echo, handle_errors, main, pass_context
from schemactl.errors import EXIT_ERROR, EXIT_PENDING, HazardRefused, SchemactlError
from schemactl.fleet import config, targets
from schemactl.fleet import runner as fleet_runner
from schemactl.fleet.runner import FleetResult, Rollout
from schemactl.fleet.targets import Target
from schemactl.fleet.tasks import Job, Outcome
from schemactl.project import Project
from schemactl.settings import Settings

DEFAULT_FLEET = "(default)"  # what a bare --fleet stands for


def fleet_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--fleet [NAME] and --concurrency, for every command that takes a target."""

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _check_flags(kwargs)
        return fn(*args, **kwargs)

    with_concurrency = click.option(
        "--concurrency", type=click.IntRange(1, fleet_runner.MAX_CONCURRENCY), default=None,
        help="With --fleet: targets worked on at once, one connection each "
             f"(fleet.yaml's concurrency, else {fleet_runner.DEFAULT_CONCURRENCY}).")(checked)
    return click.option(
        "--fleet", "fleet", is_flag=False, flag_value=DEFAULT_FLEET, default=None,
        metavar="[NAME]",
        help="Run against every target of fleet.yaml (its top-level fleet, or the fleet NAME "
             "under fleets:) instead of one database.")(with_concurrency)


def _check_flags(given: dict[str, Any]) -> None:
    """Options that would be ignored are a usage error (exit 2), never silently dropped."""
    if given.get("fleet") is None:
        extra = [f"--{name.replace('_', '-')}" for name in ("concurrency", "canary", "fail_fast")
                 if given.get(name)]
        if extra:
            verb = "works" if len(extra) == 1 else "work"
            raise click.UsageError(f"{', '.join(extra)} {verb} only with --fleet")
    elif given.get("database_url"):
        raise click.UsageError("--fleet takes its targets from fleet.yaml; "
                               "drop --database-url")


def rollout_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--canary and --fail-fast, for the commands that change targets."""
    fn = click.option(
        "--fail-fast", is_flag=True,
        help="With --fleet: start no further target once one has failed (default: the "
             "others go on).")(fn)
    return click.option(
        "--canary", default=None, metavar="N|NAME,...",
        help="With --fleet: run these targets first (the first N, or targets by name) and "
             "stop the rollout if one of them fails. Default: fleet.yaml's canary.")(fn)


# --- resolving the fleet --------------------------------------------------------------------

def load_fleet(project: Project, name: str) -> tuple[config.FleetSpec, list[Target]]:
    spec = config.load(project.root).get(None if name == DEFAULT_FLEET else name)
    found = targets.resolve(spec)
    if not found:
        raise SchemactlError(f"the fleet {spec.name or '(default)'} resolves to no targets",
                             hint="check fleet.yaml: schema patterns and queries matched nothing")
    return spec, found


def _canary(spec: config.FleetSpec, found: list[Target], option: str | None) -> list[Target]:
    if option is None:
        names, count = spec.canary, spec.canary_count
    elif option.strip().isdigit():
        names, count = (), int(option)
    else:
        names, count = tuple(n.strip() for n in option.split(",") if n.strip()), 0
    if count:
        return found[:count]
    return targets.select(found, names)


def _concurrency(spec: config.FleetSpec, option: int | None) -> int:
    return option or spec.concurrency or fleet_runner.DEFAULT_CONCURRENCY


# --- progress and summaries -----------------------------------------------------------------

class _Progress:
    """On a terminal, a bar with the last finished target while the fleet runs."""

    def __init__(self, total: int, label: str) -> None:
        self.bar: Any = None
        # Under --json stdout belongs to the document: no bar there.
        if sys.stdout.isatty() and total > 1 and not output.json_requested():
            self.bar = click.progressbar(length=total, label=label,
                                         item_show_func=lambda x: x)
            self.bar.__enter__()
        self.failed = 0

    def done(self, outcome: Outcome) -> None:
        self.failed += outcome.failed
        if self.bar is not None:
            mark = f"{outcome.target}: {outcome.result}"
            self.bar.current_item = mark + (f" ({self.failed} failed)" if self.failed else "")
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _rev(rev: str | None) -> str:
    return rev or "base"


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def _summary(result: FleetResult, verb: str) -> None:
    order = {"failed": 0, "not run": 1, "applied": 2, "undone": 2, "unchanged": 3}
    ordered = sorted(result.outcomes, key=lambda o: order.get(o.result, 4))
    _table([[o.target, o.result, f"{_rev(o.before)} -> {_rev(o.after)}", f"{o.duration_ms} ms"]
            for o in ordered], ["TARGET", "RESULT", "REVISION", "TIME"])
    for outcome in ordered:
        if outcome.detail.get("notes"):
            echo(f"\n{outcome.target}:", err=True)
            for note in outcome.detail["notes"]:
                echo(f"  {note}", err=True)
    for outcome in result.failed:
        echo(f"\n{outcome.target} failed:", err=True)
        for line in (outcome.error or "").splitlines():
            echo(f"  {line}", err=True)
    counts = result.counts()
    parts = [f"{counts[k]} {k}" for k in ("applied", "undone", "unchanged", "failed", "not run")
             if counts.get(k)]
    echo(f"\nFleet {verb}: {len(result.outcomes)} targets: {', '.join(parts)}.")
    if result.stopped:
        echo(f"Stopped: {result.stopped}; targets not run were left as they were.", err=True)
    if result.failed:
        echo("Run the same command again after fixing the cause: targets at head are skipped, "
             "failed ones resume after their last applied revision.", err=True)


# --- apply / downgrade ----------------------------------------------------------------------

def _paths(project: Project, direction: Direction, to: str,
           current: dict[str, str | None]) -> dict[str | None, list[Revision]]:
    """Per distinct current revision, the revisions a target there would run."""
    found: dict[str | None, list[Revision]] = {}
    for rev in set(current.values()):
        try:
            found[rev] = (revisions.upgrade_path(project, rev, to) if direction == "up"
                          else revisions.downgrade_path(project, rev, to))
        except SchemactlError:
            found[rev] = []  # the target's own run reports the problem
    return found


def _confirm(direction: Direction, paths: dict[str | None, list[Revision]],
             current: dict[str, str | None], yes: bool) -> frozenset[str]:
    """Show what will run where; ask once for revisions that can lose data."""
    uses: dict[str, int] = {}
    by_id: dict[str, Revision] = {}
    for at in current.values():
        for step in paths.get(at, []):
            uses[step.id] = uses.get(step.id, 0) + 1
            by_id[step.id] = step
    if not uses:
        return frozenset()
    echo(f"Revisions to {'apply' if direction == 'up' else 'undo'}:")
    for rev_id in sorted(uses, reverse=direction == "down"):
        rev = by_id[rev_id]
        echo(f"  {rev.name}  on {uses[rev_id]} target{'s' if uses[rev_id] != 1 else ''}")
        for hazard in rev.hazards:
            echo(f"      ! {hazard}")
    risky = [r for r in by_id.values() if direction == "down" or r.destructive]
    if risky and not yes:
        names = ", ".join(sorted(r.name for r in risky))
        if not (sys.stdin.isatty() and sys.stdout.isatty()) or output.json_requested():
            raise HazardRefused(f"refusing to run revisions that can lose data: {names}",
                                hint="review them, then run again with --yes")
        if not click.confirm(f"{names} can lose data on every target. Run them?",
                             default=False):
            raise HazardRefused("not confirmed; nothing was run")
    return frozenset(r.id for r in risky)


def migrate(ctx: Context, direction: Direction, to: str, fleet: str, yes: bool,
            lock_wait: float, canary: str | None, concurrency: int | None, fail_fast: bool,
            **flags: object) -> None:
    """apply/downgrade --fleet: canary, then the rest; exit 1 if any target failed."""
    project = ctx.project()
    settings = ctx.settings(**flags)
    if direction == "up":
        revisions.head(project)  # several heads: refuse before touching any target
    spec, found = load_fleet(project, fleet)
    first = _canary(spec, found, canary)
    rollout = Rollout(tuple(first), _concurrency(spec, concurrency), fail_fast)
    echo(f"Fleet {spec.name or '(default)'}: {len(found)} targets, concurrency "
         f"{rollout.concurrency}" + (f", canary: {', '.join(t.short_name for t in first)}"
                                     if first else ""))
    with fleet_runner.workers(rollout, found) as pool:
        read = fleet_runner.run(Job(project.root, settings, "revision"), found,
                                Rollout(concurrency=rollout.concurrency), pool=pool)
        current = {o.target: o.after for o in read.outcomes if not o.failed}
        approved = _confirm(direction, _paths(project, direction, to, current), current, yes)
        job = Job(project.root, settings, direction, to, approved, lock_wait)
        progress = _Progress(len(found), "Migrating fleet")
        try:
            result = fleet_runner.run(job, found, rollout, progress.done, pool)
        finally:
            progress.close()
    _summary(result, "apply" if direction == "up" else "downgrade")  # on stderr under --json
    failed = bool(result.failed or result.stopped)
    if output.json_requested():
        output.emit_json("apply" if direction == "up" else "downgrade", {
            "fleet": spec.name or None, "direction": direction, "to": to,
            **result.as_dict()}, ok=not failed)
    if failed:
        sys.exit(EXIT_ERROR)


# --- status ---------------------------------------------------------------------------------

def _state(outcome: Outcome) -> tuple[int, str]:
    """A target's state for status, most urgent first."""
    if outcome.failed:
        return 0, "failed"
    detail = outcome.detail
    if detail.get("drift") or detail.get("edited_after_apply"):
        return 1, "drift"
    if detail.get("pending"):
        return 2, "pending"
    return 3, "at head"


def status(ctx: Context, fleet: str, concurrency: int | None, as_json: bool,
           with_drift: bool) -> None:
    project = ctx.project()
    settings = ctx.settings()
    spec, found = load_fleet(project, fleet)
    job = Job(project.root, settings, "status", with_drift=with_drift)
    progress = _Progress(len(found), "Reading fleet") if not as_json else None
    try:
        result = fleet_runner.run(job, found, Rollout(concurrency=_concurrency(spec, concurrency)),
                                  progress.done if progress else lambda o: None)
    finally:
        if progress:
            progress.close()
    ranked = sorted(result.outcomes, key=lambda o: _state(o)[0])
    code = EXIT_ERROR if result.failed else \
        EXIT_PENDING if any(_state(o)[0] < 3 for o in ranked) else 0
    if as_json:
        output.emit_json("status", {
            "fleet": spec.name or None, "head": revisions.head(project), "drift_checked": with_drift,
            "counts": _state_counts(ranked), "targets": [
                {"target": o.target, "state": _state(o)[1], "revision": o.after,
                 "pending": o.detail.get("pending", []), "drift": o.detail.get("drift", []),
                 "edited_after_apply": o.detail.get("edited_after_apply", []),
                 "error": o.error} for o in ranked]}, ok=code == 0)
    else:
        _status_table(ranked, with_drift, revisions.head(project))
    if code:
        sys.exit(code)


def _state_counts(ranked: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in ranked:
        counts[_state(o)[1]] = counts.get(_state(o)[1], 0) + 1
    return counts


def _status_table(ranked: list[Outcome], with_drift: bool, head: str | None) -> None:
    rows = []
    for o in ranked:
        drift = o.detail.get("drift", [])
        rows.append([o.target, _state(o)[1], _rev(o.after) if not o.failed else "?",
                     str(len(o.detail.get("pending", []))) if not o.failed else "?",
                     (str(len(drift)) if with_drift else "-") if not o.failed else "?",
                     _first_line(o.error)])
    _table(rows, ["TARGET", "STATE", "REVISION", "PENDING", "DRIFT", "ERROR"])
    counts = _state_counts(ranked)
    echo(f"\nHead: {_rev(head)}. " + ", ".join(f"{n} {k}" for k, n in counts.items()) + "."
         + ("" if with_drift else " (drift not checked: --no-drift)"))


# --- history --------------------------------------------------------------------------------

def history(ctx: Context, fleet: str, concurrency: int | None, as_json: bool,
            limit: int | None) -> None:
    project = ctx.project()
    spec, found = load_fleet(project, fleet)
    job = Job(project.root, ctx.settings(), "history", limit=limit)
    result = fleet_runner.run(job, found, Rollout(concurrency=_concurrency(spec, concurrency)))
    if as_json:
        output.emit_json("history", {"fleet": spec.name or None, "failed": len(result.failed),
                                     "targets": [
            {"target": o.target, "revision": o.after, "runs": o.detail.get("runs", []),
             "error": o.error} for o in result.outcomes]}, ok=not result.failed)
    else:
        from schemactl.cli.history_cmds import show_runs

        for outcome in result.outcomes:
            echo(f"{outcome.target} (at {_rev(outcome.after)}):")
            if outcome.failed:
                echo(f"  error: {_first_line(outcome.error)}")
            show_runs(outcome.detail.get("runs", []), indent="  ")
    if result.failed:
        sys.exit(EXIT_ERROR)


# --- sql ------------------------------------------------------------------------------------

def sql_scripts(ctx: Context, fleet: str, output: Path | None, concurrency: int | None,
                settings: Settings) -> None:
    """One psql script per database, from each target's own revision to head; the tenant
    schemas of a database share its script, one section per schema."""
    from schemactl.render.offline_sql import BASE, offline_script

    if output is None:
        raise SchemactlError("sql --fleet writes one file per database: give -o DIRECTORY")
    project = ctx.project()
    spec, found = load_fleet(project, fleet)
    read = fleet_runner.run(Job(project.root, settings, "revision"), found,
                            Rollout(concurrency=_concurrency(spec, concurrency)))
    by_name = {t.name: t for t in found}
    files: dict[str, list[str]] = {}
    for outcome in read.outcomes:
        if outcome.failed:
            raise SchemactlError(f"cannot read the revision of {outcome.target}: "
                                 f"{_first_line(outcome.error)}")
        target = by_name[outcome.target]
        section = offline_script(project, outcome.after or BASE, "head", settings=settings)
        # Each section sets its own search_path: a section must not run in the schema the
        # one before it chose.
        section = _in_schema(target.schema, section)
        files.setdefault(_file_name(target), []).append(section)
    output.mkdir(parents=True, exist_ok=True)
    for name, sections in files.items():
        (output / name).write_text("\n".join(sections), encoding="utf-8")
    echo(f"Wrote {len(files)} script{'s' if len(files) != 1 else ''} for {len(found)} targets "
         f"to {output}/ (run each with psql -v ON_ERROR_STOP=1 -d DATABASE -f FILE)", err=True)


def _in_schema(schema: str | None, script: str) -> str:
    from schemactl.sqltext import quote_ident

    if schema is None:
        return f"-- ==== the database's own schema ====\nSET search_path TO DEFAULT;\n\n{script}"
    name = quote_ident(schema)
    return (f"-- ==== tenant schema {schema} ====\n"
            f"CREATE SCHEMA IF NOT EXISTS {name};\nSET search_path TO {name};\n\n{script}")


def _file_name(target: Target) -> str:
    host = (target.url.host or "localhost").replace("/", "_")
    port = f"_{target.url.port}" if target.url.port else ""
    return f"{host}{port}_{target.url.database}.sql"


# --- fleet list -----------------------------------------------------------------------------

@main.group()
def fleet() -> None:
    """The fleet of databases and tenant schemas in fleet.yaml (see `--fleet` on apply,
    downgrade, status, history and sql)."""


@fleet.command("list")
@click.argument("name", required=False)
@output.json_option
@click.option("--concurrency", type=click.IntRange(1, fleet_runner.MAX_CONCURRENCY),
              default=None, help="Targets read at once (one connection each).")
@pass_context
@handle_errors
def list_(ctx: Context, name: str | None, as_json: bool, concurrency: int | None) -> None:
    """Show what fleet NAME (default: the top-level fleet) resolves to: each target, its
    current revision, and whether it is at head. Passwords are never shown."""
    project = ctx.project()
    spec, found = load_fleet(project, name or DEFAULT_FLEET)
    job = Job(project.root, ctx.settings(), "revision")
    result = fleet_runner.run(job, found, Rollout(concurrency=_concurrency(spec, concurrency)))
    head = revisions.head(project)
    kinds = {t.name: ("schema" if t.schema else "database") for t in found}
    if as_json:
        output.emit_json("fleet list", {"fleet": spec.name or None, "head": head,
                                        "failed": len(result.failed), "targets": [
            {"target": o.target, "kind": kinds[o.target], "revision": o.after,
             "at_head": not o.failed and o.after == head, "error": o.error}
            for o in result.outcomes]}, ok=not result.failed)
    else:
        _table([[o.target, kinds[o.target], "?" if o.failed else _rev(o.after),
                 "error" if o.failed else ("yes" if o.after == head else "no"),
                 _first_line(o.error)] for o in result.outcomes],
               ["TARGET", "KIND", "REVISION", "AT HEAD", "ERROR"])
        echo(f"\n{len(found)} targets; head: {_rev(head)}.")
    if result.failed:
        sys.exit(EXIT_ERROR)
