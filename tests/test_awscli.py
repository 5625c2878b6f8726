"""The AWS CLI, unmodified, against thinghub with --endpoint-url: one call per API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.conftest import RunningServer
from thinghub.wire.models import models_path

LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:c"


def _aws(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_DATA_PATH": str(models_path()),
        "AWS_PAGER": "",
    }
    aws = shutil.which("aws")
    command = [aws] if aws else [sys.executable, "-m", "awscli"]
    return subprocess.run(
        [*command, *args, "--endpoint-url", server.url, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_creates_and_lists_cloud_connectors(server: RunningServer) -> None:
    created = _aws(
        server,
        "iot-managed-integrations",
        "create-cloud-connector",
        "--name",
        "cli connector",
        "--endpoint-config",
        json.dumps({"lambda": {"arn": LAMBDA}}),
    )
    assert created.returncode == 0, created.stderr
    connector_id = json.loads(created.stdout)["Id"]
    listed = _aws(
        server, "iot-managed-integrations", "list-cloud-connectors", "--max-results", "1000"
    )
    assert listed.returncode == 0, listed.stderr
    assert connector_id in [item["Id"] for item in json.loads(listed.stdout)["Items"]]


def test_cli_creates_and_lists_iot_events_inputs(server: RunningServer) -> None:
    created = _aws(
        server,
        "iotevents",
        "create-input",
        "--input-name",
        "CliInput",
        "--input-definition",
        json.dumps({"attributes": [{"jsonPath": "value"}]}),
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["inputConfiguration"]["status"] == "ACTIVE"
    listed = _aws(server, "iotevents", "list-inputs")
    assert listed.returncode == 0, listed.stderr
    assert "CliInput" in [i["inputName"] for i in json.loads(listed.stdout)["inputSummaries"]]


def test_cli_puts_messages_through_iot_events_data(server: RunningServer) -> None:
    message = {"messageId": "cli1", "inputName": "NoSuchCliInput", "payload": "{}"}
    result = _aws(
        server, "iotevents-data", "batch-put-message", "--messages", json.dumps([message])
    )
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)["BatchPutMessageErrorEntries"]
    assert (entry["messageId"], entry["errorCode"]) == ("cli1", "ResourceNotFoundException")


def test_cli_reports_errors_as_aws_does(server: RunningServer) -> None:
    result = _aws(server, "iotevents", "describe-detector-model", "--detector-model-name", "nope")
    assert result.returncode != 0
    assert "An error occurred (ResourceNotFoundException) when calling the " in result.stderr


def test_cli_validation_error_names_the_member(server: RunningServer) -> None:
    result = _aws(server, "iotevents", "list-inputs", "--max-results", "900")
    assert result.returncode != 0
    assert "InvalidRequestException" in result.stderr
    assert "'maxResults'" in result.stderr
