"""IoT Events alarms: alarm_instances.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alarm_instances",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("alarm_model_name", sa.Text(), nullable=False),
        sa.Column("key_value", sa.Text(), nullable=False),
        sa.Column("alarm_model_version", sa.Text(), nullable=False),
        sa.Column("state_name", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("snooze_until", sa.Double(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_alarm_instances")),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "alarm_model_name",
            "key_value",
            name="uq_alarm_instances_key",
        ),
    )
    op.create_index(
        "ix_alarm_instances_model_seq",
        "alarm_instances",
        ["account_id", "region", "alarm_model_name", "seq"],
    )
    op.create_index("ix_alarm_instances_snooze_until", "alarm_instances", ["snooze_until"])


def downgrade() -> None:
    op.drop_index("ix_alarm_instances_snooze_until", table_name="alarm_instances")
    op.drop_index("ix_alarm_instances_model_seq", table_name="alarm_instances")
    op.drop_table("alarm_instances")
