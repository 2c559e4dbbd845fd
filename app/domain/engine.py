"""The interview engine: the only place where routing is evaluated.

It is a pure function of (questionnaire, answers so far). Given the answers it says which question
comes next, whether a stop rule has ended the call, whether the interview is complete, and which
answers a change has routed away from. It keeps no state, so resuming after a crash is simply
calling it again with the answers that were stored.

Routing uses three-valued logic: a condition on a question that is still to be asked is *undecided*,
not false, so changing an early answer never discards a later one whose fate is not yet known.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any

from app.domain.questionnaire import (
    DONT_KNOW,
    PLACEHOLDER,
    REFUSED,
    SPECIAL_LABELS,
    AllCondition,
    AnswerCondition,
    AnyCondition,
    ChoiceQuestion,
    Condition,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    Section,
    Statement,
    StopRule,
    TextQuestion,
)
from app.domain.text import strip_unsafe
from app.errors import SurveyError

Value = int | float | str | date | tuple[int, ...]


@dataclass(frozen=True)
class Answer:
    """One answer as stored: an option code (or 98/99), or a value, or neither (left blank)."""

    code: int | None = None
    value: Value | None = None

    @property
    def blank(self) -> bool:
        return self.code is None and self.value is None

    def codes(self) -> tuple[int, ...]:
        """Codes this answer selects: one for single-coded, several for multiple choice."""
        if self.code is not None:
            return (self.code,)
        if isinstance(self.value, tuple):
            return self.value
        return ()

    def stored_value(self) -> str | None:
        """The text stored in the database's value column."""
        if self.value is None:
            return None
        if isinstance(self.value, tuple):
            return json.dumps(list(self.value))
        if isinstance(self.value, date):
            return self.value.isoformat()
        if isinstance(self.value, float) and self.value.is_integer():
            return str(int(self.value))
        return str(self.value)

    @staticmethod
    def from_stored(question: QuestionBase, code: int | None, value: str | None) -> Answer:
        """Rebuild an answer from the database's (code, value) columns."""
        if value is None:
            return Answer(code=code)
        parsed: Value
        if isinstance(question, MultipleChoice):
            parsed = tuple(int(c) for c in json.loads(value))
        elif isinstance(question, NumberQuestion):
            number = float(value)
            parsed = int(number) if question.integer and number.is_integer() else number
        elif isinstance(question, DateQuestion):
            parsed = date.fromisoformat(value)
        else:
            parsed = value
        return Answer(code=code, value=parsed)


class AnswerError(SurveyError):
    """An answer the question does not accept; the message is shown beside the field."""


class Status(Enum):
    ANSWERED = "answered"
    PENDING = "pending"  # on the route, not yet asked
    UNDECIDED = "undecided"  # depends on a question still to be asked
    OFF = "off"  # routed away from (or after a stop)


@dataclass(frozen=True)
class Stop:
    """A stop rule that fired after `question_id` was answered."""

    question_id: str
    rule: StopRule


@dataclass(frozen=True)
class Route:
    """Where an interview stands, given its answers."""

    statuses: dict[str, Status]
    stop: Stop | None
    next_question_id: str | None

    @property
    def complete(self) -> bool:
        return self.stop is None and self.next_question_id is None

    @property
    def finished(self) -> bool:
        """Complete, or ended by a stop rule: nothing more is asked."""
        return self.next_question_id is None

    def asked(self) -> list[str]:
        return [qid for qid, status in self.statuses.items() if status is Status.ANSWERED]

    def off_route(self) -> list[str]:
        return [qid for qid, status in self.statuses.items() if status is Status.OFF]


@dataclass(frozen=True)
class Applied:
    """The result of giving an answer."""

    answers: dict[str, Answer]
    discarded: dict[str, Answer] = field(default_factory=dict)
    route: Route | None = None


class Engine:
    """Routing, validation and navigation for one questionnaire."""

    def __init__(self, questionnaire: Questionnaire) -> None:
        self.questionnaire = questionnaire
        self._order: list[tuple[Section, QuestionBase]] = [
            (section, q) for section in questionnaire.sections for q in section.questions
        ]
        self._index = {q.id: i for i, (_, q) in enumerate(self._order)}

    # ------------------------------------------------------------ routing

    def route(self, answers: Mapping[str, Answer]) -> Route:
        statuses: dict[str, Status] = {}
        stop: Stop | None = None
        next_id: str | None = None
        for section, question in self._order:
            if stop is not None:
                statuses[question.id] = Status.OFF
                continue
            on = _and(
                self._eval(section.ask_if, answers, statuses), self._eval(question.ask_if, answers, statuses)
            )
            if on is False:
                status = Status.OFF
            elif on is None:
                status = Status.UNDECIDED
            elif question.id in answers:
                status = Status.ANSWERED
            else:
                status = Status.PENDING
                if next_id is None:
                    next_id = question.id
            statuses[question.id] = status
            if status is Status.ANSWERED:
                for rule in question.stop_if:
                    if self._eval(rule.if_, answers, statuses) is True:
                        stop = Stop(question.id, rule)
                        break
        if stop is not None:
            next_id = None
        return Route(statuses=statuses, stop=stop, next_question_id=next_id)

    def next_question(self, answers: Mapping[str, Answer]) -> QuestionBase | None:
        """The first question on the route still to be asked; None once finished."""
        next_id = self.route(answers).next_question_id
        return None if next_id is None else self.questionnaire.question(next_id)

    def apply(self, answers: Mapping[str, Answer], question_id: str, answer: Answer) -> Applied:
        """Give (or change) an answer; answers the change routes away from are discarded and returned."""
        question = self.questionnaire.question(question_id)
        answer = self.validate(question, answer)
        route_before = self.route(answers)
        status = route_before.statuses.get(question_id)
        if status not in (Status.ANSWERED, Status.PENDING):
            raise AnswerError(f"question '{question_id}' is not on the route of this interview")
        new = dict(answers)
        new[question_id] = answer
        route = self.route(new)
        discarded = {qid: new.pop(qid) for qid in route.off_route() if qid in new}
        return Applied(answers=new, discarded=discarded, route=route)

    def previous(self, answers: Mapping[str, Answer], question_id: str | None) -> str | None:
        """The answered question before `question_id` on the route (None at the start)."""
        statuses = self.route(answers).statuses
        end = self._index[question_id] if question_id is not None else len(self._order)
        for _, question in reversed(self._order[:end]):
            if statuses.get(question.id) is Status.ANSWERED:
                return question.id
        return None

    def following(self, answers: Mapping[str, Answer], question_id: str) -> str | None:
        """The next question after `question_id` on the route, answered or not (None when finished)."""
        route = self.route(answers)
        if route.stop is not None:
            return None
        for _, question in self._order[self._index[question_id] + 1 :]:
            status = route.statuses.get(question.id)
            if status is Status.ANSWERED:
                return question.id
            if status in (Status.PENDING, Status.UNDECIDED):
                return route.next_question_id
        return None

    def progress(self, answers: Mapping[str, Answer]) -> tuple[int, int]:
        """(answered, answered + still possible): a fair 'question n of about m'."""
        statuses = self.route(answers).statuses
        answered = sum(1 for s in statuses.values() if s is Status.ANSWERED)
        possible = sum(1 for s in statuses.values() if s is not Status.OFF)
        return answered, possible

    def reached(self, answers: Mapping[str, Answer], question_id: str) -> bool:
        """True when the interview has got as far as `question_id` (used for partial interviews)."""
        target = self._index[question_id]
        return any(self._index[qid] >= target for qid in answers if qid in self._index)

    # ------------------------------------------------------------ conditions

    def holds(
        self, condition: Condition | None, answers: Mapping[str, Answer], statuses: Mapping[str, Status]
    ) -> bool | None:
        """A condition's value for these answers and statuses (None: not decided yet).

        For tools that walk the routes without an interview (length estimates, practice traces).
        """
        return self._eval(condition, answers, statuses)

    def _eval(
        self, condition: Condition | None, answers: Mapping[str, Answer], statuses: Mapping[str, Status]
    ) -> bool | None:
        """Kleene three-valued evaluation: None means 'not decided yet'."""
        if condition is None:
            return True
        if isinstance(condition, AllCondition):
            result: bool | None = True
            for part in condition.all:
                result = _and(result, self._eval(part, answers, statuses))
            return result
        if isinstance(condition, AnyCondition):
            result = False
            for part in condition.any:
                value = self._eval(part, answers, statuses)
                if value is True:
                    return True
                if value is None:
                    result = None
            return result
        if isinstance(condition, AnswerCondition):
            return self._test(condition, answers, statuses)
        inner = self._eval(condition.not_, answers, statuses)
        return None if inner is None else not inner

    def _test(
        self, test: AnswerCondition, answers: Mapping[str, Answer], statuses: Mapping[str, Status]
    ) -> bool | None:
        status = statuses.get(test.question)
        if status in (Status.PENDING, Status.UNDECIDED):
            return None
        answer = answers.get(test.question) if status is Status.ANSWERED else None
        op = test.operator()
        if op == "answered":
            has = answer is not None and not answer.blank and answer.code not in (DONT_KNOW, REFUSED)
            return has is test.answered
        codes = answer.codes() if answer is not None else ()
        if op == "in_":
            return any(c in (test.in_ or []) for c in codes)
        if op == "not_in":
            return (
                answer is not None and not answer.blank and not any(c in (test.not_in or []) for c in codes)
            )
        number = answer.value if answer is not None else None
        if not isinstance(number, int | float) or isinstance(number, bool):
            return False
        bound: float = getattr(test, op)
        result: bool = {
            "eq": number == bound,
            "gt": number > bound,
            "ge": number >= bound,
            "lt": number < bound,
            "le": number <= bound,
        }[op]
        return result

    # ------------------------------------------------------------ validation

    def validate(self, question: QuestionBase, answer: Answer) -> Answer:
        """Check an answer against its question; return it normalised or raise AnswerError."""
        options = {o.code for o in question.options()}
        if answer.blank:
            if question.required:
                raise AnswerError("an answer is required")
            return answer
        if answer.code is not None:
            if answer.value is not None:
                raise AnswerError("give a code or a value, not both")
            if answer.code not in options:
                raise AnswerError(f"{answer.code} is not one of the options")
            if isinstance(question, MultipleChoice) and answer.code not in (DONT_KNOW, REFUSED):
                return Answer(value=(answer.code,))
            return answer
        if isinstance(question, MultipleChoice):
            return Answer(value=self._validate_choices(question, answer.value))
        if isinstance(question, ChoiceQuestion):
            raise AnswerError("choose one of the options")
        if isinstance(question, NumberQuestion):
            return Answer(value=_validate_number(question, answer.value))
        if isinstance(question, DateQuestion):
            return Answer(value=_validate_date(question, answer.value))
        if isinstance(question, TextQuestion):
            return Answer(value=_validate_text(question, answer.value, required=question.required))
        if isinstance(question, Statement):
            raise AnswerError("a statement is read out; it takes no answer")
        raise AnswerError("unsupported question")  # pragma: no cover - every type is handled above

    def _validate_choices(self, question: MultipleChoice, value: Value | None) -> tuple[int, ...]:
        if not isinstance(value, tuple | list) or not value:
            raise AnswerError("choose at least one option")
        allowed = {o.code for o in question.choices}
        chosen: list[int] = []
        for code in value:
            if not isinstance(code, int) or code not in allowed:
                raise AnswerError(f"{code} is not one of the options")
            if code not in chosen:
                chosen.append(code)
        if question.max_choices is not None and len(chosen) > question.max_choices:
            raise AnswerError(f"choose at most {question.max_choices}")
        return tuple(sorted(chosen))

    def parse(self, question: QuestionBase, text: str) -> Answer:
        """Turn what a caller typed into an answer (number, date or text questions)."""
        stripped = text.strip()
        if not stripped:
            return self.validate(question, Answer())
        if isinstance(question, NumberQuestion):
            try:
                number = float(stripped.replace(",", ""))
            except ValueError:
                raise AnswerError(f"'{stripped}' is not a number") from None
            return self.validate(question, Answer(value=number))
        if isinstance(question, DateQuestion):
            return self.validate(question, Answer(value=parse_date(stripped)))
        if isinstance(question, TextQuestion):
            return self.validate(question, Answer(value=text.strip()))
        if isinstance(question, ChoiceQuestion):
            codes = [part for part in re.split(r"[\s,]+", stripped) if part]
            try:
                numbers = tuple(int(c) for c in codes)
            except ValueError:
                raise AnswerError("type the option numbers") from None
            if isinstance(question, MultipleChoice) and not set(numbers) & {DONT_KNOW, REFUSED}:
                return self.validate(question, Answer(value=numbers))
            if len(numbers) != 1:
                raise AnswerError("choose one option")
            return self.validate(question, Answer(code=numbers[0]))
        raise AnswerError("unsupported question")  # pragma: no cover


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _validate_number(question: NumberQuestion, value: Value | None) -> int | float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or math.isinf(value)
    ):
        raise AnswerError("enter a number")
    if question.integer:
        if not float(value).is_integer():
            raise AnswerError("enter a whole number")
        value = int(value)
    if question.min is not None and value < question.min:
        raise AnswerError(f"the smallest allowed is {_fmt(question.min)}")
    if question.max is not None and value > question.max:
        raise AnswerError(f"the largest allowed is {_fmt(question.max)}")
    return value


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _validate_date(question: DateQuestion, value: Value | None, today: date | None = None) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise AnswerError("enter a date such as 21/03/2026")
    today = today or date.today()
    if not question.allow_future and value > today:
        raise AnswerError("the date is in the future")
    if question.earliest is not None and value < question.earliest:
        raise AnswerError(f"the date is before {question.earliest:%d/%m/%Y}")
    if question.latest is not None and value > question.latest:
        raise AnswerError(f"the date is after {question.latest:%d/%m/%Y}")
    return value


def _validate_text(question: TextQuestion, value: Value | None, *, required: bool) -> str:
    if not isinstance(value, str):
        raise AnswerError("enter some text")
    value = strip_unsafe(value, keep="\t\n").strip()  # typed or pasted terminal controls
    if len(value) > question.max_length:
        raise AnswerError(f"at most {question.max_length} characters ({len(value)} given)")
    if not value and required:
        raise AnswerError("an answer is required")
    return value


def parse_date(text: str) -> date:
    """Accept ISO (2026-03-21) and UK (21/03/2026, 21-03-2026, 21.03.2026) dates."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise AnswerError(f"'{text}' is not a date; use DD/MM/YYYY")


# ---------------------------------------------------------------- piping


def render_text(
    questionnaire: Questionnaire,
    text: str,
    *,
    sample: Mapping[str, Any] | None = None,
    caller: Mapping[str, Any] | None = None,
    answers: Mapping[str, Answer] | None = None,
) -> str:
    """Insert {sample.X}, {caller.X} and {answer.Q} into read-out text."""
    sample = sample or {}
    caller = caller or {}
    answers = answers or {}

    def replace(match: re.Match[str]) -> str:
        space, _, name = match.group(1).partition(".")
        if space == "sample":
            return _display(sample.get(name))
        if space == "caller":
            return _display(caller.get(name))
        answer = answers.get(name)
        if answer is None or answer.blank:
            return "[not answered]"
        return describe_answer(questionnaire.question(name), answer)

    return PLACEHOLDER.sub(replace, text)


def describe_answer(question: QuestionBase, answer: Answer) -> str:
    """An answer as a person reads it: option labels, formatted dates."""
    if answer.blank:
        return "(left blank)"
    if answer.code is not None:
        if answer.code in SPECIAL_LABELS and not any(o.code == answer.code for o in question.options()):
            return SPECIAL_LABELS[answer.code]
        label = next((o.label for o in question.options() if o.code == answer.code), None)
        return label if label is not None else str(answer.code)
    if isinstance(answer.value, tuple):
        labels = {o.code: o.label for o in question.options()}
        return "; ".join(labels.get(c, str(c)) for c in answer.value)
    return _display(answer.value)


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
