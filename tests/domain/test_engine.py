"""The interview engine: routing, validation, back navigation, stop rules, piping."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.engine import Answer, AnswerError, Engine, Status, describe_answer, parse_date, render_text
from app.domain.questionnaire import (
    DONT_KNOW,
    ChoiceQuestion,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    TextQuestion,
    load_questionnaire,
)

ROOT = Path(__file__).parents[2]
EXAMPLE = load_questionnaire(Path(__file__).parent / "data" / "example.yaml")
BUNDLED = sorted((ROOT / "questionnaires").glob("*.yaml"))
ALL = [EXAMPLE, *(load_questionnaire(p) for p in BUNDLED)]


def walk(engine: Engine, given: dict[str, Answer]) -> dict[str, Answer]:
    answers: dict[str, Answer] = {}
    for qid, answer in given.items():
        answers = engine.apply(answers, qid, answer).answers
    return answers


def test_opening_and_stop_rule() -> None:
    engine = Engine(EXAMPLE)
    assert engine.next_question({}).id == "identity"
    answers = walk(engine, {"identity": Answer(code=1), "safe_to_talk": Answer(code=2)})
    route = engine.route(answers)
    assert route.stop is not None and route.stop.rule.outcome == "unsafe_to_talk"
    assert route.finished and not route.complete
    assert engine.next_question(answers) is None


def test_routing_asks_follow_up_only_when_condition_holds() -> None:
    engine = Engine(EXAMPLE)
    base = {"identity": Answer(code=1), "safe_to_talk": Answer(code=1)}
    yes = walk(engine, {**base, "kept_informed": Answer(code=1)})
    assert engine.next_question(yes).id == "contacts"
    no = walk(engine, {**base, "kept_informed": Answer(code=2)})
    assert engine.next_question(no).id == "why_not"
    dont_know = walk(engine, {**base, "kept_informed": Answer(code=DONT_KNOW)})
    assert engine.next_question(dont_know).id == "contacts"


def test_changing_an_answer_discards_what_it_routes_away_from() -> None:
    engine = Engine(EXAMPLE)
    answers = walk(
        engine,
        {
            "identity": Answer(code=1),
            "safe_to_talk": Answer(code=1),
            "kept_informed": Answer(code=2),
            "why_not": Answer(value="nobody rang me"),
            "contacts": Answer(value=3),
        },
    )
    applied = engine.apply(answers, "kept_informed", Answer(code=1))
    assert applied.discarded == {"why_not": Answer(value="nobody rang me")}
    assert "why_not" not in applied.answers
    assert applied.answers["contacts"] == Answer(value=3), "answers still on the route are kept"
    assert engine.next_question(applied.answers).id == "overall"


def test_changing_to_a_stop_discards_everything_after() -> None:
    engine = Engine(EXAMPLE)
    answers = walk(
        engine, {"identity": Answer(code=1), "safe_to_talk": Answer(code=1), "kept_informed": Answer(code=1)}
    )
    applied = engine.apply(answers, "safe_to_talk", Answer(code=2))
    assert set(applied.discarded) == {"kept_informed"}
    assert applied.route is not None and applied.route.stop is not None


def test_back_and_forward_navigation() -> None:
    engine = Engine(EXAMPLE)
    answers = walk(
        engine, {"identity": Answer(code=1), "safe_to_talk": Answer(code=1), "kept_informed": Answer(code=1)}
    )
    assert engine.previous(answers, "contacts") == "kept_informed"
    assert engine.previous(answers, "kept_informed") == "safe_to_talk"
    assert engine.previous(answers, "identity") is None
    assert engine.previous(answers, None) == "kept_informed"
    assert engine.following(answers, "safe_to_talk") == "kept_informed"
    assert engine.following(answers, "kept_informed") == "contacts"


def test_undecided_answers_are_kept_until_decided() -> None:
    engine = Engine(EXAMPLE)
    answers = walk(
        engine, {"identity": Answer(code=1), "safe_to_talk": Answer(code=1), "kept_informed": Answer(code=2)}
    )
    answers = walk(engine, {**answers, "why_not": Answer(value="x")})
    # going back over the follow-up and answering it again keeps it
    assert engine.route(answers).statuses["why_not"] is Status.ANSWERED


def test_required_question_cannot_be_left_blank() -> None:
    engine = Engine(EXAMPLE)
    with pytest.raises(AnswerError, match="required"):
        engine.validate(EXAMPLE.question("contacts"), Answer())
    assert engine.validate(EXAMPLE.question("comments"), Answer()) == Answer()


def test_validation_of_codes_bounds_and_types() -> None:
    engine = Engine(EXAMPLE)
    with pytest.raises(AnswerError, match="not one of the options"):
        engine.validate(EXAMPLE.question("overall"), Answer(code=8))
    with pytest.raises(AnswerError, match="not one of the options"):
        engine.validate(EXAMPLE.question("overall"), Answer(code=DONT_KNOW))  # only refused is allowed
    assert engine.validate(EXAMPLE.question("overall"), Answer(code=99)) == Answer(code=99)
    contacts = EXAMPLE.question("contacts")
    with pytest.raises(AnswerError, match="largest allowed is 50"):
        engine.parse(contacts, "51")
    with pytest.raises(AnswerError, match="whole number"):
        engine.parse(contacts, "2.5")
    with pytest.raises(AnswerError, match="not a number"):
        engine.parse(contacts, "lots")
    assert engine.parse(contacts, " 7 ") == Answer(value=7)


def test_parse_choice_and_dates() -> None:
    engine = Engine(EXAMPLE)
    assert engine.parse(EXAMPLE.question("overall"), "3") == Answer(code=3)
    with pytest.raises(AnswerError):
        engine.parse(EXAMPLE.question("overall"), "1 2")
    assert parse_date("21/03/2026") == date(2026, 3, 21)
    assert parse_date("2026-03-21") == date(2026, 3, 21)
    with pytest.raises(AnswerError):
        parse_date("31/02/2026")


def test_answer_round_trips_through_storage_columns() -> None:
    overall = EXAMPLE.question("overall")
    contacts = EXAMPLE.question("contacts")
    assert Answer.from_stored(overall, 3, None) == Answer(code=3)
    stored = Answer(value=7).stored_value()
    assert Answer.from_stored(contacts, None, stored) == Answer(value=7)


def test_piping_inserts_sample_fields_and_answers() -> None:
    text = render_text(
        EXAMPLE,
        EXAMPLE.question("overall").text,
        sample={"report_date": date(2026, 3, 4)},
    )
    assert text == "Since 4 March 2026, how satisfied are you with the service overall?"
    assert render_text(
        EXAMPLE, "You said {answer.kept_informed}.", answers={"kept_informed": Answer(code=2)}
    ) == ("You said No.")
    assert describe_answer(EXAMPLE.question("kept_informed"), Answer(code=98)) == "Don't know"


def test_progress_counts_the_route() -> None:
    engine = Engine(EXAMPLE)
    answers = walk(
        engine, {"identity": Answer(code=1), "safe_to_talk": Answer(code=1), "kept_informed": Answer(code=1)}
    )
    assert engine.progress(answers) == (3, 6)


def test_reached_for_partial_interviews() -> None:
    engine = Engine(EXAMPLE)
    answers = walk(engine, {"identity": Answer(code=1), "safe_to_talk": Answer(code=1)})
    assert not engine.reached(answers, "overall")


# ------------------------------------------------------------------ property tests


def answer_strategy(question: QuestionBase) -> st.SearchStrategy[Answer]:
    choices: list[st.SearchStrategy[Answer]] = []
    if not question.required:
        choices.append(st.just(Answer()))
    if isinstance(question, MultipleChoice):
        codes = [o.code for o in question.choices]
        limit = question.max_choices or len(codes)
        choices.append(
            st.lists(st.sampled_from(codes), min_size=1, max_size=limit, unique=True).map(
                lambda cs: Answer(value=tuple(sorted(cs)))
            )
        )
        choices += [st.just(Answer(code=o.code)) for o in question.options() if o.code >= 98]
    elif isinstance(question, ChoiceQuestion):
        choices.append(st.sampled_from([Answer(code=o.code) for o in question.options()]))
    elif isinstance(question, NumberQuestion):
        low = int(question.min) if question.min is not None else -1000
        high = int(question.max) if question.max is not None else 1000
        choices.append(st.integers(low, high).map(lambda n: Answer(value=n)))
    elif isinstance(question, DateQuestion):
        choices.append(st.integers(0, 3000).map(lambda d: Answer(value=date.today() - timedelta(days=d))))
    elif isinstance(question, TextQuestion):
        choices.append(
            st.text(min_size=1, max_size=40).filter(str.strip).map(lambda t: Answer(value=t.strip()))
        )
    if question.dont_know and not isinstance(question, ChoiceQuestion):
        choices.append(st.just(Answer(code=98)))
    return st.one_of(choices)


def date_earliest_ok(question: QuestionBase) -> bool:
    return not (isinstance(question, DateQuestion) and (question.earliest or question.latest))


@pytest.mark.parametrize("questionnaire", ALL, ids=lambda q: q.id)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_interviews_terminate_without_repeats(
    questionnaire: Questionnaire, data: st.DataObject
) -> None:
    engine = Engine(questionnaire)
    answers: dict[str, Answer] = {}
    offered: list[str] = []
    limit = len(questionnaire.questions()) * 3
    for _ in range(limit):
        question = engine.next_question(answers)
        if question is None:
            break
        assert question.id not in answers, "a question already answered is never offered again"
        assert question.id not in offered, f"{question.id} offered twice"
        offered.append(question.id)
        if not date_earliest_ok(question):
            answer = Answer(value=question.earliest or question.latest)  # type: ignore[union-attr]
        else:
            answer = data.draw(answer_strategy(question), label=question.id)
        answers = engine.apply(answers, question.id, answer).answers
    else:
        pytest.fail("the interview did not terminate")
    route = engine.route(answers)
    assert route.finished
    for qid in route.asked():
        q = questionnaire.question(qid)
        if q.required:
            assert not answers[qid].blank, f"required {qid} left blank"
    if route.complete:
        # every question routing reaches has been asked
        assert all(s in (Status.ANSWERED, Status.OFF) for s in route.statuses.values())


@pytest.mark.parametrize("questionnaire", ALL, ids=lambda q: q.id)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_going_back_and_changing_answers_stays_consistent(
    questionnaire: Questionnaire, data: st.DataObject
) -> None:
    engine = Engine(questionnaire)
    answers: dict[str, Answer] = {}
    for _ in range(len(questionnaire.questions()) * 4):
        question = engine.next_question(answers)
        if question is None:
            break
        if answers and data.draw(st.integers(0, 5), label="go back?") == 0:
            back = engine.previous(answers, question.id)
            assert back is not None and back in answers
            target = questionnaire.question(back)
            if date_earliest_ok(target):
                applied = engine.apply(answers, back, data.draw(answer_strategy(target), label=back))
                assert set(applied.discarded) <= set(answers)
                assert not set(applied.discarded) & set(applied.answers)
                answers = applied.answers
            continue
        answer = (
            data.draw(answer_strategy(question), label=question.id)
            if date_earliest_ok(question)
            else Answer(value=question.earliest or question.latest)  # type: ignore[union-attr]
        )
        answers = engine.apply(answers, question.id, answer).answers
        route = engine.route(answers)
        # no answer is ever kept for a question off the route
        assert not [qid for qid in route.off_route() if qid in answers]
    route = engine.route(answers)
    assert not [qid for qid in route.off_route() if qid in answers]
