"""Database: SQLAlchemy 2 models, sessions and Alembic migrations (``server/db/migrations``)."""

from server.db.models import (
    AuditLog,
    Base,
    Job,
    JobResultRow,
    Outbox,
    RefreshToken,
    Task,
    Upload,
    User,
)
from server.db.session import Database, now_epoch

__all__ = [
    "AuditLog",
    "Base",
    "Database",
    "Job",
    "JobResultRow",
    "Outbox",
    "RefreshToken",
    "Task",
    "Upload",
    "User",
    "now_epoch",
]
