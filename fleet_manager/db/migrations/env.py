"""Alembic environment: the engine comes from the caller (fleet_manager.db.engine.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from fleet_manager.audit import tables as audit_tables  # noqa: F401  (the audit_log table)
from fleet_manager.db import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from fleet_manager.replay import tables as replay_tables  # noqa: F401  (the replay table)

target_metadata = SQLModel.metadata
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
