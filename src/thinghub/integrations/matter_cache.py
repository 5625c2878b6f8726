"""A disk cache of the Matter catalogue, so only the first process on a machine pays for
importing the SDK's cluster objects (about two seconds and 40 MB): later ones read a JSON file
in tens of milliseconds.

The file lives in ``$THINGHUB_CACHE_DIR``, else ``$XDG_CACHE_HOME/thinghub``, else
``~/.cache/thinghub``, and is named after the cluster library's version and this format's, so a
new library or a new format builds afresh. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from thinghub.integrations.matter import (
    MatterAttribute,
    MatterCluster,
    MatterCommand,
    MatterEvent,
    MatterField,
)

log = logging.getLogger("thinghub.integrations")

FORMAT = 1
LIBRARY = "home-assistant-chip-clusters"


def cache_file() -> Path | None:
    try:
        version = importlib.metadata.version(LIBRARY)
    except importlib.metadata.PackageNotFoundError:
        return None
    root = os.environ.get("THINGHUB_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "thinghub")
    return Path(root) / f"matter-catalogue-{version}-v{FORMAT}.json"


def read() -> list[MatterCluster] | None:
    path = cache_file()
    if path is None or not path.is_file():
        return None
    try:
        return [_cluster(entry) for entry in orjson.loads(path.read_bytes())]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the Matter catalogue cache %s: %s", path, exc)
        return None


def write(clusters: Iterable[MatterCluster]) -> None:
    path = cache_file()
    if path is None:
        return
    data = orjson.dumps([_dump(cluster) for cluster in clusters])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a concurrent reader sees the old file or the new one.
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as out:
            out.write(data)
        os.replace(out.name, path)
    except OSError as exc:
        log.info("cannot cache the Matter catalogue in %s: %s", path, exc)


def _enum(values: Mapping[int, str] | None) -> dict[str, str] | None:
    return None if values is None else {str(k): v for k, v in values.items()}


def _enum_of(data: Mapping[str, str] | None) -> Mapping[int, str] | None:
    return None if data is None else MappingProxyType({int(k): v for k, v in data.items()})


def _fields(fields: Mapping[int, MatterField]) -> list[Any]:
    return [[f.id, f.name, _enum(f.enum)] for f in fields.values()]


def _fields_of(data: list[Any]) -> Mapping[int, MatterField]:
    return MappingProxyType({i: MatterField(i, name, _enum_of(values)) for i, name, values in data})


def _dump(cluster: MatterCluster) -> dict[str, Any]:
    return {
        "id": cluster.id,
        "name": cluster.name,
        "schema": cluster.schema_name,
        "attributes": [
            [a.id, a.name, _enum(a.enum), a.writable] for a in cluster.attributes.values()
        ],
        "commands": [[c.id, c.name, _fields(c.fields)] for c in cluster.commands.values()],
        "events": [[e.id, e.name, _fields(e.fields)] for e in cluster.events.values()],
    }


def _cluster(data: Mapping[str, Any]) -> MatterCluster:
    return MatterCluster(
        id=int(data["id"]),
        name=str(data["name"]),
        schema_name=str(data["schema"]),
        attributes=MappingProxyType(
            {
                i: MatterAttribute(i, name, _enum_of(values), bool(writable))
                for i, name, values, writable in data["attributes"]
            }
        ),
        commands=MappingProxyType(
            {i: MatterCommand(i, name, _fields_of(f)) for i, name, f in data["commands"]}
        ),
        events=MappingProxyType(
            {i: MatterEvent(i, name, _fields_of(f)) for i, name, f in data["events"]}
        ),
    )
