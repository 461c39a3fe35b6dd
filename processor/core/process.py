"""The whole pure pipeline for one sheet: ledger -> stages -> plan -> output models.

Like beancount's loader, each step collects issues instead of stopping; only the shells
decide whether an error-severity issue ends the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import pandas as pd

from . import frame as F
from .classify import classify, customer_summary, stage_counts, totals_by_currency
from .dunning import Decision, SentLetter, after_letters, decide, parse_dunning
from .grid import SheetGrid
from .headers import HeaderMatcher
from .issues import Issue, Location, Severity
from .ledger import Ledger, TableLocation, build_ledger, locate_table, missing_required
from .outputs import (
    aging_model,
    calendar_model,
    calendar_tasks,
    decided_actions,
    exceptions_model,
    plan_model,
    stage_columns,
)
from .plan import PlanSettings, build_plan, follow_decisions, plan_settings
from .quality import future_dated, quality_issues
from .rules import Rules
from .sheets import SheetModel, StageColumns


@dataclass(frozen=True)
class SheetChoice:
    """The receivables table chosen in a workbook, or why none was."""

    sheet: str | None
    location: TableLocation | None
    candidates: tuple[tuple[str, float], ...]  # (sheet, score) of every sheet looked at
    # Other sheets whose header matched exactly as well as the chosen one's: ignored.
    ties: tuple[str, ...] = ()

    def tie_issues(self) -> list[Issue]:
        """A warning naming the sheet used and those ignored, when several fit equally."""
        if not self.ties or self.sheet is None:
            return []
        others = ", ".join(f"'{name}'" for name in self.ties)
        return [
            Issue(
                Location(sheet=self.sheet),
                f"the sheets '{self.sheet}' and {others} look equally like the "
                f"receivables ledger; '{self.sheet}' (the first) was used and {others} "
                "ignored. Name the ledger with --sheet to choose "
                "another",
                Severity.WARNING,
            )
        ]


def header_matcher(rules: Rules) -> HeaderMatcher:
    """The header recogniser with the rules' overrides."""
    return HeaderMatcher(rules.headers)


def choose_sheet(
    previews: Sequence[SheetGrid], rules: Rules, matcher: HeaderMatcher
) -> SheetChoice:
    """Pick the sheet whose header best matches the canonical fields (required ones first)."""
    best: tuple[tuple[int, float], str, TableLocation] | None = None
    candidates = []
    keys: list[tuple[tuple[int, float], str]] = []
    for grid in previews:
        location = locate_table(grid, matcher, rules)
        if location is None:
            candidates.append((grid.name, 0.0))
            continue
        candidates.append((grid.name, location.score))
        complete = 0 if missing_required(location.columns) else 1
        key = (complete, location.score)
        keys.append((key, grid.name))
        if best is None or key > best[0]:
            best = (key, grid.name, location)
    if best is None:
        return SheetChoice(None, None, tuple(candidates))
    ties = tuple(name for key, name in keys if key == best[0] and name != best[1])
    return SheetChoice(best[1], best[2], tuple(candidates), ties)


@dataclass(frozen=True)
class Outcome:
    """Everything the shells write or report for one receivables sheet."""

    ledger: Ledger
    classified: pd.DataFrame
    customers: pd.DataFrame
    plan: pd.DataFrame
    issues: tuple[Issue, ...]
    stage_columns: StageColumns
    models: tuple[SheetModel, ...]
    stages: dict[str, int]  # rows per stage key
    decisions: Mapping = field(default_factory=dict)  # dunning, per (customer, currency)

    def totals(self) -> tuple[dict[str, int], dict[str, int]]:
        """(outstanding, overdue) cents per currency."""
        outstanding = totals_by_currency(self.classified)
        overdue = totals_by_currency(self.classified, self.classified[F.COUNTS_OVERDUE])
        return outstanding, overdue


def analyse(
    grid: SheetGrid,
    location: TableLocation,
    rules: Rules,
    as_of: date,
    matcher: HeaderMatcher,
    *,
    with_plan: bool = True,
    rule_issues: Sequence[Issue] = (),
    company: str = "",
    history: Sequence[SentLetter] = (),
) -> Outcome:
    """Run the pure pipeline on the table at ``location`` of ``grid``.

    ``history`` is the dunning history (Letters Log rows read back): the plan's Next
    Action and Action Date follow the same dunning decision as the letters.
    """
    ledger = build_ledger(grid, rules, location, matcher)
    # A 500k-row grid is the largest thing in memory (~0.5 GB of cell values): the rest
    # of the pipeline reads the ledger only. (A caller holding the grid keeps it.)
    del grid
    return analyse_ledger(
        ledger,
        rules,
        as_of,
        with_plan=with_plan,
        rule_issues=rule_issues,
        company=company,
        history=history,
    )


def analyse_ledger(
    ledger: Ledger,
    rules: Rules,
    as_of: date,
    *,
    with_plan: bool = True,
    rule_issues: Sequence[Issue] = (),
    company: str = "",
    history: Sequence[SentLetter] = (),
) -> Outcome:
    """Run the pure pipeline on a ledger built by :func:`build_ledger` (see :func:`analyse`)."""
    sheet, location = ledger.sheet, ledger.location
    classified = classify(ledger.frame, rules, as_of, sheet=sheet)
    frame = classified.frame
    customers = customer_summary(frame, rules)
    settings, settings_issues = plan_settings(rules)
    issues: list[Issue] = [*rule_issues, *settings_issues, *ledger.issues, *classified.issues]
    issues += _rows_and_columns_left(ledger, sheet, location.header_row, issues)
    decisions, plan, plan_issues = _plan(frame, customers, rules, as_of, settings, history)
    issues += plan_issues
    columns_of = dict(location.columns)
    issues += quality_issues(frame, customers, rules, sheet, columns_of, decisions=decisions)
    issues += future_dated(frame, as_of, sheet, columns_of)
    columns = stage_columns(ledger, frame, rules, decided_actions(plan, decisions))
    models = _models(plan, frame, rules, as_of, settings, company, issues, with_plan, decisions)
    return Outcome(
        ledger=ledger,
        classified=frame,
        customers=customers,
        plan=plan,
        issues=tuple(issues),
        stage_columns=columns,
        models=tuple(models),
        stages=stage_counts(frame, rules),
        decisions=decisions,
    )


def _rows_and_columns_left(
    ledger: Ledger, sheet: str, header_row: int, issues: Sequence[Issue]
) -> list[Issue]:
    """Notes of the rows skipped and the columns not read, for the Exceptions sheet.

    A skipped row already reported at one of its cells (``issues``: "row skipped: no
    customer" at the customer cell) is not reported again as a whole row.
    """
    reported_rows = {issue.where.whole_row() for issue in issues}
    notes = []
    for skipped in ledger.skipped:
        where = Location.cell(sheet, skipped.row)
        if where not in reported_rows:
            notes.append(Issue(where, f"row skipped: {skipped.reason}", Severity.INFO))
    for column, header in ledger.unmapped:
        notes.append(
            Issue(
                Location.cell(sheet, header_row, column),
                f"column '{header}' is not a known field; kept as it is",
                Severity.INFO,
            )
        )
    return notes


def _plan(
    frame: pd.DataFrame,
    customers: pd.DataFrame,
    rules: Rules,
    as_of: date,
    settings: PlanSettings,
    history: Sequence[SentLetter],
) -> tuple[dict[tuple[str, str], Decision], pd.DataFrame, list[Issue]]:
    """The dunning decisions (settings and history) and the collection plan that follows
    them, with the issues of both."""
    dunning, issues = parse_dunning(rules)
    decisions = decide(frame, rules, as_of, history, dunning)
    plan, plan_issues = build_plan(frame, rules, as_of, settings, customers, decisions=decisions)
    return decisions, plan, [*issues, *plan_issues]


def _models(
    plan: pd.DataFrame,
    frame: pd.DataFrame,
    rules: Rules,
    as_of: date,
    settings: PlanSettings,
    company: str,
    issues: list[Issue],
    with_plan: bool,
    decisions: Mapping | None = None,
) -> list[SheetModel]:
    """The output sheets: plan, aging and calendar (``with_plan``), then Exceptions.

    The calendar's template problems are added to ``issues`` before Exceptions lists them.
    """
    models: list[SheetModel] = []
    if with_plan:
        tasks = calendar_tasks(plan, frame, rules, as_of, settings, company, issues, decisions)
        models = [
            plan_model(plan, rules, as_of),
            aging_model(frame, rules, settings, as_of),
            calendar_model(tasks, rules, as_of),
        ]
    models.append(exceptions_model(issues, rules, as_of))
    return models


def follow_letters(
    outcome: Outcome,
    written: Sequence[SentLetter],
    rules: Rules,
    as_of: date,
    company: str = "",
) -> Outcome:
    """``outcome`` once this run's letters (``written``, as the Letters Log reads them
    back) are sent: the decisions that sent them move on to what follows
    (:func:`receivables.core.dunning.after_letters`, decided with them, not again), and
    the plan's Next Action and Action Date and the Action Calendar say so, as a run that
    reads this Letters Log would. Issues stay as the analysis found them.
    """
    decisions = after_letters(outcome.decisions, written)
    if all(decisions[key] is decision for key, decision in outcome.decisions.items()):
        return outcome  # no letter went out
    settings, _settings_issues = plan_settings(rules)
    # Only the Next Action and Action Date of a plan row follow the decisions.
    plan = follow_decisions(outcome.plan, rules, as_of, settings, decisions)
    models = []
    for model in outcome.models:
        if model.table_name == "CollectionPlan":
            model = plan_model(plan, rules, as_of)
        elif model.table_name == "ActionCalendar":
            # A message template that fails was reported by the analysis already.
            tasks = calendar_tasks(
                plan, outcome.classified, rules, as_of, settings, company, None, decisions
            )
            model = calendar_model(tasks, rules, as_of)
        models.append(model)
    # The rows' Next Action follows the same decisions as the plan's.
    columns = stage_columns(
        outcome.ledger, outcome.classified, rules, decided_actions(plan, decisions)
    )
    return replace(
        outcome, plan=plan, models=tuple(models), decisions=decisions, stage_columns=columns
    )
