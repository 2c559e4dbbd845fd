"""A Textual app that writes down every key it receives, one per line, in the file named by argv[1].

`survey serve`'s server runs it in place of the survey app, so a test can see which browser keys reach
a Textual app, and under which names.
"""

from __future__ import annotations

import sys

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Static


class KeyEcho(App[None]):
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield Static("key echo ready", id="last")

    async def on_event(self, event: events.Event) -> None:
        """Every key is written down before any binding (even Ctrl+Q, Ctrl+C) can act on it."""
        if isinstance(event, events.Key):
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(event.key + "\n")
            self.query_one("#last", Static).update(f"key echo: {event.key}")
            return
        await super().on_event(event)


if __name__ == "__main__":
    KeyEcho(sys.argv[1]).run()
