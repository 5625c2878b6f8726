"""A restart loses nothing, on the embedded SQLite default and on PostgreSQL."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_client, start_server
from tests.databases import BACKENDS, fresh_database

LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:persisted"


@pytest.mark.parametrize("backend", BACKENDS)
def test_resources_survive_a_sigterm_restart(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url:
        args = () if backend == "sqlite" else ("--database", url)
        running = start_server(tmp_path, *args)
        mi = make_client(running, "iot-managed-integrations")
        created = [
            mi.create_cloud_connector(Name=f"c{i}", EndpointConfig={"lambda": {"arn": LAMBDA}})[
                "Id"
            ]
            for i in range(5)
        ]
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(15) == 0

        restarted = start_server(tmp_path, *args)
        try:
            mi = make_client(restarted, "iot-managed-integrations")
            listed = mi.list_cloud_connectors(MaxResults=100)["Items"]
            assert [item["Id"] for item in listed] == created
        finally:
            restarted.stop()


def test_requests_in_flight_finish_before_shutdown(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    mi = make_client(running, "iot-managed-integrations")
    answers: list[Any] = []
    errors: list[BaseException] = []

    def create_many() -> None:
        try:
            for i in range(40):
                answers.append(
                    mi.create_cloud_connector(
                        Name=f"busy{i}", EndpointConfig={"lambda": {"arn": LAMBDA}}
                    )["Id"]
                )
        except Exception as exc:  # the server going away mid-run is expected
            errors.append(exc)

    worker = threading.Thread(target=create_many)
    worker.start()
    while len(answers) < 5 and worker.is_alive():
        time.sleep(0.01)
    running.process.send_signal(signal.SIGTERM)
    worker.join(30)
    assert running.process.wait(15) == 0
    assert answers, errors

    restarted = start_server(tmp_path)
    try:
        mi = make_client(restarted, "iot-managed-integrations")
        stored = {item["Id"] for item in mi.list_cloud_connectors(MaxResults=1000)["Items"]}
        # Every connector whose creation was answered is there.
        assert set(answers) <= stored
    finally:
        restarted.stop()
