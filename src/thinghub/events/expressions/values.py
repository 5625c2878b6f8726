"""Run-time values of the expression language, and how they are parsed and rendered.

The four documented types map onto Python as:

* Integer -> ``int`` (never ``bool``: every type test uses ``type(v) is int``);
* Decimal -> ``decimal.Decimal``, so ``10`` and ``30.0`` stay distinct and ``10.01*9/5+32`` is
  exactly ``50.018`` (no binary floating-point noise);
* String -> ``str``; Boolean -> ``bool``.

JSON ``null`` is ``None`` and a missing path (or an invalid operation) is the singleton
`UNDEFINED`. Objects and arrays read from a payload pass through as ``dict``/``list``; every
operator treats them as incompatible.
"""

from __future__ import annotations

import decimal
import json
from decimal import Decimal
from typing import Any, Final, NoReturn

__all__ = [
    "DECIMAL_CONTEXT",
    "INT64_MAX",
    "INT64_MIN",
    "UNDEFINED",
    "Undefined",
    "decimal_text",
    "normalize",
    "parse_payload",
    "render_value",
    "to_json_literal",
    "type_name",
    "wrap64",
]


class Undefined:
    """The type of `UNDEFINED`: a missing path, a never-set variable or an invalid operation."""

    __slots__ = ()
    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> tuple[type[Undefined], tuple[()]]:
        # Unpickling must give back the singleton, or `is UNDEFINED` tests would fail.
        return (Undefined, ())

    def __copy__(self) -> Undefined:
        return self

    def __deepcopy__(self, memo: object) -> Undefined:
        return self


UNDEFINED: Final = Undefined()

# Decimal arithmetic follows IEEE 754 decimal128 (34 significant digits), in a context of our own
# so that nothing another module does to the thread's default context changes the results.
# Overflow, division by zero and 0/0 raise; the operators turn that into UNDEFINED.
DECIMAL_CONTEXT: Final = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-6143,
    Emax=6144,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
_INT64_SPAN: Final = 2**64


def wrap64(value: int) -> int:
    """`value` as a 64-bit two's complement integer (the width of the bit operations)."""
    if INT64_MIN <= value <= INT64_MAX:
        return value
    value &= _INT64_SPAN - 1
    return value - _INT64_SPAN if value > INT64_MAX else value


def normalize(value: Any) -> Any:
    """A value from outside (runtime variables, hand-built payloads) in the expression's types."""
    if type(value) is float:
        # repr() is the shortest round-trip text: 30.0 stays 30.0, 0.1 stays 0.1.
        return Decimal(repr(value))
    return value


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_payload(raw: bytes | str) -> Any:
    """Decode a message payload: fractions and exponents become Decimal, other numbers int.

    Raises ValueError when `raw` is not JSON (NaN and Infinity included).
    """
    return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)


def decimal_text(value: Decimal) -> str:
    """A Decimal in plain decimal form, always with a fraction: 30.0, 50.018, 0.5, -2.0.

    Trailing zeros are dropped (1.50 -> 1.5) and exponents written out (1E+3 -> 1000.0), which
    matches every number the AWS examples show ("30.0", "19.572") without binary noise.
    """
    if not value.is_finite():
        raise ValueError(f"{value} has no JSON form")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        return text + "0" if text.endswith(".") else text
    return text + ".0"


def render_value(value: Any) -> str:
    """How a value is interpolated into a ``${...}`` template.

    Numbers in decimal form, booleans ``true``/``false``, strings raw, null ``null``, objects and
    arrays as compact JSON. UNDEFINED has no rendering (ValueError): a template with an undefined
    part is itself undefined.
    """
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is Decimal:
        return decimal_text(value)
    return to_json_literal(value)


def to_json_literal(value: Any) -> str:
    """The JSON text of a value: ``10``, ``30.0``, ``false``, ``"01"``, ``null``, objects, arrays.

    This is how DescribeDetector shows variable values, and it serializes default payloads with
    native JSON types (Decimals keep their fraction: ``"rangeHigh":30.0``).
    """
    kind = type(value)
    if kind is str:
        return json.dumps(value, ensure_ascii=False)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is Decimal:
        return decimal_text(value)
    if value is None:
        return "null"
    if kind is float:
        return decimal_text(normalize(value))
    if isinstance(value, dict):
        items = (
            json.dumps(str(key), ensure_ascii=False) + ":" + to_json_literal(item)
            for key, item in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json_literal(item) for item in value) + "]"
    if value is UNDEFINED:
        raise ValueError("an undefined value has no JSON form")
    raise TypeError(f"{kind.__name__} is not an expression value")


def type_name(value: Any) -> str:
    """The language's name for a value's type, for messages: Integer, Decimal, String, ..."""
    kind = type(value)
    if kind is bool:
        return "Boolean"
    if kind is int:
        return "Integer"
    if kind is Decimal or kind is float:
        return "Decimal"
    if kind is str:
        return "String"
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return kind.__name__
