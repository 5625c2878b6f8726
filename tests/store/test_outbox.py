from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from thinghub.store import (
    DetectorRecord,
    DetectorStore,
    Outbox,
    OutboxItem,
    OutboxItemIn,
    Scope,
    create_engine,
)

NOW = 1_700_000_000.0
LEASE = 30.0


@pytest.fixture
def outbox(engine: Engine) -> Iterator[Outbox]:
    # Claims span every scope; the module's database is this module's alone, so start empty.
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM outbox"))
    box = Outbox(engine)
    yield box
    box.close()


def item(scope: Scope, n: int, partition: str | None = None, channel: str = "sns") -> OutboxItemIn:
    return OutboxItemIn(scope, channel, f'{{"n":{n}}}', partition)


def payloads(items: list[OutboxItem]) -> list[str]:
    return [i.payload for i in items]


def test_added_items_are_claimed_with_their_payload(outbox: Outbox, scope: Scope) -> None:
    assert outbox.pending_count() == 0
    assert outbox.next_attempt_at() is None
    assert outbox.claim(NOW, 10, LEASE) == []

    outbox.add_many(
        [
            OutboxItemIn(scope, "sns", '{"message":"a","n":1.50}', "detector/k1"),
            OutboxItemIn(scope, "mqtt", '{"topic":"t"}'),
        ],
        NOW,
    )
    assert outbox.pending_count() == 2
    assert outbox.pending_count(scope) == 2
    assert outbox.pending_count(Scope(scope.account_id, "eu-west-1")) == 0
    assert outbox.next_attempt_at() == NOW

    first, second = outbox.claim(NOW, 10, LEASE)
    assert (first.scope, first.channel, first.partition_key, first.payload) == (
        scope,
        "sns",
        "detector/k1",
        '{"message":"a","n":1.50}',  # verbatim
    )
    assert (second.channel, second.partition_key) == ("mqtt", None)
    assert first.seq < second.seq
    assert (first.created_at, first.attempts, first.last_error) == (NOW, 0, None)
    assert first.claimed_until == NOW + LEASE
    # Leased: not claimable again, still pending; the lease's end is the next attempt.
    assert outbox.claim(NOW + 1, 10, LEASE) == []
    assert outbox.pending_count() == 2
    assert outbox.next_attempt_at() == NOW + LEASE

    assert outbox.delivered([first.seq, second.seq, 999_999_999]) == 2
    assert outbox.delivered([first.seq]) == 0
    assert outbox.delivered([]) == 0
    assert outbox.pending_count() == 0
    assert outbox.claim(NOW + 100, 10, LEASE) == []


def test_claim_takes_the_oldest_due_items_first_up_to_the_limit(
    outbox: Outbox, scope: Scope
) -> None:
    outbox.add_many([item(scope, n) for n in range(5)], NOW)
    outbox.add_many([item(scope, 5)], NOW - 10)  # due earlier
    assert payloads(outbox.claim(NOW, 3, LEASE)) == ['{"n":0}', '{"n":1}', '{"n":5}']
    assert payloads(outbox.claim(NOW, 10, LEASE)) == ['{"n":2}', '{"n":3}', '{"n":4}']
    assert outbox.claim(NOW, 0, LEASE) == []
    assert outbox.add_many([], NOW) is None


def test_one_partition_is_delivered_one_item_at_a_time_in_order(
    outbox: Outbox, scope: Scope
) -> None:
    outbox.add_many([item(scope, 1, "A"), item(scope, 2, "A"), item(scope, 3, "B")], NOW)
    outbox.add_many([item(scope, 4, "A"), item(scope, 5)], NOW + 1)

    a1, b3, free5 = outbox.claim(NOW + 1, 10, LEASE)
    assert payloads([a1, b3, free5]) == ['{"n":1}', '{"n":3}', '{"n":5}']
    # A2 waits while A1 is leased...
    assert outbox.claim(NOW + 2, 10, LEASE) == []
    # ...and while A1 waits for its retry; other partitions proceed.
    assert outbox.failed(a1.seq, NOW + 2, NOW + 60, "timeout")
    outbox.delivered([b3.seq, free5.seq])
    outbox.add_many([item(scope, 6, "B")], NOW + 3)
    [b6] = outbox.claim(NOW + 3, 10, LEASE)
    assert b6.payload == '{"n":6}'
    outbox.delivered([b6.seq])
    assert outbox.claim(NOW + 59, 10, LEASE) == []

    [retry] = outbox.claim(NOW + 60, 10, LEASE)
    assert (retry.seq, retry.attempts, retry.last_error) == (a1.seq, 1, "timeout")
    outbox.delivered([retry.seq])
    [a2] = outbox.claim(NOW + 61, 10, LEASE)
    assert a2.payload == '{"n":2}'
    assert a2.created_at == NOW
    outbox.delivered([a2.seq])
    assert payloads(outbox.claim(NOW + 61, 10, LEASE)) == ['{"n":4}']


def test_partitions_are_per_scope(outbox: Outbox, new_account: Callable[[], str]) -> None:
    a, b = Scope(new_account(), "us-east-1"), Scope(new_account(), "us-east-1")
    outbox.add_many([item(a, 1, "same"), item(b, 2, "same"), item(a, 3, "same")], NOW)
    assert payloads(outbox.claim(NOW, 10, LEASE)) == ['{"n":1}', '{"n":2}']


def test_a_new_item_of_a_busy_partition_waits(outbox: Outbox, scope: Scope) -> None:
    outbox.add_many([item(scope, 1, "P")], NOW)
    [head] = outbox.claim(NOW, 10, LEASE)
    outbox.add_many([item(scope, 2, "P")], NOW + 1)  # added while the head is leased
    assert outbox.claim(NOW + 1, 10, LEASE) == []
    outbox.delivered([head.seq])
    assert payloads(outbox.claim(NOW + 2, 10, LEASE)) == ['{"n":2}']


def test_an_empty_partition_takes_a_new_item_at_once(outbox: Outbox, scope: Scope) -> None:
    outbox.add_many([item(scope, 1, "P")], NOW)
    [head] = outbox.claim(NOW, 10, LEASE)
    outbox.delivered([head.seq])
    outbox.add_many([item(scope, 2, "P"), item(scope, 3, "P")], NOW + 1)
    assert payloads(outbox.claim(NOW + 1, 10, LEASE)) == ['{"n":2}']


def test_an_expired_lease_makes_the_item_claimable_again(outbox: Outbox, scope: Scope) -> None:
    outbox.add_many([item(scope, 1, "P"), item(scope, 2, "P")], NOW)
    [first] = outbox.claim(NOW, 10, LEASE)
    assert outbox.claim(NOW + LEASE - 0.001, 10, LEASE) == []
    # The deliverer died: the item comes back, still first in its partition.
    [again] = outbox.claim(NOW + LEASE, 10, LEASE)
    assert again.seq == first.seq
    assert again.attempts == 0
    assert again.claimed_until == NOW + 2 * LEASE
    # The late deliverer's failure report no longer applies to the new lease...
    assert not outbox.failed(
        first.seq, NOW + LEASE, NOW + 100, "late", lease_until=first.claimed_until
    )
    assert outbox.claim(NOW + LEASE + 1, 10, LEASE) == []
    # ...the current holder's does.
    assert outbox.failed(again.seq, NOW + LEASE, NOW + 100, "e", lease_until=again.claimed_until)
    assert outbox.claim(NOW + 99, 10, LEASE) == []
    [third] = outbox.claim(NOW + 100, 10, LEASE)
    assert (third.seq, third.attempts, third.last_error) == (first.seq, 1, "e")


def test_failed_never_makes_a_waiting_item_due(outbox: Outbox, scope: Scope) -> None:
    outbox.add_many([item(scope, 1, "P"), item(scope, 2, "P")], NOW)
    [head] = outbox.claim(NOW, 10, LEASE)
    assert not outbox.failed(head.seq + 1, NOW, NOW, "not claimed")
    assert not outbox.failed(999_999_999, NOW, NOW, "no such item")
    assert outbox.claim(NOW + 1, 10, LEASE) == []


def test_delivering_a_waiting_item_keeps_the_order(outbox: Outbox, scope: Scope) -> None:
    outbox.add_many([item(scope, 1, "P"), item(scope, 2, "P"), item(scope, 3, "P")], NOW)
    [head] = outbox.claim(NOW, 10, LEASE)
    assert outbox.delivered([head.seq + 1]) == 1  # dropped, e.g. by an operator
    assert outbox.claim(NOW, 10, LEASE) == []
    outbox.delivered([head.seq])
    assert payloads(outbox.claim(NOW, 10, LEASE)) == ['{"n":3}']


def test_items_commit_or_vanish_with_the_change_that_made_them(
    engine: Engine, outbox: Outbox, scope: Scope
) -> None:
    detectors = DetectorStore(engine)
    try:
        rec = DetectorRecord("model", "k", "1", "Alarm", "{}", "{}", NOW, NOW)
        with pytest.raises(RuntimeError), detectors.transaction() as conn:
            detectors.upsert_many(scope, [rec], conn)
            outbox.add_many([item(scope, 1, "model/k")], NOW, conn)
            raise RuntimeError
        assert outbox.pending_count() == 0
        with detectors.transaction() as conn:
            detectors.upsert_many(scope, [rec], conn)
            outbox.add_many([item(scope, 1, "model/k")], NOW, conn)
        assert outbox.pending_count() == 1
    finally:
        detectors.close()


def test_concurrent_deliverers_never_share_an_item_and_keep_partition_order(
    db_url: str, outbox: Outbox, new_account: Callable[[], str]
) -> None:
    scope = Scope(new_account(), "us-east-1")
    n_items = 300
    outbox.add_many([item(scope, n, f"p{n % 7}" if n % 3 else None) for n in range(n_items)], NOW)
    engines = [create_engine(db_url) for _ in range(3)]
    boxes = [Outbox(e) for e in engines]
    delivered: list[list[OutboxItem]] = [[] for _ in boxes]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(boxes))

    def run(i: int) -> None:
        box = boxes[i]
        try:
            barrier.wait()
            deadline = time.monotonic() + 60
            while box.pending_count() and time.monotonic() < deadline:
                claimed = box.claim(NOW, 5, 3600)
                delivered[i] += claimed
                box.delivered([c.seq for c in claimed])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(boxes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in boxes:
        b.close()
    for e in engines:
        e.dispose()
    assert errors == []
    everything = [d.seq for per_thread in delivered for d in per_thread]
    assert len(everything) == len(set(everything)) == n_items
    # With an hour's lease nothing is re-delivered, so within a partition each item was only
    # claimable after the previous one was delivered: claim order is seq order.
    by_partition: dict[str, list[int]] = defaultdict(list)
    for per_thread in delivered:
        for d in per_thread:
            if d.partition_key is not None:
                by_partition[d.partition_key].append(d.seq)
    assert len(by_partition) == 7
    for seqs in by_partition.values():
        assert sorted(seqs) == sorted(set(seqs))


def test_concurrent_claims_of_one_partition_never_overlap(
    db_url: str, outbox: Outbox, scope: Scope
) -> None:
    outbox.add_many([item(scope, n, "single") for n in range(40)], NOW)
    engines = [create_engine(db_url) for _ in range(3)]
    boxes = [Outbox(e) for e in engines]
    order: list[int] = []
    released: set[int] = set()  # items whose delivery has been reported (or is being)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run(box: Outbox) -> None:
        try:
            deadline = time.monotonic() + 60
            while box.pending_count() and time.monotonic() < deadline:
                claimed = box.claim(NOW, 10, 3600)
                assert len(claimed) <= 1
                for c in claimed:
                    n = int(c.payload[5:-1])
                    with lock:
                        # Claimable only once its predecessor was delivered.
                        assert n == 0 or n - 1 in released
                        order.append(n)
                        released.add(n)
                    box.delivered([c.seq])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in boxes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in boxes:
        b.close()
    for e in engines:
        e.dispose()
    assert errors == []
    assert order == list(range(40))


@pytest.mark.parametrize("first", ["add", "deliver"])
def test_adding_and_delivering_in_one_partition_cannot_strand_an_item(
    backend: str, db_url: str, outbox: Outbox, scope: Scope, first: str
) -> None:
    # PostgreSQL: "is there an earlier item?" (add_many) and "promote the next item"
    # (delivered) run in concurrent transactions; each must see the other's outcome.
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite every write transaction excludes the others")
    other_engine = create_engine(db_url)
    other = Outbox(other_engine)
    try:
        outbox.add_many([item(scope, 1, "P")], NOW)
        [head] = outbox.claim(NOW, 10, LEASE)

        def add(box: Outbox) -> Callable[[sa.Connection], None]:
            return lambda conn: box.add_many([item(scope, 2, "P")], NOW + 1, conn)

        def deliver(box: Outbox) -> Callable[[sa.Connection], None]:
            return lambda conn: box.delivered([head.seq], conn)

        early, late = (add, deliver) if first == "add" else (deliver, add)
        with outbox.transaction() as conn:
            early(outbox)(conn)

            def run_late() -> None:
                with other.transaction() as c2:
                    late(other)(c2)

            thread = threading.Thread(target=run_late)
            thread.start()
            thread.join(0.3)
            assert thread.is_alive()  # queued behind the partition's lock
        thread.join(10)
        assert not thread.is_alive()
        assert payloads(outbox.claim(NOW + 1, 10, LEASE)) == ['{"n":2}']
    finally:
        other.close()
        other_engine.dispose()
