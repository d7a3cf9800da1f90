"""Apply the Alembic migrations (``upgrade head``); safe to call from every service at start.

Migrations are forward-compatible (expand, then contract in a later release): a new column is
nullable or has a server default, nothing is renamed or dropped while an older release may
still run, so a rolling deploy never meets a schema it cannot use.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from server.db.session import Database

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 727274001


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at ``server/db/migrations``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate ``db`` to ``revision``; concurrent callers on PostgreSQL serialise on a lock."""
    cfg = alembic_config(db.url)
    with db.engine.connect() as conn:
        if not db.is_sqlite:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if not db.is_sqlite:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                conn.commit()
