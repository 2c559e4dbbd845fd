"""The questionnaire: a validated, versioned YAML document describing one survey.

Structure is checked by pydantic (unknown keys are errors); meaning (ids, routing, codes, measures,
piping, consents) by `_semantic_problems`. Every problem is reported as FILE:LINE: message, in words an
author can act on: pydantic's own wording ("Input should be a valid string") is translated by `_describe`
and never shown. `questionnaire_warnings` adds what is allowed but probably a mistake (a piped answer that
may not have been given, consents found by their id only); warnings never stop a file from loading.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from app.domain.problems import Problem, QuestionnaireError
from app.domain.yamlmarks import MarkedDocument, Path_, YamlProblem, load_marked, read_bounded

DONT_KNOW = 98
REFUSED = 99
SPECIAL_LABELS = {DONT_KNOW: "Don't know", REFUSED: "Refused"}

SATISFACTION_SCALE: tuple[tuple[int, str], ...] = (
    (1, "Completely satisfied"),
    (2, "Very satisfied"),
    (3, "Fairly satisfied"),
    (4, "Neither satisfied nor dissatisfied"),
    (5, "Fairly dissatisfied"),
    (6, "Very dissatisfied"),
    (7, "Completely dissatisfied"),
)
YES_NO: tuple[tuple[int, str], ...] = ((1, "Yes"), (2, "No"))

IDENT = r"^[a-z][a-z0-9_]{0,63}$"

#: Fields of the case that read-out text may insert as {sample.FIELD}.
SAMPLE_FIELDS = ("first_name", "victim_name", "report_date", "division", "district")
#: Fields about the caller that text may insert as {caller.FIELD}.
CALLER_FIELDS = ("name", "first_name")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ExclusionReason(StrEnum):
    """Why a case may be excluded before any call (DESIGN.md, eligibility screening)."""

    OPTED_OUT = "opted_out"
    UNDER_16 = "under_16"
    VULNERABLE = "vulnerable"
    NFA_REQUESTED = "nfa_requested"
    NOT_COOPERATING = "not_cooperating"


class StopOutcome(StrEnum):
    """How a stop rule ends the call; the same words as the call outcomes."""

    REFUSAL = "refusal"
    NOT_AVAILABLE = "not_available"
    WRONG_NUMBER = "wrong_number"
    APPOINTMENT = "appointment"
    INELIGIBLE = "ineligible"
    UNSAFE_TO_TALK = "unsafe_to_talk"


# ---------------------------------------------------------------- conditions


class AnswerCondition(Strict):
    """A test on one earlier answer. Exactly one operator."""

    question: str
    in_: list[int] | None = Field(default=None, alias="in")
    not_in: list[int] | None = None
    answered: bool | None = None
    eq: float | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> AnswerCondition:
        given = [name for name in OPERATORS if getattr(self, name) is not None]
        if len(given) != 1:
            names = ", ".join("in" if n == "in_" else n for n in OPERATORS)
            raise ValueError(f"a condition needs exactly one of: {names}")
        return self

    def operator(self) -> str:
        return next(name for name in OPERATORS if getattr(self, name) is not None)


OPERATORS = ("in_", "not_in", "answered", "eq", "gt", "ge", "lt", "le")


class AllCondition(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyCondition(Strict):
    any: list[Condition] = Field(min_length=1)


class NotCondition(Strict):
    not_: Condition = Field(alias="not")


def _condition_kind(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("all", "any", "not"):
            if key in value:
                return key
        return "answer"
    if isinstance(value, AllCondition):
        return "all"
    if isinstance(value, AnyCondition):
        return "any"
    if isinstance(value, NotCondition):
        return "not"
    return "answer"


Condition = Annotated[
    Annotated[AnswerCondition, Tag("answer")]
    | Annotated[AllCondition, Tag("all")]
    | Annotated[AnyCondition, Tag("any")]
    | Annotated[NotCondition, Tag("not")],
    Discriminator(_condition_kind),
]


def condition_questions(condition: Condition) -> Iterator[AnswerCondition]:
    """Every answer test inside a condition, depth first."""
    if isinstance(condition, AnswerCondition):
        yield condition
    elif isinstance(condition, AllCondition):
        for part in condition.all:
            yield from condition_questions(part)
    elif isinstance(condition, AnyCondition):
        for part in condition.any:
            yield from condition_questions(part)
    else:
        yield from condition_questions(condition.not_)


# ---------------------------------------------------------------- questions


class Option(Strict):
    code: int = Field(ge=0, le=97, description="stable code; 98 and 99 are kept for don't know and refused")
    label: str = Field(min_length=1)


class StopRule(Strict):
    """End the call when the condition holds after this question is answered."""

    if_: Condition = Field(alias="if")
    outcome: StopOutcome
    say: str | None = None


class QuestionBase(Strict):
    id: str = Field(pattern=IDENT)
    text: str = Field(min_length=1)
    label: str | None = None
    instruction: str | None = None
    required: bool = True
    dont_know: bool = False
    refused: bool = False
    ask_if: Condition | None = None
    stop_if: list[StopRule] = Field(default_factory=list)
    safety_check: bool = False

    def options(self) -> list[Option]:
        """Options a caller can choose, including don't know and refused where allowed."""
        return self._special_options()

    def _special_options(self) -> list[Option]:
        specials = []
        if self.dont_know:
            specials.append(Option.model_construct(code=DONT_KNOW, label=SPECIAL_LABELS[DONT_KNOW]))
        if self.refused:
            specials.append(Option.model_construct(code=REFUSED, label=SPECIAL_LABELS[REFUSED]))
        return specials

    @property
    def single_coded(self) -> bool:
        """True when an answer is exactly one option code (measures read such questions)."""
        return False

    def short_label(self) -> str:
        return self.label or (self.text if len(self.text) <= 80 else self.text[:77] + "...")


class ChoiceQuestion(QuestionBase):
    def option_label(self, code: int) -> str | None:
        return next((o.label for o in self.options() if o.code == code), None)


class SingleChoice(ChoiceQuestion):
    type: Literal["single_choice"]
    choices: list[Option] = Field(alias="options", min_length=2)

    def options(self) -> list[Option]:
        return [*self.choices, *self._special_options()]

    @property
    def single_coded(self) -> bool:
        return True


class MultipleChoice(ChoiceQuestion):
    type: Literal["multiple_choice"]
    choices: list[Option] = Field(alias="options", min_length=2)
    max_choices: int | None = Field(default=None, ge=1)

    def options(self) -> list[Option]:
        return [*self.choices, *self._special_options()]


class Scale(ChoiceQuestion):
    type: Literal["scale"]
    scale: Literal["satisfaction"] = "satisfaction"

    def options(self) -> list[Option]:
        return [Option(code=c, label=label) for c, label in SATISFACTION_SCALE] + self._special_options()

    @property
    def single_coded(self) -> bool:
        return True


class YesNo(ChoiceQuestion):
    type: Literal["yes_no"]

    def options(self) -> list[Option]:
        return [Option(code=c, label=label) for c, label in YES_NO] + self._special_options()

    @property
    def single_coded(self) -> bool:
        return True


class NumberQuestion(QuestionBase):
    type: Literal["number"]
    min: float | None = None
    max: float | None = None
    integer: bool = True
    unit: str | None = None

    @model_validator(mode="after")
    def _bounds(self) -> NumberQuestion:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class DateQuestion(QuestionBase):
    type: Literal["date"]
    earliest: date | None = None
    latest: date | None = None
    allow_future: bool = False


class Statement(QuestionBase):
    """Read out, no answer: an introduction, a closing script. Stored as a blank answer once read."""

    type: Literal["statement"]
    required: bool = False

    @model_validator(mode="after")
    def _not_required(self) -> Statement:
        if self.required or self.dont_know or self.refused:
            raise ValueError("a statement has no answer: required, dont_know and refused do not apply")
        return self


class TextQuestion(QuestionBase):
    type: Literal["text"]
    max_length: int = Field(default=4000, ge=1, le=100_000)
    verbatim: bool = False


Question = Annotated[
    SingleChoice | MultipleChoice | Scale | YesNo | NumberQuestion | DateQuestion | TextQuestion | Statement,
    Field(discriminator="type"),
]
QUESTION_TYPES = (
    "single_choice",
    "multiple_choice",
    "scale",
    "yes_no",
    "number",
    "date",
    "text",
    "statement",
)


class Section(Strict):
    id: str = Field(pattern=IDENT)
    title: str = Field(min_length=1)
    ask_if: Condition | None = None
    questions: list[Question] = Field(min_length=1)


# ---------------------------------------------------------------- survey-level rules


class EligibilityRule(Strict):
    """One exclusion reason that applies to this survey.

    `automatic`: decided from the sample fields before the case is offered.
    `confirm`: the question the caller answers on the screening screen before dialling.
    """

    reason: ExclusionReason
    automatic: bool = False
    confirm: str | None = None

    @model_validator(mode="after")
    def _some_check(self) -> EligibilityRule:
        if not self.automatic and not self.confirm:
            raise ValueError("an eligibility rule needs automatic: true, a confirm: prompt, or both")
        return self


class Fieldwork(Strict):
    """When a case may be called, counted in days after the report date."""

    from_days_after_report: int = Field(ge=0)
    to_days_after_report: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Fieldwork:
        if self.to_days_after_report < self.from_days_after_report:
            raise ValueError("to_days_after_report is before from_days_after_report")
        return self


class CallRules(Strict):
    leave_voicemail: bool = False
    voicemail_message: str | None = None
    safety_check: bool = False
    max_attempts: int = Field(default=6, ge=1, le=30)
    partial_from: str | None = Field(
        default=None, description="a break-off at or after this question counts as a partial interview"
    )

    @model_validator(mode="after")
    def _voicemail(self) -> CallRules:
        if self.leave_voicemail and not self.voicemail_message:
            raise ValueError("leave_voicemail: true needs a voicemail_message")
        if not self.leave_voicemail and self.voicemail_message:
            raise ValueError("voicemail_message is given but leave_voicemail is false")
        return self


class Measure(Strict):
    id: str = Field(pattern=IDENT)
    label: str = Field(min_length=1)
    question: str
    positive: list[int] = Field(min_length=1)
    neutral: list[int] = Field(default_factory=list)


CONSENT_KINDS = ("feedback", "recontact", "quote")


class Consents(Strict):
    """Which yes_no question records each consent; a "yes" (code 1) is the victim's agreement.

    `feedback`: the victim's comments may be passed, with their name, to the officers involved (the
    supervisors' feedback screen). `recontact`: they may be contacted again. `quote`: their words may be
    quoted anonymously (exports' may_quote).
    """

    feedback: str | None = None
    recontact: str | None = None
    quote: str | None = None


class ExampleSample(Strict):
    """Made-up sample fields that `survey questionnaire try` pipes into the text."""

    first_name: str | None = None
    victim_name: str | None = None
    report_date: date | None = None
    division: str | None = None
    district: str | None = None


#: What `try` pipes in when the file declares no example_sample (synthetic, like all test data).
DEFAULT_EXAMPLE_SAMPLE = ExampleSample(
    first_name="Sam",
    victim_name="Sam Example",
    report_date=date(2026, 1, 5),
    division="North",
    district="Riverside",
)

#: Keys that only help authors (length target, practice data): they change no interview, so they are
#: left out of the content hash and of the content recorded for a version.
AUTHORING_KEYS = frozenset({"target_minutes", "example_sample"})
#: Keys added to the format after content hashes were first recorded: left out of the hash while absent,
#: so a file that does not use them keeps the hash it always had.
LATER_KEYS = frozenset({"consents", "closing"})


class SupportLine(Strict):
    """A support service the caller offers at the end of the call."""

    name: str = Field(min_length=1)
    number: str = Field(min_length=1)
    note: str | None = None  # e.g. "free, 24 hours"


class Closing(Strict):
    """The end of a completed interview: words to read out and support lines to offer."""

    say: str = Field(min_length=1)
    support: list[SupportLine] = Field(default_factory=list)
    instruction: str | None = None


class Questionnaire(Strict):
    id: str = Field(pattern=IDENT)
    title: str = Field(min_length=1)
    version: int = Field(ge=1)
    description: str | None = None
    fieldwork: Fieldwork
    calls: CallRules = CallRules()
    eligibility: list[EligibilityRule] = Field(default_factory=list)
    sections: list[Section] = Field(min_length=1)
    measures: list[Measure] = Field(default_factory=list)
    consents: Consents | None = None
    closing: Closing | None = None
    target_minutes: int | None = Field(default=None, ge=1, le=180)
    example_sample: ExampleSample | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _whole_version(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number such as 3")
        return value

    # --------------------------------------------------------- navigation helpers

    def questions(self) -> list[QuestionBase]:
        return [q for section in self.sections for q in section.questions]

    def question(self, question_id: str) -> QuestionBase:
        for q in self.questions():
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def section_of(self, question_id: str) -> Section:
        for section in self.sections:
            if any(q.id == question_id for q in section.questions):
                return section
        raise KeyError(question_id)

    def measure(self, measure_id: str) -> Measure:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def safety_question(self) -> QuestionBase | None:
        return next((q for q in self.questions() if q.safety_check), None)

    def consent_question(self, kind: str) -> str | None:
        """The id of the question recording consent `kind` (feedback, recontact, quote), or None.

        A document without a `consents` block (written before the block existed, or recorded so in the
        database) keeps the meaning it had then: the question with the id `consent_<kind>`, if any. The
        check warns about such files so that their authors declare the consents.
        """
        if kind not in CONSENT_KINDS:
            raise KeyError(kind)
        if self.consents is not None:
            chosen: str | None = getattr(self.consents, kind)
            return chosen
        legacy = f"consent_{kind}"
        return legacy if any(q.id == legacy for q in self.questions()) else None

    def sample_example(self) -> dict[str, Any]:
        """Example sample fields for practice: the file's example_sample, defaults for what it leaves out."""
        declared = self.example_sample or ExampleSample()
        fields = {**DEFAULT_EXAMPLE_SAMPLE.model_dump(), **declared.model_dump(exclude_none=True)}
        if declared.first_name and not declared.victim_name:
            fields["victim_name"] = f"{declared.first_name} Example"
        return fields

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: formatting and comments do not count, content does."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def canonical_json(self) -> str:
        data = self.model_dump(mode="json", by_alias=True, exclude=set(AUTHORING_KEYS))
        for key in LATER_KEYS:
            if data.get(key) is None:
                data.pop(key, None)
        if self.consents is not None and self.consents == self._legacy_consents():
            data.pop("consents")  # the meaning a file without the block has: the same content
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def _legacy_consents(self) -> Consents:
        ids = {q.id for q in self.questions()}
        return Consents(**{kind: f"consent_{kind}" for kind in CONSENT_KINDS if f"consent_{kind}" in ids})

    def to_public_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `survey questionnaire show --format json`."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for s_index, section in enumerate(self.sections):
            for q_index, question in enumerate(section.questions):
                q_data = data["sections"][s_index]["questions"][q_index]
                q_data["options"] = [o.model_dump() for o in question.options()]
        data["content_hash"] = self.content_hash()
        return data


# ---------------------------------------------------------------- loading


@dataclass(frozen=True)
class Checked:
    """A valid questionnaire and the warnings about it (allowed, but probably not what was meant)."""

    questionnaire: Questionnaire
    warnings: list[Problem]
    document: MarkedDocument  # the loaded YAML, for the line of anything found wrong later


def load_questionnaire(path: Path | str) -> Questionnaire:
    """Read and validate one questionnaire file; raise QuestionnaireError listing every problem."""
    return read_questionnaire(path).questionnaire


def read_questionnaire(path: Path | str) -> Checked:
    """Read and validate one file, with its warnings; raise QuestionnaireError listing every problem."""
    path = Path(path)
    name = str(path)
    try:
        raw = read_bounded(path)
    except OSError as exc:
        raise QuestionnaireError(
            [Problem(file=name, line=1, message=f"cannot read: {exc.strerror}")]
        ) from None
    return check_questionnaire(raw, name)


def parse_questionnaire(text: str | bytes, name: str = "<questionnaire>") -> Questionnaire:
    return check_questionnaire(text, name).questionnaire


def check_questionnaire(text: str | bytes, name: str = "<questionnaire>") -> Checked:
    """Validate a questionnaire's text: the questionnaire and its warnings, or QuestionnaireError."""
    try:
        doc = load_marked(text)
    except YamlProblem as exc:
        message = _yaml_hint(exc.message, _source_line(text, exc.line))
        raise QuestionnaireError([Problem(file=name, line=exc.line, message=message)]) from None
    return check_document(doc, name, text)


def check_document(doc: MarkedDocument, name: str, text: str | bytes = "") -> Checked:
    """Validate loaded YAML (`text` is the file's text, quoted in some messages)."""
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a single value ({type(doc.data).__name__})"
        message = f"a questionnaire must be a mapping of keys such as id, title, version; found {kind}"
        raise QuestionnaireError([Problem(file=name, line=1, message=message)])
    try:
        questionnaire = Questionnaire.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            line = doc.line_of(_error_loc(err))
            problems.append(
                Problem(file=name, line=line, message=_describe(err, doc, _source_line(text, line)))
            )
        raise QuestionnaireError(_dedupe(problems)) from None
    problems = [
        Problem(file=name, line=doc.line_of(loc), message=message)
        for loc, message in _semantic_problems(questionnaire, doc)
    ]
    if problems:
        raise QuestionnaireError(_dedupe(problems))
    warnings = [
        Problem(file=name, line=doc.line_of(loc), message=message, warning=True)
        for loc, message in questionnaire_warnings(questionnaire)
    ]
    return Checked(questionnaire, _dedupe(warnings), doc)


def _source_line(text: str | bytes, line: int) -> str:
    """The text of one line of the file (1-based), for messages that quote what was written."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _yaml_hint(message: str, source: str) -> str:
    """YAML's own complaint, with the usual cause an author can fix."""
    indent = source[: len(source) - len(source.lstrip(" \t"))]
    if "\t" in indent or "'\\t'" in message:
        return "a tab in the indentation: YAML needs spaces; indent with spaces only"
    if "mapping values are not allowed here" in message:
        return f"{message}; a text containing ': ' must be written in quotes"
    if "found character '%' that cannot start any token" in message or "'@'" in message or "'`'" in message:
        return f"{message}; write the text in quotes"
    return message


def _error_loc(err: Any) -> Path_:
    """Where in the file an error belongs: for an unknown type, the line of its `type:` key."""
    loc = tuple(err["loc"])
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return (*loc, "type")
    return loc


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int, str]] = set()
    result = []
    for p in problems:
        if (p.line, p.message) not in seen:
            seen.add((p.line, p.message))
            result.append(p)
    return sorted(result, key=lambda p: p.line)


#: Options a question type has without listing them, as an author reads them.
_FIXED_OPTIONS = {
    "scale": "a scale's options are fixed (1 Completely satisfied ... 7 Completely dissatisfied): remove"
    " options (dont_know: true / refused: true add 98 / 99)",
    "yes_no": "a yes_no question's options are fixed (1 Yes, 2 No): remove options (dont_know: true /"
    " refused: true add 98 / 99)",
    "number": "a number question has no options: remove options",
    "date": "a date question has no options: remove options",
    "text": "a text question has no options: remove options",
    "statement": "a statement has no options: it is read out and takes no answer",
}


def _describe(err: Any, doc: MarkedDocument, source: str) -> str:
    """One of pydantic's errors in words an author can act on; never pydantic's own wording."""
    loc = _keys_of(err["loc"])
    where = ".".join(loc)
    key = loc[-1] if loc else ""
    kind = err["type"]
    given = err.get("input")
    ctx = err.get("ctx") or {}
    parent = ".".join(loc[:-1])

    def at(message: str) -> str:
        return f"{where}: {message}" if where else message

    if kind == "extra_forbidden":
        if key == "options":
            question_type = _value_at(doc.data, tuple(err["loc"][:-1]) + ("type",))
            if question_type in _FIXED_OPTIONS:
                return f"{parent}: {_FIXED_OPTIONS[question_type]}"
        return f"unknown key '{key}'" + (f" in {parent}" if parent else "")
    if kind == "missing":
        return f"missing required key '{key}'" + (f" in {parent}" if parent else "")
    if kind == "union_tag_invalid":
        tag = ctx.get("tag", "?")
        return at(f"unknown question type '{tag}'; expected one of {', '.join(QUESTION_TYPES)}")
    if kind == "union_tag_not_found":
        return at(f"missing required key 'type' (one of {', '.join(QUESTION_TYPES)})")
    if kind in ("value_error", "assertion_error"):
        return at(str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, "))
    if key == "code" and kind in ("less_than_equal", "greater_than_equal") and given in (DONT_KNOW, REFUSED):
        flag = "dont_know" if given == DONT_KNOW else "refused"
        return at(
            f"code {given} is kept for {SPECIAL_LABELS[given].lower()}: remove this option and write"
            f" {flag}: true on the question (use dont_know: true / refused: true)"
        )
    if key == "code" and kind in ("less_than_equal", "greater_than_equal"):
        return at(
            f"code {given} is out of range: codes run from 0 to 97 (98 and 99 are don't know and refused)"
        )
    if kind == "string_type":
        return at(_not_text(given, key, source))
    if kind == "string_too_short":
        return at("must not be empty")
    if kind == "string_pattern_mismatch":
        return at(
            f"'{given}' is not a valid id: use lower case letters, digits and _, starting with a letter"
            " (at most 64 characters)"
        )
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return at(f"expected a whole number such as 3, found {_shown(given, key, source)}")
    if kind in ("float_type", "float_parsing", "finite_number"):
        return at(f"expected a number, found {_shown(given, key, source)}")
    if kind in ("bool_type", "bool_parsing"):
        return at(f"expected true or false, found {_shown(given, key, source)}")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }
        bound = next(iter(ctx.values()), "?")
        return at(f"must be {words[kind]} {bound}, found {_shown(given, key, source)}")
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        items = "options" if key == "options" else "items"
        return at(f"needs at least {least} {items}" if least != 1 else f"needs at least one item under {key}")
    if kind == "too_long":
        return at(f"allows at most {ctx.get('max_length')} items")
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace("'", "")
        return at(f"'{given}' is not allowed here; use {expected}")
    if kind.startswith("date") or kind.startswith("datetime"):
        return at(f"expected a date written like 2026-04-01, found {_shown(given, key, source)}")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return at(f"expected keys and values (key: value), found {_kind_of(given)}")
    if kind in ("list_type", "tuple_type", "set_type"):
        return at(
            f"expected a list (one item per line starting with '- ', or [a, b]), found {_kind_of(given)}"
        )
    message = str(err["msg"])
    for raw, plain in (("Input should be", "expected"), ("Value error, ", ""), ("Input", "the value")):
        message = message.replace(raw, plain)
    return at(message)


def _value_at(data: Any, loc: Sequence[Any]) -> Any:
    """The value at a pydantic location in the loaded data (None where it does not exist)."""
    for part in loc:
        found = isinstance(data, dict) and part in data
        found = found or isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if found:
            data = data[part]
        elif _is_tag(part):
            continue
        else:
            return None
    return data


def _written(key: str, source: str) -> str | None:
    """The word written for `key` on its line, as the author typed it (None when it cannot be found)."""
    pattern = rf"(?:^|[\s{{,])-?\s*{re.escape(key)}\s*:\s*([^,}}\]#\s][^,}}\]#]*?)\s*(?:[,}}\]#]|$)"
    match = re.search(pattern, source) if key and not key.isdigit() else None
    if match:
        return match.group(1)
    item = re.match(r"^\s*-\s+([^#]+?)\s*(?:#|$)", source)
    return item.group(1) if item and key.isdigit() else None


def _not_text(given: Any, key: str, source: str) -> str:
    if isinstance(given, bool):
        word = _written(key, source) or ("Yes" if given else "No")
        return f'YAML reads {word} as {str(given).lower()}; write it in quotes: "{word}"'
    if given is None:
        return "is empty: write the text, or remove the key"
    if isinstance(given, int | float | date):
        word = _written(key, source) or str(given)
        return (
            f"expected text, found {_kind_of(given)} {word}; if it is meant as text,"
            f' write it in quotes: "{word}"'
        )
    if isinstance(given, dict):
        return (
            "expected text, found keys and values: a text containing ': ' must be written in quotes"
            " (or as a folded block, text: >-)"
        )
    return f"expected text, found {_kind_of(given)}; a text starting with [ or {{ must be written in quotes"


def _shown(given: Any, key: str, source: str) -> str:
    if isinstance(given, str):
        return f"'{given}'"
    if isinstance(given, bool):
        return str(given).lower()
    if given is None:
        return "nothing"
    if isinstance(given, int | float):
        return str(given)
    return _kind_of(given)


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "keys and values"
    if value is None:
        return "nothing"
    return type(value).__name__


def _keys_of(loc: Sequence[Any]) -> list[str]:
    """An error location without the union tags pydantic puts in it (they are not keys of the file).

    A tag follows a question's list index (its type) and every place a condition stands (ask_if, if,
    not, and the items of all / any), so `text` the key is kept while `text` the question type is not.
    """
    keys: list[str] = []
    expect_tag = False
    for part in loc:
        if expect_tag and (part in QUESTION_TYPES or part in ("answer", "all", "any", "not")):
            expect_tag = False
            continue
        expect_tag = part in ("ask_if", "if", "not") or (
            isinstance(part, int) and bool(keys) and keys[-1] in ("questions", "all", "any")
        )
        keys.append(str(part))
    return keys


def _is_tag(part: Any) -> bool:
    """Whether a location part may be a union tag (used where its position is not known)."""
    return part in QUESTION_TYPES or part == "answer"


# ---------------------------------------------------------------- meaning


def _semantic_problems(q: Questionnaire, doc: MarkedDocument) -> list[tuple[Path_, str]]:
    problems: list[tuple[Path_, str]] = []
    seen_questions: dict[str, QuestionBase] = {}
    seen_sections: set[str] = set()
    locations: dict[str, Path_] = {}

    for s_index, section in enumerate(q.sections):
        s_loc: Path_ = ("sections", s_index)
        if section.id in seen_sections:
            problems.append(((*s_loc, "id"), f"duplicate section id '{section.id}'"))
        seen_sections.add(section.id)
        if section.ask_if is not None:
            problems += _condition_problems(section.ask_if, (*s_loc, "ask_if"), seen_questions, None)
        for q_index, question in enumerate(section.questions):
            q_loc: Path_ = (*s_loc, "questions", q_index)
            if question.id in seen_questions:
                problems.append(((*q_loc, "id"), f"duplicate question id '{question.id}'"))
            if question.ask_if is not None:
                problems += _condition_problems(question.ask_if, (*q_loc, "ask_if"), seen_questions, None)
            codes = [o.code for o in question.options()]
            if len(codes) != len(set(codes)):
                problems.append(((*q_loc, "options"), f"question '{question.id}' has duplicate option codes"))
            problems += _text_problems(question.text, (*q_loc, "text"), seen_questions)
            if question.instruction:
                problems += _text_problems(question.instruction, (*q_loc, "instruction"), seen_questions)
            for r_index, rule in enumerate(question.stop_if):
                r_loc: Path_ = (*q_loc, "stop_if", r_index, "if")
                problems += _condition_problems(rule.if_, r_loc, seen_questions, question)
                if rule.say:
                    with_self = {**seen_questions, question.id: question}
                    problems += _text_problems(rule.say, (*q_loc, "stop_if", r_index, "say"), with_self)
            seen_questions[question.id] = question
            locations[question.id] = q_loc

    problems += _safety_problems(q, locations)
    if q.closing is not None:
        problems += _text_problems(q.closing.say, ("closing", "say"), seen_questions)
        if q.closing.instruction:
            problems += _text_problems(q.closing.instruction, ("closing", "instruction"), seen_questions)
    if q.calls.partial_from is not None and q.calls.partial_from not in seen_questions:
        problems.append(
            (("calls", "partial_from"), f"partial_from names unknown question '{q.calls.partial_from}'")
        )

    reasons: set[str] = set()
    for r_index, eligibility in enumerate(q.eligibility):
        if eligibility.reason in reasons:
            message = f"eligibility reason '{eligibility.reason}' twice"
            problems.append((("eligibility", r_index, "reason"), message))
        reasons.add(eligibility.reason)

    measure_ids: set[str] = set()
    for m_index, measure in enumerate(q.measures):
        m_loc: Path_ = ("measures", m_index)
        if measure.id in measure_ids:
            problems.append(((*m_loc, "id"), f"duplicate measure id '{measure.id}'"))
        measure_ids.add(measure.id)
        target = seen_questions.get(measure.question)
        if target is None:
            problems.append(
                ((*m_loc, "question"), f"measure '{measure.id}' reads unknown question '{measure.question}'")
            )
            continue
        if not target.single_coded:
            problems.append(
                (
                    (*m_loc, "question"),
                    f"measure '{measure.id}' must read a single_choice, scale"
                    f" or yes_no question; '{target.id}' is {getattr(target, 'type', '?')}",
                )
            )
            continue
        routed_by = "its ask_if" if target.ask_if is not None else None
        if routed_by is None and q.section_of(target.id).ask_if is not None:
            routed_by = f"the ask_if of section '{q.section_of(target.id).id}'"
        if routed_by is not None:
            problems.append(
                (
                    (*m_loc, "question"),
                    f"measure '{measure.id}' reads '{target.id}', which {routed_by} skips for some"
                    " respondents: every survey counts in a measure's denominator, so a skipped question"
                    " would look like an answer not recorded; ask it of everyone (remove the ask_if)",
                )
            )
        valid = {o.code for o in target.options()}
        for key in ("positive", "neutral"):
            for c_index, code in enumerate(getattr(measure, key)):
                if code not in valid:
                    problems.append(
                        (
                            (*m_loc, key, c_index),
                            f"measure '{measure.id}': code {code} is not an"
                            f" option of '{target.id}' ({_codes(valid)})",
                        )
                    )
        overlap = set(measure.positive) & set(measure.neutral)
        if overlap:
            problems.append(
                (
                    (*m_loc, "neutral"),
                    f"measure '{measure.id}': codes {sorted(overlap)} are both positive and neutral",
                )
            )
    problems += _consent_problems(q, seen_questions)
    return problems


def _consent_problems(q: Questionnaire, questions: dict[str, QuestionBase]) -> list[tuple[Path_, str]]:
    if q.consents is None:
        return []
    problems: list[tuple[Path_, str]] = []
    used: dict[str, str] = {}
    for kind in CONSENT_KINDS:
        question_id = getattr(q.consents, kind)
        if question_id is None:
            continue
        loc: Path_ = ("consents", kind)
        target = questions.get(question_id)
        if target is None:
            problems.append((loc, f"consents.{kind} names unknown question '{question_id}'"))
            continue
        if getattr(target, "type", None) != "yes_no":
            problems.append(
                (
                    loc,
                    f"consents.{kind}: '{question_id}' must be a yes_no question (1 Yes is the victim's"
                    f" agreement); it is {getattr(target, 'type', '?')}",
                )
            )
        if question_id in used:
            problems.append(
                (
                    loc,
                    f"consents.{kind} and consents.{used[question_id]} name the same question: ask each"
                    " consent separately",
                )
            )
        used[question_id] = kind
    return problems


# ---------------------------------------------------------------- warnings


def questionnaire_warnings(q: Questionnaire) -> list[tuple[Path_, str]]:
    """What is allowed but probably not what the author meant; the file still loads."""
    warnings: list[tuple[Path_, str]] = []
    for s_index, section in enumerate(q.sections):
        for q_index, question in enumerate(section.questions):
            q_loc: Path_ = ("sections", s_index, "questions", q_index)
            texts: list[tuple[Path_, str]] = [((*q_loc, "text"), question.text)]
            if question.instruction:
                texts.append(((*q_loc, "instruction"), question.instruction))
            texts += [
                ((*q_loc, "stop_if", i, "say"), rule.say)
                for i, rule in enumerate(question.stop_if)
                if rule.say
            ]
            for loc, text in texts:
                for name in _piped_answers(text):
                    if name == question.id or name not in {x.id for x in q.questions()}:
                        continue
                    reason = _may_be_unanswered(q, q.question(name), section, question)
                    if reason:
                        warnings.append(
                            (
                                loc,
                                f"text inserts {{answer.{name}}}, but '{name}' {reason} when '{question.id}'"
                                " is asked: it would read [not answered]; pipe only from a question this"
                                " one's ask_if makes sure was answered",
                            )
                        )
    if q.consents is None:
        legacy = [f"{kind}: consent_{kind}" for kind in CONSENT_KINDS if q.consent_question(kind)]
        lookalikes = [
            x.id
            for x in q.questions()
            if "consent" in x.id and x.id not in {f"consent_{k}" for k in CONSENT_KINDS}
        ]
        if legacy:
            first = next(kind for kind in CONSENT_KINDS if q.consent_question(kind))
            warnings.append(
                (
                    _location(q, f"consent_{first}"),
                    "consents are found by their question ids only; declare them so that a misspelt id is"
                    f" an error: consents: {{{', '.join(legacy)}}}",
                )
            )
        elif lookalikes and getattr(q.question(lookalikes[0]), "type", None) == "yes_no":
            warnings.append(
                (
                    _location(q, lookalikes[0]),
                    f"'{lookalikes[0]}' looks like a consent question, but no consents are declared: the"
                    " supervisors' feedback screen will show nothing from this survey; declare it, e.g."
                    f" consents: {{feedback: {lookalikes[0]}}}",
                )
            )
    return warnings


def _location(q: Questionnaire, question_id: str) -> Path_:
    for s_index, section in enumerate(q.sections):
        for q_index, question in enumerate(section.questions):
            if question.id == question_id:
                return ("sections", s_index, "questions", q_index)
    return ()


def _piped_answers(text: str) -> list[str]:
    names = []
    for match in PLACEHOLDER.finditer(text):
        space, _, name = match.group(1).partition(".")
        if space == "answer":
            names.append(name)
    return names


def _may_be_unanswered(
    q: Questionnaire, piped: QuestionBase, section: Section, asking: QuestionBase
) -> str | None:
    """Why `piped` may have no answer when `asking` is asked; None when its answer is sure."""
    for condition in (section.ask_if, asking.ask_if):
        for test in _conjuncts(condition):
            if test.question == piped.id and (test.operator() != "answered" or test.answered is True):
                return None
    if piped.ask_if is not None or q.section_of(piped.id).ask_if is not None:
        return "is routed (ask_if) and may have been skipped"
    if not piped.required:
        return "may be left blank (required: false)"
    return None


def _conjuncts(condition: Condition | None) -> Iterator[AnswerCondition]:
    """The answer tests that must all hold for `condition` to hold (the parts of nested all:)."""
    if isinstance(condition, AnswerCondition):
        yield condition
    elif isinstance(condition, AllCondition):
        for part in condition.all:
            yield from _conjuncts(part)


def _codes(codes: set[int]) -> str:
    return "codes " + ", ".join(str(c) for c in sorted(codes))


def _condition_problems(
    condition: Condition, loc: Path_, earlier: dict[str, QuestionBase], current: QuestionBase | None
) -> list[tuple[Path_, str]]:
    """A condition may only name questions asked earlier (or, in stop_if, the question itself)."""
    problems: list[tuple[Path_, str]] = []
    for test in condition_questions(condition):
        target = earlier.get(test.question)
        if target is None and current is not None and test.question == current.id:
            target = current
        if target is None:
            problems.append(
                (loc, f"condition names question '{test.question}', which is not asked before this point")
            )
            continue
        op = test.operator()
        if op in ("in_", "not_in") and not getattr(test, op):
            name = "in" if op == "in_" else op
            always = "never" if op == "in_" else "always"
            problems.append(
                (loc, f"condition: '{name}' lists no codes, so it is {always} true: list the codes")
            )
            continue
        if op in ("in_", "not_in"):
            if isinstance(target, NumberQuestion | DateQuestion | TextQuestion):
                allowed = {o.code for o in target.options()}
                if not allowed:
                    problems.append(
                        (
                            loc,
                            f"condition: '{target.id}' is a {target.type} question without codes;"
                            " use answered, eq, gt, ge, lt or le",
                        )
                    )
                    continue
            else:
                allowed = {o.code for o in target.options()}
            for code in getattr(test, op) or []:
                if code not in allowed:
                    problems.append(
                        (loc, f"condition: code {code} is not an option of '{target.id}' ({_codes(allowed)})")
                    )
        elif op in ("eq", "gt", "ge", "lt", "le") and not isinstance(target, NumberQuestion):
            problems.append(
                (loc, f"condition: '{op}' compares numbers, but '{target.id}' is not a number question")
            )
    return problems


def _text_problems(text: str, loc: Path_, earlier: dict[str, QuestionBase]) -> list[tuple[Path_, str]]:
    problems: list[tuple[Path_, str]] = []
    for match in PLACEHOLDER.finditer(text):
        inner = match.group(1)
        space, _, name = inner.partition(".")
        if space == "sample" and name in SAMPLE_FIELDS or space == "caller" and name in CALLER_FIELDS:
            continue
        if space == "answer":
            if name not in earlier:
                problems.append(
                    (loc, f"text inserts {{{inner}}}, but '{name}' is not asked before this point")
                )
            continue
        problems.append(
            (
                loc,
                f"unknown placeholder {{{inner}}}; use {{sample.FIELD}} ({', '.join(SAMPLE_FIELDS)}),"
                f" {{caller.name}}, {{caller.first_name}} or {{answer.QUESTION}}",
            )
        )
    stray = PLACEHOLDER.sub("", text)
    if "{" in stray or "}" in stray:
        problems.append((loc, "unbalanced { or } in text"))
    return problems


def _safety_problems(q: Questionnaire, locations: dict[str, Path_]) -> list[tuple[Path_, str]]:
    flagged = [question for question in q.questions() if question.safety_check]
    problems: list[tuple[Path_, str]] = []
    if q.calls.safety_check and not flagged:
        problems.append(
            (("calls", "safety_check"), "safety_check: true needs one question marked safety_check: true")
        )
    if flagged and not q.calls.safety_check:
        problems.append(
            (
                (*locations[flagged[0].id], "safety_check"),
                "a question is marked safety_check but calls.safety_check is not true",
            )
        )
    for extra in flagged[1:]:
        problems.append(((*locations[extra.id], "safety_check"), "only one question may be the safety check"))
    if flagged:
        question = flagged[0]
        loc = locations[question.id]
        if not question.single_coded:
            problems.append(((*loc, "type"), "the safety check must be a yes_no or single_choice question"))
        if not any(rule.outcome == StopOutcome.UNSAFE_TO_TALK for rule in question.stop_if):
            problems.append(
                ((*loc, "stop_if"), "the safety check needs a stop_if rule with outcome unsafe_to_talk")
            )
        if q.sections[0].questions and question.id not in {x.id for x in q.sections[0].questions}:
            problems.append(
                (
                    (*loc, "safety_check"),
                    "the safety check must be in the first section, before the purpose of the call is stated",
                )
            )
    return problems
