"""Answer options for the keyboard: digits pick, arrows move, Space toggles in a multiple choice.

Options are numbered 1, 2, 3...; from ten options on, two digits typed within a second pick the
tenth and later ones (1 then 2 is option 12). "Don't know" and "Refused" are never numbered: they
carry the same fixed keys on every question (Ctrl+K and Ctrl+R, bound by the screen). Long lists are
laid out in two columns so that every option stays on screen at 80x24.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from app.domain.questionnaire import DONT_KNOW, REFUSED, Option
from app.domain.text import display

#: Keys shown beside the two special options (the screen binds them).
SPECIAL_KEYS = {DONT_KNOW: "^K", REFUSED: "^R"}
#: Seconds within which a second digit makes a two-digit option number.
TWO_DIGIT_WINDOW = 1.0
#: More options than this go into two columns.
ONE_COLUMN_MAX = 9
GAP = 2


def key_label(options: list[Option], position: int) -> str:
    """The key printed beside the option at `position` (0-based)."""
    code = options[position].code
    if code in SPECIAL_KEYS:
        return SPECIAL_KEYS[code]
    numbered = [i for i, o in enumerate(options) if o.code not in SPECIAL_KEYS]
    return str(numbered.index(position) + 1)


def keys_to_pick(options: list[Option], position: int) -> list[str]:
    """The keys a caller presses to choose the option at `position` (for tests and the README)."""
    label = key_label(options, position)
    if label in SPECIAL_KEYS.values():
        return ["ctrl+k" if label == "^K" else "ctrl+r"]
    return list(label)


class OptionsView(Widget, can_focus=True):
    """Shows options numbered for the keyboard; posts Changed when the choice changes."""

    DEFAULT_CSS = """
    OptionsView {
        height: auto;
        padding: 0 1;
    }
    OptionsView:focus {
        background: $boost;
    }
    """
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("space", "toggle", "Toggle", show=False),
    ]

    cursor: reactive[int] = reactive(0)
    chosen: reactive[frozenset[int]] = reactive(frozenset())

    @dataclass
    class Changed(Message):
        view: OptionsView
        codes: tuple[int, ...]

    def __init__(
        self,
        options: list[Option],
        *,
        multiple: bool,
        chosen_codes: tuple[int, ...] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.cells: list[Region] = []  # each option's region, relative to the content area
        self._set(options, multiple, chosen_codes)

    def show(self, options: list[Option], *, multiple: bool, chosen_codes: tuple[int, ...] = ()) -> None:
        """Show another question's options in this view (quicker than a new view in its place)."""
        self._set(options, multiple, chosen_codes)
        self.cells = []
        self.refresh(layout=True)

    def _set(self, options: list[Option], multiple: bool, chosen_codes: tuple[int, ...]) -> None:
        self.options = options
        self.multiple = multiple
        self.numbered = [i for i, o in enumerate(options) if o.code not in SPECIAL_KEYS]
        self._pending_digit: tuple[str, float] | None = None
        positions = frozenset(i for i, o in enumerate(options) if o.code in chosen_codes)
        self.set_reactive(OptionsView.chosen, positions)
        self.set_reactive(OptionsView.cursor, min(positions) if positions else 0)

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(self.options[i].code for i in sorted(self.chosen))

    # ------------------------------------------------------------ layout

    @property
    def columns(self) -> int:
        return 1 if len(self.options) <= ONE_COLUMN_MAX else 2

    def _cell(self, i: int) -> Text:
        option = self.options[i]
        selected = i in self.chosen
        mark = ("[x] " if selected else "[ ] ") if self.multiple else ("● " if selected else "○ ")
        pointer = "▶" if i == self.cursor and self.has_focus else " "
        line = Text(f"{pointer}{key_label(self.options, i):>2} {mark}")
        label_style = "bold reverse" if selected else ("dim" if option.code in SPECIAL_KEYS else "")
        line.append(display(option.label), style=label_style)
        return line

    def _layout(self, width: int) -> tuple[list[list[Text]], list[Region]]:
        """Each row's cells (wrapped lines per column) and each option's region."""
        columns = self.columns
        col_width = max(10, (width - GAP * (columns - 1)) // columns)
        per_column = -(-len(self.options) // columns)
        console = Console(width=col_width, legacy_windows=False)
        regions: list[Region] = [Region()] * len(self.options)
        column_lines: list[list[Text]] = []
        for c in range(columns):
            lines: list[Text] = []
            for i in range(c * per_column, min(len(self.options), (c + 1) * per_column)):
                wrapped = list(self._cell(i).wrap(console, col_width))
                regions[i] = Region(c * (col_width + GAP), len(lines), col_width, len(wrapped))
                lines.extend(wrapped)
            column_lines.append(lines)
        height = max((len(lines) for lines in column_lines), default=0)
        rows = [[lines[r] if r < len(lines) else Text() for lines in column_lines] for r in range(height)]
        return rows, regions

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        rows, _ = self._layout(width)
        return len(rows)

    def render(self) -> Text:
        width = self.content_region.width or self.size.width
        rows, self.cells = self._layout(width)
        columns = self.columns
        col_width = max(10, (width - GAP * (columns - 1)) // columns)
        text = Text()
        for r, cells in enumerate(rows):
            for c, cell in enumerate(cells):
                text.append_text(cell)
                if c < len(cells) - 1:
                    text.append(" " * (col_width - cell_len(cell.plain) + GAP))
            if r < len(rows) - 1:
                text.append("\n")
        return text

    # ------------------------------------------------------------ choosing

    def pick(self, position: int) -> None:
        """Choose the option at `position` (a single choice replaces; a multiple choice toggles)."""
        if not 0 <= position < len(self.options):
            return
        self.cursor = position
        code = self.options[position].code
        if not self.multiple:
            self.chosen = frozenset({position})
        elif code in (DONT_KNOW, REFUSED):
            self.chosen = frozenset() if position in self.chosen else frozenset({position})
        else:
            specials = {i for i, o in enumerate(self.options) if o.code in (DONT_KNOW, REFUSED)}
            current = set(self.chosen) - specials
            current ^= {position}
            self.chosen = frozenset(current)
        self.post_message(self.Changed(self, self.codes))

    def pick_code(self, code: int) -> bool:
        """Choose the option with this code (don't know, refused); False when it is not offered."""
        for i, option in enumerate(self.options):
            if option.code == code:
                self.pick(i)
                return True
        return False

    def type_digit(self, digit: str, now: float | None = None) -> bool:
        """A digit typed: pick option n, or n then m within a second for option nm. False if none."""
        now = time.monotonic() if now is None else now
        count = len(self.numbered)
        pending = self._pending_digit
        self._pending_digit = None
        if pending is not None and now - pending[1] <= TWO_DIGIT_WINDOW:
            number = int(pending[0] + digit)
            if 10 <= number <= count:
                self.pick(self.numbered[number - 1])
                return True
        number = int(digit)
        if count >= 10 and number >= 1 and number * 10 <= count:
            self._pending_digit = (digit, now)
        if 1 <= number <= count:
            self.pick(self.numbered[number - 1])
            return True
        return self._pending_digit is not None

    def forget_digit(self) -> None:
        """The next digit starts a new number (as when a second has passed)."""
        self._pending_digit = None

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit() and self.type_digit(event.character):
            event.stop()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for i, region in enumerate(self.cells):
            if region.contains(offset.x, offset.y):
                self.pick(i)
                return

    def action_move(self, step: int) -> None:
        self.cursor = (self.cursor + step) % len(self.options)
        if not self.multiple:
            self.pick(self.cursor)

    def action_toggle(self) -> None:
        self.pick(self.cursor)

    def watch_cursor(self) -> None:
        self.refresh(layout=True)

    def watch_chosen(self) -> None:
        self.refresh(layout=True)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
