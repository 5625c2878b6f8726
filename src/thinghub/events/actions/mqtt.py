"""iotTopicPublish: QoS 1 MQTT publishes over one persistent, self-reconnecting connection.

paho's network thread owns the socket and reconnects on its own (1 s to 30 s back-off). A
delivery waits for the broker's PUBACK before it succeeds, so a delivery that returns has
reached the broker (at-least-once); one that times out is retried by the outbox, and paho may
still resend the original after a reconnect, which at-least-once allows.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from thinghub.events.actions.errors import DeliveryError, permanent, transient
from thinghub.events.actions.settings import MqttSettings


class MqttPublisher:
    def __init__(self, settings: MqttSettings) -> None:
        self._settings = settings
        self._client: paho.Client | None = None
        self._connected = threading.Event()
        self._last_error = "not connected yet"
        # PUBACKs arrive on paho's thread, possibly before the publisher has registered its
        # waiter (publish() returns only after sending): `_early` holds those. `_abandoned`
        # holds the ids of messages nobody waits for any more (timed out, cancelled), so that
        # their late PUBACK cannot confirm a newer message reusing the id.
        self._lock = threading.Lock()
        self._waiters: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = {}
        self._early: set[int] = set()
        self._abandoned: set[int] = set()

    @property
    def where(self) -> str:
        return f"mqtt://{self._settings.host}:{self._settings.port}"

    async def publish(self, topic: str, text: str) -> None:
        """Publish `text` to `topic` at QoS 1 and wait for the broker's PUBACK."""
        client = await self._connected_client()
        try:
            info = client.publish(topic, text.encode("utf-8"), qos=1)
        except ValueError as exc:  # empty topic, wildcards, oversize payload
            raise permanent(f"iotTopicPublish: topic {topic!r}: {exc}") from None
        # NO_CONN: the connection dropped just now; paho keeps the message and sends it once
        # it has reconnected, so the PUBACK may still come within the timeout.
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise transient(
                f"iotTopicPublish: {self.where}: publish failed: {paho.error_string(info.rc)}"
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
                return
            self._waiters[info.mid] = (loop, future)
        try:
            await asyncio.wait_for(future, self._settings.publish_timeout)
        except TimeoutError:
            raise transient(
                f"iotTopicPublish: {self.where}: no PUBACK within "
                f"{self._settings.publish_timeout} s"
            ) from None
        finally:
            if not future.done() or future.cancelled():  # timed out or cancelled
                self._abandon(info.mid)

    def _abandon(self, mid: int) -> None:
        """Nobody waits for message `mid` any more: its PUBACK, if one comes, is dropped."""
        with self._lock:
            if self._waiters.pop(mid, None) is not None:  # else its PUBACK came just now
                self._abandoned.add(mid)

    async def _connected_client(self) -> paho.Client:
        if self._client is None:
            try:
                self._client = self._new_client()
            except (OSError, ValueError) as exc:  # unreadable TLS files, bad TLS settings
                raise transient(f"iotTopicPublish: {self.where}: {exc}") from exc
        if not self._connected.is_set():
            # paho keeps reconnecting in its thread; wait for it without blocking the loop.
            timeout = self._settings.connect_timeout
            if not await asyncio.to_thread(self._connected.wait, timeout):
                raise transient(f"iotTopicPublish: {self.where}: {self._last_error}")
        return self._client

    def _new_client(self) -> paho.Client:
        settings = self._settings
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(
                ca_certs=settings.ca_file, certfile=settings.cert_file, keyfile=settings.key_file
            )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.connect_async(settings.host, settings.port, settings.keepalive)
        client.loop_start()  # the network thread retries the first connection too
        return client

    # ----- paho callbacks (paho's network thread) ---------------------------------------------

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._last_error = f"connection refused by the broker: {reason}"
            return
        self._connected.set()

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        self._last_error = "cannot connect to the broker"

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._connected.clear()
        self._last_error = f"disconnected: {reason}"

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        with self._lock:
            if mid in self._abandoned:
                self._abandoned.discard(mid)
                return
            waiter = self._waiters.pop(mid, None)
            if waiter is None:
                self._early.add(mid)
                return
        error = None
        if reason.is_failure:  # MQTT 5 only; 3.1.1 PUBACKs carry no reason
            error = permanent(f"iotTopicPublish: the broker rejected the message: {reason}")
        loop, future = waiter
        loop.call_soon_threadsafe(_settle, future, error)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        self._connected.clear()
        with self._lock:
            waiters, self._waiters = self._waiters, {}
        for loop, future in waiters.values():
            error = transient(f"iotTopicPublish: {self.where}: the publisher was closed")
            loop.call_soon_threadsafe(_settle, future, error)


def _settle(future: asyncio.Future[None], error: DeliveryError | None) -> None:
    if future.done():  # the waiter timed out meanwhile
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
