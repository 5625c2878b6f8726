"""Detector engine throughput in process, no HTTP: the motor model (BATCH), many keys.

Two measurements, each beside a baseline measured in the same run:

1. Pure evaluation: `Evaluator.evaluate` over detector instances held in memory, one decoded
   reading per evaluation. Baseline: the same state machine hand-written as a plain Python
   loop over dicts (the floor any interpreter of the model pays).
2. The engine with storage: `DetectorEngine.put_messages` on SQLite (WAL, in a temporary
   directory), `--batch` messages per transaction, as BatchPutMessage calls it: de-duplicate
   the message ids (random UUIDs, as SDK users send), load, evaluate and write the detectors,
   timers and outbox items, commit. Every detector exists beforehand (the steady state).
   Baseline: the raw sqlite3 cost of a transaction doing the same rows of storage work (mark
   the message ids, read the detectors, update them) on a similar schema, no Python between.

Each figure is the best of `--repeat` passes (storage: of `--repeat` equal chunks of the
messages), in wall-clock time and in CPU time of this process; the load average is printed
because other processes on the machine move wall-clock figures.

Usage (from the repository root):

    python bench/events_engine.py [--keys 10000] [--evaluations 200000] [--messages 30000]
                                  [--batch 10 100] [--repeat 5] [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:
    from bench import events_common as common
except ImportError:  # run as a script: bench/ is on sys.path, the repository root is not
    import events_common as common  # type: ignore[no-redef]

from thinghub.events.runtime import codec
from thinghub.events.runtime.engine import Message
from thinghub.events.runtime.evaluation import Evaluator, Instance, Trigger
from thinghub.events.runtime.model import compile_model
from thinghub.events.runtime.service import EventsRuntime
from thinghub.store import Scope

Rate = tuple[float, float]  # (per wall-clock second, per CPU second)


def _readings(keys: int, count: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    pressures = common.pressures(count, seed)
    return [
        (key, common.payload_bytes(key, pressure))
        for key, pressure in zip(
            (common.motor_key(rng.randrange(keys)) for _ in range(count)), pressures, strict=True
        )
    ]


def _best(run: Callable[[], Any], work: int, repeat: int) -> tuple[Rate, Any]:
    """The best rate of `repeat` calls of `run` (each doing `work` units), and its result."""
    best_wall = best_cpu = 0.0
    result = None
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best_wall = max(best_wall, work / wall)
        best_cpu = max(best_cpu, work / cpu) if cpu > 0 else best_cpu
    return (best_wall, best_cpu), result


# ----- 1. pure evaluation -------------------------------------------------------------------


def bench_evaluator(keys: int, evaluations: int, repeat: int) -> tuple[Rate, Rate, int]:
    """(Evaluator.evaluate rate, hand-written baseline rate, actions per pass)."""
    definition = common.motor_model()
    model = compile_model(
        common.MODEL, "1", definition["key"], "BATCH", definition["detectorModelDefinition"]
    )
    evaluator = Evaluator(model)
    now = time.time()
    triggers = [
        (key, Trigger("Message", common.INPUT, f"m{i}", codec.loads(raw), event_time_ms=1))
        for i, (key, raw) in enumerate(_readings(keys, evaluations, seed=1))
    ]

    def run(instances: dict[str, Instance]) -> int:
        dispatches = 0
        evaluate = evaluator.evaluate
        for key, trigger in triggers:
            dispatches += len(evaluate(instances[key], trigger, now, created=False).dispatches)
        return dispatches

    def fresh_instances() -> dict[str, Instance]:
        instances: dict[str, Instance] = {}
        for index in range(keys):  # every detector exists: the steady state
            key = common.motor_key(index)
            instances[key] = instance = evaluator.create(key, now)
            first = Trigger("Message", common.INPUT, "c", {"motorid": key, "sensorData": {}})
            evaluator.evaluate(instance, first, now, created=True)
        return instances

    # Each pass starts from the same detectors, so every pass does the same work.
    detectors_for_pass = [fresh_instances() for _ in range(repeat)]
    measured, dispatches = _best(lambda: run(detectors_for_pass.pop()), evaluations, repeat)

    # The baseline: the motor model written by hand over dicts, same inputs, same order.
    payloads = [(key, trigger.payload) for key, trigger in triggers]

    def plain_detectors() -> dict[str, dict[str, Any]]:
        return {
            common.motor_key(i): {"state": "Normal", "variables": {"b": 0}, "inputs": {}}
            for i in range(keys)
        }

    plain_for_pass = [plain_detectors() for _ in range(repeat)]

    def baseline() -> int:
        plain = plain_for_pass.pop()
        sent = 0
        for key, payload in payloads:
            detector = plain[key]
            detector["inputs"][common.INPUT] = payload
            variables = detector["variables"]
            pressure = payload["sensorData"]["pressure"]
            breached = variables["b"]
            if detector["state"] == "Normal":
                if pressure > 70:
                    variables["b"] = breached + 3
                    detector["state"] = "Dangerous"
                    if variables["b"] > 1:
                        sent += 1
            else:
                if pressure > 70:
                    variables["b"] = 3
                else:
                    variables["b"] = breached - 1
                if pressure <= 70 and breached <= 1:
                    detector["state"] = "Normal"
                    sent += 1
                    variables["b"] = 0
            detector["updated_at"] = now
        return sent

    plain, base_sent = _best(baseline, evaluations, repeat)
    if base_sent != dispatches:
        raise SystemExit(f"baseline sent {base_sent} actions, the evaluator {dispatches}")
    return measured, plain, dispatches


# ----- 2. the engine with storage -------------------------------------------------------------


def _batches(
    readings: Sequence[tuple[str, bytes]], batch: int, ids: Callable[[int], str]
) -> list[list[Message]]:
    messages = [
        Message(ids(i), common.INPUT, codec.loads(raw), 1_700_000_000_000 + i)
        for i, (_, raw) in enumerate(readings)
    ]
    return [messages[i : i + batch] for i in range(0, len(messages), batch)]


def _chunks(items: list[Any], count: int) -> list[list[Any]]:
    size = max(1, len(items) // count)
    return [items[i : i + size] for i in range(0, size * count, size)]


def random_id(rng: random.Random) -> Callable[[int], str]:
    return lambda _: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def bench_engine(
    data_dir: Path, keys: int, messages: int, batch: int, repeat: int, profile: str | None
) -> Rate:
    """put_messages rate in the steady state (every detector exists)."""
    hub = common.start_hub(data_dir)
    try:
        runtime: EventsRuntime = hub.components["events"]
        scope = Scope(common.ACCOUNT, common.REGION)
        rng = random.Random(3)
        creating = [
            (common.motor_key(i), common.payload_bytes(common.motor_key(i), 50))
            for i in range(keys)
        ]
        for group in _batches(creating, batch, random_id(rng)):
            runtime.engine.put_messages(scope, group, time.time())

        work = _chunks(_batches(_readings(keys, messages, seed=2), batch, random_id(rng)), repeat)
        profiler = cProfile.Profile() if profile else None

        def run() -> None:
            chunk = work.pop(0)
            if profiler is not None:
                profiler.enable()
            for group in chunk:
                runtime.engine.put_messages(scope, group, time.time())
            if profiler is not None:
                profiler.disable()

        rate, _ = _best(run, len(work[0]) * batch, repeat)
        if profiler is not None and profile:
            profiler.dump_stats(profile)
        count = runtime.detectors.count(scope, common.MODEL)
        if count != keys:
            raise SystemExit(f"expected {keys} detectors, found {count}")
        return rate
    finally:
        hub.stop()


_SCHEMA = """
CREATE TABLE ids (a TEXT, r TEXT, id TEXT, seen REAL, exp REAL, PRIMARY KEY (a, r, id))
    WITHOUT ROWID;
CREATE INDEX ids_exp ON ids (exp);
CREATE TABLE det (seq INTEGER PRIMARY KEY, a TEXT, r TEXT, m TEXT, k TEXT, ver TEXT, st TEXT,
    vars TEXT, inp TEXT, ca REAL, ua REAL, rv INTEGER, UNIQUE (a, r, m, k));
CREATE INDEX det_state ON det (a, r, m, st, seq);
"""
_MARK = (
    "INSERT INTO ids SELECT ?, ?, value, ?, ? FROM json_each(?) WHERE 1 "
    "ON CONFLICT DO NOTHING RETURNING id"
)
_READ = (
    "SELECT * FROM det WHERE a = ? AND r = ? AND m = ? AND k IN (SELECT value FROM json_each(?))"
)
_INSERT = (
    "INSERT INTO det (a, r, m, k, ver, st, vars, inp, ca, ua, rv) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
)
_UPDATE = (
    "UPDATE det SET vars = ?, inp = ?, ua = ?, rv = rv + 1 "
    "WHERE a = ? AND r = ? AND m = ? AND k = ?"
)


def bench_raw_sqlite(data_dir: Path, keys: int, messages: int, batch: int, repeat: int) -> Rate:
    """messages/s of the bare storage work per transaction, straight on sqlite3."""
    db = sqlite3.connect(data_dir / "raw.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=10000"):
        db.execute(f"PRAGMA {pragma}")
    db.executescript(_SCHEMA)
    variables = '{"pressureThresholdBreached":0}'
    db.execute("BEGIN")
    db.executemany(
        _INSERT,
        [
            ("a", "r", "m", common.motor_key(i), "1", "Normal", variables, "{}", 0.0, 0.0)
            for i in range(keys)
        ],
    )
    db.execute("COMMIT")
    rng = random.Random(4)
    readings = _readings(keys, messages, seed=2)
    groups = _chunks([readings[i : i + batch] for i in range(0, len(readings), batch)], repeat)

    def run() -> None:
        for group in groups.pop(0):
            now = time.time()
            ids = codec.dumps([str(uuid.UUID(int=rng.getrandbits(128))) for _ in group])
            db.execute("BEGIN IMMEDIATE")
            db.execute(_MARK, ("a", "r", now, now + 300, ids)).fetchall()
            db.execute(_READ, ("a", "r", "m", codec.dumps([key for key, _ in group]))).fetchall()
            db.executemany(
                _UPDATE,
                [
                    (variables, '{"PressureInput":' + raw.decode() + "}", now, "a", "r", "m", key)
                    for key, raw in group
                ],
            )
            db.execute("COMMIT")

    rate, _ = _best(run, len(groups[0]) * batch, repeat)
    db.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000, help="detector instances")
    parser.add_argument("--evaluations", type=int, default=200_000, help="per evaluation pass")
    parser.add_argument("--messages", type=int, default=30_000, help="through storage, in all")
    parser.add_argument(
        "--batch", type=int, nargs="+", default=[10, 100], help="messages per transaction"
    )
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best is shown")
    parser.add_argument("--profile", help="write a cProfile of the storage runs to this file")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    evaluated, plain, dispatches = bench_evaluator(args.keys, args.evaluations, args.repeat)
    rows = [("Evaluator.evaluate, in memory", evaluated, plain)]
    for batch in args.batch:
        with tempfile.TemporaryDirectory(prefix="thinghub-bench-") as tmp:
            engine = bench_engine(
                Path(tmp), args.keys, args.messages, batch, args.repeat, args.profile
            )
            raw = bench_raw_sqlite(Path(tmp), args.keys, args.messages, batch, args.repeat)
        rows.append((f"put_messages, SQLite, {batch}/transaction", engine, raw))

    print(
        f"motor model, BATCH, {args.keys:,} detectors; {args.evaluations:,} evaluations a pass "
        f"({dispatches:,} actions); {args.messages:,} messages through storage; best of "
        f"{args.repeat}; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'evaluations':<36} {'per second':>11} {'per CPU-s':>10} {'baseline/s':>11} {'ratio':>6}"
    )
    for name, (wall, cpu), (base_wall, _) in rows:
        print(
            f"{name:<36} {wall:>11,.0f} {cpu:>10,.0f} {base_wall:>11,.0f} {wall / base_wall:>6.2f}"
        )
    print(
        "baselines: the model hand-written over dicts; raw sqlite3 doing the same storage work "
        "per transaction"
    )


if __name__ == "__main__":
    main()
