"""The example app (app/) against the blog database that the repository's own migrations build:
its generated models are current, describe exactly that database, and its queries work."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from app import queries
from app.db import make_engine, session_factory, sessions
from app.models import Base, Post, User
from app.schemas import PostCreate, UserCreate
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from schemactl.db.throwaway import throwaway_database
from schemactl.modelgen import project_spec, stale_files
from schemactl.project import Project

from . import pgdump_drift as drift
from .helpers import migrate

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def session(db_url: URL) -> Iterator[Session]:
    migrate(Project(REPO), db_url)  # the blog's revisions, as `schemactl apply` runs them
    engine = make_engine(db_url.render_as_string(hide_password=False))
    try:
        yield from sessions(session_factory(engine))
    finally:
        engine.dispose()


def test_the_committed_models_are_what_the_yaml_generates() -> None:
    project = Project(REPO)
    assert stale_files(project, project_spec(project)) == []


_NOT_NULL_NAME = re.compile(r" CONSTRAINT \w+_not_null NOT NULL")


def _objects(url: URL) -> dict[str, list[str]]:
    """pg_dump's objects, each as its sorted lines, without two things no create_all can
    reproduce from a history: the column order (later revisions appended users.bio and
    posts.status at the end) and, on PostgreSQL 18, the name of a NOT NULL constraint (it
    keeps the column's first name, posts_content_not_null, after the rename to body)."""
    return {name: sorted(_NOT_NULL_NAME.sub(" NOT NULL", line) for line in lines)
            for name, lines in drift.objects(drift.dump_schema(url)).items()}


def test_models_describe_the_migrated_database(db_url: URL, server_url: URL) -> None:
    """pg_dump of the database the migrations build equals pg_dump of create_all(app.models)."""
    migrate(Project(REPO), db_url)
    with throwaway_database(server_url, prefix="schemactl_test") as other:
        engine = sa.create_engine(other, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            Base.metadata.create_all(conn)
        engine.dispose()
        assert _objects(other) == _objects(db_url)


def test_write_publish_and_list_posts(session: Session) -> None:
    ann = queries.create_user(session, UserCreate(username="ann", email="ann@example.com",
                                                  password_hash="x"))
    assert ann.id >= 1 and ann.image_file == "default.jpg" and ann.is_admin is False
    first = queries.write_post(session, PostCreate(user_id=ann.id, title="Hello", slug="hello",
                                                   body="First", tags=["intro", "news"]))
    second = queries.write_post(session, PostCreate(user_id=ann.id, title="Draft", slug="draft",
                                                    body="Later"))
    assert first.status == "draft" and second.tags == []
    assert queries.published_posts(session) == []
    published = queries.publish(session, first.id)
    assert published is not None and published.updated_at is not None
    session.flush()
    api = queries.published_posts(session)
    assert [(p.slug, p.status, p.tags) for p in api] == [("hello", "published", ["intro", "news"])]
    assert api[0].date_posted.tzinfo is not None  # timestamptz comes back aware
    assert [p.slug for p in queries.posts_tagged(session, "news")] == ["hello"]


def test_relationships_navigate_and_cascade(session: Session) -> None:
    bob = User(username="bob", email="bob@example.com", password_hash="x")
    bob.posts.append(Post(title="One", slug="one", body="..."))
    bob.posts.append(Post(title="Two", slug="two", body="...", status="archived"))
    session.add(bob)
    session.add(User(username="cy", email="cy@example.com", password_hash="x"))
    session.flush()
    session.expunge_all()
    page = queries.author_page(session, "bob")
    assert page is not None and sorted(p.slug for p in page.posts) == ["one", "two"]
    assert page.posts[0].user is page
    assert queries.post_counts(session) == {"bob": 2, "cy": 0}
    session.delete(page)  # ON DELETE CASCADE in the database; the ORM lets it work
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).select_from(Post)) == 0


def test_the_database_refuses_what_the_yaml_forbids(session: Session) -> None:
    """NOT NULL, CHECK and the enum are the database's, not only the annotations'."""
    session.add(User(username="  ", email="e@example.com", password_hash="x",
                     created_at=datetime.datetime.now(datetime.UTC)))
    with pytest.raises(sa.exc.IntegrityError, match="username_not_blank"):
        session.flush()
    session.rollback()  # as the request's handler would, before the session is closed
