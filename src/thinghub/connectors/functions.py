"""Lambda function names and ARNs, and which local handler (if any) serves a function.

Lambda accepts a function as a bare name (``acme``), a name with a qualifier (``acme:live``),
a partial ARN (``123456789012:function:acme``) or a full ARN, each optionally qualified with
a version or alias; ``$LATEST`` is the same as no qualifier. The ``[functions]`` table may
use any of these forms as keys: a key matches every invoked function it does not contradict,
and the most specific matching key wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,140}$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FunctionRef:
    """A function as given; the parts the text did not say are None."""

    name: str
    qualifier: str | None = None
    account_id: str | None = None
    region: str | None = None
    partition: str = "aws"

    def arn(self, *, account_id: str, region: str) -> str:
        """The full ARN, with the given account and region where the text named none."""
        arn = (
            f"arn:{self.partition}:lambda:{self.region or region}:"
            f"{self.account_id or account_id}:function:{self.name}"
        )
        return f"{arn}:{self.qualifier}" if self.qualifier else arn

    def matches(self, other: FunctionRef) -> bool:
        """Whether `other` (an invoked function) is one this reference (a config key) names."""
        return (
            self.name == other.name
            and self.qualifier in (None, other.qualifier)
            and self.account_id in (None, other.account_id)
            and self.region in (None, other.region)
        )

    @property
    def specificity(self) -> int:
        return sum(part is not None for part in (self.qualifier, self.account_id, self.region))


def parse_function(text: str) -> FunctionRef:
    """A FunctionRef from any form Lambda's FunctionName accepts; ValueError otherwise."""
    parts = text.split(":")
    if parts[0] == "arn":
        if len(parts) not in (7, 8) or parts[2] != "lambda" or parts[5] != "function":
            raise ValueError(f"{text!r} is not a Lambda function ARN")
        ref = FunctionRef(parts[6], _qualifier(parts[7:]), parts[4], parts[3], parts[1])
    elif len(parts) in (3, 4) and parts[1] == "function":
        ref = FunctionRef(parts[2], _qualifier(parts[3:]), parts[0])
    elif len(parts) in (1, 2):
        ref = FunctionRef(parts[0], _qualifier(parts[1:]))
    else:
        raise ValueError(f"{text!r} is neither a Lambda function name nor an ARN")
    if not _NAME.match(ref.name):
        where = "" if ref.name == text else f"{text!r}: "
        raise ValueError(f"{where}{ref.name!r} is not a valid Lambda function name")
    if ref.qualifier is not None and not ref.qualifier:
        raise ValueError(f"{text!r} has an empty qualifier")
    return ref


def _qualifier(rest: list[str]) -> str | None:
    if not rest or rest[0] == "$LATEST":
        return None
    return rest[0]


@dataclass(frozen=True)
class HandlerSpec:
    """A Python handler: ``package.module:function`` (or Lambda's ``package.module.function``)."""

    module: str
    function: str

    @classmethod
    def parse(cls, text: str) -> HandlerSpec:
        module, sep, function = text.partition(":")
        if not sep:
            module, _, function = text.rpartition(".")
        if not _MODULE.match(module) or not _ATTRIBUTE.match(function):
            raise ValueError(f"{text!r} is not of the form package.module:function")
        return cls(module, function)

    def __str__(self) -> str:
        return f"{self.module}:{self.function}"


@dataclass(frozen=True)
class LocalFunction:
    """An invoked function that a local handler serves, in the account and region it runs for."""

    handler: HandlerSpec
    ref: FunctionRef
    account_id: str
    region: str

    @property
    def arn(self) -> str:
        """The invoked function ARN (qualifier included), as the Lambda context reports it."""
        return self.ref.arn(account_id=self.account_id, region=self.region)

    @property
    def version(self) -> str:
        # Qualifiers are never resolved here: every alias and version runs the same code.
        return "$LATEST"


class FunctionTable:
    """The ``[functions]`` table: function (name or ARN) -> local handler."""

    def __init__(self, entries: Mapping[FunctionRef, HandlerSpec]) -> None:
        self._entries = dict(entries)

    def find(self, invoked: FunctionRef) -> HandlerSpec | None:
        """The handler of the most specific key naming `invoked`; None: not a local function."""
        candidates = [ref for ref in self._entries if ref.matches(invoked)]
        if not candidates:
            return None
        return self._entries[max(candidates, key=lambda ref: ref.specificity)]

    def __len__(self) -> int:
        return len(self._entries)
