"""What an expression reads at run time, and a plain implementation of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Evaluation", "SimpleEvaluation"]


class Evaluation(Protocol):
    """The run-time side of one evaluation (one trigger in one detector instance).

    `inputs` maps an input name to the last payload received on it (as `parse_payload` decodes
    it); `variables` maps a name to an int, Decimal (or float), str or bool.
    """

    @property
    def inputs(self) -> Mapping[str, Any]: ...

    @property
    def variables(self) -> Mapping[str, Any]: ...

    @property
    def trigger_type(self) -> str:
        """Either "Message" or "Timer"."""
        ...

    @property
    def current_input(self) -> str | None:
        """The input of the current message trigger; None for a timer trigger."""
        ...

    def timeout(self, timer_name: str) -> bool:
        """The one-shot check of `timeout("name")`: the runtime decides what "consumed" means."""
        ...


@dataclass
class SimpleEvaluation:
    """An Evaluation over plain dicts; `timeout()` is true once per name in `expired_timers`."""

    inputs: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    trigger_type: str = "Message"
    current_input: str | None = None
    expired_timers: set[str] = field(default_factory=set)

    def timeout(self, timer_name: str) -> bool:
        if timer_name in self.expired_timers:
            self.expired_timers.discard(timer_name)
            return True
        return False
