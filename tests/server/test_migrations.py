"""The Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db.migrate import upgrade
from server.db.models import Base
from server.db.session import Database


def _diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(db)
    upgrade(db)  # idempotent
    assert _diff(db) == []


@pytest.mark.services
def test_postgresql_migrations_match_models(pg_url: str) -> None:
    db = Database(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    upgrade(db)
    assert _diff(db) == []
    db.dispose()
