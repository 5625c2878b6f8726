"""Handlers calling thinghub back while their invocation is awaited: env, credentials, no
deadlock. The handler module is written as real connectors are: a module-level boto3 client
with no endpoint or credentials in the code.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import uvicorn

from tests.conftest import (
    OTHER_ACCESS_KEY,
    OTHER_ACCOUNT,
    OTHER_SECRET_KEY,
    REGION,
    RunningServer,
    make_client,
)
from tests.connectors.support import HANDLERS, config, event, run
from thinghub.app import ThinghubApp
from thinghub.config import Settings
from thinghub.connectors.invoker import ConnectorInvoker
from thinghub.connectors.responses import ConnectorResponse
from thinghub.hub import Hub
from thinghub.identities import DEFAULT_IDENTITY, Identity

API_HANDLER = "tests.connectors.api_handler:handler"
OTHER = Identity(OTHER_ACCESS_KEY, OTHER_SECRET_KEY, OTHER_ACCOUNT)
LAMBDA = f"arn:aws:lambda:{REGION}:{OTHER_ACCOUNT}:function:acme-api"


def test_a_handler_calls_thinghub_with_its_accounts_credentials(server: RunningServer) -> None:
    mine = make_client(
        server, "iot-managed-integrations", access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )
    theirs = make_client(server, "iot-managed-integrations")
    own = mine.create_cloud_connector(Name="acme", EndpointConfig={"lambda": {"arn": LAMBDA}})["Id"]
    foreign = theirs.create_cloud_connector(
        Name="other", EndpointConfig={"lambda": {"arn": LAMBDA}}
    )["Id"]

    response = run(
        config({"acme-api": API_HANDLER}, timeout_seconds=2.0),
        lambda invoker: invoker.invoke(LAMBDA, event(), account_id=OTHER_ACCOUNT, region=REGION),
        endpoint=server.url,
        identities=(OTHER,),
    )
    assert response.payload["endpoint"] == server.url
    assert response.payload["region"] == REGION
    assert own in response.payload["connectorIds"]
    assert foreign not in response.payload["connectorIds"]


def test_thinghub_serves_a_handler_on_the_loop_that_awaits_it(tmp_path: Path) -> None:
    """thinghub's API and the invoker share one event loop, as in `thinghub serve`."""
    hub = Hub(Settings(data_dir=tmp_path, identities=(DEFAULT_IDENTITY, OTHER)))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    api = uvicorn.Server(uvicorn.Config(ThinghubApp(hub), lifespan="on", log_level="warning"))

    async def body(invoker: ConnectorInvoker) -> list[ConnectorResponse]:
        serving = asyncio.create_task(api.serve(sockets=[sock]))
        try:
            while not api.started:
                await asyncio.sleep(0.01)
            calls = [
                invoker.invoke(LAMBDA, event(), account_id=OTHER_ACCOUNT, region=REGION)
                for _ in range(3)
            ]
            return await asyncio.gather(*calls)
        finally:
            api.should_exit = True
            await serving

    responses = run(
        config({"acme-api": API_HANDLER}, timeout_seconds=2.0, retries=0),
        body,
        endpoint=url,
        identities=(OTHER,),
    )
    assert [response.payload["connectorIds"] for response in responses] == [[], [], []]


def test_the_event_loop_keeps_running_while_a_handler_works() -> None:
    """The handler GETs a URL served by the loop that awaits it: a blocked loop would hang."""

    async def body(invoker: ConnectorInvoker) -> ConnectorResponse:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
            await writer.drain()
            writer.close()

        listener = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        async with listener:
            return await invoker.invoke(
                "fetch",
                event(url=f"http://127.0.0.1:{port}/"),
                account_id=OTHER_ACCOUNT,
                region=REGION,
            )

    response = run(config({"fetch": f"{HANDLERS}:fetch"}, retries=0), body)
    assert response.payload["body"] == "hello"
