"""IoT Events detector runtime and the outbox: detector_instances, detector_timers,
detector_message_ids, outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "detector_instances",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("detector_model_name", sa.Text(), nullable=False),
        sa.Column("key_value", sa.Text(), nullable=False),
        sa.Column("detector_model_version", sa.Text(), nullable=False),
        sa.Column("state_name", sa.Text(), nullable=False),
        sa.Column("variables", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_detector_instances")),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "detector_model_name",
            "key_value",
            name="uq_detector_instances_key",
        ),
    )
    op.create_index(
        "ix_detector_instances_model_seq",
        "detector_instances",
        ["account_id", "region", "detector_model_name", "seq"],
    )
    op.create_index(
        "ix_detector_instances_model_state_seq",
        "detector_instances",
        ["account_id", "region", "detector_model_name", "state_name", "seq"],
    )

    op.create_table(
        "detector_timers",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("detector_model_name", sa.Text(), nullable=False),
        sa.Column("key_value", sa.Text(), nullable=False),
        sa.Column("timer_name", sa.Text(), nullable=False),
        sa.Column("due_at", sa.Double(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id",
            "region",
            "detector_model_name",
            "key_value",
            "timer_name",
            name=op.f("pk_detector_timers"),
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_detector_timers_due_at", "detector_timers", ["due_at"])

    op.create_table(
        "detector_message_ids",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "region", "message_id", name=op.f("pk_detector_message_ids")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_detector_message_ids_expires_at", "detector_message_ids", ["expires_at"])

    op.create_table(
        "outbox",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("partition_key", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_failed_at", sa.Double(), nullable=True),
        sa.Column("claimed_until", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_next_attempt_at_seq", "outbox", ["next_attempt_at", "seq"])
    op.create_index(
        "ix_outbox_partition_seq", "outbox", ["account_id", "region", "partition_key", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_partition_seq", table_name="outbox")
    op.drop_index("ix_outbox_next_attempt_at_seq", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_detector_message_ids_expires_at", table_name="detector_message_ids")
    op.drop_table("detector_message_ids")
    op.drop_index("ix_detector_timers_due_at", table_name="detector_timers")
    op.drop_table("detector_timers")
    op.drop_index("ix_detector_instances_model_state_seq", table_name="detector_instances")
    op.drop_index("ix_detector_instances_model_seq", table_name="detector_instances")
    op.drop_table("detector_instances")
