"""The settings schema: every key, its type, its packaged default and its validation.

Modelled on fava's ``fava_options``: settings come in as plain mappings (layers), are
checked key by key against one schema, and come out as valid values plus
:class:`Issue` values; parsing never raises on user input.

**Defaults** come only from ``default_rules.toml``; nothing here repeats them.

**Types.** Every key of the packaged TOML is a setting, and its TOML value gives its
default type: text stays text (a text that reads as a decimal number, like ``"8.00"``,
must stay a finite decimal number), a whole number stays a whole number, a number a
finite number, ``true``/``false`` a boolean, a table a table of the same keys (any other
key is reported as unknown), a list of tables a list of such items. Numbers are bounded
(``|x| <= DEFAULT_BOUND``) unless a tighter bound is registered. Sections and keys other
modules add to the TOML are therefore checked with no change here.

**Registering a validator.** Add an entry to :data:`SPECS`: a key path (``*`` matches
any one key, any item of a list of tables, any entry of a map) and a :class:`Spec`
(``Whole(1, 365)``, ``Number(0, 1)``, ``Text(choices=...)``, ``DecimalText(0, 100)``,
``MapOf(...)``, ...). A registered spec replaces the type taken from the TOML at that
path; a ``MapOf`` turns a table whose keys are free (currency codes, stage keys) into a
map. Checks across keys of a list of tables (the ladder's rising ``from_days``) go in
:data:`LIST_CHECKS`.

**Layers** (lowest first): the packaged defaults, ``rules.toml`` beside the workbook,
the *Collections Settings* sheet, ``--rules FILE``. Each layer is checked on its own:
an unknown section or key, or a bad value, is a warning naming the layer (the file, or
the sheet's cell) and is left out, so the value of the lower layers, in the end the
packaged default, stays in force. Tables merge key by key, lists replace whole. Every
effective value remembers the layer that set it (:attr:`Settings.origins`).
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from .frame import FIELDS
from .issues import Issue, Location, Severity

PACKAGED = "packaged defaults"
# Names of the layers, as issues and the settings sheet show them.
BESIDE = "rules.toml beside the workbook"
SHEET = "Collections Settings sheet"

DEFAULT_BOUND = 10**9
# Days: a century either way is more than any ladder, term or horizon needs.
DAYS = 36_500
Path = tuple[str, ...]


class Invalid(ValueError):
    """A value that does not fit its spec; the message says what was expected."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- specs -----------------------------------------------------------------------------------


class Spec:
    """How one setting is checked. ``check`` returns the value to use or raises Invalid."""

    def check(self, value: Any) -> Any:  # pragma: no cover - every spec overrides it
        """The value to use for ``value``, or :class:`Invalid`."""
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Spec):
    """Text of bounded length; ``choices`` limits it, ``case`` normalises it."""

    max_len: int = 10_000
    min_len: int = 0
    choices: tuple[str, ...] | None = None
    case: str | None = None  # "lower" | "upper"
    single_line: bool = False
    pattern: str | None = None
    what: str = "text"

    def check(self, value: Any) -> str:
        """Text, stripped of nothing: what the clerk wrote is what is used."""
        if not isinstance(value, str):
            raise Invalid(f"must be {self.what}, not {_shown(value)}")
        text = value.strip() if self.choices or self.case or self.pattern else value
        if self.case == "lower":
            text = text.lower()
        elif self.case == "upper":
            text = text.upper()
        if len(text) > self.max_len:
            raise Invalid(f"must be {self.what} of at most {self.max_len:,} characters")
        if len(text.strip()) < self.min_len:
            raise Invalid(f"must not be empty ({self.what})")
        if self.single_line and ("\n" in text or "\r" in text):
            raise Invalid("must be one line of text")
        if self.choices is not None and text not in self.choices:
            raise Invalid(f"must be one of {', '.join(self.choices)}, not {_shown(value)}")
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise Invalid(f"must be {self.what}, not {_shown(value)}")
        return text


def _finite_number(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"must be a number, not {_shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"must be a finite number, not {value!r}")
    return value


@dataclass(frozen=True)
class Number(Spec):
    """A finite number (whole or not) from ``lo`` to ``hi``; ``lo_open`` excludes ``lo``."""

    lo: float = -DEFAULT_BOUND
    hi: float = DEFAULT_BOUND
    lo_open: bool = False

    def check(self, value: Any) -> float | int:
        """The number, within its bounds."""
        number = _finite_number(value)
        if number < self.lo or number > self.hi or (self.lo_open and number == self.lo):
            low = f"above {self.lo:g}" if self.lo_open else f"from {self.lo:g}"
            raise Invalid(f"must be a number {low} to {self.hi:g}, not {number:g}")
        return number


@dataclass(frozen=True)
class Whole(Spec):
    """A whole number from ``lo`` to ``hi`` (``20.0`` is taken as 20)."""

    lo: int = -DEFAULT_BOUND
    hi: int = DEFAULT_BOUND

    def check(self, value: Any) -> int:
        """The whole number, within its bounds."""
        number = _finite_number(value)
        if isinstance(number, float):
            if not number.is_integer():
                raise Invalid(f"must be a whole number, not {number:g}")
            if abs(number) > 2.0**53:
                raise Invalid(f"must be a whole number from {self.lo} to {self.hi}, not {number:g}")
            number = int(number)
        if not self.lo <= number <= self.hi:
            shown = f"{number:g}" if abs(number) > 10**12 else str(number)
            raise Invalid(f"must be a whole number from {self.lo} to {self.hi}, not {shown}")
        return number


@dataclass(frozen=True)
class DecimalText(Spec):
    """A decimal number kept as text (``"8.00"``), finite and bounded; a number is accepted
    and written as its text, so money and rates stay exact."""

    lo: float = -DEFAULT_BOUND
    hi: float = DEFAULT_BOUND

    def check(self, value: Any) -> str:
        """The decimal's text."""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Invalid(f'must be a decimal number like "8.00", not {_shown(value)}')
        if not isinstance(value, str):
            Number(self.lo, self.hi).check(value)
        text = value.strip() if isinstance(value, str) else repr(value)
        try:
            number = Decimal(text) if len(text) <= 100 else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise Invalid(f'must be a decimal number like "8.00", not {_shown(value)}')
        if not Decimal(repr(self.lo)) <= number <= Decimal(repr(self.hi)):
            raise Invalid(f"must be a number from {self.lo:g} to {self.hi:g}, not {_shown(value)}")
        return text if isinstance(value, str) else str(number)


@dataclass(frozen=True)
class Flag(Spec):
    """``true`` or ``false``."""

    def check(self, value: Any) -> bool:
        """The boolean."""
        if not isinstance(value, bool):
            raise Invalid(f"must be true or false, not {_shown(value)}")
        return value


@dataclass(frozen=True)
class Day(Spec):
    """A date (``2026-10-31``); with ``optional`` an empty text means "not set"."""

    optional: bool = False

    def check(self, value: Any) -> date | str:
        """The date, or ``""`` when optional and empty."""
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            text = value.strip()
            if not text and self.optional:
                return ""
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        raise Invalid(
            f"must be a date written as YYYY-MM-DD (e.g. 2026-10-31), not {_shown(value)}"
        )


@dataclass(frozen=True)
class Colour(Spec):
    """A hex RGB colour (``FFE699``, ``#ffe699``)."""

    def check(self, value: Any) -> str:
        """Six upper-case hex digits."""
        text = str(value).strip().lstrip("#").upper() if isinstance(value, str) else ""
        if len(text) != 6 or any(ch not in "0123456789ABCDEF" for ch in text):
            raise Invalid(f'must be a hex RGB colour like "FFE699", not {_shown(value)}')
        return text


# Excel: 1-31 characters, none of : \ / ? * [ ], not starting or ending with an apostrophe;
# "History" is reserved by Excel.
_SHEET_FORBIDDEN = set(":\\/?*[]")


@dataclass(frozen=True)
class SheetName(Spec):
    """A name Excel accepts for a sheet."""

    def check(self, value: Any) -> str:
        """The sheet name."""
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"must be a sheet name, not {_shown(value)}")
        bad = sorted(_SHEET_FORBIDDEN & set(value))
        why = None
        if bad:
            why = f"it contains {' '.join(bad)}"
        elif len(value) > 31:
            why = f"{len(value)} characters (at most 31)"
        elif value.startswith("'") or value.endswith("'"):
            why = "it starts or ends with '"
        elif any(ord(ch) < 0x20 for ch in value):
            why = "it holds a control character"
        elif value.casefold() == "history":
            why = "History is reserved by Excel"
        if why:
            raise Invalid(f"is {_shown(value)}, not a sheet name Excel allows: {why}")
        return value


@dataclass(frozen=True)
class ListOf(Spec):
    """A list of values of one spec, of bounded length."""

    item: Spec
    min_len: int = 0
    max_len: int = 1000

    def check(self, value: Any) -> list:
        """The list, each item checked."""
        if not isinstance(value, list | tuple):
            raise Invalid(f"must be a list, not {_shown(value)}")
        if not self.min_len <= len(value) <= self.max_len:
            raise Invalid(f"must hold {self.min_len} to {self.max_len} items, not {len(value)}")
        out = []
        for index, item in enumerate(value, start=1):
            try:
                out.append(self.item.check(item))
            except Invalid as exc:
                raise Invalid(f"item {index} {exc}") from None
        return out


@dataclass(frozen=True)
class Curve(Spec):
    """Points ``[days, probability]``: days whole from 0 on, probabilities from 0 to 1."""

    def check(self, value: Any) -> list[list]:
        """The points, sorted by days."""
        message = "must be a list of [days, probability 0..1] pairs"
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= 1000:
            raise Invalid(f"{message}, not {_shown(value)}")
        points = []
        for point in value:
            if not isinstance(point, list | tuple) or len(point) != 2:
                raise Invalid(f"{message}, not {_shown(value)}")
            try:
                days = Whole(0, DAYS).check(point[0])
                probability = Number(0, 1).check(point[1])
            except Invalid as exc:
                raise Invalid(f"{message}: {_shown(list(point))} {exc}") from None
            points.append([days, probability])
        if len({days for days, _p in points}) != len(points):
            raise Invalid(f"{message}, each day once")
        return sorted(points)


@dataclass(frozen=True)
class HeaderNames(Spec):
    """Header names of one field: a text or a list of texts."""

    def check(self, value: Any) -> list[str]:
        """The names as a list."""
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise Invalid('must be a list of header names, like ["Debtor", "Razón social"]')
        if len(names) > 100 or any(len(n) > 255 for n in names):
            raise Invalid("must be at most 100 header names of at most 255 characters")
        return list(names)


@dataclass(frozen=True)
class Scale(Spec):
    """A decimal (``"40.00"``), or a table ``{"debt from" = "sum"}`` of decimals."""

    hi: float = 10**6

    def check(self, value: Any) -> str | dict[str, str]:
        """The decimal text, or the table with each key and value checked."""
        if not isinstance(value, Mapping):
            return DecimalText(0, self.hi).check(value)
        out = {}
        for key, amount in value.items():
            DecimalText(0, DEFAULT_BOUND).check(str(key))
            out[str(key)] = DecimalText(0, self.hi).check(amount)
        return out


@dataclass(frozen=True)
class Refused(Spec):
    """A key that is known but never taken from settings (a password), with the reason."""

    reason: str

    def check(self, value: Any) -> Any:
        """Always :class:`Invalid`."""
        raise Invalid(self.reason)


@dataclass(frozen=True)
class AnyValue(Spec):
    """Anything TOML can hold (an empty table in the defaults says nothing of its values)."""

    def check(self, value: Any) -> Any:
        """The value, whole numbers and numbers bounded like every number."""
        return _bounded_tree(value)


def _bounded_tree(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Whole().check(value)
    if isinstance(value, float):
        return Number().check(value)
    if isinstance(value, str):
        return Text().check(value)
    if isinstance(value, list):
        return [_bounded_tree(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _bounded_tree(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Template(Spec):
    """A message template (jinja, rendered in a bounded sandbox): it must compile."""

    max_len: int = 4000

    def check(self, value: Any) -> str:
        """The template's text."""
        from .templates import compile_problem

        text = Text(self.max_len, what="a message template").check(value)
        problem = compile_problem(text)
        if problem:
            raise Invalid(problem)
        return text


@dataclass(frozen=True)
class MessageTemplate(Spec):
    """A message template, or a language's table of them (``[messages.es]``)."""

    def check(self, value: Any) -> Any:
        """The template's text, or the language's table of checked templates."""
        if isinstance(value, Mapping):
            checked = {}
            for key, text in value.items():
                try:
                    checked[str(key)] = Template().check(text)
                except Invalid as exc:
                    raise Invalid(f"{key}: {exc}") from None
            return checked
        return Template().check(value)


# Containers: a table of known keys, a map of free keys, a list of tables.


@dataclass(frozen=True)
class Table(Spec):
    """A table of known keys, each with its spec."""

    fields: Mapping[str, Spec]


@dataclass(frozen=True)
class MapOf(Spec):
    """A table whose keys are free (currency codes, stage keys), each value of one spec."""

    value: Spec
    key: Spec | None = None


@dataclass(frozen=True)
class Items(Spec):
    """A list of tables (the ladder, the buckets); ``keyed`` items are named by ``key``."""

    item: Table
    keyed: bool
    check_list: Callable[[list[dict]], str | None] | None = None


# ---- what is registered ----------------------------------------------------------------------

_LABEL = Text(255, 1, single_line=True, what="a label")
_CURRENCY = Text(3, 3, case="upper", pattern="[A-Z]{3}", what="a 3-letter currency code")
_PERCENT = DecimalText(0, 100)


@dataclass(frozen=True)
class FieldName(Spec):
    """The name of a canonical ledger field (``customer``, ``due_date``...)."""

    def check(self, value: Any) -> str:
        """The field name."""
        if value in FIELDS:
            return value
        guess = difflib.get_close_matches(str(value), FIELDS, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]}?" if guess else f"the fields are {', '.join(FIELDS)}"
        raise Invalid(f"is not a ledger field ({hint})")


# Registered validators, by key path ("*" = any one key or item). See the module docstring.
SPECS: dict[Path, Spec] = {
    ("general", "default_currency"): _CURRENCY,
    ("general", "default_terms_days"): Whole(0, 3650),
    ("general", "country"): Text(
        3, 2, case="upper", pattern="[A-Z]{2,3}", what="a country code like ES or GB"
    ),
    ("general", "language"): Text(
        8,
        2,
        case="lower",
        pattern="[a-z]{2,3}([-_][a-z0-9]+)?",
        what="a language code like en or es",
    ),
    ("general", "date_order"): Text(choices=("auto", "dmy", "mdy"), case="lower"),
    ("general", "as_of"): Day(optional=True),
    ("stages", "*", "key"): Text(
        64, 1, single_line=True, pattern=r"[^\s.'\"]+", what="a key without spaces, dots or quotes"
    ),
    ("stages", "*", "label"): _LABEL,
    ("stages", "*", "action"): Text(500, single_line=True),
    ("stages", "*", "letter"): Text(64, single_line=True),
    ("stages", "*", "from_days"): Whole(-DAYS, DAYS),
    ("stages", "*", "color"): Colour(),
    ("states", "*", "label"): _LABEL,
    ("states", "*", "color"): Colour(),
    ("states", "paid", "tolerance"): DecimalText(0, 1000),
    ("buckets", "*", "label"): _LABEL,
    ("buckets", "*", "from_days"): Whole(-DAYS, DAYS),
    ("plan", "horizon_days"): Whole(1, 3650),
    ("plan", "base_currency"): _CURRENCY,
    ("plan", "exchange_rates"): MapOf(Number(0, DEFAULT_BOUND, lo_open=True), key=_CURRENCY),
    ("plan", "recovery_curve"): Curve(),
    ("plan", "broken_promise_weight"): Number(0, 100),
    ("plan", "stage_weights"): MapOf(Number(0, 100)),
    ("plan", "warning_days"): Whole(1, DAYS),
    ("plan", "warning_weight"): Number(0, 100),
    ("plan", "distance_km_free"): Number(0, 40_075),
    ("plan", "effort_weight"): Number(0, 100),
    ("plan", "max_effort_penalty"): Number(0, 1),
    ("plan", "region_weights"): MapOf(Number(0, 1)),
    ("plan", "capacity_per_day"): Whole(1, 100_000),
    ("plan", "default_owner"): Text(200, 1, single_line=True),
    # A stage's message, or a language code's table of them (Action Calendar, §12).
    ("messages",): MapOf(MessageTemplate()),
    ("labels", "*"): _LABEL,
    ("headers",): MapOf(HeaderNames(), key=FieldName()),
    ("interest", "by_currency"): MapOf(Text(64, 1, single_line=True)),
    ("interest", "by_country"): MapOf(Text(64, 1, single_line=True)),
    ("interest", "regimes", "*", "rate"): _PERCENT,
    ("interest", "regimes", "*", "margin"): _PERCENT,
    ("interest", "regimes", "*", "compensation"): MapOf(Scale(), key=_CURRENCY),
    ("interest", "regimes", "*", "compensation_eur"): DecimalText(0, 10**6),
    ("interest", "regimes", "*", "reply_days", "business"): Whole(0, 365),
    ("interest", "regimes", "*", "reply_days", "sole_trader"): Whole(0, 365),
    ("interest", "regimes", "*", "reply_days", "consumer"): Whole(0, 365),
    # Rate tables: a row per half-year (or fixing day), added by the clerk over time.
    ("interest", "rates", "mnb_eur_huf"): MapOf(
        Table({"rate": DecimalText(0, 10**6), "source": Text(1000)}), key=Day()
    ),
    ("interest", "rates", "*"): MapOf(
        Table({"rate": DecimalText(-20, 100), "source": Text(1000)}), key=Day()
    ),
    ("letters", "languages"): ListOf(Text(8, 2, case="lower", what="a language code"), 1, 50),
    ("letters", "reply_days_default"): Whole(0, 365),
    ("letters", "reply_days"): MapOf(Whole(0, 365)),
    ("letters", "locales"): MapOf(Text(20, 2, single_line=True)),
    ("email", "templates"): MapOf(Text(64, 1, single_line=True)),
    ("email", "stages"): ListOf(Text(64, 1, single_line=True), 0, 100),
    ("email", "host"): Text(255, single_line=True),
    # A password in a workbook or a rules file would travel with every copy of it.
    ("email", "password"): Refused(
        "is ignored: the SMTP password is read only from the "
        "RECEIVABLES_SMTP_PASSWORD environment variable or the "
        "system keyring"
    ),
    ("email", "port"): Whole(1, 65_535),
    ("email", "security"): Text(choices=("none", "starttls", "ssl"), case="lower"),
    ("email", "user"): Text(320, single_line=True),
    ("email", "sender"): Text(320, single_line=True),
    ("email", "sender_name"): Text(200, single_line=True),
    ("email", "reply_to"): Text(1000, single_line=True),
    ("email", "bcc"): Text(1000, single_line=True),
    # 0: no limit.
    ("email", "rate_per_minute"): Whole(0, 10_000),
    ("email", "timeout"): Whole(1, 3600),
    ("email", "cover_template"): Text(64, 1, single_line=True),
    ("sms", "stages"): ListOf(Text(64, 1, single_line=True), 0, 100),
    ("sms", "templates"): MapOf(Text(64, 1, single_line=True)),
    ("sms", "max_segments"): Whole(1, 10),
    ("dunning", "min_interval_days"): Whole(0, DAYS),
    ("dunning", "repeat_interval_days"): Whole(0, DAYS),
    ("dunning", "min_amount"): MapOf(DecimalText(0, 10**12)),
}
# Keys that are refused on purpose, with the reason (instead of "did you mean").
UNKNOWN_HINTS: dict[Path, str] = {
    ("email", "password"): " (the SMTP password is read only from the "
    "RECEIVABLES_SMTP_PASSWORD environment variable or the system keyring, never from a "
    "workbook or a rules file)",
}
# Every label naming an output sheet (``labels.*_sheet``) must be a name Excel accepts.
SHEET_LABEL_SUFFIX = "_sheet"


def _ladder_check(items: list[dict]) -> str | None:
    """The ladder: keys unique and not a state's, from_days rising from the second rung."""
    from .rules import OVERRIDE_STATES

    if not items:
        return "is empty"
    keys = [item.get("key") for item in items]
    if len(set(keys)) != len(keys):
        return "names a stage key twice"
    reserved = [k for k in keys if k in OVERRIDE_STATES]
    if reserved:
        return f"uses the key {reserved[0]!r}, reserved for an overriding state"
    return _rising(items, "stage")


def _bucket_check(items: list[dict]) -> str | None:
    if not items:
        return "is empty"
    return _rising(items, "bucket")


def _rising(items: list[dict], what: str) -> str | None:
    previous = None
    for index, item in enumerate(items[1:], start=2):
        days = item.get("from_days")
        name = item.get("key", index)
        if days is None:
            return f"{what} {name!r} needs a whole-number from_days"
        if previous is not None and days <= previous:
            return f"{what} {name!r}: from_days must rise along the list"
        previous = days
    return None


LIST_CHECKS: dict[Path, Callable[[list[dict]], str | None]] = {
    ("stages",): _ladder_check,
    ("buckets",): _bucket_check,
}


# ---- the schema tree, from the TOML plus the registered specs --------------------------------


def _registered(path: Path) -> Spec | None:
    if len(path) == 2 and path[0] == "labels" and path[1].endswith(SHEET_LABEL_SUFFIX):
        return SheetName()
    for pattern, spec in SPECS.items():
        if len(pattern) == len(path) and all(
            p in ("*", q) for p, q in zip(pattern, path, strict=True)
        ):
            return spec
    return None


def _derive(path: Path, default: Any) -> Spec:
    """The spec of ``path`` from its packaged default (and any registered spec)."""
    registered = _registered(path)
    if registered is not None and not isinstance(registered, Table):
        if isinstance(registered, MapOf) and isinstance(default, Mapping):
            return registered
        if not isinstance(default, Mapping) or not default:
            return registered
    if isinstance(default, Mapping):
        if not default:
            return MapOf(AnyValue())
        fields = {str(k): _derive((*path, str(k)), v) for k, v in default.items()}
        # Keys registered without a packaged default (``email.password``: refused).
        for pattern, spec in SPECS.items():
            if (
                len(pattern) == len(path) + 1
                and pattern[-1] != "*"
                and pattern[-1] not in fields
                and all(p in ("*", q) for p, q in zip(pattern, path, strict=False))
            ):
                fields[pattern[-1]] = spec
        return Table(fields)
    if isinstance(default, list) and default and all(isinstance(i, Mapping) for i in default):
        union: dict[str, Any] = {}
        for item in default:
            for key, value in item.items():
                union.setdefault(str(key), value)
        item = Table({k: _derive((*path, "*", k), v) for k, v in union.items()})
        keyed = all(isinstance(i.get("key"), str) for i in default)
        return Items(item, keyed, LIST_CHECKS.get(path))
    return _leaf(default)


def _leaf(default: Any) -> Spec:
    if isinstance(default, bool):
        return Flag()
    if isinstance(default, int):
        return Whole()
    if isinstance(default, float):
        return Number()
    if isinstance(default, datetime | date):
        return Day()
    if isinstance(default, str):
        try:
            Decimal(default)
        except InvalidOperation:
            return Text()
        return DecimalText() if default.strip() and Decimal(default).is_finite() else Text()
    if isinstance(default, list):
        kinds = {type(_leaf(item)) for item in default}
        if default and kinds <= {Whole, Number}:
            return ListOf(Number() if Number in kinds else Whole())
        if len(kinds) == 1:
            return ListOf(_leaf(default[0]))
        return AnyValue()
    return AnyValue()


@lru_cache(maxsize=1)
def schema() -> Table:
    """The schema of every setting: the packaged TOML's shape plus :data:`SPECS`."""
    from .rules import default_layer

    return derive_schema(default_layer())


def derive_schema(defaults: Mapping[str, Any]) -> Table:
    """The schema of settings whose packaged values are ``defaults`` (a TOML document)."""
    return _derive((), defaults)  # type: ignore[return-value]


# ---- layers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """One source of settings: its name (for messages), its values, and where each was
    written (``cells``: key path -> cell of the settings sheet)."""

    name: str
    values: Mapping[str, Any]
    cells: Mapping[Path, Location] = field(default_factory=dict)

    def cell(self, path: Path) -> Location | None:
        """The cell that wrote ``path`` (or the table holding it), if the layer has cells."""
        for depth in range(len(path), 0, -1):
            cell = self.cells.get(path[:depth])
            if cell:
                return cell
        return None

    def where(self, path: Path) -> Location:
        """Where a clerk finds the setting at ``path``: its cell (``'Collections
        Settings'!C12``), else the layer and key (``rules.toml beside the workbook
        plan.capacity_per_day``)."""
        key = dotted(path) or None
        cell = self.cell(path)
        if cell is not None:
            return replace(cell, layer=self.name, key=key)
        return Location(layer=self.name, key=key)

    def origin(self, path: Path) -> Location:
        """Where the value at ``path`` was set, as the settings sheet shows it: its cell,
        else the layer."""
        cell = self.cell(path)
        return cell if cell is not None else Location(layer=self.name)


def dotted(path: Sequence[str]) -> str:
    """``("plan", "capacity_per_day")`` -> ``plan.capacity_per_day``."""
    return ".".join(str(part) for part in path)


def check_layer(layer: Layer, root: Spec | None = None) -> tuple[dict[str, Any], list[Issue]]:
    """The values of ``layer`` that fit the schema (``root``, by default :func:`schema`),
    and a warning for each one that does not."""
    checker = _LayerChecker(layer)
    clean = checker.walk(root if root is not None else schema(), layer.values, ())
    return (clean if isinstance(clean, dict) else {}), checker.issues


# What a value that does not fit becomes: left out, so that the lower layers' value is kept.
_DROPPED = object()


def _keep_lower(path: Path) -> str:
    """How a warning ends: a setting keeps the lower layers' value, a section is ignored."""
    return "; the value of the lower layers is kept" if len(path) > 1 else "; it is ignored"


@dataclass
class _LayerChecker:
    """Checks the values of one layer against the schema, spec by spec, and keeps a
    warning naming the layer (and the cell) for each value that does not fit."""

    layer: Layer
    issues: list[Issue] = field(default_factory=list)

    def warn(self, path: Path, message: str) -> None:
        """A warning about the setting at ``path`` of this layer."""
        self.issues.append(Issue(self.layer.where(path), message, Severity.WARNING))

    def unknown(self, path: Path, known: Sequence[str]) -> None:
        """Warn of a key the schema does not know, naming the nearest known one."""
        name = path[-1]
        guess = difflib.get_close_matches(name, list(known), n=1, cutoff=0.7)
        hint = f" (did you mean {dotted((*path[:-1], guess[0]))}?)" if guess else ""
        hint = UNKNOWN_HINTS.get(tuple(path), hint)
        what = "section" if len(path) == 1 else "setting"
        self.warn(path, f"{what} {dotted(path)} is not a known {what}{hint}; it is ignored")

    def walk(self, spec: Spec, value: Any, path: Path) -> Any:
        """``value`` checked against ``spec``, or :data:`_DROPPED` when it does not fit."""
        if isinstance(spec, Table):
            return self.table(spec, value, path)
        if isinstance(spec, MapOf):
            return self.named_values(spec, value, path)
        if isinstance(spec, Items):
            return self.items(spec, value, path)
        try:
            return spec.check(value)
        except Invalid as exc:
            self.warn(path, f"setting {dotted(path)} {exc}" + _keep_lower(path))
            return _DROPPED

    def table(self, spec: Table, value: Any, path: Path) -> Any:
        """The known keys of a table, each checked; unknown keys are warned of and left."""
        if not isinstance(value, Mapping):
            self.warn(
                path,
                f"{dotted(path)} must be a table of settings, not {_shown(value)}"
                + _keep_lower(path),
            )
            return _DROPPED
        out = {}
        for key, item in value.items():
            key = str(key)
            child = spec.fields.get(key)
            if child is None:
                self.unknown((*path, key), spec.fields)
                continue
            checked = self.walk(child, item, (*path, key))
            if checked is not _DROPPED:
                out[key] = checked
        return out

    def named_values(self, spec: MapOf, value: Any, path: Path) -> Any:
        """A table of free names (currencies, stages): each name and value checked."""
        if not isinstance(value, Mapping):
            self.warn(
                path,
                f"{dotted(path)} must be a table of name = value, not "
                f"{_shown(value)}" + _keep_lower(path),
            )
            return _DROPPED
        out = {}
        for key, item in value.items():
            key = str(key)
            if spec.key is not None:
                try:
                    key = str(spec.key.check(key))
                except Invalid as exc:
                    self.warn(
                        (*path, key), f"{dotted((*path, key))}: the name {exc}; it is ignored"
                    )
                    continue
            checked = self.walk(spec.value, item, (*path, key))
            if checked is not _DROPPED:
                out[key] = checked
        return out

    def items(self, spec: Items, value: Any, path: Path) -> Any:
        """A list of tables (the ladder, the buckets), all or nothing: one bad item keeps
        the lower layers' whole list."""
        if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
            self.warn(
                path,
                f"{dotted(path)} must be a list of [[{dotted(path)}]] tables; the lower "
                "layers' list is kept",
            )
            return _DROPPED
        items = []
        for index, raw in enumerate(value, start=1):
            checked = self.item(spec, raw, index, path)
            if checked is _DROPPED:
                return _DROPPED
            items.append(checked)
        problem = spec.check_list(items) if spec.check_list else None
        if problem:
            self.warn(path, f"{dotted(path)} {problem}; the lower layers' {dotted(path)} are kept")
            return _DROPPED
        return items

    def item(self, spec: Items, raw: Mapping, index: int, path: Path) -> Any:
        """Item ``index`` (1-based) of a list: checked, or :data:`_DROPPED` when the list
        cannot use it (a keyed item without a key, a later rung without ``from_days``)."""
        keyed_by = raw.get("key") if spec.keyed else None
        item_path = (*path, str(keyed_by) if isinstance(keyed_by, str) else str(index))
        if spec.keyed and "key" not in raw:
            self.warn(
                item_path,
                f"{dotted(path)} item {index} needs a key; the lower layers' "
                f"{dotted(path)} are kept",
            )
            return _DROPPED
        checked = self.walk(spec.item, raw, item_path)
        if spec.keyed and "key" not in checked:
            self.warn(item_path, f"the lower layers' {dotted(path)} are kept")
            return _DROPPED
        if index > 1 and "from_days" in spec.item.fields and "from_days" not in checked:
            self.warn(
                item_path,
                f"{dotted(item_path)} needs a whole-number from_days; the lower "
                f"layers' {dotted(path)} are kept",
            )
            return _DROPPED
        if index == 1:
            checked.pop("from_days", None)  # the first rung starts from the lowest days
        return checked


# ---- the effective settings -----------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The effective settings: every value (packaged defaults merged with the checked
    layers) and, for each value a layer set, where it was set (the layer's name, or the
    cell of the settings sheet)."""

    values: Mapping[str, Any]
    origins: Mapping[Path, Location]
    layers: tuple[str, ...] = ()

    def origin_location(self, path: Sequence[str]) -> Location:
        """Where ``path`` (or the table or list holding it) was set: the packaged
        defaults, a layer, or a cell of the settings sheet."""
        path = tuple(path)
        for depth in range(len(path), 0, -1):
            found = self.origins.get(path[:depth])
            if found:
                return found
        return Location(layer=PACKAGED)

    def origin(self, path: Sequence[str]) -> str:
        """:meth:`origin_location` as text (``rules.toml beside the workbook``,
        ``'Collections Settings'!C12``, ``packaged defaults``)."""
        return str(self.origin_location(path))

    def get(self, path: Sequence[str]) -> Any:
        """The value at ``path`` (None when absent)."""
        node: Any = self.values
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node


def _merge_into(
    target: dict[str, Any],
    values: Mapping[str, Any],
    origins: dict[Path, Location],
    layer: Layer,
    path: Path = (),
) -> None:
    for key, value in values.items():
        here = (*path, key)
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge_into(target[key], value, origins, layer, here)
            continue
        target[key] = copy.deepcopy(dict(value) if isinstance(value, Mapping) else value)
        for known in [p for p in origins if p[: len(here)] == here]:
            del origins[known]
        _mark(value, here, origins, layer)


def _mark(value: Any, path: Path, origins: dict[Path, Location], layer: Layer) -> None:
    """Remember where each leaf under ``path`` was set (its cell on the settings sheet)."""
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _mark(item, (*path, str(key)), origins, layer)
    else:
        origins[path] = layer.origin(path)


def resolve(layers: Sequence[Layer]) -> tuple[Settings, list[Issue]]:
    """The effective settings of ``layers`` (lowest first) over the packaged defaults."""
    from .rules import default_layer

    values = default_layer()
    origins: dict[Path, Location] = {}
    issues: list[Issue] = []
    for layer in layers:
        clean, problems = check_layer(layer)
        issues += problems
        _merge_into(values, clean, origins, layer)
    issues += _sheet_names_unique(values, origins)
    return Settings(values, origins, tuple(layer.name for layer in layers)), issues


def _sheet_names_unique(values: dict[str, Any], origins: dict[Path, Location]) -> list[Issue]:
    """Two output sheets of one name would overwrite each other: a layer's sheet name that
    another sheet already has gives way to its packaged name."""
    from .rules import default_layer

    labels = values.get("labels", {})
    packaged = default_layer().get("labels", {})
    keys = [k for k in labels if k.endswith(SHEET_LABEL_SUFFIX) and isinstance(labels[k], str)]
    # Names nobody changed first: a changed name is the one that gives way.
    keys.sort(key=lambda k: ("labels", k) in origins)
    seen: dict[str, str] = {}
    issues = []
    for key in keys:
        name = labels[key]
        other = seen.get(name.casefold())
        if other is not None and ("labels", key) in origins and key in packaged:
            issues.append(
                Issue(
                    replace(origins[("labels", key)], key=f"labels.{key}"),
                    f"setting labels.{key} names the sheet {name!r}, already the "
                    f"name of labels.{other}; the packaged {packaged[key]!r} is used",
                    Severity.WARNING,
                )
            )
            labels[key] = name = packaged[key]
            del origins[("labels", key)]
        seen.setdefault(name.casefold(), key)
    return issues


def effective_rows(settings: Settings) -> list[tuple[str, Any, str]]:
    """``(dotted key, value, layer)`` for every leaf of the effective settings (lists of
    tables item by item), in the TOML's order: what ``--json`` shows."""
    rows: list[tuple[str, Any, str]] = []

    def walk(path: Path, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for key, item in value.items():
                walk((*path, str(key)), item)
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(i, Mapping) for i in value)
            and len(path) == 1
        ):
            for index, item in enumerate(value, start=1):
                name = str(item.get("key", index))
                for key, field_value in item.items():
                    if key != "key":
                        rows.append(
                            (dotted((*path, name, key)), field_value, settings.origin(path))
                        )
        else:
            rows.append((dotted(path), value, settings.origin(path)))

    walk((), settings.values)
    return rows
