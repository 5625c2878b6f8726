"""JSON for detector state: IoT Events keeps Integer and Decimal apart (`10` vs `30.0`).

Decimals are `decimal.Decimal` in memory and plain JSON numbers with their exact digits on
disk and in payloads, so `30.0` stays `30.0` and `50.018` never becomes `50.01799999`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from thinghub.events.expressions import decimal_text, parse_payload


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        # decimal_text keeps a Decimal a Decimal: `10.0`, never `10` or `1E+1`.
        return orjson.Fragment(decimal_text(value))
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Compact JSON text with exact decimals."""
    return orjson.dumps(value, default=_exact).decode("utf-8")


def dumps_bytes(value: Any) -> bytes:
    return orjson.dumps(value, default=_exact)


def loads(text: str | bytes) -> Any:
    """JSON text back to values: fractions and exponents as Decimal, whole numbers as int.

    Exactly `parse_payload`, ~10x faster for the usual document: orjson decodes it, and only
    a document where orjson produced a float (a fraction, an exponent, or an integer beyond 64
    bits) or that orjson refuses (a lone surrogate, NaN, a BOM, ...) goes through
    `parse_payload` again, which then decides (its Decimals, its errors).
    """
    try:
        value = orjson.loads(text)
    except (ValueError, TypeError):
        return parse_payload(text)
    try:
        if not _has_float(value):
            return value
    except RecursionError:  # nested deeper than Python recurses: parse_payload decides
        pass
    return parse_payload(text)


def _has_float(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        for item in value.values():
            kind = type(item)
            if kind is float or ((kind is dict or kind is list) and _has_float(item)):
                return True
        return False
    if kind is list:
        for item in value:
            kind = type(item)
            if kind is float or ((kind is dict or kind is list) and _has_float(item)):
                return True
        return False
    return kind is float
