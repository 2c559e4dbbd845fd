"""Start-up measurement: with SURVEY_EXIT_AFTER_FIRST_SCREEN=FILE the app writes into FILE the wall-clock
time its first screen was drawn ("drawn T") and the time its database and questionnaires were open, so
that a name and password could be checked ("ready T"), then quits. benchmarks/startup.py times whole
processes with it."""

from __future__ import annotations

import os
import time

EXIT_AFTER_FIRST_SCREEN = "SURVEY_EXIT_AFTER_FIRST_SCREEN"


def measuring() -> bool:
    return bool(os.environ.get(EXIT_AFTER_FIRST_SCREEN))


def note(event: str) -> None:
    """Add "EVENT TIME" to the file named by the variable (nothing without it)."""
    target = os.environ.get(EXIT_AFTER_FIRST_SCREEN)
    if target:
        with open(target, "a", encoding="utf-8") as file:
            file.write(f"{event} {time.time():.6f}\n")
