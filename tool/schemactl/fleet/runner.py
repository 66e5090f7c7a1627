"""Roll a Job out over targets: list[Target] + Rollout -> FleetResult (data, nothing printed).

- Canary first: the canary targets run before any other; if one fails, the rest do not run.
- Bounded concurrency: at most `concurrency` targets at once, each in a worker process with
  one database session (a migration run holds one connection; status up to two).
- Failure isolation: a failing target is recorded and the others go on, unless fail_fast,
  which lets running targets finish and starts no new one.
- Resume is the single-target runner's: a target at head has nothing to do, a failed one
  restarts after its last committed revision.

Why processes, not threads: Alembic keeps its migration context and `op` in module globals,
so two revisions running in threads of one process would share them. A worker dies with
the fleet process (a watchdog thread in each worker), and the server then rolls back its
revision and releases its lock, as after a kill of `schemactl apply`.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any

from schemactl.fleet import tasks
from schemactl.fleet.targets import Target
from schemactl.fleet.tasks import Job, Outcome

DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32  # a guard against exhausting the servers' connections by a typo


@dataclass(frozen=True)
class Rollout:
    canary: tuple[Target, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    fail_fast: bool = False


@dataclass
class FleetResult:
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why targets were left out: "canary failed", "--fail-fast"

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for outcome in self.outcomes:
            found[outcome.result] = found.get(outcome.result, 0) + 1
        return found

    def as_dict(self) -> dict[str, Any]:
        """The summary as data: per target its result, revisions before and after, what ran,
        how long it took and its error. (`detail` is left out: the commands that have
        detail, status and history, show it in their own shape.)"""
        return {"targets": [{k: v for k, v in asdict(o).items() if k != "detail"}
                            for o in self.outcomes],
                "counts": self.counts(), "stopped": self.stopped, "failed": len(self.failed)}


def _die_with(fleet_pid: int) -> None:
    """Worker initializer: end this worker as soon as the fleet process ends, however it
    ends. (Workers come from the fork server, so the kernel's parent-death signal would
    watch the wrong process; and a worker left behind holds the server's lock and the
    fork server alive.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the fleet process's to handle
    threading.Thread(target=_watch, args=(fleet_pid,), daemon=True).start()


def _watch(pid: int) -> None:
    try:
        handle = os.pidfd_open(pid)  # Linux 5.3+: readable when the process has ended
        select.select([handle], [], [])
    except (AttributeError, OSError):  # elsewhere: poll
        while _alive(pid):
            time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def workers(rollout: Rollout, targets: list[Target]) -> ProcessPoolExecutor:
    """The worker processes for a rollout; one pool may serve several runs (starting a
    worker imports SQLAlchemy and Alembic, which costs about a second)."""
    width = _width(rollout, targets)
    return ProcessPoolExecutor(width, mp_context=_context(), initializer=_die_with,
                               initargs=(os.getpid(),))


def _context() -> multiprocessing.context.BaseContext:
    """Workers forked from a fork server that imported the task code once: a worker starts
    in milliseconds, and no worker is forked from this process's threads."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # "__main__" too: else every worker would import the main script (the whole CLI) again.
    context.set_forkserver_preload(["__main__", "schemactl.fleet.tasks"])
    return context


def _width(rollout: Rollout, targets: list[Target]) -> int:
    return max(1, min(rollout.concurrency, MAX_CONCURRENCY, len(targets) or 1))


def run(job: Job, targets: list[Target], rollout: Rollout,
        on_done: Callable[[Outcome], None] = lambda outcome: None,
        pool: ProcessPoolExecutor | None = None) -> FleetResult:
    """Run job on every target: the canary ones first, then the rest."""
    if pool is None:
        with workers(rollout, targets) as own:
            return run(job, targets, rollout, on_done, own)
    result = FleetResult()
    canary = [t for t in targets if t in rollout.canary]
    rest = [t for t in targets if t not in rollout.canary]
    for phase, members in (("canary", canary), ("rollout", rest)):
        if result.stopped:
            result.outcomes.extend(_not_run(members, result.stopped))
            continue
        stop = "a canary target failed" if phase == "canary" else \
            "--fail-fast: a target failed" if rollout.fail_fast else None
        _phase(pool, job, members, _width(rollout, targets), stop, result, on_done)
    order = {t.name: i for i, t in enumerate(targets)}
    result.outcomes.sort(key=lambda o: order.get(o.target, len(order)))
    return result


def _phase(pool: ProcessPoolExecutor, job: Job, members: list[Target], width: int,
           stop: str | None, result: FleetResult,
           on_done: Callable[[Outcome], None]) -> None:
    """Keep at most `width` targets running; on a failure, optionally start no new one."""
    queue = list(members)
    running: dict[Future[Outcome], Target] = {}
    while queue or running:
        while queue and len(running) < width and not result.stopped:
            target = queue.pop(0)
            running[pool.submit(tasks.run, job, target)] = target
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            target = running.pop(future)
            outcome = _outcome(future, target)
            result.outcomes.append(outcome)
            on_done(outcome)
            if outcome.failed and stop and not result.stopped:
                result.stopped = stop
        if result.stopped and queue:
            result.outcomes.extend(_not_run(queue, result.stopped))
            queue.clear()


def _outcome(future: Future[Outcome], target: Target) -> Outcome:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001  the worker itself died (killed, out of memory)
        return Outcome(target.name, "failed", error=f"the worker process failed: {exc!r}")


def _not_run(targets: Iterable[Target], why: str) -> list[Outcome]:
    return [Outcome(t.name, "not run", error=why) for t in targets]
