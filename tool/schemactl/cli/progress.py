"""Progress on a terminal: a line that says which long step runs and for how long.

Input: the steps stages announce (schemactl/progress.py). Output: on stderr, when it is a
terminal, a spinner line for any step that has run longer than SHOW_AFTER seconds, erased
when the steps end. Nothing at all when stderr is piped or redirected, under --json or -q:
logs and scripts get the same text as before.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

import click

from schemactl.cli import output

SHOW_AFTER = 1.0  # seconds: a quick step never flickers a line
_FRAMES = "|/-\\"
_TICK = 0.1


class TerminalProgress:
    """A listener that draws one status line from a thread of its own. ctx: the run's click
    context, whose mode (--json, -q) is only known once the command's options are parsed."""

    def __init__(self, ctx: click.Context, stream: TextIO | None = None) -> None:
        self.ctx = ctx
        self.stream = stream or sys.stderr
        self.active: dict[int, tuple[str, float]] = {}  # token -> (label, started)
        self.lock = threading.Lock()
        self.drawn = False
        self.thread: threading.Thread | None = None
        self.next_token = 0

    def wanted(self) -> bool:
        current = output.mode(self.ctx)
        return self.stream.isatty() and not current.json and current.verbosity >= 0

    def started(self, label: str) -> object:
        if not self.wanted():
            return None
        with self.lock:
            self.next_token += 1
            self.active[self.next_token] = (label, time.monotonic())
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, daemon=True)
                self.thread.start()
            return self.next_token

    def relabel(self, token: object, label: str) -> None:
        with self.lock:
            if token in self.active:
                self.active[token] = (label, self.active[token][1])

    def ended(self, token: object) -> None:
        if token is None:
            return
        with self.lock:
            label, since = self.active.pop(token, ("", 0.0))  # type: ignore[call-overload]
            if self.drawn:
                self._clear()
                seconds = time.monotonic() - since
                if label and seconds >= SHOW_AFTER:
                    self.stream.write(f"{label}: {seconds:.1f} s\n")
                    self.stream.flush()

    def _run(self) -> None:
        frame = 0
        while True:
            time.sleep(_TICK)
            with self.lock:
                if not self.active:
                    return
                labels = [label for label, _ in self.active.values()]
                oldest = min(since for _, since in self.active.values())
                seconds = time.monotonic() - oldest
                if seconds >= SHOW_AFTER:
                    frame += 1
                    self.stream.write(f"\r\x1b[K{_FRAMES[frame % len(_FRAMES)]} "
                                      f"{', '.join(labels)} ... {seconds:.0f} s")
                    self.stream.flush()
                    self.drawn = True

    def _clear(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()
        self.drawn = False
