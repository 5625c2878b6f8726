"""The Acme cloud as a real subprocess, and helpers to walk its OAuth flow over HTTP."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "acme-client"
CLIENT_SECRET = "acme-secret"
REDIRECT_URI = "https://hub.example/oauth2/callback"


@dataclass
class AcmeCloud:
    url: str
    process: subprocess.Popen[str]
    banner: list[str]
    # One client for all calls: a new httpx client per call costs ~50 ms (SSL context).
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def stop(self, timeout: float = 10.0) -> int:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)

    # ----- plain HTTP ----------------------------------------------------------------------------

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.http.get(self.url + path, headers=_bearer(token), **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**_bearer(token), **kwargs.pop("headers", {})}
        return self.http.post(self.url + path, headers=headers, **kwargs)

    def reset(self) -> None:
        assert self.post("/admin/reset").status_code == 204

    def advance_clock(self, seconds: float) -> None:
        assert self.post("/admin/clock", json={"advanceSeconds": seconds}).status_code == 200

    # ----- the OAuth flow ------------------------------------------------------------------------

    def authorize(self, *, auto_approve: bool = True, **params: Any) -> httpx.Response:
        """GET /oauth/authorize with sensible defaults; `params` override or add to them."""
        query = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "state": "state-123",
            **({"auto_approve": "1"} if auto_approve else {}),
            **params,
        }
        return self.http.get(self.url + "/oauth/authorize", params=query)

    def code(self, **params: Any) -> str:
        response = self.authorize(**params)
        assert response.status_code == 302, response.text
        return redirect_query(response)["code"]

    def exchange(
        self,
        code: str,
        *,
        scheme: str = "basic",
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        **form: str,
    ) -> httpx.Response:
        """POST /oauth/token grant_type=authorization_code, client authenticated by `scheme`."""
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        return self.token_request({**body, **form}, scheme, client_id, client_secret)

    def refresh(
        self,
        refresh_token: str,
        *,
        scheme: str = "basic",
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
    ) -> httpx.Response:
        body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self.token_request(body, scheme, client_id, client_secret)

    def token_request(
        self,
        form: dict[str, str],
        scheme: str = "basic",
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        path: str = "/oauth/token",
    ) -> httpx.Response:
        headers = {}
        if scheme == "basic":
            headers["Authorization"] = basic(client_id, client_secret)
        elif scheme == "body":
            form = {**form, "client_id": client_id, "client_secret": client_secret}
        return self.http.post(self.url + path, data=form, headers=headers)

    def tokens(self, user: str = "alice", **params: str) -> dict[str, Any]:
        """A fresh grant for `user`: the token endpoint's JSON answer."""
        response = self.exchange(self.code(user=user, **params))
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document


def basic(client_id: str, client_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


def redirect_query(response: httpx.Response) -> dict[str, str]:
    """The query of a redirect's Location, one value per name."""
    location = response.headers["location"]
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def start_acme_cloud(*args: str, log: Path | None = None, timeout: float = 30.0) -> AcmeCloud:
    """``python -m examples.acme_cloud --port 0 ...``, once it answers its health check."""
    stderr = log.open("w") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "examples.acme_cloud", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("acme-cloud listening on "):
        process.kill()
        details = log.read_text() if log is not None else ""
        raise RuntimeError(f"acme cloud did not start: {first!r} {details}")
    banner = [first, process.stdout.readline().strip()]
    cloud = AcmeCloud(first.removeprefix("acme-cloud listening on "), process, banner)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(cloud.url + "/health", timeout=2).status_code == 200:
                return cloud
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("acme cloud never became healthy")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def acme_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeCloud]:
    cloud = start_acme_cloud(log=tmp_path_factory.mktemp("acme") / "acme.log")
    yield cloud
    cloud.stop()


@pytest.fixture
def acme(acme_process: AcmeCloud) -> AcmeCloud:
    """The module's Acme cloud, back to its seed state."""
    acme_process.reset()
    return acme_process
