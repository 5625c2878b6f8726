"""The background pass of account linking, driven by thinghub's clock.

Each pass (every ``refresh_check_seconds`` on the system clock; after every advance of the
manual clock, before the advance is answered):

1. authorization flows whose state expired unused move their association to
   ASSOCIATION_FAILED ("The authorization request expired"); the state is forgotten;
2. tokens that are due are refreshed (`association_tokens.refresh`), a few at a time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from thinghub.clock import ManualClock
from thinghub.integrations import association_schedule, oauth_state
from thinghub.integrations.association_activation import fail_flow
from thinghub.integrations.association_runtime import runtime
from thinghub.integrations.association_tokens import NotUsable, refresh
from thinghub.wire.errors import ServiceError

if TYPE_CHECKING:
    from thinghub.hub import Hub

log = logging.getLogger("thinghub.oauth")

PARALLEL_REFRESHES = 8
# How long a claimed refresh stays with the node that claimed it before others may retry it.
CLAIM_LEASE_SECONDS = 120.0


async def run_pass(hub: Hub, now: float) -> None:
    """One pass; never raises (a failure is logged and the next pass tries again)."""
    try:
        for flow in oauth_state.take_expired(hub.store, now):
            fail_flow(
                hub,
                flow.scope,
                flow.association_id,
                flow.digest,
                "The authorization request expired",
            )
        due = association_schedule.take_due(hub.store, now, CLAIM_LEASE_SECONDS)
        if due:
            gate = asyncio.Semaphore(PARALLEL_REFRESHES)
            await asyncio.gather(*(_refresh_one(hub, item, gate) for item in due))
    except Exception:
        log.exception("the account association pass failed")


async def _refresh_one(
    hub: Hub, item: association_schedule.DueRefresh, gate: asyncio.Semaphore
) -> None:
    async with gate, runtime(hub).lock(item.scope, item.association_id):
        try:
            await refresh(hub, item.scope, item.association_id, scheduled=True)
        except NotUsable:
            # Relinking, deleted or expired: nothing to refresh until it is linked again.
            association_schedule.clear(hub.store, item.scope, item.association_id)
        except ServiceError as exc:
            if exc.code == "ResourceNotFoundException":
                association_schedule.clear(hub.store, item.scope, item.association_id)
            # Otherwise already rescheduled and logged by refresh.
        except Exception:
            log.exception("refreshing account association %s failed", item.association_id)


def start_pass_driver(hub: Hub) -> None:
    """Hook the pass to the clock: a worker for the system clock, the advance hook for the
    manual one (so tests move time and find the consequences done)."""
    clock = hub.clock
    if isinstance(clock, ManualClock):
        clock.on_advance(lambda now: run_pass(hub, now))
        return
    interval = runtime(hub).settings.refresh_check_seconds

    async def worker(hub: Hub) -> None:
        while True:
            await run_pass(hub, hub.clock.now())
            await asyncio.sleep(interval)

    hub.add_worker("account-association-pass", worker)
