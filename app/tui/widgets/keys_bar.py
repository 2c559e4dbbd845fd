"""The keys of a busy screen, in one line at its foot, drawn once.

Textual's Footer rebuilds itself (a widget per key, styles and all) whenever focus moves, and on the
interview screen focus moves with every question: that was a third of the time from Enter to the next
question painted (benchmarks/keystroke.py). The keys a caller uses there do not change with focus, so
this bar writes the screen's shown bindings once, looking like the compact footer.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Static


class KeysBar(Static):
    COMPONENT_CLASSES = {"keys-bar--key"}
    DEFAULT_CSS = """
    KeysBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    KeysBar > .keys-bar--key {
        color: $footer-key-foreground;
        text-style: bold;
    }
    """

    def on_mount(self) -> None:
        key_style = self.get_component_rich_style("keys-bar--key")
        line = Text(no_wrap=True, overflow="ellipsis")
        for binding in type(self.screen).BINDINGS:
            if isinstance(binding, Binding) and binding.show:
                line.append(f" {binding.key_display or binding.key} ", style=key_style)
                line.append(f"{binding.description} ")
        self.update(line)
