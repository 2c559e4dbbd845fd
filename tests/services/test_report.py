"""The quarterly report on real databases, checked against a worked example computed by hand.

Also holds the interview factory the export and import tests use (`add_interview`, `worked_example`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.domain.engine import Answer as EngineAnswer
from app.domain.permissions import Actor, PermissionDenied, Role
from app.domain.questionnaire import Questionnaire
from app.services.catalogue import Catalogue, bundled_dir, load_catalogue, register
from app.services.report import (
    Grouping,
    ReportError,
    build_report,
    divisions,
    report_json,
    report_periods,
    report_rows,
    span_label,
)
from app.services.report_html import render_html
from app.services.tallies import tally_interviews
from app.store.db import make_engine, make_session_factory
from app.store.migrate import upgrade
from app.store.models import Answer as AnswerRow
from app.store.models import Interview

SYSTEM = Actor.system()
SURVEY = "domestic_abuse"

# ------------------------------------------------------------------ the factory

AnswerSpec = int | EngineAnswer | None


def add_interview(
    session: Session,
    questionnaire: Questionnaire,
    ended_at: datetime,
    answers: Mapping[str, AnswerSpec] | None = None,
    *,
    status: str = "completed",
    division: str | None = "North",
    district: str | None = "North 1",
    imported: bool = False,
    external_id: str | None = None,
    case_id: int | None = None,
    minutes: int = 15,
) -> int:
    """One interview row with its answers: an int is a code, None a blank answer row, else an Answer."""
    interview = Interview(
        case_id=case_id,
        survey=questionnaire.id,
        questionnaire_version=questionnaire.version,
        questionnaire_hash=questionnaire.content_hash(),
        status=status,
        started_at=ended_at - timedelta(minutes=minutes),
        ended_at=ended_at,
        division=division,
        district=district,
        imported=imported,
        external_id=external_id,
    )
    for question_id, spec in (answers or {}).items():
        answer = spec if isinstance(spec, EngineAnswer) else EngineAnswer(code=spec)
        interview.answers.append(
            AnswerRow(
                question_id=question_id,
                code=answer.code,
                value=answer.stored_value(),
                answered_at=ended_at,
            )
        )
    session.add(interview)
    session.flush()
    if status == "completed":  # as completing it through a call or an import would
        tally_interviews(session, [interview.id])
    return interview.id


def utc(year: int, month: int, day: int, hour: int = 11, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def worked_example(session: Session, catalogue: Catalogue) -> None:
    """The interviews behind the figures checked in `check_worked_example` (all synthetic).

    domestic_abuse, overall satisfaction (positive 1-3, neutral 4) and supported_prosecution
    (positive 1; 98 don't know, 99 refused), by financial quarter from 1 Oct 2019 to 30 Sep 2020:

    Jul to Sep 19 (the period before the range): no surveys.
    Oct to Dec 19: 13 surveys, 12 satisfied, 1 dissatisfied.
    Jan to Mar 20: no surveys (paused).
    Apr to Jun 20: 110 surveys: 95 satisfied, 10 neither, 5 dissatisfied.
    Jul to Sep 20: 119 surveys: 110 satisfied, 4 neither, 3 dissatisfied, 1 with no overall answer row and
                   1 with a blank one; supported prosecution: 60 yes, 50 no, 5 don't know, 4 refused.
                   5 of the 119 are in Division South.
    Not counted anywhere: a partial and a stopped interview, and a hate crime interview, in Jul to Sep 20.
    """
    questionnaire = catalogue.get(SURVEY)

    def add(ended: datetime, overall: AnswerSpec | str, **kw: Any) -> None:
        answers: dict[str, AnswerSpec] = dict(kw.pop("answers", {}))
        if not isinstance(overall, str):  # "no row": the interview has no overall_sat answer at all
            answers["overall_sat"] = overall
        add_interview(session, questionnaire, ended, answers, **kw)

    # Oct to Dec 19: 31 Dec 2019 23:30 UTC is 23:30 GMT, still 2019.
    for i in range(12):
        add(utc(2019, 10, 1 + i), [1, 2, 3][i % 3])
    add(utc(2019, 12, 31, 23, 30), 6)
    # Apr to Jun 20: 30 Jun 2020 22:30 UTC is 23:30 BST on 30 June.
    for i in range(95):
        add(utc(2020, 4, 1) + timedelta(hours=20 * i), [1, 2, 3][i % 3])
    for i in range(10):
        add(utc(2020, 5, 1 + i), 4)
    for i in range(4):
        add(utc(2020, 6, 1 + i), [5, 6, 7][i % 3])
    add(utc(2020, 6, 30, 22, 30), 7)
    # Jul to Sep 20: 30 Jun 2020 23:30 UTC is 00:30 BST on 1 July.
    prosecution = [1] * 60 + [2] * 50 + [98] * 5 + [99] * 4
    overall: list[AnswerSpec | str] = [1, 2, 3] * 36 + [1, 2] + [4] * 4 + [5, 6, 7] + [None, "no row"]
    assert len(overall) == len(prosecution) == 119
    for i, (code, supported) in enumerate(zip(overall, prosecution, strict=True)):
        ended = utc(2020, 6, 30, 23, 30) if i == 0 else utc(2020, 7, 1) + timedelta(hours=18 * i)
        add(ended, code, answers={"supported_prosecution": supported}, division="South" if i < 5 else "North")
    add(utc(2020, 8, 1), 1, status="partial")
    add(utc(2020, 8, 2), 1, status="stopped")
    hate = catalogue.get("hate_crime")
    add_interview(session, hate, utc(2020, 8, 3), {"overall_sat": 1})


def check_worked_example(data: dict[str, Any]) -> None:
    """The figures of the worked example, computed by hand (see the comments)."""
    periods = data["periods"]
    assert [p["label"] for p in periods] == [
        "Oct to Dec 19",
        "Jan to Mar 20",
        "Apr to Jun 20",
        "Jul to Sep 20",
    ]
    assert [p["surveys"] for p in periods] == [13, 0, 110, 119]

    # Oct to Dec 19: 12 of 13 = 92.3%. Wilson, z = 1.95996, z^2 = 3.84146, n = 13, p = 0.923077:
    # denominator 1 + z^2/n = 1.295497; centre (p + z^2/2n) / 1.295497 = 0.826575;
    # half-width z/1.295497 * sqrt(p(1-p)/n + z^2/4n^2) = 0.159715; so 0.666860 to 0.986290: 66.7 to 98.6.
    oct_dec = periods[0]["measures"]["overall"]
    assert oct_dec == {
        "positive": 12,
        "neutral": 0,
        "negative": 1,
        "dont_know_refused": 0,
        "not_recorded": 0,
        "pct": 92.3,
        "pct_excl_neutral": 92.3,
        "ci95": [66.7, 98.6],
        "ci95_excl_neutral": [66.7, 98.6],  # no neutral answers: the same
        "change": {
            "direction": "unavailable",  # Jul to Sep 19 had no surveys
            "against": "Jul to Sep 19",
            "previous_pct": None,
            "points": None,
            "ci95": None,
        },
        "change_excl_neutral": {
            "direction": "unavailable",
            "against": "Jul to Sep 19",
            "previous_pct": None,
            "points": None,
            "ci95": None,
        },
        "small_sample": False,  # 13 is not below 10
    }
    # Jan to Mar 20: no surveys, so u/a (null), never 0%.
    jan_mar = periods[1]["measures"]["overall"]
    assert jan_mar["pct"] is None and jan_mar["pct_excl_neutral"] is None and jan_mar["ci95"] is None
    assert jan_mar["change"]["direction"] == "unavailable"
    assert periods[1]["small_sample"] is False
    # Apr to Jun 20: 95 of 110 = 86.4%; excluding the 10 neutral, 95 of 100 = 95.0%.
    # Wilson: p = 0.863636, denominator 1.034922, centre 0.851366, half-width 0.064223: 78.7 to 91.6.
    apr_jun = periods[2]["measures"]["overall"]
    assert (apr_jun["positive"], apr_jun["neutral"], apr_jun["negative"]) == (95, 10, 5)
    assert (apr_jun["pct"], apr_jun["pct_excl_neutral"], apr_jun["ci95"]) == (86.4, 95.0, [78.7, 91.6])
    assert apr_jun["change"]["direction"] == "unavailable"  # Jan to Mar 20 had no surveys
    # Jul to Sep 20: 110 of 119 = 92.4%; 4 neutral, so excluding them 110 of 115 = 95.7%.
    # Wilson: p = 0.924370, denominator 1.032281, centre 0.911099, half-width 0.048604: 86.2 to 96.0.
    # Not recorded: one interview without an overall_sat row and one with a blank row = 2.
    # 110 + 4 + 3 + 0 + 2 = 119.
    jul_sep = periods[3]["measures"]["overall"]
    assert jul_sep["positive"] == 110
    assert jul_sep["neutral"] == 4
    assert jul_sep["negative"] == 3
    assert jul_sep["dont_know_refused"] == 0
    assert jul_sep["not_recorded"] == 2
    assert (jul_sep["pct"], jul_sep["pct_excl_neutral"], jul_sep["ci95"]) == (92.4, 95.7, [86.2, 96.0])
    # Excluding neutral, 110 of 115: Wilson p = 0.956522, denominator 1.033404, centre 0.941761,
    # half-width 0.039558: 90.2 to 98.1. Against 95 of 100 (Apr to Jun 20): +0.7 points, in line.
    assert jul_sep["ci95_excl_neutral"] == [90.2, 98.1]
    assert jul_sep["change_excl_neutral"]["direction"] == "in_line"
    assert jul_sep["change_excl_neutral"]["points"] == 0.7
    # Against Apr to Jun 20 (DESIGN.md's check): 92.437 - 86.364 = +6.1 points. Newcombe: Wilson for
    # 95/110 is 0.787143 to 0.915588, so lower = 0.060733 - sqrt(0.061875^2 + 0.051952^2) = -0.020059
    # and upper = 0.060733 + sqrt(0.035333^2 + 0.076493^2) = 0.144993: -2.0 to +14.5 includes 0, so the
    # change is "in line", not a rise.
    assert jul_sep["change"] == {
        "direction": "in_line",
        "against": "Apr to Jun 20",
        "previous_pct": 86.4,
        "points": 6.1,
        "ci95": [-2.0, 14.5],
    }
    # Supported a prosecution, Jul to Sep 20: 60 yes of 119 = 50.4%; 5 don't know + 4 refused = 9 stay
    # in the base (neither negative nor not recorded). Wilson: centre 0.504070, half-width 0.088416.
    prosecution = periods[3]["measures"]["supported_prosecution"]
    assert prosecution["positive"] == 60
    assert prosecution["negative"] == 50
    assert prosecution["dont_know_refused"] == 9
    assert prosecution["not_recorded"] == 0
    assert (prosecution["pct"], prosecution["ci95"]) == (50.4, [41.6, 59.2])
    # Measures with no answers at all: every survey is "not recorded", and visible as such.
    first_contact = periods[3]["measures"]["first_contact"]
    assert first_contact["not_recorded"] == 119 and first_contact["pct"] == 0.0


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def catalogue() -> Catalogue:
    return load_catalogue(bundled_dir())


@pytest.fixture
def sessions(session_factory: sessionmaker[Session], catalogue: Catalogue) -> sessionmaker[Session]:
    with session_factory.begin() as session:
        register(session, catalogue)
    return session_factory


@pytest.fixture
def example(sessions: sessionmaker[Session], catalogue: Catalogue) -> sessionmaker[Session]:
    with sessions.begin() as session:
        worked_example(session, catalogue)
    return sessions


def report(sessions: sessionmaker[Session], catalogue: Catalogue, **kw: Any) -> dict[str, Any]:
    kw.setdefault("start", date(2019, 10, 1))
    kw.setdefault("end", date(2020, 9, 30))
    with sessions() as session:
        return report_json(build_report(session, SYSTEM, catalogue, kw.pop("survey", SURVEY), **kw))


# ------------------------------------------------------------------ the worked example


def test_worked_example(example: sessionmaker[Session], catalogue: Catalogue) -> None:
    data = report(example, catalogue)
    check_worked_example(data)
    assert data["previous_period"]["label"] == "Jul to Sep 19"
    assert data["previous_period"]["surveys"] == 0


def test_json_contract_keys(example: sessionmaker[Session], catalogue: Catalogue) -> None:
    data = report(example, catalogue)
    assert {"survey", "periods"} <= set(data)
    assert data["survey"] == SURVEY
    for period in data["periods"]:
        assert {"label", "start", "end", "surveys", "measures"} <= set(period)
        assert set(period["measures"]) == {m.id for m in load_catalogue(bundled_dir()).get(SURVEY).measures}
        for figures in period["measures"].values():
            required = {"positive", "neutral", "negative", "not_recorded", "pct", "pct_excl_neutral", "ci95"}
            assert required | {"change"} <= set(figures)
            total = sum(figures[k] for k in ("positive", "neutral", "negative", "dont_know_refused"))
            assert total + figures["not_recorded"] == period["surveys"]
    assert data["periods"][3]["start"] == "2020-07-01" and data["periods"][3]["end"] == "2020-09-30"


def test_narrative_follows_the_figures(example: sessionmaker[Session], catalogue: Catalogue) -> None:
    with example() as session:
        built = build_report(session, SYSTEM, catalogue, SURVEY, date(2019, 10, 1), date(2020, 9, 30))
    text = built.narrative("overall")
    assert text.startswith("Overall satisfaction – 92.4% of victims were satisfied with the service received")
    assert "in line with the previous quarter (86.4% in Apr to Jun 20)" in text
    assert "rise" not in text
    assert "'Neither satisfied nor dissatisfied'; excluding them, the figure is 95.7%" in text
    assert "No answer was recorded for 2 of the 119 surveys" in text


def test_division(example: sessionmaker[Session], catalogue: Catalogue) -> None:
    south = report(example, catalogue, division="South")
    # The first five Jul to Sep 20 interviews: overall codes 1, 2, 3, 1, 2, all satisfied.
    jul_sep = south["periods"][3]
    assert jul_sep["surveys"] == 5 and jul_sep["small_sample"] is True
    assert jul_sep["measures"]["overall"]["pct"] == 100.0
    assert jul_sep["measures"]["overall"]["small_sample"] is True
    assert [p["surveys"] for p in south["periods"]] == [0, 0, 0, 5]
    with example() as session:
        assert divisions(session, SURVEY) == ["North", "South"]
        with pytest.raises(ReportError, match="unknown division 'West' \\(known: North, South\\)"):
            build_report(
                session, SYSTEM, catalogue, SURVEY, date(2020, 1, 1), date(2020, 2, 1), division="West"
            )


def test_small_cell_threshold(example: sessionmaker[Session], catalogue: Catalogue) -> None:
    data = report(example, catalogue, small_cell=20)
    assert [p["small_sample"] for p in data["periods"]] == [True, False, False, False]


def test_by_month_and_by_period(example: sessionmaker[Session], catalogue: Catalogue) -> None:
    months = report(example, catalogue, start=date(2020, 6, 1), end=date(2020, 7, 31), by="month")
    assert [p["label"] for p in months["periods"]] == ["Jun 20", "Jul 20"]
    # June's dissatisfied, from worked_example: 4 on 1-4 June and 1 at 23:30 BST on 30 June.
    assert months["periods"][0]["measures"]["overall"]["negative"] == 5
    assert months["previous_period"]["label"] == "May 20"
    whole = report(example, catalogue, start=date(2020, 4, 1), end=date(2021, 3, 31), by="period")
    assert [p["label"] for p in whole["periods"]] == ["Apr 20 to Mar 21"]
    assert whole["periods"][0]["surveys"] == 229  # 110 + 119
    assert whole["previous_period"]["label"] == "Apr 19 to Mar 20"
    assert whole["previous_period"]["surveys"] == 13


def test_a_cut_quarter_is_labelled_with_its_days(
    example: sessionmaker[Session], catalogue: Catalogue
) -> None:
    data = report(example, catalogue, start=date(2020, 8, 15), end=date(2020, 9, 30))
    (only,) = data["periods"]
    assert only["label"] == "15 Aug to 30 Sep 20" and only["partial"] is True
    # Jul to Sep interviews are every 18 hours from 1 July; those from 15 August local date on count.
    assert 0 < only["surveys"] < 119
    # Like with like: the 47 days before 15 August, counted although they lie before --from.
    assert data["previous_period"]["label"] == "29 Jun to 14 Aug 20"
    assert (data["previous_period"]["start"], data["previous_period"]["end"]) == ("2020-06-29", "2020-08-14")
    assert only["against"] == "29 Jun to 14 Aug 20"
    assert only["measures"]["overall"]["change"]["against"] == "29 Jun to 14 Aug 20"
    # 1 July to 14 August, and the one dissatisfied at 23:30 BST on 30 June.
    assert data["previous_period"]["surveys"] == 119 - only["surveys"] + 1


def test_periods_and_labels() -> None:
    periods, before = report_periods(date(2020, 4, 1), date(2021, 3, 31), Grouping.QUARTER)
    assert [p.label for p in periods] == ["Apr to Jun 20", "Jul to Sep 20", "Oct to Dec 20", "Jan to Mar 21"]
    assert before.label == "Jan to Mar 20"
    assert span_label(date(2020, 11, 1), date(2021, 2, 28)) == "Nov 20 to Feb 21"
    assert span_label(date(2020, 11, 3), date(2020, 11, 3)) == "3 Nov 20"
    assert span_label(date(2020, 11, 3), date(2021, 1, 9)) == "3 Nov 20 to 9 Jan 21"
    # The local day: BST midnight is 23:00 UTC the day before.
    low, high = periods[1].utc_bounds()
    assert (low, high) == (utc(2020, 6, 30, 23), utc(2020, 9, 30, 23))
    assert periods[2].utc_bounds() == (utc(2020, 9, 30, 23), utc(2021, 1, 1, 0))  # GMT again


def test_errors_and_permissions(example: sessionmaker[Session], catalogue: Catalogue) -> None:
    with example() as session:
        with pytest.raises(ReportError, match="before"):
            build_report(session, SYSTEM, catalogue, SURVEY, date(2020, 2, 1), date(2020, 1, 1))
        with pytest.raises(ReportError, match="unknown grouping"):
            build_report(session, SYSTEM, catalogue, SURVEY, date(2020, 1, 1), date(2020, 2, 1), by="week")
        caller = Actor(staff_id=None, username="cal", role=Role.CALLER)
        with pytest.raises(PermissionDenied):
            build_report(session, caller, catalogue, SURVEY, date(2020, 1, 1), date(2020, 2, 1))
        supervisor = Actor(staff_id=None, username="sup", role=Role.SUPERVISOR)
        build_report(session, supervisor, catalogue, SURVEY, date(2020, 1, 1), date(2020, 2, 1))


def test_csv_rows_and_html(example: sessionmaker[Session], catalogue: Catalogue) -> None:
    with example() as session:
        built = build_report(session, SYSTEM, catalogue, SURVEY, date(2019, 10, 1), date(2020, 9, 30))
    rows = report_rows(built)
    assert len(rows) == 4 * 5  # periods x measures
    row = next(r for r in rows if r["period"] == "Jul to Sep 20" and r["measure"] == "overall")
    assert (row["pct"], row["ci95_low"], row["ci95_high"], row["change"]) == (92.4, 86.2, 96.0, "in_line")
    empty = next(r for r in rows if r["period"] == "Jan to Mar 20" and r["measure"] == "overall")
    assert empty["pct"] is None
    page = render_html(built)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 5
    assert "u/a" in page and "92.4%" in page
    for external in ("<script", "<link", "src=", "href=", "url(", "@import"):
        assert external not in page


def test_many_periods_in_several_statements(sessions: sessionmaker[Session], catalogue: Catalogue) -> None:
    """More months than one compound SELECT may hold (SQLite allows 500)."""
    with sessions.begin() as session:
        add_interview(session, catalogue.get(SURVEY), utc(2001, 5, 5), {"overall_sat": 1})
        add_interview(session, catalogue.get(SURVEY), utc(2019, 5, 5), {"overall_sat": 6})
    data = report(sessions, catalogue, start=date(1990, 1, 1), end=date(2020, 12, 31), by="month")
    assert len(data["periods"]) == 372
    counted = {p["label"]: p["surveys"] for p in data["periods"] if p["surveys"]}
    assert counted == {"May 01": 1, "May 19": 1}


# ------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_sessions(pg_url: str, catalogue: Catalogue) -> Iterator[sessionmaker[Session]]:
    upgrade(pg_url)
    engine: Engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        register(session, catalogue)
        worked_example(session, catalogue)
    yield factory
    engine.dispose()


@pytest.mark.postgres
def test_worked_example_on_postgresql(pg_sessions: sessionmaker[Session], catalogue: Catalogue) -> None:
    data = report(pg_sessions, catalogue)
    check_worked_example(data)
    south = report(pg_sessions, catalogue, division="South")
    assert south["periods"][3]["surveys"] == 5
