"""Case dispositions and outcome rates, following the AAPOR Standard Definitions for telephone surveys.

The sample is of *named persons* (one victim and crime per case), not random telephone numbers, so the
RDD telephone codes are read with the named-person tables in mind. Codes are AAPOR's own; no code is
invented. The choices, and why:

Final codes (category in brackets, as used by the rate formulas):

- 1.1 Complete [I]; 1.2 Partial [P]: a break-off that had reached the questionnaire's "partial" point
  (the caller of `final_disposition` says so through `AttemptRecord.partial`).
- 2.11 Refusal [R] (AAPOR's 2.111 household / 2.112 respondent refusal flattened: whoever refused, the
  victim was not interviewed); 2.12 Break-off [R]: an interview stopped before the partial point.
- 2.21 Respondent never available [NC]: the victim was reached at the number (they, or someone who knows
  them, answered; or an appointment was made) but never interviewed before the attempt limit.
- 2.22 Telephone answering device [NC]: as 2.21, but the last attempt reached the answerphone of a number
  already confirmed as the victim's. AAPOR's 2.221 (message left) / 2.222 (no message) are flattened: some
  questionnaires forbid messages, and the distinction changes no rate.
- 2.20 Non-contact: not safe to talk [NC]: the domestic-abuse safety check said it was not safe to talk on
  at least one attempt and the case was never interviewed. This is a non-contact, never a refusal. AAPOR's
  2.35 ("location/activity not allowing interview") is close in meaning but sits in Other [O], which would
  count these calls as contacts in CON1-3 and in the COOP1/COOP2 denominators; safety outranks the other
  non-contact reasons because the bureau reports it. 2.20 is AAPOR's non-contact group code (queXS also uses
  it as a code), so the case stays distinct from 2.21 without a home-made sub-code.
- 3.11 Not attempted [UH]: closed with no attempt at all.
- 3.12 Always engaged [UH]; 3.13 No answer [UH]: never reached, every attempt engaged / no answer (or a mix).
- 3.14 Answerphone, not known to be the victim's [UH]: never reached, but an answerphone picked up.
- 3.90 Wrong or dead number [UO]: every attempt was a wrong or dead number. In an RDD survey a dead number
  is 4.3x (not eligible: no household), but here each case names a victim who exists; a wrong number only
  means we could not reach them, so eligibility is unknown. (AAPOR's 3.14 is the answering-device code, not
  line problems, hence 3.90 "other".)
- 4.10 Screened out of sample [NE]: closed by an exclusion rule (the named-person tables' 4.10 "selected
  respondent screened out of sample").
- 4.70 No eligible respondent [NE]: found ineligible during a call.
- 4.80 Quota filled [NE]: an open case closed because no more interviews are needed.

Temporary codes (category "temporary") describe an open case for the screens; they reuse the AAPOR code of
the outcome's nearest meaning (for example 3.13 for a no answer) and never enter the rates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    """The outcome of one call attempt, as the caller records it."""

    NO_ANSWER = "no_answer"
    ENGAGED = "engaged"
    ANSWERPHONE = "answerphone"
    WRONG_NUMBER = "wrong_number"
    APPOINTMENT = "appointment"
    REFUSAL = "refusal"
    BREAK_OFF = "break_off"
    COMPLETED = "completed"
    INELIGIBLE = "ineligible"
    #: The domestic-abuse safety check said it was not safe to talk: a non-contact, never a refusal.
    UNSAFE_TO_TALK = "unsafe_to_talk"
    #: The victim was reached at this number (or someone who knows them answered) but cannot talk now.
    NOT_AVAILABLE = "not_available"


#: Outcomes that close a case on their own.
FINAL_OUTCOMES = frozenset({Outcome.COMPLETED, Outcome.REFUSAL, Outcome.BREAK_OFF, Outcome.INELIGIBLE})
#: Outcomes showing the number reaches the victim: an unfinished case is then a non-contact (2.x), not 3.x.
REACHED_OUTCOMES = frozenset({Outcome.NOT_AVAILABLE, Outcome.UNSAFE_TO_TALK, Outcome.APPOINTMENT})
#: Calls in which someone at the number was spoken to (the "contacts" of callers' daily counts).
CONTACT_OUTCOMES = FINAL_OUTCOMES | REACHED_OUTCOMES


class Category(StrEnum):
    """AAPOR's groups for the rate formulas, plus `temporary` for open cases."""

    I = "I"  # noqa: E741 - AAPOR's own letter
    P = "P"
    R = "R"
    NC = "NC"
    O = "O"  # noqa: E741 - AAPOR's own letter
    UH = "UH"
    UO = "UO"
    NE = "NE"
    TEMPORARY = "temporary"


class ClosedReason(StrEnum):
    """Why a case was closed other than by a final call outcome."""

    #: An exclusion rule applied (screening): not eligible whatever the calls said.
    EXCLUDED = "excluded"
    #: No more interviews are needed; an open case closes as not eligible (4.80).
    QUOTA_FILLED = "quota_filled"
    #: Fieldwork ended (or no usable number is left) before the attempt limit: treated as reaching it.
    FIELDWORK_ENDED = "fieldwork_ended"


@dataclass(frozen=True)
class Disposition:
    """An AAPOR disposition: code (e.g. "2.11"), label for people, category for the rates."""

    code: str
    label: str
    category: Category

    @property
    def is_final(self) -> bool:
        return self.category is not Category.TEMPORARY

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


COMPLETE = Disposition("1.1", "Complete", Category.I)
PARTIAL = Disposition("1.2", "Partial", Category.P)
REFUSAL = Disposition("2.11", "Refusal", Category.R)
BREAK_OFF = Disposition("2.12", "Break-off", Category.R)
NOT_SAFE_TO_TALK = Disposition("2.20", "Non-contact: not safe to talk", Category.NC)
NEVER_AVAILABLE = Disposition("2.21", "Respondent never available", Category.NC)
ANSWERPHONE_CONFIRMED = Disposition("2.22", "Answerphone at the victim's number", Category.NC)
NOT_ATTEMPTED = Disposition("3.11", "Not attempted", Category.UH)
ALWAYS_ENGAGED = Disposition("3.12", "Always engaged", Category.UH)
NO_ANSWER = Disposition("3.13", "No answer", Category.UH)
ANSWERPHONE_UNCONFIRMED = Disposition("3.14", "Answerphone, not known to be the victim's", Category.UH)
WRONG_NUMBER = Disposition("3.90", "Wrong or dead number", Category.UO)
SCREENED_OUT = Disposition("4.10", "Screened out of sample", Category.NE)
NO_ELIGIBLE_RESPONDENT = Disposition("4.70", "No eligible respondent", Category.NE)
QUOTA_FILLED = Disposition("4.80", "Quota filled", Category.NE)

FINAL_DISPOSITIONS: tuple[Disposition, ...] = (
    COMPLETE,
    PARTIAL,
    REFUSAL,
    BREAK_OFF,
    NOT_SAFE_TO_TALK,
    NEVER_AVAILABLE,
    ANSWERPHONE_CONFIRMED,
    NOT_ATTEMPTED,
    ALWAYS_ENGAGED,
    NO_ANSWER,
    ANSWERPHONE_UNCONFIRMED,
    WRONG_NUMBER,
    SCREENED_OUT,
    NO_ELIGIBLE_RESPONDENT,
    QUOTA_FILLED,
)
_FINAL_BY_CODE = {d.code: d for d in FINAL_DISPOSITIONS}

#: Open-case display code for a case with no attempt yet.
OPEN_NOT_YET_CALLED = Disposition("3.11", "Not yet called", Category.TEMPORARY)
#: Open-case display code for each non-final outcome of the latest attempt.
TEMPORARY_DISPOSITIONS: dict[Outcome, Disposition] = {
    Outcome.NO_ANSWER: Disposition("3.13", "No answer", Category.TEMPORARY),
    Outcome.ENGAGED: Disposition("3.12", "Engaged", Category.TEMPORARY),
    Outcome.ANSWERPHONE: Disposition("3.14", "Answerphone", Category.TEMPORARY),
    Outcome.WRONG_NUMBER: Disposition("3.90", "Wrong or dead number", Category.TEMPORARY),
    Outcome.APPOINTMENT: Disposition("2.21", "Appointment made", Category.TEMPORARY),
    Outcome.NOT_AVAILABLE: Disposition("2.21", "Not available, call again", Category.TEMPORARY),
    Outcome.UNSAFE_TO_TALK: Disposition("2.20", "Not safe to talk, call again", Category.TEMPORARY),
}


def disposition_for_code(code: str) -> Disposition:
    """The final disposition stored under `code` (KeyError if it is not one of ours)."""
    return _FINAL_BY_CODE[code]


@dataclass(frozen=True)
class AttemptRecord:
    """One call attempt as `final_disposition` needs it (built from the database row)."""

    outcome: Outcome
    at: datetime
    #: Only for a break-off: the interview had reached the questionnaire's partial point.
    partial: bool = False

    def __post_init__(self) -> None:
        if self.partial and self.outcome is not Outcome.BREAK_OFF:
            raise ValueError(f"only a break-off can be partial, not {self.outcome.value}")


def _final_outcome_disposition(attempt: AttemptRecord) -> Disposition:
    match attempt.outcome:
        case Outcome.COMPLETED:
            return COMPLETE
        case Outcome.BREAK_OFF:
            return PARTIAL if attempt.partial else BREAK_OFF
        case Outcome.REFUSAL:
            return REFUSAL
        case Outcome.INELIGIBLE:
            return NO_ELIGIBLE_RESPONDENT
    raise ValueError(f"{attempt.outcome.value} is not a final outcome")


def _unfinished_disposition(attempts: Sequence[AttemptRecord]) -> Disposition:
    """The code of a case closed with no final outcome: 2.x if the victim was ever reached, else 3.x."""
    outcomes = [a.outcome for a in attempts]
    if not outcomes:
        return NOT_ATTEMPTED
    if Outcome.UNSAFE_TO_TALK in outcomes:
        return NOT_SAFE_TO_TALK
    if any(o in REACHED_OUTCOMES for o in outcomes):
        return ANSWERPHONE_CONFIRMED if outcomes[-1] is Outcome.ANSWERPHONE else NEVER_AVAILABLE
    if all(o is Outcome.WRONG_NUMBER for o in outcomes):
        return WRONG_NUMBER
    # Attempts on a wrong number say nothing about the victim's own line: judge by the others.
    others = [o for o in outcomes if o is not Outcome.WRONG_NUMBER]
    if Outcome.ANSWERPHONE in others:
        return ANSWERPHONE_UNCONFIRMED
    if all(o is Outcome.ENGAGED for o in others):
        return ALWAYS_ENGAGED
    return NO_ANSWER


def final_disposition(
    attempts: Sequence[AttemptRecord], *, max_attempts: int, closed_reason: ClosedReason | None = None
) -> Disposition:
    """The case's disposition now, by queXS's rule (see DESIGN.md, "Dispositions and response rates").

    An exclusion closes as 4.10 whatever the calls said. Otherwise the latest final outcome decides. With
    none, a case at the attempt limit (or closed when fieldwork ended) gets 2.x if the victim was ever
    reached, else 3.x; a quota-filled case gets 4.80; an open case shows its latest attempt's temporary code.
    Attempts are ordered by time, so the caller need not sort them.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    if closed_reason is ClosedReason.EXCLUDED:
        return SCREENED_OUT
    ordered = sorted(attempts, key=lambda a: a.at)
    finals = [a for a in ordered if a.outcome in FINAL_OUTCOMES]
    if finals:
        return _final_outcome_disposition(finals[-1])
    if closed_reason is ClosedReason.QUOTA_FILLED:
        return QUOTA_FILLED
    if closed_reason is ClosedReason.FIELDWORK_ENDED or len(ordered) >= max_attempts:
        return _unfinished_disposition(ordered)
    if not ordered:
        return OPEN_NOT_YET_CALLED
    return TEMPORARY_DISPOSITIONS[ordered[-1].outcome]


@dataclass(frozen=True)
class Counts:
    """Numbers of cases in each AAPOR category (I, P, R, NC, O, UH, UO, NE)."""

    complete: int = 0  # I
    partial: int = 0  # P
    refusal: int = 0  # R: refusals and break-offs
    non_contact: int = 0  # NC
    other: int = 0  # O
    unknown_household: int = 0  # UH
    unknown_other: int = 0  # UO
    not_eligible: int = 0  # NE

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name} must not be negative")

    @property
    def eligible(self) -> int:
        """I+P+R+NC+O: the cases known to be eligible (AAPOR's D)."""
        return self.complete + self.partial + self.refusal + self.non_contact + self.other

    @property
    def unknown(self) -> int:
        """UH+UO: the cases of unknown eligibility."""
        return self.unknown_household + self.unknown_other

    @property
    def total(self) -> int:
        return self.eligible + self.unknown + self.not_eligible


#: The Counts field that each category adds to.
COUNTS_FIELD: dict[Category, str] = {
    Category.I: "complete",
    Category.P: "partial",
    Category.R: "refusal",
    Category.NC: "non_contact",
    Category.O: "other",
    Category.UH: "unknown_household",
    Category.UO: "unknown_other",
    Category.NE: "not_eligible",
}


def counts_from_dispositions(dispositions: Iterable[Disposition]) -> Counts:
    """Tally final dispositions; an open (temporary) case is a ValueError, since it has no category yet."""
    tally = dict.fromkeys(COUNTS_FIELD.values(), 0)
    for disposition in dispositions:
        if not disposition.is_final:
            raise ValueError(f"case still open ({disposition}): close it before computing rates")
        tally[COUNTS_FIELD[disposition.category]] += 1
    return Counts(**tally)


@dataclass(frozen=True)
class Rates:
    """AAPOR outcome rates as proportions in [0, 1]; None where the denominator is 0 (or e is unknown)."""

    e: float | None
    rr1: float | None
    rr2: float | None
    rr3: float | None
    rr4: float | None
    rr5: float | None
    rr6: float | None
    coop1: float | None
    coop2: float | None
    coop3: float | None
    coop4: float | None
    ref1: float | None
    ref2: float | None
    ref3: float | None
    con1: float | None
    con2: float | None
    con3: float | None


def _ratio(numerator: float, denominator: float | None) -> float | None:
    if denominator is None or denominator == 0:
        return None
    return numerator / denominator


def default_e(counts: Counts) -> float | None:
    """The eligible share among cases of known eligibility, (I+P+R+NC+O)/(I+P+R+NC+O+NE)."""
    return _ratio(counts.eligible, counts.eligible + counts.not_eligible)


def rates(counts: Counts, e: float | None = None) -> Rates:
    """All AAPOR response, cooperation, refusal and contact rates.

    `e` is the estimated share of unknown-eligibility cases that are eligible; by default the share among
    cases whose eligibility is known. If none is given and it cannot be estimated (no case of known
    eligibility), the rates that need it are None.
    """
    if e is not None and not 0 <= e <= 1:
        raise ValueError(f"e must be between 0 and 1, not {e}")
    i, p, r, o = counts.complete, counts.partial, counts.refusal, counts.other
    d = counts.eligible  # I+P+R+NC+O
    u = counts.unknown  # UH+UO
    e_used = default_e(counts) if e is None else e
    # With no unknown cases the e term vanishes (and e*u would only add rounding).
    d_all = d + u  # denominator of RR1, RR2, REF1, CON1
    d_e: float | None = d if u == 0 else (None if e_used is None else d + e_used * u)
    contacted = i + p + r + o
    return Rates(
        e=e_used,
        rr1=_ratio(i, d_all),
        rr2=_ratio(i + p, d_all),
        rr3=_ratio(i, d_e),
        rr4=_ratio(i + p, d_e),
        rr5=_ratio(i, d),
        rr6=_ratio(i + p, d),
        coop1=_ratio(i, i + p + r + o),
        coop2=_ratio(i + p, i + p + r + o),
        coop3=_ratio(i, i + p + r),
        coop4=_ratio(i + p, i + p + r),
        ref1=_ratio(r, d_all),
        ref2=_ratio(r, d_e),
        ref3=_ratio(r, d),
        con1=_ratio(contacted, d_all),
        con2=_ratio(contacted, d_e),
        con3=_ratio(contacted, d),
    )
