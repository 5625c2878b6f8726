"""A connector destination's OAuth client credentials, from Secrets Manager or a local file.

A destination names a secret (``SecretsManager {arn, versionId}``) whose string is a JSON
object ``{"clientId": ..., "clientSecret": ...}`` (``client_id``/``client_secret`` accepted
too; spec 3.2 [CHOICE]). Lookup order:

1. the local secrets file (``[secrets] file``, TOML or JSON), a table mapping a secret's ARN
   or name to such an object (or to its JSON text). A name matches with or without the
   six-character suffix Secrets Manager appends to ARNs (``acme-AbCdEf``). The file is read
   on every lookup, so edits apply at once; the versionId is not checked against it;
2. Secrets Manager's ``GetSecretValue`` (with the versionId) through boto3's standard chain
   (thinghub's own credentials, ``AWS_ENDPOINT_URL_SECRETS_MANAGER``, ``AWS_ENDPOINT_URL``,
   ...) with the ``[aws]`` config section on top, as for thinghub's other AWS calls. The
   endpoint variable is also accepted as ``AWS_ENDPOINT_URL_SECRETSMANAGER`` (botocore itself
   derives the name from the service id "Secrets Manager", with an underscore). The region
   is the secret ARN's. It runs in a worker thread: the event loop never waits on the network.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import boto3
import botocore.config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from thinghub.events.actions.settings import AwsSettings

log = logging.getLogger("thinghub.oauth")

# botocore reads AWS_ENDPOINT_URL_SECRETS_MANAGER; this spelling is accepted as well.
ENDPOINT_ALIAS_VARIABLE = "AWS_ENDPOINT_URL_SECRETSMANAGER"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_SECRETS_MANAGER"

SecretProblem = Literal["not_found", "access_denied", "unavailable", "invalid"]

# Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
_ARN_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_ACCESS_DENIED = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "DecryptionFailure",
}
_UNAVAILABLE = {"InternalServiceError", "ThrottlingException", "ServiceUnavailable"}


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never log the secret
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret=***)"


class SecretError(Exception):
    """The credentials could not be had; `problem` says why, for choosing the API error."""

    def __init__(self, problem: SecretProblem, message: str) -> None:
        super().__init__(message)
        self.problem: SecretProblem = problem
        self.message = message


def secret_name(arn: str) -> str:
    """The part of a secret ARN after ``secret:`` (the name plus the random suffix)."""
    return arn.split(":secret:", 1)[1] if ":secret:" in arn else arn


def secret_region(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[0] == "arn" and parts[3] else None


class SecretReader:
    def __init__(self, secrets_file: Path | None, aws: AwsSettings | None = None) -> None:
        self._file = secrets_file
        self._aws = aws or AwsSettings()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    async def client_credentials(self, arn: str, version_id: str | None) -> ClientCredentials:
        local = self._from_file(arn)
        if local is not None:
            return _credentials(local, f"entry {secret_name(arn)!r} of {self._file}")
        text = await asyncio.to_thread(self._get_secret_value, arn, version_id)
        return _credentials(text, f"secret {arn}")

    def _from_file(self, arn: str) -> Any | None:
        if self._file is None:
            return None
        try:
            raw = self._file.read_text()
            table = json.loads(raw) if self._file.suffix == ".json" else tomllib.loads(raw)
        except (OSError, ValueError) as exc:
            message = f"the secrets file {self._file} is unusable: {exc}"
            raise SecretError("invalid", message) from None
        if not isinstance(table, dict):
            raise SecretError("invalid", f"the secrets file {self._file} is not a table")
        name = secret_name(arn)
        for key in (arn, name, _ARN_SUFFIX.sub("", name)):
            if key in table:
                return table[key]
        return None

    def _get_secret_value(self, arn: str, version_id: str | None) -> str:
        client = self._client(secret_region(arn) or self._aws.region or "us-east-1")
        request: dict[str, str] = {"SecretId": arn}
        if version_id:
            request["VersionId"] = version_id
        try:
            answer = client.get_secret_value(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            message = exc.response.get("Error", {}).get("Message", "") or code
            if code == "ResourceNotFoundException":
                raise SecretError("not_found", f"the secret {arn} does not exist") from None
            if code in _ACCESS_DENIED:
                raise SecretError(
                    "access_denied", f"thinghub may not read the secret {arn}: {message}"
                ) from None
            if code in _UNAVAILABLE:
                raise SecretError(
                    "unavailable", f"Secrets Manager failed ({code}): {message}"
                ) from None
            raise SecretError("invalid", f"the secret {arn} cannot be read: {message}") from None
        except NoCredentialsError:
            raise SecretError(
                "access_denied", "thinghub has no AWS credentials to read Secrets Manager"
            ) from None
        except BotoCoreError as exc:
            raise SecretError("unavailable", f"Secrets Manager is unreachable: {exc}") from None
        if "SecretString" in answer:
            return str(answer["SecretString"])
        try:
            return bytes(answer.get("SecretBinary", b"")).decode("utf-8")
        except UnicodeDecodeError:
            raise SecretError("invalid", f"the secret {arn} is binary, not JSON") from None

    def _client(self, region: str) -> Any:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                # Short timeouts and one retry: a caller (an API request, a browser) is waiting.
                config = botocore.config.Config(
                    retries={"max_attempts": 2, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=10,
                )
                aws = self._aws
                endpoint = aws.endpoint_url
                if endpoint is None and not os.environ.get(ENDPOINT_VARIABLE):
                    endpoint = os.environ.get(ENDPOINT_ALIAS_VARIABLE) or None
                session = boto3.session.Session(
                    aws_access_key_id=aws.access_key_id,
                    aws_secret_access_key=aws.secret_access_key,
                    aws_session_token=aws.session_token,
                )
                client = session.client(
                    "secretsmanager", region_name=region, endpoint_url=endpoint, config=config
                )
                self._clients[region] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _credentials(value: Any, where: str) -> ClientCredentials:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SecretError("invalid", f"the {where} is not a JSON object") from None
    if not isinstance(value, dict):
        raise SecretError("invalid", f"the {where} is not a JSON object")
    client_id = value.get("clientId", value.get("client_id"))
    client_secret = value.get("clientSecret", value.get("client_secret"))
    if not isinstance(client_id, str) or not client_id:
        raise SecretError("invalid", f"the {where} has no clientId")
    if not isinstance(client_secret, str) or not client_secret:
        raise SecretError("invalid", f"the {where} has no clientSecret")
    return ClientCredentials(client_id, client_secret)
