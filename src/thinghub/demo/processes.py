"""The demo's child processes: thinghub, the Acme cloud and the connector's webhook receiver.

Each runs as its own process, as a user would run it, with its output in a log file. Each
prints ``<name> listening on <URL>`` once it listens; the demo reads that line from the log.
Children get their own session, so a Ctrl-C in the terminal reaches only the demo, which then
stops them in order.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from thinghub.demo.workspace import DemoError

START_TIMEOUT = 60.0  # a loaded machine may take a while to import and compile models


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (each child shuts down gracefully on it), then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self) -> bool:
        return self.process.poll() is None

    def last_lines(self, count: int = 8) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-count:])


def start(
    name: str,
    args: Sequence[str],
    *,
    log: Path,
    cwd: Path,
    env: Mapping[str, str],
    banner: str,
    health: str | None = None,
    timeout: float = START_TIMEOUT,
) -> Child:
    """Start ``python <args>``; return once it printed ``<banner> <URL>`` and, with `health`,
    ``GET <URL><health>`` answers 200."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**env, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    child = Child(name, process, log)
    try:
        child.url = _wait_for_banner(child, banner, time.monotonic() + timeout)
        if health is not None:
            _wait_for_health(child, child.url + health, time.monotonic() + timeout)
    except BaseException:
        child.stop(timeout=2)
        raise
    return child


def _wait_for_banner(child: Child, banner: str, deadline: float) -> str:
    prefix = banner + " "
    while True:
        try:
            text = child.log.read_text(errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        if not child.alive():
            raise DemoError(f"{child.name} exited at start:\n{child.last_lines()}")
        if time.monotonic() > deadline:
            raise DemoError(f"{child.name} did not start in time:\n{child.last_lines()}")
        time.sleep(0.05)


def _wait_for_health(child: Child, url: str, deadline: float) -> None:
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if not child.alive():
            raise DemoError(f"{child.name} exited at start:\n{child.last_lines()}")
        if time.monotonic() > deadline:
            raise DemoError(f"{child.name} never became healthy:\n{child.last_lines()}")
        time.sleep(0.05)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for a process whose URL must be known before it
    starts; the window in which another program could take it is a few hundred ms)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def base_environment() -> dict[str, str]:
    """The demo's environment without settings that would send the children's AWS calls
    elsewhere or change how the connector behaves."""
    dropped = {
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS",
        "ACME_EVENT_MODE",
        "ACME_CONNECTOR_ID",
    }
    return {key: value for key, value in os.environ.items() if key not in dropped}
