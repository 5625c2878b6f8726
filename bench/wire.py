"""Wire-layer throughput: thinghub beside a bare raw-ASGI app, measured in the same run.

One realistic request (ListCloudConnectors on an empty account) is signed once with botocore
and replayed by wrk at concurrency 16 and 64 against `thinghub serve` (SigV4 verification,
routing, validation, a database query and serialization all on) and against a bare ASGI app
with one JSON route. Both run under one uvicorn worker with httptools and uvloop.

Usage: python bench/wire.py [--duration SECONDS]   (needs wrk: apt-get install wrk)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = Path(__file__).resolve().parent
PATH = "/cloud-connectors"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads, not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server at {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def start_thinghub(data_dir: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "thinghub", "serve", "--port", str(port), "--data-dir", data_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(f"{url}/_thinghub/health", process)
    return url, process


def start_bare() -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ],
        cwd=HERE.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process)
    return url, process


def signed_headers(url: str) -> dict[str, str]:
    """Sign the request once, as boto3 would; wrk replays it verbatim."""
    request = AWSRequest(method="GET", url=f"{url}{PATH}?MaxResults=100")
    SigV4Auth(Credentials("test", "test"), "iotmanagedintegrations", "us-east-1").add_auth(request)
    return {k: v for k, v in request.prepare().headers.items() if k.lower() != "host"}


def check(url: str, headers: dict[str, str]) -> None:
    response = httpx.get(f"{url}{PATH}?MaxResults=100", headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.text}")


def measure(
    url: str, pid: int, headers: dict[str, str], connections: int, duration: int
) -> tuple[float, float]:
    """(requests/s, server CPU µs per request) of one wrk run."""
    before = cpu_seconds(pid)
    rate = wrk(url, headers, connections, duration)
    return rate, (cpu_seconds(pid) - before) / (rate * duration) * 1e6


def wrk(url: str, headers: dict[str, str], connections: int, duration: int) -> float:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"{url}{PATH}?MaxResults=100")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses during the run:\n{output}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not found:
        raise SystemExit(f"cannot read wrk output:\n{output}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    os.environ.setdefault("PYTHONPATH", str(HERE.parent / "src"))
    with tempfile.TemporaryDirectory() as data_dir:
        thinghub_url, thinghub = start_thinghub(data_dir)
        bare_url, bare = start_bare()
        try:
            headers = signed_headers(thinghub_url)
            check(thinghub_url, headers)
            print(
                f"{'concurrency':>11} {'bare req/s':>12} {'thinghub req/s':>15} {'ratio':>7} "
                f"{'bare CPU µs/req':>16} {'thinghub CPU µs/req':>20}"
            )
            for connections in (16, 64):
                baseline, bare_cpu = measure(
                    bare_url, bare.pid, headers, connections, args.duration
                )
                measured, cpu = measure(
                    thinghub_url, thinghub.pid, headers, connections, args.duration
                )
                print(
                    f"{connections:>11} {baseline:>12.0f} {measured:>15.0f} "
                    f"{measured / baseline:>7.2f} {bare_cpu:>16.1f} {cpu:>20.1f}"
                )
            print(
                "CPU µs/req: the server process's CPU time per answered request, steadier than "
                "the rates when other processes share the machine"
            )
        finally:
            for process in (thinghub, bare):
                process.terminate()
                process.wait(15)


if __name__ == "__main__":
    main()
