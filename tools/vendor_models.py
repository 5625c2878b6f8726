"""Copy the IoT Events service models into the package, without documentation strings.

Usage: python tools/vendor_models.py SOURCE_DIR
SOURCE_DIR holds `iotevents/2018-07-27/` and `iotevents-data/2018-10-23/` as AWS published them.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parent.parent / "src" / "thinghub" / "data" / "models"
SERVICES = {"iotevents": "2018-07-27", "iotevents-data": "2018-10-23"}
FILES = ("service-2.json", "paginators-1.json", "endpoint-rule-set-1.json")


def strip_docs(node: Any) -> Any:
    """Drop every `documentation` string: they are large and not needed to serve or call the API."""
    if isinstance(node, dict):
        return {
            k: strip_docs(v)
            for k, v in node.items()
            if k not in ("documentation", "documentationUrl")
        }
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    return node


def main(source: Path) -> None:
    for service, version in SERVICES.items():
        out = TARGET / service / version
        out.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            data = json.loads((source / service / version / name).read_text())
            if name == "service-2.json":
                data = strip_docs(data)
            (out / name).write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    for legal in ("NOTICE", "LICENSE.txt"):
        shutil.copy(source / legal, TARGET / legal)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
