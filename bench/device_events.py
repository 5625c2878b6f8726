"""SendConnectorEvent DEVICE_EVENT over HTTP: signed device events against `thinghub serve`.

`thinghub serve` (SQLite in a temporary directory, durable: a 202 means committed) gets, with
stock boto3, what a customer and a connector would set up: a cloud connector whose Lambda
function is bench/bench_connector.py (a local handler that ACKs everything and answers
AWS.ActivateUser with a user id), a connector destination with General Authorization and an
account association linked through it, a device discovery whose DEVICE_DISCOVERY events
report `--devices` devices (Fan Control 0x0202 and Temperature Measurement 0x0402), one
managed thing per device (DISCOVERED_DEVICE), and notification configurations for DEVICE_EVENT
and DEVICE_STATE to a Kinesis stream. Then every device reports once, so the measured path is
the steady state.

Per concurrency level, wrk sends pre-signed SendConnectorEvent DEVICE_EVENT requests (SigV4 by
botocore; bench/signed_requests.lua sends each request once) for `--duration` seconds: each
for a random device, with a new MeasuredValue (never one the device reported before) and, one
time in four, a random FanMode. Each accepted event correlates the device (connector id,
UserId, ConnectorDeviceId), stores the values as device state and writes a DEVICE_EVENT and a
DEVICE_STATE record to the outbox, in one transaction. Kinesis points at a local port that
takes connections and never answers (thinghub makes one attempt per delivery, with 5 s connect
and 30 s read timeouts), so the records wait in the outbox and the few attempts made meanwhile
cost next to nothing: delivering is not part of the number. (A closed port would not do: every
attempt would fail at once, and the retries of a thousand partitions' first records, each a
boto3 call in thinghub's process, would be measured with the events.)

The same requests go to a bare raw-ASGI app (bench/bare_app.py, served the same way) in the
same run, as the baseline; the ratio is thinghub / bare. "CPU ms/event" is the CPU
time of the thinghub process (all its threads) during the run per stored event: it depends
much less than the rates on what else the machine runs. The target is at least 3,000 events/s
and at least 0.30 of the bare app's requests/s; each level says whether it met it.

After each level the benchmark checks the database and the API: one DEVICE_EVENT and one
DEVICE_STATE record per answered request (up to one per connection more: wrk stops counting at
the deadline), no error answers, and for a sample of things GetManagedThingState shows the value
of the thing's latest DEVICE_STATE record, one the benchmark sent to that device.

With `--profile FILE` thinghub runs under cProfile (bench/profiled_serve.py), profiled only
while wrk sends to it; the statistics go to FILE and the top functions are printed. The rates
of a profiled run are not the benchmark's numbers.

Usage (from the repository root; needs wrk: apt-get install wrk):

    python bench/device_events.py [--duration 10] [--devices 1000] [--connections 16 64]
                                  [--requests N] [--profile FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    from bench import events_common as common
except ImportError:  # run as a script: bench/ is on sys.path, the repository root is not
    import events_common as common  # type: ignore[no-redef]

import boto3
import botocore.config
import httpx
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench import events_http, wire
from bench.bench_connector import USER_ID
from thinghub.wire.models import models_path

SERVICE = "iot-managed-integrations"
SIGNING_NAME = "iotmanagedintegrations"
CREDENTIALS = Credentials("test", "test")  # the default identity: account 000000000000
FUNCTION = f"arn:aws:lambda:{common.REGION}:{common.ACCOUNT}:function:bench-connector"
STREAM = f"arn:aws:kinesis:{common.REGION}:{common.ACCOUNT}:stream/bench"
DESTINATION = "bench"
MATERIAL = "api-key"
CHANNEL = "mi-notification"
FAN_CONTROL, TEMPERATURE = "0x0202", "0x0402"
DISCOVERY_PAGE = 250  # devices per DEVICE_DISCOVERY event
SAMPLE = 20  # things whose state is read back after each level
# MeasuredValue is in hundredths of a degree Celsius; every event of a device has a new one.
TEMPERATURES = range(-2000, 5000)
TARGET_RATE, TARGET_RATIO = 3_000.0, 0.30


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_thinghub(
    data_dir: Path, silent: str, profile: Path | None
) -> tuple[str, subprocess.Popen[bytes]]:
    """`thinghub serve` with the benchmark's connector as a local handler and every AWS call
    (Kinesis included) pointed at `silent`, so nothing leaves."""
    config = data_dir / "thinghub.toml"
    config.write_text(
        "[aws]\n"
        f'endpoint_url = "{silent}"\n'
        f'region = "{common.REGION}"\n'
        'access_key_id = "bench"\n'
        'secret_access_key = "bench"\n'
        "\n[functions]\n"
        f'"{FUNCTION}" = "bench_connector:lambda_handler"\n'
        "\n[connectors]\n"
        f"python_path = [{json.dumps(str(common.HERE))}]\n"
    )
    port = wire.free_port()
    serve = ["--port", str(port), "--data-dir", str(data_dir), "--config", str(config)]
    if profile is None:
        command = [sys.executable, "-m", "thinghub", "serve", *serve]
    else:
        command = [sys.executable, str(common.HERE / "profiled_serve.py"), str(profile), *serve]
    env = {**os.environ, "AWS_ENDPOINT_URL_KINESIS": silent}
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "thinghub.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    wire.wait_healthy(f"{url}/_thinghub/health", process)
    return url, process


def client(url: str) -> Any:
    os.environ["AWS_DATA_PATH"] = str(models_path())
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=common.REGION
    )
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    return session.client(SERVICE, endpoint_url=url, config=config)


def device_id(index: int) -> str:
    return f"bench-device-{index:05d}"


def discovered_device(index: int) -> dict[str, Any]:
    """One device of a DEVICE_DISCOVERY event: a fan with a thermometer, on endpoint 1."""
    clusters = [
        {
            "id": FAN_CONTROL,
            "revision": 4,
            "attributes": [{"id": "0x0000", "value": 0}],
            "commands": ["0x00"],
            "events": [],
        },
        {
            "id": TEMPERATURE,
            "revision": 4,
            "attributes": [{"id": "0x0000", "value": 2000}],
            "commands": [],
            "events": [],
        },
    ]
    return {
        "ConnectorDeviceId": device_id(index),
        "ConnectorDeviceName": f"Bench fan {index}",
        "CapabilityReport": {
            "version": "1.0.0",
            "nodeId": f"node-{index}",
            "endpoints": [{"id": "1", "deviceTypes": ["Fan"], "clusters": clusters}],
        },
    }


@dataclass
class Fleet:
    """The linked connector, its devices' managed things, and the values sent to each device."""

    connector_id: str
    things: dict[int, str]  # device index -> managed thing id
    temperatures: dict[int, set[int]] = field(default_factory=dict)  # every value sent

    def new_temperature(self, index: int, rng: random.Random) -> int:
        """A MeasuredValue the device has not reported before: every event changes state."""
        used = self.temperatures.setdefault(index, set())
        while True:
            value = rng.choice(TEMPERATURES)
            if value not in used:
                used.add(value)
                return value


def set_up(mi: Any, devices: int) -> Fleet:
    """Connector, destination, association (General Authorization), discovery, things and
    notification configurations, all through the API."""
    connector_id = mi.create_cloud_connector(
        Name="bench", EndpointConfig={"lambda": {"arn": FUNCTION}}
    )["Id"]
    destination_id = mi.create_connector_destination(
        Name="bench",
        CloudConnectorId=connector_id,
        AuthType="OAUTH",  # the model's only value; the material decides
        AuthConfig={
            "GeneralAuthorization": [
                {
                    "AuthMaterialName": MATERIAL,
                    "SecretsManager": {
                        "arn": f"arn:aws:secretsmanager:{common.REGION}:{common.ACCOUNT}:"
                        "secret:bench-AbCdEf",
                        "versionId": "0" * 32,
                    },
                }
            ]
        },
    )["Id"]
    association_id = mi.create_account_association(
        ConnectorDestinationId=destination_id, GeneralAuthorization={"AuthMaterialName": MATERIAL}
    )["AccountAssociationId"]
    _wait(
        lambda: mi.get_account_association(AccountAssociationId=association_id),
        lambda got: got["AssociationState"] != "ASSOCIATION_IN_PROGRESS",
        "AssociationState",
        "ASSOCIATION_SUCCEEDED",
    )
    discovery_id = mi.start_device_discovery(
        DiscoveryType="CLOUD", AccountAssociationId=association_id
    )["Id"]
    _wait(
        lambda: mi.get_device_discovery(Identifier=discovery_id),
        lambda got: got["Status"] != "PENDING",
        "Status",
        "RUNNING",
    )
    # The connector's report, in pages: 1xx keeps the discovery running, 200 ends it.
    for start in range(0, devices, DISCOVERY_PAGE):
        end = min(devices, start + DISCOVERY_PAGE)
        mi.send_connector_event(
            ConnectorId=connector_id,
            Operation="DEVICE_DISCOVERY",
            OperationVersion="1.0",
            DeviceDiscoveryId=discovery_id,
            UserId=USER_ID,
            StatusCode=200 if end == devices else 102,
            Message=f"devices {start} to {end - 1}",
            Devices=[discovered_device(index) for index in range(start, end)],
        )
    status = mi.get_device_discovery(Identifier=discovery_id)["Status"]
    if status != "SUCCEEDED":
        raise SystemExit(f"device discovery is {status}, not SUCCEEDED")
    paginator = mi.get_paginator("list_discovered_devices")
    found = [
        item
        for page in paginator.paginate(Identifier=discovery_id, MaxResults=100)
        for item in page["Items"]
    ]
    if len(found) != devices:
        raise SystemExit(f"{len(found)} devices discovered, not {devices}")
    things = {}
    for item in found:
        index = int(item["ConnectorDeviceId"].rsplit("-", 1)[1])
        things[index] = mi.create_managed_thing(
            Role="DEVICE",
            AuthenticationMaterial=item["AuthenticationMaterial"],
            AuthenticationMaterialType="DISCOVERED_DEVICE",
            Name=f"bench-fan-{index}",
        )["Id"]
    mi.create_destination(
        Name=DESTINATION,
        DeliveryDestinationArn=STREAM,
        DeliveryDestinationType="KINESIS",
        RoleArn=f"arn:aws:iam::{common.ACCOUNT}:role/bench-notifications",
    )
    for event_type in ("DEVICE_EVENT", "DEVICE_STATE"):
        mi.create_notification_configuration(EventType=event_type, DestinationName=DESTINATION)
    return Fleet(connector_id, things)


def _wait(read: Any, done: Any, member: str, wanted: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = read()
        if done(got):
            if got[member] != wanted:
                raise SystemExit(f"{member} is {got[member]}, not {wanted}: {got}")
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{member} still {got[member]} after {timeout} s")
        time.sleep(0.05)


def event_params(fleet: Fleet, index: int, rng: random.Random) -> dict[str, Any]:
    """A DEVICE_EVENT's members but ConnectorId (in the path), as a connector sends them."""
    clusters: list[dict[str, Any]] = [
        {"id": TEMPERATURE, "attributes": {"0x0000": fleet.new_temperature(index, rng)}}
    ]
    if rng.random() < 0.25:
        clusters.append({"id": FAN_CONTROL, "attributes": {"0x0000": rng.randrange(7)}})
    return {
        "UserId": USER_ID,
        "Operation": "DEVICE_EVENT",
        "OperationVersion": "1.0",
        "StatusCode": 200,
        "ConnectorDeviceId": device_id(index),
        "MatterEndpoint": {"id": "1", "clusters": clusters},
    }


def raw_request(url: str, connector_id: str, params: dict[str, Any]) -> bytes:
    """One signed SendConnectorEvent, ready for the wire (rest-json: the rest is the body)."""
    path = f"/connector-event/{connector_id}"
    data = orjson.dumps(params)
    request = AWSRequest(
        method="POST", url=f"{url}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    SigV4Auth(CREDENTIALS, SIGNING_NAME, common.REGION).add_auth(request)
    lines = [f"POST {path} HTTP/1.1", f"Host: {urlsplit(url).netloc}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def write_requests(path: Path, url: str, fleet: Fleet, count: int, rng: random.Random) -> None:
    """`count` signed DEVICE_EVENT requests for random devices, for the wrk script."""
    devices = len(fleet.things)
    with path.open("wb") as out:
        for _ in range(count):
            raw = raw_request(
                url, fleet.connector_id, event_params(fleet, rng.randrange(devices), rng)
            )
            out.write(b"%d\n" % len(raw))
            out.write(raw)


def warm_up(mi: Any, fleet: Fleet, rng: random.Random) -> None:
    """One event per device through boto3: state rows and outbox partitions exist."""
    for index in fleet.things:
        params = event_params(fleet, index, rng)
        answer = mi.send_connector_event(ConnectorId=fleet.connector_id, **params)
        if answer["ResponseMetadata"]["HTTPStatusCode"] != 202:
            raise SystemExit(f"DEVICE_EVENT answered {answer['ResponseMetadata']}")


def check_request(url: str, fleet: Fleet, rng: random.Random) -> None:
    """One pre-built request sent by hand: the signature and body are accepted (202)."""
    raw = raw_request(url, fleet.connector_id, event_params(fleet, 0, rng))
    head, body = raw.split(b"\r\n\r\n", 1)
    request_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    headers.pop("Host")
    answer = httpx.post(f"{url}{request_line.split()[1]}", content=body, headers=headers)
    if answer.status_code != 202:
        raise SystemExit(f"a pre-signed DEVICE_EVENT answered {answer.status_code}: {answer.text}")


def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data_dir / 'thinghub.db'}?mode=ro", uri=True)


def records(data_dir: Path) -> dict[str, int]:
    """Notification records in the outbox, by message type (none is delivered: no Kinesis)."""
    with _db(data_dir) as db:
        rows = db.execute(
            "SELECT json_extract(payload, '$.record.messageType'), count(*) FROM outbox "
            "WHERE channel = ? GROUP BY 1",
            (CHANNEL,),
        ).fetchall()
    return {str(kind): int(count) for kind, count in rows}


def latest_temperature(data_dir: Path, thing_id: str) -> Any:
    """MeasuredValue in the thing's latest DEVICE_STATE record (every event changes it)."""
    with _db(data_dir) as db:
        row = db.execute(
            "SELECT payload FROM outbox WHERE channel = ? AND partition_key = ? "
            "AND json_extract(payload, '$.record.messageType') = 'DEVICE_STATE' "
            "ORDER BY seq DESC LIMIT 1",
            (CHANNEL, f"notification/{DESTINATION}/{thing_id}"),
        ).fetchone()
    if row is None:
        return None
    endpoints = orjson.loads(row[0])["record"]["payload"]["endpoints"]
    return _measured_value(endpoints)


def _measured_value(endpoints: list[dict[str, Any]]) -> Any:
    for endpoint in endpoints:
        for capability in endpoint["capabilities"]:
            found = capability["properties"].get("MeasuredValue")
            if found is not None:
                return found["value"]
    return None


def check_state(mi: Any, data_dir: Path, fleet: Fleet, rng: random.Random) -> list[str]:
    """For a sample of things: GetManagedThingState shows the latest DEVICE_STATE record's
    value, and that is a value sent to the device."""
    problems = []
    for index in rng.sample(sorted(fleet.things), min(SAMPLE, len(fleet.things))):
        thing_id = fleet.things[index]
        state = mi.get_managed_thing_state(ManagedThingId=thing_id)
        shown = _measured_value(state["Endpoints"])
        recorded = latest_temperature(data_dir, thing_id)
        if shown is None or shown != recorded or shown not in fleet.temperatures[index]:
            problems.append(
                f"{device_id(index)}: state shows MeasuredValue {shown}, latest record {recorded}"
            )
    return problems


@dataclass
class Level:
    connections: int
    baseline: dict[str, Any]
    result: dict[str, Any]
    events: int  # DEVICE_EVENT records written during the run
    states: int  # DEVICE_STATE records written during the run
    cpu: float  # thinghub's CPU seconds during the run
    problems: list[str]


def level_problems(level: Level) -> list[str]:
    result, connections = level.result, level.connections
    problems = []
    if result["errors"] or re.search(
        r"(connect|read|write|timeout) [1-9]", result["socket_errors"]
    ):
        problems.append(
            f"c={connections}: {result['errors']} error answers, socket errors "
            f"{result['socket_errors'] or 'none'}"
        )
    if result["wrapped"]:
        problems.append(
            f"c={connections}: the signed requests ran out (duplicates were sent); raise --requests"
        )
    answered = result["requests"]
    # wrk stops counting at the deadline; up to one request per connection was still running.
    if not answered <= level.events <= answered + connections:
        problems.append(
            f"c={connections}: {answered:,} events answered but {level.events:,} DEVICE_EVENT "
            "records stored"
        )
    if level.states != level.events:
        problems.append(
            f"c={connections}: {level.events:,} DEVICE_EVENT but {level.states:,} DEVICE_STATE "
            "records (every event changes the state)"
        )
    return problems


def print_profile(path: Path, top: int = 30) -> None:
    stats = pstats.Stats(str(path))
    stats.strip_dirs()
    for order in ("tottime", "cumulative"):
        print(f"\nprofile of thinghub while measured, top {top} by {order}:")
        stats.sort_stats(order).print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--devices", type=int, default=1000, help="managed things")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help="signed requests per level (default: 6,000 per second of --duration)",
    )
    parser.add_argument("--profile", type=Path, help="profile thinghub into this pstats file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    per_level = args.requests or 6_000 * args.duration
    rng = random.Random(13)
    profile = args.profile.resolve() if args.profile else None
    with (
        tempfile.TemporaryDirectory(prefix="thinghub-bench-") as tmp,
        common.silent_peer() as silent,
    ):
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        thinghub_url, thinghub = start_thinghub(data_dir, silent_url, profile)
        bare_url, bare = wire.start_bare()
        try:
            mi = client(thinghub_url)
            started = time.perf_counter()
            fleet = set_up(mi, args.devices)
            warm_up(mi, fleet, rng)
            check_request(thinghub_url, fleet, rng)
            ready = time.perf_counter() - started
            print(
                f"{args.devices:,} managed things discovered, created and reporting once in "
                f"{ready:.1f} s over HTTP; {per_level:,} signed DEVICE_EVENT requests per level; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            levels = []
            for connections in args.connections:
                requests = Path(tmp) / f"requests-{connections}.bin"
                write_requests(requests, thinghub_url, fleet, per_level, rng)
                baseline = events_http.run_wrk(bare_url, requests, connections, args.duration)
                before = records(data_dir)
                cpu_before = wire.cpu_seconds(thinghub.pid)
                if profile is not None:
                    thinghub.send_signal(signal.SIGUSR1)
                result = events_http.run_wrk(thinghub_url, requests, connections, args.duration)
                time.sleep(0.5)  # requests still in flight when wrk stopped
                if profile is not None:
                    thinghub.send_signal(signal.SIGUSR2)
                cpu = wire.cpu_seconds(thinghub.pid) - cpu_before
                after = records(data_dir)
                level = Level(
                    connections,
                    baseline,
                    result,
                    after.get("DEVICE_EVENT", 0) - before.get("DEVICE_EVENT", 0),
                    after.get("DEVICE_STATE", 0) - before.get("DEVICE_STATE", 0),
                    cpu,
                    [],
                )
                level.problems = level_problems(level) + check_state(mi, data_dir, fleet, rng)
                levels.append(level)
        finally:
            silent.close()  # deliveries waiting on it fail now instead of holding the shutdown
            for process in (thinghub, bare):
                stop(process)
    report(levels, profile)


def report(levels: list[Level], profile: Path | None) -> None:
    print(
        f"{'conns':>5} {'bare req/s':>11} {'events/s':>9} {'ratio':>6} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'CPU ms/event':>12} {'answered':>9} {'DEVICE_EVENT':>13} "
        f"{'DEVICE_STATE':>13} target"
    )
    for level in levels:
        rate, bare_rate = level.result["rate"], level.baseline["rate"]
        print(
            f"{level.connections:>5} {bare_rate:>11,.0f} {rate:>9,.0f} {rate / bare_rate:>6.2f} "
            f"{level.result['p50']:>7.2f} {level.result['p99']:>7.2f} "
            f"{level.cpu * 1000 / max(1, level.events):>12.2f} {level.result['requests']:>9,} "
            f"{level.events:>13,} {level.states:>13,} "
            f"{'met' if rate >= TARGET_RATE and rate / bare_rate >= TARGET_RATIO else 'missed'}"
        )
    if profile is not None:
        print("(profiled run: these rates are not the benchmark's numbers)")
        print_profile(profile)
    failed = [problem for level in levels for problem in level.problems]
    for problem in failed:
        print(f"PROBLEM: {problem}")
    if failed:
        raise SystemExit(1)
    print(
        "checked: one DEVICE_EVENT and one DEVICE_STATE record per answered event, no error "
        f"answers, GetManagedThingState agrees with the latest record ({SAMPLE} things a level)"
    )


if __name__ == "__main__":
    main()
