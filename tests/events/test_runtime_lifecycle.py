"""A stopped hub's detector runtime no longer hears model changes (the listeners are
process-wide; a stale one would run its statements on another hub's connection)."""

from __future__ import annotations

from pathlib import Path

from thinghub.config import Settings
from thinghub.events.control import alarm_catalog, catalog
from thinghub.hub import Hub


def test_a_stopped_hub_stops_listening(tmp_path: Path) -> None:
    before = (list(catalog._listeners), list(alarm_catalog._listeners))
    hub = Hub(Settings(data_dir=tmp_path))
    hub.start()
    assert len(catalog._listeners) == len(before[0]) + 1
    assert len(alarm_catalog._listeners) == len(before[1]) + 1
    hub.stop()
    assert (catalog._listeners, alarm_catalog._listeners) == before
