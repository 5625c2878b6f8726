"""thinghub.group_commit: requests that arrive together share one flush."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from thinghub.group_commit import GroupCommit


def test_requests_that_arrive_together_share_a_flush_and_fail_alone() -> None:
    flushes: list[list[int]] = []

    def flush(items: list[int]) -> Sequence[BaseException | None]:
        flushes.append(items)
        return [ValueError(f"odd {i}") if i % 2 else None for i in items]

    async def run() -> list[object]:
        commit: GroupCommit[int] = GroupCommit(flush)
        together = await asyncio.gather(
            *(commit.submit(i) for i in range(6)), return_exceptions=True
        )
        later = await asyncio.gather(commit.submit(6), return_exceptions=True)
        return [*together, *later]

    outcomes = asyncio.run(run())
    assert flushes == [[0, 1, 2, 3, 4, 5], [6]]
    assert [None if o is None else str(o) for o in outcomes] == [
        None,
        "odd 1",
        None,
        "odd 3",
        None,
        "odd 5",
        None,
    ]


def test_a_flush_that_fails_fails_every_request_of_it() -> None:
    def flush(items: list[str]) -> Sequence[BaseException | None]:
        raise RuntimeError("database is gone")

    async def run() -> None:
        commit: GroupCommit[str] = GroupCommit(flush)
        await asyncio.gather(commit.submit("a"), commit.submit("b"))

    with pytest.raises(RuntimeError, match="database is gone"):
        asyncio.run(run())


def test_every_request_is_answered_whatever_the_flush_returns() -> None:
    def flush(items: list[int]) -> Sequence[BaseException | None]:
        return [StopIteration()] if items == [0] else [None]  # one answer for two items

    async def run() -> list[object]:
        commit: GroupCommit[int] = GroupCommit(flush)
        first = await asyncio.gather(commit.submit(0), return_exceptions=True)
        both = await asyncio.wait_for(
            asyncio.gather(commit.submit(1), commit.submit(2), return_exceptions=True), 5
        )
        return [*first, *both]

    outcomes = asyncio.run(run())
    assert all(isinstance(o, RuntimeError) for o in outcomes), outcomes
