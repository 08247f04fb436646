"""Token families (issue 19, "a login that cannot be gamed"): each login starts a family, each refresh token is
spent by its one use, and presenting a spent one again revokes the family (auth/sessions.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "token_family",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("expires_at", ts, nullable=False),
        sa.Column("revoked_at", ts, nullable=True),
        sa.Column("revoked_reason", sa.String(), nullable=True),
    )
    op.create_index("ix_token_family_username", "token_family", ["username"])
    op.create_index("ix_token_family_expires_at", "token_family", ["expires_at"])
    op.create_table(
        "refresh_token",
        sa.Column("jti", sa.String(), primary_key=True),
        sa.Column("family_id", sa.String(), sa.ForeignKey("token_family.id"), nullable=False),
        sa.Column("expires_at", ts, nullable=False),
        sa.Column("spent_at", ts, nullable=True),
    )
    op.create_index("ix_refresh_token_family_id", "refresh_token", ["family_id"])
    op.create_index("ix_refresh_token_expires_at", "refresh_token", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_refresh_token_expires_at", "refresh_token")
    op.drop_index("ix_refresh_token_family_id", "refresh_token")
    op.drop_table("refresh_token")
    op.drop_index("ix_token_family_expires_at", "token_family")
    op.drop_index("ix_token_family_username", "token_family")
    op.drop_table("token_family")
