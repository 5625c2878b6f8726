"""The grammar of the expression language, compiled once into a Lark LALR parser.

Precedence is not documented by AWS; we use the C/JavaScript order (spec 5.3, Recommended),
loosest first: ``||``, ``&&``, ``|``, ``^``, ``&``, ``== !=``, ``< <= > >=``, ``+ -``,
``* /``, unary ``! ~ -``. Every binary operator is left-associative.

References are single tokens (no blanks inside ``$input.X.a[0].b``), and so are string
literals: a string's ``${...}`` parts may hold further strings of either quote style, which a
regular expression can only follow to a fixed depth (`_TEMPLATE_DEPTH`). `templates.py` splits
the literal afterwards and the compiler parses each part with this same parser.
"""

from __future__ import annotations

from typing import Final

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from thinghub.events.expressions.errors import ExpressionSyntaxError

__all__ = ["parse"]

_NAME: Final = r"[a-zA-Z][a-zA-Z0-9_]*"
_BACKTICKED: Final = r"`[^`]+`"
_SEGMENT: Final = rf"(?:{_NAME}|{_BACKTICKED})"
_TEMPLATE_DEPTH: Final = 5


def _quoted(quote: str, depth: int) -> str:
    # Any character but the quote, a backslash pair, a whole ${...}, or a lone "$". Possessive
    # loops and an atomic ${...} keep an unterminated string from backtracking exponentially.
    return rf"{quote}(?:[^{quote}\\$]|\\(?s:.)|{_substitution(depth)}|\$)*+{quote}"


def _substitution(depth: int) -> str:
    if depth == 0:
        return "(?!)"  # nested too deep: the "$" falls back to a plain character
    inner = rf"""[^{{}}'"`]|`[^`]*`|{_quoted("'", depth - 1)}|{_quoted('"', depth - 1)}"""
    return rf"(?>\$\{{(?:{inner})*+\}})"


_STRING: Final = f"{_quoted(chr(39), _TEMPLATE_DEPTH)}|{_quoted(chr(34), _TEMPLATE_DEPTH)}"

GRAMMAR: Final = rf"""
?start: _expr
_expr: or_expr
?or_expr: and_expr | or_expr "||" and_expr -> logical_or
?and_expr: bitor_expr | and_expr "&&" bitor_expr -> logical_and
?bitor_expr: bitxor_expr | bitor_expr "|" bitxor_expr -> bit_or
?bitxor_expr: bitand_expr | bitxor_expr "^" bitand_expr -> bit_xor
?bitand_expr: equality | bitand_expr "&" equality -> bit_and
?equality: relation | equality "==" relation -> eq | equality "!=" relation -> ne
?relation: sum | relation "<" sum -> lt | relation "<=" sum -> le
         | relation ">" sum -> gt | relation ">=" sum -> ge
?sum: product | sum "+" product -> add | sum "-" product -> sub
?product: unary | product "*" unary -> mul | product "/" unary -> div
?unary: primary | "!" unary -> not_ | "-" unary -> neg | "~" unary -> invert
?primary: INTEGER | DECIMAL | TRUE | FALSE | STRING | INPUT_REF | VARIABLE_REF
        | NAME "(" [_expr ("," _expr)*] ")" -> call
        | "(" _expr ")"
        | NAME -> word

TRUE: "true"
FALSE: "false"
DECIMAL.2: /[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+/
INTEGER: /[0-9]+/
NAME: /{_NAME}/
INPUT_REF: /\$input\.{_SEGMENT}(?:\.{_SEGMENT}|\[[0-9]+\])*/
VARIABLE_REF: /\$variable\.{_SEGMENT}/
STRING: /{_STRING}/

%ignore /[ \t\r\n]+/
"""

# Built at import: the grammar is compiled once per process, never per expression.
_PARSER: Final = Lark(
    GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False, start="start"
)

_TOKEN_KINDS: Final = {
    "INTEGER": "number",
    "DECIMAL": "number",
    "STRING": "string",
    "INPUT_REF": "reference",
    "VARIABLE_REF": "reference",
    "NAME": "name",
}


def parse(source: str, start: int = 0, end: int | None = None) -> Tree[Token]:
    """Parse ``source[start:end]``; token positions in the tree are relative to `start`.

    Errors are raised as ExpressionSyntaxError against the whole `source`, so that a mistake
    inside a ``${...}`` part is reported where it is in the full text.
    """
    stop = len(source) if end is None else end
    text = source[start:stop]
    if not text.strip():
        raise ExpressionSyntaxError("empty expression", source, start)
    try:
        return _PARSER.parse(text)
    except UnexpectedInput as error:
        message, offset = _describe(error, text)
        raise ExpressionSyntaxError(message, source, start + offset) from None


def _describe(error: UnexpectedInput, text: str) -> tuple[str, int]:
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = text[position]
        if char in "'\"":
            return "unterminated string literal", position
        if text.startswith(("$input", "$variable"), position):
            return f"malformed reference '{text[position:].split()[0]}'", position
        return f"unexpected character {char!r}", position
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        kind = _TOKEN_KINDS.get(token.type)
        shown = f"'{token.value}'" if kind is None else f"{kind} {token.value}"
        return f"unexpected {shown}", token.start_pos or 0
    if isinstance(error, UnexpectedToken | UnexpectedEOF):
        return "unexpected end of expression", len(text.rstrip())
    return str(error), 0  # pragma: no cover - Lark has no other parse-time errors
