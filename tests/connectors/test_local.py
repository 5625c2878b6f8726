"""Local handlers: real worker processes running ordinary Lambda handlers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.connectors.support import (
    ACCOUNT,
    ENDPOINT,
    HANDLERS,
    IDENTITY,
    REGION,
    attempts,
    config,
    event,
    run,
)
from thinghub.connectors.invoker import ConnectorInvoker
from thinghub.connectors.responses import ConnectorError, ConnectorResponse
from thinghub.identities import Identity

ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:acme-connector"


def _gone(pid: int) -> bool:
    """No such process, or only a zombie nobody reaped yet (containers' init may not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def test_handler_sees_its_event_a_lambda_context_and_environment() -> None:
    raw = config({"acme-connector": f"{HANDLERS}:echo"})
    sent = event()
    response = run(
        raw, lambda invoker: invoker.invoke(f"{ARN}:live", sent, account_id=ACCOUNT, region=REGION)
    )
    assert isinstance(response, ConnectorResponse)
    assert response.response_code == 200
    assert response.raw == {"header": {"responseCode": 200}, "payload": response.payload}
    seen = response.payload
    assert seen["event"] == sent
    context = seen["context"]
    assert context["function_name"] == "acme-connector"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == f"{ARN}:live"
    assert context["memory_limit_in_mb"] == "128"
    assert uuid.UUID(context["aws_request_id"])
    assert context["log_group_name"] == "/aws/lambda/acme-connector"
    assert context["log_stream_name"].endswith(f"[$LATEST]{context['log_stream_name'][-32:]}")
    assert 0 < context["remaining_ms"] <= 1000
    env = seen["env"]
    assert env["AWS_ACCESS_KEY_ID"] == IDENTITY.access_key
    assert env["AWS_SECRET_ACCESS_KEY"] == IDENTITY.secret_key
    assert env["AWS_SESSION_TOKEN"] is None
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS"] == ENDPOINT
    assert env["AWS_ENDPOINT_URL"] is None  # the handler's other AWS calls are unaffected
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "acme-connector"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/acme-connector"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == context["log_stream_name"]
    assert seen["importTimeAccessKey"] == IDENTITY.access_key
    assert seen["pid"] != os.getpid()


def test_a_handler_may_answer_with_json_text() -> None:
    raw = config({ARN: f"{HANDLERS}.as_json_text"})  # Lambda's module.function form too
    response = run(
        raw, lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION)
    )
    assert response.payload == {"responseMessage": "ok", "text": True}


def test_handler_modules_load_from_the_configured_python_path(tmp_path: Path) -> None:
    package = tmp_path / "acme_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "connector.py").write_text(
        "def handler(event, context):\n"
        "    answer = {'id': event['payload']['connectorId']}\n"
        "    return {'header': {'responseCode': 202}, 'payload': answer}\n"
    )
    raw = config({"acme-connector": "acme_pkg.connector:handler"}, python_path=[str(tmp_path)])
    response = run(
        raw, lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION)
    )
    assert (response.response_code, response.payload) == (202, {"id": "c1"})


def test_failures_are_retried_until_the_handler_succeeds(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    raw = config(
        {"acme-connector": f"{HANDLERS}:flaky"}, backoff_seconds=0.05, backoff_max_seconds=1
    )
    started = time.monotonic()
    response = run(
        raw,
        lambda invoker: invoker.invoke(
            ARN, event(counter, failures=2), account_id=ACCOUNT, region=REGION
        ),
    )
    assert response.payload["attempt"] == 3
    assert attempts(counter) == 3
    assert time.monotonic() - started >= 0.05 + 0.1  # backoff 100 ms * 2^n, scaled down


def test_a_handler_that_always_raises_fails_after_six_attempts(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    raw = config({"acme-connector": f"{HANDLERS}:always_raises"})
    with pytest.raises(ConnectorError) as caught:
        run(
            raw,
            lambda invoker: invoker.invoke(ARN, event(counter), account_id=ACCOUNT, region=REGION),
        )
    assert caught.value.kind == "function_error"
    assert caught.value.attempts == 6
    assert caught.value.message == "ValueError: the acme cloud is down"
    assert caught.value.response_code is None
    assert attempts(counter) == 6


def test_a_hanging_handler_times_out_and_its_worker_is_replaced(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    raw = config(
        {"acme-connector": f"{HANDLERS}:hang", "healthy": f"{HANDLERS}:echo"},
        timeout_seconds=0.5,
        retries=1,
        workers=1,
    )

    async def body(invoker: ConnectorInvoker) -> tuple[ConnectorError, list[int], int]:
        pids: list[int] = []
        started = time.monotonic()
        try:
            await invoker.invoke(ARN, event(counter), account_id=ACCOUNT, region=REGION)
        except ConnectorError as exc:
            error = exc
        assert 1.0 <= time.monotonic() - started < 5  # two attempts of 0.5 s each
        pids.extend(invoker.pool.pids())
        response = await invoker.invoke("healthy", event(), account_id=ACCOUNT, region=REGION)
        return error, pids, response.payload["pid"]

    error, pids_after_hang, healthy_pid = run(raw, body)
    assert (error.kind, error.attempts) == ("timeout", 2)
    assert "did not answer within 0.5 s" in error.message
    assert attempts(counter) == 2
    assert pids_after_hang == []  # both hung workers were killed
    assert healthy_pid != os.getpid()


def test_a_worker_that_exits_is_an_invocation_error_and_the_pool_recovers(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    raw = config({"acme-connector": f"{HANDLERS}:exit_once"}, retries=0)

    async def body(invoker: ConnectorInvoker) -> tuple[ConnectorError, ConnectorResponse]:
        try:
            await invoker.invoke(ARN, event(counter), account_id=ACCOUNT, region=REGION)
        except ConnectorError as exc:
            error = exc
        return error, await invoker.invoke(ARN, event(counter), account_id=ACCOUNT, region=REGION)

    error, response = run(raw, body)
    assert (error.kind, error.attempts) == ("invocation_error", 1)
    assert "exited with status 3" in error.message
    assert response.response_code == 200
    assert attempts(counter) == 2


def test_an_exit_is_retried_like_any_invocation_error(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    raw = config({"acme-connector": f"{HANDLERS}:exit_once"})
    response = run(
        raw, lambda invoker: invoker.invoke(ARN, event(counter), account_id=ACCOUNT, region=REGION)
    )
    assert response.response_code == 200
    assert attempts(counter) == 2


def test_a_segfault_is_an_invocation_error(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    raw = config({"acme-connector": f"{HANDLERS}:segfault"}, retries=1)
    with pytest.raises(ConnectorError) as caught:
        run(
            raw,
            lambda invoker: invoker.invoke(ARN, event(counter), account_id=ACCOUNT, region=REGION),
        )
    assert (caught.value.kind, caught.value.attempts) == ("invocation_error", 2)
    assert "killed by SIGSEGV" in caught.value.message
    assert attempts(counter) == 2


def test_a_non_2xx_answer_fails_at_once(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    raw = config({"acme-connector": f"{HANDLERS}:refuse"})
    with pytest.raises(ConnectorError) as caught:
        run(
            raw,
            lambda invoker: invoker.invoke(ARN, event(counter), account_id=ACCOUNT, region=REGION),
        )
    error = caught.value
    assert (error.kind, error.attempts, error.response_code) == ("non_2xx", 1, 401)
    assert error.message == "token expired"
    assert error.raw == {
        "header": {"responseCode": 401},
        "payload": {"responseMessage": "token expired"},
    }
    assert attempts(counter) == 1


@pytest.mark.parametrize(
    "answer",
    [
        ["not", "an", "object"],
        {"payload": {}},
        {"header": {"responseCode": "OK"}, "payload": {}},
        {"header": {"responseCode": 200}, "payload": "text"},
        "not json",
        None,
    ],
)
def test_a_malformed_answer_is_a_bad_response_without_retry(tmp_path: Path, answer: object) -> None:
    counter = tmp_path / "attempts"
    raw = config({"acme-connector": f"{HANDLERS}:malformed"})
    with pytest.raises(ConnectorError) as caught:
        run(
            raw,
            lambda invoker: invoker.invoke(
                ARN, event(counter, answer=answer), account_id=ACCOUNT, region=REGION
            ),
        )
    assert (caught.value.kind, caught.value.attempts) == ("bad_response", 1)
    assert attempts(counter) == 1


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("tests.connectors.no_such_module:handler", "Runtime.ImportModuleError"),
        (f"{HANDLERS}:no_such_function", "Runtime.HandlerNotFound"),
        (f"{HANDLERS}:NOT_CALLABLE", "Runtime.HandlerNotFound"),
    ],
)
def test_a_handler_that_cannot_load_is_a_function_error(handler: str, error_type: str) -> None:
    raw = config({"acme-connector": handler}, retries=1)
    with pytest.raises(ConnectorError) as caught:
        run(raw, lambda invoker: invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION))
    assert (caught.value.kind, caught.value.attempts) == ("function_error", 2)
    assert caught.value.message.startswith(f"{error_type}: ")


def test_workers_are_reused_per_function_account_and_region() -> None:
    other = Identity("other-key", "other-secret", "210987654321")
    raw = config({"acme-connector": f"{HANDLERS}:echo"}, workers=1)

    async def body(invoker: ConnectorInvoker) -> list[tuple[int, str]]:
        seen = []
        for account in (ACCOUNT, ACCOUNT, other.account_id, ACCOUNT):
            response = await invoker.invoke(
                "acme-connector", event(), account_id=account, region=REGION
            )
            seen.append((response.payload["pid"], response.payload["env"]["AWS_ACCESS_KEY_ID"]))
            assert invoker.pool.size == 1
        return seen

    seen = run(raw, body, identities=(IDENTITY, other))
    assert seen[0] == seen[1]  # warm: the same worker
    assert seen[2][1] == "other-key"  # another account: another worker, its own credentials
    assert seen[3][1] == IDENTITY.access_key
    assert len({pid for pid, _ in seen}) == 3  # with one slot, workers are replaced, not shared
    assert _gone(seen[0][0])


def test_invocations_run_in_parallel_up_to_the_pool_size() -> None:
    raw = config({"acme-connector": f"{HANDLERS}:sleep"}, workers=2)

    async def body(invoker: ConnectorInvoker) -> tuple[list[ConnectorResponse], float]:
        # Warm both workers first, so the timing below measures handler time only.
        calls = [
            invoker.invoke(ARN, event(seconds=0), account_id=ACCOUNT, region=REGION)
            for _ in range(2)
        ]
        await asyncio.gather(*calls)
        started = time.monotonic()
        calls = [
            invoker.invoke(ARN, event(seconds=0.4), account_id=ACCOUNT, region=REGION)
            for _ in range(4)
        ]
        responses = await asyncio.gather(*calls)
        return responses, time.monotonic() - started

    responses, elapsed = run(raw, body)
    assert len({response.payload["pid"] for response in responses}) == 2
    assert 0.8 <= elapsed < 1.5  # four calls of 0.4 s, two at a time


def test_close_stops_every_worker() -> None:
    raw = config({"acme-connector": f"{HANDLERS}:echo"})

    async def body(invoker: ConnectorInvoker) -> int:
        response = await invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION)
        await invoker.close()
        with pytest.raises(ConnectorError) as caught:
            await invoker.invoke(ARN, event(), account_id=ACCOUNT, region=REGION)
        assert (caught.value.kind, caught.value.attempts) == ("invocation_error", 0)
        return int(response.payload["pid"])

    assert _gone(run(raw, body))


def test_without_an_identity_the_handler_keeps_thinghubs_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ambient-key")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "ambient-token")
    raw = config({"acme-connector": f"{HANDLERS}:echo"})
    response = run(
        raw,
        lambda invoker: invoker.invoke(ARN, event(), account_id="999999999999", region="eu-west-1"),
    )
    env = response.payload["env"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SESSION_TOKEN"]) == ("ambient-key", "ambient-token")
    assert env["AWS_REGION"] == "eu-west-1"
    assert response.payload["context"]["invoked_function_arn"] == ARN  # the ARN's own account


HOST_SCRIPT = """
import asyncio, sys
from tests.connectors.support import ACCOUNT, HANDLERS, REGION, config, event, run

async def body(invoker):
    task = asyncio.create_task(
        invoker.invoke("stuck", event(sys.argv[1]), account_id=ACCOUNT, region=REGION)
    )
    while not invoker.pool.pids() or not __import__("os").path.exists(sys.argv[1]):
        await asyncio.sleep(0.01)
    print(invoker.pool.pids()[0], flush=True)
    await task

run(config({"stuck": HANDLERS + ":hang"}, timeout_seconds=60), body)
"""


def test_a_hung_worker_dies_with_thinghub(tmp_path: Path) -> None:
    """Even when thinghub is killed outright, a worker stuck in a handler does not linger."""
    host = subprocess.Popen(
        [sys.executable, "-c", HOST_SCRIPT, str(tmp_path / "attempts")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert host.stdout is not None
        worker = int(host.stdout.readline())
        assert not _gone(worker)
    finally:
        host.kill()
        host.wait()
    deadline = time.monotonic() + 5
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _gone(worker)
