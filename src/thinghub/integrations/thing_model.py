"""One managed thing's two data models side by side (spec 6): what customers address by name
(endpoints -> capabilities -> properties/actions/events) and what connectors address by id
(endpoints -> clusters -> attributes/commands/events).

Every capability of the thing's CapabilityReport is bound to a Matter cluster: through the
connector's Matter report when the thing came from a discovered device (its clusters convert
to the capabilities in order), else through the capability id (``matter.FanControl@1.4`` ->
the Fan Control cluster of the catalogue). Names come from the catalogue; a vendor-specific id
(above 0xFFFF) or an id the catalogue does not know passes through as its hex string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from thinghub.integrations import capabilities, matter
from thinghub.integrations.errors import invalid
from thinghub.store import Resource
from thinghub.store.device_state import PropertyValue, Reported

UPDATE_STATE = "UpdateState"
READ_STATE = "ReadState"
# AWS's pseudo-command for attribute writes (spec 6.3 and 11.3): {"0xff01": {attrId: value}}.
WRITE_ATTRIBUTES = 0xFF01
ALL_PROPERTIES = "*"

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_DECIMAL = re.compile(r"-?[0-9]+")


@dataclass(frozen=True, slots=True)
class Binding:
    """One capability of one endpoint and the cluster behind it."""

    endpoint_id: str
    capability: Mapping[str, Any]  # the CapabilityReport entry: id, name, version, ...
    cluster_id: int
    cluster: matter.MatterCluster | None  # None: not in the catalogue (vendor-specific)

    @property
    def capability_id(self) -> str:
        return str(self.capability["id"])

    def property_name(self, attribute_id: int) -> str:
        attribute = self.cluster.attributes.get(attribute_id) if self.cluster else None
        return attribute.name if attribute else matter.format_id(attribute_id)

    def attribute(self, attribute_id: int) -> matter.MatterAttribute | None:
        return self.cluster.attributes.get(attribute_id) if self.cluster else None

    def attribute_id(self, name: str) -> int | None:
        """The attribute a property name (or a hex/decimal id) names."""
        if self.cluster is not None:
            found = self.cluster.attribute_by_name(name)
            if found is not None:
                return found.id
        return _raw_id(name)

    def event_name(self, event_id: int) -> str:
        event = self.cluster.events.get(event_id) if self.cluster else None
        return event.name if event else matter.format_id(event_id)

    def command_name(self, command_id: int) -> str:
        command = self.cluster.commands.get(command_id) if self.cluster else None
        return command.name if command else matter.format_id(command_id, 2)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.capability_id,
            "name": self.capability.get("name") or self.capability_id,
            "version": str(self.capability.get("version") or "1"),
        }


def _raw_id(text: str) -> int | None:
    if _HEX.fullmatch(text):
        return int(text, 16)
    if _DECIMAL.fullmatch(text):
        return int(text)
    return None


def _bare(capability_id: str) -> str:
    return capability_id.split("@", 1)[0]


class ThingModel:
    """The bindings of one managed thing, built from its stored attributes."""

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        self._by_endpoint: dict[str, list[Binding]] = {}
        self._by_cluster: dict[tuple[str, int], Binding] = {}
        report = attrs.get("CapabilityReport") or {}
        matter_report = attrs.get("MatterCapabilityReport")
        given = {
            endpoint["id"]: {c["id"]: c for c in endpoint.get("capabilities", [])}
            for endpoint in report.get("endpoints", [])
        }
        if matter_report:
            converted = capabilities.to_capability_report(matter_report)
            for endpoint, converted_endpoint in zip(
                matter_report.get("endpoints", []), converted["endpoints"], strict=True
            ):
                customer = given.get(endpoint["id"], {})
                for cluster, capability in zip(
                    endpoint.get("clusters", []), converted_endpoint["capabilities"], strict=True
                ):
                    # The customer's report (UpdateManagedThing) wins for names it gives.
                    chosen = customer.get(capability["id"], capability)
                    self._add(endpoint["id"], chosen, capabilities.matter_id(cluster["id"]))
        for endpoint_id, entries in given.items():
            for capability_id, capability in entries.items():
                if any(b.capability_id == capability_id for b in self.bindings(endpoint_id)):
                    continue
                cluster = matter.cluster_by_schema_name(capability_id)
                if cluster is not None:
                    self._add(endpoint_id, capability, cluster.id)

    def _add(self, endpoint_id: str, capability: Mapping[str, Any], cluster_id: int) -> None:
        binding = Binding(endpoint_id, capability, cluster_id, matter.cluster(cluster_id))
        self._by_endpoint.setdefault(endpoint_id, []).append(binding)
        self._by_cluster.setdefault((endpoint_id, cluster_id), binding)

    @property
    def endpoint_ids(self) -> list[str]:
        return list(self._by_endpoint)

    def bindings(self, endpoint_id: str) -> list[Binding]:
        return self._by_endpoint.get(endpoint_id, [])

    def by_cluster(self, endpoint_id: str, cluster_id: int) -> Binding:
        """The capability of a reported cluster; one made up from the catalogue (or the bare
        id) when the thing's report does not list it, so no reported value is lost."""
        found = self._by_cluster.get((endpoint_id, cluster_id))
        if found is not None:
            return found
        cluster = matter.cluster(cluster_id)
        if cluster is not None:
            capability = {
                "id": f"matter.{cluster.schema_name}@{capabilities.DEFAULT_SPEC_VERSION}",
                "name": cluster.name,
                "version": "1",
            }
        else:
            hex_id = matter.format_id(cluster_id)
            capability = {"id": f"matter.Cluster{hex_id}@$latest", "name": hex_id, "version": "1"}
        return Binding(endpoint_id, capability, cluster_id, cluster)

    def capability(self, endpoint_id: str, capability_id: str) -> Binding | None:
        """A command's capability: by exact id, or by id without (or with ``@$latest``) the
        version (the documentation's examples leave it out; spec 11.16)."""
        candidates = self.bindings(endpoint_id)
        for binding in candidates:
            if binding.capability_id == capability_id:
                return binding
        if "@" not in capability_id or capability_id.endswith("@$latest"):
            wanted = _bare(capability_id)
            for binding in candidates:
                if _bare(binding.capability_id) == wanted:
                    return binding
        return None


_MODELS: dict[tuple[str, int], ThingModel] = {}
_MODELS_MAX = 4096


def model_of(thing: Resource) -> ThingModel:
    """The thing's model, built once per version of the thing (its reports only change with
    UpdateManagedThing, which bumps the version); device events read it on every message."""
    key = (thing.arn or thing.id, thing.version)  # the ARN names account and region too
    model = _MODELS.get(key)
    if model is None:
        if len(_MODELS) >= _MODELS_MAX:
            _MODELS.clear()  # crude, but bounded; rebuilding is cheap next to a leak
        model = _MODELS[key] = ThingModel(thing.attrs)
    return model


# ----- connector -> customer ------------------------------------------------------------------


def reported_values(matter_endpoint: Mapping[str, Any]) -> list[Reported]:
    """The attribute values of a MatterEndpoint, either form of spec 5.5: a map
    ``{attrId: value}`` or a list of single-key maps (merged)."""
    endpoint_id = str(matter_endpoint["id"])
    values: list[Reported] = []
    for cluster in matter_endpoint.get("clusters", []):
        cluster_id = capabilities.matter_id(str(cluster["id"]))
        for attribute, value in _attribute_items(cluster.get("attributes"), cluster_id):
            values.append(Reported(endpoint_id, cluster_id, attribute, value))
    return values


def discovered_values(matter_report: Mapping[str, Any]) -> list[Reported]:
    """The attribute values a discovery's capability report carries (its list form,
    ``{"id", "value"}``): the device's state when it was found."""
    values: list[Reported] = []
    for endpoint in matter_report.get("endpoints", []):
        for cluster in endpoint.get("clusters", []):
            cluster_id = capabilities.matter_id(str(cluster["id"]))
            binding_cluster = matter.cluster(cluster_id)
            for attribute in cluster.get("attributes", []):
                attribute_id = _raw_id(str(attribute.get("id", "")))
                if attribute_id is None or "value" not in attribute:
                    continue
                known = binding_cluster.attributes.get(attribute_id) if binding_cluster else None
                value = _enum_number(known, attribute["value"])
                values.append(Reported(str(endpoint["id"]), cluster_id, attribute_id, value))
    return values


def _attribute_items(document: Any, cluster_id: int) -> Iterable[tuple[int, Any]]:
    if document is None:
        return []
    where = f"cluster {matter.format_id(cluster_id)}"
    if isinstance(document, list):
        merged: dict[str, Any] = {}
        for entry in document:
            if not isinstance(entry, dict):
                raise invalid(f"MatterEndpoint {where}: attributes must be a map or maps")
            merged.update(entry)
        document = merged
    if not isinstance(document, dict):
        raise invalid(f"MatterEndpoint {where}: attributes must be a map of id to value")
    items = []
    for key, value in document.items():
        attribute = _raw_id(str(key).strip())
        if attribute is None or attribute < 0:
            raise invalid(f"MatterEndpoint {where}: {key!r} is not an attribute id")
        items.append((attribute, value))
    return items


def _enum_number(attribute: matter.MatterAttribute | None, value: Any) -> Any:
    """An enum attribute reported as text (``"3"``, the documentation's example) is a number."""
    if (
        attribute is not None
        and attribute.enum
        and isinstance(value, str)
        and _DECIMAL.fullmatch(value.strip())
    ):
        return int(value.strip())
    return value


def _enum_by_name(enum: Mapping[int, str] | None, value: Any) -> Any:
    """An enum value written by its name (FanMode "High" -> 3); anything else as it is."""
    if not enum or not isinstance(value, str):
        return value
    by_name = {label.lower(): number for number, label in enum.items()}
    return by_name.get(value.lower(), value)


def normalized_values(model: ThingModel, matter_endpoint: Mapping[str, Any]) -> list[Reported]:
    """A MatterEndpoint's attribute values as they are stored (enum text as numbers)."""
    return [
        Reported(
            value.endpoint_id,
            value.cluster_id,
            value.attribute_id,
            _enum_number(
                model.by_cluster(value.endpoint_id, value.cluster_id).attribute(value.attribute_id),
                value.value,
            ),
        )
        for value in reported_values(matter_endpoint)
    ]


def property_document(
    binding: Binding, attribute_id: int, value: Any, changed_at: str
) -> dict[str, Any]:
    """A property as GetManagedThingState and the records show it (spec 6.5)."""
    attribute = binding.attribute(attribute_id)
    document: dict[str, Any] = {
        "value": value,
        "lastChangedAt": changed_at,
        "mutable": attribute.writable if attribute else True,
        "retrievable": True,
        "reportable": True,
    }
    if attribute is not None and attribute.enum and isinstance(value, int):
        name = attribute.enum.get(value)
        if name is not None:
            document["valueName"] = name  # FanMode 3 -> "High"
    return document


def customer_endpoints(
    model: ThingModel, values: Iterable[PropertyValue], timestamp: Any
) -> list[dict[str, Any]]:
    """Stored properties as customer-model endpoints; `timestamp` formats epoch seconds."""
    endpoints: dict[str, dict[str, dict[str, Any]]] = {}
    for value in values:
        binding = model.by_cluster(value.endpoint_id, value.cluster_id)
        capabilities_of = endpoints.setdefault(value.endpoint_id, {})
        entry = capabilities_of.setdefault(
            binding.capability_id, {**binding.summary(), "properties": {}}
        )
        entry["properties"][binding.property_name(value.attribute_id)] = property_document(
            binding, value.attribute_id, value.value, timestamp(value.changed_at)
        )
    return [
        {"endpointId": endpoint_id, "capabilities": list(capabilities_of.values())}
        for endpoint_id, capabilities_of in endpoints.items()
    ]


def customer_events(model: ThingModel, matter_endpoint: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of a MatterEndpoint by name, fields by name (spec 6.3 event form)."""
    endpoint_id = str(matter_endpoint["id"])
    found: list[dict[str, Any]] = []
    for cluster in matter_endpoint.get("clusters", []):
        events = cluster.get("events") or {}
        if not events:
            continue
        binding = model.by_cluster(endpoint_id, capabilities.matter_id(str(cluster["id"])))
        for event_key, fields in events.items():
            event_id = _raw_id(str(event_key))
            if event_id is None:
                raise invalid(f"MatterEndpoint: {event_key!r} is not an event id")
            event = binding.cluster.events.get(event_id) if binding.cluster else None
            found.append(
                {
                    "capabilityId": binding.capability_id,
                    "name": binding.event_name(event_id),
                    "parameters": _named_fields(event.fields if event else {}, fields),
                }
            )
    return found


def _named_fields(known: Mapping[int, matter.MatterField], fields: Any) -> Any:
    if not isinstance(fields, dict):
        return fields
    named: dict[str, Any] = {}
    for key, value in fields.items():
        field_id = _raw_id(str(key))
        field = known.get(field_id) if field_id is not None else None
        named[field.name if field else str(key)] = value
    return named


# ----- customer -> connector ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Translated:
    """A SendManagedThingCommand in the Matter model, and what it reads from stored state."""

    matter_endpoints: list[dict[str, Any]]  # for AWS.SendCommand; empty: nothing to send
    reads: list[tuple[Binding, list[str] | None]]  # ReadState: properties (None = all)


def translate(model: ThingModel, endpoints: list[dict[str, Any]]) -> Translated:
    """Validate a command against the thing's capabilities and translate it (spec 3.8, 6.3);
    ValidationException naming what is wrong."""
    matter_endpoints: list[dict[str, Any]] = []
    reads: list[tuple[Binding, list[str] | None]] = []
    for endpoint in endpoints:
        endpoint_id = endpoint["endpointId"]
        if not model.bindings(endpoint_id):
            known = ", ".join(model.endpoint_ids) or "none"
            raise invalid(
                f"Endpoint {endpoint_id} is not an endpoint of the thing (it has {known})"
            )
        clusters: list[dict[str, Any]] = []
        for capability in endpoint["capabilities"]:
            binding = model.capability(endpoint_id, capability["id"])
            if binding is None:
                raise invalid(
                    f"Capability {capability['id']} is not a capability of endpoint {endpoint_id}"
                )
            commands: dict[str, Any] = {}
            for action in capability["actions"]:
                name = action["name"]
                parameters = action.get("parameters") or {}
                if not isinstance(parameters, dict):
                    raise invalid(f"Action {name}: parameters must be a map")
                if name == READ_STATE:
                    reads.append((binding, _properties_to_read(binding, parameters)))
                elif name == UPDATE_STATE:
                    writes = commands.setdefault(matter.format_id(WRITE_ATTRIBUTES, 2), {})
                    writes.update(_attribute_writes(binding, parameters))
                else:
                    command_id, fields = _command(binding, name, parameters)
                    commands[matter.format_id(command_id, 2)] = fields
            if commands:
                clusters.append({"id": matter.format_id(binding.cluster_id), "commands": commands})
        if clusters:
            matter_endpoints.append({"id": endpoint_id, "clusters": clusters})
    return Translated(matter_endpoints, reads)


def _listed(binding: Binding, member: str) -> list[str] | None:
    listed = binding.capability.get(member)
    return None if listed is None else [str(item) for item in listed]


def _attribute_writes(binding: Binding, parameters: dict[str, Any]) -> dict[str, Any]:
    if not parameters:
        raise invalid(f"UpdateState on {binding.capability_id} names no property")
    properties = _listed(binding, "properties")
    writes: dict[str, Any] = {}
    for name, value in parameters.items():
        attribute_id = binding.attribute_id(name)
        if attribute_id is None or (
            properties is not None
            and name not in properties
            and binding.property_name(attribute_id) not in properties
        ):
            raise invalid(f"Property {name} is not a property of {binding.capability_id}")
        attribute = binding.attribute(attribute_id)
        if attribute is not None and not attribute.writable:
            raise invalid(f"Property {name} of {binding.capability_id} is read-only")
        writes[matter.format_id(attribute_id)] = _enum_by_name(
            attribute.enum if attribute else None, value
        )
    return writes


def _properties_to_read(binding: Binding, parameters: dict[str, Any]) -> list[str] | None:
    wanted = parameters.get("propertiesToRead", [ALL_PROPERTIES])
    if not isinstance(wanted, list) or not all(isinstance(n, str) for n in wanted):
        raise invalid("ReadState: propertiesToRead must be a list of property names")
    if ALL_PROPERTIES in wanted:
        return None
    for name in wanted:
        if binding.attribute_id(name) is None:
            raise invalid(f"Property {name} is not a property of {binding.capability_id}")
    return list(wanted)


def _command(binding: Binding, name: str, parameters: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    actions = _listed(binding, "actions")
    command = binding.cluster.command_by_name(name) if binding.cluster else None
    raw = _raw_id(name)
    if command is None and raw is None:
        raise invalid(f"Action {name} is not an action of {binding.capability_id}")
    command_id = command.id if command else raw
    assert command_id is not None
    if (
        actions is not None
        and name not in actions
        and binding.command_name(command_id) not in (actions)
    ):
        raise invalid(f"Action {name} is not an action of {binding.capability_id}")
    fields: dict[str, Any] = {}
    for field_name, value in parameters.items():
        field = command.field_by_name(field_name) if command else None
        field_id = field.id if field else _raw_id(field_name)
        if field_id is None:
            raise invalid(f"Action {name} of {binding.capability_id} has no parameter {field_name}")
        fields[matter.format_id(field_id)] = _enum_by_name(field.enum if field else None, value)
    return command_id, fields
