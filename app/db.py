"""Engine and sessions for the example app: one engine per process, one session per request."""

from __future__ import annotations

import os
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str | None = None) -> Engine:
    """The engine for DATABASE_URL (the same setting schemactl reads), psycopg 3 driver."""
    url = url or os.environ["DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: handlers return objects after committing.
    return sessionmaker(engine, expire_on_commit=False)


def sessions(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session per request, committed when the handler succeeds, rolled back when it
    raises. With FastAPI: `Depends(lambda: next(sessions(factory)))`, or wrap it in a
    dependency function of your own."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
