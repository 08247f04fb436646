"""The site of each audit entry (issue 19: every record of a site is read only through that site's lab). Entries
written before this revision have none: every site's lab lists them (docs/architecture.md, "Site isolation").

Plain ADD COLUMN, not a batch copy: on SQLite a copy would drop the append-only triggers (0007), and on both
engines adding a nullable column changes no stored row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("site", sa.String(), nullable=True))
    op.create_index("ix_audit_log_site", "audit_log", ["site"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_site", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("site")
