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


def test_upgrade_keeps_data_of_an_older_schema(tmp_path: Path) -> None:
    """Forward-compatible: a database at revision 0001 with data upgrades in place."""
    from sqlalchemy import text

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db, "0001")
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO users VALUES ('u1', 'old', 'h', 0, 0)"))
    upgrade(db)
    assert _diff(db) == []
    with db.engine.connect() as c:
        assert c.execute(text("SELECT name FROM users")).scalar_one() == "old"
