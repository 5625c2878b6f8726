"""The schema. Alembic migrations in `migrations/` must produce exactly this.

Timestamps are float epoch seconds (UTC) supplied by thinghub's own clock, never `now()` in SQL,
so a simulated clock and several nodes all agree on what time it is.
"""

from __future__ import annotations

import sqlalchemy as sa

# Stable constraint names so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT one.
SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Text(), nullable=False),
    sa.Column("region", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("id", sa.Text(), nullable=False),
    sa.Column("arn", sa.Text(), nullable=True),
    sa.Column("name", sa.Text(), nullable=True),
    # The resource document, serialised with orjson: identical on every backend.
    sa.Column("attrs", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.UniqueConstraint("account_id", "region", "kind", "id"),
    sa.Index(
        "uq_resources_name",
        "account_id",
        "region",
        "kind",
        "name",
        unique=True,
        sqlite_where=sa.text("name IS NOT NULL"),
        postgresql_where=sa.text("name IS NOT NULL"),
    ),
    sa.Index("ix_resources_arn", "arn"),
    # Serves list_page/count: equality on the scope and kind, then ordered by seq.
    sa.Index("ix_resources_scope_kind_seq", "account_id", "region", "kind", "seq"),
)

resource_index = sa.Table(
    "resource_index",
    metadata,
    sa.Column(
        "resource_seq",
        SeqType,
        sa.ForeignKey("resources.seq", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("field", sa.Text(), primary_key=True),
    sa.Column("value", sa.Text(), primary_key=True),
    sa.Index("ix_resource_index_field_value", "field", "value"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("account_id", sa.Text(), primary_key=True),
    sa.Column("region", sa.Text(), primary_key=True),
    sa.Column("resource_arn", sa.Text(), primary_key=True),
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

client_tokens = sa.Table(
    "client_tokens",
    metadata,
    sa.Column("account_id", sa.Text(), primary_key=True),
    sa.Column("region", sa.Text(), primary_key=True),
    sa.Column("operation", sa.Text(), primary_key=True),
    sa.Column("token", sa.Text(), primary_key=True),
    sa.Column("request_hash", sa.Text(), nullable=False),
    sa.Column("state", sa.Text(), nullable=False),
    sa.Column("response", sa.Text(), nullable=True),
    sa.Column("status_code", sa.Integer(), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("expires_at", sa.Double(), nullable=False),
    sa.CheckConstraint("state IN ('in_flight', 'done')", name="state"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

# --- IoT Events detector runtime (store/detectors.py) -------------------------------------------

detector_instances = sa.Table(
    "detector_instances",
    metadata,
    # Creation order: the stable cursor of ListDetectors page tokens.
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Text(), nullable=False),
    sa.Column("region", sa.Text(), nullable=False),
    sa.Column("detector_model_name", sa.Text(), nullable=False),
    # '' for a model without a key.
    sa.Column("key_value", sa.Text(), nullable=False),
    sa.Column("detector_model_version", sa.Text(), nullable=False),
    sa.Column("state_name", sa.Text(), nullable=False),
    # JSON documents encoded by the runtime (it keeps numbers as Decimal), stored verbatim.
    sa.Column("variables", sa.Text(), nullable=False),
    sa.Column("inputs", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.Column("row_version", sa.Integer(), nullable=False),
    # Explicit names: the naming convention's would exceed PostgreSQL's 63 characters.
    sa.UniqueConstraint(
        "account_id", "region", "detector_model_name", "key_value", name="uq_detector_instances_key"
    ),
    # ListDetectors without and with a stateName filter, both in seq order.
    sa.Index(
        "ix_detector_instances_model_seq", "account_id", "region", "detector_model_name", "seq"
    ),
    sa.Index(
        "ix_detector_instances_model_state_seq",
        "account_id",
        "region",
        "detector_model_name",
        "state_name",
        "seq",
    ),
)

detector_timers = sa.Table(
    "detector_timers",
    metadata,
    sa.Column("account_id", sa.Text(), primary_key=True),
    sa.Column("region", sa.Text(), primary_key=True),
    sa.Column("detector_model_name", sa.Text(), primary_key=True),
    sa.Column("key_value", sa.Text(), primary_key=True),
    sa.Column("timer_name", sa.Text(), primary_key=True),
    sa.Column("due_at", sa.Double(), nullable=False),
    # The duration last evaluated for the timer, which resetTimer reuses.
    sa.Column("duration_seconds", sa.Integer(), nullable=False),
    # Global, for the scheduler: the earliest timers of every scope first.
    sa.Index("ix_detector_timers_due_at", "due_at"),
    # Clustered on the primary key: one B-tree fewer to write per timer.
    sqlite_with_rowid=False,
)

detector_message_ids = sa.Table(
    "detector_message_ids",
    metadata,
    sa.Column("account_id", sa.Text(), primary_key=True),
    sa.Column("region", sa.Text(), primary_key=True),
    sa.Column("message_id", sa.Text(), primary_key=True),
    sa.Column("seen_at", sa.Double(), nullable=False),
    sa.Column("expires_at", sa.Double(), nullable=False),
    sa.Index("ix_detector_message_ids_expires_at", "expires_at"),
    sqlite_with_rowid=False,
)

# --- IoT Events alarms (store/alarms.py) -------------------------------------------------------

alarm_instances = sa.Table(
    "alarm_instances",
    metadata,
    # Creation order: the stable cursor of ListAlarms page tokens.
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Text(), nullable=False),
    sa.Column("region", sa.Text(), nullable=False),
    sa.Column("alarm_model_name", sa.Text(), nullable=False),
    # '' for a model without a key.
    sa.Column("key_value", sa.Text(), nullable=False),
    sa.Column("alarm_model_version", sa.Text(), nullable=False),
    sa.Column("state_name", sa.Text(), nullable=False),
    # JSON encoded by the runtime (last inputs, rule evaluation, customer action, system event).
    sa.Column("document", sa.Text(), nullable=False),
    # When a SNOOZE_DISABLED alarm returns to NORMAL; NULL when not snoozed. The durable timer.
    sa.Column("snooze_until", sa.Double(), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.UniqueConstraint(
        "account_id", "region", "alarm_model_name", "key_value", name="uq_alarm_instances_key"
    ),
    sa.Index("ix_alarm_instances_model_seq", "account_id", "region", "alarm_model_name", "seq"),
    # Global, for the snooze scheduler.
    sa.Index("ix_alarm_instances_snooze_until", "snooze_until"),
)

# --- durable outgoing deliveries (store/outbox.py) ----------------------------------------------

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Text(), nullable=False),
    sa.Column("region", sa.Text(), nullable=False),
    sa.Column("channel", sa.Text(), nullable=False),
    # Items with the same (account, region, partition_key) are delivered one at a time, in seq
    # order; NULL means no ordering.
    sa.Column("partition_key", sa.Text(), nullable=True),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    # When the item may be claimed next; a lease pushes it to the lease's end. NULL: waiting
    # behind an earlier item of its partition.
    sa.Column("next_attempt_at", sa.Double(), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("last_failed_at", sa.Double(), nullable=True),
    sa.Column("claimed_until", sa.Double(), nullable=True),
    sa.Index("ix_outbox_next_attempt_at_seq", "next_attempt_at", "seq"),
    sa.Index("ix_outbox_partition_seq", "account_id", "region", "partition_key", "seq"),
    # AUTOINCREMENT: a seq is never reused, so a late report about a delivered item cannot hit
    # a newer one.
    sqlite_autoincrement=True,
)

# --- managed things: device state and commands (store/device_state.py, device_commands.py) ---

thing_properties = sa.Table(
    "thing_properties",
    metadata,
    sa.Column("account_id", sa.Text(), nullable=False),
    sa.Column("region", sa.Text(), nullable=False),
    sa.Column("managed_thing_id", sa.Text(), nullable=False),
    sa.Column("endpoint_id", sa.Text(), nullable=False),
    # Matter ids as numbers: vendor ids reach 32 bits.
    sa.Column("cluster_id", sa.BigInteger(), nullable=False),
    sa.Column("attribute_id", sa.BigInteger(), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),  # JSON
    sa.Column("changed_at", sa.Double(), nullable=False),
    sa.Column("reported_at", sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint(
        "account_id",
        "region",
        "managed_thing_id",
        "endpoint_id",
        "cluster_id",
        "attribute_id",
        name="pk_thing_properties",
    ),
    sqlite_with_rowid=False,
)

device_commands = sa.Table(
    "device_commands",
    metadata,
    sa.Column("account_id", sa.Text(), nullable=False),
    sa.Column("region", sa.Text(), nullable=False),
    sa.Column("trace_id", sa.Text(), nullable=False),
    sa.Column("managed_thing_id", sa.Text(), nullable=False),
    sa.Column("connector_id", sa.Text(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False),  # PENDING | SUCCEEDED | FAILED
    sa.Column("request", sa.Text(), nullable=False),  # JSON: what was asked, both models
    sa.Column("outcome", sa.Text(), nullable=True),  # JSON: the response or the failure
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    # When a PENDING command times out; NULL once it is finished.
    sa.Column("due_at", sa.Double(), nullable=True),
    sa.PrimaryKeyConstraint("account_id", "region", "trace_id", name="pk_device_commands"),
    sa.Index("ix_device_commands_due_at", "due_at"),
)
