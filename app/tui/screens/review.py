"""Interview review: the list, one interview in full (correct, flag), consented feedback, callers' work."""

from __future__ import annotations

from datetime import date, timedelta

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Static

from app.clock import LOCAL, today
from app.domain.engine import AnswerError, parse_date
from app.domain.text import display
from app.services import review
from app.services.review import CallerWork, FeedbackItem, InterviewDetail, InterviewListRow
from app.tui import keys
from app.tui.screens.base import SurveyScreen


class InterviewsScreen(SurveyScreen[None]):
    CSS_PATH = "supervisor.tcss"
    BINDINGS = [*keys.bindings("interviews"), *keys.bindings("reviewing")]

    def __init__(self) -> None:
        super().__init__()
        self.flagged_only = False
        self.rows: list[InterviewListRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="message", classes="title")
        yield DataTable(id="interviews", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @on(DataTable.RowSelected, "#interviews")
    def _row_selected(self) -> None:
        self.action_open()

    def on_mount(self) -> None:
        self.query_one("#interviews", DataTable).add_columns(
            "#", "Ended", "Survey", "Status", "Caller", "Division", "Flag"
        )
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    def load(self) -> None:
        actor = self.actor
        flagged = self.flagged_only
        self.db(
            lambda session: review.interviews_for_review(session, actor, flagged_only=flagged),
            self._show,
            write=False,
            group="interviews",
            exclusive=True,
        )

    def _show(self, rows: list[InterviewListRow]) -> None:
        if not self.is_attached:
            return
        self.rows = rows
        table = self.query_one("#interviews", DataTable)
        table.clear()
        for row in rows:
            table.add_row(
                str(row.interview_id),
                row.ended_at.astimezone(LOCAL).strftime("%d/%m/%y %H:%M") if row.ended_at else "",
                row.survey.replace("_", " "),
                row.status + (" (imported)" if row.imported else ""),
                row.caller or "",
                display(row.division),
                Text("FLAG", style="bold yellow") if row.flagged else "",
            )
        noun = "interview" if len(rows) == 1 else "interviews"
        if self.flagged_only:
            text = f"{len(rows)} {noun} flagged for follow-up, newest first."
        else:
            text = f"{len(rows)} completed or partial {noun}, newest first."
        self.query_one("#message", Static).update(text)

    def action_toggle_flagged(self) -> None:
        self.flagged_only = not self.flagged_only
        self.load()

    def action_open(self) -> None:
        table = self.query_one("#interviews", DataTable)
        if self.rows and table.cursor_row < len(self.rows):
            self.app.push_screen(InterviewDetailScreen(self.rows[table.cursor_row].interview_id))


class InterviewDetailScreen(SurveyScreen[None]):
    """One interview in full: answers with timings and notes, the history of changes."""

    CSS_PATH = "supervisor.tcss"
    BINDINGS = [*keys.bindings("interview_review"), *keys.bindings("reviewing")]

    def __init__(self, interview_id: int) -> None:
        super().__init__()
        self.interview_id = interview_id
        self.detail: InterviewDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading…", id="summary", classes="title")
        yield DataTable(id="answers", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="changes-box"):
            yield Static("", id="changes", classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#answers", DataTable).add_columns("Question", "Answer", "Secs", "Note")
        self.load()

    def load(self) -> None:
        actor = self.actor
        catalogue = self.catalogue
        interview_id = self.interview_id
        self.db(
            lambda session: review.interview_detail(session, actor, catalogue, interview_id),
            self._show,
            write=False,
        )

    def _show(self, detail: InterviewDetail) -> None:
        if not self.is_attached:
            return
        self.detail = detail
        ended = (
            detail.ended_at.astimezone(LOCAL).strftime("%d/%m/%Y %H:%M") if detail.ended_at else "not ended"
        )
        minutes = (
            f", {(detail.ended_at - detail.started_at).total_seconds() / 60:.0f} min"
            if detail.ended_at
            else ""
        )
        flag = f"  FLAGGED: {display(detail.follow_up_note)}" if detail.flagged else ""
        consent = "yes" if detail.feedback_consent else "no"
        self.query_one("#summary", Static).update(
            Text(
                f"Interview #{detail.interview_id} · {detail.title} v{detail.version} · {detail.status} · "
                f"{detail.caller or 'imported'} · {ended}{minutes} · "
                f"feedback may be passed on: {consent}{flag}"
            )
        )
        table = self.query_one("#answers", DataTable)
        row = table.cursor_row
        table.clear()
        for answer in detail.answers:
            table.add_row(
                Text(answer.question_id, style="bold" if answer.verbatim else ""),
                Text(display(answer.answer, multiline=True)),
                f"{answer.seconds:.0f}" if answer.seconds is not None else "",
                Text(display(answer.note)),
            )
        if detail.answers:
            table.move_cursor(row=min(row, len(detail.answers) - 1))
        changes = Text("History of changes\n", style="bold")
        for change in detail.changes:
            old = change.old if change.old is not None else "(no answer)"
            new = change.new if change.new is not None else "(no answer)"
            changes.append(
                f"{change.at.astimezone(LOCAL):%d/%m %H:%M} {change.question_id}: {change.kind}"
                f" {display(old)} -> {display(new)}"
                f"{' by ' + change.by if change.by else ''}"
                f"{' - ' + display(change.reason) if change.reason else ''}\n"
            )
        if not detail.changes:
            changes.append("none\n")
        self.query_one("#changes", Static).update(changes)

    def action_correct(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        table = self.query_one("#answers", DataTable)
        if self.detail is None or not self.detail.answers:
            return
        answer = self.detail.answers[table.cursor_row]
        actor = self.actor
        catalogue = self.catalogue
        interview_id = self.interview_id

        def with_value(value: str | None) -> None:
            if value is None:
                return

            def with_reason(reason: str | None) -> None:
                if not reason:
                    return

                def done(correction: review.Correction) -> None:
                    extra = ""
                    if correction.removed:
                        extra += f" Removed by routing: {', '.join(correction.removed)}."
                    if correction.now_unanswered:
                        extra += f" Now not recorded: {', '.join(correction.now_unanswered)}."
                    self.notify("Answer corrected; the original is kept in the history." + extra, timeout=8)
                    self.load()

                self.db(
                    lambda session: review.correct_answer(
                        session, actor, catalogue, interview_id, answer.question_id, value, reason
                    ),
                    done,
                )

            self.app.push_screen(
                TextPrompt("Reason for the correction (required)", required=True), with_reason
            )

        current = str(answer.code) if answer.code is not None else answer.answer
        self.app.push_screen(
            TextPrompt(f"New answer to {answer.question_id}: {answer.accepts}", current), with_value
        )

    def action_flag(self) -> None:
        from app.tui.screens.dialogs import TextPrompt

        if self.detail is None:
            return
        actor = self.actor
        interview_id = self.interview_id
        if self.detail.flagged:
            self.db(
                lambda session: review.flag_interview(session, actor, interview_id, None),
                lambda _: self.load(),
            )
            return

        def flag(note: str | None) -> None:
            if note is not None:
                self.db(
                    lambda session: review.flag_interview(session, actor, interview_id, note or "follow up"),
                    lambda _: self.load(),
                )

        self.app.push_screen(TextPrompt("Why does this interview need follow-up?"), flag)


class FeedbackScreen(SurveyScreen[None]):
    """Comments to pass to the officers involved: only where the victim agreed to it."""

    CSS_PATH = "supervisor.tcss"
    BINDINGS = keys.bindings("reviewing")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            Text("Feedback the victim agreed may be passed, with their name, to the officers involved."),
            classes="title",
        )
        with VerticalScroll():
            yield Static("Loading…", id="feedback")
        yield Footer()

    def on_mount(self) -> None:
        actor = self.actor
        catalogue = self.catalogue
        self.db(lambda session: review.feedback_to_pass_on(session, actor, catalogue), self._show)

    def _show(self, items: list[FeedbackItem]) -> None:
        if not self.is_attached:
            return
        text = Text()
        for item in items:
            when = item.completed_at.astimezone(LOCAL).strftime("%d/%m/%Y") if item.completed_at else ""
            text.append(
                f"{display(item.crime_ref)} · {display(item.victim_name)} · {display(item.division)}"
                f" / {display(item.district)} · {when}\n",
                style="bold",
            )
            for question, said in item.comments:
                text.append(f"  {question}\n", style="dim")
                text.append(f'  "{display(said, multiline=True)}"\n')
            text.append("\n")
        if not items:
            text.append("No comments with consent to pass on.")
        self.query_one("#feedback", Static).update(text)


class CallersWorkScreen(SurveyScreen[None]):
    """Per caller and day or week: calls, contacts, completes, refusals, average interview length."""

    CSS_PATH = "supervisor.tcss"
    BINDINGS = [*keys.bindings("callers_work"), *keys.bindings("reviewing")]

    def __init__(self) -> None:
        super().__init__()
        self.by = "day"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(f"{today() - timedelta(days=13):%d/%m/%Y}", placeholder="from", id="from")
            yield Input(f"{today():%d/%m/%Y}", placeholder="to", id="to")
        yield Static("", id="message", classes="muted")
        yield DataTable(id="work", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        work = self.query_one("#work", DataTable)
        work.add_columns(
            "Caller", "Day", "Calls", "Contacts", "Completed", "Refusals", "Interviews", "Avg mins"
        )
        work.focus()  # where the letter keys work; f reaches the dates
        self.load()

    @on(Input.Submitted)
    def _reload(self) -> None:
        self.load()
        self.query_one("#work", DataTable).focus()

    def action_dates(self) -> None:
        self.query_one("#from", Input).focus()

    def load(self) -> None:
        message = self.query_one("#message", Static)
        try:
            start = parse_date(self.query_one("#from", Input).value)
            end = parse_date(self.query_one("#to", Input).value)
        except AnswerError as exc:
            message.update(Text(str(exc)))
            return
        actor = self.actor
        by = self.by
        self.db(
            lambda session: review.callers_work(session, actor, start=start, end=end, by=by),
            self._show,
            write=False,
            group="work",
            exclusive=True,
        )

    def _show(self, rows: list[CallerWork]) -> None:
        if not self.is_attached:
            return
        table = self.query_one("#work", DataTable)
        table.clear(columns=True)
        table.add_columns(
            "Caller",
            "Week of" if self.by == "week" else "Day",
            "Calls",
            "Contacts",
            "Completed",
            "Refusals",
            "Interviews",
            "Avg mins",
        )
        for row in rows:
            table.add_row(
                row.caller,
                f"{row.period_start:%a %d/%m}",
                str(row.attempts),
                str(row.contacts),
                str(row.completes),
                str(row.refusals),
                str(row.interviews),
                f"{row.average_interview_minutes:.1f}" if row.average_interview_minutes is not None else "",
            )
        self.query_one("#message", Static).update(
            f"{len(rows)} rows by {self.by}. f: dates (Enter applies them) · w: day or week · t: question"
            " timings."
        )

    def action_toggle_by(self) -> None:
        self.by = "week" if self.by == "day" else "day"
        self.load()

    def action_timings(self) -> None:
        try:
            start = parse_date(self.query_one("#from", Input).value)
            end = parse_date(self.query_one("#to", Input).value)
        except AnswerError as exc:
            self.query_one("#message", Static).update(Text(str(exc)))
            return
        self.app.push_screen(QuestionTimingsScreen(start, end))


class QuestionTimingsScreen(SurveyScreen[None]):
    """Average time on each question, slowest first: where long interviews lose people."""

    CSS_PATH = "supervisor.tcss"
    BINDINGS = [*keys.bindings("timings"), *keys.bindings("reviewing")]

    def __init__(self, start: date, end: date) -> None:
        super().__init__()
        self.start = start
        self.end = end
        self.surveys: list[str] = []
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="message", classes="title")
        yield DataTable(id="timings", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.surveys = [q.id for q in self.catalogue]
        self.query_one("#timings", DataTable).add_columns("Question", "Answers", "Average seconds")
        self.load()

    def load(self) -> None:
        actor = self.actor
        survey, start, end = self.surveys[self.index], self.start, self.end
        self.db(
            lambda session: review.question_timings(session, actor, survey, start=start, end=end),
            self._show,
            write=False,
            group="timings",
            exclusive=True,
        )

    def _show(self, rows: list[review.QuestionTiming]) -> None:
        if not self.is_attached:
            return
        table = self.query_one("#timings", DataTable)
        table.clear()
        for row in rows:
            table.add_row(row.question_id, str(row.answers), f"{row.average_seconds:.1f}")
        survey = self.surveys[self.index].replace("_", " ")
        self.query_one("#message", Static).update(
            f"{survey}: time on each question, {self.start:%d/%m/%Y} to {self.end:%d/%m/%Y}, slowest first."
            " s: next survey."
        )

    def action_next_survey(self) -> None:
        self.index = (self.index + 1) % len(self.surveys)
        self.load()
