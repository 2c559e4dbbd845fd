"""Eligibility screening: which cases may be offered for a call, from when, and what the caller confirms.

Pure: a questionnaire's `eligibility` rules and `fieldwork` window, plus a case's sample fields, give a
`Screening`. The sample import applies it once to every new case; the screening screen applies it again
before dialling, with the caller's checks.

Choices, and why:

- Age is age on the day of the call. The 16th birthday itself is eligible.
- A 29 February birthday falls on 1 March in a year without 29 February (so someone born on 29 February
  2084 turns 16 on 1 March 2100, 2100 not being a leap year). 1 March is the reading commonly taken in
  the UK, and it is the safe side for an exclusion rule: 28 February would make a child eligible a day
  early.
- Age and the fieldwork window combine: a victim still under 16 on the window's last day can never be
  called inside it and is excluded at once; one who turns 16 inside the window becomes available on their
  16th birthday. A case is only offered inside its window.
- Flag rules (opted out, vulnerable, no further action requested, not co-operating) exclude only where the
  survey lists the reason with `automatic: true`. A flag that is not set decides nothing against a
  `confirm:` prompt: the caller still checks the case notes before dialling.
- An unknown date of birth cannot decide the age rule: where that rule is automatic it becomes a caller
  check, "Is the victim aged 16 or over?", whose *yes* keeps the case (the survey's own `confirm:` prompts
  are phrased the other way round: *yes* excludes). `CallerCheck.excludes_on_yes` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Protocol

from app.domain.questionnaire import ExclusionReason, Questionnaire

#: Victims are surveyed from this age (on the day of the call).
MINIMUM_AGE = 16

#: Who made an automatic decision (ScreeningDecision.decided_by); staff decisions say "staff".
AUTOMATIC = "automatic"

#: The caller check asked when the age rule is automatic but the date of birth is unknown.
AGE_CHECK_QUESTION = "Is the victim aged 16 or over?"


class RiskLevel(StrEnum):
    """The perceived risk level in the extract, where crime records give one."""

    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"


class Availability(StrEnum):
    """Where a case stands on a given day."""

    #: An automatic rule excludes it: close it as not eligible (4.10).
    EXCLUDED = "excluded"
    #: Eligible, but not yet: the window has not opened, or the victim is not yet 16.
    WAITING = "waiting"
    #: May be offered for a call today.
    OPEN = "open"
    #: The window has closed.
    OVER = "over"


@dataclass(frozen=True)
class SampleFields:
    """The fields of a case that screening reads (from the extract; never edited by the caller)."""

    report_date: date
    date_of_birth: date | None = None
    opted_out: bool = False
    vulnerable: bool = False
    nfa_requested: bool = False
    not_cooperating: bool = False
    risk_level: RiskLevel | None = None


class CaseFields(Protocol):
    """What screening reads from a case: `SampleFields`, or any record with these attributes."""

    @property
    def report_date(self) -> date: ...
    @property
    def date_of_birth(self) -> date | None: ...
    @property
    def opted_out(self) -> bool: ...
    @property
    def vulnerable(self) -> bool: ...
    @property
    def nfa_requested(self) -> bool: ...
    @property
    def not_cooperating(self) -> bool: ...


@dataclass(frozen=True)
class Decision:
    """One automatic rule applied to one case.

    The sentences are built when read (`explanation` for the screen, `note` for the record), since an
    import screens many thousands of cases and shows none of them.
    """

    reason: ExclusionReason
    excluded: bool
    decided_by: str = AUTOMATIC
    #: The age rule's facts: date of birth, day of the screening, last day of the window.
    date_of_birth: date | None = None
    on: date | None = None
    last_day: date | None = None

    @property
    def explanation(self) -> str:
        """The sentence the screening screen shows; for the age rule it quotes the date of birth."""
        if self.date_of_birth is None or self.on is None or self.last_day is None:
            return _FLAG_SENTENCES[self.reason][0 if self.excluded else 1]
        born = uk_date(self.date_of_birth)
        sixteenth = birthday_at_age(self.date_of_birth, MINIMUM_AGE)
        if sixteenth > self.last_day:
            return f"Under {MINIMUM_AGE} on {uk_date(self.last_day)}, the last day of fieldwork (born {born})"
        if sixteenth > self.on:
            return f"Turns {MINIMUM_AGE} on {uk_date(sixteenth)}, inside the fieldwork window (born {born})"
        return f"Aged {age_on(self.date_of_birth, self.on)} on {uk_date(self.on)} (born {born})"

    @property
    def note(self) -> str:
        """The sentence kept with the decision (ScreeningDecision.note): no personal data in it."""
        if self.date_of_birth is None or self.on is None or self.last_day is None:
            return self.explanation
        sixteenth = birthday_at_age(self.date_of_birth, MINIMUM_AGE)
        if sixteenth > self.last_day:
            return f"Under {MINIMUM_AGE} on {uk_date(self.last_day)}, the last day of fieldwork"
        if sixteenth > self.on:
            return f"Turns {MINIMUM_AGE} inside the fieldwork window: offered from the 16th birthday"
        return f"Aged {MINIMUM_AGE} or over on {uk_date(self.on)}"


@dataclass(frozen=True)
class CallerCheck:
    """A question the caller answers from the case notes before the number is shown."""

    reason: ExclusionReason
    question: str
    #: True for the survey's `confirm:` prompts ("Do the case notes say ...?"); False for the age check.
    excludes_on_yes: bool = True

    def excludes(self, answered_yes: bool) -> bool:
        return answered_yes == self.excludes_on_yes


@dataclass(frozen=True)
class Screening:
    """The outcome of screening one case on one day."""

    on: date
    #: First and last day of the fieldwork window, both included.
    window: tuple[date, date]
    #: Every automatic rule that could be decided, excluding or not, in the survey's rule order.
    decisions: tuple[Decision, ...]
    #: What the caller still confirms before dialling (none once an automatic rule has excluded the case).
    caller_checks: tuple[CallerCheck, ...]
    #: The first day the case may be offered (window opening or 16th birthday); None when excluded.
    available_from: date | None
    availability: Availability

    @property
    def excluded(self) -> bool:
        return any(d.excluded for d in self.decisions)

    @property
    def exclusions(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.excluded)

    @property
    def exclusion_reason(self) -> ExclusionReason | None:
        """The reason a case is closed with: the first excluding rule in the survey's order."""
        return next((d.reason for d in self.decisions if d.excluded), None)


# ---------------------------------------------------------------- dates and ages


def uk_date(day: date) -> str:
    """25/11/2026: how dates are written for people in the bureau."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def birthday_in(date_of_birth: date, year: int) -> date:
    """The birthday in `year`; 29 February becomes 1 March in a year without it."""
    try:
        return date_of_birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def age_on(date_of_birth: date, on: date) -> int:
    """Age in whole years on a day (0 before the first birthday; negative before birth is an error)."""
    if on < date_of_birth:
        raise ValueError(f"{on.isoformat()} is before the date of birth {date_of_birth.isoformat()}")
    years = on.year - date_of_birth.year
    return years - 1 if on < birthday_in(date_of_birth, on.year) else years


def birthday_at_age(date_of_birth: date, age: int) -> date:
    """The day someone reaches `age`."""
    return birthday_in(date_of_birth, date_of_birth.year + age)


def offer_window(questionnaire: Questionnaire, report_date: date) -> tuple[date, date]:
    """First and last day (both included) on which a case reported on `report_date` may be offered."""
    fieldwork = questionnaire.fieldwork
    return (
        report_date + timedelta(days=fieldwork.from_days_after_report),
        report_date + timedelta(days=fieldwork.to_days_after_report),
    )


# ---------------------------------------------------------------- screening

_FLAG_SENTENCES: dict[ExclusionReason, tuple[str, str]] = {
    ExclusionReason.OPTED_OUT: (
        "Opted out: the victim said they do not want to be surveyed",
        "Not opted out",
    ),
    ExclusionReason.VULNERABLE: (
        "Vulnerable: marked as vulnerable in the sample",
        "Not marked as vulnerable in the sample",
    ),
    ExclusionReason.NFA_REQUESTED: (
        "No further action: the victim asked the police to take no further action",
        "No request for no further action in the sample",
    ),
    ExclusionReason.NOT_COOPERATING: (
        "Not co-operating: the victim is unwilling to co-operate with the investigation",
        "Not marked as unwilling to co-operate in the sample",
    ),
}


#: A flag rule's decision depends only on the flag, so there are two per reason, made once.
_FLAG_DECISIONS = {
    (reason, flagged): Decision(reason, flagged) for reason in _FLAG_SENTENCES for flagged in (False, True)
}


def _age_decision(date_of_birth: date, on: date, last_day: date) -> tuple[Decision, date]:
    """The age rule for a known date of birth, and the first day the victim is old enough."""
    sixteenth = birthday_at_age(date_of_birth, MINIMUM_AGE)
    excluded = sixteenth > last_day
    return Decision(ExclusionReason.UNDER_16, excluded, AUTOMATIC, date_of_birth, on, last_day), sixteenth


def screen(questionnaire: Questionnaire, fields: CaseFields, on: date) -> Screening:
    """Apply a survey's eligibility rules and fieldwork window to one case on day `on`."""
    return Screener(questionnaire).screen(fields, on)


class Screener:
    """One survey's rules, prepared once for screening many cases (an import screens thousands)."""

    def __init__(self, questionnaire: Questionnaire) -> None:
        fieldwork = questionnaire.fieldwork
        self._opens = timedelta(days=fieldwork.from_days_after_report)
        self._closes = timedelta(days=fieldwork.to_days_after_report)
        # Per rule, in the survey's order: reason, automatic?, the SampleFields flag, the confirm check.
        self._rules = tuple(
            (
                rule.reason,
                rule.automatic,
                rule.reason.value,
                _confirm_check(rule.reason, rule.confirm) if rule.confirm else None,
            )
            for rule in questionnaire.eligibility
        )

    def screen(self, fields: CaseFields, on: date) -> Screening:
        """The same as `screen(questionnaire, fields, on)`."""
        first_day = fields.report_date + self._opens
        last_day = fields.report_date + self._closes
        available_from = first_day
        excluded = False
        decisions: list[Decision] = []
        checks: list[CallerCheck] = []
        for reason, automatic, flag, check in self._rules:
            if automatic and reason is ExclusionReason.UNDER_16:
                born = fields.date_of_birth
                if born is None:
                    checks.append(check or _AGE_CHECK)  # undecidable here: the caller asks
                    continue
                decision, sixteenth = _age_decision(born, on, last_day)
                available_from = max(available_from, sixteenth)
            elif automatic:
                decision = _FLAG_DECISIONS[reason, getattr(fields, flag)]
            else:
                decision = None
            if decision is not None:
                decisions.append(decision)
                excluded = excluded or decision.excluded
            if check is not None:
                checks.append(check)

        if excluded:
            return Screening(
                on=on,
                window=(first_day, last_day),
                decisions=tuple(decisions),
                caller_checks=(),
                available_from=None,
                availability=Availability.OVER if on > last_day else Availability.EXCLUDED,
            )
        if on > last_day:
            availability = Availability.OVER
        elif on < available_from:
            availability = Availability.WAITING
        else:
            availability = Availability.OPEN
        return Screening(
            on=on,
            window=(first_day, last_day),
            decisions=tuple(decisions),
            caller_checks=tuple(checks),
            available_from=available_from,
            availability=availability,
        )


@lru_cache(maxsize=256)
def _confirm_check(reason: ExclusionReason, question: str) -> CallerCheck:
    return CallerCheck(reason, question, excludes_on_yes=True)


_AGE_CHECK = CallerCheck(ExclusionReason.UNDER_16, AGE_CHECK_QUESTION, excludes_on_yes=False)

__all__ = [
    "AGE_CHECK_QUESTION",
    "AUTOMATIC",
    "MINIMUM_AGE",
    "Availability",
    "CallerCheck",
    "CaseFields",
    "Decision",
    "RiskLevel",
    "SampleFields",
    "Screener",
    "Screening",
    "age_on",
    "birthday_at_age",
    "birthday_in",
    "offer_window",
    "screen",
    "uk_date",
]
