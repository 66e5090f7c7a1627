"""Long steps announce themselves, so that the command line can show that work goes on.

Input: a label from a stage that starts something that can take seconds (building a shadow
database, reading a large catalog, running a revision).
Output: calls to the listener the command line installed for the run; none by default, so
a stage still never prints, and a library caller sees nothing.

The listener is process-wide (not per thread) because a plan builds its two databases in
two threads at once, and both should show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Listener(Protocol):
    def started(self, label: str) -> object: ...

    def relabel(self, token: object, label: str) -> None: ...

    def ended(self, token: object) -> None: ...


_listener: Listener | None = None


@contextmanager
def step(label: str) -> Iterator[Callable[[str], None]]:
    """Run the body as one announced step (e.g. "building the shadow database"); the body
    gets a function that says how far the step is (e.g. "page 3,000 of 12,000")."""
    listener = _listener
    token = listener.started(label) if listener is not None else None

    def say(detail: str) -> None:
        if listener is not None:
            listener.relabel(token, f"{label}: {detail}")

    try:
        yield say
    finally:
        if listener is not None:
            listener.ended(token)


NOTICE_PREFIX = "schemactl: "


@contextmanager
def notices(dbapi_connection: Any, label: str) -> Iterator[None]:
    """A step whose progress the server reports: each NOTICE that starts with NOTICE_PREFIX
    (a backfill's `RAISE NOTICE` per batch) becomes the step's detail."""
    with step(label) as say:
        def forward(diagnostic: Any) -> None:
            message = diagnostic.message_primary or ""
            if message.startswith(NOTICE_PREFIX):
                say(message.removeprefix(NOTICE_PREFIX))

        dbapi_connection.add_notice_handler(forward)
        try:
            yield
        finally:
            dbapi_connection.remove_notice_handler(forward)


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send the steps started within the body to listener (None: to nobody)."""
    global _listener
    before, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = before
