"""The pool of local handler worker processes.

Connector code runs in worker processes so that a crash (os._exit, a segfault) or a hang in it
never takes thinghub down: a worker that dies answers ``invocation_error``, one that overruns
its timeout is killed (with everything it started) and answers ``timeout``; either way its
slot is free again and the next invocation starts a fresh worker.

Like a Lambda execution environment, a worker serves one function for one account and region:
its environment (credentials, region) is fixed when it starts, before the handler module is
imported, so module-level boto3 clients behave as on Lambda. At most `workers` processes live
at once; an invocation that finds no idle worker of its function replaces the least recently
used idle worker of another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from thinghub.connectors.functions import LocalFunction
from thinghub.connectors.responses import AttemptFailed, function_error_message
from thinghub.connectors.settings import ConnectorSettings
from thinghub.connectors.worker import HEADER

log = logging.getLogger("thinghub.connectors")

# Builds a worker's whole environment for the function it will serve.
Environment = Callable[[LocalFunction], dict[str, str]]


class WorkerDied(Exception):
    pass


@dataclass(eq=False)
class Worker:
    function: LocalFunction
    process: asyncio.subprocess.Process

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(HEADER.pack(len(body)) + body)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerDied() from exc

    async def call(self, message: dict[str, Any]) -> dict[str, Any]:
        await self.send(message)
        return await self.receive()

    async def receive(self) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            (length,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
            reply: dict[str, Any] = json.loads(await stdout.readexactly(length))
        except asyncio.IncompleteReadError as exc:
            raise WorkerDied() from exc
        return reply

    async def kill(self) -> None:
        """Kill the worker and whatever it started (it leads its own process group)."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self, grace: float = 1.0) -> None:
        """End of input asks the worker to exit; one that does not is killed."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            await self.kill()

    def exit_description(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"


class WorkerPool:
    def __init__(self, settings: ConnectorSettings, environment: Environment) -> None:
        self._settings = settings
        self._environment = environment
        self._slots = asyncio.Semaphore(settings.workers)  # binds to a loop on first use
        self._idle: list[Worker] = []  # least recently used first
        self._live: set[Worker] = set()
        self._closed = False

    async def invoke(self, function: LocalFunction, event: Any, request_id: str) -> Any:
        """What the handler returned (decoded JSON); AttemptFailed when it gave no answer."""
        timeout = self._settings.timeout_seconds
        request = {"event": event, "requestId": request_id, "timeoutMs": int(timeout * 1000)}
        async with self._slots:
            worker = await self._checkout(function)
            try:
                reply = await asyncio.wait_for(worker.call(request), timeout)
            except TimeoutError:
                await self._discard(worker)
                raise AttemptFailed(
                    "timeout", f"{function.handler} did not answer within {timeout:g} s"
                ) from None
            except WorkerDied:
                await self._discard(worker)
                raise AttemptFailed(
                    "invocation_error",
                    f"the worker running {function.handler} {worker.exit_description()}",
                ) from None
            except BaseException:
                # Cancelled mid-invocation: the worker's state is unknown, so it goes.
                await self._discard(worker)
                raise
            self._idle.append(worker)
        if "error" in reply:
            raise AttemptFailed("function_error", function_error_message(reply["error"]))
        return reply.get("result")

    async def _checkout(self, function: LocalFunction) -> Worker:
        """An idle worker of this function, or a new one (holding a slot guarantees room)."""
        for worker in reversed(self._idle):
            if worker.function == function:
                self._idle.remove(worker)
                if worker.alive:
                    return worker
                await self._discard(worker)  # died while idle (a thread it left behind, say)
                break
        if len(self._live) >= self._settings.workers and self._idle:
            evicted = self._idle.pop(0)
            self._live.discard(evicted)
            await evicted.stop()
        return await self._start(function)

    async def _start(self, function: LocalFunction) -> Worker:
        if self._closed:
            raise AttemptFailed("invocation_error", "the connector invoker is closed", retry=False)
        env = self._environment(function)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "thinghub.connectors.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a kill takes its children too
        )
        worker = Worker(function, process)
        self._live.add(worker)
        init = {
            "handler": [function.handler.module, function.handler.function],
            "path": [os.getcwd(), *self._settings.python_path],
            "function": {
                "name": function.ref.name,
                "version": function.version,
                "arn": function.arn,
                "memory": env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
                "logGroup": env["AWS_LAMBDA_LOG_GROUP_NAME"],
                "logStream": env["AWS_LAMBDA_LOG_STREAM_NAME"],
            },
        }
        init_timeout = self._settings.init_timeout_seconds
        try:
            reply = await asyncio.wait_for(worker.call(init), init_timeout)
        except TimeoutError:
            await self._discard(worker)
            raise AttemptFailed(
                "timeout", f"{function.handler} did not load within {init_timeout:g} s"
            ) from None
        except WorkerDied:
            await self._discard(worker)
            raise AttemptFailed(
                "invocation_error",
                f"the worker loading {function.handler} {worker.exit_description()}",
            ) from None
        except BaseException:
            await self._discard(worker)
            raise
        if "error" in reply:
            await self._discard(worker)
            raise AttemptFailed("function_error", function_error_message(reply["error"]))
        log.debug("worker %d serves %s for %s", process.pid, function.arn, function.handler)
        return worker

    async def _discard(self, worker: Worker) -> None:
        self._live.discard(worker)
        await worker.kill()

    @property
    def size(self) -> int:
        """Live worker processes (idle or busy)."""
        return len(self._live)

    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self._live]

    async def close(self) -> None:
        self._closed = True
        workers, self._live, self._idle = list(self._live), set(), []
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
