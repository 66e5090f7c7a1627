"""add post status

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:32:51.838267
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql  # noqa: F401


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Hazards found when this revision was planned (codes in schemactl.plan.hazards).
schemactl_hazards: list[dict[str, str]] = [
    {'code': 'LK102', 'kind': 'long lock', 'object': 'table posts, index posts_published_idx', 'message': 'blocks writes to the table while it builds'},
]


def upgrade() -> None:
    op.run_sql("CREATE TYPE post_status AS ENUM ('draft', 'published', 'archived')")
    op.add_column('posts', sa.Column('status', postgresql.ENUM('draft', 'published', 'archived', name='post_status', create_type=False), server_default=sa.literal_column("'draft'::post_status"), autoincrement=False, nullable=False))
    op.run_sql("CREATE INDEX posts_published_idx ON posts (date_posted) WHERE status = 'published'")


def downgrade() -> None:
    op.run_sql('DROP INDEX posts_published_idx')
    op.drop_column('posts', 'status')
    op.run_sql('DROP TYPE post_status')
