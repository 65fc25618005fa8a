"""The run registry's first schema: runs, their records, content-addressed artifact blobs and the links to them.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["upgrade", "downgrade"]

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four tables of the run registry."""
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment", sa.String(64), nullable=False),
        sa.Column("paper", sa.String(64), nullable=True),
        sa.Column("preset", sa.String(64), nullable=True),
        sa.Column("seed", sa.BigInteger, nullable=True),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=True),
        sa.Column("git", sa.String(64), nullable=True),
        sa.Column("device", sa.String(32), nullable=False, server_default=""),
        sa.Column("upload", sa.JSON, nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("n_records", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_runs_experiment", "runs", ["experiment"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_table(
        "records",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "idx", name="pk_records"),
    )
    op.create_table(
        "blobs",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
    )
    op.create_table(
        "record_artifacts",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("hash", sa.String(64), sa.ForeignKey("blobs.hash"), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "idx", "key", name="pk_record_artifacts"),
    )
    op.create_index("ix_record_artifacts_hash", "record_artifacts", ["hash"])


def downgrade() -> None:
    """Drop the run registry's tables."""
    op.drop_index("ix_record_artifacts_hash", table_name="record_artifacts")
    op.drop_table("record_artifacts")
    op.drop_table("blobs")
    op.drop_table("records")
    op.drop_index("ix_runs_status", table_name="runs")
    op.drop_index("ix_runs_experiment", table_name="runs")
    op.drop_table("runs")
