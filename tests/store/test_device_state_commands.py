"""Device state and device commands, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from thinghub.store import ResourceStore, Scope
from thinghub.store.device_commands import FAILED, PENDING, SUCCEEDED, CommandStore
from thinghub.store.device_state import DeviceStateStore, Reported, StateBatch


@pytest.fixture
def states(engine: Engine) -> Iterator[DeviceStateStore]:
    store = DeviceStateStore(engine)
    yield store
    store.close()


@pytest.fixture
def commands(engine: Engine) -> Iterator[CommandStore]:
    store = CommandStore(engine)
    yield store
    store.close()


def test_reports_store_values_and_say_what_changed(
    store: ResourceStore, states: DeviceStateStore, scope: Scope
) -> None:
    fan_mode = Reported("1", 0x0202, 0x0000, 3)
    sequence = Reported("1", 0x0202, 0x0001, 2)
    with store.transaction() as conn:
        changed = states.report(scope, "thing-1", [fan_mode, sequence], 100.0, conn)
    assert changed == [fan_mode, sequence]

    # Same FanMode, new sequence: only that changed; FanMode keeps its lastChangedAt.
    with store.transaction() as conn:
        changed = states.report(
            scope,
            "thing-1",
            [fan_mode, Reported("1", 0x0202, 0x0001, {"b": 1, "a": 2})],
            200.0,
            conn,
        )
    assert changed == [Reported("1", 0x0202, 0x0001, {"b": 1, "a": 2})]
    stored = {(v.cluster_id, v.attribute_id): v for v in states.read(scope, "thing-1")}
    assert stored[(0x0202, 0x0000)].value == 3
    assert (stored[(0x0202, 0x0000)].changed_at, stored[(0x0202, 0x0000)].reported_at) == (
        100.0,
        200.0,
    )
    assert stored[(0x0202, 0x0001)].value == {"a": 2, "b": 1}
    assert stored[(0x0202, 0x0001)].changed_at == 200.0

    # A map with its keys in another order is the same value.
    with store.transaction() as conn:
        changed = states.report(
            scope, "thing-1", [Reported("1", 0x0202, 0x0001, {"a": 2, "b": 1})], 300.0, conn
        )
    assert changed == []


def test_a_batch_of_reports(store: ResourceStore, states: DeviceStateStore, scope: Scope) -> None:
    """Reports sharing a transaction: each compares against the ones applied before it, one
    that is never applied leaves nothing, and a value changed and changed back has changed."""
    with store.transaction() as conn:
        states.report(scope, "thing-4", [Reported("1", 6, 0, False)], 10.0, conn)
    with store.transaction() as conn:
        batch = StateBatch(states, conn, 20.0)
        first = batch.diff(scope, "thing-4", [Reported("1", 6, 0, True)])
        assert first.changed == [Reported("1", 6, 0, True)]
        batch.apply(first)
        # Not applied (its event failed): later reports do not see it.
        dropped = batch.diff(scope, "thing-5", [Reported("1", 6, 0, True)])
        assert dropped.changed == [Reported("1", 6, 0, True)]
        again = batch.diff(scope, "thing-4", [Reported("1", 6, 0, True)])
        assert again.changed == []
        back = batch.diff(scope, "thing-4", [Reported("1", 6, 0, False)])
        assert back.changed == [Reported("1", 6, 0, False)]
        batch.apply(back)
        batch.write()
    [on_off] = states.read(scope, "thing-4")
    assert (on_off.value, on_off.changed_at, on_off.reported_at) == (False, 20.0, 20.0)
    assert states.read(scope, "thing-5") == []

    # One report naming an attribute twice, changed and changed back: it has changed.
    with store.transaction() as conn:
        changed = states.report(
            scope, "thing-4", [Reported("1", 6, 0, True), Reported("1", 6, 0, False)], 30.0, conn
        )
    assert changed == [Reported("1", 6, 0, True), Reported("1", 6, 0, False)]
    [on_off] = states.read(scope, "thing-4")
    assert (on_off.value, on_off.changed_at, on_off.reported_at) == (False, 30.0, 30.0)


def test_vendor_ids_and_forgetting_a_thing(
    store: ResourceStore, states: DeviceStateStore, scope: Scope
) -> None:
    vendor = Reported("EP1", 0xFFF1FC05, 0x15570003, "text")
    with store.transaction() as conn:
        states.report(scope, "thing-2", [vendor], 1.0, conn)
        states.report(scope, "thing-3", [Reported("1", 6, 0, True)], 1.0, conn)
    assert [(v.cluster_id, v.attribute_id, v.value) for v in states.read(scope, "thing-2")] == [
        (0xFFF1FC05, 0x15570003, "text")
    ]
    with store.transaction() as conn:
        states.forget(scope, "thing-2", conn)
    assert states.read(scope, "thing-2") == []
    assert len(states.read(scope, "thing-3")) == 1
    assert states.read(Scope("000000000001", scope.region), "thing-3") == []


def test_a_command_ends_once(store: ResourceStore, commands: CommandStore, scope: Scope) -> None:
    request = {"endpoints": [{"endpointId": "1"}], "connectorDeviceId": "dev"}
    with store.transaction() as conn:
        commands.add(scope, "trace-1", "thing-1", "connector-1", request, 10.0, 70.0, conn)
    command = commands.get(scope, "trace-1")
    assert command is not None
    assert (command.status, command.request, command.due_at) == (PENDING, request, 70.0)

    with store.transaction() as conn:
        assert commands.finish(scope, "trace-1", SUCCEEDED, {"statusCode": 200}, 20.0, conn)
    with store.transaction() as conn:
        assert not commands.finish(scope, "trace-1", FAILED, {"statusCode": 500}, 30.0, conn)
        assert not commands.finish(scope, "nope", FAILED, {}, 30.0, conn)
    ended = commands.get(scope, "trace-1")
    assert ended is not None
    assert (ended.status, ended.outcome, ended.due_at) == (SUCCEEDED, {"statusCode": 200}, None)


def test_deadlines(store: ResourceStore, commands: CommandStore, scope: Scope) -> None:
    with store.transaction() as conn:
        commands.add(scope, "late", "t", "c", {}, 0.0, 5.0, conn)
        commands.add(scope, "later", "t", "c", {}, 0.0, 9.0, conn)
        commands.add(scope, "reads-only", "t", "c", {}, 0.0, None, conn)
    mine = {"late", "later", "reads-only"}
    due = [c.trace_id for c in commands.due(6.0, limit=1000) if c.trace_id in mine]
    assert due == ["late"]
    next_due = commands.next_due()
    assert next_due is not None and next_due <= 5.0
    with store.transaction() as conn:
        commands.finish(scope, "late", FAILED, {"statusCode": 500}, 6.0, conn)
    assert "late" not in [c.trace_id for c in commands.due(10.0, limit=1000)]
    assert "later" in [c.trace_id for c in commands.due(10.0, limit=1000)]
