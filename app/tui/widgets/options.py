"""Numbered answer options: a digit picks one, arrows move, Space toggles in a multiple choice."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from app.domain.questionnaire import DONT_KNOW, REFUSED, Option


def key_for(position: int) -> str:
    """The key that picks the option at `position` (0-based): 1-9, then 0."""
    return str(position + 1) if position < 9 else "0" if position == 9 else ""


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
        self.options = options
        self.multiple = multiple
        positions = frozenset(i for i, o in enumerate(options) if o.code in chosen_codes)
        self.set_reactive(OptionsView.chosen, positions)
        if positions:
            self.set_reactive(OptionsView.cursor, min(positions))

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(self.options[i].code for i in sorted(self.chosen))

    def render(self) -> Text:
        text = Text()
        for i, option in enumerate(self.options):
            selected = i in self.chosen
            mark = ("[x] " if selected else "[ ] ") if self.multiple else ("● " if selected else "○ ")
            line = Text(f"{'▶' if i == self.cursor and self.has_focus else ' '} {key_for(i):>1}  {mark}")
            label_style = (
                "bold reverse" if selected else ("dim" if option.code in (DONT_KNOW, REFUSED) else "")
            )
            line.append(option.label, style=label_style)
            text.append_text(line)
            if i < len(self.options) - 1:
                text.append("\n")
        return text

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

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit():
            position = 9 if event.character == "0" else int(event.character) - 1
            if position < len(self.options):
                event.stop()
                self.pick(position)

    def on_click(self, event: events.Click) -> None:
        self.pick(event.y)

    def action_move(self, step: int) -> None:
        self.cursor = (self.cursor + step) % len(self.options)
        if not self.multiple:
            self.pick(self.cursor)

    def action_toggle(self) -> None:
        self.pick(self.cursor)

    def watch_cursor(self) -> None:
        self.refresh()

    def watch_chosen(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
