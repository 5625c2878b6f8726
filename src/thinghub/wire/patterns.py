"""Smithy `pattern` traits as Python regular expressions.

Smithy patterns are ECMA-262 and unanchored (search, not full match); a few use Java syntax
(`\\p{L}`, `\\x{HHHH}`). The `regex` package understands `\\p{..}`; `\\x{HHHH}` we rewrite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import regex

_JAVA_HEX = re.compile(r"(?<!\\)((?:\\\\)*)\\x\{([0-9A-Fa-f]{1,8})\}")


def _translate(pattern: str) -> str:
    return _JAVA_HEX.sub(lambda m: f"{m.group(1)}\\U{int(m.group(2), 16):08x}", pattern)


@cache
def compile_pattern(pattern: str) -> Callable[[str], object]:
    """A predicate that is truthy when `pattern` matches somewhere in the value."""
    translated = _translate(pattern)
    try:
        return re.compile(translated).search
    except re.error:
        return regex.compile(translated).search
