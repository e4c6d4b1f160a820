"""Alembic environment: runs on the connection handed over by app.store.db.migrate."""

from __future__ import annotations

from alembic import context

from app.store.models import Base  # from models: with every table registered on it

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations through `oncall-bot migrate` (app.store.db.migrate)")

# render_as_batch: SQLite cannot ALTER most things, so later revisions copy-and-move tables.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
