"""A realistic synthetic bureau for a new user: staff, cases, call histories, interviews, alerts.

Every name is made up and every number is in Ofcom's drama ranges (020 7946 0xxx, 0113 496 0xxx,
0114 496 0xxx...), which the phone validation accepts and which never ring anyone. Interviews are
answered by walking the real engine, so every stored answer follows the questionnaire's routing.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import LOCAL, today, utcnow
from app.domain.dispositions import SCREENED_OUT, AttemptRecord, Outcome, final_disposition
from app.domain.engine import Answer, Engine
from app.domain.permissions import Actor, Role
from app.domain.questionnaire import (
    ChoiceQuestion,
    DateQuestion,
    MultipleChoice,
    NumberQuestion,
    QuestionBase,
    Questionnaire,
    Scale,
    Statement,
    TextQuestion,
    YesNo,
)
from app.progress import SILENT, Progress
from app.services.catalogue import Catalogue
from app.services.settings import get_settings
from app.services.staff import add_staff
from app.services.tallies import rebuild_tallies
from app.store.models import Answer as AnswerRow
from app.store.models import Attempt, AuditEvent, Case, Interview, SafeguardingAlert, ScreeningDecision, Staff

DEMO_BATCH = "demo"
DEMO_PASSWORD = "demo password"
DIVISIONS = {
    "North": ["Ashby", "Northtown", "Fellside"],
    "Central": ["Millbridge", "Castlegate", "Riverside"],
    "South": ["Southport Vale", "Kingsmead", "Bly"],
}
FIRST = [
    "Alex",
    "Sam",
    "Jordan",
    "Morgan",
    "Casey",
    "Robin",
    "Jamie",
    "Taylor",
    "Ashley",
    "Drew",
    "Rowan",
    "Avery",
    "Quinn",
    "Harper",
    "Elliot",
    "Reese",
    "Sasha",
    "Frankie",
    "Charlie",
    "Billie",
]
LAST = [
    "Ashdown",
    "Brightwater",
    "Cobbledick",
    "Dunmore",
    "Everleigh",
    "Fairweather",
    "Greythorn",
    "Hollins",
    "Ingleby",
    "Juniper",
    "Kettlewell",
    "Larkspur",
    "Merriman",
    "Nettleship",
    "Oakhurst",
    "Pennyfeather",
    "Quenby",
    "Rookwood",
    "Sallowby",
    "Thistlewood",
]
RANGES = ["+44207946{:04d}", "+44113496{:04d}", "+44114496{:04d}", "+44116496{:04d}", "+44117496{:04d}"]
COMMENTS = [
    "The officer who came out was kind and took me seriously.",
    "I waited a long time for anyone to call me back.",
    "I wish someone had told me what was happening with my case.",
    "Everyone was very professional, thank you.",
    "The support worker made a real difference.",
    "I didn't know who to contact after the first visit.",
]
#: Staff names share no word with the victims' (FIRST, LAST): a staff name on screen never reads as a
#: victim's, and a test looking for a victim's name never finds a member of staff.
STAFF = [
    ("caller1", Role.CALLER, "Morwenna Westacott"),
    ("caller2", Role.CALLER, "Tamsin Penhaligon"),
    ("caller3", Role.CALLER, "Ewan Trevithick"),
    ("supervisor", Role.SUPERVISOR, "Greer Blackmore"),
    ("analyst", Role.ANALYST, "Idris Ravenscroft"),
    ("admin", Role.ADMIN, "Bryony Whitcombe"),
]


@dataclass
class DemoSummary:
    created: bool
    staff: list[tuple[str, str]] = field(default_factory=list)  # (username, role)
    cases: int = 0
    interviews: int = 0
    attempts: int = 0
    message: str = ""


def load_demo(
    session: Session,
    catalogue: Catalogue,
    *,
    cases_per_survey: int = 120,
    seed: int = 2026,
    progress: Progress = SILENT,
) -> DemoSummary:
    """Fill an empty bureau; a database that already has the demo (or any cases) is left as it is."""
    existing = session.scalar(select(func.count()).select_from(Case))
    if existing:
        demo = session.scalar(select(func.count()).select_from(Case).where(Case.import_batch == DEMO_BATCH))
        message = "the demo data is already loaded" if demo else f"the database already has {existing} cases"
        return DemoSummary(created=False, message=message)
    if session.scalar(select(func.count()).select_from(Staff)):
        # Demo accounts share a published password: never add them beside real staff.
        return DemoSummary(
            created=False, message="the database already has staff; the demo fills only a new one"
        )
    rng = random.Random(seed)
    summary = DemoSummary(created=True)
    staff_ids: dict[str, int] = {}
    progress.start("Adding demo staff", len(STAFF), "accounts")
    for username, role, name in STAFF:
        found = session.scalar(select(Staff.id).where(Staff.username == username))
        if found is None:
            record = add_staff(
                session,
                Actor.system(),
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                display_name=name,
            )
            found = record.id
            summary.staff.append((username, role.value))
        staff_ids[username] = found
        progress.advance()
    callers = [staff_ids[u] for u, role, _ in STAFF if role is Role.CALLER]
    now = utcnow()
    number = 0
    progress.start("Making demo cases, calls and interviews", cases_per_survey * len(catalogue), "cases")
    for questionnaire in catalogue:
        for n in range(cases_per_survey):
            number += 1
            builder = _CaseBuilder(session, questionnaire, rng, callers, now, number)
            # 70% historical (closed), 20% in fieldwork now, 10% waiting for their window
            roll = n / cases_per_survey
            if roll < 0.7:
                builder.historical()
            elif roll < 0.9:
                builder.current()
            else:
                builder.pending()
            summary.cases += 1
            summary.interviews += builder.interviews
            summary.attempts += builder.attempts
            progress.advance()
    session.flush()
    rebuild_tallies(
        session, progress
    )  # the interviews above were written directly, not completed through a call
    _alerts(session, rng, staff_ids)
    session.add(
        AuditEvent(
            at=now,
            staff_id=None,
            action="demo_loaded",
            entity="database",
            detail=json.dumps({"cases": summary.cases, "interviews": summary.interviews}),
        )
    )
    return summary


def _alerts(session: Session, rng: random.Random, staff: dict[str, int]) -> None:
    case_ids = session.scalars(
        select(Case.id).where(Case.survey == "domestic_abuse", Case.status == "closed").limit(2)
    ).all()
    now = utcnow()
    for i, case_id in enumerate(case_ids):
        alert = SafeguardingAlert(
            case_id=case_id,
            raised_by_id=staff["caller1"],
            raised_at=now - timedelta(days=3 - i, hours=2),
            note=[
                "Disclosed ex-partner has been outside the house tonight",
                "Said she is frightened to go home",
            ][i],
        )
        if i == 0:
            alert.resolved_by_id = staff["supervisor"]
            alert.resolved_at = alert.raised_at + timedelta(minutes=12)
            alert.action_taken = "Rang force control room; officers attended and safety plan agreed"
        session.add(alert)


def _calling_moment(rng: random.Random, day: date) -> datetime:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(rng.randint(9, 19), rng.randint(0, 59)), tzinfo=LOCAL)


class _CaseBuilder:
    def __init__(
        self,
        session: Session,
        questionnaire: Questionnaire,
        rng: random.Random,
        callers: list[int],
        now: datetime,
        number: int,
    ) -> None:
        self.session = session
        self.q = questionnaire
        self.rng = rng
        self.callers = callers
        self.now = now
        self.number = number
        self.interviews = 0
        self.attempts = 0
        division = rng.choice(list(DIVISIONS))
        first, last = rng.choice(FIRST), rng.choice(LAST)
        prefix = "".join(part[0] for part in questionnaire.id.split("_")).upper()
        self.case = Case(
            survey=questionnaire.id,
            crime_ref=f"{prefix}/{number:05d}/{rng.choice([24, 25, 26])}",
            victim_name=f"{first} {last}",
            phone=rng.choice(RANGES).format(number % 1000),
            alt_phone=rng.choice(RANGES).format((number * 7) % 1000) if rng.random() < 0.3 else None,
            date_of_birth=date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)),
            division=division,
            district=rng.choice(DIVISIONS[division]),
            risk_level=rng.choice(["standard", "standard", "medium", "high"])
            if questionnaire.id in ("domestic_abuse", "rape")
            else None,
            report_date=today(),
            status="open",
            imported_at=now,
            import_batch=DEMO_BATCH,
        )

    def _add(self, report_date: date) -> None:
        self.case.report_date = report_date
        self.session.add(self.case)
        self.session.flush()

    def pending(self) -> None:
        start = self.q.fieldwork.from_days_after_report
        self._add(today() - timedelta(days=self.rng.randint(1, max(1, start - 1))))
        self.case.status = "pending"
        self.case.next_call_at = datetime.combine(
            self.case.report_date + timedelta(days=start), time(0), tzinfo=LOCAL
        )

    def current(self) -> None:
        fw = self.q.fieldwork
        self._add(
            today() - timedelta(days=self.rng.randint(fw.from_days_after_report, fw.to_days_after_report - 7))
        )
        tries = self.rng.choice([0, 0, 0, 1, 1, 2])
        moment = _calling_moment(self.rng, self.case.report_date + timedelta(days=fw.from_days_after_report))
        records = []
        for _ in range(tries):
            if moment >= self.now - timedelta(hours=3):
                break
            outcome = self.rng.choice(
                [Outcome.NO_ANSWER, Outcome.NO_ANSWER, Outcome.ENGAGED, Outcome.ANSWERPHONE]
            )
            self._attempt(moment, outcome)
            records.append(outcome)
            moment = _calling_moment(self.rng, (moment + timedelta(days=1)).date())
        self.case.attempt_count = len(records)
        if records and self.rng.random() < 0.15:
            at = self._appointment_time(today() + timedelta(days=self.rng.randint(0, 3)))
            attempt = self._attempt(
                moment if moment < self.now else self.now - timedelta(hours=4), Outcome.APPOINTMENT
            )
            attempt.appointment_at = at
            self.case.next_call_at = at
            self.case.attempt_count += 1

    def _appointment_time(self, day: date) -> datetime:
        """An evening (or, at the weekend, a late morning) call-back inside the bureau's calling hours."""
        hours = get_settings(self.session).calling_hours
        for offset in range(7):
            for at in (time(17, 30), time(11, 0)):
                moment = datetime.combine(day + timedelta(days=offset), at, tzinfo=LOCAL)
                if hours.contains(moment):
                    return moment
        raise AssertionError("the calling hours have no 11:00 or 17:30 in a whole week")

    def historical(self) -> None:
        fw = self.q.fieldwork
        # report dates spread over the last two years, so several quarters have figures
        self._add(today() - timedelta(days=self.rng.randint(fw.to_days_after_report + 5, 730)))
        roll = self.rng.random()
        if roll < 0.05 and self.q.eligibility:
            reason = self.rng.choice(self.q.eligibility).reason
            self.session.add(
                ScreeningDecision(
                    case_id=self.case.id,
                    reason=reason.value,
                    excluded=True,
                    decided_by="automatic",
                    decided_at=self.case.imported_at,
                    note="excluded by the survey's rule",
                )
            )
            self._close(SCREENED_OUT.code, reason.value)
            return
        moment = _calling_moment(self.rng, self.case.report_date + timedelta(days=fw.from_days_after_report))
        records: list[AttemptRecord] = []
        plan = self._plan(roll)
        for outcome in plan:
            attempt = self._attempt(moment, outcome)
            partial = False
            if outcome is Outcome.COMPLETED:
                self._interview(attempt, moment, complete=True)
            elif outcome is Outcome.BREAK_OFF:
                partial = self._interview(attempt, moment, complete=False)
                attempt.partial = partial
            records.append(AttemptRecord(outcome, moment, partial))
            moment = _calling_moment(self.rng, (moment + timedelta(days=self.rng.randint(1, 4))).date())
        self.case.attempt_count = len(records)
        # fieldwork for this case is over: its history decides the final code (queXS's rule)
        disposition = final_disposition(records, max_attempts=len(records))
        self._close(disposition.code, "fieldwork complete" if disposition.code != "1.1" else "completed")

    def _plan(self, roll: float) -> list[Outcome]:
        misses = [
            self.rng.choice([Outcome.NO_ANSWER, Outcome.ENGAGED, Outcome.ANSWERPHONE])
            for _ in range(self.rng.randint(0, 2))
        ]
        if roll < 0.62:
            return [*misses, Outcome.COMPLETED]
        if roll < 0.72:
            return [*misses, Outcome.REFUSAL]
        if roll < 0.76:
            return [*misses, Outcome.BREAK_OFF]
        if roll < 0.80:
            return [*misses, Outcome.INELIGIBLE]
        if roll < 0.86:
            return [Outcome.WRONG_NUMBER]
        tries = self.q.calls.max_attempts
        return [
            self.rng.choice([Outcome.NO_ANSWER, Outcome.ANSWERPHONE, Outcome.ENGAGED, Outcome.NOT_AVAILABLE])
            for _ in range(tries)
        ]

    def _attempt(self, moment: datetime, outcome: Outcome) -> Attempt:
        attempt = Attempt(
            case_id=self.case.id,
            caller_id=self.rng.choice(self.callers),
            started_at=moment,
            ended_at=moment + timedelta(minutes=self.rng.randint(1, 3)),
            number_dialled=self.case.phone,
            outcome=outcome.value,
            message_left=False if outcome is Outcome.ANSWERPHONE else None,
            refusal_by="the victim" if outcome is Outcome.REFUSAL else None,
            ineligible_reason="does not recall reporting" if outcome is Outcome.INELIGIBLE else None,
        )
        self.session.add(attempt)
        self.session.flush()
        self.attempts += 1
        self.case.last_activity_at = attempt.ended_at
        return attempt

    def _close(self, code: str, reason: str) -> None:
        self.case.status = "closed"
        self.case.final_disposition = code
        self.case.closed_reason = reason
        self.case.closed_at = self.case.last_activity_at or self.case.imported_at

    def _interview(self, attempt: Attempt, moment: datetime, *, complete: bool) -> bool:
        engine = Engine(self.q)
        answers: dict[str, Answer] = {}
        stop_after = None if complete else self.rng.randint(6, 12)
        clock = moment
        timings: list[tuple[str, datetime, int]] = []
        while True:
            question = engine.next_question(answers)
            if question is None or (stop_after is not None and len(answers) >= stop_after):
                break
            answer = self._answer(engine, answers, question)
            answers = engine.apply(answers, question.id, answer).answers
            spent = self.rng.randint(4_000, 40_000)
            clock += timedelta(milliseconds=spent)
            timings.append((question.id, clock, spent))
        ended = clock + timedelta(seconds=30)
        interview = Interview(
            case_id=self.case.id,
            attempt_id=attempt.id,
            survey=self.q.id,
            questionnaire_version=self.q.version,
            questionnaire_hash=self.q.content_hash(),
            status="completed" if complete else "partial",
            caller_id=attempt.caller_id,
            started_at=moment,
            ended_at=ended,
            division=self.case.division,
            district=self.case.district,
        )
        self.session.add(interview)
        self.session.flush()
        attempt.ended_at = ended
        self.case.last_activity_at = ended
        self.session.add_all(
            AnswerRow(
                interview_id=interview.id,
                question_id=qid,
                code=answers[qid].code,
                value=answers[qid].stored_value(),
                answered_at=at,
                duration_ms=spent,
            )
            for qid, at, spent in timings
            if qid in answers
        )
        self.interviews += 1
        partial_from = self.q.calls.partial_from
        return not complete and partial_from is not None and engine.reached(answers, partial_from)

    def _answer(self, engine: Engine, answers: dict[str, Answer], question: QuestionBase) -> Answer:
        """A plausible answer that does not end the call (identity confirmed, consent given...)."""
        for _ in range(20):
            answer = self._guess(question)
            try:
                applied = engine.apply(answers, question.id, answer)
            except Exception:  # noqa: BLE001 - try another plausible answer
                continue
            if applied.route is None or applied.route.stop is None:
                return answer
        for option in question.options():
            applied = engine.apply(answers, question.id, Answer(code=option.code))
            if applied.route is None or applied.route.stop is None:
                return Answer(code=option.code)
        return Answer(code=question.options()[0].code)

    def _guess(self, question: QuestionBase) -> Answer:
        rng = self.rng
        if isinstance(question, Scale):
            return Answer(code=rng.choices([1, 2, 3, 4, 5, 6, 7], weights=[24, 30, 24, 8, 6, 4, 4])[0])
        if isinstance(question, YesNo):
            return Answer(code=1 if rng.random() < 0.8 else 2)
        if isinstance(question, MultipleChoice):
            codes = [o.code for o in question.choices]
            return Answer(value=tuple(sorted(rng.sample(codes, k=min(len(codes), rng.randint(1, 2))))))
        if isinstance(question, ChoiceQuestion):
            options = question.options()
            return Answer(code=options[0].code if rng.random() < 0.6 else rng.choice(options).code)
        if isinstance(question, NumberQuestion):
            low = int(question.min) if question.min is not None else 0
            high = int(question.max) if question.max is not None else low + 10
            return Answer(value=rng.randint(low, min(high, low + 10)))
        if isinstance(question, DateQuestion):
            return Answer(value=self.case.report_date)
        if isinstance(question, TextQuestion):
            if not question.required and rng.random() < 0.5:
                return Answer()
            return Answer(value=rng.choice(COMMENTS))
        if isinstance(question, Statement):
            return Answer()
        return Answer()
