"""Load the three service models thinghub serves.

`iot-managed-integrations` comes from the installed botocore; `iotevents` and `iotevents-data`
come from the copies shipped in `thinghub/data/models` (botocore no longer carries them).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from botocore.loaders import Loader
from botocore.model import ServiceModel

MODELS_DIR = Path(__file__).resolve().parent.parent / "data" / "models"

# boto3 service name of each API thinghub serves, in a stable order.
SERVICE_NAMES: tuple[str, ...] = ("iot-managed-integrations", "iotevents", "iotevents-data")


def models_path() -> Path:
    """The directory to put on AWS_DATA_PATH so stock boto3 can build the IoT Events clients."""
    return MODELS_DIR


@cache
def _loader() -> Loader:
    # Our own directory first, so the shipped IoT Events models are found whatever botocore has.
    return Loader(extra_search_paths=[str(MODELS_DIR)])


def load_service_model(service_name: str) -> ServiceModel:
    """One service model by its boto3 name."""
    data = _loader().load_service_model(service_name, "service-2")
    return ServiceModel(data, service_name=service_name)


def load_service_models() -> dict[str, ServiceModel]:
    """All served models, keyed by SigV4 signing name (how a request names its service)."""
    models = (load_service_model(name) for name in SERVICE_NAMES)
    return {model.signing_name: model for model in models}
