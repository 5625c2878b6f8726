"""`thinghub serve` as a process: its banner, its clock, its shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer, start_server
from thinghub.wire.models import models_path


def test_banner_prints_endpoint_then_credentials(server: RunningServer) -> None:
    endpoint, credentials = server.banner
    assert endpoint.startswith("thinghub listening on http://127.0.0.1:")
    assert "AWS_ACCESS_KEY_ID=test" in credentials and "AWS_SECRET_ACCESS_KEY=test" in credentials
    assert "000000000000" in credentials


def test_port_zero_picks_a_free_port(server: RunningServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    assert port > 0


def test_default_database_is_sqlite_in_the_data_dir(server: RunningServer) -> None:
    assert (server.data_dir / "thinghub.db").exists()


def test_manual_clock_advances_on_request(server: RunningServer) -> None:
    before = httpx.get(f"{server.url}/_thinghub/clock").json()["epochSeconds"]
    answer = httpx.post(f"{server.url}/_thinghub/clock", json={"advanceSeconds": 300})
    assert answer.status_code == 200
    assert answer.json()["epochSeconds"] == pytest.approx(before + 300)
    assert answer.json()["time"].endswith("Z")


@pytest.mark.parametrize("body", [{}, {"advanceSeconds": -1}, {"advanceSeconds": "5"}])
def test_manual_clock_rejects_bad_advances(server: RunningServer, body: object) -> None:
    answer = httpx.post(f"{server.url}/_thinghub/clock", json=body)
    assert answer.status_code == 400
    assert "advanceSeconds" in answer.json()["message"]


def test_system_clock_has_no_clock_endpoint(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    try:
        assert (
            httpx.post(f"{running.url}/_thinghub/clock", json={"advanceSeconds": 1}).status_code
            == 404
        )
        assert httpx.get(f"{running.url}/_thinghub/health").json()["clock"] == "system"
    finally:
        running.stop()


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    running = start_server(tmp_path)
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(15) == 0


def test_bad_config_file_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[identities]]\naccess_key = "k"\n')
    result = subprocess.run(
        [sys.executable, "-m", "thinghub", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "lacks secret_key" in result.stderr


def test_models_path_command_prints_the_shipped_models() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "thinghub", "models-path"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    path = Path(result.stdout.strip())
    assert path == models_path()
    assert (path / "iotevents" / "2018-07-27" / "service-2.json").exists()
    assert (path / "iotevents-data" / "2018-10-23" / "service-2.json").exists()


def test_models_path_lets_stock_boto3_build_iot_events_clients() -> None:
    script = (
        "import boto3; s = boto3.session.Session(region_name='us-east-1');"
        "print(s.client('iotevents').meta.service_model.api_version,"
        " s.client('iotevents-data').meta.service_model.api_version)"
    )
    env = {
        "AWS_DATA_PATH": str(models_path()),
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["2018-07-27", "2018-10-23"], result.stderr
