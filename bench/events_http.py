"""BatchPutMessage over HTTP: signed requests of 10 motor readings against `thinghub serve`.

`thinghub serve` (SQLite in a temporary directory, durable: a 200 means committed) gets the
motor example input and model (BATCH) and one detector per key (`--keys`, created first, so
the run measures the steady state). Then, per concurrency level, wrk sends pre-signed
BatchPutMessage requests (SigV4 by botocore, ten messages each with distinct message ids and
random keys and pressures; bench/signed_requests.lua sends each request once) for
`--duration` seconds. The same requests go to a bare raw-ASGI app (bench/bare_app.py, served
the same way) in the same run, as the baseline; the ratio is thinghub / bare.

About 15% of the readings make the model fire an SNS action, written to the outbox in the
same transaction. The action sinks point at a local peer that never answers, so deliveries
wait in the outbox instead of reaching AWS: delivering is not part of the number.

After each level the benchmark checks the database: every message of every answered request
was evaluated exactly once (the detectors' row versions add up), and DescribeDetector and
ListDetectors answer.

Usage (from the repository root; needs wrk: apt-get install wrk):

    python bench/events_http.py [--duration 10] [--keys 10000] [--connections 16 64]
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    from bench import events_common as common
except ImportError:  # run as a script: bench/ is on sys.path, the repository root is not
    import events_common as common  # type: ignore[no-redef]

import boto3
import botocore.config
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from bench import wire
from thinghub.events.runtime import codec
from thinghub.wire.models import models_path

LUA = common.HERE / "signed_requests.lua"
PATH = "/inputs/messages"
CREDENTIALS = Credentials("test", "test")  # the default identity: account 000000000000
WRK_THREADS = 2


def start_thinghub(data_dir: Path, silent: str) -> tuple[str, subprocess.Popen[bytes]]:
    """`thinghub serve` with the action sinks pointed at a peer that never answers (nothing
    leaves, and no retry runs while measuring: one attempt waits out its timeout)."""
    config = data_dir / "thinghub.toml"
    config.write_text(
        "[aws]\n"
        f'endpoint_url = "{silent}"\n'
        'region = "us-east-1"\n'
        'access_key_id = "bench"\n'
        'secret_access_key = "bench"\n'
    )
    port = wire.free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thinghub",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--config",
            str(config),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wire.wait_healthy(f"{url}/_thinghub/health", process)
    return url, process


def clients(url: str) -> tuple[Any, Any]:
    os.environ["AWS_DATA_PATH"] = str(models_path())
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=common.REGION
    )
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    return (
        session.client("iotevents", endpoint_url=url, config=config),
        session.client("iotevents-data", endpoint_url=url, config=config),
    )


def body(messages: list[tuple[str, str, int]]) -> bytes:
    """A BatchPutMessage body as botocore serializes it (payloads are base64 blobs)."""
    entries = [
        {
            "messageId": message_id,
            "inputName": common.INPUT,
            "payload": base64.b64encode(common.payload_bytes(key, pressure)).decode(),
        }
        for message_id, key, pressure in messages
    ]
    return codec.dumps_bytes({"messages": entries})


def raw_request(url: str, data: bytes) -> bytes:
    """One signed request, ready for the wire."""
    request = AWSRequest(
        method="POST",
        url=f"{url}{PATH}",
        data=data,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(CREDENTIALS, "ioteventsdata", common.REGION).add_auth(request)
    host = urlsplit(url).netloc
    lines = [f"POST {PATH} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def write_requests(
    path: Path, url: str, count: int, keys: int, batch: int, rng: random.Random
) -> int:
    """`count` signed requests of `batch` fresh messages each, for the script.

    The keys of one request are distinct (random among `keys`), so each message adds exactly
    one to its detector's row_version: the check after the run counts evaluations with it.
    """
    pressures = common.pressures(count * batch, rng.randrange(1 << 30))
    batches = (
        [
            (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                common.motor_key(index),
                pressures[number * batch + i],
            )
            for i, index in enumerate(rng.sample(range(keys), batch))
        ]
        for number in range(count)
    )
    return write_batches(path, url, batches)


def write_batches(path: Path, url: str, batches: Iterable[list[tuple[str, str, int]]]) -> int:
    """One signed request per batch of (message id, key, pressure); how many were written."""
    written = 0
    with path.open("wb") as out:
        for messages in batches:
            raw = raw_request(url, body(messages))
            out.write(b"%d\n" % len(raw))
            out.write(raw)
            written += 1
    return written


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, requests: Path, connections: int, duration: int) -> dict[str, Any]:
    command = [
        "wrk",
        "-t",
        str(WRK_THREADS),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--latency",
        "--timeout",
        "30s",  # slow answers are measured, not dropped
        "-s",
        str(LUA),
        f"{url}{PATH}",
        "--",
        str(requests),
        str(WRK_THREADS),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    wrapped = re.search(r"wrapped: (\d+)", output)
    percentiles = {
        p: float(v) * _UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    }
    if not (rate and total and wrapped) or set(percentiles) != {"50", "99"}:
        raise SystemExit(f"cannot read wrk output:\n{output}")
    return {
        "rate": float(rate.group(1)),
        "requests": int(total.group(1)),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "wrapped": int(wrapped.group(1)),
        "p50": percentiles["50"],
        "p99": percentiles["99"],
    }


def evaluations(data_dir: Path) -> tuple[int, int]:
    """(detectors, sum of row_version): one per write, so one per message when every
    request names distinct keys (`write_requests`)."""
    with sqlite3.connect(f"file:{data_dir / 'thinghub.db'}?mode=ro", uri=True) as db:
        count, total = db.execute(
            "SELECT count(*), coalesce(sum(row_version), 0) FROM detector_instances "
            "WHERE detector_model_name = ?",
            (common.MODEL,),
        ).fetchone()
    return int(count), int(total)


def warm_up(data_client: Any, keys: int, batch: int) -> None:
    """One message per key, so every detector exists before measuring."""
    for start in range(0, keys, batch):
        messages = [
            {
                "messageId": f"warm-{index}",
                "inputName": common.INPUT,
                "payload": common.payload_bytes(common.motor_key(index), 50),
            }
            for index in range(start, min(keys, start + batch))
        ]
        answer = data_client.batch_put_message(messages=messages)
        if answer["BatchPutMessageErrorEntries"]:
            raise SystemExit(f"warm-up failed: {answer['BatchPutMessageErrorEntries']}")


def check_reads(data_client: Any, keys: int) -> float:
    """DescribeDetector and ListDetectors answer; the slowest call in ms."""
    slowest = 0.0
    for index in (0, keys // 2, keys - 1):
        started = time.perf_counter()
        detector = data_client.describe_detector(
            detectorModelName=common.MODEL, keyValue=common.motor_key(index)
        )["detector"]
        slowest = max(slowest, time.perf_counter() - started)
        if detector["state"]["stateName"] not in ("Normal", "Dangerous"):
            raise SystemExit(f"unexpected detector {detector}")
    started = time.perf_counter()
    listed = data_client.list_detectors(detectorModelName=common.MODEL, maxResults=250)
    slowest = max(slowest, time.perf_counter() - started)
    if len(listed["detectorSummaries"]) != min(250, keys):
        raise SystemExit("ListDetectors returned a short page")
    return slowest * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--keys", type=int, default=10_000, help="detector instances")
    parser.add_argument("--batch", type=int, default=10, help="messages per request")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help="signed requests per level (default: 3,000 per second of --duration)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    per_level = args.requests or 3_000 * args.duration
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="thinghub-bench-") as tmp, common.silent_peer() as peer:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        silent = f"http://127.0.0.1:{peer.getsockname()[1]}"
        thinghub_url, thinghub = start_thinghub(data_dir, silent)
        bare_url, bare = wire.start_bare()
        try:
            control, data = clients(thinghub_url)
            control.create_input(**common.pressure_input())
            control.create_detector_model(**common.motor_model())
            started = time.perf_counter()
            warm_up(data, args.keys, args.batch)
            warm = time.perf_counter() - started
            print(
                f"motor model (BATCH), {args.keys:,} detectors created in {warm:.1f} s over "
                f"HTTP; {args.batch} messages per request; {per_level:,} signed requests per "
                f"level; load average {os.getloadavg()[0]:.1f}"
            )
            header = (
                f"{'conns':>5} {'bare req/s':>11} {'req/s':>8} {'ratio':>6} {'msg/s':>8} "
                f"{'p50 ms':>7} {'p99 ms':>7} {'evaluated':>10}"
            )
            rows = []
            for connections in args.connections:
                requests = Path(tmp) / f"requests-{connections}.bin"
                write_requests(requests, thinghub_url, per_level, args.keys, args.batch, rng)
                baseline = run_wrk(bare_url, requests, connections, args.duration)
                _, before = evaluations(data_dir)
                result = run_wrk(thinghub_url, requests, connections, args.duration)
                time.sleep(0.5)  # requests still in flight when wrk stopped
                detectors, after = evaluations(data_dir)
                problems = _problems(result, after - before, args, connections, detectors)
                rows.append((connections, baseline, result, after - before, problems))
            slowest = check_reads(data, args.keys)
        finally:
            peer.close()  # deliveries waiting on it fail now instead of holding the shutdown
            for process in (thinghub, bare):
                process.terminate()
                process.wait(15)
    print(header)
    for connections, baseline, result, evaluated, _ in rows:
        print(
            f"{connections:>5} {baseline['rate']:>11,.0f} {result['rate']:>8,.0f} "
            f"{result['rate'] / baseline['rate']:>6.2f} {result['rate'] * args.batch:>8,.0f} "
            f"{result['p50']:>7.2f} {result['p99']:>7.2f} {evaluated:>10,}"
        )
    print(f"DescribeDetector / ListDetectors afterwards: slowest call {slowest:.1f} ms")
    failed = [p for *_, problems in rows for p in problems]
    for problem in failed:
        print(f"PROBLEM: {problem}")
    if failed:
        raise SystemExit(1)
    print("checked: every message of every answered request evaluated once, no error answers")


def _problems(
    result: dict[str, Any],
    evaluated: int,
    args: argparse.Namespace,
    connections: int,
    detectors: int,
) -> list[str]:
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
    answered = result["requests"] * args.batch
    # wrk stops counting at the deadline; up to one request per connection was still running.
    if not answered <= evaluated <= answered + connections * args.batch:
        problems.append(
            f"c={connections}: {answered:,} messages answered but {evaluated:,} evaluated"
        )
    if detectors != args.keys:
        problems.append(f"expected {args.keys:,} detectors, found {detectors:,}")
    return problems


if __name__ == "__main__":
    main()
