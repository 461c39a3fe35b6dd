"""Rules as data: the packaged TOML defaults, layered overrides, parsed into typed values.

Like fava's options, parsing never raises on user input: a bad value becomes an
:class:`Issue` and the default stays in force. Layers are plain dicts (from TOML files or
the settings sheet); reading the files is the shells' job.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from .issues import Issue, Severity

OVERRIDE_STATES = ("paid", "credit", "disputed", "promised")


@dataclass(frozen=True)
class Stage:
    """One rung of the collection ladder (or an overriding state, with ``ladder=False``)."""

    key: str
    label: str
    action: str
    color: str
    from_days: int | None = None
    letter: str = ""
    credit_hold: bool = False
    ladder: bool = True
    severity: int = 0


@dataclass(frozen=True)
class Bucket:
    """An aging bucket: rows with ``from_days <= days overdue`` up to the next bucket."""

    label: str
    from_days: int | None = None


@dataclass(frozen=True)
class Rules:
    """The effective rules. ``raw`` keeps the merged mapping for sections parsed elsewhere."""

    stages: tuple[Stage, ...]
    states: Mapping[str, Stage]
    buckets: tuple[Bucket, ...]
    labels: Mapping[str, str]
    headers: Mapping[str, tuple[str, ...]]
    default_currency: str = "EUR"
    default_terms_days: int = 30
    country: str = "ES"
    language: str = "en"
    date_order: str = "auto"
    paid_tolerance: Decimal = Decimal("0.005")
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def stage(self, key: str) -> Stage:
        """Return the ladder stage or state with ``key``."""
        for stage in self.stages:
            if stage.key == key:
                return stage
        return self.states[key]

    @property
    def all_stages(self) -> tuple[Stage, ...]:
        """Ladder stages then overriding states, in display order."""
        return self.stages + tuple(self.states.values())

    def section(self, name: str) -> Mapping[str, Any]:
        """Return a raw top-level table (e.g. ``plan``, ``letters``), empty when absent."""
        value = self.raw.get(name, {})
        return value if isinstance(value, Mapping) else {}


def default_layer() -> dict[str, Any]:
    """Return the packaged default rules as a dict."""
    text = resources.files(__package__).joinpath("default_rules.toml").read_text("utf-8")
    return tomllib.loads(text)


def parse_toml(text: str, source: str) -> tuple[dict[str, Any], list[Issue]]:
    """Parse TOML text from ``source``; a syntax error becomes an error Issue."""
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        return {}, [Issue(source, f"not valid TOML: {exc}", Severity.ERROR)]


def merge_layers(layers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge rule layers: later tables merge key by key into earlier, lists replace."""
    merged: dict[str, Any] = {}
    for layer in layers:
        _merge_into(merged, layer)
    return merged


def _merge_into(target: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(dict(value)) if isinstance(value, Mapping) else value


def load_rules(
    *overrides: Mapping[str, Any], sources: Iterable[str] = ()
) -> tuple[Rules, list[Issue]]:
    """Build the effective rules from the defaults plus ``overrides`` (lowest first)."""
    raw = merge_layers([default_layer(), *overrides])
    where = " + ".join(sources) or "rules"
    issues: list[Issue] = []
    general = raw.get("general", {})

    def warn(message: str) -> None:
        issues.append(Issue(where, message, Severity.ERROR))

    stages = _parse_ladder(raw.get("stages", []), warn)
    if not stages:
        defaults = load_rules()[0] if overrides else None
        if defaults is None:
            raise RuntimeError("packaged default_rules.toml has no valid ladder")
        stages = defaults.stages
        warn("the ladder is empty or invalid; the default ladder is used")
    states = {}
    raw_states = raw.get("states", {})
    for rank, key in enumerate(OVERRIDE_STATES):
        spec = raw_states.get(key, {}) if isinstance(raw_states, Mapping) else {}
        states[key] = Stage(
            key=key,
            label=str(spec.get("label", key.title())),
            action=str(spec.get("action", "")),
            color=_color(spec.get("color", "FFFFFF"), warn),
            ladder=False,
            severity=-1 - rank,
        )
    buckets = _parse_buckets(raw.get("buckets", []), warn)
    labels = {str(k): str(v) for k, v in raw.get("labels", {}).items()}
    headers: dict[str, tuple[str, ...]] = {}
    for field_name, names in raw.get("headers", {}).items():
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            warn(f"headers.{field_name} must be a list of header names")
            continue
        headers[str(field_name)] = tuple(names)
    tolerance = Decimal("0.005")
    try:
        tolerance = Decimal(str(raw_states.get("paid", {}).get("tolerance", "0.005")))
    except (InvalidOperation, AttributeError):
        warn("states.paid.tolerance is not a number")
    terms = general.get("default_terms_days", 30)
    if not isinstance(terms, int) or isinstance(terms, bool):
        warn("general.default_terms_days must be a whole number of days")
        terms = 30
    country = str(general.get("country", "ES")).upper()
    from .workdays import known_country

    if not known_country(country):
        # Action and reply-by dates then skip weekends only: say so rather than guess.
        warn(f"general.country '{country}' is not a country code the holidays calendar "
             "knows (use ISO codes like ES, GB, HU, CN); only weekends are skipped")
    date_order = str(general.get("date_order", "auto")).lower()
    if date_order not in ("auto", "dmy", "mdy"):
        warn("general.date_order must be auto, dmy or mdy")
        date_order = "auto"
    rules = Rules(
        stages=stages,
        states=states,
        buckets=buckets,
        labels=labels,
        headers=headers,
        default_currency=str(general.get("default_currency", "EUR")).upper(),
        default_terms_days=terms,
        country=country,
        language=str(general.get("language", "en")).lower(),
        date_order=date_order,
        paid_tolerance=tolerance,
        raw=raw,
    )
    return rules, issues


def _color(value: Any, warn) -> str:
    text = str(value).lstrip("#").upper()
    if len(text) != 6 or any(ch not in "0123456789ABCDEF" for ch in text):
        warn(f"colour {value!r} is not a hex RGB colour like 'FFE699'")
        return "FFFFFF"
    return text


def _parse_ladder(specs: Any, warn) -> tuple[Stage, ...]:
    if not isinstance(specs, list):
        warn("stages must be a list of [[stages]] tables")
        return ()
    stages: list[Stage] = []
    previous_from: int | None = None
    for index, spec in enumerate(specs):
        if not isinstance(spec, Mapping) or "key" not in spec:
            warn(f"stages[{index}] needs at least a key")
            return ()
        from_days = spec.get("from_days")
        if index == 0:
            from_days = None
        elif not isinstance(from_days, int) or isinstance(from_days, bool):
            warn(f"stage {spec['key']!r} needs a whole-number from_days")
            return ()
        elif previous_from is not None and from_days <= previous_from:
            warn(f"stage {spec['key']!r}: from_days must rise along the ladder")
            return ()
        previous_from = from_days if from_days is not None else previous_from
        key = str(spec["key"])
        if key in OVERRIDE_STATES:
            warn(f"stage key {key!r} is reserved for an overriding state")
            return ()
        stages.append(
            Stage(
                key=key,
                label=str(spec.get("label", key)),
                action=str(spec.get("action", "")),
                color=_color(spec.get("color", "FFFFFF"), warn),
                from_days=from_days,
                letter=str(spec.get("letter", "")),
                credit_hold=bool(spec.get("credit_hold", False)),
                severity=index,
            )
        )
    return tuple(stages)


def _parse_buckets(specs: Any, warn) -> tuple[Bucket, ...]:
    buckets: list[Bucket] = []
    previous: int | None = None
    ok = isinstance(specs, list) and bool(specs)
    for index, spec in enumerate(specs if ok else []):
        from_days = None if index == 0 else spec.get("from_days")
        if index and (
            not isinstance(from_days, int) or (previous is not None and from_days <= previous)
        ):
            ok = False
            break
        previous = from_days if from_days is not None else previous
        buckets.append(Bucket(label=str(spec.get("label", f"bucket {index}")), from_days=from_days))
    if not ok:
        warn("buckets must be a list of [[buckets]] with rising from_days; defaults used")
        return tuple(
            Bucket(label=b["label"], from_days=b.get("from_days"))
            for b in default_layer()["buckets"]
        )
    return tuple(buckets)
