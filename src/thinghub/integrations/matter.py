"""The Matter cluster catalogue: ids and names of clusters, attributes, commands and events.

Connectors speak Matter ids (``0x0202``/``0x0000``), customers speak names (``FanControl``/
``FanMode``); this catalogue translates. It is read from the Matter SDK's generated Python
cluster objects (``chip.clusters.Objects`` from ``home-assistant-chip-clusters``), so it follows
the SDK rather than a table kept by hand.

Cost: importing ``chip.clusters.Objects`` takes about two seconds and some 40 MB, because the
module defines every cluster as dataclasses. Nothing is imported until the first lookup, and the
catalogue is built once per process, and cached on disk (`matter_cache`) so that later processes
read it in milliseconds. ``load()`` lets a server pay that at start-up instead of in its first
request.

Native code: in the full Matter SDK, ``chip/__init__.py`` and ``chip/clusters/__init__.py`` load
the native controller library. The clusters wheel ships neither file, so ``chip`` and
``chip.clusters`` are namespace packages and ``import chip.clusters.Objects`` stays pure Python
(it imports ``ctypes`` from the standard library and ``aenum``/``dacite``, nothing more).
``CHIPClusters.py``, the only place that says which attributes are writable, imports
``chip.exceptions``, which the wheel lacks, so it is parsed with ``ast`` instead of imported.

Names: cluster class names (``FanControl``) are the schema names; the spaced human names
(``Fan Control``) are derived by splitting them, with a few spellings from the Matter
specification (``On/Off``, ``Wi-Fi``, ``PM2.5``, acronyms such as ``OTA``) that no split can guess.
"""

from __future__ import annotations

import ast
import enum
import importlib
import importlib.util
import re
import threading
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# Global attributes every cluster has (Matter core spec 7.13). The SDK has dropped EventList
# (0xFFFA, removed in Matter 1.3) but connectors built against older revisions still report it.
GLOBAL_ATTRIBUTES: Mapping[int, str] = MappingProxyType(
    {
        0xFFF8: "GeneratedCommandList",
        0xFFF9: "AcceptedCommandList",
        0xFFFA: "EventList",
        0xFFFB: "AttributeList",
        0xFFFC: "FeatureMap",
        0xFFFD: "ClusterRevision",
    }
)


@dataclass(frozen=True, slots=True)
class MatterField:
    """A command or event field."""

    id: int
    name: str  # UpperCamelCase as in the Matter spec: "Level", "TransitionTime"
    enum: Mapping[int, str] | None = field(default=None, hash=False)  # value -> name


@dataclass(frozen=True, slots=True)
class MatterAttribute:
    id: int
    name: str  # "FanMode", "OnOff", "CurrentLevel"
    enum: Mapping[int, str] | None = field(default=None, hash=False)
    writable: bool = True  # best effort: True when the SDK does not say


@dataclass(frozen=True, slots=True)
class MatterCommand:
    """A client-to-server command, the kind a device accepts."""

    id: int
    name: str  # "On", "MoveToLevel"
    fields: Mapping[int, MatterField] = field(hash=False)
    _by_name: Mapping[str, MatterField] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", _name_index((f.name, f) for f in self.fields.values()))

    def field_by_name(self, name: str) -> MatterField | None:
        """Exact name first, then case-insensitive."""
        return _lookup(self._by_name, name)


@dataclass(frozen=True, slots=True)
class MatterEvent:
    id: int
    name: str
    fields: Mapping[int, MatterField] = field(hash=False)


@dataclass(frozen=True, slots=True)
class MatterCluster:
    id: int
    name: str  # "Fan Control", "On/Off"
    schema_name: str  # "FanControl", "OnOff": the SDK's cluster class name
    attributes: Mapping[int, MatterAttribute] = field(hash=False)
    commands: Mapping[int, MatterCommand] = field(hash=False)
    events: Mapping[int, MatterEvent] = field(hash=False)
    # Name indexes: lookups by name run for every property a customer reads or writes.
    _attributes_by_name: Mapping[str, MatterAttribute] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _commands_by_name: Mapping[str, MatterCommand] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _events_by_name: Mapping[str, MatterEvent] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_attributes_by_name", _name_index((x.name, x) for x in self.attributes.values())
        )
        object.__setattr__(
            self, "_commands_by_name", _name_index((x.name, x) for x in self.commands.values())
        )
        object.__setattr__(
            self, "_events_by_name", _name_index((x.name, x) for x in self.events.values())
        )

    def attribute_by_name(self, name: str) -> MatterAttribute | None:
        """Exact name first, then case-insensitive."""
        return _lookup(self._attributes_by_name, name)

    def command_by_name(self, name: str) -> MatterCommand | None:
        return _lookup(self._commands_by_name, name)

    def event_by_name(self, name: str) -> MatterEvent | None:
        return _lookup(self._events_by_name, name)


_N = typing.TypeVar("_N")


def _name_index(named: typing.Iterable[tuple[str, _N]]) -> Mapping[str, _N]:
    """Exact names, plus lower-cased ones that do not collide with an exact name."""
    index: dict[str, _N] = {}
    for name, item in named:
        index.setdefault(name, item)
    for name, item in list(index.items()):
        index.setdefault(name.lower(), item)
    return MappingProxyType(index)


def _lookup(index: Mapping[str, _N], name: str) -> _N | None:
    found = index.get(name)
    return found if found is not None else index.get(name.lower())


def format_id(value: int, width: int = 4) -> str:
    """``0x0202``; wider ids keep all their digits (``0x15570003``); commands use width 2."""
    if value < 0:
        raise ValueError(f"a Matter id is not negative: {value}")
    return f"0x{value:0{width}x}"


def cluster(cluster_id: int) -> MatterCluster | None:
    """The catalogue's cluster, or None for ids the SDK does not know (vendor-specific ones)."""
    return _catalogue().by_id.get(cluster_id)


def cluster_by_schema_name(name: str) -> MatterCluster | None:
    """By schema name: ``FanControl``, ``matter.FanControl``, ``matter.FanControl@1.4``.

    A capability's ``$id`` path (``/schema-versions/capability/matter.OnOff@1.4``) works too.
    Other namespaces (``aws.``) are not Matter clusters and give None.
    """
    text = name.rsplit("/", 1)[-1].split("@", 1)[0]
    if "." in text:
        namespace, _, text = text.partition(".")
        if namespace.lower() != "matter":
            return None
    return _lookup(_catalogue().by_schema_name, text)


def all_clusters() -> Sequence[MatterCluster]:
    """Every cluster of the SDK, by id."""
    return _catalogue().ordered


def load() -> None:
    """Build the catalogue now (it is otherwise built on first use)."""
    _catalogue()


@dataclass(frozen=True, slots=True)
class _Catalogue:
    by_id: Mapping[int, MatterCluster]
    by_schema_name: Mapping[str, MatterCluster]
    ordered: tuple[MatterCluster, ...]


_built: _Catalogue | None = None
_lock = threading.Lock()


def _catalogue() -> _Catalogue:
    global _built
    if _built is None:
        with _lock:  # two first requests at once must not both pay the import
            if _built is None:
                _built = _build()
    return _built


def _build() -> _Catalogue:
    # Lazily: the cache module needs this module's types.
    from thinghub.integrations import matter_cache

    clusters = matter_cache.read()
    if clusters is None:
        clusters = _from_library()
        matter_cache.write(clusters)
    return _Catalogue(
        by_id=MappingProxyType({c.id: c for c in clusters}),
        by_schema_name=_name_index((c.schema_name, c) for c in clusters),
        ordered=tuple(clusters),
    )


def _from_library() -> list[MatterCluster]:
    """The catalogue read from the SDK's cluster objects (slow: see the module's docstring)."""
    objects = importlib.import_module("chip.clusters.Objects")
    cluster_base = importlib.import_module("chip.clusters.ClusterObjects").Cluster
    writable = _writable_attributes()
    enums = _EnumNames()
    clusters = []
    for class_name in objects.__all__:
        source: Any = getattr(objects, class_name)
        # __all__ also lists Globals, which holds shared types, not a cluster.
        if isinstance(source, type) and issubclass(source, cluster_base):
            clusters.append(_cluster(source, writable, enums))
    clusters.sort(key=lambda c: c.id)
    return clusters


def _cluster(
    source: Any, writability: Mapping[int, Mapping[int, bool]], enums: _EnumNames
) -> MatterCluster:
    cluster_id = int(source.id)
    writable = writability.get(cluster_id)
    attributes: dict[int, MatterAttribute] = {}
    for name, attribute in _members(source, "Attributes"):
        attribute_id = int(attribute.attribute_id)
        attributes[attribute_id] = MatterAttribute(
            id=attribute_id,
            name=name,
            enum=enums.of(attribute.attribute_type.Type),
            # An attribute the writability table does not list is unknown, hence writable.
            writable=True if writable is None else writable.get(attribute_id, True),
        )
    for attribute_id, name in GLOBAL_ATTRIBUTES.items():
        attributes.setdefault(attribute_id, MatterAttribute(attribute_id, name, None, False))
    commands: dict[int, MatterCommand] = {}
    for name, command in _members(source, "Commands"):
        if command.is_client:  # responses (server -> client) share ids with requests
            commands[int(command.command_id)] = MatterCommand(
                int(command.command_id), name, _fields(command, enums)
            )
    events = {
        int(event.event_id): MatterEvent(int(event.event_id), name, _fields(event, enums))
        for name, event in _members(source, "Events")
    }
    return MatterCluster(
        id=cluster_id,
        name=human_name(source.__name__),
        schema_name=source.__name__,
        attributes=_by_id(attributes),
        commands=_by_id(commands),
        events=_by_id(events),
    )


_T = typing.TypeVar("_T")


def _by_id(items: dict[int, _T]) -> Mapping[int, _T]:
    return MappingProxyType(dict(sorted(items.items())))


def _members(source: Any, namespace: str) -> list[tuple[str, Any]]:
    holder = getattr(source, namespace, None)
    if holder is None:
        return []
    return [(name, value) for name, value in vars(holder).items() if isinstance(value, type)]


def _fields(source: Any, enums: _EnumNames) -> Mapping[int, MatterField]:
    fields = {}
    for descriptor in source.descriptor.Fields:
        label: str = descriptor.Label
        # The SDK spells fields lowerCamelCase ("transitionTime"); the spec UpperCamelCase.
        name = label[:1].upper() + label[1:]
        fields[int(descriptor.Tag)] = MatterField(
            int(descriptor.Tag), name, enums.of(descriptor.Type)
        )
    return _by_id(fields)


class _EnumNames:
    """value -> name maps of the SDK's enums, one shared map per enum type."""

    def __init__(self) -> None:
        self._seen: dict[type[enum.Enum], Mapping[int, str]] = {}

    def of(self, declared: Any) -> Mapping[int, str] | None:
        enum_type = _enum_type(declared)
        if enum_type is None:
            return None
        names = self._seen.get(enum_type)
        if names is None:
            names = MappingProxyType(
                {
                    int(member.value): member.name.removeprefix("k")
                    for member in enum_type
                    # Placeholders the SDK maps unknown wire values to, not real values.
                    if not member.name.startswith(("kUnknownEnumValue", "kUnknownPlaceholder"))
                }
            )
            self._seen[enum_type] = names
        return names


def _enum_type(declared: Any) -> type[enum.Enum] | None:
    """The integer enum behind a type, looking through Optional[...] and Nullable unions.

    Lists of enums give None: their values are lists, which a value -> name map cannot name.
    Bitmaps (IntFlag) are not enums: their values are combinations of members.
    """
    if typing.get_origin(declared) is typing.Union:
        inner = [
            arg
            for arg in typing.get_args(declared)
            if arg is not type(None) and getattr(arg, "__name__", "") != "Nullable"
        ]
        return _enum_type(inner[0]) if len(inner) == 1 else None
    if (
        isinstance(declared, type)
        and issubclass(declared, enum.Enum)
        and issubclass(declared, int)
        and not issubclass(declared, enum.Flag)
    ):
        return declared
    return None


def _writable_attributes() -> dict[int, dict[int, bool]]:
    """cluster id -> attribute id -> writable, from the SDK's CHIPClusters.py.

    The file is parsed, not imported: importing it needs ``chip.exceptions`` and ctypes
    callbacks from the native controller package, which is not installed. Any surprise in
    its shape leaves writability unknown (True) rather than failing the catalogue.
    """
    spec = importlib.util.find_spec("chip.clusters.CHIPClusters")
    if spec is None or spec.origin is None:
        return {}
    try:
        with open(spec.origin, encoding="utf-8") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[int, dict[int, bool]] = {}
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id.endswith("_CLUSTER_INFO")
        ):
            continue
        try:
            info = ast.literal_eval(node.value)
            found[int(info["clusterId"])] = {
                int(attribute_id): bool(attribute.get("writable", False))
                for attribute_id, attribute in info["attributes"].items()
            }
        except (ValueError, TypeError, KeyError, AttributeError, SyntaxError):
            continue
    return found


# Words the Matter specification spells differently from a split class name.
_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "And": "and",
        "Av": "AV",
        "Co": "CO",
        "Evse": "EVSE",
        "Hepa": "HEPA",
        "Icd": "ICD",
        "Mei": "MEI",
        "Ota": "OTA",
        "Pm1": "PM1",
        "Pm10": "PM10",
        "Pm25": "PM2.5",
        "Rvc": "RVC",
        "Tls": "TLS",
    }
)
_PHRASES: tuple[tuple[str, str], ...] = (
    ("On Off", "On/Off"),
    ("Wi Fi", "Wi-Fi"),
    ("Web RTC", "WebRTC"),
    ("Wake On Lan", "Wake on LAN"),
)
# An acronym run ("RTC" in "WebRTCTransport"), or a capitalised word with trailing digits.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z]*\d*|[a-z]+\d*|\d+")


def human_name(schema_name: str) -> str:
    """``FanControl`` -> ``Fan Control``; ``OnOff`` -> ``On/Off`` as the spec spells it."""
    words = [_WORDS.get(word, word) for word in _WORD.findall(schema_name)]
    text = " ".join(words) or schema_name
    for split, spelled in _PHRASES:
        text = re.sub(rf"\b{split}\b", spelled, text)
    return text
