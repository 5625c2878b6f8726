"""The demo's live log: one timestamped line per thing that flows somewhere.

```
12:00:05  thinghub → connector → acme  SendCommand              Bedroom Fan  FanMode = 3
12:00:05  acme → connector → thinghub  DEVICE_COMMAND_RESPONSE  Bedroom Fan  FanMode = High
12:00:07  world → acme                 measured                 Porch        temperature = 14.7
12:00:07  acme → connector → thinghub  DEVICE_EVENT             Porch        MeasuredValue = 14.70
```

Lines are never wrapped, so the log stays greppable in a pipe (``thinghub demo | grep Fan``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

# Each party of a flow in its own colour.
PARTIES = {
    "you": "bold cyan",
    "thinghub": "bold magenta",
    "connector": "bold yellow",
    "acme": "bold green",
    "world": "bold blue",
    "DEVICE_EVENT": "bold magenta",  # thinghub's notification records, into IoT Events
    "timer": "bold magenta",
    "detector": "bold red",
    "alarm": "bold red",
    "fan-high": "bold yellow",  # the too-hot detector's local function
}
ARROW = " → "
PATH_WIDTH = 28
KIND_WIDTH = 24
THING_WIDTH = 19


class LiveLog:
    def __init__(self, *, color: bool = True, quiet: bool = False) -> None:
        self.console = Console(highlight=False, no_color=not color, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False, no_color=not color, soft_wrap=True)
        if not self.console.is_terminal:
            # A pipe or a file has no width: keep tables from squeezing ids.
            self.console.width = 160
        self.quiet = quiet  # set-up steps and the look-around only, no live lines

    # ----- set-up -----------------------------------------------------------------------------

    def heading(self, text: str) -> None:
        self.console.print()
        self.console.print(Text(text, style="bold"))

    def step(self, text: str) -> None:
        self.console.print(Text.assemble(_clock(), "  ", ("•", "cyan"), " ", text))

    def done(self, text: str) -> None:
        self.console.print(Text.assemble(_clock(), "  ", ("✓", "bold green"), " ", text))

    def warn(self, text: str) -> None:
        self.console.print(Text.assemble(_clock(), "  ", ("!", "bold yellow"), " ", text))

    def error(self, text: str) -> None:
        self.errors.print(Text.assemble(("thinghub demo: ", "bold red"), text))

    def block(self, title: str, body: Text) -> None:
        """A titled block of text, unframed so that its commands copy and paste cleanly."""
        self.console.print()
        self.console.print(Rule(title, align="left", style="cyan"))
        self.console.print(body)
        self.console.print(Rule(style="cyan"))

    def table(
        self, title: str, columns: Iterable[str], rows: Iterable[Iterable[str]], *, keep: int = -1
    ) -> None:
        """A table; column `keep` (say, ids to copy) is never shortened."""
        table = Table(title=title, title_justify="left", title_style="bold", expand=False)
        for index, column in enumerate(columns):
            table.add_column(column, no_wrap=index == keep, min_width=32 if index == keep else None)
        for row in rows:
            table.add_row(*row)
        self.console.print(table)

    # ----- the live log -----------------------------------------------------------------------

    def flow(self, path: str, kind: str, thing: str, detail: str, *, failed: bool = False) -> None:
        """One line: who sent what to whom, about which thing."""
        if self.quiet:
            return
        line = Text.assemble(
            _clock(), "  ", _path(path), "  ", (kind.ljust(KIND_WIDTH), "bold"), "  "
        )
        line.append(thing.ljust(THING_WIDTH), style="cyan")
        line.append("  ")
        line.append(detail, style="red" if failed else "")
        self.console.print(line)


def _clock() -> Text:
    return Text(datetime.datetime.now().strftime("%H:%M:%S"), style="dim")


def _path(path: str) -> Text:
    text = Text()
    for index, party in enumerate(path.split(ARROW)):
        if index:
            text.append(ARROW, style="dim")
        text.append(party, style=PARTIES.get(party, "bold"))
    text.pad_right(max(0, PATH_WIDTH - len(text)))
    return text
