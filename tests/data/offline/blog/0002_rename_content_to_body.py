"""rename content to body, add archived status, index username concurrently

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02 00:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Hazards found when this revision was planned (codes in schemactl.plan.hazards).
schemactl_hazards: list[dict[str, str]] = [
    {'code': 'LK102', 'kind': 'long lock', 'object': 'table public.users, index users_created_at_idx',
     'message': 'create index without CONCURRENTLY locks writes'},
]


def upgrade() -> None:
    op.alter_column('posts', 'content', new_column_name='body')
    op.add_column('posts', sa.Column('summary', sa.Text(), nullable=True, comment='Teaser'))
    op.create_table_comment('users', None, existing_comment='People who write posts')
    op.alter_column('users', 'username', existing_type=sa.String(length=50), comment=None,
                    existing_comment='Login name', existing_nullable=False)
    op.execute("ALTER TYPE post_status ADD VALUE 'archived'")
    op.create_index('users_created_at_idx', 'users', ['created_at'])
    with op.get_context().autocommit_block():
        op.create_index('users_image_file_idx', 'users', ['image_file'],
                        postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index('users_image_file_idx', table_name='users', postgresql_concurrently=True)
    op.drop_index('users_created_at_idx', table_name='users')
    # PostgreSQL cannot drop an enum value: rebuild the type without it (and what uses it).
    op.drop_index('posts_published_idx', table_name='posts')
    op.execute("ALTER TABLE posts ALTER COLUMN status DROP DEFAULT")
    op.execute("ALTER TYPE post_status RENAME TO post_status_old")
    op.execute("CREATE TYPE post_status AS ENUM ('draft', 'published')")
    op.execute("ALTER TABLE posts ALTER COLUMN status TYPE post_status "
               "USING status::text::post_status")
    op.execute("ALTER TABLE posts ALTER COLUMN status SET DEFAULT 'draft'")
    op.execute("DROP TYPE post_status_old")
    op.create_index('posts_published_idx', 'posts', ['user_id'], unique=False,
                    postgresql_where=sa.text("status = 'published'"))
    op.alter_column('users', 'username', existing_type=sa.String(length=50),
                    comment='Login name', existing_nullable=False)
    op.create_table_comment('users', 'People who write posts', existing_comment=None)
    op.drop_column('posts', 'summary')
    op.alter_column('posts', 'body', new_column_name='content')
