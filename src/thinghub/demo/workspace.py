"""Where the demo keeps its files, and where it finds the simulated vendor and its connector.

The Acme cloud and the reference connector live in the checkout's ``examples/`` package, which
is not part of the installed ``thinghub`` package: the demo runs them from the checkout that
thinghub was installed from (``pip install -e .``), or from the working directory.

Every run starts from scratch: the data directory is emptied first, but only when it is one
the demo made (it holds the marker file), so ``--data-dir`` can never wipe anything else.
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import thinghub
from thinghub.demo.household import seed_document

MARKER = ".thinghub-demo"
DEFAULT_DATA_DIR = Path(".thinghub-demo")

ACCOUNT = "000000000000"
REGION = "us-east-1"
CONNECTOR_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:acme-connector"
CONNECTOR_HANDLER = "examples.acme_connector.handler:lambda_handler"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:acme-oauth-DeMo01"
SECRET_VERSION = "0" * 32
# The too-hot detector's lambda action: a local function from the checkout's examples/.
FAN_HIGH = "fan-high"
FAN_HIGH_HANDLER = "examples.automations.handler:fan_high"
# AWS's minimum timer is 60 s; the demo's heartbeat detectors use a quiet period a viewer can
# wait for (`[iotevents] min_timer_seconds` takes any positive number of seconds).
MIN_TIMER_SECONDS = 5
OAUTH_CLIENT_ID = "acme-client"
OAUTH_CLIENT_SECRET = "acme-secret"


class DemoError(Exception):
    """The demo cannot start or go on; the message says why."""


def examples_root() -> Path:
    """The directory holding the ``examples`` package (a thinghub checkout)."""
    # src/thinghub/__init__.py -> the checkout; then the working directory.
    candidates = [Path(thinghub.__file__).resolve().parents[2], Path.cwd()]
    for root in candidates:
        examples = root / "examples"
        if (examples / "acme_cloud" / "__main__.py").is_file() and (
            examples / "acme_connector" / "handler.py"
        ).is_file():
            return root
    raise DemoError(
        "the demo runs the Acme cloud and connector from the examples/ directory of a thinghub "
        "checkout; install thinghub from a clone (pip install -e .) or run it from one"
    )


@dataclass(frozen=True)
class Workspace:
    """The demo's files: thinghub's data and config, the Acme seed, every process's log."""

    root: Path
    examples: Path  # the directory that holds the examples package

    @property
    def thinghub_data(self) -> Path:
        return self.root / "thinghub"

    @property
    def thinghub_config(self) -> Path:
        return self.root / "thinghub.toml"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.toml"

    @property
    def acme_seed(self) -> Path:
        return self.root / "acme-seed.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"


def prepare(root: Path) -> Workspace:
    """A fresh workspace in `root` with every file the processes need."""
    root = root.resolve()
    if root.exists():
        if not root.is_dir():
            raise DemoError(f"{root} is not a directory")
        if any(root.iterdir()) and not (root / MARKER).exists():
            raise DemoError(
                f"{root} is not empty and was not made by thinghub demo; "
                "give --data-dir a new or empty directory"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("made by `thinghub demo`; emptied at its next start\n")
    workspace = Workspace(root, examples_root())
    workspace.logs.mkdir()
    workspace.secrets_file.write_text(
        f'"{SECRET_ARN}" = {{ clientId = "{OAUTH_CLIENT_ID}", '
        f'clientSecret = "{OAUTH_CLIENT_SECRET}" }}\n'
    )
    workspace.thinghub_config.write_text(_thinghub_config(workspace))
    workspace.acme_seed.write_text(json.dumps(seed_document(), indent=2) + "\n")
    return workspace


def _thinghub_config(workspace: Workspace) -> str:
    return f"""# Written by `thinghub demo`.
[connectors]
# The Lambda functions (the connector, the detectors' fan-high) run as local handlers
# from the checkout's examples/.
python_path = [{_toml(workspace.examples)}]

[functions]
{_toml(CONNECTOR_ARN)} = {_toml(CONNECTOR_HANDLER)}
# The too-hot detector's lambda action (examples/automations).
{_toml(FAN_HIGH)} = {_toml(FAN_HIGH_HANDLER)}

[iotevents]
# Short timers, so that a quiet device's heartbeat detector goes Offline while you watch.
min_timer_seconds = {MIN_TIMER_SECONDS}

[secrets]
# The OAuth client credentials of the destination's Secrets Manager secret.
file = {_toml(workspace.secrets_file)}
"""


def _toml(value: Any) -> str:
    # A JSON string is a valid TOML basic string.
    return json.dumps(str(value))


def webhook_secret() -> str:
    """The HMAC key Acme signs its webhook notifications with."""
    return secrets.token_hex(16)
