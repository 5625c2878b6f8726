"""`thinghub serve` under cProfile, switched on and off by signals (for bench/device_events.py).

Usage: python bench/profiled_serve.py OUTPUT [serve options...]

SIGUSR1 starts profiling the server's main thread (the event loop, where the synchronous
handlers run), SIGUSR2 stops it and writes the statistics gathered so far to OUTPUT (pstats
format); profiling again adds to them. So only the measured part of a run is profiled, not the
set-up before it.
"""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType

from thinghub.cli import main


def run(output: str, serve_args: list[str]) -> None:
    profiler = cProfile.Profile()

    def start(signum: int, frame: FrameType | None) -> None:
        profiler.enable()

    def stop(signum: int, frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(output)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["thinghub", "serve", *serve_args]
    main()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    run(sys.argv[1], sys.argv[2:])
