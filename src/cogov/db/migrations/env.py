"""Alembic environment. Migrations are written by hand (they must run the same on
SQLite and PostgreSQL, triggers included); tests/db/test_migrations.py fails when
the tables the code declares drift from what the migrations build."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through cogov.db.migrate (it passes the engine)")

with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
