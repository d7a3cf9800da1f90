"""job_results.audio_sha256: the rendered audio's SHA-256 for client-side verification

Expand-only (a nullable column): releases before it keep working against the new schema.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_results", sa.Column("audio_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_results") as b:
        b.drop_column("audio_sha256")
