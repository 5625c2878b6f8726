"""The `iotevents` control plane: inputs, detector models, analysis, logging options, tags.

Alarm models are not handled here (yet): their operations answer UnsupportedOperationException.
"""

from __future__ import annotations

from thinghub.api import Handlers
from thinghub.events.control import (
    analysis,
    detector_models,
    inputs,
    logging_options,
    routing,
    tags,
)


def register(handlers: Handlers) -> None:
    """Register every control-plane handler."""
    for module in (inputs, detector_models, routing, analysis, logging_options, tags):
        module.register(handlers)
