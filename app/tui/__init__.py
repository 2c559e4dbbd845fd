"""The Textual app: screens call services in workers, never SQL."""

import os

# Textual paints a changed screen at most TEXTUAL_FPS times a second, on a fixed beat. At its default
# of 60, the next question (its widgets in place 10 ms after Enter) waited up to two beats of 17 ms to
# be painted: p99 47 ms from Enter to the painted question (benchmarks/keystroke.py). At 240 it is
# painted within a few ms of being ready (p99 24 to 28 ms). The beat runs only while something on the
# screen changes, so a screen at rest costs nothing more; animations keep their own pace. Set before
# Textual is imported (it reads the variable once); a TEXTUAL_FPS set by whoever runs the app wins.
os.environ.setdefault("TEXTUAL_FPS", "240")
