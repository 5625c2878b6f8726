"""Real peers for tests: a moto server, stub HTTP services, and an MQTT subscriber.

* `moto_server_fixture()` makes a fixture that runs ``python -m moto.server`` as a real
  subprocess on a free port (one per test process and scope) and yields a `MotoServer`;
  `aws_environment()` points boto3's standard chain at it (endpoint, dummy credentials,
  region, one attempt per call).
* `StubHttpServer` is a local HTTP service that records each request and answers with a
  function of it: for AWS APIs moto lacks or cannot run here (Lambda needs docker).
* `MqttSubscription` subscribes to the Mosquitto broker that `.ci/run` keeps on
  127.0.0.1:1883 and collects what arrives.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import boto3
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO_HOST = "127.0.0.1"
MOSQUITTO_PORT = 1883
REGION = "us-east-1"


def wait_until(call: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30) -> Any:
    """`call()` again and again until `done(value)`; the value, or AssertionError at `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = call()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting: {value}"
        time.sleep(0.1)


def free_port() -> int:
    """A TCP port nobody listens on right now (nor, usually, a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ----- moto -------------------------------------------------------------------------------


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen[bytes]

    def reset(self) -> None:
        """Forget every resource (all services, all accounts)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_moto_server(
    timeout: float = 30.0, attempts: int = 3, port: int | None = None
) -> MotoServer:
    """`python -m moto.server` on `port` (default: a free one) of 127.0.0.1, once it answers."""
    chosen = port
    for _ in range(attempts):
        port = chosen or free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = MotoServer(f"http://127.0.0.1:{port}", process)
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{server.url}/moto-api/", timeout=2).close()
                return server
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        server.stop()  # died (the port was taken meanwhile) or never answered: try again
    raise RuntimeError("moto server did not start")


def moto_server_fixture(scope: Any = "session") -> Any:
    """A fixture running one moto server for its scope; assign it to the fixture's name:

    ``moto = moto_server_fixture()`` in a test module (or conftest) gives tests a ``moto``
    argument holding a `MotoServer`.
    """

    @pytest.fixture(scope=scope)
    def fixture() -> Iterator[MotoServer]:
        server = start_moto_server()
        try:
            yield server
        finally:
            server.stop()

    return fixture


def aws_environment(
    monkeypatch: pytest.MonkeyPatch, endpoint_url: str | None, **service_urls: str
) -> None:
    """Point boto3's standard chain at local peers, with dummy credentials.

    `endpoint_url` becomes AWS_ENDPOINT_URL; each keyword (e.g. ``lambda_="http://..."``,
    ``iotsitewise="http://..."``) becomes AWS_ENDPOINT_URL_<NAME>. Calls get one attempt, so
    failure tests don't sit through botocore's back-off.
    """
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    if endpoint_url is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    for service, url in service_urls.items():
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.strip('_').upper()}", url)


# ----- stub HTTP services ---------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as sent, percent-encoding and query string included
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class StubResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, document: Any, **headers: str) -> StubResponse:
        return cls(
            status,
            json.dumps(document).encode(),
            {"Content-Type": "application/json", **headers},
        )

    @classmethod
    def aws_error(cls, status: int, code: str, message: str) -> StubResponse:
        """An error as AWS JSON protocols send it (x-amzn-ErrorType + a JSON body)."""
        return cls.json(status, {"message": message}, **{"x-amzn-ErrorType": code})


Responder = Callable[[RecordedRequest], StubResponse]


class StubHttpServer:
    """An HTTP service on a free local port that records requests and answers via `respond`."""

    def __init__(self, respond: Responder | None = None) -> None:
        self.respond: Responder = respond or (lambda request: StubResponse())
        self.requests: list[RecordedRequest] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = RecordedRequest(
                    self.command,
                    self.path,
                    {name.lower(): value for name, value in self.headers.items()},
                    self.rfile.read(length),
                )
                stub.requests.append(request)
                response = stub.respond(request)
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval keeps shutdown (at every test's end) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> StubHttpServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


# ----- MQTT -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MqttMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool


def unique_topic(prefix: str = "thinghub-test") -> str:
    """A topic no other test (or earlier run) publishes to."""
    return f"{prefix}/{uuid.uuid4().hex}"


class MqttSubscription:
    """Subscribed to `topic` (wildcards allowed) from `__enter__` until `__exit__`."""

    def __init__(
        self,
        topic: str,
        host: str = MOSQUITTO_HOST,
        port: int = MOSQUITTO_PORT,
        qos: int = 1,
        timeout: float = 10.0,
    ) -> None:
        self.topic = topic
        self._address = (host, port)
        self._qos = qos
        self._timeout = timeout
        self._received: list[MqttMessage] = []
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"thinghub-test-{uuid.uuid4().hex[:12]}"
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def __enter__(self) -> MqttSubscription:
        self._client.connect(*self._address)
        self._client.loop_start()
        if not self._subscribed.wait(self._timeout):
            self.__exit__(None, None, None)
            raise TimeoutError(f"no SUBACK for {self.topic} from {self._address}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def messages(self, count: int = 1, timeout: float | None = None) -> list[MqttMessage]:
        """Wait until at least `count` messages arrived; all of them so far, in order."""
        with self._changed:
            arrived = self._changed.wait_for(
                lambda: len(self._received) >= count, timeout or self._timeout
            )
            if not arrived:
                raise TimeoutError(
                    f"{len(self._received)} of {count} messages on {self.topic}: {self._received!r}"
                )
            return list(self._received)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        client.subscribe(self.topic, qos=self._qos)

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        with self._changed:
            self._received.append(
                MqttMessage(message.topic, bytes(message.payload), message.qos, message.retain)
            )
            self._changed.notify_all()


# ----- Kinesis (in moto) ----------------------------------------------------------------------


class KinesisStream:
    """One Kinesis stream in a moto server (one shard, so records keep one order), read from
    the start."""

    def __init__(self, moto_url: str, name: str) -> None:
        self.client = boto3.client(
            "kinesis",
            endpoint_url=moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.name = name
        self.client.create_stream(StreamName=name, ShardCount=1)
        description = self.client.describe_stream(StreamName=name)["StreamDescription"]
        self.arn: str = description["StreamARN"]
        self.shard = description["Shards"][0]["ShardId"]

    def records(self) -> list[tuple[str, Any]]:
        """(partition key, JSON document) of every record so far, in order."""
        iterator = self.client.get_shard_iterator(
            StreamName=self.name, ShardId=self.shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        found: list[tuple[str, Any]] = []
        while iterator:
            page = self.client.get_records(ShardIterator=iterator, Limit=1000)
            found += [(r["PartitionKey"], json.loads(r["Data"])) for r in page["Records"]]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
        return found

    def wait_for(self, done: Callable[[list[Any]], bool], timeout: float = 30.0) -> list[Any]:
        """The record documents, once `done(documents)`; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            documents = [document for _, document in self.records()]
            if done(documents):
                return documents
            assert time.monotonic() < deadline, f"gave up waiting; records: {documents}"
            time.sleep(0.1)
