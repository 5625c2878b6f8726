"""Initial schema: resources, resource_index, tags, client_tokens, settings.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("arn", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("attrs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_resources")),
        sa.UniqueConstraint(
            "account_id",
            "region",
            "kind",
            "id",
            name=op.f("uq_resources_account_id_region_kind_id"),
        ),
    )
    op.create_index(
        "uq_resources_name",
        "resources",
        ["account_id", "region", "kind", "name"],
        unique=True,
        sqlite_where=sa.text("name IS NOT NULL"),
        postgresql_where=sa.text("name IS NOT NULL"),
    )
    op.create_index("ix_resources_arn", "resources", ["arn"])
    op.create_index(
        "ix_resources_scope_kind_seq", "resources", ["account_id", "region", "kind", "seq"]
    )

    op.create_table(
        "resource_index",
        sa.Column("resource_seq", _SEQ, nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_seq"],
            ["resources.seq"],
            name=op.f("fk_resource_index_resource_seq_resources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resource_seq", "field", "value", name=op.f("pk_resource_index")),
    )
    op.create_index("ix_resource_index_field_value", "resource_index", ["field", "value"])

    op.create_table(
        "tags",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("resource_arn", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "region", "resource_arn", "key", name=op.f("pk_tags")
        ),
    )

    op.create_table(
        "client_tokens",
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.CheckConstraint("state IN ('in_flight', 'done')", name=op.f("ck_client_tokens_state")),
        sa.PrimaryKeyConstraint(
            "account_id", "region", "operation", "token", name=op.f("pk_client_tokens")
        ),
    )

    op.create_table(
        "settings",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )


def downgrade() -> None:
    op.drop_table("settings")
    op.drop_table("client_tokens")
    op.drop_table("tags")
    op.drop_index("ix_resource_index_field_value", table_name="resource_index")
    op.drop_table("resource_index")
    op.drop_index("ix_resources_scope_kind_seq", table_name="resources")
    op.drop_index("ix_resources_arn", table_name="resources")
    op.drop_index("uq_resources_name", table_name="resources")
    op.drop_table("resources")
