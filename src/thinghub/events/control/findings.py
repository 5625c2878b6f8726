"""Analysis findings and where in a definition they point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR, WARNING, INFO = "ERROR", "WARNING", "INFO"


@dataclass(frozen=True, slots=True)
class Location:
    """A field of a definition, addressed two ways.

    `path` is AWS's analysis form, by position (`states[0].onInput.events[1].condition`);
    `named` is for error messages, by state and event name where there is one
    (`states[Normal].onInput.events[Overpressurized].condition`).
    """

    path: str = ""
    named: str = ""

    def member(self, name: str) -> Location:
        if not self.path:
            return Location(name, name)
        return Location(f"{self.path}.{name}", f"{self.named}.{name}")

    def item(self, index: int, name: str | None = None) -> Location:
        return Location(f"{self.path}[{index}]", f"{self.named}[{name or index}]")


@dataclass(frozen=True, slots=True)
class Finding:
    """One analysis result: `type` and `level` as AWS names them, and an explanation.

    `reason`, when set, is the shorter text used in InvalidRequestException messages (which
    name the field themselves); otherwise `message` is used.
    """

    type: str
    level: str
    message: str
    where: Location | None = None
    reason: str | None = None

    def result(self) -> dict[str, Any]:
        """The `AnalysisResult` shape."""
        return {
            "type": self.type,
            "level": self.level,
            "message": self.message,
            "locations": [] if self.where is None else [{"path": self.where.path}],
        }

    def problem(self) -> str:
        """The finding as one line of an InvalidRequestException message."""
        text = self.reason or self.message
        return text if self.where is None else f"{self.where.named}: {text}"
