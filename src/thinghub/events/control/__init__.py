"""The `iotevents` control plane: inputs, detector models, alarm models, analysis, logging
options, tags."""

from __future__ import annotations

from thinghub.api import Handlers
from thinghub.events.control import (
    alarm_models,
    analysis,
    detector_models,
    inputs,
    logging_options,
    routing,
    tags,
)


def register(handlers: Handlers) -> None:
    """Register every control-plane handler."""
    for module in (
        inputs,
        detector_models,
        alarm_models,
        routing,
        analysis,
        logging_options,
        tags,
    ):
        module.register(handlers)
