"""SigV4 verification: whatever botocore signs verifies, byte for byte; anything tampered does not.

Requests are signed by botocore itself (SigV4Auth, SigV4QueryAuth) at a fixed time, then taken
apart the way an ASGI server receives them: raw path and raw query from the URL botocore sends,
lower-case header names as bytes, values as http.client encodes them (latin-1).
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import json
import random
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence

from thinghub.identities import Identity, IdentityRegistry
from thinghub.wire.sigv4 import (
    HOST_NOT_SIGNED,
    PAYLOAD_MISMATCH,
    SIGNATURE_MISMATCH,
    AuthError,
    SigV4Verifier,
    Verified,
    _canonical_headers,
    _canonical_uri,
    _presumed_canonical_query,
    _raw_sorted_query,
)

Wire = tuple[str, str, str, list[tuple[bytes, bytes]], bytes]

SIGNED_AT = datetime.datetime(2026, 1, 1, 12, 0, 0)  # naive UTC, as botocore uses it
SIGNED_AT_EPOCH = float(calendar.timegm(SIGNED_AT.timetuple()))
AMZ_DATE = "20260101T120000Z"

ALICE = Identity("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "123456789012")
BOB = Identity("test", "test", "000000000000")
CAROL = Identity("AKIA0CAROL0000000000", "s3cr3t ~!@#$%^&*()_+{}|:<>?", "210987654321")
IDENTITIES = IdentityRegistry([ALICE, BOB, CAROL])

SERVICES = ("iotmanagedintegrations", "iotevents", "ioteventsdata")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1")
ENDPOINTS = (
    "http://localhost:4566",
    "http://127.0.0.1:8080",
    "http://thinghub.internal:80",
    "https://api.iotmanagedintegrations.us-east-1.amazonaws.com",
    "https://iotevents.eu-west-1.amazonaws.com:443",
    "https://data.iotevents.ap-southeast-2.amazonaws.com:8443",
)
QUERY_KEYS = (
    "maxResults",
    "nextToken",
    "tagKeys",
    "a",
    "A",
    "b",
    "x-y",
    "z~",
    "名前",
    "k y",
    "k=v",
)
QUERY_VALUES = (
    "",
    "10",
    "abc/def==",
    "a b",
    "1+2",
    "~tilde",
    "Küche",
    "温度",
    "arn:aws:iot:us-east-1:123456789012:thing/t1",
    "x&y",
    "%41",
    "*'()!",
)
LABELS = (
    "things",
    "detector-models",
    "tags",
    "inputs",
    "m1",
    "my model",
    "Küche",
    "温度",
    "a~b",
    "a+b",
    "a=b",
    "%7E",
    "x.y",
    "v1.0",
)


def verifier(now: float = SIGNED_AT_EPOCH, max_skew_seconds: float = 900.0) -> SigV4Verifier:
    return SigV4Verifier(IDENTITIES, max_skew_seconds=max_skew_seconds, now=lambda: now)


class RecordingSigV4Auth(SigV4Auth):
    """SigV4Auth that keeps the canonical request it signed."""

    canonical = ""

    def canonical_request(self, request: AWSRequest) -> str:
        self.canonical = super().canonical_request(request)
        return self.canonical


def sign(
    request: AWSRequest,
    identity: Identity,
    service: str = "iotevents",
    region: str = "us-east-1",
    *,
    at: datetime.datetime = SIGNED_AT,
    signer: type[SigV4Auth] = RecordingSigV4Auth,
    **signer_args: Any,
) -> SigV4Auth:
    auth = signer(
        Credentials(identity.access_key, identity.secret_key), service, region, **signer_args
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        auth.add_auth(request)
    return auth


def host_header(url: str) -> bytes:
    """The Host header http.client sends: the host, and the port unless it is the default."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    default = {"http": 80, "https": 443}[parts.scheme]
    if parts.port is None or parts.port == default:
        return parts.hostname.encode()
    return f"{parts.hostname}:{parts.port}".encode()


def to_wire(request: AWSRequest) -> Wire:
    """What an ASGI server receives for the request botocore sends."""
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = [(b"host", host_header(prepared.url))]
    # AWSRequest.headers keeps repeated names (the prepared copy keeps only the last).
    for name, value in request.headers.items():
        headers.append((name.lower().encode(), value.encode("latin-1").strip(b" \t")))
    seen = {name for name, _ in headers}
    for name, value in prepared.headers.items():
        if name.lower().encode() not in seen:
            headers.append((name.lower().encode(), str(value).encode("latin-1")))
    headers.append((b"accept-encoding", b"identity"))
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return prepared.method, url.path, url.query, headers, body


def signed_header_names(headers: list[tuple[bytes, bytes]]) -> str:
    authorization = dict(headers)[b"authorization"].decode()
    return authorization.split("SignedHeaders=")[1].split(",")[0]


def our_canonical_request(wire: Wire, *, raw_query: bool = False) -> str:
    """The verifier's canonical request (the form it tries first, or botocore's raw query)."""
    method, path, query, headers, body = wire
    header_map = dict(headers)
    signed = signed_header_names(headers)
    claimed = header_map.get(b"x-amz-content-sha256")
    payload = claimed.decode() if claimed is not None else hashlib.sha256(body).hexdigest()
    canonical_query = (
        _raw_sorted_query(query, None) if raw_query else _presumed_canonical_query(query, None)
    )
    return "\n".join(
        [
            method,
            _canonical_uri(path),
            canonical_query,
            _canonical_headers(signed.split(";"), headers, header_map) + "\n",
            signed,
            payload,
        ]
    )


def replace_header(wire: Wire, name: bytes, value: bytes) -> Wire:
    method, path, query, headers, body = wire
    return method, path, query, [(n, value if n == name else v) for n, v in headers], body


def expect_error(
    wire: Wire, code: str, message: str | None = None, *, at: SigV4Verifier | None = None
) -> AuthError:
    with pytest.raises(AuthError) as raised:
        (at or verifier()).verify(*wire)
    assert raised.value.code == code, raised.value.message
    assert raised.value.status == 403
    if message is not None:
        assert raised.value.message == message
    return raised.value


def expect_mismatch(wire: Wire, *, at: SigV4Verifier | None = None) -> None:
    expect_error(wire, "InvalidSignatureException", SIGNATURE_MISMATCH, at=at)


# -- random botocore requests ---------------------------------------------------------------


def random_path(rng: random.Random, region: str) -> str:
    choice = rng.random()
    if choice < 0.05:
        return ""
    if choice < 0.1:
        return "/"
    segments = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.25:
            name = rng.choice(LABELS)
            arn = f"arn:aws:iotevents:{region}:123456789012:detectorModel/{name}"
            segments.append(quote(arn, safe=""))  # botocore encodes labels, ':' and '/' too
        elif kind < 0.35:
            segments.append(f"arn:aws:iot:{region}:123456789012:thing")  # raw ':' is legal
        elif kind < 0.4:
            segments.append(rng.choice(("", ".", "..")))  # botocore normalises these away
        elif kind < 0.45:
            segments.append(rng.choice(("!$'()*,;@", "a%2fb", "%7e")))
        else:
            segments.append(quote(rng.choice(LABELS), safe="-_.~"))
    path = "/" + "/".join(segments)
    return path + "/" if rng.random() < 0.15 else path


def random_pairs(rng: random.Random) -> list[tuple[str, str]]:
    pairs = []
    for _ in range(rng.randint(1, 5)):
        key = rng.choice(QUERY_KEYS)
        pairs.append((key, rng.choice(QUERY_VALUES)))
        if rng.random() < 0.2:
            pairs.append((key, rng.choice(QUERY_VALUES)))  # a repeated key
    rng.shuffle(pairs)
    return pairs


def random_raw_query(rng: random.Random) -> str:
    """A query not encoded the AWS way: botocore signs such a URL's pairs as they are."""
    pieces = []
    for _ in range(rng.randint(1, 4)):
        pieces.append(
            rng.choice(
                (
                    "arn=arn:aws:iot:us-east-1:1:thing/t1",
                    "a=%3a%2f",
                    "plus=1+1",
                    "at=@!$",
                    "flag",
                    "b=%7E",
                    "=v",
                    "",
                    "c=d=e",
                )
            )
        )
    return "&".join(pieces)


def random_body(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.35:
        return b""
    if kind < 0.75:
        document = {"name": rng.choice(LABELS), "count": rng.randint(0, 99), "tags": [{"k": "v"}]}
        return json.dumps(document, ensure_ascii=rng.random() < 0.5).encode()
    return rng.randbytes(rng.randint(1, 300))


def random_request(rng: random.Random) -> tuple[AWSRequest, Identity, str, str, str]:
    """A request botocore signs, with the signer's identity, service, region and query mode."""
    identity = rng.choice((ALICE, BOB, CAROL))
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    endpoint = rng.choice(ENDPOINTS)
    method = rng.choice(("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"))
    url = endpoint + random_path(rng, region)
    mode = rng.choice(("none", "url", "url", "params", "raw"))
    params: list[tuple[str, str]] | None = None
    if mode == "url":  # as botocore's clients build it
        url += "?" + percent_encode_sequence(random_pairs(rng))
    elif mode == "params":  # AWSRequest.params: signed encoded, sent form-encoded
        params = random_pairs(rng)
    elif mode == "raw":
        url += "?" + random_raw_query(rng)
    body = random_body(rng)

    request = AWSRequest(method=method, url=url, data=body, params=params)
    if rng.random() < 0.5:
        request.headers["Content-Type"] = rng.choice(
            (
                "application/json",
                "application/x-amz-json-1.0",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
        )
    if rng.random() < 0.3:
        request.headers["X-Amz-Target"] = "IotEventsData.BatchPutMessage"
    if rng.random() < 0.4:
        request.headers["X-Custom"] = rng.choice(
            ("a   b\tc", "  leading", "trailing   ", "caf\xe9", "nb\xa0sp", "x  ,  y")
        )
    if rng.random() < 0.2:
        # Repeated headers: HTTPMessage appends rather than replaces.
        request.headers["X-Multi"] = "one"
        request.headers["X-Multi"] = "two   three"
    if rng.random() < 0.3:
        request.headers["User-Agent"] = "Boto3/1.43 unsigned"
    if rng.random() < 0.1:
        request.headers["Date"] = "replaced by botocore"  # signs Date instead of X-Amz-Date
    if rng.random() < 0.15:
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    if url.startswith("https") and not body and rng.random() < 0.15:
        # X-Amz-Content-SHA256: UNSIGNED-PAYLOAD, accepted only without a body (tested below).
        request.context["payload_signing_enabled"] = False
    return request, identity, service, region, mode


@pytest.mark.parametrize("seed", range(500))
def test_botocore_signed_requests_verify(seed: int) -> None:
    rng = random.Random(seed)
    request, identity, service, region, mode = random_request(rng)
    auth = sign(request, identity, service, region)
    assert isinstance(auth, RecordingSigV4Auth)
    wire = to_wire(request)

    # Byte-identical canonical request: the form tried first, or for a query that is not
    # encoded the AWS way, the raw form botocore signs and the verifier falls back to.
    assert our_canonical_request(wire, raw_query=mode == "raw") == auth.canonical

    skew = rng.uniform(-900, 900)
    verified = verifier(SIGNED_AT_EPOCH + skew).verify(*wire)
    assert verified == Verified(identity, region, service)


@pytest.mark.parametrize("seed", range(100))
def test_botocore_presigned_urls_verify(seed: int) -> None:
    rng = random.Random(1_000_000 + seed)
    identity = rng.choice((ALICE, BOB, CAROL))
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    url = rng.choice(ENDPOINTS) + random_path(rng, region)
    params: dict[str, str] | None = None
    if rng.random() < 0.4:
        url += "?" + percent_encode_sequence(dict(random_pairs(rng)))
    elif rng.random() < 0.4:
        params = dict(random_pairs(rng))
    method, body = "GET", b""
    if rng.random() < 0.3:
        # botocore moves a JSON body into the query string.
        method, body = "POST", json.dumps({"name": rng.choice(LABELS), "n": "1"}).encode()
    request = AWSRequest(method=method, url=url, data=body, params=params)
    if rng.random() < 0.3:
        request.headers["X-Custom"] = "signed  too"
    expires = rng.choice((1, 60, 900, 3600, 604800))
    sign(request, identity, service, region, signer=SigV4QueryAuth, expires=expires)
    wire = to_wire(request)
    assert "X-Amz-Signature=" in wire[2]
    assert b"authorization" not in dict(wire[3])

    now = SIGNED_AT_EPOCH + rng.uniform(0, expires)
    assert verifier(now).verify(*wire) == Verified(identity, region, service)


@pytest.mark.parametrize("path", ["/", "/things", "/things/t1/", "/a-b_c.d~e"])
def test_unsigned_payload_presigned_urls_verify(path: str) -> None:
    # S3's presigner signs UNSIGNED-PAYLOAD (and the path unnormalised, the same for these).
    request = AWSRequest(method="GET", url=f"http://localhost:4566{path}?x=1")
    sign(request, BOB, "iotevents", "us-east-1", signer=S3SigV4QueryAuth, expires=300)
    assert verifier().verify(*to_wire(request)) == Verified(BOB, "us-east-1", "iotevents")


class Captured(Exception):
    """Stops a boto3 call once its request is signed, carrying that request."""

    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def prepared_to_wire(prepared: Any) -> Wire:
    """What an ASGI server receives for a request a boto3 client sends."""
    url = urlsplit(prepared.url)
    headers = [(b"host", host_header(prepared.url))]
    for name, value in prepared.headers.items():
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        headers.append((name.lower().encode(), raw.strip(b" \t")))
    body = prepared.body or b""
    return (
        prepared.method,
        url.path,
        url.query,
        headers,
        body.encode() if isinstance(body, str) else body,
    )


def _raise_captured(request: Any, **_: Any) -> None:
    raise Captured(request)


MANAGED_THING_ARN = "arn:aws:iotmanagedintegrations:eu-west-1:123456789012:managed-thing/mt-1"
BOTO3_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("iotevents", "list_detector_models", {"maxResults": 10, "nextToken": "abc/def=="}),
    ("iotevents", "describe_detector_model", {"detectorModelName": "m1"}),
    (
        "iotevents",
        "tag_resource",
        {
            "resourceArn": "arn:aws:iotevents:eu-west-1:123456789012:input/my input",
            "tags": [{"key": "k", "value": "v ü"}],
        },
    ),
    ("iotevents", "untag_resource", {"resourceArn": "arn:a:b", "tagKeys": ["b", "a", "a b"]}),
    (
        "iotevents-data",
        "batch_put_message",
        {"messages": [{"messageId": "1", "inputName": "in", "payload": b"\x00\xff{}"}]},
    ),
    ("iotevents-data", "describe_detector", {"detectorModelName": "m", "keyValue": "k/v ü"}),
    ("iot-managed-integrations", "get_managed_thing", {"Identifier": "mt-1"}),
    (
        "iot-managed-integrations",
        "list_managed_things",
        {"OwnerFilter": "o w+n~er", "MaxResults": 5, "SerialNumberFilter": "SN/1:2"},
    ),
    ("iot-managed-integrations", "tag_resource", {"ResourceArn": MANAGED_THING_ARN, "Tags": {}}),
    (
        "iot-managed-integrations",
        "untag_resource",
        {"ResourceArn": MANAGED_THING_ARN, "TagKeys": ["x", "y"]},
    ),
]


@pytest.mark.parametrize(("service", "operation", "kwargs"), BOTO3_CALLS)
def test_boto3_client_requests_verify(service: str, operation: str, kwargs: dict[str, Any]) -> None:
    client = boto3.client(
        service,
        region_name="eu-west-1",
        endpoint_url="http://localhost:4566",
        aws_access_key_id=CAROL.access_key,
        aws_secret_access_key=CAROL.secret_key,
    )
    client.meta.events.register("before-send", _raise_captured)
    with (
        mock.patch("botocore.auth.get_current_datetime", return_value=SIGNED_AT),
        pytest.raises(Captured) as captured,
    ):
        getattr(client, operation)(**kwargs)
    wire = prepared_to_wire(captured.value.request)
    signing_name = client.meta.service_model.signing_name
    assert verifier().verify(*wire) == Verified(CAROL, "eu-west-1", signing_name)


# -- fixed requests -------------------------------------------------------------------------


def signed_wire(
    *,
    method: str = "POST",
    url: str = "http://localhost:4566/tags/arn%3Aaws%3Aiotevents%3Aus-east-1%3A123456789012"
    "%3Ainput%2Fmy-input?tagKeys=a&tagKeys=b",
    body: bytes = b'{"tags":[{"key":"k","value":"v"}]}',
    headers: dict[str, str] | None = None,
    identity: Identity = ALICE,
    service: str = "iotevents",
    region: str = "us-east-1",
    at: datetime.datetime = SIGNED_AT,
) -> Wire:
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={"Content-Type": "application/json", "X-Amz-Target": "Target", **(headers or {})},
    )
    sign(request, identity, service, region, at=at)
    return to_wire(request)


def presigned_wire(expires: int = 300, url: str = "http://localhost:4566/things?x=1") -> Wire:
    request = AWSRequest(method="GET", url=url)
    sign(request, ALICE, "iotevents", "us-east-1", signer=SigV4QueryAuth, expires=expires)
    return to_wire(request)


def with_authorization(wire: Wire, authorization: str) -> Wire:
    return replace_header(wire, b"authorization", authorization.encode())


def test_fixed_request_verifies_and_reports_the_scope() -> None:
    wire = signed_wire(identity=CAROL, service="ioteventsdata", region="eu-west-1")
    verified = verifier().verify(*wire)
    assert verified.identity is CAROL
    assert (verified.region, verified.service) == ("eu-west-1", "ioteventsdata")


def test_repeated_verification_uses_the_cache_and_still_checks() -> None:
    check = verifier()
    wire = signed_wire()
    for _ in range(3):
        assert check.verify(*wire).identity is ALICE
    tampered = replace_header(wire, b"x-amz-target", b"Other")
    expect_mismatch(tampered, at=check)


def test_each_day_has_its_own_signing_key() -> None:
    check = verifier()
    first = signed_wire(at=SIGNED_AT - datetime.timedelta(minutes=5))
    second = signed_wire(at=SIGNED_AT.replace(day=1, hour=0, minute=5))
    check_late = verifier(calendar.timegm(SIGNED_AT.replace(hour=0).timetuple()))
    assert check.verify(*first).identity is ALICE
    assert check_late.verify(*second).identity is ALICE
    day_before = signed_wire(at=datetime.datetime(2025, 12, 31, 23, 59, 0))
    assert check_late.verify(*day_before).identity is ALICE


def test_date_header_instead_of_x_amz_date() -> None:
    wire = signed_wire(headers={"Date": "x"})
    header_map = dict(wire[3])
    assert b"x-amz-date" not in header_map
    assert header_map[b"date"] == formatdate(SIGNED_AT_EPOCH).encode()
    assert verifier().verify(*wire).identity is ALICE
    expect_error(wire, "InvalidSignatureException", at=verifier(SIGNED_AT_EPOCH + 901))


def test_loosely_formatted_authorization_header_verifies() -> None:
    wire = signed_wire()
    authorization = dict(wire[3])[b"authorization"].decode()
    loose = authorization.replace(", ", " ,  ").replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256  ")
    assert verifier().verify(*with_authorization(wire, loose)).identity is ALICE


def test_unsigned_headers_may_be_added() -> None:
    method, path, query, headers, body = signed_wire()
    headers = [*headers, (b"x-forwarded-for", b"10.0.0.1"), (b"user-agent", b"curl")]
    assert verifier().verify(method, path, query, headers, body).identity is ALICE


def test_unsigned_payload_header_is_accepted_only_without_a_body() -> None:
    method, path, query, headers, _ = signed_wire(
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    assert verifier().verify(method, path, query, headers, b"").identity is ALICE
    with pytest.raises(AuthError) as caught:
        verifier().verify(method, path, query, headers, b"anything")
    assert caught.value.code == "InvalidSignatureException"


def test_query_encoded_differently_from_its_signature_still_verifies() -> None:
    # Signed per SigV4 (decode, re-encode) by some other client, sent with lower-case escapes
    # and an escaped unreserved character: the verifier canonicalises in full on a mismatch.
    wire = signed_wire(url="http://localhost:4566/things?b=~&a=x%3Ay")
    method, path, _, headers, body = wire
    assert verifier().verify(method, path, "b=%7E&a=x%3ay", headers, body).identity is ALICE


# -- rejections ------------------------------------------------------------------------------


def test_wrong_secret() -> None:
    impostor = Identity(ALICE.access_key, "not the secret", ALICE.account_id)
    expect_mismatch(signed_wire(identity=impostor))


def test_unknown_access_key() -> None:
    stranger = Identity("AKIAUNKNOWN", "whatever", "111111111111")
    expect_error(
        signed_wire(identity=stranger),
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )


def test_tampered_body() -> None:
    method, path, query, headers, _ = signed_wire()
    tampered = (method, path, query, headers, b'{"tags":[{"key":"k","value":"w"}]}')
    expect_mismatch(tampered)


def test_tampered_body_with_payload_hash_header() -> None:
    body = b'{"a":1}'
    method, path, query, headers, _ = signed_wire(
        body=body, headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    )
    expect_error(
        (method, path, query, headers, b'{"a":2}'), "InvalidSignatureException", PAYLOAD_MISMATCH
    )


def test_payload_hash_header_not_matching_the_body() -> None:
    # Signed with a wrong claimed hash: the signature holds, the claim does not.
    wire = signed_wire(headers={"X-Amz-Content-SHA256": "0" * 64})
    expect_error(wire, "InvalidSignatureException", PAYLOAD_MISMATCH)


@pytest.mark.parametrize(
    "path",
    [
        "/tags/arn%3Aaws%3Aiotevents%3Aus-east-1%3A123456789012%3Ainput%2Fother-input",
        "/tags/arn:aws:iotevents:us-east-1:123456789012:input/my-input",
        "/tags/arn%3Aaws%3Aiotevents%3Aus-east-1%3A123456789012%3Ainput/my-input",
        "/tags",
    ],
)
def test_tampered_path(path: str) -> None:
    method, _, query, headers, body = signed_wire()
    expect_mismatch((method, path, query, headers, body))


@pytest.mark.parametrize(
    "query", ["tagKeys=a", "tagKeys=a&tagKeys=c", "tagKeys=a&tagKeys=b&x=1", "", "tagKeys=a%20b"]
)
def test_tampered_query(query: str) -> None:
    method, path, _, headers, body = signed_wire()
    expect_mismatch((method, path, query, headers, body))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"x-amz-target", b"OtherTarget"),
        (b"content-type", b"text/plain"),
        (b"host", b"evil.example.com"),
        (b"x-amz-date", b"20260101T120001Z"),
    ],
)
def test_tampered_signed_header(name: bytes, value: bytes) -> None:
    expect_mismatch(replace_header(signed_wire(), name, value))


def test_removed_signed_header() -> None:
    method, path, query, headers, body = signed_wire()
    headers = [(n, v) for n, v in headers if n != b"x-amz-target"]
    expect_mismatch((method, path, query, headers, body))


def test_reordered_repeated_header() -> None:
    request = AWSRequest(method="GET", url="http://localhost:4566/things")
    request.headers["X-Multi"] = "one"
    request.headers["X-Multi"] = "two"
    sign(request, ALICE)
    method, path, query, headers, body = to_wire(request)
    assert verifier().verify(method, path, query, headers, body).identity is ALICE
    swapped = [(n, {b"one": b"two", b"two": b"one"}.get(v, v)) for n, v in headers]
    expect_mismatch((method, path, query, swapped, body))


def test_tampered_method() -> None:
    _, path, query, headers, body = signed_wire()
    expect_mismatch(("PUT", path, query, headers, body))


@pytest.mark.parametrize("signature", ["0" * 64, "ABCDEF" * 10 + "abcd", "abc", "é" * 64, ""])
def test_bad_signature_value(signature: str) -> None:
    wire = signed_wire()
    authorization = dict(wire[3])[b"authorization"].decode()
    forged = authorization.rsplit("Signature=", 1)[0] + "Signature=" + signature
    expect_mismatch(replace_header(wire, b"authorization", forged.encode("latin-1")))


def test_upper_case_signature_is_refused() -> None:
    wire = signed_wire()
    authorization = dict(wire[3])[b"authorization"].decode()
    head, signature = authorization.rsplit("Signature=", 1)
    upper = with_authorization(wire, f"{head}Signature={signature.upper()}")
    expect_mismatch(upper)


def test_signed_too_long_ago() -> None:
    expect_error(
        signed_wire(),
        "InvalidSignatureException",
        "Signature expired: 20260101T120000Z is now earlier than 20260101T120001Z "
        "(20260101T121501Z - 15 min.)",
        at=verifier(SIGNED_AT_EPOCH + 901),
    )


def test_signed_in_the_future() -> None:
    expect_error(
        signed_wire(),
        "InvalidSignatureException",
        "Signature not yet current: 20260101T120000Z is still later than 20260101T115959Z "
        "(20260101T114459Z + 15 min.)",
        at=verifier(SIGNED_AT_EPOCH - 901),
    )


def test_skew_limit_follows_the_setting() -> None:
    error = expect_error(
        signed_wire(), "InvalidSignatureException", at=verifier(SIGNED_AT_EPOCH + 301, 300)
    )
    assert error.message.endswith("(20260101T120501Z - 5 min.)")


@pytest.mark.parametrize("skew", [-900, -899.5, -1, 0, 1, 899.5, 900])
def test_within_skew_is_accepted(skew: float) -> None:
    assert verifier(SIGNED_AT_EPOCH + skew).verify(*signed_wire()).identity is ALICE


def test_unsigned_request() -> None:
    request = AWSRequest(
        method="GET", url="http://localhost:4566/things?X-Amz-Date=20260101T120000Z"
    )
    expect_error(
        to_wire(request), "MissingAuthenticationTokenException", "Missing Authentication Token"
    )


GOOD_CREDENTIAL = "AKIDEXAMPLE/20260101/us-east-1/iotevents/aws4_request"
GOOD_SIGNATURE = "0" * 64


@pytest.mark.parametrize(
    ("authorization", "fragment"),
    [
        (
            f"AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature={GOOD_SIGNATURE}",
            "requires 'Credential' parameter",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, Signature={GOOD_SIGNATURE}",
            "requires 'SignedHeaders' parameter",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=host;x-amz-date",
            "requires 'Signature' parameter",
        ),
        (
            f"AWS4-HMAC-SHA512 Credential={GOOD_CREDENTIAL}, SignedHeaders=host, Signature=00",
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'",
        ),
        ("Bearer abc.def.ghi", "Unsupported AWS 'algorithm': 'Bearer'"),
        ("", "Unsupported AWS 'algorithm': ''"),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={GOOD_SIGNATURE}",
            "should have the form '<access key>/<YYYYMMDD>/<region>/<service>/aws4_request'",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/iotevents/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={GOOD_SIGNATURE}",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '20260102' != '20260101', from '20260101T120000Z'.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2026-1-1/us-east-1/iotevents/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={GOOD_SIGNATURE}",
            "Credential should be scoped to a valid date",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/iotevents/aws4_reqest, "
            f"SignedHeaders=host;x-amz-date, Signature={GOOD_SIGNATURE}",
            "Credential should be scoped with a valid terminator: 'aws4_request', not "
            "'aws4_reqest'.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101//iotevents/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={GOOD_SIGNATURE}",
            "Credential should be scoped to a valid region.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1//aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={GOOD_SIGNATURE}",
            "Credential should be scoped to a valid service.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=/20260101/us-east-1/iotevents/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={GOOD_SIGNATURE}",
            "Credential should name an access key.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={GOOD_CREDENTIAL}, SignedHeaders=x-amz-date, "
            f"Signature={GOOD_SIGNATURE}",
            HOST_NOT_SIGNED,
        ),
    ],
)
def test_malformed_authorization_header(authorization: str, fragment: str) -> None:
    error = expect_error(
        with_authorization(signed_wire(), authorization), "IncompleteSignatureException"
    )
    assert fragment in error.message


@pytest.mark.parametrize(
    "amz_date", ["2026-01-01T12:00:00Z", "20260101T120000", "20261301T120000Z"]
)
def test_malformed_x_amz_date(amz_date: str) -> None:
    error = expect_error(
        replace_header(signed_wire(), b"x-amz-date", amz_date.encode()),
        "IncompleteSignatureException",
    )
    assert f"Got '{amz_date}'" in error.message


def test_malformed_date_header() -> None:
    wire = signed_wire(headers={"Date": "x"})
    error = expect_error(
        replace_header(wire, b"date", b"yesterday"), "IncompleteSignatureException"
    )
    assert "'yesterday'" in error.message


def test_no_date_at_all() -> None:
    method, path, query, headers, body = signed_wire()
    headers = [(n, v) for n, v in headers if n != b"x-amz-date"]
    error = expect_error((method, path, query, headers, body), "IncompleteSignatureException")
    assert "either a 'X-Amz-Date' or a 'Date' header" in error.message


# -- presigned rejections --------------------------------------------------------------------


def test_presigned_url_expires() -> None:
    wire = presigned_wire(expires=300)
    assert verifier(SIGNED_AT_EPOCH + 300).verify(*wire).identity is ALICE
    expect_error(
        wire, "InvalidSignatureException", "Request has expired", at=verifier(SIGNED_AT_EPOCH + 301)
    )


def test_presigned_url_from_the_future() -> None:
    error = expect_error(
        presigned_wire(), "InvalidSignatureException", at=verifier(SIGNED_AT_EPOCH - 901)
    )
    assert error.message.startswith("Signature not yet current: 20260101T120000Z")


@pytest.mark.parametrize(
    ("old", "new"),
    [("x=1", "x=2"), ("x=1", "x=1&y=2"), ("X-Amz-Expires=300", "X-Amz-Expires=600")],
)
def test_presigned_url_tampered_query(old: str, new: str) -> None:
    method, path, query, headers, body = presigned_wire()
    assert old in query
    tampered = (method, path, query.replace(old, new), headers, body)
    expect_mismatch(tampered)


def test_presigned_url_tampered_path() -> None:
    method, _, query, headers, body = presigned_wire()
    expect_mismatch((method, "/thing", query, headers, body))


@pytest.mark.parametrize(
    "param", ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Date"]
)
def test_presigned_url_missing_parameter(param: str) -> None:
    method, path, query, headers, body = presigned_wire()
    query = "&".join(p for p in query.split("&") if not p.startswith(param + "="))
    error = expect_error((method, path, query, headers, body), "IncompleteSignatureException")
    assert f"must include '{param}'" in error.message


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("X-Amz-Expires=300", "X-Amz-Expires=604801", "less than a week"),
        ("X-Amz-Expires=300", "X-Amz-Expires=-1", "should be a number"),
        ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1", "Unsupported"),
        ("SignedHeaders=host", "SignedHeaders=x-custom", HOST_NOT_SIGNED),
    ],
)
def test_presigned_url_malformed_parameter(old: str, new: str, fragment: str) -> None:
    method, path, query, headers, body = presigned_wire()
    assert old in query
    tampered = (method, path, query.replace(old, new), headers, body)
    assert fragment in expect_error(tampered, "IncompleteSignatureException").message


def test_presigned_url_with_unknown_key() -> None:
    method, path, query, headers, body = presigned_wire()
    query = query.replace("AKIDEXAMPLE", "AKIANOBODY")
    expect_error((method, path, query, headers, body), "UnrecognizedClientException")


def test_auth_error_shape() -> None:
    error = AuthError("InvalidSignatureException", "nope")
    assert (error.code, error.message, error.status) == ("InvalidSignatureException", "nope", 403)
    assert str(error) == "InvalidSignatureException: nope"


def test_canonical_uri_matches_botocore_for_odd_paths() -> None:
    auth = SigV4Auth(Credentials("a", "b"), "iotevents", "us-east-1")
    for path in [
        "",
        "/",
        "//",
        "/a//b/",
        "/a/./b/../c",
        "/../a",
        "/a/..",
        "/.well-known/x",
        "/a%2Fb/%7E/%E6%B8%A9",
        "/a b/ü",
        "/ü",
        "/a:b@c!$&'()*+,;=",
    ]:
        expected = auth._normalize_url_path(path)
        wire_path = path.encode().decode("latin-1")  # as an ASGI server would hand it over
        assert _canonical_uri(wire_path) == expected, path


def test_canonical_headers_trim_like_botocore() -> None:
    headers = [
        (b"host", b"h"),
        (b"x-a", b"  a   b\t\tc  "),
        (b"x-b", b"1"),
        (b"x-b", b" 2  3 "),
        (b"x-c", b"caf\xe9\xa0x"),
    ]
    names = ["host", "x-a", "x-b", "x-c", "x-missing"]
    expected = "host:h\nx-a:a b c\nx-b:1,2 3\nx-c:caf\xe9 x\nx-missing:"
    assert _canonical_headers(names, headers, dict(headers)) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1&a=", "a=&a=1&a=2"),
        ("a&b=", "a=&b="),
        ("k+y=a+b", "k%20y=a%20b"),
        ("a-b=1&a=2", "a=2&a-b=1"),
        ("x=1&&y=2", "x=1&y=2"),
    ],
)
def test_presumed_canonical_query(raw: str, expected: str) -> None:
    assert _presumed_canonical_query(raw, None) == expected


def now_factory(values: list[float]) -> Callable[[], float]:
    return lambda: values[0]


def test_clock_is_read_per_request() -> None:
    clock = [SIGNED_AT_EPOCH]
    check = SigV4Verifier(IDENTITIES, now=now_factory(clock))
    wire = signed_wire()
    assert check.verify(*wire).identity is ALICE
    clock[0] += 901
    expect_error(wire, "InvalidSignatureException", at=check)
