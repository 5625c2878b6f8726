"""``thinghub demo``: thinghub's main job end to end, on the embedded database, in one command.

1. start the Acme cloud (a simulated vendor, consent auto-approved), thinghub with the Acme
   connector as a local Lambda handler, and the connector's webhook receiver;
2. as a customer would, with stock boto3: create the cloud connector and its OAuth
   destination, link the end user's Acme account, discover her devices and make them managed
   things, install the IoT Events detector models of ``examples/automations`` on their device
   events, then send them commands;
3. keep the simulated devices changing (and send a command now and then, and once in a while
   bring a heat wave), logging what flows where, detectors included, until Ctrl-C, SIGTERM or
   the end of ``--duration``.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from thinghub.config import DEFAULT_PORT
from thinghub.demo import processes
from thinghub.demo.automations import (
    HEARTBEAT_MODEL,
    HOT_MODEL,
    HOT_STATE,
    OFFLINE,
    Automations,
    Transition,
    heartbeat_seconds,
)
from thinghub.demo.commands import FAN_CONTROL, OPENING, ROUTINE, Command
from thinghub.demo.commands import FAN_HIGH as FAN_TO_HIGH
from thinghub.demo.customer import Customer, Thing
from thinghub.demo.household import DEVICES, FAN, SENSOR, USER, Change, World
from thinghub.demo.livelog import LiveLog
from thinghub.demo.lookaround import instructions
from thinghub.demo.states import STATIC, Reading, States
from thinghub.demo.workspace import (
    CONNECTOR_ARN,
    DEFAULT_DATA_DIR,
    FAN_HIGH,
    FAN_HIGH_HANDLER,
    REGION,
    DemoError,
    Workspace,
    prepare,
    webhook_secret,
)
from thinghub.identities import DEFAULT_IDENTITY

COMMAND_TIMEOUT = 10.0  # for a command's effect to show in thinghub's state
SETTLED_TIMEOUT = 1.0  # ... when the state already shows what the command sets
EVENT_TIMEOUT = 5.0  # for a device event's effect to show in thinghub's state
DETECTOR_TIMEOUT = 2.0  # for a device event to reach the thing's detectors
COMMAND_EVERY = 3  # live steps per routine command
HEAT_WAVE_EVERY = 120.0  # seconds from the end of a heat wave to the next one
ACME_ARGS = ("-m", "examples.acme_cloud", "--port", "0", "--auto-approve", "--seed-file")


@dataclass(frozen=True)
class Options:
    port: int = DEFAULT_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    duration: float | None = None  # seconds of live log after set-up; None: until stopped
    interval: float = 2.0  # seconds between two physical changes
    quiet: bool = False
    color: bool = True
    heat_wave_after: float | None = 10.0  # seconds of live log before the first heat wave


@dataclass
class Tally:
    """What the demo did, for the closing summary."""

    commands: int = 0
    confirmed: int = 0  # commands whose effect thinghub's state showed
    events: int = 0  # physical changes delivered to thinghub as DEVICE_EVENT
    problems: int = 0
    transitions: Counter[str] = field(default_factory=Counter)  # "too-hot Normal → TooHot"
    detector_commands: int = 0  # commands the detectors' function sent
    detector_confirmed: int = 0  # ... whose effect thinghub's state showed


@dataclass
class Demo:
    options: Options
    log: LiveLog
    children: list[processes.Child] = field(default_factory=list)
    things: dict[str, Thing] = field(default_factory=dict)  # by Acme device id
    tally: Tally = field(default_factory=Tally)
    workspace: Workspace | None = None
    customer: Customer | None = None
    acme: httpx.Client | None = None
    world: World = field(default_factory=World)
    states: States | None = None
    automations: Automations | None = None

    # ----- processes ----------------------------------------------------------------------------

    def start_processes(self) -> tuple[str, str]:
        """Acme, thinghub and the webhook receiver; (thinghub's URL, Acme's URL)."""
        self.log.heading("thinghub demo: starting")
        workspace = self.workspace = prepare(self.options.data_dir)
        self.log.done(f"fresh data directory {workspace.root}")
        base = processes.base_environment()
        examples = workspace.examples
        acme = self._start(
            "the Acme cloud",
            [*ACME_ARGS, str(workspace.acme_seed)],
            log="acme-cloud",
            cwd=examples,
            env=base,
            banner="acme-cloud listening on",
            health="/health",
        )
        self.acme = httpx.Client(base_url=acme.url, timeout=30)
        self.log.done(
            f"Acme cloud (the simulated vendor, OAuth consent auto-approved) on {acme.url}"
        )
        # The connector subscribes the user to Acme's webhooks with this URL when she links,
        # so thinghub's environment names it before the receiver itself can start.
        webhook_url = f"http://127.0.0.1:{processes.free_port()}"
        secret = webhook_secret()
        hub = self._start(
            "thinghub",
            [
                *("-m", "thinghub", "serve", "--port", str(self.options.port)),
                *("--data-dir", str(workspace.thinghub_data)),
                *("--config", str(workspace.thinghub_config)),
            ],
            log="thinghub",
            cwd=workspace.root,
            env={
                **base,
                "ACME_CLOUD_URL": acme.url,
                "ACME_WEBHOOK_URL": webhook_url,
                "ACME_WEBHOOK_SECRET": secret,
            },
            banner="thinghub listening on",
            health="/_thinghub/health",
        )
        self.log.done(
            f"thinghub on {hub.url} (SQLite in {workspace.thinghub_data}); the Acme connector "
            f"runs as Lambda {CONNECTOR_ARN.rsplit(':', 1)[-1]} (examples/acme_connector)"
        )
        self._start(
            "the webhook receiver",
            ["-m", "examples.acme_connector.webhook", "--port", webhook_url.rsplit(":", 1)[1]],
            log="acme-webhook",
            cwd=examples,
            env={
                **base,
                "ACME_WEBHOOK_SECRET": secret,
                # Where its SendConnectorEvent calls go, signed as the connector's account.
                "AWS_ENDPOINT_URL_IOT_MANAGED_INTEGRATIONS": hub.url,
                "AWS_ACCESS_KEY_ID": DEFAULT_IDENTITY.access_key,
                "AWS_SECRET_ACCESS_KEY": DEFAULT_IDENTITY.secret_key,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
            },
            banner="acme-webhook listening on",
        )
        self.log.done(
            f"the connector's webhook receiver on {webhook_url} "
            "(Acme device changes -> SendConnectorEvent DEVICE_EVENT)"
        )
        return hub.url, acme.url

    def _start(self, name: str, args: list[str], *, log: str, **kwargs: Any) -> processes.Child:
        assert self.workspace is not None
        try:
            child = processes.start(name, args, log=self.workspace.log(log), **kwargs)
        except DemoError as exc:
            hint = " (--port 0 picks a free port)" if "cannot listen" in str(exc) else ""
            raise DemoError(f"{exc}{hint}") from None
        self.children.append(child)
        return child

    def stop(self) -> None:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if self.customer is not None:
            self.customer.close()
        if self.automations is not None:
            self.automations.close()
        if self.acme is not None:
            self.acme.close()
        for child in reversed(self.children):
            child.stop()
        if self.children:
            names = [child.name for child in reversed(self.children)]
            listed = ", ".join(names[:-1]) + " and " if len(names) > 1 else ""
            self.log.done(f"stopped {listed}{names[-1]}")
        if self.workspace is not None:
            self.log.done(f"logs and data stay in {self.workspace.root} until the next demo")

    # ----- set-up: connector, linking, discovery, things ------------------------------------------

    def set_up(self, endpoint: str, acme_url: str) -> None:
        assert self.workspace is not None
        self.log.block(
            "Look around while it runs",
            instructions(endpoint, acme_url, str(self.workspace.root)),
        )
        customer = self.customer = Customer(endpoint, acme_url)
        self.log.heading("Connecting Acme, as a customer of managed integrations would")
        connector, destination = customer.create_connector()
        self.log.done(f"CreateCloudConnector {connector} (Lambda {CONNECTOR_ARN})")
        self.log.done(f"CreateConnectorDestination {destination} (OAuth 2.0 at Acme)")

        association, url = customer.start_linking(destination)
        self.log.step(
            f"CreateAccountAssociation {association}: {USER}'s browser opens the "
            "OAuthAuthorizationUrl, Acme approves at once"
        )
        customer.consent(url, USER)
        self.log.flow("acme → thinghub", "OAuth callback", USER, "code exchanged for Acme's tokens")
        customer.wait_linked(association)
        self.log.flow(
            "thinghub → connector → acme", "AWS.ActivateUser", USER, "user id, webhook subscribed"
        )
        self.log.done(f"linked {USER}'s Acme account: {association} ASSOCIATION_SUCCEEDED")

        discovery, found = customer.discover(association)
        self.log.flow(
            "thinghub → connector → acme",
            "AWS.DiscoverDevices",
            USER,
            "GET /api/devices",
        )
        self.log.flow(
            "acme → connector → thinghub",
            "DEVICE_DISCOVERY",
            USER,
            f"{len(found)} devices with their Matter capability reports",
        )
        names = ", ".join(str(item.get("ConnectorDeviceName")) for item in found)
        self.log.done(f"discovered {len(found)} devices (discovery {discovery}): {names}")

        for item in found:
            thing = customer.create_thing(item)
            self.things[thing.device.id] = thing
        self.log.done(f"created {len(self.things)} managed things (DISCOVERED_DEVICE)")

    def install_automations(self, endpoint: str) -> None:
        """examples/automations: device events into an IoT Events input, its detector models
        (and an alarm model where this thinghub has them)."""
        assert self.workspace is not None and self.customer is not None
        automations = self.automations = Automations(endpoint, warn=self.log.warn)
        self.log.heading("Detectors: device events into IoT Events, commands back to devices")
        quiet = heartbeat_seconds(self.options.interval)
        models = automations.install(self.customer.mi, self.workspace.examples, quiet)
        self.log.done(
            f"detectors: {', '.join(models)} reading {automations.input} (CreateInput, "
            f"CreateDestination for the input, CreateNotificationConfiguration DEVICE_EVENT)"
        )
        self.log.step(
            f"{HOT_MODEL}: a sensor above 30 °C calls the local function {FAN_HIGH} "
            f"({FAN_HIGH_HANDLER}), which turns the fans to High with SendManagedThingCommand"
        )
        self.log.step(
            f"{HEARTBEAT_MODEL}: Online while a device reports, Offline after {quiet} s "
            "without a device event"
        )
        if automations.install_alarm(self.workspace.examples):
            self.log.done(
                f"alarm model {automations.alarm_model} on {automations.input}: ACTIVE while a "
                "sensor reads above 30 °C"
            )
        else:
            self.log.warn(f"no alarms on this thinghub ({automations.no_alarms}); skipped")

    def show_things(self) -> None:
        rows = []
        for thing in self._things():
            # matter.LevelControl@1.4 -> LevelControl
            capabilities = [key.split(".", 1)[-1].split("@")[0] for key in thing.capabilities]
            rows.append((thing.name, thing.device.type, thing.id, ", ".join(capabilities)))
        columns = ("Name", "Acme type", "ManagedThingId", "Capabilities (Matter clusters)")
        self.log.table("Managed things", columns, rows, keep=2)

    def show_states(self, states: States) -> None:
        rows = []
        for thing in self._things():
            shown = [
                reading.text()
                for reading in states.read(thing).values()
                if reading.name not in STATIC
            ]
            rows.append((thing.name, thing.id, ", ".join(shown) or "-"))
        if states.available:
            title = "Where things stand in thinghub (GetManagedThingState)"
            self.log.table(title, ("Name", "ManagedThingId", "Properties"), rows, keep=1)
        else:
            self.log.warn(f"no device state from this thinghub: {states.unavailable_reason}")

    def show_detectors(self, automations: Automations) -> None:
        models = automations.models()
        seen = automations.states()
        rows = []
        for thing in self._things():
            states = seen.get(thing.id, {})
            rows.append((thing.name, *(states.get(model, "-") for model in models)))
        title = "Detectors and alarms (iotevents-data ListDetectors, ListAlarms)"
        self.log.table(title, ("Name", *models), rows)

    def _things(self) -> list[Thing]:
        return [self.things[device.id] for device in DEVICES if device.id in self.things]

    def _name(self, thing_id: str) -> str:
        for thing in self.things.values():
            if thing.id == thing_id:
                return thing.name
        return thing_id

    # ----- commands and events ----------------------------------------------------------------

    def command(self, command: Command, states: States) -> None:
        assert self.customer is not None
        thing = self.things.get(command.device.id)
        if thing is None:
            return
        self.tally.commands += 1
        # The baseline: what the command changes shows against it.
        settled = command.settled(_values(states.read(thing)))
        try:
            trace = self.customer.send(thing, command)
        except ClientError as exc:
            self.tally.problems += 1
            error = exc.response.get("Error", {})
            self.log.flow(
                "you → thinghub",
                "SendManagedThingCommand",
                thing.name,
                f"{command.describe()}: {error.get('Code')}: {error.get('Message')}",
                failed=True,
            )
            return
        self.log.flow(
            "thinghub → connector → acme",
            "SendCommand",
            thing.name,
            f"{command.describe()}  (trace {trace[:8]})",
        )
        if self._show_effect(thing, states, settled):
            self.tally.confirmed += 1

    def _show_effect(self, thing: Thing, states: States, settled: bool) -> bool:
        """Wait for a command's effect in thinghub's state and log it with Acme's view;
        whether it changed the state. A `settled` command (the state already is what it
        sets) cannot change anything: its effect is not waited for long."""
        changed = states.wait_for_changes(thing, SETTLED_TIMEOUT if settled else COMMAND_TIMEOUT)
        vendor = self._acme_state(thing)
        self.world.observe(thing.device.id, vendor)
        acme_view = ", ".join(f"{key}={value}" for key, value in vendor.items())
        if changed:
            detail = "; ".join(reading.text() for reading in changed)
            self.log.flow(
                "acme → connector → thinghub",
                "DEVICE_COMMAND_RESPONSE",
                thing.name,
                f"{detail}   (acme: {acme_view})",
            )
            return True
        if not states.available:
            note = "no device state in this thinghub"
        else:
            note = "already so" if settled else "state unchanged"
        self.log.flow("acme", "device state", thing.name, f"{acme_view}   ({note})")
        return False

    def physical_change(self, change: Change, states: States) -> None:
        assert self.acme is not None
        answer = self.acme.post(f"/admin/devices/{change.device.id}/state", json=change.patch)
        answer.raise_for_status()
        body = answer.json()
        self.world.observe(change.device.id, body["device"]["state"])
        if not body["changed"]:
            return
        thing = self.things.get(change.device.id)
        name = thing.name if thing else change.device.name
        moved = ", ".join(f"{key} = {value}" for key, value in body["changed"].items())
        self.log.flow("world → acme", change.what, name, moved)
        failed = [d for d in body["deliveries"] if d.get("status") != 200]
        if not body["deliveries"] or failed:
            self.tally.problems += 1
            why = f"{failed[0].get('status')} {failed[0].get('error', '')}" if failed else "none"
            self.log.flow(
                "acme → connector",
                "webhook",
                name,
                f"not delivered: {why} (see logs/acme-webhook.log)",
                failed=True,
            )
            return
        self.tally.events += 1
        if thing is None:
            return
        changed = states.wait_for_changes(thing, EVENT_TIMEOUT)
        if changed:
            detail = "; ".join(reading.text() for reading in changed)
        elif states.available:
            detail = "(thinghub's state did not change)"
        else:
            detail = "delivered (connector answered 200)"
        self.log.flow("acme → connector → thinghub", "DEVICE_EVENT", name, detail)
        self.follow_detectors(states, thing)

    # ----- detectors ----------------------------------------------------------------------------

    def follow_detectors(self, states: States, reported: Thing | None = None) -> None:
        """Log what the detectors and alarms did since the last look; after a device event of
        `reported`, first wait for it to reach that thing's detectors."""
        automations = self.automations
        if automations is None:
            return
        if reported is None:
            transitions, _ = automations.poll()
        else:
            transitions = automations.wait_for(reported.id, DETECTOR_TIMEOUT)
        created: dict[str, list[Transition]] = {}
        for transition in transitions:
            if transition.before is None:
                created.setdefault(transition.key, []).append(transition)
        for key, news in created.items():
            detail = ", ".join(f"{t.model}: {t.after}" for t in news)
            self.log.flow("DEVICE_EVENT → detector", "new detectors", self._name(key), detail)
        for transition in transitions:
            if transition.before is not None:
                self._transition(transition, reported)
        # Then what the too-hot detectors' lambda action did.
        for transition in transitions:
            hot = ("detector", HOT_MODEL, HOT_STATE)
            if (transition.kind, transition.model, transition.after) == hot:
                self.detector_commands(self._name(transition.key), states)

    def _transition(self, transition: Transition, reported: Thing | None) -> None:
        self.tally.transitions[f"{transition.model} {transition.text()}"] += 1
        # Only the things' device events feed the input: any other change of a detector is a
        # timer's. Alarms have no timers.
        by_event = reported is not None and reported.id == transition.key
        cause = "DEVICE_EVENT" if by_event or transition.kind == "alarm" else "timer"
        detail = transition.text()
        if transition.model == HEARTBEAT_MODEL and transition.after == OFFLINE:
            quiet = heartbeat_seconds(self.options.interval)
            detail += f"   (no device event for {quiet} s)"
        self.log.flow(
            f"{cause} → {transition.kind}", transition.model, self._name(transition.key), detail
        )

    def detector_commands(self, sensor: str, states: States) -> None:
        """The too-hot detector's lambda action: `fan-high` commands every fan to High; show
        the commands' effect as thinghub's state and Acme see it."""
        fans = [thing for thing in self._things() if FAN_CONTROL in thing.capabilities]
        for fan in fans:
            self.tally.detector_commands += 1
            self.log.flow(
                f"detector → {FAN_HIGH}",
                "SendManagedThingCommand",
                fan.name,
                f"{FAN_TO_HIGH.describe()}   ({HOT_MODEL} at {sensor})",
            )
            settled = FAN_TO_HIGH.settled(_values(states.known(fan)))
            if self._show_effect(fan, states, settled):
                self.tally.detector_confirmed += 1

    def watch(self, states: States) -> None:
        """Log state changes nobody announced (a refresh, another client's command)."""
        for thing in self.things.values():
            for reading in states.changes(thing):
                self.log.flow("thinghub", "state", thing.name, reading.text())

    def _acme_state(self, thing: Thing) -> dict[str, Any]:
        assert self.acme is not None
        # An empty patch reads the device without changing it (and notifies nobody).
        answer = self.acme.post(f"/admin/devices/{thing.device.id}/state", json={})
        answer.raise_for_status()
        state: dict[str, Any] = answer.json()["device"]["state"]
        return state

    # ----- the whole run ----------------------------------------------------------------------

    def run(self) -> None:
        endpoint, acme_url = self.start_processes()
        self.set_up(endpoint, acme_url)
        assert self.customer is not None
        states = self.states = States(self.customer)
        self.show_things()
        self.install_automations(endpoint)

        self.log.heading("Commands: you → thinghub → connector → Acme, and the state coming back")
        for command in OPENING:
            self.command(command, states)

        duration = self.options.duration
        until = "until Ctrl-C" if duration is None else f"for {duration:g} s"
        self.log.heading(f"Live: the devices keep changing, {until}")
        self.live(states, None if duration is None else time.monotonic() + duration)

    def live(self, states: States, deadline: float | None) -> None:
        for device_id, thing in self.things.items():
            self.world.observe(device_id, self._acme_state(thing))
            states.read(thing)  # the baseline: only changes from here on are news
        routine = 0
        step = 0
        after = self.options.heat_wave_after
        heat_wave_at = None if after is None else time.monotonic() + after
        while deadline is None or time.monotonic() < deadline:
            next_step = time.monotonic() + self.options.interval
            self._check_children()
            heat_wave_at = self._weather(heat_wave_at)
            self.physical_change(self.world.step(), states)
            if step % COMMAND_EVERY == COMMAND_EVERY - 1:
                command = ROUTINE[routine % len(ROUTINE)]
                routine += 1
                if self.world.heat_wave and command.device == FAN:
                    # The fan is the too-hot detector's during a heat wave.
                    command = ROUTINE[routine % len(ROUTINE)]
                    routine += 1
                self.command(command, states)
            step += 1
            self.watch(states)
            self.follow_detectors(states)
            pause = next_step - time.monotonic()
            if deadline is not None:
                pause = min(pause, deadline - time.monotonic())
            if pause > 0:
                time.sleep(pause)

    def _weather(self, heat_wave_at: float | None) -> float | None:
        """Start the heat wave when it is due; once it is over, the next one's time."""
        now = time.monotonic()
        if heat_wave_at is not None and now >= heat_wave_at and not self.world.heat_wave:
            self.world.start_heat_wave()
            self.log.flow(
                "world", "heat wave", SENSOR.name, "the sun is on the porch, and everyone is out"
            )
            return None
        over = heat_wave_at is None and not self.world.heat_wave
        if over and self.options.heat_wave_after is not None:
            return now + HEAT_WAVE_EVERY
        return heat_wave_at

    def _check_children(self) -> None:
        for child in self.children:
            if not child.alive():
                raise DemoError(
                    f"{child.name} stopped unexpectedly; its log {child.log} ends with:\n"
                    + child.last_lines()
                )

    def finish(self) -> None:
        """Where things stand (while thinghub still runs), then what the demo did."""
        running = all(child.alive() for child in self.children)
        if self.states is not None and running:
            self.show_states(self.states)
        if self.automations is not None and self.automations.detector_models and running:
            with contextlib.suppress(ClientError, BotoCoreError):
                self.automations.poll()  # the latest states, for the table only
            self.show_detectors(self.automations)
        tally = self.tally
        self.log.console.print()
        self.log.done(
            f"linked 1 account, discovered and created {_count(len(self.things), 'managed thing')}"
            f", sent {_count(tally.commands, 'command')} ({tally.confirmed} confirmed in "
            f"thinghub's state), delivered {_count(tally.events, 'device event')}"
            + (f", {_count(tally.problems, 'problem')}" if tally.problems else "")
        )
        if self.automations is not None and self.automations.detector_models:
            seen = ", ".join(f"{count} {name}" for name, count in tally.transitions.items())
            self.log.done(
                f"detectors: {_count(tally.transitions.total(), 'state change')} seen"
                + (f" ({seen})" if seen else "")
                + f"; the detectors sent {_count(tally.detector_commands, 'command')} "
                f"({tally.detector_confirmed} confirmed in thinghub's state)"
            )


def _values(readings: dict[tuple[str, str], Reading]) -> dict[tuple[str, str], Any]:
    return {key: reading.value for key, reading in readings.items()}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_demo(options: Options) -> int:
    """Run the demo; the exit status (0 when stopped by Ctrl-C, SIGTERM or the duration)."""
    log = LiveLog(color=options.color, quiet=options.quiet)
    demo = Demo(options, log)
    # SIGTERM (say from a process manager) stops the demo the way Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    try:
        with contextlib.suppress(KeyboardInterrupt):
            demo.run()
        if demo.things:
            demo.finish()
    except KeyboardInterrupt:
        pass  # a second Ctrl-C: straight to stopping
    except DemoError as exc:
        log.error(str(exc))
        status = 1
    except (ClientError, BotoCoreError, httpx.HTTPError) as exc:
        log.error(f"a call failed: {exc}")
        status = 1
    finally:
        log.heading("Stopping")
        demo.stop()
    return status
