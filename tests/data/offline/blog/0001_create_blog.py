"""create users, posts and a legacy table

Revision ID: 0001
Revises:
Create Date: 2026-01-01 00:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# Hazards found when this revision was planned (codes in schemactl.plan.hazards).
schemactl_hazards: list[dict[str, str]] = []


def upgrade() -> None:
    postgresql.ENUM('draft', 'published', name='post_status').create(op.get_bind())
    op.create_table(
        'users',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False, start=1, increment=1),
                  nullable=False),
        sa.Column('username', sa.String(length=50), nullable=False, comment='Login name'),
        sa.Column('image_file', sa.String(length=200), server_default=sa.text("'default.jpg'"),
                  nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.PrimaryKeyConstraint('id', name='users_pkey'),
        sa.UniqueConstraint('username', name='users_username_key'),
        comment='People who write posts',
    )
    op.create_table(
        'posts',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=True, start=10, increment=5,
                                                     minvalue=10, cache=2), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('status', postgresql.ENUM(name='post_status', create_type=False),
                  server_default='draft', nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('length(trim(title)) > 0', name='posts_title_not_blank'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='posts_user_id_fkey',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='posts_pkey'),
    )
    op.create_index('posts_published_idx', 'posts', ['user_id'], unique=False,
                    postgresql_where=sa.text("status = 'published'"))
    op.create_table(
        'legacy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='legacy_pkey'),
    )


def downgrade() -> None:
    op.drop_table('legacy')
    op.drop_index('posts_published_idx', table_name='posts')
    op.drop_table('posts')
    op.drop_table('users')
    postgresql.ENUM(name='post_status').drop(op.get_bind())
