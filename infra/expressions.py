"""Values that are text with structure inside (a JSON document, a query with quotes), written as
Terraform expressions, so that both outputs of the synthesis carry them correctly: the JSON
(`cdk.tf.json`, what `cdktf deploy` applies) and the HCL (`cdktf synth --hcl`, `make hcl`,
the exit ramp from CDKTF; README "Exit ramp: HCL").

Why not `json.dumps(...)` into a string attribute: CDKTF's HCL writer (cdktf 0.21,
lib/hcl/render.js `escapeQuotes` and `renderString`) copies a string that holds a `${`
interpolation as it is, unescaped, and escapes no backslash in any string. A JSON text with a
reference in it (a container definition naming its log group, a dashboard naming the load
balancer) then comes out as HCL that does not parse, and one with an escaped quote (`\\"`)
as HCL with another value. As an expression, `jsonencode({...})` or `format("...", ...)`, the
value is code in both outputs, and Terraform builds the text when it plans.

The second half of the fix is here too: inside an expression CDKTF writes a string literal
with only newlines and `${` escaped (lib/tfExpression.js `escapeString`), not quotes or
backslashes, so `literal` escapes those first. The resulting text is the same in the JSON and
the HCL output (tests/test_expressions.py applies both with Terraform and compares).

What Terraform's `jsonencode` writes is compact JSON with keys sorted, a different text than
`json.dumps` wrote before for the same document; the AWS provider compares these attributes
as JSON (container definitions, dashboards, queue policies), so a deployed stack sees no change.
"""

from __future__ import annotations

from typing import Any

from cdktf import Fn, Token
from constructs import Construct

from infra.naming import PREFIX, Names

# Order matters: the backslash first, so the escapes added after it stay single.
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("%{", "%%{"))


def literal(text: str) -> str:
    """`text` escaped for a string literal inside a Terraform expression built by CDKTF.

    CDKTF adds the quotes, turns a literal `${` into `$${` and leaves its own tokens (the
    `${TfToken[...]}` markers of references, which hold none of these characters) alone."""
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def _escaped(value: Any, prefix: str | None) -> Any:
    if isinstance(value, str):
        text = literal(value)
        if PREFIX in text:
            # A name of this copy (infra.naming): the prefix must stay an interpolation, and a
            # literal `${` inside an expression is escaped by CDKTF; a reference token is not.
            if prefix is None:
                raise ValueError(f"jsonencode: {value!r} holds a workspace-aware name: pass scope= to resolve its prefix")
            text = text.replace(PREFIX, prefix)
        return text
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        # CDKTF writes a key between quotes as it is (tfExpression.js resolveExpressionPart):
        # no `${` escaping there either.
        return {literal(str(key)).replace("${", "$${"): _escaped(item, prefix) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(item, prefix) for item in value]
    raise TypeError(f"jsonencode: {type(value).__name__} is not a JSON value: {value!r}")


def jsonencode(document: Any, *, scope: Construct | None = None) -> str:
    """The JSON text of `document` (dicts, lists, strings, numbers, booleans; strings may hold
    references), as Terraform's `jsonencode` of it: `${jsonencode({...})}`.

    A string that is a reference and nothing else is written as the bare reference, so it keeps
    its Terraform type: a number output stays a JSON number. Where the document wants a string
    (an ECS environment value), pass `Fn.tostring(reference)`."""
    prefix = Names.of(scope).prefix_ref if scope is not None else None
    return Fn.jsonencode(_escaped(document, prefix))


def format_(template: str, *values: Any) -> str:
    """Terraform's `format(template, values...)`: text with quotes and references in it, such
    as a Metrics Insights query naming a load balancer (`%s` for each value, `%%` for a `%`)."""
    return Token.as_string(Fn.format(literal(template), list(values)))
