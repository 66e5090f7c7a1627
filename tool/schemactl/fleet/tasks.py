"""What a fleet does to one target: Target -> Outcome. Run in a worker process (runner.py).

Each task is one call of the single-target code (apply.runner, apply.status, apply.history),
so every target gets the same safety as `schemactl apply` on one database: the advisory lock,
the checksums, lock_timeout and retries, one transaction per revision. A task never raises:
whatever goes wrong becomes a failed Outcome that names the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from schemactl.apply import runner
from schemactl.apply import status as status_mod
from schemactl.apply.revisions import Revision
from schemactl.apply.runner import Direction, Hooks
from schemactl.apply.session import migration_session
from schemactl.db.urls import redact
from schemactl.errors import HazardRefused
from schemactl.fleet.targets import Target
from schemactl.project import Project
from schemactl.settings import Settings

Result = Literal["applied", "undone", "unchanged", "failed", "not run", "ok"]


@dataclass
class Outcome:
    """One target's result; `detail` carries what the task reports beyond revisions."""

    target: str
    result: Result
    before: str | None = None
    after: str | None = None
    duration_ms: int = 0
    revisions: list[str] = field(default_factory=list)
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.result == "failed"


@dataclass(frozen=True)
class Job:
    """Everything a worker needs, picklable: the project, the settings, what to do."""

    root: Path
    settings: Settings
    action: Literal["revision", "up", "down", "status", "history"]
    to: str = "head"
    approved: frozenset[str] = frozenset()  # revisions allowed to lose data
    lock_wait: float = runner.DEFAULT_LOCK_WAIT
    with_drift: bool = True
    limit: int | None = None


def run(job: Job, target: Target) -> Outcome:
    started = time.monotonic()
    try:
        outcome = _ACTIONS[job.action](job, target)
    except Exception as exc:  # noqa: BLE001  one target's failure must not end the fleet
        outcome = Outcome(target.name, "failed", error=_message(exc))
    outcome.duration_ms = round((time.monotonic() - started) * 1000)
    return outcome


def _message(exc: BaseException) -> str:
    text = str(exc) if str(exc) else type(exc).__name__
    return redact(text)


def _revision(job: Job, target: Target) -> Outcome:
    with migration_session(target.url, job.settings, target.schema) as conn:
        current = runner.current_revision(conn, target.schema)
    return Outcome(target.name, "ok", current, current)


def _refuse_unapproved(approved: frozenset[str], direction: Direction,
                       path: list[Revision]) -> None:
    """Revisions that lose data were confirmed once for the fleet, by id; a target that
    would run another one (it moved since) refuses instead of asking."""
    risky = path if direction == "down" else [r for r in path if r.destructive]
    unapproved = [r.name for r in risky if r.id not in approved]
    if unapproved:
        raise HazardRefused(f"not confirmed for this target: {', '.join(unapproved)}")


def _migrate(job: Job, target: Target) -> Outcome:
    project = Project(job.root)
    start: list[str | None] = []
    done: list[str] = []

    def confirm(direction: Direction, path: list[Revision]) -> None:
        if path:  # where the target stood when its run began
            start.append(path[0].down_id if direction == "up" else path[0].id)
        _refuse_unapproved(job.approved, direction, path)

    notes: list[str] = []  # what a run did by itself or skipped (runner.Hooks.on_note)
    hooks = Hooks(confirm=confirm, on_done=lambda step: done.append(step.revision.id),
                  on_note=lambda rev, message: notes.append(f"{rev.name}: {message}"))
    try:
        if job.action == "up":
            result = runner.upgrade(project, job.settings, target.url, job.to, hooks,
                                    job.lock_wait, schema=target.schema)
        else:
            result = runner.downgrade(project, job.settings, target.url, job.to, hooks,
                                      job.lock_wait, schema=target.schema)
    except Exception as exc:  # noqa: BLE001  becomes this target's outcome
        # Every revision before the failing one committed: the target stands there now.
        at = _current_or_none(job, target)
        return Outcome(target.name, "failed", start[0] if start else at, at,
                       revisions=done, error=_message(exc), detail={"notes": notes})
    ran: Result = "applied" if job.action == "up" else "undone"
    return Outcome(target.name, ran if result.steps else "unchanged", result.before,
                   result.after, revisions=[s.revision.id for s in result.steps],
                   detail={"notes": notes})


def _current_or_none(job: Job, target: Target) -> str | None:
    try:
        return _revision(job, target).after
    except Exception:  # noqa: BLE001  the target may be unreachable: that was the failure
        return None


def _for_target(settings: Settings, target: Target) -> Settings:
    """The settings with the target as DATABASE_URL, so that shadow databases (drift) are
    made on the target's own server unless SHADOW_DATABASE_URL says otherwise."""
    url = SecretStr(target.url.render_as_string(hide_password=False))
    return settings.model_copy(update={"database_url": url})


def _status(job: Job, target: Target) -> Outcome:
    report = status_mod.status(Project(job.root), _for_target(job.settings, target),
                               target.url, target.schema, with_drift=job.with_drift)
    return Outcome(target.name, "ok", report.current, report.current, detail={
        "head": report.head,
        "pending": [r.id for r in report.pending],
        "drift": [str(item) for item in report.drift],
        "edited_after_apply": report.edited_after_apply,
    })


def _history(job: Job, target: Target) -> Outcome:
    from schemactl.apply import history

    with migration_session(target.url, job.settings, target.schema) as conn:
        current = runner.current_revision(conn, target.schema)
        runs = history.runs(conn, target.schema, job.limit)
    return Outcome(target.name, "ok", current, current, detail={"runs": [
        {"revision": r.revision, "direction": r.direction,
         "applied_at": r.applied_at.isoformat(), "applied_by": r.applied_by,
         "duration_ms": r.duration_ms, "result": r.result, "error": r.error,
         "group": r.group_no}
        for r in runs]})


_ACTIONS = {"revision": _revision, "up": _migrate, "down": _migrate, "status": _status,
            "history": _history}
