"""What the blog's request handlers call. Each takes the request's session; types come from
the generated models (app/models.py) and API shapes (app/schemas.py)."""

from __future__ import annotations

import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.models import Post, User
from app.schemas import PostCreate, PostRead, UserCreate


def create_user(session: Session, data: UserCreate) -> User:
    """A new user; columns the request left out get the database's defaults."""
    user = User(**data.model_dump(exclude_unset=True))
    session.add(user)
    session.flush()  # the identity id and the server defaults are known from here on
    session.refresh(user)
    return user


def write_post(session: Session, data: PostCreate) -> Post:
    post = Post(**data.model_dump(exclude_unset=True))
    session.add(post)
    session.flush()
    session.refresh(post)
    return post


def publish(session: Session, post_id: int) -> Post | None:
    post = session.get(Post, post_id)
    if post is not None:
        post.status = "published"
        post.updated_at = datetime.datetime.now(datetime.UTC)
    return post


def published_posts(session: Session, limit: int = 20) -> list[PostRead]:
    """Newest published posts first, as the API returns them (uses posts_published_idx)."""
    rows = session.scalars(
        select(Post).where(Post.status == "published")
        .order_by(Post.date_posted.desc(), Post.id.desc()).limit(limit)
    )
    return [PostRead.model_validate(post) for post in rows]


def posts_tagged(session: Session, tag: str) -> list[Post]:
    """Posts carrying a tag (`tags @> ARRAY[tag]`, which the GIN index on tags serves)."""
    return list(session.scalars(select(Post).where(Post.tags.contains([tag])).order_by(Post.id)))


def author_page(session: Session, username: str) -> User | None:
    """A user with their posts loaded in one more query (no lazy load per post)."""
    return session.scalar(
        select(User).where(User.username == username).options(selectinload(User.posts)))


def post_counts(session: Session) -> dict[str, int]:
    """Posts per username, users without posts included."""
    rows = session.execute(
        select(User.username, func.count(Post.id))
        .outerjoin(User.posts).group_by(User.username).order_by(User.username))
    return {username: count for username, count in rows}
