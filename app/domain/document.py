"""A questionnaire as a reviewer reads it: every question in order with its routing, as text or Markdown.

`survey questionnaire show` prints it so that routing can be checked on paper: each question's condition
in words (with the option labels its codes stand for), its options and codes, its stop rules and their
outcomes, and the measures with their positive and neutral codes. The practice screen uses
`describe_condition` for its trace of why a question is asked.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator

from app.domain.length import LengthEstimate, options_read_out
from app.domain.questionnaire import (
    AllCondition,
    AnswerCondition,
    AnyCondition,
    Condition,
    DateQuestion,
    Measure,
    MultipleChoice,
    NotCondition,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    Section,
    TextQuestion,
)

_COMPARISONS = {
    "eq": "is",
    "gt": "is more than",
    "ge": "is at least",
    "lt": "is less than",
    "le": "is at most",
}
_OUTCOMES = {
    "refusal": "refusal (closes the case)",
    "not_available": "not available (tried again)",
    "wrong_number": "wrong number",
    "appointment": "appointment (call back)",
    "ineligible": "not eligible (closes the case)",
    "unsafe_to_talk": "unsafe to talk (tried again when safe)",
}


# ---------------------------------------------------------------- conditions in words


def describe_condition(questionnaire: Questionnaire, condition: Condition, *, labels: bool = True) -> str:
    """A condition in words: `overall_sat is 5, 6 or 7 (Fairly dissatisfied / ...)` (codes alone
    without `labels`)."""
    if isinstance(condition, AnswerCondition):
        return _describe_test(questionnaire, condition, labels)
    if isinstance(condition, AllCondition):
        return " and ".join(_part(questionnaire, part, labels) for part in condition.all)
    if isinstance(condition, AnyCondition):
        return " or ".join(_part(questionnaire, part, labels) for part in condition.any)
    assert isinstance(condition, NotCondition)
    return f"not ({describe_condition(questionnaire, condition.not_, labels=labels)})"


def _part(questionnaire: Questionnaire, condition: Condition, labels: bool) -> str:
    text = describe_condition(questionnaire, condition, labels=labels)
    return f"({text})" if isinstance(condition, AllCondition | AnyCondition) else text


def _describe_test(questionnaire: Questionnaire, test: AnswerCondition, with_labels: bool = True) -> str:
    name = test.question
    op = test.operator()
    if op in ("in_", "not_in"):
        codes: list[int] = getattr(test, op) or []
        try:
            question = questionnaire.question(name)
            labels = [question_label(question, code) for code in codes]
        except KeyError:
            labels = []
        listed = _or_list([str(c) for c in codes])
        shown = f" ({' / '.join(labels)})" if with_labels and labels and all(labels) else ""
        if op == "in_":
            verb = "includes" if _is_multiple(questionnaire, name) else "is"
            return f"{name} {verb} {listed}{shown}"
        return f"{name} was answered and is not {listed}{shown}"
    if op == "answered":
        return (
            f"{name} has an answer"
            if test.answered
            else f"{name} has no answer (skipped, blank, don't know or refused)"
        )
    bound = getattr(test, op)
    shown_bound = int(bound) if float(bound).is_integer() else bound
    return f"{name} {_COMPARISONS[op]} {shown_bound}"


def _is_multiple(questionnaire: Questionnaire, question_id: str) -> bool:
    try:
        return isinstance(questionnaire.question(question_id), MultipleChoice)
    except KeyError:
        return False


def question_label(question: QuestionBase, code: int) -> str:
    return next((o.label for o in question.options() if o.code == code), "")


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def asked_when(questionnaire: Questionnaire, section: Section, question: QuestionBase) -> str | None:
    """The whole condition under which a question is asked, in words (None: always, on a complete route)."""
    parts = [describe_condition(questionnaire, c) for c in (section.ask_if, question.ask_if) if c is not None]
    if not parts:
        return None
    return " and ".join(f"({p})" if len(parts) > 1 else p for p in parts)


# ---------------------------------------------------------------- the document


def _kind(question: QuestionBase) -> str:
    return str(getattr(question, "type", "")).replace("_", " ")


def _details(question: QuestionBase) -> list[str]:
    """Answer rules worth a reviewer's eye, in short phrases."""
    details: list[str] = []
    if isinstance(question, TextQuestion):
        details.append("optional" if not question.required else "required")
        if question.verbatim:
            details.append("verbatim")
    elif not question.required and getattr(question, "type", "") != "statement":
        details.append("may be left blank")
    if isinstance(question, NumberQuestion):
        low = "" if question.min is None else f"{question.min:g}"
        high = "" if question.max is None else f"{question.max:g}"
        if low or high:
            details.append(f"{low or 'any'} to {high or 'any'}{' ' + question.unit if question.unit else ''}")
        if not question.integer:
            details.append("decimals allowed")
    if isinstance(question, DateQuestion):
        if question.earliest or question.latest:
            details.append(f"{question.earliest or 'any'} to {question.latest or 'any'}")
        if question.allow_future:
            details.append("future dates allowed")
    if isinstance(question, MultipleChoice):
        details.append(
            f"up to {question.max_choices} options" if question.max_choices else "any number of options"
        )
    if question.options() and options_read_out(question):
        details.append("options read out")
    if question.safety_check:
        details.append("SAFETY CHECK")
    return details


def stop_outcome_words(outcome: str) -> str:
    """A stop rule's outcome as a reviewer reads it: `refusal (closes the case)`."""
    return _OUTCOMES[outcome]


def _stop_rules(
    questionnaire: Questionnaire, question: QuestionBase
) -> Iterator[tuple[str, str, str | None]]:
    for rule in question.stop_if:
        yield describe_condition(questionnaire, rule.if_), _OUTCOMES[rule.outcome.value], rule.say


def _measure_codes(questionnaire: Questionnaire, measure: Measure, codes: list[int]) -> str:
    if not codes:
        return "none"
    question = questionnaire.question(measure.question)
    return ", ".join(f"{c} {question_label(question, c)}".strip() for c in codes)


def _length_lines(questionnaire: Questionnaire, length: LengthEstimate | None) -> list[str]:
    if length is None:
        return []
    lines = [f"Length: {length.summary()}.", f"Times: {length.basis}."]
    if length.median_interview_seconds is not None:
        lines.append(
            f"Observed: the median completed interview took {_minutes(length.median_interview_seconds)}"
            f" from its first question to its end ({length.interviews} interviews)."
        )
    if questionnaire.target_minutes is not None:
        over = length.typical.seconds > questionnaire.target_minutes * 60
        lines.append(
            f"Target: {questionnaire.target_minutes} minutes"
            + (" (the typical interview is over it)." if over else " (the typical interview is within it).")
        )
    return lines


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d} min"


def _survey_lines(questionnaire: Questionnaire) -> list[str]:
    q = questionnaire
    calls = q.calls
    safety = q.safety_question()
    call_rules = [
        f"at most {calls.max_attempts} attempts",
        f'answerphone message: "{calls.voicemail_message}"'
        if calls.leave_voicemail
        else "no answerphone message",
        f"safety check: {safety.id}" if safety is not None else "no safety check",
    ]
    if calls.partial_from:
        call_rules.append(f"partial interview from {calls.partial_from}")
    lines = [
        f"Fieldwork: {q.fieldwork.from_days_after_report} to {q.fieldwork.to_days_after_report} days"
        " after the report.",
        f"Calls: {'; '.join(call_rules)}.",
    ]
    if q.eligibility:
        rules = []
        for rule in q.eligibility:
            how = ["automatic"] if rule.automatic else []
            if rule.confirm:
                how.append(f'caller confirms "{rule.confirm}"')
            rules.append(f"{rule.reason.value} ({' and '.join(how)})")
        lines.append("Excluded before any call: " + "; ".join(rules) + ".")
    consents = [
        f"{kind} {question_id}"
        for kind in ("feedback", "recontact", "quote")
        if (question_id := q.consent_question(kind)) is not None
    ]
    lines.append("Consents: " + (", ".join(consents) if consents else "none") + ".")
    return lines


def questionnaire_markdown(questionnaire: Questionnaire, length: LengthEstimate | None = None) -> str:
    """The review document in Markdown (GitHub flavour: tables, block quotes)."""
    q = questionnaire
    out: list[str] = [
        f"# {_md(q.title)}",
        "",
        f"`{q.id}` version {q.version}, content hash `{q.content_hash()[:12]}`",
        "",
    ]
    if q.description:
        out += [_md(q.description), ""]
    out += [f"- {_md(line)}" for line in _length_lines(q, length) + _survey_lines(q)]
    number = 0
    for s_index, section in enumerate(q.sections, 1):
        out += ["", f"## {s_index}. {_md(section.title)} (`{section.id}`)", ""]
        if section.ask_if is not None:
            out += [f"**Section asked only if** {_md(describe_condition(q, section.ask_if))}", ""]
        for question in section.questions:
            number += 1
            details = _details(question)
            out += [
                f"### {number}. `{question.id}` · {_kind(question)}"
                + (f" · {', '.join(details)}" if details else ""),
                "",
            ]
            if question.ask_if is not None:
                out += [f"**Asked only if** {_md(describe_condition(q, question.ask_if))}", ""]
            out += ["> " + _md(question.text), ""]
            if question.instruction:
                out += [f"*Caller:* {_md(question.instruction)}", ""]
            options = question.options()
            if options:
                out += ["| code | option |", "|---:|---|"]
                out += [f"| {o.code} | {_cell(o.label)} |" for o in options]
                out.append("")
            for when, outcome, say in _stop_rules(q, question):
                line = f"**Stop** if {_md(when)}: **{outcome}**"
                out += [line + (f'. Say: "{_md(say)}"' if say else ""), ""]
    if q.measures:
        out += ["## Measures", "", "| measure | question | positive | neutral |", "|---|---|---|---|"]
        for m in q.measures:
            out.append(
                f"| {_cell(m.label)} (`{m.id}`) | `{m.question}` | {_cell(_measure_codes(q, m, m.positive))}"
                f" | {_cell(_measure_codes(q, m, m.neutral))} |"
            )
        out.append("")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).rstrip("\n") + "\n"


def questionnaire_text(
    questionnaire: Questionnaire, length: LengthEstimate | None = None, *, width: int | None = None
) -> str:
    """The review document as plain text for a terminal, wrapped to `width` columns if given."""
    q = questionnaire
    out: list[str] = [f"{q.title}  ({q.id}, version {q.version})"]
    out += [f"  {line}" for line in _length_lines(q, length) + _survey_lines(q)]
    number = 0
    for section in q.sections:
        out += ["", f"== {section.title} ({section.id})"]
        if section.ask_if is not None:
            out.append(f"   section asked only if {describe_condition(q, section.ask_if)}")
        for question in section.questions:
            number += 1
            details = _details(question)
            out.append(
                f"{number:>3}. {question.id} [{_kind(question)}]"
                + (f" {', '.join(details)}" if details else "")
            )
            if question.ask_if is not None:
                out.append(f"     asked only if {describe_condition(q, question.ask_if)}")
            out.append(f"     {question.text}")
            if question.instruction:
                out.append(f"     Caller: {question.instruction}")
            for option in question.options():
                out.append(f"       {option.code:>2}  {option.label}")
            for when, outcome, say in _stop_rules(q, question):
                out.append(f"     STOP if {when}: {outcome}" + (f'; say "{say}"' if say else ""))
    if q.measures:
        out += ["", "== Measures"]
        for m in q.measures:
            out.append(f"  {m.label} ({m.id}): {m.question}")
            out.append(f"     positive: {_measure_codes(q, m, m.positive)}")
            out.append(f"     neutral: {_measure_codes(q, m, m.neutral)}")
    if width is not None:
        out = [wrapped for line in out for wrapped in _wrap(line, width)]
    return "\n".join(out) + "\n"


def _wrap(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    return textwrap.wrap(line, width=max(width, 40), subsequent_indent=indent, break_on_hyphens=False)


def _md(text: str) -> str:
    """Text safe in Markdown prose: characters that would start markup are escaped, lines joined."""
    text = " ".join(text.split())
    for char in ("\\", "`", "*", "[", "]", "<", "|"):
        text = text.replace(char, "\\" + char)
    return text


def _cell(text: str) -> str:
    return _md(text)
