"""What the control plane stores: resource kinds, ARNs and index fields."""

from __future__ import annotations

from thinghub.store import Scope, arn

SERVICE = "iotevents"

INPUT = "iotevents-input"
DETECTOR_MODEL = "iotevents-detector-model"
DETECTOR_MODEL_VERSION = "iotevents-detector-model-version"
ALARM_MODEL = "iotevents-alarm-model"
ALARM_MODEL_VERSION = "iotevents-alarm-model-version"
ANALYSIS = "iotevents-analysis"
LOGGING_OPTIONS = "iotevents-logging-options"

# Index field on every resource that routes inputs: one entry per input name it routes.
ROUTES = "routes"
# Index field on a detector (or alarm) model version: the model's name, to list its versions.
MODEL = "model"

# ListTagsForResource & co. accept any stored resource whose ARN is an IoT Events ARN.
ARN_PREFIX = "arn:aws:iotevents:"


def input_arn(scope: Scope, name: str) -> str:
    return arn(SERVICE, scope.region, scope.account_id, f"input/{name}")


def detector_model_arn(scope: Scope, name: str) -> str:
    return arn(SERVICE, scope.region, scope.account_id, f"detectorModel/{name}")


def alarm_model_arn(scope: Scope, name: str) -> str:
    return arn(SERVICE, scope.region, scope.account_id, f"alarmModel/{name}")


def version_id(model_name: str, version: str) -> str:
    # Model names cannot contain '/', so the pair stays unambiguous.
    return f"{model_name}/{version}"
