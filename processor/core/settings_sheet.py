"""The ``Collections Settings`` sheet: the effective rules as rows of TOML text, and back.

Every leaf of the rules becomes one row ``(section, key, value, description)``: the
section is a dotted TOML key (``plan.exchange_rates``), the key a TOML key, the value a
TOML literal (``"EUR"``, ``30``, ``[[0, 0.98], [30, 0.95]]``, ``{}``). The ladder and
the buckets, lists of tables in the TOML, get one section per item: ``stages.<key>``
(stages are named by their ``key`` field) and ``buckets.<n>`` (1-based). A clerk edits
the Value cells in Excel; :func:`parse_settings_rows` reads them back with ``tomllib``
(never ``eval``), so ``parse_settings_rows(settings_rows(raw))`` gives ``raw`` exactly.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from functools import lru_cache
from importlib import resources
from typing import Any

from .issues import Issue, Location, Severity
from .rules import Rules, default_layer
from .schema import SHEET as SHEET_LAYER
from .schema import Layer
from .sheets import Column, SheetModel

HEADER = ("Section", "Key", "Value", "Description")
# The model's header: the layer that set each value sits between its value and its text.
MODEL_HEADER = ("Section", "Key", "Value", "Set by", "Description")
DEFAULT_SHEET = "Collections Settings"
# The field naming a list item in its section (``stages.legal``).
ITEM_KEY = "key"
# The Value column is formatted as text, so Excel keeps a typed ``30`` or ``2026-10-31``
# as the characters the clerk typed instead of turning them into a number or date.
TEXT_FORMAT = "@"

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# Descriptions of the fields of a ladder stage and a bucket: the TOML documents the
# ladder once above the first [[stages]], but each row of the sheet deserves a line.
_ITEM_FIELDS = {
    "stages": {
        "label": "Name of the stage shown in the Stage column and the plan",
        "from_days": "First day overdue of this stage (days overdue = as-of date - due date)",
        "action": "Next action shown for rows at this stage",
        "letter": "Letter template written at this stage (empty: no letter)",
        "credit_hold": "true: stop supplying customers at this stage",
        "color": "Fill colour of rows at this stage (hex RGB, e.g. FFE699)",
    },
    "buckets": {
        "label": "Name of the aging bucket",
        "from_days": "First day overdue of this bucket",
    },
}

Row = tuple[str, str, str, str]


# ---- TOML literals ------------------------------------------------------------------------


def toml_key(name: str) -> str:
    """One TOML key: bare when it can be, else a basic string."""
    return name if _BARE_KEY.fullmatch(name) else _toml_string(name)


def toml_dotted(path: Sequence[str]) -> str:
    """A dotted TOML key: ``("plan", "exchange_rates")`` -> ``plan.exchange_rates``."""
    return ".".join(toml_key(part) for part in path)


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            # TOML forbids raw control characters in basic strings.
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_literal(value: Any) -> str:
    """The TOML text of one value (strings, numbers, booleans, dates, arrays, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        # repr is the shortest text that reads back as the same float, and TOML accepts it.
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return (
            "{ "
            + ", ".join(f"{toml_key(str(k))} = {toml_literal(v)}" for k, v in value.items())
            + " }"
        )
    raise TypeError(f"{type(value).__name__} has no TOML form")


# ---- rules -> rows ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def list_sections() -> dict[str, bool]:
    """Top-level names whose default is a list of tables -> whether items have a ``key``."""
    sections = {}
    for name, value in default_layer().items():
        if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
            sections[name] = all(isinstance(i.get(ITEM_KEY), str) for i in value)
    return sections


def _as_sections(name: str, items: Any) -> list[tuple[str, dict]] | None:
    """``[(section name, fields)]`` for a list written one section per item, else None."""
    keyed = list_sections().get(name)
    if keyed is None or not isinstance(items, list) or not items:
        return None
    if not all(isinstance(item, Mapping) for item in items):
        return None
    if keyed:
        keys = [item.get(ITEM_KEY) for item in items]
        if not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys):
            return None
        out = [
            (k, {f: v for f, v in item.items() if f != ITEM_KEY})
            for k, item in zip(keys, items, strict=True)
        ]
    else:
        out = [(str(n), dict(item)) for n, item in enumerate(items, start=1)]
    # An item without fields would leave no row behind: keep such lists as one literal.
    if not all(fields for _name, fields in out):
        return None
    return out


def settings_rows(raw: Mapping[str, Any]) -> list[Row]:
    """Every leaf of ``raw`` (the effective rules) as ``(section, key, value, description)``."""
    descriptions = _descriptions()
    rows: list[Row] = []
    described: set[tuple[str, ...]] = set()

    def describe(path: tuple[str, ...], key: str) -> str:
        text = descriptions.get((*path, key), "")
        if path[:1] and path[0] in list_sections() and len(path) == 2:
            text = text or _ITEM_FIELDS.get(path[0], {}).get(key, "")
        # A section's own comment goes on its first row (inline tables and [headers]).
        for depth in range(len(path), 0, -1):
            prefix = path[:depth]
            if prefix not in described:
                described.add(prefix)
                head = descriptions.get(prefix, "")
                if head and not text:
                    text = head
                elif head:
                    text = f"{head} {text}"
        return text

    def emit(path: tuple[str, ...], table: Mapping[str, Any]) -> None:
        for name, value in table.items():
            name = str(name)
            if not path:
                items = _as_sections(name, value)
                if items is not None:
                    for item_name, fields in items:
                        emit((name, item_name), fields)
                    continue
            if isinstance(value, Mapping) and value:
                emit((*path, name), value)
            else:
                rows.append(
                    (toml_dotted(path), toml_key(name), toml_literal(value), describe(path, name))
                )

    emit((), raw)
    return rows


@lru_cache(maxsize=1)
def _descriptions() -> dict[tuple[str, ...], str]:
    """Comments of ``default_rules.toml`` by the path they stand above.

    A comment block above ``key = ...`` describes that key; above ``[table]`` the table;
    above the first ``[[stages]]`` the whole list (path ``("stages",)``).
    """
    text = resources.files(__package__).joinpath("default_rules.toml").read_text("utf-8")
    found: dict[tuple[str, ...], str] = {}
    pending: list[str] = []
    section: tuple[str, ...] = ()
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
            if comment and not set(comment) <= {"-", "="}:
                pending.append(comment)
            continue
        if not stripped:
            pending = []
            continue
        header = re.match(r"^\[\[?([^\]]+)\]\]?\s*$", stripped)
        if header:
            section = tuple(parse_key_path(header.group(1)) or ())
            if stripped.startswith("[[") and section in found:
                pending = []
        else:
            key = stripped.split("=", 1)[0].strip()
            path = parse_key_path(key)
            if path is None:
                pending = []
                continue
            if section[:1] and section[0] in list_sections():
                # Items of a list are named by their key later; their fields share text.
                pending = []
                continue
            section_path = (*section, *path)
            if pending:
                found.setdefault(section_path, " ".join(pending))
            pending = []
            continue
        if pending:
            found.setdefault(section, " ".join(pending))
        pending = []
    return found


def settings_model(rules: Rules) -> SheetModel:
    """The settings sheet of ``rules``: a header row, then one row per setting with its
    effective value and the layer that set it (``packaged defaults``, ``rules.toml beside
    the workbook``, a cell of this sheet, ``--rules FILE``)."""
    rows = []
    for section, key, value, description in settings_rows(rules.raw):
        path = (
            (parse_key_path(section) or []) + (parse_key_path(key) or [])
            if section
            else parse_key_path(key) or []
        )
        rows.append((section, key, value, rules.origin(path), description))
    return SheetModel(
        name=rules.labels["settings_sheet"],
        columns=(
            Column(MODEL_HEADER[0], None, 26),
            Column(MODEL_HEADER[1], None, 24),
            Column(MODEL_HEADER[2], TEXT_FORMAT, 44),
            Column(MODEL_HEADER[3], None, 30),
            Column(MODEL_HEADER[4], None, 90),
        ),
        rows=rows,
        table_name="CollectionsSettings",
    )


# ---- rows -> layer ---------------------------------------------------------------------------


def parse_key_path(text: str) -> list[str] | None:
    """The parts of a dotted TOML key (``a."b.c"`` -> ``["a", "b.c"]``), None if invalid."""
    try:
        parsed = tomllib.loads(f"{text} = 0")
    except tomllib.TOMLDecodeError:
        return None
    path = []
    node: Any = parsed
    # Exactly one chain of one-key tables ending at the 0: anything else means the text
    # held more than a key (a newline and another assignment, say).
    while isinstance(node, dict):
        if len(node) != 1:
            return None
        name, node = next(iter(node.items()))
        path.append(name)
    return path if node == 0 and not isinstance(node, bool) else None


class _Unreadable(ValueError):
    """A Value cell that is neither TOML nor plain text."""


def parse_value(cell: Any) -> Any:
    """The setting in a Value cell: TOML text, or a number/date/boolean Excel stored."""
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        # Excel stores every typed number as a float; rules want whole numbers as int.
        if math.isfinite(cell) and cell.is_integer() and abs(cell) < 2**53:
            return int(cell)
        return cell
    if isinstance(cell, datetime):
        return cell.date() if cell.time() == time(0) and cell.tzinfo is None else cell
    if isinstance(cell, date | time):
        return cell
    if not isinstance(cell, str):
        raise _Unreadable(f"a {type(cell).__name__} is not a setting")
    text = cell
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError as exc:
        stripped = text.strip()
        # A clerk types Not due, not "Not due": plain text without TOML punctuation is
        # taken as that text; anything that starts like an array, table or string must
        # be valid TOML, or a typo would silently become a different setting.
        if stripped.lower() in ("true", "false"):
            return stripped.lower() == "true"
        if stripped and stripped[0] not in "[{\"'" and "\n" not in stripped:
            return stripped
        raise _Unreadable(f"not a TOML value ({exc})") from None
    if set(parsed) != {"v"}:
        raise _Unreadable("holds more than one value")
    return parsed["v"]


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def parse_settings_rows(
    rows: Sequence[Sequence[Any]], sheet: str = DEFAULT_SHEET
) -> tuple[dict[str, Any], list[Issue]]:
    """The rules layer written in the settings sheet's ``rows`` (row 1 = ``rows[0]``).

    Columns A-C are section, key and value; a header row and rows without a key are
    skipped. A row that cannot be read is reported (with its cell) and left out, so the
    lower layers' value stays in force.
    """
    layer, issues = read_settings_sheet(rows, sheet)
    return dict(layer.values), issues


def read_settings_sheet(
    rows: Sequence[Sequence[Any]], sheet: str = DEFAULT_SHEET
) -> tuple[Layer, list[Issue]]:
    """:func:`parse_settings_rows` as a settings :class:`Layer` that knows the Value cell
    of every setting, so the schema's warnings name the row (``'Collections
    Settings'!C12``)."""
    layer: dict[str, Any] = {}
    value_cells: dict[tuple[str, ...], str] = {}
    issues: list[Issue] = []
    for index, row in enumerate(rows, start=1):
        cells = list(row[:3]) + [None] * (3 - len(row[:3]))
        section, key, value = _text(cells[0]), _text(cells[1]), cells[2]
        if index == 1 and (section.casefold(), key.casefold()) == ("section", "key"):
            continue
        if not key:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        name = f"{section}.{key}" if section else key
        path = parse_key_path(section) if section else []
        if path is None:
            issues.append(_row_issue(sheet, index, 1, name, "has a section that is not a TOML key"))
            continue
        key_path = parse_key_path(key)
        if key_path is None:
            issues.append(_row_issue(sheet, index, 2, name, "has a key that is not a TOML key"))
            continue
        try:
            parsed = parse_value(value)
        except _Unreadable as exc:
            issues.append(_row_issue(sheet, index, 3, name, f"is {exc}"))
            continue
        problem = _put(layer, [*path, *key_path], parsed)
        if problem:
            issues.append(_row_issue(sheet, index, 2, name, problem))
        value_cells[(*path, *key_path)] = Location(sheet=sheet, row=index, column=3)
    issues.extend(_lists_from_sections(layer, sheet))
    return Layer(SHEET_LAYER, layer, value_cells), issues


def _row_issue(sheet: str, row: int, column: int, name: str, problem: str) -> Issue:
    return Issue(
        Location(sheet=sheet, row=row, column=column, key=name),
        f"setting {name} {problem}; the value of the lower layers is kept",
        Severity.WARNING,
    )


def _put(layer: dict[str, Any], path: list[str], value: Any) -> str | None:
    """Set ``value`` at ``path``; a message when the path collides with another row."""
    node = layer
    for depth, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return f"is inside {'.'.join(path[: depth + 1])}, which another row sets to a value"
        node = child
    last = path[-1]
    if last in node:
        if isinstance(node[last], dict) and not isinstance(value, dict):
            return "is a table that other rows fill in"
        if isinstance(node[last], dict) and isinstance(value, dict):
            # ``region_weights = {}`` next to rows inside it: the rows win.
            for name, item in value.items():
                node[last].setdefault(name, item)
            return None
        node[last] = value
        return "is set twice (the later row wins)"
    node[last] = value
    return None


def _lists_from_sections(layer: dict[str, Any], sheet: str) -> list[Issue]:
    """Turn ``stages.<key>`` / ``buckets.<n>`` tables back into the lists the rules use."""
    issues = []
    where = Location(sheet=sheet)
    for name, keyed in list_sections().items():
        sections = layer.get(name)
        if not isinstance(sections, dict):
            continue
        items: list[tuple[Any, dict]] = []
        bad = [sub for sub, fields in sections.items() if not isinstance(fields, dict)]
        for sub in bad:
            issues.append(
                Issue(
                    where,
                    f"setting {name}.{sub} must be a section of rows "
                    f"({name}.{sub} + key + value); it is ignored",
                    Severity.WARNING,
                )
            )
        for sub, fields in sections.items():
            if sub in bad:
                continue
            item, problem = _list_item(name, sub, fields, keyed)
            if problem is not None:
                issues.append(Issue(where, problem, Severity.WARNING))
            if item is not None:
                items.append(item)
        if not keyed:
            items.sort(key=lambda item: item[0])
        layer[name] = [fields for _sub, fields in items]
    return issues


def _list_item(
    name: str, sub: str, fields: dict, keyed: bool
) -> tuple[tuple[Any, dict] | None, str | None]:
    """Section ``name.sub`` as an item of the list ``name`` (sort key, fields), and a
    problem with it: a keyed item is named by its section, a numbered one by its number."""
    if keyed:
        problem = None
        if ITEM_KEY in fields and fields[ITEM_KEY] != sub:
            problem = (
                f"setting {name}.{sub} has key {fields[ITEM_KEY]!r}; the section name "
                f"{sub!r} is used"
            )
        item = {ITEM_KEY: sub, **{k: v for k, v in fields.items() if k != ITEM_KEY}}
        return (sub, item), problem
    if sub.isdigit():
        return (int(sub), fields), None
    return None, (
        f"setting section {name}.{sub} must be numbered ({name}.1, {name}.2, ...); it is ignored"
    )
