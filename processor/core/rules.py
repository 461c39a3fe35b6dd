"""Rules as data: the packaged TOML defaults, layered overrides, parsed into typed values.

Like fava's options, parsing never raises on user input: a bad value becomes an
:class:`Issue` and the default stays in force. Layers are plain dicts (from TOML files or
the settings sheet); reading the files is the shells' job.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from .issues import Issue, Severity
from .schema import PACKAGED, Layer, Settings, resolve

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
    settings: Settings | None = field(default=None, repr=False, compare=False)

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

    def origin(self, path: Sequence[str]) -> str:
        """The layer that set the setting at ``path`` (``packaged defaults`` if none did)."""
        return self.settings.origin(path) if self.settings is not None else PACKAGED

    def section(self, name: str) -> Mapping[str, Any]:
        """Return a raw top-level table (e.g. ``plan``, ``letters``), empty when absent."""
        value = self.raw.get(name, {})
        return value if isinstance(value, Mapping) else {}


def default_layer() -> dict[str, Any]:
    """Return the packaged default rules as a dict (a fresh copy each call)."""
    return copy.deepcopy(_packaged())


@lru_cache(maxsize=1)
def _packaged() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("default_rules.toml").read_text("utf-8")
    return tomllib.loads(text)


def parse_toml(text: str, source: str) -> tuple[dict[str, Any], list[Issue]]:
    """Parse TOML text from ``source``; a syntax error becomes an error Issue."""
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        return {}, [Issue(source, f"not valid TOML: {exc}", Severity.ERROR)]


def load_rules(
    *overrides: Mapping[str, Any], sources: Iterable[str] = ()
) -> tuple[Rules, list[Issue]]:
    """Build the effective rules from the defaults plus ``overrides`` (lowest first).

    ``sources`` name the overrides in issues; :func:`load_settings` takes named
    :class:`Layer` values (with the settings sheet's cells) instead.
    """
    names = list(sources)
    layers = [
        Layer(names[i] if i < len(names) else "rules", layer) for i, layer in enumerate(overrides)
    ]
    return load_settings(layers)


def load_settings(layers: Sequence[Layer]) -> tuple[Rules, list[Issue]]:
    """The effective rules of ``layers`` (lowest first) over the packaged defaults.

    Every value is checked by the schema (:mod:`.schema`) first: an unknown or bad one
    is a warning naming its layer and the lower layers' value stays in force, so what
    is built here is always valid.
    """
    settings, issues = resolve(layers)
    raw = settings.values
    general = raw["general"]
    packaged = {item["key"]: item for item in default_layer()["stages"]}
    stages = tuple(
        _stage(spec, index, packaged.get(spec["key"], {}))
        for index, spec in enumerate(raw["stages"])
    )
    buckets = tuple(
        Bucket(
            label=spec.get("label", f"bucket {index}"),
            from_days=spec.get("from_days") if index else None,
        )
        for index, spec in enumerate(raw["buckets"])
    )
    country = general["country"]
    issues.extend(_country_issues(settings, country))
    rules = Rules(
        stages=stages,
        states=_override_states(raw["states"]),
        buckets=buckets,
        labels=dict(raw["labels"]),
        headers={field_name: tuple(names) for field_name, names in raw["headers"].items()},
        default_currency=general["default_currency"],
        default_terms_days=general["default_terms_days"],
        country=country,
        language=general["language"],
        date_order=general["date_order"],
        paid_tolerance=Decimal(raw["states"]["paid"]["tolerance"]),
        raw=raw,
        settings=settings,
    )
    return rules, issues


def _override_states(states: Mapping[str, Any]) -> dict[str, Stage]:
    """The states off the ladder (paid, credit, disputed...), below every rung."""
    found = {}
    for rank, key in enumerate(OVERRIDE_STATES):
        spec = states[key]
        found[key] = Stage(
            key=key,
            label=spec["label"],
            action=spec["action"],
            color=spec["color"],
            ladder=False,
            severity=-1 - rank,
        )
    return found


def _country_issues(settings: Settings, country: str) -> list[Issue]:
    """A warning when the holidays calendar does not know ``general.country``."""
    from .workdays import known_country

    if known_country(country):
        return []
    # Action and reply-by dates then skip weekends only: say so rather than guess.
    return [
        Issue(
            replace(settings.origin_location(("general", "country")), key="general.country"),
            f"general.country '{country}' is not a country code the holidays calendar "
            "knows (use ISO codes like ES, GB, HU, CN); only weekends are skipped",
            Severity.WARNING,
        )
    ]


def _stage(spec: Mapping[str, Any], index: int, packaged: Mapping[str, Any]) -> Stage:
    """A rung of the ladder; a field the layer left out comes from the packaged stage of the
    same key, else is empty."""

    def pick(name: str, empty: Any) -> Any:
        return spec.get(name, packaged.get(name, empty))

    key = spec["key"]
    return Stage(
        key=key,
        label=pick("label", key),
        action=pick("action", ""),
        color=pick("color", "FFFFFF"),
        from_days=spec.get("from_days") if index else None,
        letter=pick("letter", ""),
        credit_hold=pick("credit_hold", False),
        severity=index,
    )


def decode_rules_text(data: bytes) -> tuple[str, str]:
    """The text of a rules file saved by any Notepad: UTF-8 (with or without the BOM
    Notepad writes), UTF-16 ("Unicode", with its BOM, or without one), else the Windows
    "ANSI" code page 1252. Returns ``(text, encoding name)``."""
    boms = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
    for bom, encoding in boms:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    if len(data) >= 2 and data.count(b"\x00") * 3 >= len(data):
        # ASCII text as UTF-16 without a BOM: every other byte is zero.
        encoding = "utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # The five bytes cp1252 leaves undefined: Latin-1 reads every byte.
        return data.decode("latin-1"), "latin-1"
