"""A million detectors of one model: creating them, memory, and reads that stay fast.

1. Engine: a child process opens the hub on a fresh SQLite database and creates
   `--instances` motor detectors (one normal reading per key) through
   `DetectorEngine.put_messages`, `--batch` messages per transaction. Reported: the time, the
   rate and the child's peak RSS (VmHWM). Nothing in the engine holds instances between
   batches, so the peak must not grow with the count.
2. HTTP: `thinghub serve` opens that database; wrk sends pre-signed BatchPutMessage
   requests (10 new keys each, distinct message ids) for `--http-seconds`, creating more
   detectors over the wire. Reported: detectors created per second.
3. Reads: DescribeDetector on random keys and ListDetectors pages (first page, a page reached
   through 20 page tokens, a stateName filter) against the big model, and the same calls
   against a model with 6,000 detectors in the same server as the baseline (ratio
   big/small). Requests are signed beforehand; only the round trip is timed.
   Then the server's peak RSS (VmHWM from /proc), beside its RSS right after start-up.

Usage (from the repository root; needs wrk for step 2: apt-get install wrk):

    python bench/events_scale.py [--instances 1000000] [--batch 1000] [--http-seconds 10]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

try:
    from bench import events_common as common
except ImportError:  # run as a script: bench/ is on sys.path, the repository root is not
    import events_common as common  # type: ignore[no-redef]

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from bench import events_http
from thinghub.events.runtime import codec
from thinghub.events.runtime.engine import Message
from thinghub.store import Scope

SMALL_INPUT = "SmallPressureInput"
SMALL_MODEL = "smallMotorModel"
SMALL_KEYS = 6_000  # enough for 21 full pages of 250


def create_in_process(data_dir: Path, instances: int, batch: int) -> dict[str, float]:
    """Run in a child process: create the detectors through the engine (prints JSON)."""
    hub = common.start_hub(data_dir)
    try:
        common.call(hub, "iotevents", "CreateInput", common.pressure_input(SMALL_INPUT))
        common.call(
            hub, "iotevents", "CreateDetectorModel", common.motor_model(SMALL_MODEL, SMALL_INPUT)
        )
        engine = hub.components["events"].engine
        scope = Scope(common.ACCOUNT, common.REGION)
        started_rss = common.rss_mb()
        small = [
            Message(f"small-{i}", SMALL_INPUT, _reading(common.motor_key(i), 50), 0)
            for i in range(SMALL_KEYS)
        ]
        engine.put_messages(scope, small, time.time())
        started = time.perf_counter()
        for start in range(0, instances, batch):
            messages = [
                Message(f"create-{i}", common.INPUT, _reading(common.motor_key(i), 50), 0)
                for i in range(start, min(instances, start + batch))
            ]
            engine.put_messages(scope, messages, time.time())
        elapsed = time.perf_counter() - started
        count = hub.components["events"].detectors.count(scope, common.MODEL)
    finally:
        hub.stop()
    return {
        "seconds": elapsed,
        "count": count,
        "rss_start_mb": started_rss,
        "peak_rss_mb": common.peak_rss_mb(),
    }


def _reading(key: str, pressure: int) -> Any:
    return codec.loads(common.payload_bytes(key, pressure))


def http_batches(first_key: int, requests: int, batch: int) -> Iterator[list[tuple[str, str, int]]]:
    """Requests of `batch` new keys each, from `first_key` on, all normal readings."""
    for number in range(requests):
        base = first_key + number * batch
        yield [(str(uuid.uuid4()), common.motor_key(base + i), 50) for i in range(batch)]


def signed_get(url: str, path: str, query: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A GET signed for iotevents-data now, to be sent later: (full URL, headers)."""
    full = f"{url}{path}?{urlencode(query)}" if query else f"{url}{path}"
    request = AWSRequest(method="GET", url=full)
    SigV4Auth(events_http.CREDENTIALS, "ioteventsdata", common.REGION).add_auth(request)
    return full, dict(request.headers.items())


def timed(client: httpx.Client, requests: list[tuple[str, dict[str, str]]]) -> list[float]:
    """Milliseconds per request (signed beforehand: only the round trip is timed)."""
    times = []
    for full, headers in requests:
        started = time.perf_counter()
        response = client.get(full, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {full} answered {response.status_code}: {response.text}")
    return times


def page_token(client: httpx.Client, url: str, model: str, pages: int) -> str:
    """The nextToken of page `pages` + 1 of `model` (pages of 250)."""
    query: dict[str, str] = {"maxResults": "250"}
    for _ in range(pages):
        full, headers = signed_get(url, f"/detectors/{model}", query)
        token = client.get(full, headers=headers).json().get("nextToken")
        if token is None:
            raise SystemExit(f"{model} has fewer than {pages * 250} detectors")
        query = {"maxResults": "250", "nextToken": token}
    return query["nextToken"]


def reads(url: str, instances: int, repeat: int) -> list[tuple[str, float, float, float]]:
    """(call, big median ms, small median ms, big p99 ms) for each kind of read."""
    rng = random.Random(5)
    rows = []
    with httpx.Client(timeout=30) as client:
        deep = {model: page_token(client, url, model, 20) for model in (common.MODEL, SMALL_MODEL)}
        kinds: list[tuple[str, Callable[[str, int], tuple[str, dict[str, str]]]]] = [
            (
                "DescribeDetector (random key)",
                lambda model, size: signed_get(
                    url,
                    f"/detectors/{model}/keyValues/",
                    {"keyValue": common.motor_key(rng.randrange(size))},
                ),
            ),
            (
                "ListDetectors (first page)",
                lambda model, _: signed_get(url, f"/detectors/{model}", {"maxResults": "250"}),
            ),
            (
                "ListDetectors (page 21)",
                lambda model, _: signed_get(
                    url, f"/detectors/{model}", {"maxResults": "250", "nextToken": deep[model]}
                ),
            ),
            (
                "ListDetectors (stateName)",
                lambda model, _: signed_get(
                    url, f"/detectors/{model}", {"maxResults": "250", "stateName": "Normal"}
                ),
            ),
        ]
        for name, make in kinds:
            big = timed(client, [make(common.MODEL, instances) for _ in range(repeat)])
            small = timed(client, [make(SMALL_MODEL, SMALL_KEYS) for _ in range(repeat)])
            p99 = statistics.quantiles(big, n=100)[98] if len(big) > 1 else big[0]
            rows.append((name, statistics.median(big), statistics.median(small), p99))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1_000_000, help="detectors to create")
    parser.add_argument("--batch", type=int, default=1000, help="messages per transaction")
    parser.add_argument("--http-seconds", type=int, default=10, help="0 skips the HTTP step")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--repeat", type=int, default=50, help="calls per read measurement")
    parser.add_argument("--create-only", help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args()
    if args.create_only:
        result = create_in_process(Path(args.create_only), args.instances, args.batch)
        print(json.dumps(result))
        return
    if args.http_seconds and shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk (or --http-seconds 0)")

    with tempfile.TemporaryDirectory(prefix="thinghub-scale-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        child = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--instances",
                str(args.instances),
                "--batch",
                str(args.batch),
                "--create-only",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        created = json.loads(child.stdout.strip().splitlines()[-1])
        if created["count"] != args.instances:
            raise SystemExit(f"created {created['count']} detectors, not {args.instances}")
        db_mb = sum(f.stat().st_size for f in data_dir.glob("thinghub.db*")) / 2**20

        peer = common.open_silent_peer()
        url, server = events_http.start_thinghub(data_dir, common.peer_url(peer))
        try:
            rss_start = common.rss_mb(server.pid)
            http_rate = 0.0
            if args.http_seconds:
                requests = Path(tmp) / "create.bin"
                budget = 2_000 * args.http_seconds  # up to 20,000 new detectors a second
                events_http.write_batches(requests, url, http_batches(args.instances, budget, 10))
                _, before = events_http.evaluations(data_dir)
                result = events_http.run_wrk(url, requests, args.connections, args.http_seconds)
                time.sleep(0.5)
                _, after = events_http.evaluations(data_dir)
                if result["errors"] or result["wrapped"]:
                    raise SystemExit(f"the HTTP step went wrong: {result}")
                http_rate = (after - before) / args.http_seconds
            rows = reads(url, args.instances, args.repeat)
            total, _ = events_http.evaluations(data_dir)
            peak = common.peak_rss_mb(server.pid)
        finally:
            peer.close()  # deliveries waiting on it fail now instead of holding the shutdown
            server.terminate()
            server.wait(15)

    print(
        f"{args.instances:,} detectors of one model (motor, BATCH); database "
        f"{db_mb:,.0f} MiB; {total:,} detectors at the end"
    )
    print(f"{'step':<44} {'result':>24}")
    rate = args.instances / created["seconds"]
    print(
        f"{'create via engine, ' + str(args.batch) + ' per transaction':<44} "
        f"{created['seconds']:>9.1f} s {rate:>9,.0f} /s"
    )
    print(
        f"{'  engine process RSS at start / peak':<44} "
        f"{created['rss_start_mb']:>9.0f} MiB {created['peak_rss_mb']:>6.0f} MiB"
    )
    if args.http_seconds:
        label = f"create via HTTP, 10 per request, c={args.connections}"
        print(f"{label:<44} {http_rate:>20,.0f} /s")
    print(f"{'thinghub serve RSS after start / peak':<44} {rss_start:>9.0f} MiB {peak:>6.0f} MiB")
    print()
    print(
        f"{'read, ' + str(args.repeat) + ' calls':<30} {'median ms':>10} "
        f"{f'{SMALL_KEYS:,}-detector ms':>18} {'ratio':>6} {'p99 ms':>8}"
    )
    for name, big, small, p99 in rows:
        print(f"{name:<30} {big:>10.2f} {small:>18.2f} {big / small:>6.2f} {p99:>8.2f}")
    print(
        f"baseline: the same calls on a model with {SMALL_KEYS:,} detectors in the same server; "
        "pre-signed, round trip only"
    )


if __name__ == "__main__":
    main()
