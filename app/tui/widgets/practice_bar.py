"""The mark every practice screen carries, where a live call shows its quick exit: this is not a call."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

PRACTICE_WORDS = "PRACTICE: not a live call, nothing is stored"


class PracticeBar(Static):
    DEFAULT_CSS = """
    PracticeBar {
        height: 1;
        background: $accent;
        color: $text;
        text-style: bold;
        padding: 0 1;
    }
    """

    def __init__(self) -> None:
        super().__init__(Text(f"{PRACTICE_WORDS} · Ctrl+X ends the practice"))
