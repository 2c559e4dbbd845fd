"""The questionnaire: a validated, versioned YAML document describing one survey.

Structure is checked by pydantic (unknown keys are errors); meaning (ids, routing, codes, measures,
piping) by `_semantic_problems`. Every problem is reported as FILE:LINE: message.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
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

from app.domain.yamlmarks import MarkedDocument, Path_, YamlProblem, load_marked
from app.errors import SurveyError

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

    @field_validator("version", mode="before")
    @classmethod
    def _whole_version(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("version must be a whole number such as 3")
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

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: formatting and comments do not count, content does."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))

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


class Problem(BaseModel):
    """One thing wrong with a questionnaire file."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class QuestionnaireError(SurveyError):
    """A questionnaire file is not valid; `problems` has one entry per problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def load_questionnaire(path: Path | str) -> Questionnaire:
    """Read and validate one questionnaire file; raise QuestionnaireError listing every problem."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise QuestionnaireError(
            [Problem(file=name, line=1, message=f"cannot read: {exc.strerror}")]
        ) from None
    return parse_questionnaire(raw, name)


def parse_questionnaire(text: str | bytes, name: str = "<questionnaire>") -> Questionnaire:
    try:
        doc = load_marked(text)
    except YamlProblem as exc:
        raise QuestionnaireError([Problem(file=name, line=exc.line, message=exc.message)]) from None
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a single value ({type(doc.data).__name__})"
        message = f"a questionnaire must be a mapping of keys such as id, title, version; found {kind}"
        raise QuestionnaireError([Problem(file=name, line=1, message=message)])
    try:
        questionnaire = Questionnaire.model_validate(doc.data)
    except ValidationError as exc:
        problems = [
            Problem(file=name, line=doc.line_of(_error_loc(err)), message=_describe(err))
            for err in exc.errors()
        ]
        raise QuestionnaireError(_dedupe(problems)) from None
    problems = [
        Problem(file=name, line=doc.line_of(loc), message=message)
        for loc, message in _semantic_problems(questionnaire, doc)
    ]
    if problems:
        raise QuestionnaireError(_dedupe(problems))
    return questionnaire


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


def _describe(err: Any) -> str:
    loc: list[str] = []
    for part in err["loc"]:
        if not _is_tag(part) and (not loc or loc[-1] != str(part) or str(part) not in ("all", "any", "not")):
            loc.append(str(part))
    where = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{loc[-1]}'" + (f" in {'.'.join(loc[:-1])}" if len(loc) > 1 else "")
    if kind == "missing":
        return f"missing required key '{loc[-1]}'" + (f" in {'.'.join(loc[:-1])}" if len(loc) > 1 else "")
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag", "?")
        return f"{where}: unknown question type '{tag}'; expected one of {', '.join(QUESTION_TYPES)}"
    if kind == "union_tag_not_found":
        return f"{where}: missing required key 'type' (one of {', '.join(QUESTION_TYPES)})"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _is_tag(part: Any) -> bool:
    """Union tags pydantic puts in an error location; they are not keys of the file."""
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
    return problems


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
