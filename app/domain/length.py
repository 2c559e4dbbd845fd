"""How long an interview takes: the shortest, a typical and the longest complete route, before fielding.

A question's time is the time to read it out plus the time to answer it. Reading runs at
`WORDS_PER_MINUTE` (150 words a minute, 2.5 a second: clear, unhurried reading to someone on the telephone,
slower than conversation); the words are the text as piped (a placeholder counts as the words it usually
inserts) and, where the caller reads the options out, their labels (a scale always, other questions when
the instruction says "Read out" and not "Do not read out"). Instructions and stop rules' closing words are
not read during a complete interview and do not count. `ANSWER_SECONDS` adds the time to hear, code and
confirm an answer by question type; a text question left blank takes `BLANK_TEXT_SECONDS`.

Once interviews exist, the observed median time per question (stored with every answer) replaces the
estimate for each question with at least `MIN_OBSERVATIONS` timings.

Routes are complete interviews only: a route a stop rule ends (wrong number, refusal, unsafe to talk) is
not an interview. They are found exactly, without listing every route: walking the questions in order,
routes are merged whenever the answers that later conditions can still read agree (two satisfied
ratings route alike when every later condition asks only whether the rating was 5, 6 or 7). Each route
keeps its shortest and longest time and its share of the typical one; "typical" assumes every listed
option is equally likely (don't know, refused and the all-options choice of a multiple choice count only
for the shortest and longest), a blank text as likely as a typed one, and counts only routes that finish.
If a questionnaire's routing is so entangled that more than `MAX_ROUTES` distinct routes are open at once,
the least likely are dropped and the estimate says it is approximate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date

from app.domain.engine import Answer, Engine, Status
from app.domain.questionnaire import (
    DONT_KNOW,
    PLACEHOLDER,
    REFUSED,
    AnswerCondition,
    Condition,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    Scale,
    Section,
    Statement,
    TextQuestion,
    condition_questions,
)

WORDS_PER_MINUTE = 150
#: Seconds to hear, code and confirm an answer, after the question has been read.
ANSWER_SECONDS = {
    "yes_no": 4.0,
    "single_choice": 6.0,
    "scale": 6.0,
    "multiple_choice": 10.0,
    "number": 6.0,
    "date": 8.0,
    "text": 40.0,
    "statement": 2.0,
}
BLANK_TEXT_SECONDS = 5.0
#: Words a placeholder usually inserts ("5 January 2026" is three).
PLACEHOLDER_WORDS = {"sample.report_date": 3, "sample.victim_name": 2, "caller.name": 2}
ANSWER_PLACEHOLDER_WORDS = 2
MIN_OBSERVATIONS = 5
MAX_ROUTES = 20_000

_WORD = re.compile(r"\w[\w'’-]*")
_DO_NOT_READ = re.compile(r"\b(do not|don't|never) read\b", re.IGNORECASE)
_READ_OUT = re.compile(r"\bread out\b", re.IGNORECASE)


# ---------------------------------------------------------------- one question


def read_out_words(question: QuestionBase) -> int:
    """Words the caller reads out for this question: its text and, where they are read, its options.

    Options already written out in the text ("Would you say you were completely satisfied, ...") are
    read once, not twice.
    """
    words = _words(question.text)
    labels = [o.label for o in question.options() if o.code not in (DONT_KNOW, REFUSED)]
    if options_read_out(question) and not _spelled_out(question.text, labels):
        words += sum(_words(label) for label in labels)
    return words


def _spelled_out(text: str, labels: list[str]) -> bool:
    lowered = text.lower()
    return sum(1 for label in labels if label.lower() in lowered) * 2 >= len(labels)


def options_read_out(question: QuestionBase) -> bool:
    instruction = question.instruction or ""
    if _DO_NOT_READ.search(instruction):
        return False
    return isinstance(question, Scale) or bool(_READ_OUT.search(instruction)) and bool(question.options())


def estimated_seconds(question: QuestionBase, *, blank: bool = False) -> float:
    """The estimate for one question: reading it out, then answering (a blank text is quick)."""
    reading = read_out_words(question) * 60 / WORDS_PER_MINUTE
    kind = getattr(question, "type", "statement")
    answering = BLANK_TEXT_SECONDS if blank and isinstance(question, TextQuestion) else ANSWER_SECONDS[kind]
    return reading + answering


def _words(text: str) -> int:
    count = 0
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1)
        count += ANSWER_PLACEHOLDER_WORDS if name.startswith("answer.") else PLACEHOLDER_WORDS.get(name, 1)
    return count + len(_WORD.findall(PLACEHOLDER.sub("", text)))


# ---------------------------------------------------------------- observed times


@dataclass(frozen=True)
class ObservedTimes:
    """Median seconds per question from stored interviews, and how many interviews they come from."""

    median_seconds: Mapping[str, float]
    counts: Mapping[str, int]
    interviews: int
    median_interview_seconds: float | None = None  # start to end of a whole completed interview

    def usable(self) -> dict[str, float]:
        return {
            qid: s for qid, s in self.median_seconds.items() if self.counts.get(qid, 0) >= MIN_OBSERVATIONS
        }


NO_OBSERVATIONS = ObservedTimes({}, {}, 0)


# ---------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    seconds: float
    questions: int

    @property
    def minutes(self) -> float:
        return self.seconds / 60


@dataclass(frozen=True)
class LengthEstimate:
    """The length of a complete interview along three routes, and what the times were based on."""

    shortest: Route
    typical: Route
    longest: Route
    questions: int  # in the questionnaire
    observed_questions: int  # whose time is an observed median rather than the estimate
    interviews: int  # the observed medians come from this many interviews
    approximate: bool = False
    median_interview_seconds: float | None = None  # observed, whole completed interviews

    @property
    def basis(self) -> str:
        """Which times were used, in a sentence for `show` and `check`."""
        rate = f"{WORDS_PER_MINUTE} words a minute read out, plus answering time by question type"
        if self.observed_questions == 0:
            return f"estimated from the words ({rate})"
        if self.observed_questions == self.questions:
            return f"observed median time per question, from {self.interviews} interviews"
        return (
            f"observed median time per question for {self.observed_questions} of {self.questions} questions"
            f" (from {self.interviews} interviews); estimated for the rest ({rate})"
        )

    def summary(self) -> str:
        tilde = "about " if self.approximate else ""
        return (
            f"{tilde}{_mmss(self.shortest.seconds)} shortest ({self.shortest.questions} questions),"
            f" {_mmss(self.typical.seconds)} typical ({self.typical.questions}),"
            f" {_mmss(self.longest.seconds)} longest ({self.longest.questions})"
        )

    def brief(self) -> str:
        tilde = "about " if self.approximate else ""
        return (
            f"{tilde}{_mmss(self.typical.seconds)} typical,"
            f" {_mmss(self.shortest.seconds, unit=False)} to {_mmss(self.longest.seconds)}"
        )


def _mmss(seconds: float, *, unit: bool = True) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}" + (" min" if unit else "")


class NoCompleteRoute(ValueError):
    """Every route ends in a stop rule: no interview can be completed."""


def estimate_length(
    questionnaire: Questionnaire, observed: ObservedTimes = NO_OBSERVATIONS
) -> LengthEstimate:
    """The shortest, typical and longest complete interview; raise NoCompleteRoute if there is none."""
    walk = _Walk(questionnaire, observed.usable())
    shortest, typical, longest, approximate = walk.run()
    used = sum(1 for q in questionnaire.questions() if q.id in walk.observed)
    return LengthEstimate(
        shortest=shortest,
        typical=typical,
        longest=longest,
        questions=len(questionnaire.questions()),
        observed_questions=used,
        interviews=observed.interviews if used else 0,
        approximate=approximate,
        median_interview_seconds=observed.median_interview_seconds if observed.interviews else None,
    )


def length_warnings(questionnaire: Questionnaire, estimate: LengthEstimate) -> list[str]:
    """The check's warning when the typical interview runs over the declared target."""
    target = questionnaire.target_minutes
    if target is None or estimate.typical.seconds <= target * 60:
        return []
    return [
        f"a typical interview takes {_mmss(estimate.typical.seconds)}, over target_minutes: {target}"
        f" ({estimate.basis}); shorten it or raise the target"
    ]


@dataclass
class _Tally:
    """The routes merged into one state: their extremes and their share of the typical route."""

    answers: dict[str, Answer]
    statuses: dict[str, Status]
    low: tuple[float, int]
    high: tuple[float, int]
    weight: float
    weighted_seconds: float
    weighted_questions: float


class _Walk:
    def __init__(self, questionnaire: Questionnaire, observed: Mapping[str, float]) -> None:
        self.q = questionnaire
        self.engine = Engine(questionnaire)
        self.observed = dict(observed)
        self.order: list[tuple[Section, QuestionBase]] = [
            (s, q) for s in questionnaire.sections for q in s.questions
        ]
        self.tests: dict[str, list[AnswerCondition]] = {}
        for section, question in self.order:
            for condition in self._conditions(section, question):
                for test in condition_questions(condition):
                    self.tests.setdefault(test.question, []).append(test)
        # alive[i]: questions some condition at or after position i reads.
        self.alive: list[frozenset[str]] = [frozenset()] * (len(self.order) + 1)
        for index in range(len(self.order) - 1, -1, -1):
            section, question = self.order[index]
            read = {t.question for c in self._conditions(section, question) for t in condition_questions(c)}
            self.alive[index] = self.alive[index + 1] | read

    @staticmethod
    def _conditions(section: Section, question: QuestionBase) -> Iterator[Condition]:
        for condition in (section.ask_if, question.ask_if, *(rule.if_ for rule in question.stop_if)):
            if condition is not None:
                yield condition

    def run(self) -> tuple[Route, Route, Route, bool]:
        states: dict[tuple[object, ...], _Tally] = {(): _Tally({}, {}, (0.0, 0), (0.0, 0), 1.0, 0.0, 0.0)}
        approximate = False
        for index, (section, question) in enumerate(self.order):
            keep = self.alive[index + 1]
            following: dict[tuple[object, ...], _Tally] = {}
            for tally in states.values():
                on = self.engine.holds(section.ask_if, tally.answers, tally.statuses) is not False
                on = on and self.engine.holds(question.ask_if, tally.answers, tally.statuses) is not False
                if not on:
                    statuses = {**tally.statuses, question.id: Status.OFF}
                    self._merge(following, keep, tally.answers, statuses, tally, 0.0, 0, 1.0)
                    continue
                candidates = self._candidates(question)
                total_weight = sum(weight for _, weight in candidates) or 1.0
                for answer, weight in candidates:
                    answers = {**tally.answers, question.id: answer}
                    statuses = {**tally.statuses, question.id: Status.ANSWERED}
                    if any(
                        self.engine.holds(rule.if_, answers, statuses) is True for rule in question.stop_if
                    ):
                        continue  # the call ends here: not a complete interview
                    seconds = self._seconds(question, answer)
                    self._merge(following, keep, answers, statuses, tally, seconds, 1, weight / total_weight)
            if not following:
                raise NoCompleteRoute(
                    f"every route through '{self.q.id}' ends in a stop rule by '{question.id}'"
                )
            if len(following) > MAX_ROUTES:
                approximate = True
                ranked = sorted(following.items(), key=lambda item: item[1].weight, reverse=True)
                extremes = {
                    min(following, key=lambda k: following[k].low),
                    max(following, key=lambda k: following[k].high),
                }
                following = dict(ranked[:MAX_ROUTES]) | {k: following[k] for k in extremes}
            states = following
        low = min(t.low for t in states.values())
        high = max(t.high for t in states.values())
        weight = sum(t.weight for t in states.values())
        if weight > 0:
            seconds = sum(t.weighted_seconds for t in states.values()) / weight
            questions = round(sum(t.weighted_questions for t in states.values()) / weight)
        else:  # only zero-weight routes finish (say, only with "don't know"): take the middle
            seconds, questions = (low[0] + high[0]) / 2, round((low[1] + high[1]) / 2)
        return Route(*low), Route(seconds, questions), Route(*high), approximate

    def _merge(
        self,
        following: dict[tuple[object, ...], _Tally],
        keep: frozenset[str],
        answers: dict[str, Answer],
        statuses: dict[str, Status],
        tally: _Tally,
        seconds: float,
        asked: int,
        share: float,
    ) -> None:
        answers = {qid: a for qid, a in answers.items() if qid in keep}
        statuses = {qid: s for qid, s in statuses.items() if qid in keep}
        key = tuple(
            sorted((qid, self._signature(qid, answers.get(qid), status)) for qid, status in statuses.items())
        )
        weight = tally.weight * share
        # A route's weighted time: its earlier time at its new weight, plus this question's.
        weighted_seconds = tally.weighted_seconds * share + weight * seconds
        weighted_questions = tally.weighted_questions * share + weight * asked
        low = (tally.low[0] + seconds, tally.low[1] + asked)
        high = (tally.high[0] + seconds, tally.high[1] + asked)
        existing = following.get(key)
        if existing is None:
            following[key] = _Tally(
                answers, statuses, low, high, weight, weighted_seconds, weighted_questions
            )
            return
        existing.low = min(existing.low, low)
        existing.high = max(existing.high, high)
        existing.weight += weight
        existing.weighted_seconds += weighted_seconds
        existing.weighted_questions += weighted_questions

    def _signature(self, question_id: str, answer: Answer | None, status: Status) -> tuple[object, ...]:
        """What later conditions can tell about an answer: the value of every test that reads it."""
        if status is not Status.ANSWERED or answer is None:
            return ("off",)
        statuses = {question_id: Status.ANSWERED}
        answers = {question_id: answer}
        return tuple(self.engine.holds(test, answers, statuses) for test in self.tests.get(question_id, []))

    def _seconds(self, question: QuestionBase, answer: Answer) -> float:
        if question.id in self.observed:
            return self.observed[question.id]
        return estimated_seconds(question, blank=answer.blank)

    def _candidates(self, question: QuestionBase) -> list[tuple[Answer, float]]:
        """Answers that stand for every way of answering: (answer, weight in the typical route)."""
        specials = [(Answer(code=o.code), 0.0) for o in question.options() if o.code in (DONT_KNOW, REFUSED)]
        if isinstance(question, Statement):
            return [(Answer(), 1.0)]
        if isinstance(question, MultipleChoice):
            codes = [o.code for o in question.choices]
            most = tuple(codes[: question.max_choices] if question.max_choices else codes)
            return [(Answer(value=(c,)), 1.0) for c in codes] + [(Answer(value=most), 0.0)] + specials
        if isinstance(question, NumberQuestion):
            return [(Answer(value=v), 1.0) for v in self._numbers(question)] + specials
        if isinstance(question, DateQuestion):
            return [(Answer(value=question.earliest or date(2026, 1, 5)), 1.0)] + specials
        if isinstance(question, TextQuestion):
            typed = [(Answer(value="an answer"), 1.0)]
            return typed + ([(Answer(), 1.0)] if not question.required else []) + specials
        ordinary = [o for o in question.options() if o.code not in (DONT_KNOW, REFUSED)]
        return [(Answer(code=o.code), 1.0) for o in ordinary] + specials

    def _numbers(self, question: NumberQuestion) -> list[float]:
        """The bounds and every threshold a condition compares with, and either side of it."""
        low = question.min if question.min is not None else 0.0
        high = question.max if question.max is not None else max(low + 10, 10.0)
        values = {low, high}
        for test in self.tests.get(question.id, []):
            for op in ("eq", "gt", "ge", "lt", "le"):
                bound = getattr(test, op)
                if bound is not None:
                    values |= {bound - 1, bound, bound + 1}
        return sorted(v for v in values if low <= v <= high)
