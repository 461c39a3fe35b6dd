"""Working days of a country: weekends and public holidays (the ``holidays`` package)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _holidays_for(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=[year]).keys())
    except (NotImplementedError, KeyError):
        # Unknown country code: weekends only (load_rules reports it).
        return frozenset()


def is_working_day(day: date, country: str) -> bool:
    """True when ``day`` is neither a weekend day nor a public holiday in ``country``."""
    return day.weekday() < 5 and day not in _holidays_for(country, day.year)


def next_working_day(day: date, country: str) -> date:
    """Return ``day`` itself when it is a working day, else the next one."""
    while not is_working_day(day, country):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, days: int, country: str) -> date:
    """Return the date ``days`` working days after ``start`` (``start`` itself not counted)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, country):
            remaining -= 1
    return day


def known_country(country: str) -> bool:
    """True when the holidays package knows ``country``."""
    try:
        holidays.country_holidays(country)
    except (NotImplementedError, KeyError):
        return False
    return True
