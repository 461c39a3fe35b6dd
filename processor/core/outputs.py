"""Build the output models: stage columns, Collection Plan, Aging Summary, Action Calendar,
Exceptions. Pure; the writers render these models (design.md §7).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from jinja2 import nodes

from . import frame as F
from .advice import AREA_ORDER, SETTINGS, area, in_words, what_to_do
from .dso import WINDOW_DAYS, ledger_dso
from .dunning import BELOW_MINIMUM, BLOCKED, SEND, UNREACHABLE, WAIT
from .issues import Issue, Location, Severity
from .ledger import Ledger, output_labels
from .letters import long_date, normalize_language
from .letters import money as localized_money
from .plan import (
    PlanSettings,
    first_present,
    index_keys,
    money_text,
    recovery,
    series_dict,
)
from .rules import Rules, Stage
from .sheets import (
    DATE_FORMAT,
    INT_FORMAT,
    MONEY_FORMAT,
    SCORE_FORMAT,
    Chart,
    Column,
    PageSetup,
    Series,
    SheetModel,
    StageColumns,
)
from .templates import compile_template, environment
from .templates import render as render_template
from .workdays import next_working_day


def cents_to_decimal(cents: int) -> Decimal:
    """Exact amount from integer hundredths."""
    return Decimal(int(cents)).scaleb(-2)


def stage_colors(rules: Rules) -> dict[str, str]:
    """Colour of each stage by key and by label: the one source for every sheet and chart
    (the stage columns, the plan, the calendar, the letters log, the aging chart)."""
    colors: dict[str, str] = {}
    for stage in rules.all_stages:  # the first of a key wins, as in rules.stage()
        colors.setdefault(stage.key, stage.color)
        colors.setdefault(stage.label, stage.color)
    return colors


def action_text(action: object) -> str:
    """A stage's action as shown: blank where there is nothing to do (the rules say
    ``"None"`` for the not-due and paid stages), never the word "None"."""
    text = "" if action is None else str(action).strip()
    return "" if text.casefold() in ("none", "nan", "-") else text


def _day(value) -> date | None:
    if type(value) is date:  # the plan's action dates: already what is wanted
        return value
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def decided_actions(plan: pd.DataFrame, decisions: Mapping | None) -> dict[tuple, str]:
    """The plan's Next Action of every customer and currency whose dunning decision
    drives its letters (a letter due, waiting, sent, or due but not deliverable).

    A blocked customer, or one whose net claim is at or below the minimum, has no letter
    to follow: its rows keep the ladder's action, as the rows outside any decision do.
    """
    if not decisions or plan.empty:
        return {}
    found = {}
    for customer, currency, action in zip(
        plan["customer"].tolist(),
        plan["currency"].tolist(),
        plan["next_action"].tolist(),
        strict=True,
    ):
        decision = decisions.get((customer, currency))
        if decision is not None and decision.action not in (BLOCKED, BELOW_MINIMUM):
            found[(customer, currency)] = action
    return found


def _row_actions(classified: pd.DataFrame, rules: Rules, decided: Mapping[tuple, str]) -> list:
    """Each row's Next Action: the plan's under the dunning decision for the overdue items
    it covers (so a row never names another letter than the plan), else the ladder's."""
    actions = _repeated_texts(classified[F.NEXT_ACTION])
    if not decided:
        return actions
    # Only the overdue rows are looked at (a ledger is mostly paid or current); the key is
    # the decision's, as dunning.decide builds it (a blank currency is the default).
    overdue = np.flatnonzero(classified[F.COUNTS_OVERDUE].to_numpy(dtype=bool))
    if not len(overdue):
        return actions
    rows = classified[["customer", "currency"]].iloc[overdue]  # not every column's copy
    currency = rows["currency"].fillna(rules.default_currency)
    # Each (customer, currency) looked up once, not once per row: pairs numbered as
    # factorize() tells their texts apart, each read from its first row.
    customer_codes, _customers = pd.factorize(rows["customer"], use_na_sentinel=False)
    currency_codes, currencies = pd.factorize(currency, use_na_sentinel=False)
    pairs, _pairs = pd.factorize(
        customer_codes.astype(np.int64) * max(len(currencies), 1) + currency_codes
    )
    first = np.flatnonzero(~pd.Series(pairs).duplicated().to_numpy(dtype=bool))
    found = [
        decided.get(key, _UNDECIDED)
        for key in zip(
            rows["customer"].iloc[first].tolist(),
            currency.iloc[first].astype(object).tolist(),
            strict=True,
        )
    ]
    with_action = np.array([action is not _UNDECIDED for action in found], dtype=bool)
    by_pair = np.fromiter(found, dtype=object, count=len(found))
    taken = with_action[pairs]
    shown = np.fromiter(actions, dtype=object, count=len(actions))
    shown[overdue[taken]] = by_pair[pairs[taken]]
    return shown.tolist()


_UNDECIDED = object()  # a pair without a decided action


def _repeated_texts(column: pd.Series) -> list:
    """``column.tolist()`` for a column of a few distinct texts (stages, buckets, actions):
    each distinct text made a Python ``str`` once and shared by its rows (a new text per
    row is the slow part of ``tolist()``, and lookups then hash each text once)."""
    if column.dtype == object:
        return column.tolist()
    codes, distinct = pd.factorize(column, use_na_sentinel=False)
    return np.array(distinct.tolist(), dtype=object)[codes].tolist()


def stage_columns(
    ledger: Ledger,
    classified: pd.DataFrame,
    rules: Rules,
    decided: Mapping[tuple, str] | None = None,
) -> StageColumns:
    """The four appended columns: right of the table, or where an earlier run put them.

    ``decided`` (:func:`decided_actions`) gives the overdue rows of a customer under a
    dunning decision the plan's Next Action; the Stage column stays the stage by days.
    """
    location = ledger.location
    if location.output_columns:
        start = location.output_columns["days_overdue"]
    else:
        start = max(location.last_column, ledger.last_used_column) + 1
    colors = stage_colors(rules)
    # .tolist() first: iterating Arrow-backed columns element by element is slow; the
    # dicts are then built by zip and map, without a Python-level loop.
    rows = classified[F.ROW].tolist()
    actions = _row_actions(classified, rules, decided or {})
    # A ledger repeats a few dozen actions: each is made shown text once.
    shown = {action: action_text(action) for action in set(actions)}
    cells = dict(
        zip(
            rows,
            zip(
                classified[F.DAYS_OVERDUE].tolist(),
                _repeated_texts(classified[F.BUCKET]),
                _repeated_texts(classified[F.STAGE_LABEL]),
                map(shown.__getitem__, actions),
                strict=True,
            ),
            strict=True,
        )
    )
    fills = dict(
        zip(rows, map(colors.__getitem__, _repeated_texts(classified[F.STAGE])), strict=True)
    )
    return StageColumns(
        sheet=ledger.sheet,
        header_row=location.header_row,
        start_column=start,
        labels=output_labels(rules),
        cells=cells,
        fills=fills,
    )


def _plan_columns() -> tuple[Column, ...]:
    """The columns of the ``Collection Plan`` sheet (new ones each time: fitting sets
    their widths and wrapping)."""
    # Widths of text columns are where their text starts to wrap; the rest fit content.
    return (
        Column("Rank", INT_FORMAT, 7),
        Column("Customer", None, 26),
        Column("Currency", None, 9),
        Column("Stage", None, 15),
        Column("Overdue", MONEY_FORMAT, 14),
        Column("Credits", MONEY_FORMAT, 12),
        Column("Net Overdue", MONEY_FORMAT, 14),
        Column("Oldest Days Overdue", INT_FORMAT, 11),
        Column("Open Items", INT_FORMAT, 8),
        Column("Overdue Items", INT_FORMAT, 8),
        Column("Priority Score", SCORE_FORMAT, 12),
        Column("Why", None, 44),
        Column("Next Action", None, 24),
        Column("Action Date", DATE_FORMAT, 12),
        Column("Owner", None, 16),
        Column("Contact", None, 16),
        Column("Phone", None, 16),
        Column("Email", None, 24),
        Column("Credit Hold", None, 9),
    )


def plan_model(plan: pd.DataFrame, rules: Rules, as_of: date | None = None) -> SheetModel:
    """The ``Collection Plan`` sheet."""
    keys = plan["stage"].tolist()
    stages = {key: rules.stage(key) for key in dict.fromkeys(keys)}  # scans the ladder
    return SheetModel(
        name=rules.labels["plan_sheet"],
        columns=_plan_columns(),
        rows=_plan_rows(plan, [stages[key].label for key in keys]),
        row_fills=[stages[key].color for key in keys],
        fill_columns=(3,),
        table_name="CollectionPlan",
        page=print_setup(as_of, repeat_columns=2),
        currency_column=2,
    )


def _plan_rows(plan: pd.DataFrame, stage_labels: list[str]) -> list[tuple]:
    """The cells of the plan's rows, ``stage_labels`` those of its Stage column."""
    # Column by column: a plan has a row per customer and currency (tens of thousands).
    actions = plan["next_action"].tolist()
    shown = {action: action_text(action) for action in set(actions)}
    # One Decimal per distinct amount, shared by the three money columns (the net is
    # mostly the overdue amount, the credits mostly 0): fewer to make, and fitting the
    # columns hashes each one once (a Decimal keeps its hash).
    amounts = {}
    money = [
        [amounts[c] if c in amounts else amounts.setdefault(c, cents_to_decimal(c)) for c in cents]
        for cents in (
            plan["overdue_cents"].tolist(),
            plan["credits_cents"].tolist(),
            plan["net_overdue_cents"].tolist(),
        )
    ]
    return list(
        zip(
            plan["rank"].tolist(),
            plan["customer"].tolist(),
            plan["currency"].tolist(),
            stage_labels,
            *money,
            plan["oldest_days_overdue"].tolist(),
            plan["open_items"].tolist(),
            plan["overdue_items"].tolist(),
            [Decimal(str(score)) for score in plan["score"].tolist()],
            plan["why"].tolist(),
            map(shown.__getitem__, actions),
            map(_day, plan["action_date"].tolist()),
            *(_cell_texts(plan[name]) for name in ("owner", "contact", "phone", "email")),
            ["Yes" if hold else "No" for hold in plan["credit_hold"].tolist()],
            strict=True,
        )
    )


def _cell_texts(column: pd.Series) -> list[str | None]:
    """:func:`_text` of every value of a text column, each distinct value's once (owners,
    contacts: a few texts over thousands of plan rows)."""
    values = _repeated_texts(column)
    try:
        shown = {value: _text(value) for value in set(values)}
    except TypeError:  # a value that cannot be hashed
        return list(map(_text, values))
    return list(map(shown.__getitem__, values))


def _text(value: object) -> str | None:
    """A text cell's value: None (a blank cell) for a missing value, never "None"/"nan"."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value)
    return text if text.strip() else None


def print_setup(as_of: date | None, repeat_columns: int = 0) -> PageSetup:
    """Landscape, header row on every page, footer with the as-of date, one page wide
    unless too wide for that (see :class:`PageSetup`)."""
    return PageSetup(as_of=as_of, title_columns=repeat_columns)


DSO_WINDOW_DAYS = WINDOW_DAYS


def dso(items: pd.DataFrame, as_of: date, window: int = DSO_WINDOW_DAYS) -> Decimal | None:
    """DSO of one ledger's items on ``as_of``: the one definition of :mod:`.dso`."""
    return ledger_dso(items, as_of, window)


def aging_model(
    classified: pd.DataFrame, rules: Rules, settings: PlanSettings, as_of: date | None = None
) -> SheetModel:
    """The ``Aging Summary``: amounts by bucket x stage per currency, with a chart per
    currency whose stacked bars (every stage, in the stage colours) add up to the Total
    column beside them."""
    stages = [s for s in rules.all_stages if s.key != "paid"]
    columns = _aging_columns(stages)
    open_rows = _open_with_expected(classified, settings)
    dso_columns = [c for c in ("currency", "invoice_date", F.AMOUNT, F.BALANCE) if c in classified]
    currencies = sorted(classified["currency"].dropna().unique()) or [rules.default_currency]
    sums = _AgingSums(open_rows)
    rows: list[tuple] = []
    bold: set[int] = set()
    for currency in currencies:
        days = (
            dso(classified.loc[classified["currency"] == currency, dso_columns], as_of)
            if as_of
            else None
        )
        rows.extend(_bucket_rows(sums, currency, rules, stages))
        bold.add(len(rows))
        rows.append(_total_row(sums, currency, stages, days))
    charts = _aging_charts(currencies, rules, stages, len(rows), len(columns))
    return SheetModel(
        name=rules.labels["aging_sheet"],
        columns=columns,
        rows=rows,
        bold_rows=frozenset(bold),
        table_name="AgingSummary",
        charts=charts,
        # The charts start a page of their own rather than be cut by a page break.
        page=PageSetup(as_of=as_of, title_columns=2, row_breaks=(len(rows) + 1,)),
        currency_column=0,
    )


def _aging_columns(stages: Sequence[Stage]) -> tuple[Column, ...]:
    """The Aging Summary's columns: currency, bucket, one per stage, the totals, DSO."""
    return (
        Column("Currency", None, 9),
        Column("Aging Bucket", None, 13),
        # Stage headers wrap at a word rather than widen every amount column.
        *(Column(s.label, MONEY_FORMAT, 11) for s in stages),
        Column("Total", MONEY_FORMAT, 15),
        Column("Items", INT_FORMAT, 8),
        Column("Expected Recovery", MONEY_FORMAT, 11),
        Column("DSO (days)", "0.0", 6),
    )


def _open_with_expected(classified: pd.DataFrame, settings: PlanSettings) -> pd.DataFrame:
    """The open rows (currency, bucket, stage, balance, days), each with ``_expected``:
    the cents the recovery curve expects of it."""
    # Filters take only the columns used: every column of a filtered frame is copied.
    open_rows = classified.loc[
        classified[F.STAGE] != "paid", ["currency", F.BUCKET, F.STAGE, F.BALANCE, F.DAYS_OVERDUE]
    ]
    expected = open_rows[F.BALANCE].to_numpy(dtype=np.int64) * recovery(
        open_rows[F.DAYS_OVERDUE].to_numpy(dtype=np.int64), settings
    )
    return open_rows.assign(_expected=np.round(expected).astype(np.int64))


class _AgingSums:
    """The open rows' sums the Aging Summary shows, by currency: each grouping done once
    for every currency (rows without a currency, bucket or stage are in none of its
    groups, as in none of its blocks)."""

    def __init__(self, open_rows: pd.DataFrame):
        # Each key column factorised once for all the groupings (-1: missing, in no group).
        keys = {name: pd.factorize(open_rows[name]) for name in ("currency", F.BUCKET, F.STAGE)}
        balance = open_rows[F.BALANCE].to_numpy(dtype=np.int64)
        expected = open_rows["_expected"].to_numpy(dtype=np.int64)
        by_bucket = [keys["currency"], keys[F.BUCKET]]
        by_currency = [keys["currency"]]
        self.balances = _group_sums([*by_bucket, keys[F.STAGE]], balance)
        self.items = _group_sums(by_bucket)
        self.expected = _group_sums(by_bucket, expected)
        self.stage_totals = _group_sums([keys["currency"], keys[F.STAGE]], balance)
        self.total_items = _group_sums(by_currency)
        self.total_expected = _group_sums(by_currency, expected)


def _group_sums(keys: Sequence[tuple[np.ndarray, object]], values: np.ndarray | None = None):
    """``{key: sum of values}`` (the row count without ``values``) over the rows whose key
    columns are all present, as ``groupby(...).sum()`` (``size()``) of those columns;
    ``keys`` are the factorised columns (codes, uniques), a key is a tuple for several.
    Sums are int64 as pandas' (exact below 2**63)."""
    codes = [code for code, _uniques in keys]
    labels = [uniques.tolist() for _code, uniques in keys]
    present = np.logical_and.reduce([code >= 0 for code in codes])
    combined = np.zeros(int(present.sum()), dtype=np.int64)
    for code, uniques in zip(codes, labels, strict=True):
        combined = combined * max(len(uniques), 1) + code[present]
    # The groups are numbered densely (a few currencies x buckets x stages): counted and
    # summed in one pass each, without sorting the rows. (Numbered by the groups found
    # when there could be many more groups than rows: a column of odd currency texts.)
    size = math.prod(max(len(uniques), 1) for uniques in labels)
    if size > 4 * len(combined) + 1024:
        found_groups, combined = np.unique(combined, return_inverse=True)
        size = len(found_groups)
    else:
        found_groups = None
    counts = np.bincount(combined, minlength=size)
    groups = np.flatnonzero(counts)
    if values is None:
        sums = counts[groups]
    else:
        totals = np.zeros(size, dtype=np.int64)
        np.add.at(totals, combined, values[present])
        sums = totals[groups]
    if found_groups is not None:
        groups = found_groups[groups]
    found = {}
    for group, total in zip(groups.tolist(), sums.tolist(), strict=True):
        parts = []
        for uniques in reversed(labels):
            group, code = divmod(group, max(len(uniques), 1))
            parts.append(uniques[code])
        found[tuple(reversed(parts)) if len(parts) > 1 else parts[0]] = total
    return found


def _bucket_rows(
    sums: _AgingSums, currency: str, rules: Rules, stages: Sequence[Stage]
) -> list[tuple]:
    """One row per aging bucket of one currency's open rows: the balance of each stage,
    the total, the item count and the expected recovery."""
    rows = []
    for bucket in rules.buckets:
        amounts = [int(sums.balances.get((currency, bucket.label, s.key), 0)) for s in stages]
        rows.append(
            (
                currency,
                bucket.label,
                *map(cents_to_decimal, amounts),
                cents_to_decimal(sum(amounts)),
                int(sums.items.get((currency, bucket.label), 0)),
                cents_to_decimal(int(sums.expected.get((currency, bucket.label), 0))),
                None,
            )
        )
    return rows


def _total_row(
    sums: _AgingSums, currency: str, stages: Sequence[Stage], days: Decimal | None
) -> tuple:
    """The Total row of one currency: every stage's balance, items, recovery and DSO."""
    totals = [int(sums.stage_totals.get((currency, s.key), 0)) for s in stages]
    return (
        currency,
        "Total",
        *map(cents_to_decimal, totals),
        cents_to_decimal(sum(totals)),
        int(sums.total_items.get(currency, 0)),
        cents_to_decimal(int(sums.total_expected.get(currency, 0))),
        days,
    )


def _aging_charts(
    currencies: Sequence[str],
    rules: Rules,
    stages: Sequence[Stage],
    row_count: int,
    column_count: int,
) -> tuple[Chart, ...]:
    """A stacked column chart per currency (buckets, one series per stage), below the
    table, two a row."""
    colors = stage_colors(rules)
    per_block = len(rules.buckets) + 1
    charts = []
    height, across = 18, 2
    for index, currency in enumerate(currencies):
        first_row = 2 + index * per_block
        last_row = first_row + len(rules.buckets) - 1
        # Below the table, two charts a row: beside it they would make the printed page
        # twice as wide.
        top = 2 + row_count + 2 + (index // across) * (height + 1)
        width = max(4, min(9, column_count // across))
        charts.append(
            Chart(
                title=f"Aging by bucket and stage ({currency})",
                kind="column",
                categories_column=2,
                first_row=first_row,
                last_row=last_row,
                series=tuple(
                    Series(1, 3 + i, first_row, last_row, 3 + i) for i in range(len(stages))
                ),
                anchor_row=top,
                anchor_column=1 + (index % across) * width,
                stacked=True,
                width_columns=width,
                height_rows=height,
                y_title=currency,
                colors=tuple(colors[s.key] for s in stages),
            )
        )
    return tuple(charts)


def calendar_tasks(
    plan: pd.DataFrame,
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    settings: PlanSettings,
    company: str = "",
    issues: list[Issue] | None = None,
    decisions: Mapping | None = None,
) -> list[tuple]:
    """Dated tasks per owner: the plan's actions plus friendly reminders before due dates.

    Each task has a message for its customer (``[messages]``, in the customer's language
    when ``[messages.<language>]`` has one). ``decisions`` are the dunning decisions the
    plan follows (:func:`receivables.core.dunning.decide`): a message names the last letter
    about the items only when the history has one.
    """
    texts = _CalendarTexts(rules, classified, issues)
    tasks = _plan_tasks(plan, classified, rules, texts, company, decisions or {})
    load: dict = defaultdict(int)
    for task in tasks:
        load[(task[1], task[0])] += 1
    tasks += _pre_due_tasks(classified, rules, as_of, settings, texts, company, load)
    tasks.sort(key=lambda t: (t[0], t[1], -t[6], t[2]))
    return tasks


class _CalendarTexts:
    """The Action Calendar's message templates, and which one a task uses.

    Templates come from settings (untrusted): rendered in the bounded sandbox, and a
    template that fails is reported once (into ``issues``) and its messages left blank.
    """

    def __init__(self, rules: Rules, classified: pd.DataFrame, issues: list[Issue] | None):
        raw = rules.section("messages")
        self.default = {
            key: _Message(
                str(text),
                f"setting messages.{key}",
                _setting_where(rules, ("messages", key)),
                issues,
            )
            for key, text in raw.items()
            if not isinstance(text, Mapping)
        }
        # [messages.<language>]: the same messages in a customer's language (design.md §12).
        self.localized = {
            language: {
                key: _Message(
                    str(text),
                    f"setting messages.{language}.{key}",
                    _setting_where(rules, ("messages", language, key)),
                    issues,
                )
                for key, text in table.items()
            }
            for language, table in raw.items()
            if isinstance(table, Mapping)
        }
        self.languages = customer_languages(classified) if self.localized else {}
        self.locales = rules.section("letters").get("locales", {})
        ladder = [stage.key for stage in rules.stages]
        # A stage without a text of its own uses the nearest stage below it that has one.
        self.fallbacks = {key: ladder[: index + 1][::-1] for index, key in enumerate(ladder)}

    def pick(self, stage: str, customer: str) -> tuple[_Message | None, str | None]:
        """The message template of ``stage`` for ``customer``, and its locale (None: the
        default texts, plain dates)."""
        language = self.languages.get(customer)
        table = self.localized.get(language) if language is not None else None
        for key in self.fallbacks.get(stage, (stage,)):
            if table is not None and key in table:
                return table[key], str(self.locales.get(language, language))
            if key in self.default:
                return self.default[key], None
        return None, None


# The plan's columns of a few distinct texts (see _repeated_texts).
_FEW_TEXTS = frozenset({"owner", "currency", "stage", "next_action", "contact"})

# The plan's columns a task is made of, in the order _plan_tasks takes them.
_TASK_COLUMNS = (
    "action_date",
    "owner",
    "customer",
    "currency",
    "stage",
    "next_action",
    "overdue_cents",
    "contact",
    "oldest_days_overdue",
)


def _overdue_by_pair(classified: pd.DataFrame) -> tuple[dict, dict]:
    """Per (customer, currency) with overdue items: the oldest due date of those items
    (as datetime.date) and their number."""
    overdue = classified.loc[
        classified[F.COUNTS_OVERDUE], ["customer", "currency", "due_date"]
    ].groupby(["customer", "currency"])
    oldest = overdue["due_date"].min()
    # Dates as datetime.date (what _day makes of a Timestamp), without a Timestamp each.
    oldest_due = dict(
        zip(
            index_keys(oldest.index),
            oldest.to_numpy(dtype="datetime64[D]").astype(object).tolist(),
            strict=True,
        )
    )
    return oldest_due, series_dict(overdue.size())


def _stage_labels(rules: Rules) -> dict[str, str]:
    """The label of every stage by key, the first of a key winning as in rules.stage()
    (which scans the ladder on each call)."""
    labels: dict[str, str] = {}
    for stage in rules.all_stages:
        labels.setdefault(stage.key, stage.label)
    return labels


def _plan_tasks(
    plan: pd.DataFrame,
    classified: pd.DataFrame,
    rules: Rules,
    texts: _CalendarTexts,
    company: str,
    decisions: Mapping,
) -> list[tuple]:
    """One task per plan row, on its Action Date, doing its Next Action."""
    oldest_due, item_counts = _overdue_by_pair(classified)
    labels = _stage_labels(rules)
    tasks = []
    columns = [
        _repeated_texts(plan[name]) if name in _FEW_TEXTS else plan[name].tolist()
        for name in _TASK_COLUMNS
    ]
    # The template of a message stage in a language, looked up once for all its tasks.
    picked: dict[tuple, tuple] = {}
    languages = texts.languages
    for day, owner, customer, currency, stage, action, cents, contact, oldest_days in zip(
        *columns, strict=True
    ):
        key = (customer, currency)
        decision = decisions.get(key)
        message_stage = _message_stage(stage, decision)
        choice = (message_stage, languages.get(customer))
        found = picked.get(choice)
        if found is None:
            found = picked[choice] = texts.pick(message_stage, customer)
        template, locale = found
        if decision is not None and decision.action in (BLOCKED, BELOW_MINIMUM):
            template = None  # no dunning message while blocked, nor for a claim that small
        message = _message(
            template,
            customer,
            contact,
            cents,
            currency,
            int(item_counts.get(key, 0)),
            oldest_due.get(key),
            oldest_days,
            company,
            locale,
            previous=decision.previous if decision is not None else None,
        )
        # labels: rules.stage() scans the ladder; this runs once per plan row.
        label = labels[stage] if stage in labels else rules.stage(stage).label
        tasks.append(
            (
                _day(day),
                owner,
                customer,
                currency,
                label,
                action,
                cents_to_decimal(cents),
                message,
            )
        )
    return tasks


def _message_stage(stage: str, decision) -> str:
    """The stage whose message a plan task sends: that of the letter the dunning decision
    sends or waits for (one level up from the last, which may be below the customer's
    stage by days), else the customer's stage (before the first letter, the ladder's
    action, a call or an SMS, is what the task does)."""
    if decision is None or decision.level is None:
        return stage
    if decision.action in (SEND, UNREACHABLE) or (decision.action == WAIT and decision.last):
        return decision.level.stage
    return stage


def _pre_due_tasks(
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    settings: PlanSettings,
    texts: _CalendarTexts,
    company: str,
    load: dict,
) -> list[tuple]:
    """A friendly reminder to each customer with items due within the pre-due window,
    before the due date (``load``: the owners' tasks booked per day, updated)."""
    due_soon = _due_soon(classified)
    if due_soon is None:
        return []
    amounts, counts, first_due, owners, contacts = due_soon
    stage = rules.stage("pre_due")  # only reached when the ladder has that stage
    reminders = []
    for key, amount in amounts.items():
        customer, currency = key
        template, locale = texts.pick("pre_due", customer)
        message = _message(
            template,
            customer,
            contacts.get(key),
            int(amount),
            currency,
            counts[key],
            first_due[key],
            0,
            company,
            locale,
        )
        reminders.append(
            [
                owners.get(key, settings.default_owner),
                customer,
                currency,
                stage.label,
                stage.action,
                cents_to_decimal(int(amount)),
                message,
            ]
        )
    return _on_reminder_days(reminders, first_due, as_of, rules, settings, load)


def _on_reminder_days(
    reminders: list[list],
    first_due: dict,
    as_of: date,
    rules: Rules,
    settings: PlanSettings,
    load: dict,
) -> list[tuple]:
    """Each reminder (owner first) with the day it is booked for before its first due
    date, within the owners' capacity per day (``load``, updated)."""
    dates = reminder_dates(
        [r[0] for r in reminders],
        [first_due[(r[1], r[2])] for r in reminders],
        as_of,
        rules.country,
        settings.capacity_per_day,
        load,
    )
    return [(day, *reminder) for reminder, day in zip(reminders, dates, strict=True)]


def _due_soon(classified: pd.DataFrame) -> tuple[dict, ...] | None:
    """Per (customer, currency) with items in the pre-due window: their amount, their
    number, the first due date, and the first owner and contact named; None when no
    item is in the window."""
    due_soon = classified.loc[
        classified[F.STAGE] == "pre_due",
        ["customer", "currency", F.BALANCE, "due_date", "owner", "contact"],
    ]
    grouped = due_soon.groupby(["customer", "currency"], sort=True)
    amounts = series_dict(grouped[F.BALANCE].sum())
    if not amounts:
        return None
    return (
        amounts,
        series_dict(grouped.size()),
        series_dict(grouped["due_date"].min()),
        first_present(due_soon, "owner"),
        first_present(due_soon, "contact"),
    )


def reminder_dates(
    owners: Sequence[str], due_dates: Sequence, as_of: date, country: str, capacity: int, load: dict
) -> list[date]:
    """Dates of friendly reminders: never after the item's due date.

    Each goes on the first working day from as-of on which its owner has room, as the
    plan's tasks do, but a reminder dated after the due date is no reminder: when the
    owner's days are full up to the due date, it goes on the first working day anyway
    (or on as-of itself when no working day comes before the due date).
    """
    first_day = next_working_day(as_of, country)
    dates = []
    for owner, due in zip(owners, due_dates, strict=True):
        due_day = _day(due) or first_day
        day = first_day
        while day <= due_day and load[(owner, day)] >= capacity:
            day = next_working_day(day + timedelta(days=1), country)
        if day > due_day:
            day = first_day if first_day <= due_day else as_of
        load[(owner, day)] += 1
        dates.append(day)
    return dates


_MESSAGE_NAMES = frozenset(
    {
        "customer",
        "contact",
        "amount",
        "items",
        "due_date",
        "oldest_days",
        "company",
        "last_date",
        "last_reference",
    }
)


def _setting_where(rules: Rules, path: tuple[str, ...]) -> Location:
    """Where the setting at ``path`` was set, naming its key."""
    if rules.settings is None:
        return Location(key=".".join(path))
    return replace(rules.settings.origin_location(path), key=".".join(path))


class _Message:
    """A message template; plain substitutions skip jinja's per-render machinery.

    The messages of the rules are nearly always text with ``{{ name }}`` and
    ``{{ a or b }}`` of the names :func:`_message` passes: those are rendered here the
    way jinja renders them (``str`` of the value, Python's ``or``), ~10x faster over
    thousands of plan rows. Anything else (filters, tests, loops) renders in the bounded
    sandbox of :mod:`.templates`; a render that fails or exceeds its bounds is one
    warning at ``where`` and leaves that template's messages blank.
    """

    def __init__(self, text: str, name: str, where: str, issues: list[Issue] | None):
        self.template, problem, self.parts = _compiled(text)
        self.name, self.where, self.issues = name, where, issues
        self.failed = False
        if problem:
            self._fail(problem)

    def _fail(self, problem: str) -> None:
        self.failed = True
        if self.issues is not None:
            self.issues.append(
                Issue(
                    self.where,
                    f"{self.name} {problem}; its messages are left blank",
                    Severity.WARNING,
                )
            )

    def render(self, **values: object) -> str:
        """The message with ``values`` substituted ("" once the template has failed)."""
        if self.failed:
            return ""
        if self.parts is None:
            text, problem = render_template(self.template, values)
            if problem:
                self._fail(problem)
            return text
        return _render_parts(self.parts, values)


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> tuple[object | None, str | None, list | None]:
    """``(template, problem, parts)`` of ``text``, once per text: every calendar of a run
    (again after its letters, per workbook of a batch) reads the same few dozen texts.

    A template of plain substitutions (:func:`_plain_parts`, nearly all) gives its parts
    and no jinja template: it is rendered from the parts. Any other is compiled by
    :func:`compile_template` (None and the problem when it does not compile); compiled
    templates are safe to share."""
    try:
        parts = _plain_parts(environment().parse(text).body)
    except Exception:  # noqa: BLE001 - untrusted text: compile_template says what is wrong
        parts = None
    if parts is not None:
        # Plain text and names always compile; rendered from the parts, never by jinja.
        return None, None, parts
    template, problem = compile_template(text)
    return template, problem, None


def _render_parts(parts: list, values: Mapping[str, object]) -> str:
    """Render :func:`_plain_parts` the way jinja renders the template they came from."""
    out = []
    for part in parts:
        if type(part) is str:
            out.append(part)
        elif part[0] == "if":
            if values[part[1]]:
                out.append(_render_parts(part[2], values))
        elif len(part) == 1:
            out.append(str(values[part[0]]))
        else:
            out.append(str(values[part[0]] or values[part[1]]))
    return "".join(out)


def _plain_parts(body: Iterable[nodes.Node]) -> list[str | tuple] | None:
    """Text pieces and name tuples of a template made of plain substitutions and
    ``{% if name %}...{% endif %}`` around them, else None."""
    parts: list[str | tuple] = []
    for node in body:
        if (
            isinstance(node, nodes.If)
            and isinstance(node.test, nodes.Name)
            and node.test.name in _MESSAGE_NAMES
            and not node.elif_
            and not node.else_
        ):
            inner = _plain_parts(node.body)
            if inner is None:
                return None
            parts.append(("if", node.test.name, inner))
            continue
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append(child.data)
            elif isinstance(child, nodes.Name) and child.name in _MESSAGE_NAMES:
                parts.append((child.name,))
            elif (
                isinstance(child, nodes.Or)
                and isinstance(child.left, nodes.Name)
                and isinstance(child.right, nodes.Name)
                and {child.left.name, child.right.name} <= _MESSAGE_NAMES
            ):
                parts.append((child.left.name, child.right.name))
            else:
                return None
    return parts


def _message(
    template,
    customer,
    contact,
    cents,
    currency,
    items,
    due,
    oldest,
    company,
    locale: str | None = None,
    previous=None,
) -> str:
    """One task's message; ``previous`` is the last letter about the items (a
    ``SentLetter``), None when the history has none."""
    if template is None:
        return ""
    day = _day(due)
    amount = money_text(int(cents), currency)
    due_text = day.isoformat() if day else ""
    last = previous.date if previous is not None else None
    last_text = last.isoformat() if last else ""
    if locale:
        # A message in the customer's language formats money and dates in it too.
        amount = localized_money(int(cents), currency, locale)
        due_text = long_date(day, locale) if day else ""
        last_text = long_date(last, locale) if last else ""
    return template.render(
        customer=customer,
        contact=contact,
        amount=amount,
        items=items,
        due_date=due_text,
        oldest_days=int(oldest),
        company=company,
        last_date=last_text,
        last_reference=previous.reference if previous is not None else "",
    ).strip()


def customer_languages(classified: pd.DataFrame) -> dict[str, str]:
    """Each customer's language code (first readable ``language`` value on its rows)."""
    if "language" not in classified:
        return {}
    # Only the rows with a value are looked at, and each distinct value is read once.
    column = classified["language"]
    filled = np.flatnonzero(column.notna().to_numpy(dtype=bool))
    if not len(filled):
        return {}
    codes: dict[str, str | None] = {}
    out: dict[str, str] = {}
    for customer, value in zip(
        classified["customer"].iloc[filled].tolist(), column.iloc[filled].tolist(), strict=True
    ):
        if customer in out or not isinstance(value, str) or not value.strip():
            continue
        if value in codes:
            code = codes[value]
        else:
            code = codes[value] = normalize_language(value)
        if code:
            out[customer] = code
    return out


def calendar_model(tasks: Sequence[tuple], rules: Rules, as_of: date | None = None) -> SheetModel:
    """The ``Action Calendar`` sheet."""
    columns = (
        Column("Date", DATE_FORMAT, 12),
        Column("Owner", None, 16),
        Column("Customer", None, 26),
        Column("Currency", None, 9),
        Column("Stage", None, 15),
        Column("Task", None, 26),
        Column("Amount", MONEY_FORMAT, 14),
        Column("Message", None, 60),
    )
    colors = stage_colors(rules)
    shown = {action: action_text(action) for action in {task[5] for task in tasks}}
    rows = [(*task[:5], shown[task[5]], *task[6:]) for task in tasks]
    return SheetModel(
        name=rules.labels["calendar_sheet"],
        columns=columns,
        rows=rows,
        row_fills=[colors.get(t[4]) for t in tasks],
        fill_columns=(4,),
        table_name="ActionCalendar",
        page=print_setup(as_of),
        currency_column=3,
    )


def exceptions_model(
    issues: Iterable[Issue], rules: Rules, as_of: date | None = None
) -> SheetModel:
    """The ``Exceptions`` sheet: every issue with its location, grouped by area (settings
    apart from the ledger's data), each with what to do and where."""
    order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    settings_sheet = rules.labels.get("settings_sheet", "Collections Settings")
    keyed = [(area(issue, settings_sheet), issue) for issue in issues]
    keyed.sort(key=lambda item: (AREA_ORDER.index(item[0]), order[item[1].severity]))
    rows = [
        (
            issue.severity.value.title(),
            str(issue.where),
            in_words(issue.message) if kind == SETTINGS else issue.message,
            kind,
            what_to_do(issue, settings_sheet, kind),
        )
        for kind, issue in keyed
    ]
    if not rows:
        rows = [("Info", "", "No problems found in the ledger.", "", "")]
    fills = {"Error": "FF7C80", "Warning": "FFE699", "Info": None}
    return SheetModel(
        name=rules.labels["exceptions_sheet"],
        columns=(
            Column("Severity", None, 10),
            Column("Where", None, 24),
            Column("Message", None, 60),
            Column("Area", None, 12),
            Column("What to do", None, 50),
        ),
        rows=rows,
        row_fills=[fills[r[0]] for r in rows],
        fill_columns=(0,),
        table_name="Exceptions",
        page=print_setup(as_of),
    )


_LOG_WIDTHS = {
    "Reference": 22,
    "Date": 12,
    "Customer": 26,
    "Currency": 9,
    "Stage": 15,
    "Template": 15,
    "Language": 9,
    "Invoices": 30,
    "Previous": 22,
    "File": 40,
    "PDF": 40,
    "Channel": 9,
    "Message-ID": 30,
    "Status": 24,
}


def letters_log_model(
    rows: Sequence[Mapping[str, object]], rules: Rules, as_of: date | None = None
) -> SheetModel:
    """The ``Letters Log`` sheet: one row per letter written (design.md §8).

    ``rows`` are keyed by :data:`letters.LOG_COLUMNS`, money in cents.
    """
    from .letters import LOG_COLUMNS, LOG_MONEY

    columns = tuple(
        Column(
            name,
            MONEY_FORMAT if name in LOG_MONEY else DATE_FORMAT if name == "Date" else None,
            _LOG_WIDTHS.get(name, 14),
        )
        for name in LOG_COLUMNS
    )
    colors = stage_colors(rules)
    table_rows = [
        tuple(
            cents_to_decimal(row[name]) if name in LOG_MONEY else row[name] for name in LOG_COLUMNS
        )
        for row in rows
    ]
    return SheetModel(
        name=rules.labels["letters_sheet"],
        columns=columns,
        rows=table_rows,
        row_fills=[colors.get(str(row["Stage"])) for row in rows],
        fill_columns=(LOG_COLUMNS.index("Stage"),),
        table_name="LettersLog",
        page=print_setup(as_of, repeat_columns=3),
        currency_column=LOG_COLUMNS.index("Currency") if "Currency" in LOG_COLUMNS else None,
    )
