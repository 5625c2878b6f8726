"""The AWS IoT Events expression language, compiled to Python closures.

Compile once, evaluate many times::

    condition = compile_condition("$input.PressureInput.sensorData.pressure > 70")
    if condition(env): ...

    value = compile_expression("$variable.count + 1").evaluate(env)   # or UNDEFINED

Values: Integer is ``int``, Decimal is ``decimal.Decimal`` (payloads decoded with
`parse_payload`), String ``str``, Boolean ``bool``; JSON null is ``None`` and a missing path or
an invalid operation is `UNDEFINED`. See `grammar` for the syntax and precedence, `operators`
for the type rules, `functions` for the built-ins and `templates` for ``${...}``.
"""

from thinghub.events.expressions.compiler import (
    compile_condition,
    compile_expression,
    compile_template,
    literal_or_expression,
)
from thinghub.events.expressions.errors import ExpressionSyntaxError
from thinghub.events.expressions.evaluation import Evaluation, SimpleEvaluation
from thinghub.events.expressions.expression import Expression, References, Template
from thinghub.events.expressions.values import (
    UNDEFINED,
    Undefined,
    decimal_text,
    normalize,
    parse_payload,
    render_value,
    to_json_literal,
    type_name,
)

__all__ = [
    "UNDEFINED",
    "Evaluation",
    "Expression",
    "ExpressionSyntaxError",
    "References",
    "SimpleEvaluation",
    "Template",
    "Undefined",
    "compile_condition",
    "compile_expression",
    "compile_template",
    "decimal_text",
    "literal_or_expression",
    "normalize",
    "parse_payload",
    "render_value",
    "to_json_literal",
    "type_name",
]
