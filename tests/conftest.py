"""A real `thinghub serve` per test worker, and stock boto3 clients pointed at it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.config
import httpx
import pytest

from thinghub.wire.models import models_path

# Stock boto3 no longer ships the IoT Events models: thinghub's copies make them available.
os.environ["AWS_DATA_PATH"] = str(models_path())
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_name, None)

REGION = "us-east-1"
OTHER_ACCESS_KEY = "other-account-key"
OTHER_SECRET_KEY = "other-account-secret"
OTHER_ACCOUNT = "111111111111"

TEST_CONFIG = f"""
[[identities]]
access_key = "{OTHER_ACCESS_KEY}"
secret_key = "{OTHER_SECRET_KEY}"
account_id = "{OTHER_ACCOUNT}"
"""


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[str]
    data_dir: Path
    banner: list[str]

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)


def start_server(data_dir: Path, *args: str, timeout: float = 30.0) -> RunningServer:
    """Start `thinghub serve --port 0` and wait until it answers its health check."""
    command = [
        sys.executable,
        "-m",
        "thinghub",
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("thinghub listening on "):
        process.kill()
        raise RuntimeError(f"thinghub did not start: {first!r}")
    second = process.stdout.readline().strip()
    url = first.removeprefix("thinghub listening on ")
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/_thinghub/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("thinghub never became healthy")
        time.sleep(0.05)
    return RunningServer(url, process, data_dir, [first, second])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("thinghub")
    config = data_dir / "thinghub.toml"
    config.write_text(TEST_CONFIG)
    running = start_server(data_dir, "--clock", "manual", "--config", str(config))
    yield running
    running.stop()


def make_client(
    server: RunningServer,
    service: str,
    *,
    access_key: str = "test",
    secret_key: str = "test",
    validate: bool = True,
):  # type: ignore[no-untyped-def]
    session = boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION
    )
    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"}, parameter_validation=validate
    )
    return session.client(service, endpoint_url=server.url, config=config)


@pytest.fixture(scope="session")
def mi(server: RunningServer):  # type: ignore[no-untyped-def]
    """A managed integrations client."""
    return make_client(server, "iot-managed-integrations")


@pytest.fixture(scope="session")
def iotevents(server: RunningServer):  # type: ignore[no-untyped-def]
    return make_client(server, "iotevents")


@pytest.fixture(scope="session")
def iotevents_data(server: RunningServer):  # type: ignore[no-untyped-def]
    return make_client(server, "iotevents-data")
