"""AWS Signature Version 4 verification of incoming requests.

The canonical request is rebuilt the way botocore's `SigV4Auth` builds it from the URL it
actually sends, so anything botocore signs verifies here:

* canonical URI: the raw (still percent-encoded) path with `.`/`..` and empty segments removed,
  then percent-encoded once more with `quote(path, safe='/~')`, so `%2F` becomes `%252F`;
* canonical query: pairs percent-decoded (`+` is a space: botocore sends `AWSRequest.params`
  form-encoded), re-encoded with `quote(x, safe='-_.~')` and sorted by encoded key, then value.
  For a query already in the URL botocore instead sorts the raw pairs as they are. Both agree for
  every URL botocore's clients build, where re-encoding changes nothing but `+`, so that is
  presumed first without urllib; the full re-encoding and the raw form are tried only when the
  signature does not match. Whoever reads the query afterwards must decode `+` as a space too,
  or the signature would not cover what it reads;
* canonical headers: in SignedHeaders order, values trimmed with inner whitespace runs collapsed
  to one space, repeated headers joined with ','.

Like AWS, the canonical URI drops empty and dot segments, so `/a//b/./c` is signed as `/a/b/c`:
a router that does not normalise the same way should refuse such paths.

`raw_path` and `raw_query` are the wire bytes decoded as latin-1 (ASGI `raw_path` and
`query_string`) so that no byte is lost; header values are decoded the same way, which is how
botocore's HTTP client (http.client) encodes them.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import mktime_tz, parsedate_tz
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote, unquote_to_bytes

from thinghub.identities import Identity, IdentityRegistry

if TYPE_CHECKING:
    from _hashlib import HASH

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
UNSIGNED_BODY = (
    "A request with a body must sign its payload (presigned URLs and UNSIGNED-PAYLOAD do not)."
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_PRESIGN_EXPIRES = 604800  # a week, the longest AWS accepts

MISSING_TOKEN = "MissingAuthenticationTokenException"
INCOMPLETE = "IncompleteSignatureException"
INVALID_SIGNATURE = "InvalidSignatureException"
UNRECOGNIZED_CLIENT = "UnrecognizedClientException"

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
PAYLOAD_MISMATCH = "The provided 'x-amz-content-sha256' header does not match what was computed."
HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."

_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_CACHE_SIZE = 256

_AUTHORIZATION_PREFIX = f"{ALGORITHM} Credential="
_AUTHORIZATION_PREFIX_LENGTH = len(_AUTHORIZATION_PREFIX)
# A path of these characters needs no urllib: quote(path, safe='/~') only turns '%' into '%25'.
_SIMPLE_PATH = re.compile(r"/[A-Za-z0-9\-_.~/%]*").fullmatch
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z").fullmatch

_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature")


class AuthError(Exception):
    """The request is not authenticated; always answered with HTTP 403."""

    status = 403

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Verified:
    """Who signed the request, and the region and signing name of its credential scope."""

    identity: Identity
    region: str
    service: str


class _Scope(NamedTuple):
    """A parsed Credential: access key and credential scope."""

    access_key: str
    date: str  # YYYYMMDD
    region: str
    service: str
    text: str  # date/region/service/aws4_request as sent


class _Claim(NamedTuple):
    """What the client says it signed, from the Authorization header or the query."""

    scope: _Scope
    amz_date: str  # the request time, YYYYMMDDTHHMMSSZ
    signed_headers: str  # as sent, e.g. "host;x-amz-date"
    header_names: list[str]
    signature: str


class _Signer(NamedTuple):
    """A derived signing key as HMAC-SHA256 pad states, and the answer for its scope.

    Copying pre-keyed sha256 states halves the cost of an HMAC against hmac.digest, which sets
    an OpenSSL MAC up afresh on every call.
    """

    inner: HASH
    outer: HASH
    verified: Verified


class SigV4Verifier:
    """Checks AWS SigV4 signatures (Authorization header or presigned query) against identities."""

    __slots__ = ("_identities", "_max_skew", "_now", "_scopes", "_signers", "_skew_label", "_times")

    def __init__(
        self,
        identities: IdentityRegistry,
        max_skew_seconds: float = 900.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._identities = identities
        self._max_skew = max_skew_seconds
        self._now = now
        self._skew_label = f"{max_skew_seconds / 60:g} min."
        # A signing key changes once a day per (secret, region, service); deriving it takes
        # four HMACs, more than the rest of the check.
        self._signers: dict[tuple[str, _Scope], _Signer] = {}
        # Requests within a second share their X-Amz-Date, and a client its credential scope:
        # parsing either costs more than looking it up.
        self._times: dict[str, float] = {}
        self._scopes: dict[str, _Scope] = {}

    def verify(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
    ) -> Verified:
        """The verified caller, or AuthError saying why the request is not authenticated."""
        # dict() keeps the last of repeated names; _canonical_headers goes back to the list
        # when there are repeats.
        header_map = dict(headers)
        authorization = header_map.get(b"authorization")
        if authorization is not None:
            claim = self._claim_from_header(authorization.decode("latin-1"), header_map)
            presigned = False
        elif "X-Amz-" in raw_query and _is_presigned(params := _query_params(raw_query)):
            claim = self._claim_from_query(params)
            presigned = True
        else:
            raise AuthError(MISSING_TOKEN, "Missing Authentication Token")

        scope = claim.scope
        identity = self._identities.get(scope.access_key)
        if identity is None:
            raise AuthError(UNRECOGNIZED_CLIENT, INVALID_TOKEN)

        claimed_payload = header_map.get(b"x-amz-content-sha256")
        if claimed_payload is not None:
            payload = claimed_payload.decode("latin-1")
        else:
            payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        if body and (presigned or payload == UNSIGNED_PAYLOAD):
            # Neither form covers the body: a body nobody signed is never accepted.
            raise AuthError(INVALID_SIGNATURE, UNSIGNED_BODY)

        cache_key = (identity.secret_key, scope)
        signer = self._signers.get(cache_key)
        cached = signer is not None and signer.verified.identity is identity
        if signer is None or not cached:
            signer = _make_signer(identity, scope)

        canonical_headers = _canonical_headers(claim.header_names, headers, header_map)
        head = f"{method.upper()}\n{_canonical_uri(raw_path)}\n"
        tail = f"\n{canonical_headers}\n\n{claim.signed_headers}\n"
        drop = "X-Amz-Signature" if presigned else None
        query = _presumed_canonical_query(raw_query, drop)
        provided = claim.signature.encode()
        prefix = f"{ALGORITHM}\n{claim.amz_date}\n{scope.text}\n"
        if not _matches(signer, prefix, f"{head}{query}{tail}{payload}", provided):
            # Only tried once the usual form failed: the query canonicalised in full, the raw
            # query as botocore signs one it finds in a URL, and the other payload hash.
            queries = [query]
            for form in (_canonical_query(raw_query, drop), _raw_sorted_query(raw_query, drop)):
                if form not in queries:
                    queries.append(form)
            payloads = [payload]
            if presigned and claimed_payload is None:
                # botocore's SigV4QueryAuth hashes the (emptied) body as if header-signed;
                # S3-style presigners sign the constant UNSIGNED-PAYLOAD instead.
                payloads.append(UNSIGNED_PAYLOAD)
            if not any(
                _matches(signer, prefix, f"{head}{q}{tail}{p}", provided)
                for q in queries
                for p in payloads
                if (q, p) != (query, payload)
            ):
                raise AuthError(INVALID_SIGNATURE, SIGNATURE_MISMATCH)

        if not cached:
            # Cached only once a signature proved it right, so that unauthenticated traffic
            # cannot churn the cache.
            if len(self._signers) >= _CACHE_SIZE:
                self._signers.pop(next(iter(self._signers)), None)
            self._signers[cache_key] = signer

        if claimed_payload is not None and payload != UNSIGNED_PAYLOAD:
            actual = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
            if payload.lower() != actual:
                raise AuthError(INVALID_SIGNATURE, PAYLOAD_MISMATCH)
        return signer.verified

    # -- Authorization header -------------------------------------------------------------

    def _claim_from_header(self, authorization: str, header_map: dict[bytes, bytes]) -> _Claim:
        credential, signed_headers, signature = _parse_authorization(authorization)

        amz_date_value = header_map.get(b"x-amz-date")
        if amz_date_value is not None:
            amz_date = amz_date_value.decode("latin-1").strip()
            when = self._parse_amz_date(amz_date)
        else:
            date_value = header_map.get(b"date")
            if date_value is None:
                raise AuthError(
                    INCOMPLETE,
                    "Authorization header requires existence of either a 'X-Amz-Date' or a "
                    f"'Date' header. Authorization={authorization}",
                )
            when, amz_date = _parse_http_date(date_value.decode("latin-1"))
        claim = self._make_claim(credential, amz_date, signed_headers, signature)
        self._check_time(amz_date, when, None)
        return claim

    # -- presigned query ----------------------------------------------------------------

    def _claim_from_query(self, params: dict[str, str]) -> _Claim:
        for name in (*_PRESIGN_PARAMS, "X-Amz-Date"):
            if name not in params:
                raise AuthError(
                    INCOMPLETE,
                    f"AWS query-string parameters must include '{name}'. "
                    "Re-examine the query-string parameters.",
                )
        algorithm = params["X-Amz-Algorithm"]
        if algorithm != ALGORITHM:
            raise AuthError(
                INCOMPLETE,
                f"Unsupported AWS 'algorithm': '{algorithm}'; only '{ALGORITHM}' is supported.",
            )
        expires: int | None = None
        if "X-Amz-Expires" in params:
            raw_expires = params["X-Amz-Expires"]
            if not (raw_expires.isascii() and raw_expires.isdigit()):
                raise AuthError(INCOMPLETE, f"X-Amz-Expires should be a number: '{raw_expires}'.")
            expires = int(raw_expires)
            if expires > MAX_PRESIGN_EXPIRES:
                raise AuthError(
                    INCOMPLETE,
                    "X-Amz-Expires must be less than a week (in seconds) that is "
                    f"{MAX_PRESIGN_EXPIRES}.",
                )
        amz_date = params["X-Amz-Date"]
        when = self._parse_amz_date(amz_date)
        claim = self._make_claim(
            params["X-Amz-Credential"],
            amz_date,
            params["X-Amz-SignedHeaders"],
            params["X-Amz-Signature"],
        )
        self._check_time(amz_date, when, expires)
        return claim

    def _make_claim(
        self, credential: str, amz_date: str, signed_headers: str, signature: str
    ) -> _Claim:
        scope = self._scopes.get(credential)
        if scope is None:
            scope = _parse_credential(credential)
            if len(self._scopes) >= _CACHE_SIZE:
                self._scopes.clear()
            self._scopes[credential] = scope
        if scope.date != amz_date[:8]:
            raise AuthError(
                INCOMPLETE,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{scope.date}' != '{amz_date[:8]}', from '{amz_date}'.",
            )
        header_names = signed_headers.split(";")
        if "host" not in header_names:
            raise AuthError(INCOMPLETE, HOST_NOT_SIGNED)
        return _Claim(scope, amz_date, signed_headers, header_names, signature)

    # -- time ---------------------------------------------------------------------------

    def _parse_amz_date(self, value: str) -> float:
        when = self._times.get(value)
        if when is not None:
            return when
        if _AMZ_DATE(value) is None:
            raise AuthError(INCOMPLETE, _bad_date_message(value))
        try:
            moment = datetime.datetime(
                int(value[0:4]),
                int(value[4:6]),
                int(value[6:8]),
                int(value[9:11]),
                int(value[11:13]),
                int(value[13:15]),
            )
        except ValueError:
            raise AuthError(INCOMPLETE, _bad_date_message(value)) from None
        when = float(calendar.timegm(moment.timetuple()))
        if len(self._times) >= _CACHE_SIZE:
            self._times.clear()
        self._times[value] = when
        return when

    def _check_time(self, amz_date: str, when: float, expires: int | None) -> None:
        """Header signatures hold max_skew either side of now, presigned URLs until they expire."""
        now = self._now()
        skew = self._max_skew
        if when > now + skew:
            raise AuthError(
                INVALID_SIGNATURE,
                f"Signature not yet current: {amz_date} is still later than "
                f"{_format_time(now + skew)} ({_format_time(now)} + {self._skew_label})",
            )
        if expires is not None:
            if now > when + expires:
                raise AuthError(INVALID_SIGNATURE, "Request has expired")
        elif when < now - skew:
            raise AuthError(
                INVALID_SIGNATURE,
                f"Signature expired: {amz_date} is now earlier than "
                f"{_format_time(now - skew)} ({_format_time(now)} - {self._skew_label})",
            )


# -- claim parsing ------------------------------------------------------------------------


def _parse_authorization(authorization: str) -> tuple[str, str, str]:
    """(Credential, SignedHeaders, Signature) from an Authorization header."""
    if authorization.startswith(_AUTHORIZATION_PREFIX) and authorization.count(",") == 2:
        # botocore's layout, split without a regex (which costs twice as much).
        after_prefix = authorization[_AUTHORIZATION_PREFIX_LENGTH:]
        credential, found_signed, rest = after_prefix.partition(", SignedHeaders=")
        signed_headers, found_signature, signature = rest.partition(", Signature=")
        if found_signed and found_signature:
            return credential, signed_headers, signature
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError(
            INCOMPLETE,
            f"Unsupported AWS 'algorithm': '{algorithm}'; only '{ALGORITHM}' is supported. "
            f"Authorization={authorization}",
        )
    found: dict[str, str] = {}
    for part in rest.split(","):
        name, _, value = part.strip().partition("=")
        found.setdefault(name, value)
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if name not in found
    ]
    if missing:
        raise AuthError(INCOMPLETE, " ".join([*missing, f"Authorization={authorization}"]))
    return found["Credential"], found["SignedHeaders"], found["Signature"]


def _parse_credential(credential: str) -> _Scope:
    parts = credential.split("/")
    if len(parts) != 5:
        raise AuthError(
            INCOMPLETE,
            f"Credential '{credential}' should have the form "
            f"'<access key>/<YYYYMMDD>/<region>/<service>/{TERMINATOR}'.",
        )
    access_key, date, region, service, terminator = parts
    if not access_key:
        raise AuthError(INCOMPLETE, "Credential should name an access key.")
    if len(date) != 8 or not (date.isascii() and date.isdigit()):
        raise AuthError(INCOMPLETE, f"Credential should be scoped to a valid date, not '{date}'.")
    if not region:
        raise AuthError(INCOMPLETE, "Credential should be scoped to a valid region.")
    if not service:
        raise AuthError(INCOMPLETE, "Credential should be scoped to a valid service.")
    if terminator != TERMINATOR:
        raise AuthError(
            INCOMPLETE,
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', "
            f"not '{terminator}'.",
        )
    return _Scope(access_key, date, region, service, credential[len(access_key) + 1 :])


def _bad_date_message(value: str) -> str:
    return (
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_http_date(value: str) -> tuple[float, str]:
    """An RFC 1123 Date header as (epoch seconds, YYYYMMDDTHHMMSSZ)."""
    parsed = parsedate_tz(value)
    if parsed is not None:
        try:
            when = float(mktime_tz(parsed))
            return when, _format_time(when)
        except (OverflowError, ValueError):
            pass
    raise AuthError(INCOMPLETE, f"Date header '{value}' is not an RFC 1123 date.")


def _format_time(when: float) -> str:
    return time.strftime(_AMZ_DATE_FORMAT, time.gmtime(when))


def _query_params(raw_query: str) -> dict[str, str]:
    """Decoded query parameters, the first value of each name (only X-Amz-* are read)."""
    params: dict[str, str] = {}
    for piece in raw_query.split("&"):
        name, _, value = piece.partition("=")
        name = _unquote_plus(name)
        if name not in params:
            params[name] = _unquote_plus(value)
    return params


def _is_presigned(params: dict[str, str]) -> bool:
    return any(name in params for name in _PRESIGN_PARAMS)


def _unquote_plus(text: str) -> str:
    if "%" not in text and "+" not in text:
        return text
    return unquote_to_bytes(_wire_bytes(text.replace("+", " "))).decode("utf-8", "replace")


# -- canonical request --------------------------------------------------------------------


def _wire_bytes(text: str) -> bytes:
    """The bytes a latin-1-decoded wire string came from (UTF-8 for text that never was)."""
    if text.isascii():
        return text.encode("ascii")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _canonical_uri(raw_path: str) -> str:
    if _SIMPLE_PATH(raw_path) is not None and "//" not in raw_path and "/." not in raw_path:
        return raw_path.replace("%", "%25") if "%" in raw_path else raw_path
    if not raw_path:
        return "/"
    return quote(_wire_bytes(_remove_dot_segments(raw_path)), safe="/~")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, also dropping empty segments, as botocore.utils.remove_dot_segments."""
    output: list[str] = []
    for segment in path.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if output:
                    output.pop()
            else:
                output.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and output else ""
    return first + "/".join(output) + last


def _presumed_canonical_query(raw_query: str, drop: str | None) -> str:
    """The canonical query if raw_query is encoded as botocore encodes, which is usual.

    botocore's clients (percent_encode_sequence) send unreserved characters as they are and
    everything else as upper-case escapes; AWSRequest.params (urlencode) do too, but for a space
    sent as '+'. Re-encoding such a query only turns '+' into '%20', so this skips urllib;
    anything else fails the signature check here and is canonicalised in full then.
    """
    if not raw_query:
        return ""
    if "+" in raw_query:
        raw_query = raw_query.replace("+", "%20")
    if "&" not in raw_query:
        name, _, value = raw_query.partition("=")
        return "" if name == drop else f"{name}={value}"
    pairs: list[tuple[str, str]] = []
    for text in raw_query.split("&"):
        if text:
            name, _, value = text.partition("=")
            if name != drop:
                pairs.append((name, value))
    pairs.sort()
    return "&".join([f"{name}={value}" for name, value in pairs])


def _canonical_query(raw_query: str, drop: str | None) -> str:
    """Pairs percent-decoded ('+' is a space), re-encoded and sorted, as SigV4 specifies."""
    pairs: list[tuple[str, str]] = []
    for text in raw_query.split("&"):
        if text:
            raw_name, _, raw_value = text.partition("=")
            name = _requote(raw_name)
            if name != drop:
                pairs.append((name, _requote(raw_value)))
    pairs.sort()
    return "&".join([f"{name}={value}" for name, value in pairs])


def _requote(component: str) -> str:
    return quote(unquote_to_bytes(_wire_bytes(component.replace("+", " "))), safe="-_.~")


def _raw_sorted_query(raw_query: str, drop: str | None) -> str:
    """What botocore signs for a query it finds in the URL: the raw pairs, sorted, as they are."""
    if not raw_query:
        return ""
    pairs: list[tuple[str, str]] = []
    for text in raw_query.split("&"):
        name, _, value = text.partition("=")
        if name != drop:
            pairs.append((name, value))
    pairs.sort()
    return "&".join([f"{name}={value}" for name, value in pairs])


def _canonical_headers(
    names: list[str], headers: Sequence[tuple[bytes, bytes]], header_map: dict[bytes, bytes]
) -> str:
    lines = []
    if len(header_map) == len(headers):
        # No repeated names, the usual case.
        for name in names:
            value = header_map.get(name.lower().encode("latin-1"), b"").decode("latin-1")
            lines.append(f"{name}:{' '.join(value.split())}")
    else:
        repeated: dict[bytes, list[bytes]] = {}
        for header_name, header_value in headers:
            repeated.setdefault(header_name, []).append(header_value)
        for name in names:
            values = repeated.get(name.lower().encode("latin-1"), [])
            joined = ",".join([" ".join(v.decode("latin-1").split()) for v in values])
            lines.append(f"{name}:{joined}")
    return "\n".join(lines)


# -- signing ------------------------------------------------------------------------------


def _make_signer(identity: Identity, scope: _Scope) -> _Signer:
    key = hmac.digest(f"AWS4{identity.secret_key}".encode(), scope.date.encode(), "sha256")
    key = hmac.digest(key, scope.region.encode(), "sha256")
    key = hmac.digest(key, scope.service.encode(), "sha256")
    key = hmac.digest(key, TERMINATOR.encode(), "sha256").ljust(64, b"\0")
    return _Signer(
        hashlib.sha256(bytes(byte ^ 0x36 for byte in key)),
        hashlib.sha256(bytes(byte ^ 0x5C for byte in key)),
        Verified(identity, scope.region, scope.service),
    )


def _matches(signer: _Signer, prefix: str, canonical_request: str, provided: bytes) -> bool:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    inner = signer.inner.copy()
    inner.update(f"{prefix}{digest}".encode())
    outer = signer.outer.copy()
    outer.update(inner.digest())
    return hmac.compare_digest(outer.hexdigest().encode("ascii"), provided)
