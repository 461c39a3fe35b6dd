"""Dunning history and escalation (design.md §11): which letter, if any, each customer gets.

Pure: history records in, decisions out; no files, ``as_of`` is a parameter.

The model, in the workbook's own terms (close to SAP's dunning levels and OCA
credit-control's policy levels):

- The *levels* are the ladder stages that have a letter (``notice`` → reminder,
  ``demand`` → formal demand, ``final`` → final demand, ``legal`` → legal demand), in
  ladder order. An item's level *by days* is the highest of those whose ``from_days`` its
  days overdue have reached (items past the last letter stage stay at the last level).
- The *history* is the ``Letters Log``: one :class:`SentLetter` per row, with the items
  (invoice numbers) it covered and the level it took each of them to. Only rows whose
  ``Status`` is ``sent`` (or blank) count; ``cancelled``, ``draft`` and ``failed`` rows
  are as if they had never been written.
- Per item, the *next level* is one above the highest level sent for it (the first level
  for an item no letter covered), or, with ``allow_skip``, straight to its level by days.
  An item is *ripe* when its days overdue have reached its next level. The same level is
  sent again only with ``repeat_interval_days`` set, that many days after the last time.
- Per customer and currency, at most one letter per run: at the highest next level among
  the ripe items, and never within ``min_interval_days`` of the previous letter to that
  customer and currency. The letter lists every overdue item (the full claim) and takes
  each ripe item to its own next level; the others keep theirs.
- Before any letter: credits (credit notes, unapplied cash: negative balances) offset the
  debts of the same customer and currency (``net_credits``); a net claim at or below
  ``min_amount`` gets no letter. A customer-level dunning block (a ``Dunning Block``
  column or ``[[dunning.blocks]]``) holds everything, until its end date if it has one.
- One rule decides whether a customer can be written to (:func:`can_write`): a postal
  address, or an email for the templates that may go by email.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import frame as F
from .issues import Issue, Location, Severity
from .rules import Rules

# Letters Log statuses. A letter counts as history unless it was cancelled (by a clerk:
# as if never sent) or failed (an email the server refused); a draft (an email waiting
# in the outbox) and "unknown" (maybe delivered) count, so that nothing goes out twice.
SENT = "sent"
STATUSES = ("sent", "draft", "unknown", "failed", "cancelled")
COUNTING = frozenset({"sent", "draft", "unknown"})
_STATUS_WORDS = {
    "sent": SENT, "": SENT, "ok": SENT, "enviado": SENT, "enviada": SENT, "elküldve": SENT,
    "cancelled": "cancelled", "canceled": "cancelled", "cancel": "cancelled",
    "void": "cancelled", "anulado": "cancelled", "anulada": "cancelled",
    "cancelado": "cancelled", "cancelada": "cancelled", "törölve": "cancelled",
    "sztornó": "cancelled", "draft": "draft", "borrador": "draft", "piszkozat": "draft",
    "failed": "failed", "error": "failed", "fallido": "failed", "sikertelen": "failed",
    "unknown": "unknown", "desconocido": "unknown", "ismeretlen": "unknown",
}  # fmt: skip


def parse_status(text: Any) -> str | None:
    """The status of a log cell (``failed: 550 mailbox unknown`` is ``failed``); None when
    it is not one of :data:`STATUSES` (or a translation)."""
    head = normalize(text).split(":", 1)[0].strip()
    return _STATUS_WORDS.get(head)


CHANNELS = ("letter", "email", "sms")

# ---- settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A customer-level dunning block: no letter while it lasts."""

    customer: str
    reason: str
    until: date | None = None
    currency: str | None = None  # None: every currency of the customer
    where: Location | str = "dunning.blocks"

    def active(self, as_of: date) -> bool:
        """True while the block holds on ``as_of`` (through its end date)."""
        return self.until is None or as_of <= self.until

    def text(self) -> str:
        """``disputed invoice (until 2026-12-31)``."""
        until = f" (until {self.until.isoformat()})" if self.until else ""
        return f"{self.reason or 'blocked'}{until}"


@dataclass(frozen=True)
class DunningSettings:
    """The ``[dunning]`` settings, typed."""

    min_interval_days: int = 14
    repeat_interval_days: int = 0
    allow_skip: bool = False
    net_credits: bool = True
    min_amount_cents: Mapping[str, int] = field(default_factory=dict)
    min_amount_default_cents: int = 0
    email_templates: frozenset[str] = frozenset({"reminder", "formal_demand"})
    blocks: tuple[Block, ...] = ()

    def minimum(self, currency: str) -> int:
        """The minimum net claim in cents for a letter in ``currency``."""
        return self.min_amount_cents.get(currency.upper(), self.min_amount_default_cents)


def parse_dunning(rules: Rules) -> tuple[DunningSettings, list[Issue]]:
    """Parse ``[dunning]``; a bad value becomes an Issue and its default stays."""
    raw = rules.section("dunning")
    issues: list[Issue] = []
    defaults = DunningSettings()
    values: dict[str, Any] = {}

    def warn(key: str, message: str) -> None:
        issues.append(Issue(Location.setting(f"dunning.{key}"), message, Severity.ERROR))

    for key in ("min_interval_days", "repeat_interval_days"):
        value = raw.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            warn(key, f"must be a whole number of days (0 or more), not {value!r}")
        else:
            values[key] = value
    for key in ("allow_skip", "net_credits"):
        value = raw.get(key, getattr(defaults, key))
        if isinstance(value, bool):
            values[key] = value
        else:
            warn(key, f"must be true or false, not {value!r}")
    minimums = raw.get("min_amount", {})
    if isinstance(minimums, Mapping):
        table: dict[str, int] = {}
        for currency, amount in minimums.items():
            cents = _cents(amount)
            if cents is None:
                warn(f"min_amount.{currency}", f'must be an amount like "10.00", not {amount!r}')
            elif str(currency).strip().casefold() in ("default", "*"):
                values["min_amount_default_cents"] = cents
            else:
                table[str(currency).strip().upper()] = cents
        values["min_amount_cents"] = table
    else:
        warn("min_amount", 'must be a table of currency = amount, like { EUR = "10.00" }')
    email = raw.get("email_templates", sorted(defaults.email_templates))
    if isinstance(email, list) and all(isinstance(item, str) for item in email):
        values["email_templates"] = frozenset(item.strip() for item in email)
    else:
        warn("email_templates", 'must be a list of template names, like ["reminder"]')
    blocks, block_issues = _parse_blocks(raw.get("blocks", []))
    values["blocks"] = blocks
    issues.extend(block_issues)
    return DunningSettings(**{**defaults.__dict__, **values}), issues


def _cents(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return int((amount * 100).to_integral_value())


def _parse_blocks(raw: Any) -> tuple[tuple[Block, ...], list[Issue]]:
    if not isinstance(raw, list):
        return (), [
            Issue(
                Location.setting("dunning.blocks"),
                'must be a list of tables like [[dunning.blocks]] customer = "Acme" reason = "..."',
                Severity.ERROR,
            )
        ]
    blocks, issues = [], []
    for number, spec in enumerate(raw, start=1):
        where = Location.setting(f"dunning.blocks.{number}")
        if not isinstance(spec, Mapping) or not str(spec.get("customer", "")).strip():
            issues.append(Issue(where, "needs a customer name", Severity.ERROR))
            continue
        until = spec.get("until")
        if until not in (None, ""):
            until = _as_date(until)
            if until is None:
                issues.append(
                    Issue(
                        where,
                        f"until {spec.get('until')!r} is not a date "
                        "(write 2026-12-31); the block holds with no end",
                        Severity.ERROR,
                    )
                )
        currency = str(spec.get("currency", "") or "").strip().upper() or None
        blocks.append(
            Block(
                customer=str(spec["customer"]).strip(),
                reason=str(spec.get("reason", "") or "").strip(),
                until=until or None,
                currency=currency,
                where=where,
            )
        )
    return tuple(blocks), issues


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    text = str(value or "").strip()
    for candidate in (text, text[:10]):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})", text)
    if match:
        day, month, year = map(int, match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


# ---- small shared rules ----------------------------------------------------------------


def can_write(template: str, has_address: bool, has_email: bool, settings: DunningSettings) -> bool:
    """The one rule for "can this customer be sent this letter": a postal address, or an
    email when the template may go by email (``dunning.email_templates``)."""
    return has_address or (has_email and template in settings.email_templates)


def unreachable(customer: Any, currency: Any) -> tuple[str, str, str]:
    """The :attr:`Issue.subject` of "a letter is due, but this customer and currency
    cannot be written to", whichever step finds it."""
    return ("cannot write", str(customer), str(currency))


def normalize(text: Any) -> str:
    """Key for matching names and invoice numbers across months: case and spaces ignored."""
    return " ".join(str(text or "").split()).casefold()


def item_key(invoice: Any, due: date | None) -> str:
    """How an item is named in the log: its invoice number, else ``due 2026-09-15``."""
    text = " ".join(str(invoice).split()) if isinstance(invoice, str) else ""
    if text:
        return text
    return f"due {due.isoformat()}" if due else "?"


# ---- levels ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One rung of the letter ladder."""

    index: int
    stage: str  # stage key: notice, demand, final, legal
    template: str  # reminder, formal_demand, ...
    from_days: int

    @property
    def name(self) -> str:
        """``formal demand``: the template's name in words."""
        return self.template.replace("_", " ")


def letter_levels(rules: Rules) -> tuple[Level, ...]:
    """The ladder stages that have a letter, in ladder order."""
    found = [s for s in rules.stages if s.letter]
    return tuple(
        Level(index, s.key, s.letter, int(s.from_days or 0)) for index, s in enumerate(found)
    )


def resolve_level(text: Any, rules: Rules, levels: Sequence[Level]) -> Level | None:
    """The level a log cell names: template, stage key or stage label (any case)."""
    wanted = normalize(text).replace(" ", "_")
    if not wanted:
        return None
    for level in levels:
        stage = rules.stage(level.stage)
        names = (level.template, level.stage, stage.label)
        if wanted in {normalize(name).replace(" ", "_") for name in names}:
            return level
    return None


# ---- history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SentLetter:
    """One letter (or message) of the dunning history, as a Letters Log row."""

    reference: str
    date: date
    customer: str
    currency: str
    level: str  # stage key of the letter
    items: tuple[tuple[str, str], ...] | None = None  # (item key, stage key); None: unknown
    template: str = ""  # the letter's template (reminder, formal_demand, ...)
    status: str = SENT
    channel: str = "letter"
    where: str = ""

    @property
    def counts(self) -> bool:
        """Cancelled and failed letters are as if never written; the others count."""
        return self.status in COUNTING


def format_items(items: Iterable[tuple[str, str]], level: str) -> str:
    """The ``Invoices`` cell: ``INV-1, INV-2, INV-9 (notice)``; an item taken to a level
    other than the letter's carries it in brackets."""
    return ", ".join(
        key if item_level == level else f"{key} ({item_level})" for key, item_level in items
    )


_ITEM_WITH_LEVEL = re.compile(r"^(.*?)\s*\(([^()]+)\)$")


def parse_items(
    text: Any, level: Level, rules: Rules, levels: Sequence[Level]
) -> tuple[tuple[str, str], ...] | None:
    """Read an ``Invoices`` cell back; None when blank (an older log without the column)."""
    cell = str(text or "").strip()
    if not cell:
        return None
    items = []
    for part in cell.split(","):
        part = part.strip()
        if not part:
            continue
        item_level = level
        match = _ITEM_WITH_LEVEL.match(part)
        if match:
            named = resolve_level(match.group(2), rules, levels)
            if named is not None:
                part, item_level = match.group(1).strip(), named
        items.append((part, item_level.stage))
    return tuple(items)


def history_from_rows(
    rows: Iterable[Mapping[str, Any]], rules: Rules, where: str = "Letters Log"
) -> tuple[list[SentLetter], list[Issue]]:
    """Letters Log rows (header -> cell value) as :class:`SentLetter` values.

    Rows without a date, customer or recognisable letter are reported and skipped; an
    unknown status is reported and counts as sent (better one letter too few than two).
    """
    levels = letter_levels(rules)
    letters: list[SentLetter] = []
    issues: list[Issue] = []
    for number, row in enumerate(rows, start=2):
        cells = {normalize(key): value for key, value in row.items() if key is not None}
        at = row.get("_where") or Location.cell(where, number)
        customer = str(cells.get("customer") or "").strip()
        day = _as_date(cells.get("date"))
        if not customer and day is None:
            continue  # a blank row
        level = resolve_level(cells.get("template"), rules, levels)
        message = normalize(cells.get("channel")) in ("email", "sms")
        if level is None and message and normalize(cells.get("template")):
            # A message's own template (email_reminder): its stage label may share a
            # letter's name (the stage "Reminder", the letter "reminder"), yet no letter went.
            continue
        level = level or resolve_level(cells.get("stage"), rules, levels)
        if level is None and message:
            continue  # a message at a stage without a letter: not a letter's history
        if not customer or day is None or level is None:
            issues.append(
                Issue(
                    at,
                    "this letter is not read as dunning history: it needs a "
                    "date, a customer and a letter (template or stage)",
                )
            )
            continue
        letters.append(_logged_letter(cells, at, customer, day, level, rules, levels, issues))
    return letters, issues


def _logged_letter(
    cells: Mapping[str, Any],
    at: Location,
    customer: str,
    day: date,
    level: Level,
    rules: Rules,
    levels: Sequence[Level],
    issues: list[Issue],
) -> SentLetter:
    """The letter of one Letters Log row (``cells`` by normalised header, read at ``at``)
    whose date, customer and level are known; an unknown status is reported in
    ``issues`` and counts as sent."""
    status = parse_status(cells.get("status"))
    if status is None:
        issues.append(
            Issue(
                at,
                f"status {cells.get('status')!r} is not one of "
                f"{', '.join(STATUSES)}; the letter counts as sent",
            )
        )
        status = SENT
    currency = str(cells.get("currency") or "").strip().upper() or rules.default_currency
    return SentLetter(
        reference=str(cells.get("reference") or "").strip(),
        date=day,
        customer=customer,
        currency=currency,
        level=level.stage,
        template=level.template,
        items=parse_items(cells.get("invoices"), level, rules, levels),
        status=status,
        channel=normalize(cells.get("channel")) or "letter",
        where=at,
    )


# ---- decisions -------------------------------------------------------------------------

SEND = "send"  # a letter is due now
WAIT = "wait"  # the next letter is due later (interval, or days not reached)
DONE = "done"  # every item has had the last letter; nothing more by letter
BLOCKED = "blocked"  # a dunning block holds the customer
BELOW_MINIMUM = "below_minimum"  # net claim at or below the minimum amount
UNREACHABLE = "unreachable"  # a letter is due but the customer cannot be written to
NONE = "none"  # no item has reached the first letter level yet


@dataclass(frozen=True)
class Decision:
    """What dunning does for one customer and currency on ``as_of``."""

    customer: str
    currency: str
    action: str
    level: Level | None = None  # the letter to send now (send), or due next (wait)
    due: date | None = None  # when that letter is due
    items: tuple[tuple[str, str], ...] = ()  # (item key, stage key) a letter sent now records
    previous: SentLetter | None = None  # the last letter about these items
    last: SentLetter | None = None  # the last letter to this customer and currency
    gross_cents: int = 0
    credits_cents: int = 0
    net_cents: int = 0
    block: Block | None = None
    letter: SentLetter | None = None  # a letter sent now, as the history will hold it
    then: Decision | None = None  # the decision once that letter is sent

    @property
    def sends(self) -> bool:
        """True when a letter goes out now."""
        return self.action == SEND


def _builder(cls):
    """A faster ``cls(**values)`` for a frozen dataclass without ``__post_init__``: the
    instance gets its attribute dict in one step, where the generated ``__init__`` sets
    each field through ``object.__setattr__`` (about twice as slow, and a big ledger
    makes a few decisions and letters per customer and currency). The instance is the
    same: equal, same hash and repr, still frozen. Every field without a default must be
    given, and nothing else (checked by the count of the fields)."""
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    count = len(fields(cls))
    new, set_attribute = object.__new__, object.__setattr__

    def build(**values: Any):
        state = {**defaults, **values}
        if len(state) != count:
            raise TypeError(f"{cls.__name__}: every field without a default, and no other")
        instance = new(cls)
        set_attribute(instance, "__dict__", state)
        return instance

    return build


_new_decision = _builder(Decision)
_new_letter = _builder(SentLetter)


class _Sent(NamedTuple):
    """A counting letter of the history, its item keys normalised once: they are matched
    against every overdue item of its customer, in the decision and in what follows it."""

    letter: SentLetter
    names: tuple[tuple[str, str], ...] | None  # (normalised item key, stage key); None: unknown
    keys: frozenset[str] | None  # the normalised item keys (None: unknown)


def _sent(letter: SentLetter, names: tuple[tuple[str, str], ...] | None = None) -> _Sent:
    """``letter`` with its items' normalised keys (``names`` when the caller has them)."""
    if letter.items is None:
        return _Sent(letter, None, None)
    if names is None:
        names = tuple((normalize(key), stage) for key, stage in letter.items)
    return _Sent(letter, names, frozenset(name for name, _stage in names))


def _history_index(history: Iterable[SentLetter]) -> dict[tuple[str, str], list[_Sent]]:
    """Counting letters per (customer, currency), oldest first."""
    by_customer: dict[tuple[str, str], list[_Sent]] = {}
    for letter in history:
        if letter.counts:
            by_customer.setdefault(
                (normalize(letter.customer), letter.currency.upper()), []
            ).append(_sent(letter))
    for letters in by_customer.values():
        letters.sort(key=lambda entry: entry.letter.date)  # stable: log order within a day
    return by_customer


class _Item(NamedTuple):
    # A tuple: hundreds of thousands are made on a big ledger (a frozen dataclass is ~5x
    # slower to build).
    key: str
    name: str  # normalize(key): how the history's letters name it
    due: date
    days: int
    balance: int
    by_days: int = -1  # the highest level its days overdue have reached (-1: none)


def decide(
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    history: Iterable[SentLetter] = (),
    settings: DunningSettings | None = None,
) -> dict[tuple[str, str], Decision]:
    """The dunning decision of every customer and currency with overdue items.

    ``classified`` is the output of ``classify``; its rows that count as overdue are the
    items, negative balances (state ``credit``) the credits. A decision that sends a letter
    carries :attr:`Decision.then`, what follows once that letter is sent: a run that
    writes the letters gives its plan :func:`after_letters` instead of deciding again.
    """
    if settings is None:
        settings, _issues = parse_dunning(rules)
    return _decisions(classified, rules, as_of, history, settings)


def _decisions(
    classified: pd.DataFrame,
    rules: Rules,
    as_of: date,
    history: Iterable[SentLetter],
    settings: DunningSettings,
    fast: bool = True,
) -> dict[tuple[str, str], Decision]:
    """:func:`decide`; with ``fast``, the customers without history (most of a big
    ledger) are decided by :func:`_first_letters`, all at once, the others one by one
    (:func:`_decide_one`); without, every one by :func:`_decide_one`."""
    levels = letter_levels(rules)
    if not levels or classified.empty:
        return {}
    index = _history_index(history)
    overdue = _overdue_items(classified, rules, levels)
    credits = _credits(classified, rules)
    blocks = customer_blocks(classified, settings, as_of, overdue.pairs)
    with_address, with_email = reachability(classified)
    context = _Context(
        tuple(levels), settings, as_of, {level.stage: level.index for level in levels}
    )
    histories = [
        index.get((normalize(name), str(code).upper()), []) if index else []
        for name, code in overdue.pairs
    ]
    facts = [
        _Facts(
            name,
            code,
            None,
            credits.get((name, code), 0) if credits else 0,  # (most ledgers have none)
            blocks.get((name, code)) if blocks else None,
        )
        for name, code in overdue.pairs
    ]
    reach = [(name in with_address, name in with_email) for name, _code in overdue.pairs]
    quick = (
        _first_letters(context, overdue, facts, histories, reach) if fast and overdue.pairs else {}
    )
    decisions = {}
    for number, pair in enumerate(overdue.pairs):
        decision = quick.get(number)
        if decision is None:
            decision = _decide_one(
                context,
                facts[number]._replace(items=overdue.items(number)),
                histories[number],
                reach[number],
            )
        decisions[pair] = decision
    return decisions


class _Overdue(NamedTuple):
    """The overdue items of a ledger column by column, those of each (customer, currency)
    together in ledger order: pair ``n``'s are at ``bounds[n]:bounds[n + 1]``."""

    pairs: list[tuple[str, str]]  # in the order the ledger first names them
    bounds: np.ndarray
    keys: list[str]  # item keys (invoice numbers), as the Letters Log names them
    names: list[str]  # normalize() of each key
    days: list[int]
    balances: list[int]
    reached: list[int]  # the highest level each item's days overdue have reached (-1: none)
    due_days: np.ndarray  # the due dates as datetime64[D] (NaT: none)

    def items(self, number: int) -> list[_Item]:
        """The items of pair ``number``."""
        start, end = int(self.bounds[number]), int(self.bounds[number + 1])
        return list(
            map(
                _Item._make,
                zip(
                    self.keys[start:end],
                    self.names[start:end],
                    self.due_days[start:end].astype(object).tolist(),  # dates (None: NaT)
                    self.days[start:end],
                    self.balances[start:end],
                    self.reached[start:end],
                    strict=True,
                ),
            )
        )


def _overdue_items(frame: pd.DataFrame, rules: Rules, levels: Sequence[Level]) -> _Overdue:
    """The overdue items per (customer, currency), each with the level its days reached."""
    # Whole columns of the overdue rows only, each taken once in pair order (plain lists:
    # element access on Arrow-backed text is slow), the level each has reached by days
    # found by one search.
    positions = np.flatnonzero(frame[F.COUNTS_OVERDUE].to_numpy(dtype=bool))
    currency = frame["currency"].fillna(rules.default_currency)
    # Pairs numbered in order of first appearance among the overdue rows (factorize()
    # tells the texts apart, over whole columns); rows put pair by pair (stable).
    customer_codes, _customers = pd.factorize(frame["customer"], use_na_sentinel=False)
    currency_codes, currencies = pd.factorize(currency, use_na_sentinel=False)
    codes, _pairs = pd.factorize(
        customer_codes[positions].astype(np.int64) * max(len(currencies), 1)
        + currency_codes[positions]
    )
    order = positions[np.argsort(codes, kind="stable")]  # rows of the frame, pair by pair
    counts = np.bincount(codes, minlength=len(_pairs))
    bounds = np.concatenate(([0], np.cumsum(counts)))
    starts = order[bounds[:-1]]  # each pair's first row, which names it
    pairs = list(
        zip(
            frame["customer"].iloc[starts].tolist(),
            currency.iloc[starts].astype(object).tolist(),
            strict=True,
        )
    )
    days = frame[F.DAYS_OVERDUE].to_numpy(dtype=np.int64)[order]
    thresholds = np.array([level.from_days for level in levels], dtype=np.int64)
    reached = (np.searchsorted(thresholds, days, side="right") - 1).tolist()
    due_days = frame["due_date"].to_numpy(dtype="datetime64[D]")[order]
    invoices = frame["invoice"].iloc[order].tolist() if "invoice" in frame else [None] * len(order)
    keys = [
        invoice if type(invoice) is str and invoice.strip() == invoice and invoice else None
        for invoice in invoices
    ]
    if None in keys:  # items named otherwise (see item_key), with their due dates
        for position in [position for position, key in enumerate(keys) if key is None]:
            keys[position] = item_key(invoices[position], due_days[position].astype(object))
    # normalize() of every key, by maps over whole lists (a key is a non-empty str).
    names = list(map(str.casefold, map(" ".join, map(str.split, keys))))
    return _Overdue(
        pairs,
        bounds,
        keys,
        names,
        days.tolist(),
        frame[F.BALANCE].to_numpy(dtype=np.int64)[order].tolist(),
        reached,
        due_days,
    )


_EPOCH = date(1970, 1, 1)


def _first_letters(
    context: _Context,
    overdue: _Overdue,
    facts: Sequence[_Facts],
    histories: Sequence[Sequence[_Sent]],
    reach: Sequence[tuple[bool, bool]],
) -> dict[int, Decision]:
    """The decisions of the pairs that no letter has named yet, by pair number: what
    :func:`_decide_one` decides for them, worked out for all at once.

    Without history every item's next level is the first (its level by days with
    ``allow_skip``): the items whose days reached a level are ripe, and the letter takes
    each to that level; once it is sent, each goes one level up, and the others still
    wait for the first. Left to :func:`_decide_one`: pairs with history, a block, two
    items of one key (a letter naming one names both), or an item without a due date,
    and every pair when ``min_interval_days`` is 0 (what follows a letter is then
    another letter at once).
    """
    if context.settings.min_interval_days <= 0:
        return {}
    balances = np.array(overdue.balances, dtype=np.int64)
    if len(balances) and int(np.abs(balances).max()) >= 2**62 // len(balances):
        return {}  # sums beyond 64 bits: left to Python's integers
    pair_of = np.repeat(np.arange(len(overdue.pairs)), np.diff(overdue.bounds))
    eligible = _fit_for_first_letters(overdue, pair_of)
    plan = _first_letter_plan(context, overdue, pair_of, balances)
    out: dict[int, Decision] = {}
    for number in np.flatnonzero(eligible).tolist():
        if histories[number] or facts[number].block is not None:
            continue
        out[number] = _first_decision(context, plan, number, facts[number], reach[number])
    return out


def _fit_for_first_letters(overdue: _Overdue, pair_of: np.ndarray) -> np.ndarray:
    """Per pair, whether :func:`_first_letters` may decide it by its items alone: every
    item dated and no key twice (history and blocks are checked per pair after)."""
    name_codes, _names = pd.factorize(pd.Series(overdue.names, dtype=object))
    twice = pd.Series(pair_of * (len(_names) + 1) + name_codes).duplicated(keep=False)
    unfit = np.isnat(overdue.due_days) | twice.to_numpy(dtype=bool)
    return np.bincount(pair_of, weights=unfit, minlength=len(overdue.pairs)) == 0


class _FirstPlan(NamedTuple):
    """What :func:`_first_letters` worked out for every pair at once, by pair number."""

    gross: list[int]  # the sum of the overdue balances, in cents
    letter_level: list[int]  # the level of the letter now (-1: no item ripe yet)
    first_due: np.ndarray  # days since 1970 when the first level falls due
    recorded: list[tuple[str, str]]  # (key, stage) of every ripe item, pair by pair
    recorded_bounds: list[int]  # pair n's are recorded[bounds[n]:bounds[n + 1]]
    then_level: list[int]  # the level ripe again once the letter is sent (-1: none)
    has_wait: list[bool]  # whether some item waits for a later level after the letter
    wait_day: list[int]  # the earliest such wait, in days since 1970
    wait_level: list[int]  # its level (the higher one when two fall on one day)


def _first_letter_plan(
    context: _Context, overdue: _Overdue, pair_of: np.ndarray, balances: np.ndarray
) -> _FirstPlan:
    """The letter now and what follows it, for every pair, by whole-column operations."""
    levels, settings, _as_of, _index_of = context
    starts = overdue.bounds[:-1]
    reached = np.array(overdue.reached, dtype=np.int64)
    dues = overdue.due_days
    due_days = np.where(np.isnat(dues), 0, dues.astype(np.int64))
    from_days = np.array([level.from_days for level in levels], dtype=np.int64)
    # The letter now: each ripe item to its next level (the first, or its level by days).
    ripe = reached >= 0
    step = np.maximum(reached, 0) if settings.allow_skip else np.zeros_like(reached)
    ripe_at = np.flatnonzero(ripe)
    stage_of = [level.stage for level in levels]
    recorded = list(
        zip(
            [overdue.keys[i] for i in ripe_at.tolist()],
            [stage_of[s] for s in step[ripe_at].tolist()],
            strict=True,
        )
    )
    recorded_bounds = np.concatenate(
        ([0], np.cumsum(np.bincount(pair_of[ripe_at], minlength=len(overdue.pairs))))
    ).tolist()
    then_level, has_wait, wait_day, wait_level = _waits_after_first_letters(
        context, starts, reached, step, due_days, from_days
    )
    return _FirstPlan(
        gross=np.add.reduceat(balances, starts).tolist(),
        letter_level=np.maximum.reduceat(np.where(ripe, step, -1), starts).tolist(),
        first_due=np.minimum.reduceat(due_days, starts) + from_days[0],
        recorded=recorded,
        recorded_bounds=recorded_bounds,
        then_level=then_level,
        has_wait=has_wait,
        wait_day=wait_day,
        wait_level=wait_level,
    )


def _waits_after_first_letters(
    context: _Context,
    starts: np.ndarray,
    reached: np.ndarray,
    step: np.ndarray,
    due_days: np.ndarray,
    from_days: np.ndarray,
) -> tuple[list[int], list[bool], list[int], list[int]]:
    """Per pair, once its first letter is sent: the level ripe again (-1: none), and
    whether some item waits, the earliest day it waits for and that wait's level.

    ``step`` is the level the letter takes each ripe item to (``reached`` >= 0),
    ``due_days`` the items' due dates and ``from_days`` the levels' days, in days."""
    levels, settings, as_of, _index_of = context
    top = len(levels) - 1
    ripe = reached >= 0
    # The items the letter took up go one level up (after the repeat interval at the
    # top), the others still wait for the first level.
    after = step + 1
    climbs = ripe & (after <= top)
    later = np.where(climbs, after, 0)
    again = climbs & (after <= reached)  # ripe once more (waits for the interval)
    waiting = np.where(ripe, climbs & ~again, True)
    when = np.where(waiting, due_days + from_days[np.minimum(later, top)], 0)
    if settings.repeat_interval_days:
        repeats = ripe & ~climbs
        waiting |= repeats
        when = np.where(repeats, (as_of - _EPOCH).days + settings.repeat_interval_days, when)
        later = np.where(repeats, step, later)
    then_level = np.maximum.reduceat(np.where(again, after, -1), starts).tolist()
    # The earliest wait, the higher level first on one day: one number per item to minimise.
    span = top + 1
    order_key = np.where(waiting, when * span + (top - later), np.iinfo(np.int64).max)
    earliest = np.minimum.reduceat(order_key, starts)
    return (
        then_level,
        (earliest != np.iinfo(np.int64).max).tolist(),
        (earliest // span).tolist(),
        (top - earliest % span).tolist(),
    )


def _first_decision(
    context: _Context,
    plan: _FirstPlan,
    number: int,
    fact: _Facts,
    reach: tuple[bool, bool],
) -> Decision:
    """The decision of pair ``number`` (no history, no block) from ``plan``."""
    levels, settings, as_of, _index_of = context
    name, code, _items, credit, _block = fact
    gross = plan.gross[number]
    credit = credit if settings.net_credits else 0
    net = max(0, gross - credit)
    base = dict(
        customer=name, currency=code, gross_cents=gross, credits_cents=credit, net_cents=net
    )
    if net <= settings.minimum(code):
        return _new_decision(action=BELOW_MINIMUM, **base)
    if plan.letter_level[number] < 0:
        due = _EPOCH + timedelta(days=int(plan.first_due[number]))
        return _new_decision(action=WAIT, level=levels[0], due=due, **base)
    level = levels[plan.letter_level[number]]
    if not can_write(level.template, *reach, settings):
        return _new_decision(action=UNREACHABLE, level=level, due=as_of, **base)
    items = tuple(plan.recorded[plan.recorded_bounds[number] : plan.recorded_bounds[number + 1]])
    letter = _new_letter(
        reference="",
        date=as_of,
        customer=name,
        currency=code,
        level=level.stage,
        items=items,
        template=level.template,
    )
    return _new_decision(
        action=SEND,
        level=level,
        due=as_of,
        items=items,
        letter=letter,
        then=_after_first_letter(context, plan, number, letter, base),
        **base,
    )


def _after_first_letter(
    context: _Context, plan: _FirstPlan, number: int, letter: SentLetter, base: dict
) -> Decision:
    """What follows once pair ``number``'s first ``letter`` is sent: the level ripe again
    (after the minimum interval), else the earliest wait, else nothing more."""
    levels, settings, as_of, _index_of = context
    interval = timedelta(days=settings.min_interval_days)
    if plan.then_level[number] >= 0:
        return _new_decision(
            action=WAIT,
            level=levels[plan.then_level[number]],
            due=as_of + interval,
            previous=letter,
            last=letter,
            **base,
        )
    if plan.has_wait[number]:
        due = max(_EPOCH + timedelta(days=plan.wait_day[number]), as_of + interval)
        return _new_decision(
            action=WAIT,
            level=levels[plan.wait_level[number]],
            due=due,
            previous=letter,
            last=letter,
            **base,
        )
    return _new_decision(action=DONE, previous=letter, last=letter, **base)


def _credits(frame: pd.DataFrame, rules: Rules) -> dict[tuple[str, str], int]:
    """Credits (negative balances, as positive cents) per (customer, currency)."""
    credits: dict[tuple[str, str], int] = {}
    credit_rows = frame.loc[
        (frame[F.STAGE] == "credit").to_numpy(dtype=bool), ["customer", "currency", F.BALANCE]
    ]
    for name, code, balance in zip(
        credit_rows["customer"].tolist(),
        credit_rows["currency"].fillna(rules.default_currency).astype(object).tolist(),
        credit_rows[F.BALANCE].to_numpy(dtype=np.int64).tolist(),
        strict=True,
    ):
        credits[(name, code)] = credits.get((name, code), 0) - balance
    return credits


_UNSENT = (-1, None)  # the coverage of an item no letter named


def _coverage(entries: Sequence[_Sent], index_of: Mapping[str, int]):
    """Per item key (normalised): the highest level sent for it and the latest date at
    that level; and the letters that name no items (older logs)."""
    found: dict[str, tuple[int, date]] = {}
    unnamed = []
    for entry in entries:
        if entry.names is None:
            unnamed.append(entry.letter)
            continue
        for name, stage in entry.names:
            level = index_of.get(stage, -1)
            if level >= found.get(name, _UNSENT)[0]:
                found[name] = (level, entry.letter.date)
    return found, unnamed


class _Context(NamedTuple):
    """What every decision of a run shares."""

    levels: tuple[Level, ...]
    settings: DunningSettings
    as_of: date
    index_of: Mapping[str, int]  # level index by stage key


class _Facts(NamedTuple):
    """One customer and currency: its overdue items, credits and block."""

    customer: str
    currency: str
    items: list[_Item]
    credits: int
    block: Block | None


def _steps(context: _Context, items: Sequence[_Item], entries: Sequence[_Sent]):
    """Per item, its next level: (item, level index) pairs due now (ripe), and
    (date, level index) pairs due later (upcoming)."""
    levels, settings, as_of, index_of = context
    top = levels[-1].index
    found, unnamed = _coverage(entries, index_of) if entries else ({}, [])
    ripe: list[tuple[_Item, int]] = []
    upcoming: list[tuple[date, int]] = []
    for item in items:
        by_days = item.by_days
        sent_level, sent_on = found.get(item.name, _UNSENT) if found else _UNSENT
        for letter in unnamed:
            # An older log without invoices: the letter covered what was overdue then.
            if item.due is not None and item.due < letter.date:
                level = index_of.get(letter.level, -1)
                if level >= sent_level:
                    sent_level, sent_on = level, letter.date
        step = sent_level + 1
        if settings.allow_skip:
            step = max(step, by_days)
        if step <= top:
            if step <= by_days:
                ripe.append((item, step))
            else:
                upcoming.append((item.due + timedelta(days=levels[step].from_days), step))
        elif settings.repeat_interval_days and sent_on is not None:
            again = sent_on + timedelta(days=settings.repeat_interval_days)
            if again <= as_of:
                ripe.append((item, sent_level))
            else:
                upcoming.append((again, sent_level))
    return ripe, upcoming


def _decide_one(
    context: _Context,
    facts: _Facts,
    entries: Sequence[_Sent],
    reachable: tuple[bool, bool],
    follow: bool = True,
) -> Decision:
    """One customer and currency's decision (``entries``: its history, oldest first);
    with ``follow``, a letter sent now carries the decision that follows it
    (:attr:`Decision.then`)."""
    levels, settings, as_of, _index_of = context
    gross = sum(item.balance for item in facts.items)
    credits = facts.credits if settings.net_credits else 0
    last = entries[-1].letter if entries else None
    base = dict(
        customer=facts.customer,
        currency=facts.currency,
        last=last,
        gross_cents=gross,
        credits_cents=credits,
        net_cents=max(0, gross - credits),
        previous=_previous(entries, facts.items) if entries else None,
    )
    if facts.block is not None:
        return Decision(action=BLOCKED, block=facts.block, **base)
    if base["net_cents"] <= settings.minimum(facts.currency):
        return Decision(action=BELOW_MINIMUM, **base)
    ripe, upcoming = _steps(context, facts.items, entries)
    if not ripe:
        if not upcoming:
            return Decision(action=DONE if base["previous"] is not None else NONE, **base)
        when, step = min(upcoming, key=lambda pair: (pair[0], -pair[1]))
        if last is not None:
            when = max(when, last.date + timedelta(days=settings.min_interval_days))
        return Decision(action=WAIT, level=levels[step], due=when, **base)
    level = levels[max(step for _item, step in ripe)]
    if last is not None and (as_of - last.date).days < settings.min_interval_days:
        when = last.date + timedelta(days=settings.min_interval_days)
        return Decision(action=WAIT, level=level, due=when, **base)
    if not can_write(level.template, *reachable, settings):
        return Decision(action=UNREACHABLE, level=level, due=as_of, **base)
    recorded = tuple((item.key, levels[step].stage) for item, step in ripe)
    if not follow:
        return Decision(action=SEND, level=level, due=as_of, items=recorded, **base)
    return _send_and_follow(context, facts, entries, reachable, level, ripe, recorded, base)


def _send_and_follow(
    context: _Context,
    facts: _Facts,
    entries: Sequence[_Sent],
    reachable: tuple[bool, bool],
    level: Level,
    ripe: Sequence[tuple[_Item, int]],
    recorded: tuple[tuple[str, str], ...],
    base: dict,
) -> Decision:
    """:func:`_decide_one`'s decision to send a ``level`` letter taking the ``ripe``
    items up (``recorded``: their keys and stages, as the log names them), with what
    follows once it is sent (:attr:`Decision.then`)."""
    levels, _settings, as_of, _index_of = context
    # The letter as the Letters Log will hold it (its reference is known once written),
    # and what the history decides with it: the same as the next run reading the log.
    letter = SentLetter(
        reference="",
        date=as_of,
        customer=facts.customer,
        currency=facts.currency,
        level=level.stage,
        items=recorded,
        template=level.template,
    )
    sent = _sent(letter, tuple((item.name, levels[step].stage) for item, step in ripe))
    history = sorted([*entries, sent], key=lambda entry: entry.letter.date)
    then = _decide_one(context, facts, history, reachable, follow=False)
    return Decision(
        action=SEND, level=level, due=as_of, items=recorded, letter=letter, then=then, **base
    )


def _previous(entries: Sequence[_Sent], items: Sequence[_Item]) -> SentLetter | None:
    """The most recent letter that covered any of ``items``."""
    for entry in reversed(entries):
        letter = entry.letter
        if entry.keys is None:
            # An older log without invoices: the letter covered what was overdue then.
            if any(item.due is not None and item.due < letter.date for item in items):
                return letter
        elif any(item.name in entry.keys for item in items):
            return letter
    return None


def after_letters(
    decisions: Mapping[tuple[str, str], Decision], written: Iterable[SentLetter]
) -> dict[tuple[str, str], Decision]:
    """The decisions once ``written`` (this run's letters, as the Letters Log reads them
    back) are sent: a customer whose letter went out gets the decision that follows it
    (:attr:`Decision.then`: "reminder sent 2026-10-31; formal demand due 2026-11-14"),
    citing the letter by its reference. A letter that does not count (failed, cancelled)
    or was not written (``--stages``, a missing template) leaves the decision as it was.
    """
    out = dict(decisions)
    keys = {(normalize(name), str(code).upper()): (name, code) for name, code in decisions}
    for letter in written:
        key = keys.get((normalize(letter.customer), letter.currency.upper()))
        decision = out.get(key) if key is not None else None
        if decision is None or decision.then is None or not letter.counts:
            continue
        if decision.level is None or letter.level != decision.level.stage:
            continue

        def named(sent: SentLetter | None, drafted=decision.letter, real=letter):
            return real if sent is drafted else sent

        then = decision.then
        out[key] = replace(then, previous=named(then.previous), last=named(then.last))
    return out


# ---- per-customer facts from the ledger -------------------------------------------------


def _texts(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame:
        return [""] * len(frame)
    return [v.strip() if isinstance(v, str) else "" for v in frame[column].tolist()]


def customer_blocks(
    frame: pd.DataFrame,
    settings: DunningSettings,
    as_of: date,
    keys: Iterable[tuple[str, str]] | None = None,
) -> dict[tuple[str, str], Block]:
    """Active blocks per (customer, currency) of ``keys`` (default: every pair of the
    frame): ``[[dunning.blocks]]``, then a ``Dunning Block`` cell (its text is the reason;
    ``until 2026-12-31`` in it sets the end)."""
    if keys is None:
        keys = dict.fromkeys(
            zip(frame["customer"].tolist(), frame["currency"].fillna("").tolist(), strict=True)
        )
    keys = list(keys)
    found: dict[tuple[str, str], Block] = {}
    for block in settings.blocks:
        if not block.active(as_of):
            continue
        for name, code in keys:
            if normalize(name) == normalize(block.customer) and (
                block.currency is None or block.currency == str(code).upper()
            ):
                found.setdefault((name, code), block)
    if "dunning_block" in frame:
        filled = frame["dunning_block"].notna().to_numpy(dtype=bool)
        cells = frame.loc[filled, ["customer", "currency", "dunning_block"]]
        rows = zip(
            cells["customer"].tolist(),
            cells["currency"].fillna("").tolist(),
            _texts(cells, "dunning_block"),
            strict=True,
        )
        wanted = set(keys)
        for name, code, text in rows:
            if (name, code) not in wanted:
                continue
            if not text or (name, code) in found or normalize(text) in _NO_BLOCK:
                continue
            block = block_from_cell(name, text)
            if block.active(as_of):
                found[(name, code)] = block
    return found


_NO_BLOCK = {"no", "n", "false", "0", "nem", "否", "nein", "non", "-"}
_UNTIL = re.compile(r"\b(?:until|till|hasta|ig|bis|jusqu'au)\s*[:.]?\s*(\S+)\s*$", re.I)


def block_from_cell(customer: str, text: str) -> Block:
    """A block from a ``Dunning Block`` cell: ``yes``, a reason, or ``reason until DATE``."""
    reason, until = text.strip(), None
    match = _UNTIL.search(reason)
    if match:
        until = _as_date(match.group(1).rstrip(".,;)"))
        if until is not None:
            reason = reason[: match.start()].rstrip(" ,;(-")
    if normalize(reason) in ("yes", "y", "x", "1", "true", "sí", "si", "igen", "是", "ja", "oui"):
        reason = "blocked"
    return Block(customer=customer, reason=reason, until=until, where="Dunning Block")


def reachability(frame: pd.DataFrame) -> tuple[set, set]:
    """The customers with a postal address, and those with an email, on any of their rows."""
    found = []
    for column in ("address", "email"):
        values = frame.get(column)
        if values is None or (values.dtype == object and values.isna().all()):
            found.append(set())  # no such column, or one the ledger lacks (all None)
            continue
        text = values.astype("string").str.strip()
        filled = (text.notna() & text.ne("")).fillna(False).to_numpy(dtype=bool)
        # Each customer once (unique() first: a set of every row's name is slower).
        found.append(set(frame["customer"][filled].unique().tolist()))
    return found[0], found[1]


# ---- words for the plan ------------------------------------------------------------------


def _money(cents: int, currency: str) -> str:
    return f"{currency} {Decimal(cents).scaleb(-2):,.2f}"


def next_action(decision: Decision, stage_action: str) -> str:
    """The plan's Next Action under ``decision`` (``stage_action`` is the ladder's)."""
    last = decision.previous or decision.last
    sent = f"{last_name(last)} sent {last.date.isoformat()}" if last else ""
    if decision.action == BLOCKED:
        return f"Dunning blocked: {decision.block.text()}"
    if decision.action == BELOW_MINIMUM:
        net = _money(decision.net_cents, decision.currency)
        credit = (
            f" after {_money(decision.credits_cents, decision.currency)} credits"
            if decision.credits_cents
            else ""
        )
        return f"No letter: net claim {net}{credit} is at or below the minimum"
    if decision.action == SEND:
        text = f"Send {decision.level.name}"
        return f"{text} ({sent})" if sent else text
    if decision.action == UNREACHABLE:
        return (
            f"{decision.level.name.capitalize()} due: add the customer's postal address "
            "(or an email, where the letter may go by email)"
        )
    if decision.action == WAIT:
        due = f"{decision.level.name} due {decision.due.isoformat()}"
        # Before the first letter the ladder's action (a call, an SMS) is what to do now.
        return f"{sent}; {due}" if sent else f"{stage_action}; {due}"
    if decision.action == DONE and sent:
        return f"{sent}; {stage_action}"
    return stage_action


def last_name(letter: SentLetter) -> str:
    """``formal demand`` for a history letter (its template in words)."""
    return (letter.template or letter.level).replace("_", " ")


def action_date(decision: Decision, as_of: date) -> date:
    """The earliest day the plan's action can be done: the next letter's due date."""
    if decision.action == WAIT and decision.due is not None and decision.last is not None:
        return max(decision.due, as_of)
    return as_of


__all__ = [
    "Block", "Decision", "DunningSettings", "Level", "SentLetter", "action_date", "after_letters",
    "can_write", "decide", "format_items", "history_from_rows",
    "item_key", "letter_levels", "next_action", "parse_dunning",
]  # fmt: skip
