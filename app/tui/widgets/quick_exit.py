"""The reminder every call screen carries: one key ends the call and clears the screen."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class QuickExitBar(Static):
    DEFAULT_CSS = """
    QuickExitBar {
        height: 1;
        background: $error;
        color: $text;
        text-style: bold;
        padding: 0 1;
    }
    """

    def __init__(self) -> None:
        super().__init__(Text("Ctrl+X  QUICK EXIT: ends the call now, clears the screen, keeps every answer"))
