"""IoT Events quotas: AWS's values by default, each settable in `[iotevents.quotas]`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, start_server
from tests.events.test_control_support import (
    advance_clock,
    create_motor_model,
    create_pressure_input,
    error_of,
    motor_definition,
    regional_client,
)
from thinghub.config import ConfigError, Settings
from thinghub.events.control.quotas import DEFAULT_QUOTAS, quotas_of


def test_defaults_are_aws_values() -> None:
    quotas = quotas_of(Settings())
    assert quotas == DEFAULT_QUOTAS
    assert (quotas.states_per_detector_model, quotas.actions_per_event) == (20, 10)
    assert (quotas.definition_bytes, quotas.detector_models_per_input) == (512 * 1024, 10)
    assert quotas.inputs_per_account is None  # adjustable in AWS: unlimited unless configured


def test_configured_values_replace_the_defaults() -> None:
    settings = Settings(raw={"iotevents": {"quotas": {"states_per_detector_model": 40}}})
    assert quotas_of(settings).states_per_detector_model == 40
    assert quotas_of(settings).events_per_state == 20


@pytest.mark.parametrize(
    "section",
    [{"no_such_quota": 1}, {"events_per_state": 0}, {"events_per_state": "many"}],
)
def test_bad_quota_settings_are_refused(section: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        quotas_of(Settings(raw={"iotevents": {"quotas": section}}))


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("quotas")
    config = data_dir / "thinghub.toml"
    config.write_text(
        "[iotevents.quotas]\n"
        "inputs_per_account = 2\n"
        "detector_models_per_account = 1\n"
        "states_per_detector_model = 2\n"
        "versions_per_detector_model = 2\n"
        "analysis_retention_seconds = 60\n"
    )
    running = start_server(data_dir, "--clock", "manual", "--config", str(config))
    yield running
    running.stop()


def test_configured_quotas_are_enforced(strict_server: RunningServer) -> None:
    client = regional_client(strict_server, "us-east-1")
    first = create_pressure_input(client)
    create_pressure_input(client)
    with pytest.raises(client.exceptions.LimitExceededException) as caught:
        create_pressure_input(client)
    assert "maximum of 2 inputs" in error_of(caught)[1]

    name = create_motor_model(client, first)["detectorModelName"]
    with pytest.raises(client.exceptions.LimitExceededException):
        create_motor_model(client, first)
    client.update_detector_model(
        detectorModelName=name,
        detectorModelDefinition=motor_definition(first),
        roleArn="arn:aws:iam::123456789012:role/r",
    )
    with pytest.raises(client.exceptions.LimitExceededException) as caught:
        client.update_detector_model(
            detectorModelName=name,
            detectorModelDefinition=motor_definition(first),
            roleArn="arn:aws:iam::123456789012:role/r",
        )
    assert "maximum of 2 versions" in error_of(caught)[1]

    definition = motor_definition(first)
    definition["states"].append({"stateName": "Third"})
    analysis = client.start_detector_model_analysis(detectorModelDefinition=definition)
    results = client.get_detector_model_analysis_results(analysisId=analysis["analysisId"])
    assert {
        "type": "service-limits",
        "level": "ERROR",
        "message": "Number of states allowed in detector model definition exceeded the limit 2.",
        "locations": [{"path": "states"}],
    } in results["analysisResults"]


def test_analysis_results_expire(strict_server: RunningServer) -> None:
    client = regional_client(strict_server, "eu-west-1")
    definition = motor_definition("Anything")
    first = client.start_detector_model_analysis(detectorModelDefinition=definition)["analysisId"]
    advance_clock(strict_server, 61)
    second = client.start_detector_model_analysis(detectorModelDefinition=definition)["analysisId"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_detector_model_analysis(analysisId=first)
    assert client.describe_detector_model_analysis(analysisId=second)["status"] == "COMPLETE"
