from __future__ import annotations

import re

import pytest

from thinghub.store import Arn, arn, new_id, parse_arn


@pytest.mark.parametrize("length", [1, 7, 32, 64])
def test_new_id_hex(length: int) -> None:
    value = new_id("hex", length)
    assert re.fullmatch(rf"[0-9a-f]{{{length}}}", value)


@pytest.mark.parametrize("length", [1, 13, 32, 100])
def test_new_id_alnum_lower(length: int) -> None:
    value = new_id("alnum_lower", length)
    assert re.fullmatch(rf"[0-9a-z]{{{length}}}", value)


def test_new_id_is_random_and_covers_the_alphabet() -> None:
    ids = {new_id("alnum_lower") for _ in range(500)}
    assert len(ids) == 500
    assert set("".join(ids)) == set("0123456789abcdefghijklmnopqrstuvwxyz")
    assert new_id() != new_id()
    assert len(new_id()) == 32


def test_new_id_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        new_id("hex", 0)
    with pytest.raises(ValueError):
        new_id("base64", 8)  # type: ignore[arg-type]


def test_arn_round_trip() -> None:
    value = arn("iotevents", "eu-west-1", "123456789012", "input/my:input/x")
    assert value == "arn:aws:iotevents:eu-west-1:123456789012:input/my:input/x"
    parsed = parse_arn(value)
    assert parsed == Arn("aws", "iotevents", "eu-west-1", "123456789012", "input/my:input/x")
    assert str(parsed) == value


def test_parse_arn_allows_empty_region_and_account() -> None:
    assert parse_arn("arn:aws:s3:::bucket") == Arn("aws", "s3", "", "", "bucket")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "arn",
        "arn:aws:iot:us-east-1:123456789012",
        "urn:aws:iot:us-east-1:123456789012:thing/x",
        "arn::iot:us-east-1:123456789012:thing/x",
        "arn:aws::us-east-1:123456789012:thing/x",
        "arn:aws:iot:us-east-1:123456789012:",
    ],
)
def test_parse_arn_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_arn(bad)
