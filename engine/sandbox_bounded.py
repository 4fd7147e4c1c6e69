"""Which expressions are cheap enough to evaluate inside the server without a worker process.

Most model code is a gateway condition such as `approved == True` or `amount > 100`. An expression
built only from names, constants, comparisons, boolean operators, conditional expressions, displays
and subscripts/attributes of data cannot loop, call anything or build a value larger than the data
and the source it reads, so it is bounded without a time or memory limit. Anything else (calls,
comprehensions, lambdas, f-strings, arithmetic: `**`, `*`, `<<` and `%` can build huge values from
tiny source) goes to a script worker.
"""
from __future__ import annotations

import ast
import functools

MAX_NODES = 200  # a longer expression is rare enough to pay the worker's round trip

_ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Slice,
    ast.Compare, ast.BoolOp, ast.UnaryOp, ast.IfExp, ast.Tuple, ast.List, ast.Dict, ast.Set,
    ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
)


@functools.lru_cache(maxsize=4096)
def is_bounded_expression(source: str) -> bool:
    """Tell whether an expression is proven bounded by the whitelist above."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return False
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        return False
    return all(isinstance(node, _ALLOWED) for node in nodes)
