"""Long steps announce themselves, so that the command line can show that work goes on.

Input: a label from a stage that starts something that can take seconds (building a shadow
database, reading a large catalog, running a revision).
Output: calls to the listener the command line installed for the run; none by default, so
a stage still never prints, and a library caller sees nothing.

The listener is process-wide (not per thread) because a plan builds its two databases in
two threads at once, and both should show.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Listener(Protocol):
    def started(self, label: str) -> object: ...

    def ended(self, token: object) -> None: ...


_listener: Listener | None = None


@contextmanager
def step(label: str) -> Iterator[None]:
    """Run the body as one announced step (e.g. "building the shadow database")."""
    listener = _listener
    token = listener.started(label) if listener is not None else None
    try:
        yield
    finally:
        if listener is not None:
            listener.ended(token)


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send the steps started within the body to listener (None: to nobody)."""
    global _listener
    before, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = before
