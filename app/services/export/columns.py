"""The columns of an export and their codebook entries: the interview's fields, one column (or one per
option) per question, then each measure as published; the codes that say why an answer is missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.domain.questionnaire import (
    DONT_KNOW,
    REFUSED,
    SPECIAL_LABELS,
    AllCondition,
    AnswerCondition,
    AnyCondition,
    Condition,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    Scale,
    Statement,
)

NOT_ASKED = 996
NOT_RECORDED = 997
NEUTRAL_LEFT_OUT = 995
MISSING_LABELS = {
    NOT_ASKED: "Not asked (routed away)",
    NOT_RECORDED: "Not recorded",
    DONT_KNOW: SPECIAL_LABELS[DONT_KNOW],
    REFUSED: SPECIAL_LABELS[REFUSED],
}
MISSING_CODE_NOTES = (
    (NOT_ASKED, "Not asked: the questionnaire routed away from it, or a partial interview ended before it"),
    (NOT_RECORDED, "Not recorded: the question was on the route but no answer was recorded"),
    (DONT_KNOW, "Don't know (where the question offers it)"),
    (REFUSED, "Refused (where the question offers it)"),
    (NEUTRAL_LEFT_OUT, "In <measure>_excl_neutral only: a neutral answer, left out of that figure"),
)
#: The codes as text, for the import to read back as "no answer".
NO_ANSWER_TEXTS = (str(NOT_ASKED), str(NOT_RECORDED))


class Kind(StrEnum):
    """What a column holds, whatever the file format."""

    STRING = "string"
    INTEGER = "integer"  # option codes, versions, seconds
    NUMBER = "number"  # answers to number questions that allow fractions
    FLAG = "flag"  # 0/1
    DATETIME = "datetime"


class Level(StrEnum):
    """SPSS's measurement level."""

    NOMINAL = "nominal"
    ORDINAL = "ordinal"
    SCALE = "scale"


@dataclass(frozen=True)
class Variable:
    """One column of the export and its codebook entry."""

    name: str
    label: str
    kind: Kind
    value_labels: tuple[tuple[int, str], ...] = ()
    missing: tuple[int, ...] = ()
    question_id: str | None = None
    option_code: int | None = None  # the option of a multiple-choice 0/1 column
    level: Level = Level.NOMINAL
    spss_format: str | None = None  # "F3.0"; None: the writer's default for the kind
    wording: str | None = None  # the question as read out
    routing: str | None = None  # when it is asked, as a condition on earlier answers
    definition: str | None = None  # how a derived variable is computed


YES_NO_FLAG = ((0, "No"), (1, "Yes"))
CHOSEN_FLAG = ((0, "Not chosen"), (1, "Chosen"))
CODE_FORMAT = "F3.0"

META_VARIABLES = (
    Variable("interview_id", "Interview (pseudonymous id)", Kind.STRING),
    Variable("survey", "Survey", Kind.STRING),
    Variable("questionnaire_version", "Questionnaire version", Kind.INTEGER, spss_format="F4.0"),
    Variable("status", "Interview status (completed or partial)", Kind.STRING),
    Variable("completed_at", "Completed at (local time)", Kind.DATETIME, level=Level.SCALE),
    Variable("division", "Division", Kind.STRING),
    Variable("district", "District", Kind.STRING),
    Variable(
        "duration_seconds", "Interview length (seconds)", Kind.INTEGER, level=Level.SCALE, spss_format="F8.0"
    ),
    Variable("imported", "Imported from an earlier survey tool", Kind.FLAG, YES_NO_FLAG, spss_format="F1.0"),
    Variable(
        "corrected",
        "A supervisor corrected an answer afterwards (see the change history)",
        Kind.FLAG,
        YES_NO_FLAG,
        spss_format="F1.0",
    ),
    Variable(
        "flagged_for_follow_up",
        "Flagged by a supervisor for follow-up",
        Kind.FLAG,
        YES_NO_FLAG,
        spss_format="F1.0",
    ),
    Variable(
        "verbatims_pending",
        "Free-text answers not yet reviewed by a supervisor (exported empty)",
        Kind.INTEGER,
        level=Level.SCALE,
        spss_format="F3.0",
    ),
    Variable(
        "may_quote",
        "The victim agreed their words may be quoted anonymously",
        Kind.FLAG,
        YES_NO_FLAG,
        spss_format="F1.0",
    ),
)
META_COLUMNS = tuple(v.name for v in META_VARIABLES)


def takes_missing_codes(question: QuestionBase) -> bool:
    """Whether a question's column can hold 996 / 997 without mistaking them for an answer."""
    if isinstance(question, Statement):
        return False
    if isinstance(question, NumberQuestion):
        return question.max is not None and question.max < DONT_KNOW
    return True


def question_variables(
    question: QuestionBase, extra_codes: Sequence[tuple[int, str]] = (), routing: str | None = None
) -> list[Variable]:
    """The column(s) of one question; `extra_codes` are options only older versions had."""
    label = question.short_label()
    no_answer = (NOT_ASKED, NOT_RECORDED) if takes_missing_codes(question) else ()
    specials = tuple(o.code for o in question.options() if o.code in (DONT_KNOW, REFUSED))
    missing = (*specials, *no_answer)
    missing_labels = tuple((code, MISSING_LABELS[code]) for code in missing)
    common: dict[str, Any] = {"question_id": question.id, "wording": question.text, "routing": routing}
    if isinstance(question, MultipleChoice):
        known = {o.code for o in question.options()}
        options = [(o.code, o.label) for o in question.options()]
        options += [(code, text) for code, text in extra_codes if code not in known]
        flag_labels = CHOSEN_FLAG + tuple((code, MISSING_LABELS[code]) for code in no_answer)
        return [
            Variable(
                f"{question.id}_{code}",
                f"{label}: {text}",
                Kind.FLAG,
                flag_labels,
                no_answer,
                option_code=code,
                spss_format=CODE_FORMAT,
                **common,
            )
            for code, text in options
        ]
    if question.single_coded:
        value_labels = tuple((o.code, o.label) for o in question.options() if o.code not in specials)
        return [
            Variable(
                question.id,
                label,
                Kind.INTEGER,
                value_labels + missing_labels,
                missing,
                level=Level.ORDINAL if isinstance(question, Scale) else Level.NOMINAL,
                spss_format=CODE_FORMAT,
                **common,
            )
        ]
    if isinstance(question, NumberQuestion):
        kind = Kind.INTEGER if question.integer else Kind.NUMBER
        return [
            Variable(
                question.id,
                label,
                kind,
                missing_labels,
                missing,
                level=Level.SCALE,
                spss_format="F8.0" if question.integer else "F8.2",
                **common,
            )
        ]
    # Dates (ISO text) and text; the codes are written as text ("98", "996").
    return [Variable(question.id, label, Kind.STRING, missing_labels, missing, **common)]


def measure_variables(questionnaire: Questionnaire) -> list[Variable]:
    """Per measure, the published figure as a 0/1 variable, with and without the neutral answers."""
    variables = []
    for measure in questionnaire.measures:
        question = questionnaire.question(measure.question)
        positive = _codes_named(question, measure.positive)
        neutral = _codes_named(question, measure.neutral)
        base = f"1 when {measure.question} is {positive}; 0 for any other answer"
        variables.append(
            Variable(
                f"{measure.id}_positive",
                f"{measure.label}: positive (% of all surveys, as published)",
                Kind.FLAG,
                ((0, "Any other answer, or not recorded"), (1, "Positive")),
                spss_format=CODE_FORMAT,
                question_id=measure.question,
                definition=(
                    f"{base} (neutral, negative, don't know, refused) or when not recorded: every survey"
                    " is in the base, as in the published figure. Valid Percent of 1 (or the mean x 100)"
                    " is the report's % of all surveys."
                ),
            )
        )
        variables.append(
            Variable(
                f"{measure.id}_excl_neutral",
                f"{measure.label}: positive, neutral answers left out",
                Kind.FLAG,
                (
                    (0, "Any other answer, or not recorded"),
                    (1, "Positive"),
                    (NEUTRAL_LEFT_OUT, "Neutral: left out"),
                ),
                (NEUTRAL_LEFT_OUT,),
                spss_format=CODE_FORMAT,
                question_id=measure.question,
                definition=(
                    f"{base} or when not recorded; {NEUTRAL_LEFT_OUT} (missing) when it is"
                    f" {neutral or 'neutral (this measure has no neutral answer)'}. Valid Percent of 1 is"
                    " the report's % excluding neutral answers."
                ),
            )
        )
    return variables


def _codes_named(question: QuestionBase, codes: Sequence[int]) -> str:
    labels = {o.code: o.label for o in question.options()}
    return ", ".join(f"{code} ({labels.get(code, '?')})" for code in codes)


def export_variables(questionnaires: Sequence[Questionnaire]) -> list[Variable]:
    """Every column: the interview's fields, the questions (latest version first), then the measures."""
    ordered = sorted(questionnaires, key=lambda q: q.version, reverse=True)
    defining: dict[str, tuple[Questionnaire, QuestionBase]] = {}
    extra: dict[str, dict[int, str]] = {}
    for questionnaire in ordered:
        for question in questionnaire.questions():
            if question.id not in defining:
                defining[question.id] = (questionnaire, question)
            elif isinstance(question, MultipleChoice):
                for option in question.options():
                    extra.setdefault(question.id, {}).setdefault(option.code, option.label)
    variables = list(META_VARIABLES)
    for question_id, (questionnaire, question) in defining.items():
        routing = routing_condition(questionnaire, question_id)
        variables += question_variables(question, sorted(extra.get(question_id, {}).items()), routing)
    variables += measure_variables(ordered[0])
    return variables


def routing_condition(questionnaire: Questionnaire, question_id: str) -> str | None:
    """When the question is asked, as a filter on earlier answers; None: always (a stop rule ends the
    call, so a completed interview never stopped before a question)."""
    section = questionnaire.section_of(question_id)
    question = questionnaire.question(question_id)
    conditions = [c for c in (section.ask_if, question.ask_if) if c is not None]
    if len(conditions) == 1:
        return describe_condition(conditions[0])
    return " and ".join(_bracketed(c) for c in conditions) or None


def describe_condition(condition: Condition) -> str:
    """`{question: q, in: [1, 2]}` as "q in (1, 2)"; all/any/not with brackets where needed."""
    if isinstance(condition, AnswerCondition):
        operator = condition.operator()
        value = getattr(condition, operator)
        if operator in ("in_", "not_in") and len(value) == 1:
            return f"{condition.question} {'=' if operator == 'in_' else '<>'} {value[0]}"
        if operator in ("in_", "not_in"):
            word = "in" if operator == "in_" else "not in"
            return f"{condition.question} {word} ({', '.join(str(v) for v in value)})"
        if operator == "answered":
            return f"{condition.question} {'answered' if value else 'not answered'}"
        symbol = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[operator]
        return f"{condition.question} {symbol} {value:g}"
    if isinstance(condition, AllCondition):
        return " and ".join(_bracketed(c) for c in condition.all)
    if isinstance(condition, AnyCondition):
        return " or ".join(_bracketed(c) for c in condition.any)
    return f"not ({describe_condition(condition.not_)})"


def _bracketed(condition: Condition) -> str:
    text = describe_condition(condition)
    return f"({text})" if isinstance(condition, AllCondition | AnyCondition) else text


#: The columns of the change history (`survey export-changes`, the .xlsx sheet "changes").
CHANGE_COLUMNS = (
    "interview_id",
    "survey",
    "question",
    "question_label",
    "kind",
    "old_code",
    "old_value",
    "new_code",
    "new_value",
    "reason",
    "changed_at",
)
CHANGE_KINDS = {
    "corrected": "corrected afterwards by a supervisor",
    "changed": "changed by the caller during the interview",
    "discarded": "removed during the interview because a changed answer routed away from it",
}
