"""Every key of the app in one table: the bindings, the footer, the README and the browser use it.

Why this table exists: the app runs in a terminal and, served by textual-serve, in a web browser.
Browsers keep some keys for themselves and never pass them to a page (Ctrl+N, Ctrl+T, Ctrl+W and
their Shift variants, Ctrl+Tab, Ctrl+PgUp/PgDn), and Firefox on Linux quits on Ctrl+Q. So no action
may depend on such a key alone: each row says where its key works, and every action has at least one
row that works in a browser. The screens build their bindings from here (`bindings(...)`), so the
footer and the command palette show the same words as the README's table (`markdown_table()`).

"Don't know" and "Refused" are Ctrl+K and Ctrl+R on every question, as in Blaise; digits pick
options (two digits typed quickly for options 10 and over).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from app.web import running_in_browser


@dataclass(frozen=True)
class AppKey:
    """One key: what it does, where, and whether a terminal and a browser pass it to the app."""

    scope: str  # "app", "call" (every call screen), "interview", "dial", "screening", "home", "closing"
    action: str  # the Textual action it runs
    key: str  # Textual's key name(s), comma-separated
    display: str  # as printed for people
    description: str
    terminal: bool = True
    browser: bool = True
    show: bool = True  # in the footer
    priority: bool = False  # runs before any widget sees the key (a text box cannot swallow it)
    help: str = ""  # the README's longer words, where the footer's are too short

    @property
    def explained(self) -> str:
        return self.help or self.description

    def works_here(self) -> bool:
        """Whether the key reaches the app where it runs: in a browser (`survey serve`) or a terminal."""
        return self.browser if running_in_browser() else self.terminal


#: Browsers keep these for themselves (tabs and windows); Firefox on Linux also quits on Ctrl+Q.
BROWSER_RESERVED = frozenset(
    {"ctrl+n", "ctrl+t", "ctrl+w", "ctrl+shift+n", "ctrl+shift+t", "ctrl+shift+w", "ctrl+tab"}
    | {"ctrl+shift+tab", "ctrl+pageup", "ctrl+pagedown", "ctrl+q"}
)

KEYS: tuple[AppKey, ...] = (
    # everywhere
    AppKey(
        "app", "quick_exit", "ctrl+x", "Ctrl+X", "QUICK EXIT: end the call now", priority=True, show=False
    ),
    AppKey(
        "app",
        "quit",
        "ctrl+q",
        "Ctrl+Q",
        "Quit (asks first during a call)",
        browser=False,
        show=False,
        priority=True,
    ),
    AppKey("home", "app.quit", "q", "q", "Quit"),
    # the home screen
    AppKey("home", "next_case", "n", "n", "Next case"),
    AppKey("home", "refresh", "r", "r", "Refresh"),
    AppKey("home", "alerts", "a", "a", "Alerts and held cases"),
    AppKey("home", "call_log", "l", "l", "Call log"),
    AppKey("home", "callers_work", "w", "w", "Callers' work"),
    AppKey("home", "interviews", "i", "i", "Interviews"),
    AppKey("home", "feedback", "f", "f", "Feedback"),
    AppKey(
        "home",
        "verbatims",
        "v",
        "v",
        "Verbatim review",
        help="Redact free-text answers before analysts see them",
    ),
    AppKey("home", "dashboard", "d", "d", "Dashboard"),
    # screening
    AppKey("screening", "answer(True)", "y", "y", "Yes"),
    AppKey("screening", "answer(False)", "n", "n", "No"),
    AppKey("screening", "proceed", "enter", "Enter", "Continue"),
    AppKey("screening", "give_back", "escape", "Esc", "Give the case back"),
    AppKey("screening", "move(-1)", "up", "Up", "Previous check", show=False),
    AppKey("screening", "move(1)", "down", "Down", "Next check", show=False),
    # dialling
    AppKey("dial", "dial", "d", "d", "Dial the number"),
    AppKey("dial", "other_number", "tab", "Tab", "Other number"),
    AppKey("dial", "record", "enter", "Enter", "Record outcome"),
    # the interview
    AppKey("interview", "confirm", "enter", "Enter", "Next"),
    AppKey("interview", "back", "ctrl+b", "Ctrl+B", "Back", help="Back to the previous question"),
    AppKey(
        "interview",
        "furthest",
        "ctrl+f",
        "Ctrl+F",
        "Furthest",
        priority=True,
        help="Forward to the furthest question still on route, keeping the answers still valid",
    ),
    AppKey("interview", "dont_know", "ctrl+k", "Ctrl+K", "Don't know", priority=True, show=False),
    AppKey("interview", "refused", "ctrl+r", "Ctrl+R", "Refused", priority=True, show=False),
    AppKey(
        "interview",
        "note",
        "ctrl+o",
        "Ctrl+O",
        "Note",
        priority=True,
        help="Add a note to the question (saved at once)",
    ),
    AppKey(
        "interview", "alert", "ctrl+g", "Ctrl+G", "ALERT", priority=True, help="Raise a safeguarding alert"
    ),
    AppKey("interview", "scroll(-1)", "pageup", "PgUp", "Scroll up", show=False),
    AppKey("interview", "scroll(1)", "pagedown", "PgDn", "Scroll down", show=False),
    # the end of an interview
    AppKey("closing", "done", "enter", "Enter", "Said it: end the call"),
    # practice (`survey questionnaire try`): the interview's keys, and these
    AppKey(
        "practice",
        "jump",
        "f2",
        "F2",
        "Jump",
        priority=True,
        help="Jump to any question (the list says which are on the route)",
    ),
    AppKey("jump", "choose", "enter", "Enter", "Go to the question"),
    AppKey("jump", "cancel", "escape", "Esc", "Back"),
    AppKey("practice_end", "again", "enter", "Enter", "Start again"),
    AppKey("practice_end", "back", "escape", "Esc", "Back to the last question"),
    # supervisors' and analysts' screens: focus starts on the table, where letters work; a text box
    # (dates, filters) takes letters for itself and the footer drops them while it has focus
    AppKey("reviewing", "app.pop_screen", "escape", "Esc", "Back"),
    AppKey("call_log", "open", "enter", "Enter", "Case history"),
    AppKey("call_log", "cycle_sort", "s", "s", "Sort by", help="Sort by the next column (text A to Z)"),
    AppKey("call_log", "toggle_order", "o", "o", "Reverse order"),
    AppKey("call_log", "filters", "f", "f", "Filters", help="To the filter boxes (Enter applies them)"),
    AppKey("case_history", "interview", "i", "i", "Open interview"),
    AppKey("case_history", "reassign", "r", "r", "Reassign"),
    AppKey("case_history", "reopen", "o", "o", "Reopen"),
    AppKey("case_history", "close", "c", "c", "Close case"),
    AppKey("interviews", "open", "enter", "Enter", "Open interview"),
    AppKey("interviews", "toggle_flagged", "f", "f", "Flagged only"),
    AppKey("interview_review", "correct", "c", "c", "Correct answer"),
    AppKey("interview_review", "flag", "g", "g", "Flag / unflag", help="Flag for follow-up, or unflag"),
    AppKey("callers_work", "toggle_by", "w", "w", "Day / week"),
    AppKey("callers_work", "timings", "t", "t", "Question timings"),
    AppKey("callers_work", "dates", "f", "f", "Dates", help="To the date boxes (Enter applies them)"),
    AppKey("timings", "next_survey", "s", "s", "Survey", help="Next survey"),
    AppKey("dashboard", "next_survey", "s", "s", "Survey", help="Next survey"),
    AppKey("dashboard", "next_division", "v", "v", "Division", help="Next Division (then the whole force)"),
    AppKey("dashboard", "next_measure", "m", "m", "Measure", help="Next measure's chart"),
    AppKey("dashboard", "dates", "f", "f", "Dates", help="To the date boxes (Enter applies them)"),
)

#: What the README says about each scope.
SCOPES = {
    "app": "anywhere",
    "home": "home screen",
    "screening": "screening",
    "dial": "dialling",
    "interview": "interview",
    "closing": "closing words",
    "practice": "practice interview",
    "jump": "jump to a question",
    "practice_end": "end of a practice",
    "reviewing": "supervisors' and analysts' screens",
    "call_log": "call log",
    "case_history": "case history",
    "interviews": "interviews",
    "interview_review": "one interview",
    "callers_work": "callers' work",
    "timings": "question timings",
    "dashboard": "dashboard",
}


def keys_of(scope: str) -> list[AppKey]:
    return [k for k in KEYS if k.scope == scope]


def key_for(scope: str, action: str) -> AppKey:
    return next(k for k in KEYS if k.scope == scope and k.action == action)


def bindings(scope: str) -> list[BindingType]:
    """Textual bindings for one scope, with the table's descriptions and key displays.

    The footer shows only the keys that reach the app where it runs (a browser keeps some for itself).
    """
    return [
        Binding(
            k.key,
            k.action,
            k.description,
            show=k.show and k.works_here(),
            priority=k.priority,
            key_display=k.display,
        )
        for k in keys_of(scope)
    ]


def display(scope: str, action: str) -> str:
    return key_for(scope, action).display


def markdown_table() -> str:
    """The README's table of keys (a test keeps the README in step with this)."""
    rows = ["| where | key | what it does | terminal | browser |", "|---|---|---|---|---|"]
    for k in KEYS:
        rows.append(
            f"| {SCOPES[k.scope]} | {k.display} | {k.explained} | {'yes' if k.terminal else 'no'} "
            f"| {'yes' if k.browser else 'no'} |"
        )
    return "\n".join(rows)
