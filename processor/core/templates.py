"""Message templates from settings, rendered with bounded time and output size.

A message template (``[messages]``) travels with the workbook's settings sheet: it is
untrusted input. It is compiled and rendered in jinja2's sandbox (no attribute escapes:
``SecurityError``), and on top of the sandbox every render is bounded:

- **time**: every ``{% for %}`` of the template draws from one budget of
  :data:`STEPS` iterations per render, so nested ``range(100000)`` loops stop after
  :data:`STEPS` turns instead of 10^10;
- **memory**: no value built while rendering may exceed :data:`LIMIT` characters (or
  items, or digits): ``'x' * 4000000000``, ``'%9999999999s'``, ``'x'|center(10**9)``,
  ``2 ** 10**9`` are refused *before* they are computed, and a value that grows step by
  step (``~`` in a loop) is stopped at the limit;
- **output**: a rendered message longer than :data:`LIMIT` characters is refused.

Every failure (syntax, sandbox, limits, any error the template raises) comes back as a
problem text for an :class:`Issue`; nothing here raises on a template.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

# Characters of a rendered message and of any value built while rendering one.
LIMIT = 10_000
# Loop turns per render, all loops together.
STEPS = 100_000
# A width or precision of this many digits in a format string is refused (>= 10**5).
_BIG_NUMBER = re.compile(r"\d{5,}")

_budget: ContextVar[list[int] | None] = ContextVar("template_budget", default=None)


class TemplateLimit(SecurityError):
    """A template asked for more time or memory than a message may take."""


def _size(value: Any) -> int:
    """Characters, items or decimal digits of ``value`` (0 for other values)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value.bit_length() * 3 // 10
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset | range):
        return len(value)
    return 0


def _sized(value: Any) -> Any:
    if _size(value) > LIMIT:
        raise TemplateLimit(f"the template builds a value of more than {LIMIT:,} characters")
    return value


def _check_args(args: tuple, kwargs: Mapping[str, Any]) -> None:
    """Refuse sizes, widths and repeat counts beyond the limit before a call uses them."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > LIMIT:
            raise TemplateLimit(f"the template asks for a size of {value:,} (at most {LIMIT:,})")
        if isinstance(value, str) and ("%" in value or "{" in value) and _BIG_NUMBER.search(value):
            raise TemplateLimit("the template formats with a width of 10,000 or more")
        _sized(value)


def _steps(iterable: Any):
    """Iterate ``iterable``, drawing one step per item from the render's budget."""
    budget = _budget.get()
    for item in iterable:
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise TemplateLimit(f"the template's loops run more than {STEPS:,} times")
        yield item


class _Bounded(NodeTransformer):
    """Route every loop through the step budget and every ``~`` through the size check."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 - jinja's visitor names
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_steps", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        node = self.generic_visit(node)
        return nodes.Filter(node, "_sized", [], [], None, None, lineno=node.lineno)


def _bounded_filter(function):
    @functools.wraps(function)
    def bounded(*args, **kwargs):
        _check_args(args, kwargs)
        return _sized(function(*args, **kwargs))

    return bounded


def _repeat_size(left: Any, right: Any) -> int:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | bytes | list | tuple) and isinstance(count, int):
            return len(seq) * max(count, 0)
    return 0


class BoundedSandbox(SandboxedEnvironment):
    """jinja2's sandbox with every operator, call and filter bounded (see module doc)."""

    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def __init__(self) -> None:
        super().__init__(autoescape=False)
        self.filters = {name: _bounded_filter(f) for name, f in self.filters.items()}
        self.filters["_steps"] = _steps
        self.filters["_sized"] = _sized
        # lipsum(n) builds n paragraphs in Python: nothing a message needs.
        self.globals.pop("lipsum", None)

    def call_binop(self, context, operator_: str, left: Any, right: Any) -> Any:
        """Refuse results beyond the limit before computing them."""
        if operator_ == "*":
            if _repeat_size(left, right) > LIMIT:
                raise TemplateLimit(f"the template repeats a value beyond {LIMIT:,} characters")
        elif operator_ == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and abs(left) > 1
                and right * left.bit_length() > LIMIT * 4
            ):
                raise TemplateLimit("the template raises a number beyond the limit")
        elif operator_ == "%" and isinstance(left, str):
            _check_args((left,), {})
            _check_args(right if isinstance(right, tuple) else (right,), {})
        elif operator_ == "+" and _size(left) + _size(right) > LIMIT:
            raise TemplateLimit(f"the template builds a value of more than {LIMIT:,} characters")
        return _sized(super().call_binop(context, operator_, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's signature
        """Check the arguments, call in the sandbox, check the result."""
        _check_args(args, kwargs)
        _sized(getattr(__obj, "__self__", None))
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any):
        """``'{:>999999}'.format(x)``: refuse big widths in the format string itself."""
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and _BIG_NUMBER.search(owner):
            raise TemplateLimit("the template formats with a width of 10,000 or more")
        return super().wrap_str_format(value)


@functools.lru_cache(maxsize=1)
def environment() -> BoundedSandbox:
    """The one bounded sandbox (jinja environments are safe to share)."""
    return BoundedSandbox()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def compile_template(text: str):
    """``(template, None)``, or ``(None, problem)`` when ``text`` does not compile."""
    env = environment()
    try:
        tree = _Bounded().visit(env.parse(text))
        code = env.compile(tree)
        return env.template_class.from_code(env, code, env.make_globals(None)), None
    except TemplateSyntaxError as exc:
        return None, f"is not a valid template (line {exc.lineno}: {_one_line(exc.message)})"
    except Exception as exc:  # noqa: BLE001 - a template is untrusted input
        return None, f"is not a valid template ({type(exc).__name__}: {_one_line(exc)})"


def compile_problem(text: str) -> str | None:
    """Why ``text`` is not a usable template, or None."""
    return compile_template(text)[1]


def render(template, values: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(text, None)``, or ``("", problem)`` when the render fails or exceeds a bound."""
    token = _budget.set([STEPS])
    try:
        out: list[str] = []
        total = 0
        for chunk in template.generate(**values):
            total += len(chunk)
            if total > LIMIT:
                raise TemplateLimit(f"the message is longer than {LIMIT:,} characters")
            out.append(chunk)
        return "".join(out), None
    except SecurityError as exc:
        return "", f"was stopped by the sandbox: {_one_line(exc)}"
    except RecursionError:
        return "", "calls itself without end"
    except MemoryError:
        return "", "needs more memory than a message may take"
    except Exception as exc:  # noqa: BLE001 - a template is untrusted input
        return "", f"fails ({type(exc).__name__}: {_one_line(exc)})"
    finally:
        _budget.reset(token)
